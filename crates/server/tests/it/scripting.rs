//! Scripting over real connections: busy scripts (BUSY replies to other clients, SCRIPT KILL,
//! FUNCTION KILL, UNKILLABLE, SHUTDOWN NOSAVE, connections accepted meanwhile), and how
//! script writes reach the AOF (the commands themselves, MULTI/EXEC around several).

use std::time::Duration;

use cinnabar_resp::Frame;

use super::harness::{show, start_cinnabar, temp_dir, Conn};

fn err_text(f: &Frame) -> String {
    match f {
        Frame::Error(e) => String::from_utf8_lossy(e).into_owned(),
        other => panic!("expected an error, got {}", show(other)),
    }
}

fn send_line(c: &mut Conn, line: &str) {
    let argv = cinnabar_resp::parse::split_args(line.as_bytes()).expect("balanced quotes");
    c.send(&argv);
}

const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FN: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

#[test]
fn busy_script_and_script_kill() {
    let s = start_cinnabar(&["--busy-reply-threshold", "100"]);
    let mut a = Conn::connect(s.port);
    let mut b = Conn::connect(s.port);
    assert_eq!(b.cmd("SET k v"), Frame::Simple(b"OK".to_vec()));
    send_line(&mut a, "EVAL \"while true do end\" 0");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(err_text(&b.cmd("PING")), BUSY_EVAL);
    assert_eq!(err_text(&b.cmd("GET k")), BUSY_EVAL);
    assert_eq!(err_text(&b.cmd("FUNCTION KILL")), BUSY_EVAL);
    // A connection opened while the script runs is served too.
    let mut c = Conn::connect(s.port);
    assert_eq!(err_text(&c.cmd("PING")), BUSY_EVAL);
    // A pipeline: both answered, in order.
    b.send_raw(b"PING\r\nPING\r\n");
    assert_eq!(err_text(&b.read().unwrap()), BUSY_EVAL);
    assert_eq!(err_text(&b.read().unwrap()), BUSY_EVAL);
    assert_eq!(b.cmd("SCRIPT KILL"), Frame::Simple(b"OK".to_vec()));
    let killed = err_text(&a.read().expect("reply to the killed script"));
    assert_eq!(
        killed,
        "ERR Script killed by user with SCRIPT KILL... script: 694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7, on @user_script:1."
    );
    // Everyone is back to normal, the late connection included.
    assert_eq!(b.cmd("GET k"), Frame::Bulk(b"v".to_vec()));
    assert_eq!(c.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
    assert_eq!(a.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
    assert_eq!(
        err_text(&b.cmd("SCRIPT KILL")),
        "NOTBUSY No scripts in execution right now."
    );
}

#[test]
fn busy_function_kill_and_stats() {
    let s = start_cinnabar(&["--busy-reply-threshold", "100"]);
    let mut a = Conn::connect(s.port);
    let mut b = Conn::connect(s.port);
    assert_eq!(b.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
    assert_eq!(
        a.cmd("FUNCTION LOAD \"#!lua name=busy\nredis.register_function('spin', function() while true do end end)\""),
        Frame::Bulk(b"busy".to_vec())
    );
    send_line(&mut a, "FCALL spin 0");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(err_text(&b.cmd("SCRIPT KILL")), BUSY_FN);
    let stats = show(&b.cmd("FUNCTION STATS"));
    assert!(
        stats.contains("spin") && stats.contains("duration_ms"),
        "{stats}"
    );
    assert_eq!(b.cmd("FUNCTION KILL"), Frame::Simple(b"OK".to_vec()));
    assert_eq!(
        err_text(&a.read().unwrap()),
        "ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
    );
}

#[test]
fn unkillable_then_shutdown_nosave() {
    let s = start_cinnabar(&["--busy-reply-threshold", "100"]);
    let mut a = Conn::connect(s.port);
    let mut b = Conn::connect(s.port);
    // (b's connection task must have started before the script: see net/while_busy.rs.)
    assert_eq!(b.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
    send_line(
        &mut a,
        "EVAL \"redis.call('set','x','1') while true do end\" 0",
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(err_text(&b.cmd("SCRIPT KILL"))
        .starts_with("UNKILLABLE Sorry the script already executed write commands"));
    send_line(&mut b, "SHUTDOWN NOSAVE");
    assert!(b.read().is_none(), "server should close the connection");
}

#[test]
fn script_writes_in_the_aof() {
    let dir = temp_dir("lua-aof");
    let s = start_cinnabar(&[
        "--appendonly",
        "yes",
        "--dir",
        dir.to_str().unwrap(),
        "--appendfsync",
        "always",
    ]);
    let mut c = Conn::connect(s.port);
    assert_eq!(
        c.cmd("EVAL \"redis.call('set','a','1') redis.call('incr','a') return 1\" 0"),
        Frame::Integer(1)
    );
    assert_eq!(
        c.cmd("EVAL \"return redis.call('set','b','2')\" 0"),
        Frame::Simple(b"OK".to_vec())
    );
    assert_eq!(
        c.cmd("EVAL \"return redis.call('get','b')\" 0"),
        Frame::Bulk(b"2".to_vec())
    );
    // redis.set_repl(REPL_NONE): the write is not logged.
    assert_eq!(
        c.cmd("EVAL \"redis.set_repl(redis.REPL_NONE) return redis.call('set','hidden','1')\" 0"),
        Frame::Simple(b"OK".to_vec())
    );
    let incr = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_string_lossy().ends_with(".incr.aof"))
        .expect("incr file");
    let text = String::from_utf8_lossy(&std::fs::read(incr.path()).unwrap()).into_owned();
    assert!(!text.to_lowercase().contains("eval"), "{text}");
    assert!(!text.contains("hidden"), "{text}");
    let multi = "*1\r\n$5\r\nMULTI\r\n";
    assert_eq!(text.matches(multi).count(), 1, "{text}");
    let set_a = text.find("$1\r\na\r\n$1\r\n1").unwrap();
    let exec = text.find("*1\r\n$4\r\nEXEC\r\n").unwrap();
    let set_b = text.find("$1\r\nb\r\n$1\r\n2").unwrap();
    assert!(
        text.find(multi).unwrap() < set_a && set_a < exec && exec < set_b,
        "{text}"
    );
    drop(s);
    // Replay gives the same data.
    let s = start_cinnabar(&["--appendonly", "yes", "--dir", dir.to_str().unwrap()]);
    let mut c = Conn::connect(s.port);
    assert_eq!(c.cmd("GET a"), Frame::Bulk(b"2".to_vec()));
    assert_eq!(c.cmd("GET b"), Frame::Bulk(b"2".to_vec()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// FUNCTION libraries live in the RDB file (opcode 245): they survive a restart, and files
/// cross between Cinnabar and redis-server both ways.
#[test]
fn functions_in_rdb_files() {
    use super::harness::start_redis;
    let dir = temp_dir("lua-rdb");
    let args = ["--dir", dir.to_str().unwrap(), "--dbfilename", "fn.rdb"];
    let lib = "FUNCTION LOAD \"#!lua name=persisted\nredis.register_function('pf', function(keys, args) return 'pf:' .. args[1] end)\"";
    {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        assert_eq!(c.cmd(lib), Frame::Bulk(b"persisted".to_vec()));
        assert_eq!(c.cmd("SET k v"), Frame::Simple(b"OK".to_vec()));
        assert_eq!(c.cmd("SAVE"), Frame::Simple(b"OK".to_vec()));
    }
    for round in 0..2 {
        let s = if round == 0 {
            start_redis(&args)
        } else {
            start_cinnabar(&args)
        };
        let mut c = Conn::connect(s.port);
        assert_eq!(
            c.cmd("FCALL pf 0 x"),
            Frame::Bulk(b"pf:x".to_vec()),
            "round {round}"
        );
        assert_eq!(c.cmd("GET k"), Frame::Bulk(b"v".to_vec()));
        assert_eq!(c.cmd("SAVE"), Frame::Simple(b"OK".to_vec()));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A client blocked on a key a script pushes to is served after the script, seeing its
/// final state.
#[test]
fn blocked_client_served_after_script() {
    let s = start_cinnabar(&[]);
    let mut a = Conn::connect(s.port);
    let mut b = Conn::connect(s.port);
    send_line(&mut b, "BLPOP l 5");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        a.cmd("EVAL \"redis.call('rpush','l','x') redis.call('rpush','l','y') return redis.call('llen','l')\" 0"),
        Frame::Integer(2)
    );
    assert_eq!(
        b.read().unwrap(),
        Frame::Array(vec![Frame::Bulk(b"l".to_vec()), Frame::Bulk(b"x".to_vec())])
    );
    assert_eq!(a.cmd("LLEN l"), Frame::Integer(1));
}

/// A cyclic table converts like Redis: 7995 nested arrays, then an error element (compared
/// as raw bytes: the frame decoder would recurse too deep).
#[test]
fn cyclic_table_reply() {
    use std::io::{Read, Write};
    let s = start_cinnabar(&[]);
    let mut c = Conn::connect(s.port);
    c.stream
        .write_all(b"EVAL \"local a = {} a[1] = a return a\" 0\r\nPING\r\n")
        .unwrap();
    let mut expected = b"*1\r\n".repeat(7995);
    expected.extend_from_slice(b"-ERR reached lua stack limit\r\n+PONG\r\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    while got.len() < expected.len() {
        match c.stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(got.len(), expected.len());
    assert!(got == expected);
}

/// A killed script can't survive by catching the kill (pcall, xpcall, coroutines), and busy
/// loops inside coroutines are interrupted too.
#[test]
fn kill_is_not_catchable() {
    let s = start_cinnabar(&["--busy-reply-threshold", "100"]);
    let mut a = Conn::connect(s.port);
    let mut b = Conn::connect(s.port);
    assert_eq!(b.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
    for script in [
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "local co = coroutine.create(function() while true do end end) coroutine.resume(co) return 1",
        "local f = coroutine.wrap(function() while true do end end) f() return 1",
    ] {
        a.send(&[b"EVAL".to_vec(), script.as_bytes().to_vec(), b"0".to_vec()]);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(err_text(&b.cmd("PING")), BUSY_EVAL, "{script}");
        assert_eq!(b.cmd("SCRIPT KILL"), Frame::Simple(b"OK".to_vec()));
        let e = err_text(&a.read().unwrap());
        assert!(
            e.starts_with("ERR Script killed by user with SCRIPT KILL... script: "),
            "{script}: {e}"
        );
    }
    assert_eq!(a.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
}
