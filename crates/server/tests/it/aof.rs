//! Append-only file: data survives kill -9 with `appendonly yes`; Cinnabar's AOF directory
//! loads into redis-server and Redis's into Cinnabar; a truncated tail is dropped (or stops
//! start-up with `aof-load-truncated no`); with `appendfsync always` every acknowledged write
//! survives a kill at a random moment.

use std::process::{Command, Stdio};

use cinnabar_resp::Frame;

use super::harness::{free_port, show, start_cinnabar, start_redis, temp_dir, Conn};

fn ok(f: Frame) {
    assert!(!matches!(f, Frame::Error(_)), "{}", show(&f));
}

fn bulk(f: &Frame) -> String {
    show(f)
}

fn populate(c: &mut Conn) {
    ok(c.cmd("SET a 1"));
    ok(c.cmd("SET b 2 EX 1000"));
    ok(c.cmd("SETEX e 1000 ev"));
    ok(c.cmd("RPUSH l x y z"));
    ok(c.cmd("EXPIRE l 5000"));
    ok(c.cmd("HSET h f v"));
    ok(c.cmd("MULTI"));
    ok(c.cmd("INCR n"));
    ok(c.cmd("INCR n"));
    ok(c.cmd("EXEC"));
    ok(c.cmd("SELECT 2"));
    ok(c.cmd("SADD s m1 m2"));
    ok(c.cmd("SELECT 0"));
}

fn check(c: &mut Conn) {
    assert_eq!(bulk(&c.cmd("GET a")), bulk(&Frame::Bulk(b"1".to_vec())));
    assert_eq!(bulk(&c.cmd("GET e")), bulk(&Frame::Bulk(b"ev".to_vec())));
    assert_eq!(bulk(&c.cmd("GET n")), bulk(&Frame::Bulk(b"2".to_vec())));
    assert_eq!(bulk(&c.cmd("LLEN l")), bulk(&Frame::Integer(3)));
    let ttl = match c.cmd("TTL l") {
        Frame::Integer(n) => n,
        f => panic!("{}", show(&f)),
    };
    assert!((4990..=5000).contains(&ttl), "ttl {ttl}");
    let ttl = match c.cmd("TTL b") {
        Frame::Integer(n) => n,
        f => panic!("{}", show(&f)),
    };
    assert!((990..=1000).contains(&ttl), "ttl {ttl}");
    ok(c.cmd("SELECT 2"));
    assert_eq!(bulk(&c.cmd("SCARD s")), bulk(&Frame::Integer(2)));
    ok(c.cmd("SELECT 0"));
}

#[test]
fn survives_kill_and_crosses_with_redis() {
    let d = temp_dir("cross");
    let ds = d.to_str().unwrap();
    let args = [
        "--appendonly",
        "yes",
        "--dir",
        ds,
        "--appendfsync",
        "always",
    ];
    {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        populate(&mut c);
    } // kill -9
    assert!(d.join("appendonlydir/appendonly.aof.manifest").exists());
    {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        check(&mut c);
        ok(c.cmd("SET after_restart 1"));
    }
    // Redis loads our directory and appends to it.
    {
        let s = start_redis(&args);
        let mut c = Conn::connect(s.port);
        check(&mut c);
        ok(c.cmd("SET from_redis yes"));
        ok(c.cmd("BGREWRITEAOF"));
        std::thread::sleep(std::time::Duration::from_millis(500));
        ok(c.cmd("SET after_redis_rewrite 1"));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        check(&mut c);
        for k in ["after_restart", "from_redis", "after_redis_rewrite"] {
            assert!(
                !matches!(c.cmd(&format!("GET {k}")), Frame::Null),
                "{k} missing"
            );
        }
        ok(c.cmd("BGREWRITEAOF"));
        ok(c.cmd("SET after_our_rewrite 1"));
        // Wait for the child and the manifest swap.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let info = show(&c.cmd("INFO persistence"));
            if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrites:1") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{info}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        ok(c.cmd("SET after_swap 1"));
        let files: Vec<_> = std::fs::read_dir(d.join("appendonlydir"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 3, "old files not removed");
        let m = std::fs::read_to_string(d.join("appendonlydir/appendonly.aof.manifest")).unwrap();
        assert!(m.contains("type b") && m.contains("type i"), "{m}");
    }
    {
        let s = start_redis(&args);
        let mut c = Conn::connect(s.port);
        check(&mut c);
        assert!(!matches!(c.cmd("GET after_our_rewrite"), Frame::Null));
        assert!(!matches!(c.cmd("GET after_swap"), Frame::Null));
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn truncated_tail() {
    let d = temp_dir("trunc");
    let ds = d.to_str().unwrap();
    let args = ["--appendonly", "yes", "--dir", ds];
    {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        ok(c.cmd("SET a 1"));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let incr = std::fs::read_dir(d.join("appendonlydir"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .unwrap();
    let mut data = std::fs::read(&incr).unwrap();
    let good = data.len();
    data.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1");
    std::fs::write(&incr, &data).unwrap();
    // aof-load-truncated no: start-up fails.
    let port = free_port().to_string();
    let status = Command::new(env!("CARGO_BIN_EXE_cinnabar-server"))
        .args(["--port", &port, "--save", "", "--aof-load-truncated", "no"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        assert!(!matches!(c.cmd("GET a"), Frame::Null));
        assert!(matches!(c.cmd("GET b"), Frame::Null));
    }
    assert_eq!(std::fs::metadata(&incr).unwrap().len() as usize, good);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn acknowledged_writes_survive_crash() {
    let d = temp_dir("crash");
    let ds = d.to_str().unwrap();
    let args = [
        "--appendonly",
        "yes",
        "--dir",
        ds,
        "--appendfsync",
        "always",
    ];
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    for round in 0..3u64 {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        // Everything acknowledged before is there.
        for &i in &acked {
            assert!(
                !matches!(c.cmd(&format!("GET k{i}")), Frame::Null),
                "round {round}: k{i} lost"
            );
        }
        // A writer pipelines without waiting; kill at a pseudo-random moment.
        let kill_after = 50 + (round * 7919 + std::process::id() as u64) % 300;
        let mut sent = Vec::new();
        for _ in 0..kill_after {
            c.send(&[
                b"SET".to_vec(),
                format!("k{next}").into_bytes(),
                b"v".to_vec(),
            ]);
            sent.push(next);
            next += 1;
        }
        // Read some replies: those are acknowledged.
        for &i in sent.iter().take((kill_after / 2) as usize) {
            ok(c.read().expect("reply"));
            acked.push(i);
        }
        drop(s); // kill -9 with writes in flight
    }
    let s = start_cinnabar(&args);
    let mut c = Conn::connect(s.port);
    for &i in &acked {
        assert!(
            !matches!(c.cmd(&format!("GET k{i}")), Frame::Null),
            "k{i} lost"
        );
    }
    drop(s);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn random_and_relative_commands_replay_identically() {
    let d = temp_dir("rand");
    let ds = d.to_str().unwrap();
    let args = ["--appendonly", "yes", "--dir", ds];
    let before;
    {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        ok(c.cmd("SADD s a b c d e f g"));
        ok(c.cmd("SPOP s 3"));
        ok(c.cmd("SPOP s"));
        ok(c.cmd("SET r v"));
        let dump = c.cmd("DUMP r");
        let Frame::Bulk(p) = dump else { panic!() };
        c.send(&[b"RESTORE".to_vec(), b"r2".to_vec(), b"100000".to_vec(), p]);
        ok(c.read().unwrap());
        // Alive when INCR ran, expired at restart: replay must not resurrect it.
        ok(c.cmd("SET shortlived 1 PX 300"));
        ok(c.cmd("INCR shortlived"));
        ok(c.cmd("BLPOP emptylist 0.01"));
        ok(c.cmd("RPUSH emptylist x"));
        ok(c.cmd("BLPOP emptylist 0"));
        // Expired then recreated with another type: the expiry is logged as a DEL.
        ok(c.cmd("SET ek v PX 50"));
        ok(c.cmd("SET ak v PX 50"));
        std::thread::sleep(std::time::Duration::from_millis(150));
        ok(c.cmd("SADD ek x"));
        ok(c.cmd("CONFIG SET appendfsync everysec"));
        before = show(&c.cmd("SORT s ALPHA"));
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let s = start_cinnabar(&args);
    assert!(matches!(c_get(s.port, "shortlived"), Frame::Null));
    assert!(matches!(c_get(s.port, "emptylist"), Frame::Null));
    assert!(matches!(c_get(s.port, "ak"), Frame::Null));
    assert_eq!(
        show(&Conn::connect(s.port).cmd("SMEMBERS ek")),
        show(&Frame::Array(vec![Frame::Bulk(b"x".to_vec())]))
    );
    let mut c = Conn::connect(s.port);
    assert_eq!(show(&c.cmd("SORT s ALPHA")), before);
    match c.cmd("PTTL r2") {
        Frame::Integer(n) => assert!((90_000..=100_000).contains(&n), "{n}"),
        f => panic!("{}", show(&f)),
    }
    let info = show(&c.cmd("INFO persistence"));
    assert!(
        info.contains("aof_enabled:1") && info.contains("aof_current_size:"),
        "{info}"
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&d);
}

fn c_get(port: u16, key: &str) -> Frame {
    Conn::connect(port).cmd(&format!("GET {key}"))
}

#[test]
fn legacy_single_file_is_migrated() {
    let d = temp_dir("legacy");
    std::fs::write(
        d.join("appendonly.aof"),
        b"*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$2\r\nhi\r\n",
    )
    .unwrap();
    let ds = d.to_str().unwrap();
    let s = start_cinnabar(&["--appendonly", "yes", "--dir", ds]);
    assert_eq!(
        show(&c_get(s.port, "q")),
        show(&Frame::Bulk(b"hi".to_vec()))
    );
    drop(s);
    let m = std::fs::read_to_string(d.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert!(m.starts_with("file appendonly.aof seq 1 type b\n"), "{m}");
    assert!(!d.join("appendonly.aof").exists());
    let _ = std::fs::remove_dir_all(&d);
}

/// The AOF loader is not bound by `proto-max-bulk-len` for bit offsets (Redis's
/// `mustObeyClient`), a client is: both servers alike.
#[test]
fn aof_setbit_past_proto_max_bulk_len_loads() {
    for start in [start_cinnabar, start_redis] {
        let d = temp_dir("obey");
        std::fs::write(
            d.join("appendonly.aof"),
            b"*4\r\n$6\r\nSETBIT\r\n$1\r\nk\r\n$7\r\n8388608\r\n$1\r\n1\r\n",
        )
        .unwrap();
        let ds = d.to_str().unwrap();
        let s = start(&[
            "--appendonly",
            "yes",
            "--dir",
            ds,
            "--proto-max-bulk-len",
            "1mb",
        ]);
        let mut c = Conn::connect(s.port);
        assert_eq!(show(&c.cmd("STRLEN k")), show(&Frame::Integer(1048577)));
        assert_eq!(
            show(&c.cmd("SETBIT k 8388608 1")),
            show(&Frame::Error(
                "ERR bit offset is not an integer or out of range".into()
            ))
        );
        drop(s);
        let _ = std::fs::remove_dir_all(&d);
    }
}

/// aof-timestamp-enabled: `#TS:<secs>` annotations before the first write of each second;
/// both servers load the file; cinnabar-check-aof --truncate-to-timestamp cuts at them.
#[test]
fn timestamp_annotations() {
    let d = temp_dir("ts");
    let ds = d.to_str().unwrap();
    let args = [
        "--appendonly",
        "yes",
        "--dir",
        ds,
        "--appendfsync",
        "always",
        "--aof-timestamp-enabled",
        "yes",
    ];
    {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        ok(c.cmd("SET a 1"));
        ok(c.cmd("SET a2 1"));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        ok(c.cmd("SET b 2"));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        ok(c.cmd("SET c 3"));
    }
    let incr = std::fs::read_dir(d.join("appendonlydir"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .unwrap();
    let text = String::from_utf8(std::fs::read(&incr).unwrap()).unwrap();
    let ts: Vec<i64> = text
        .split("\r\n")
        .filter_map(|l| l.strip_prefix("#TS:"))
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(ts.len(), 3, "{text:?}");
    assert!(ts[0] < ts[1] && ts[1] < ts[2], "{ts:?}");
    assert!(text.starts_with("#TS:"), "{text:?}");
    // Redis loads our annotated files.
    {
        let s = start_redis(&["--appendonly", "yes", "--dir", ds]);
        let mut c = Conn::connect(s.port);
        assert_eq!(c.cmd("DBSIZE"), Frame::Integer(4));
    }
    let manifest = d.join("appendonlydir/appendonly.aof.manifest");
    let status = Command::new(env!("CARGO_BIN_EXE_cinnabar-check-aof"))
        .arg(&manifest)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let out = Command::new(env!("CARGO_BIN_EXE_cinnabar-check-aof"))
        .args(["--truncate-to-timestamp", &ts[0].to_string()])
        .arg(&manifest)
        .output()
        .unwrap();
    let out_text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out_text}");
    assert!(
        out_text.contains(&format!(
            "Successfully truncated AOF {} to timestamp {}",
            incr.file_name().unwrap().to_string_lossy(),
            ts[0]
        )),
        "{out_text}"
    );
    {
        let s = start_cinnabar(&["--appendonly", "yes", "--dir", ds]);
        let mut c = Conn::connect(s.port);
        assert_eq!(c.cmd("DBSIZE"), Frame::Integer(2));
        assert_eq!(c.cmd("EXISTS b"), Frame::Integer(0));
    }
    let _ = std::fs::remove_dir_all(&d);
}

/// Clients connecting while an AOF replays get -LOADING, then the replayed data.
#[test]
fn loading_while_replaying() {
    let d = temp_dir("loading");
    let ds = d.to_str().unwrap();
    let args = ["--appendonly", "yes", "--dir", ds];
    {
        let s = start_cinnabar(&args);
        let mut c = Conn::connect(s.port);
        let mut req = Vec::new();
        for i in 0..3000 {
            let (k, v) = (format!("k{i}"), format!("v{i}"));
            req.extend_from_slice(
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                    k.len(),
                    v.len()
                )
                .as_bytes(),
            );
        }
        c.send_raw(&req);
        for _ in 0..3000 {
            ok(c.read().unwrap());
        }
        ok(c.cmd("INCR n"));
    }
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cinnabar-server"))
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--key-load-delay",
            "500",
        ])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut c = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break Conn::connect(port);
        }
        assert!(std::time::Instant::now() < deadline, "no listener");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let loading = Frame::Error(b"LOADING Redis is loading the dataset in memory".to_vec());
    assert_eq!(c.cmd("GET k1"), loading);
    assert!(bulk(&c.cmd("INFO persistence")).contains("loading:1"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while c.cmd("PING") == loading {
        assert!(std::time::Instant::now() < deadline, "still loading");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(c.cmd("GET k2999"), Frame::Bulk(b"v2999".to_vec()));
    assert_eq!(c.cmd("GET n"), Frame::Bulk(b"1".to_vec()));
    assert_eq!(c.cmd("DBSIZE"), Frame::Integer(3001));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&d);
}

/// A long EVAL in the AOF: while it replays (past busy-reply-threshold) clients get -LOADING
/// for ordinary commands and -BUSY for the ones allowed while loading (INFO), as in Redis;
/// afterwards the script's write is there.
#[test]
fn long_script_in_the_aof_like_redis() {
    fn steps(program: &str) -> Vec<String> {
        let d = temp_dir("aof-eval");
        let ad = d.join("appendonlydir");
        std::fs::create_dir_all(&ad).unwrap();
        let script =
            "local i=0 while i < 400000000 do i = i + 1 end redis.call('set','k','v') return 1";
        let mut aof = Vec::new();
        cinnabar_resp_encode(&mut aof, &[b"EVAL", script.as_bytes(), b"0"]);
        std::fs::write(ad.join("appendonly.aof.1.incr.aof"), aof).unwrap();
        std::fs::write(
            ad.join("appendonly.aof.manifest"),
            "file appendonly.aof.1.incr.aof seq 1 type i\n",
        )
        .unwrap();
        let port = free_port();
        let mut child = Command::new(program)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--dir", d.to_str().unwrap()])
            .args(["--busy-reply-threshold", "100"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut c = loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break Conn::connect(port);
            }
            assert!(std::time::Instant::now() < deadline, "no listener");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        // Redis also serves clients once before the first command of a file: ask only when
        // the script is surely running (past the 100 ms threshold).
        std::thread::sleep(std::time::Duration::from_millis(400));
        let mut seen = vec![show(&c.cmd("PING")), show(&c.cmd("INFO persistence"))];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while matches!(c.cmd("PING"), Frame::Error(_)) {
            assert!(std::time::Instant::now() < deadline, "still loading");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        seen.push(show(&c.cmd("GET k")));
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&d);
        seen
    }
    let ours = steps(env!("CARGO_BIN_EXE_cinnabar-server"));
    let redis = steps("redis-server");
    assert!(ours[0].contains("LOADING"), "{ours:?}");
    assert_eq!(ours, redis);
}

fn cinnabar_resp_encode(out: &mut Vec<u8>, argv: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}
