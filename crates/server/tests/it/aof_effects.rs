//! What reaches the AOF: the same commands sent to Cinnabar and to redis-server 7.0.15 must
//! leave the same command stream in the incr file (absolute times masked): FLUSHDB on an empty
//! db, no-op writes that are not logged (SETBIT / BITFIELD that change nothing, a BITOP with an
//! empty result and no destination), and the commands Redis rewrites (GETDEL → DEL,
//! INCRBYFLOAT → SET KEEPTTL, blocking pops → their plain pop, LMPOP → LPOP n ...).

use std::time::Duration;

use cinnabar_resp::Frame;

use super::harness::{start_cinnabar, start_in_dir, start_redis, Conn, ServerProc};

/// The commands of every incr file of the set in `dir`, times (13-digit numbers) masked.
pub(super) fn incr_commands(dir: &std::path::Path) -> Vec<String> {
    let d = dir.join("appendonlydir");
    let mut names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".incr.aof"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        let data = std::fs::read(d.join(n)).unwrap();
        let mut pos = 0;
        while pos < data.len() {
            let Ok(Some((f, used))) = Frame::parse(&data[pos..]) else {
                panic!("bad AOF bytes at {pos}: {:?}", &data[pos..]);
            };
            pos += used;
            let Frame::Array(args) = f else { panic!() };
            let words: Vec<String> = args
                .into_iter()
                .map(|a| match a {
                    Frame::Bulk(b) => {
                        let s = String::from_utf8_lossy(&b).into_owned();
                        if s.len() == 13 && s.bytes().all(|c| c.is_ascii_digit()) {
                            "<ms>".to_string()
                        } else {
                            s
                        }
                    }
                    _ => "?".to_string(),
                })
                .collect();
            out.push(words.join(" "));
        }
    }
    out
}

const SCRIPT: &[&str] = &[
    "FLUSHDB",
    "FLUSHALL",
    "FLUSHDB ASYNC",
    "SWAPDB 0 1",
    "DEL nokey",
    "EXPIRE nokey 100",
    "PERSIST nokey",
    "SET s v",
    "SET s v NX",
    "PERSIST s",
    "INCRBY n 0",
    "INCRBYFLOAT f 1.5",
    "HINCRBYFLOAT h fl 2.5",
    "GETSET s w",
    "GETDEL s",
    "GETDEL s",
    "SADD st a b c",
    "SPOP st 10",
    "RPUSH l a b c d e",
    "BLPOP l 1",
    "BRPOP l 1",
    "BLMOVE l l2 LEFT RIGHT 1",
    "BRPOPLPUSH l l2 1",
    "LMPOP 1 l2 LEFT COUNT 5",
    "BLMPOP 1 1 l RIGHT COUNT 1",
    "ZADD z 1 a 2 b 3 c 4 d",
    "BZPOPMIN z 1",
    "BZPOPMAX z 1",
    "ZMPOP 1 z MIN COUNT 1",
    "BZMPOP 1 1 z MAX COUNT 3",
    "LREM l 0 zz",
    "SREM st zz",
    "SET e v PX 100000",
    "SETEX e2 100 v",
    "SETBIT bm 7 1",
    "SETBIT bm 7 1",
    "SETBIT bm 100 0",
    "BITFIELD bm SET u8 0 1 INCRBY u8 0 1 GET u8 0",
    "BITFIELD bm SET u8 0 2 GET u8 0",
    "BITFIELD bm OVERFLOW FAIL INCRBY u8 0 1000",
    "BITFIELD bmf OVERFLOW FAIL INCRBY u8 0 1000",
    "BITFIELD bm GET u8 0",
    "BITFIELD_RO bm GET u8 0",
    "BITOP AND bmd nokey",
    "BITOP OR bmd bm",
    "BITOP AND bmd nokey",
    "SELECT 3",
    "FLUSHDB",
];

fn run(start: fn(&[&str]) -> ServerProc) -> Vec<String> {
    let (s, d) = start_in_dir(
        start,
        "effects",
        &["--appendonly", "yes", "--appendfsync", "always"],
    );
    let mut c = Conn::connect(s.port);
    for line in SCRIPT {
        assert!(!matches!(c.cmd(line), Frame::Error(_)), "{line} failed");
    }
    // A client served after blocking is logged as the pop it did.
    let mut waiter = Conn::connect(s.port);
    waiter.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$2\r\nbl\r\n$1\r\n5\r\n");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!matches!(c.cmd("SELECT 0"), Frame::Error(_)));
    assert!(!matches!(c.cmd("RPUSH bl x y"), Frame::Error(_)));
    assert!(matches!(waiter.read(), Some(Frame::Array(_))));
    assert!(!matches!(c.cmd("PING"), Frame::Error(_)));
    let cmds = incr_commands(&d);
    drop(s);
    let _ = std::fs::remove_dir_all(&d);
    cmds
}

#[test]
fn logged_commands_match_redis() {
    let ours = run(start_cinnabar);
    let redis = run(start_redis);
    assert!(
        ours.iter().filter(|c| *c == "FLUSHDB").count() >= 2,
        "{ours:#?}"
    );
    assert_eq!(ours, redis);
}

/// DEBUG LOADAOF reloads the set (the AOF is not written twice, dirty is reset) and
/// DEBUG AOF-FLUSH-SLEEP delays each AOF write, in both servers alike.
fn loadaof_steps(start: fn(&[&str]) -> ServerProc) -> Vec<String> {
    let (s, d) = start_in_dir(
        start,
        "loadaof",
        &["--appendonly", "yes", "--enable-debug-command", "yes"],
    );
    let mut c = Conn::connect(s.port);
    let mut seen = Vec::new();
    let mut step = |c: &mut Conn, line: &str| seen.push(format!("{line} -> {:?}", c.cmd(line)));
    for line in [
        "SET a 1",
        "SELECT 2",
        "SET b 2",
        "SELECT 0",
        "DEBUG LOADAOF",
    ] {
        step(&mut c, line);
    }
    let before = incr_commands(&d);
    for line in [
        "DBSIZE",
        "GET a",
        "DEBUG LOADAOF extra-args-ignored",
        "DEBUG AOF-FLUSH-SLEEP",
        "DEBUG AOF-FLUSH-SLEEP 300000",
    ] {
        step(&mut c, line);
    }
    assert_eq!(incr_commands(&d), before, "LOADAOF wrote to the AOF");
    let t = std::time::Instant::now();
    step(&mut c, "SET slow 1");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    for line in [
        "DEBUG AOF-FLUSH-SLEEP 0",
        "CONFIG SET appendonly no",
        "SET notlogged 1",
        "DEBUG LOADAOF",
        "DBSIZE",
        "EXISTS notlogged",
        "SELECT 2",
        "DBSIZE",
    ] {
        step(&mut c, line);
    }
    let info = match c.cmd("INFO persistence") {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        f => panic!("{f:?}"),
    };
    assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");
    drop(s);
    let _ = std::fs::remove_dir_all(&d);
    seen
}

#[test]
fn debug_loadaof_and_flush_sleep_like_redis() {
    let ours = loadaof_steps(start_cinnabar);
    let redis = loadaof_steps(start_redis);
    assert_eq!(ours, redis);
}

/// Every file of the set in `dir` (sorted by name) with `#TS:` values masked.
fn files_with_masked_ts(dir: &std::path::Path) -> Vec<(String, String)> {
    let d = dir.join("appendonlydir");
    let mut names: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".aof"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let text = String::from_utf8_lossy(&std::fs::read(d.join(&n)).unwrap()).into_owned();
            let masked: Vec<String> = text
                .split("\r\n")
                .map(|l| {
                    if l.starts_with("#TS:") {
                        "#TS:<secs>".to_string()
                    } else if l.starts_with('$') || l.starts_with('*') {
                        l.to_string()
                    } else {
                        l.to_ascii_lowercase()
                    }
                })
                .collect();
            (n, masked.join("|"))
        })
        .collect()
}

/// aof-timestamp-enabled with a RESP base: the base opens with `#TS:`, the incr file opened by
/// the rewrite gets one only when the second changes, as in Redis.
fn timestamp_steps(start: fn(&[&str]) -> ServerProc) -> Vec<(String, String)> {
    let (s, d) = start_in_dir(
        start,
        "ts-effects",
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--aof-timestamp-enabled",
            "yes",
            "--aof-use-rdb-preamble",
            "no",
        ],
    );
    let mut c = Conn::connect(s.port);
    // Start just after a second begins, so the first steps share one second.
    loop {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_millis();
        if ms < 100 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!matches!(c.cmd("SET a 1"), Frame::Error(_)));
    assert!(!matches!(c.cmd("BGREWRITEAOF"), Frame::Error(_)));
    assert!(!matches!(c.cmd("SET b 2"), Frame::Error(_)));
    std::thread::sleep(Duration::from_millis(1100));
    assert!(!matches!(c.cmd("SET c 3"), Frame::Error(_)));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let files = loop {
        let f = files_with_masked_ts(&d);
        if f.len() == 2 || std::time::Instant::now() > deadline {
            break f;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(s);
    let _ = std::fs::remove_dir_all(&d);
    // The base's body differs (we rebuild keys with RESTORE): compare its first line only.
    files
        .into_iter()
        .map(|(n, t)| {
            if n.contains(".base.") {
                let first = t.split('|').next().unwrap_or("").to_string();
                (n, first)
            } else {
                (n, t)
            }
        })
        .collect()
}

#[test]
fn timestamps_like_redis() {
    let ours = timestamp_steps(start_cinnabar);
    let redis = timestamp_steps(start_redis);
    assert_eq!(ours, redis);
}
