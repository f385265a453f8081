//! RDB and DUMP/RESTORE interoperability with the oracle: Cinnabar's files load into
//! redis-server and Redis's files load into Cinnabar with every key equal (type, value,
//! encoding, TTL); DUMP payloads cross both ways; a corrupt or too-new file stops start-up
//! with exit code 1.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cinnabar_resp::Frame;

use super::harness::{
    exit_code_within, free_port, show, start_cinnabar, start_redis, temp_dir, Conn,
};

fn send(c: &mut Conn, argv: &[&[u8]]) -> Frame {
    let v: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    c.send(&v);
    c.read().expect("reply")
}

/// Builds keys of every type and encoding (small and large, with TTLs) in dbs 0, 1 and 9.
fn populate(c: &mut Conn) {
    let ok = |f: Frame| assert!(!matches!(f, Frame::Error(_)), "{}", show(&f));
    ok(c.cmd("SET int_small 12"));
    ok(c.cmd("SET int_neg -70000"));
    ok(c.cmd("SET int_big 9223372036854775807"));
    ok(c.cmd("SET not_int 0123"));
    ok(c.cmd("SET short hello"));
    ok(c.cmd("SET empty \"\""));
    ok(send(c, &[b"SET", b"binary", b"a\x00b\xffc"]));
    let long = "abcdefgh".repeat(200);
    ok(send(c, &[b"SET", b"compressible", long.as_bytes()]));
    let rnd: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    ok(send(c, &[b"SET", b"random", &rnd]));
    ok(c.cmd("SET ttl_str v PX 100000000"));
    ok(c.cmd("RPUSH list_small a b 1 -2 300 70000 -9000000000 \"\""));
    // Big values are sent in a few commands (one round trip each keeps the test light).
    let many = |cmd: &str, key: &str, items: Vec<String>| -> Vec<Vec<u8>> {
        let mut argv = vec![cmd.as_bytes().to_vec(), key.as_bytes().to_vec()];
        argv.extend(items.into_iter().map(String::into_bytes));
        argv
    };
    let items: Vec<String> = (0..3000)
        .map(|i| format!("element-{i}-{}", "x".repeat(i % 50)))
        .collect();
    c.send(&many("RPUSH", "list_big", items));
    ok(c.read().expect("reply"));
    ok(send(c, &[b"RPUSH", b"list_big", &vec![b'z'; 20000]]));
    ok(c.cmd("HSET hash_small f1 v1 f2 2 f3 -3 num 12345678901"));
    let items: Vec<String> = (0..600)
        .flat_map(|i| [format!("field{i}"), i.to_string()])
        .collect();
    c.send(&many("HSET", "hash_big", items));
    ok(c.read().expect("reply"));
    ok(send(c, &[b"HSET", b"hash_longval", b"f", &[b'v'; 100]]));
    ok(c.cmd("SADD set_int 1 2 3 -5 100000 5000000000"));
    c.send(&many(
        "SADD",
        "set_int_big",
        (0..600).map(|i| i.to_string()).collect(),
    ));
    ok(c.read().expect("reply"));
    ok(c.cmd("SADD set_str a b c 1 2"));
    ok(c.cmd("ZADD zset_small 1 a 2.5 b -3 c 0.1 d inf e -inf f 12345678901234 g"));
    let items: Vec<String> = (0..300)
        .flat_map(|i| [format!("{}.25", i * 7 % 301), format!("m{i}")])
        .collect();
    c.send(&many("ZADD", "zset_big", items));
    ok(c.read().expect("reply"));
    ok(send(c, &[b"ZADD", b"zset_longmember", b"1", &[b'm'; 100]]));
    ok(c.cmd("EXPIRE list_small 100000"));
    ok(c.cmd("PEXPIREAT hash_small 99999999999999"));
    ok(c.cmd("SELECT 1"));
    ok(c.cmd("SET in_db1 one"));
    ok(c.cmd("SADD set_db1 x y"));
    ok(c.cmd("SELECT 9"));
    ok(c.cmd("HSET h9 a b"));
    ok(c.cmd("SELECT 0"));
}

fn sorted(f: Frame) -> Vec<String> {
    let mut v: Vec<String> = match f {
        Frame::Array(items) => items.iter().map(show).collect(),
        other => vec![show(&other)],
    };
    v.sort();
    v
}

/// Pairs (field, value) of an HGETALL reply, sorted.
fn sorted_pairs(f: Frame) -> Vec<(String, String)> {
    let Frame::Array(items) = f else {
        return vec![];
    };
    let mut v: Vec<(String, String)> = items
        .chunks(2)
        .map(|p| (show(&p[0]), show(&p[1])))
        .collect();
    v.sort();
    v
}

/// Compares every key of dbs 0..16 between two servers.
pub(super) fn compare(a: &mut Conn, b: &mut Conn) -> usize {
    let mut checked = 0;
    for db in 0..16 {
        let sel = format!("SELECT {db}");
        a.cmd(&sel);
        b.cmd(&sel);
        let ka = sorted(a.cmd("KEYS *"));
        let kb = sorted(b.cmd("KEYS *"));
        assert_eq!(ka, kb, "keys of db {db}");
        let Frame::Array(keys) = a.cmd("KEYS *") else {
            panic!("KEYS")
        };
        for k in keys {
            let Frame::Bulk(k) = k else { panic!("key") };
            let name = String::from_utf8_lossy(&k).into_owned();
            let t = send(a, &[b"TYPE", &k]);
            assert_eq!(t, send(b, &[b"TYPE", &k]), "TYPE {name}");
            let enc_a = send(a, &[b"OBJECT", b"ENCODING", &k]);
            let enc_b = send(b, &[b"OBJECT", b"ENCODING", &k]);
            assert_eq!(show(&enc_a), show(&enc_b), "encoding of {name}");
            let ttl_a = send(a, &[b"PTTL", &k]);
            let ttl_b = send(b, &[b"PTTL", &k]);
            match (&ttl_a, &ttl_b) {
                (Frame::Integer(x), Frame::Integer(y)) => {
                    assert!(
                        (x - y).abs() < 60_000 && (*x < 0) == (*y < 0),
                        "PTTL {name}: {x} {y}"
                    )
                }
                _ => panic!("PTTL {name}"),
            }
            let Frame::Simple(t) = t else { panic!("type") };
            match &t[..] {
                b"string" => assert_eq!(send(a, &[b"GET", &k]), send(b, &[b"GET", &k]), "{name}"),
                b"list" => assert_eq!(
                    send(a, &[b"LRANGE", &k, b"0", b"-1"]),
                    send(b, &[b"LRANGE", &k, b"0", b"-1"]),
                    "{name}"
                ),
                b"hash" => assert_eq!(
                    sorted_pairs(send(a, &[b"HGETALL", &k])),
                    sorted_pairs(send(b, &[b"HGETALL", &k])),
                    "{name}"
                ),
                b"set" => assert_eq!(
                    sorted(send(a, &[b"SMEMBERS", &k])),
                    sorted(send(b, &[b"SMEMBERS", &k])),
                    "{name}"
                ),
                b"zset" => assert_eq!(
                    send(a, &[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"]),
                    send(b, &[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"]),
                    "{name}"
                ),
                other => panic!("unexpected type {}", String::from_utf8_lossy(other)),
            }
            checked += 1;
        }
    }
    a.cmd("SELECT 0");
    b.cmd("SELECT 0");
    checked
}

#[test]
fn cinnabar_file_loads_into_redis() {
    let dir = temp_dir("c2r");
    let d = dir.to_str().unwrap();
    let ours = start_cinnabar(&[
        "--dir",
        d,
        "--dbfilename",
        "ours.rdb",
        "--enable-debug-command",
        "yes",
    ]);
    let mut c = Conn::connect(ours.port);
    populate(&mut c);
    assert_eq!(c.cmd("SAVE"), Frame::Simple(b"OK".to_vec()));
    let theirs = start_redis(&["--dir", d, "--dbfilename", "ours.rdb"]);
    let mut r = Conn::connect(theirs.port);
    assert!(compare(&mut c, &mut r) == 24);
    // DEBUG RELOAD: save and load back in place.
    assert_eq!(c.cmd("DEBUG RELOAD"), Frame::Simple(b"OK".to_vec()));
    assert!(compare(&mut c, &mut r) == 24);
    let Frame::Bulk(info) = c.cmd("INFO persistence") else {
        panic!("INFO")
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    assert!(info.contains("rdb_saves:2"), "{info}");
    assert!(info.contains("rdb_last_load_keys_loaded:24"), "{info}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_file_loads_into_cinnabar() {
    let dir = temp_dir("r2c");
    let d = dir.to_str().unwrap();
    let theirs = start_redis(&["--dir", d, "--dbfilename", "theirs.rdb"]);
    let mut r = Conn::connect(theirs.port);
    populate(&mut r);
    // A function library is stored in the file too (skipped by us with a log line).
    let lib = b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)";
    assert_eq!(
        send(&mut r, &[b"FUNCTION", b"LOAD", lib]),
        Frame::Bulk(b"mylib".to_vec())
    );
    assert_eq!(r.cmd("SAVE"), Frame::Simple(b"OK".to_vec()));
    let ours = start_cinnabar(&["--dir", d, "--dbfilename", "theirs.rdb"]);
    let mut c = Conn::connect(ours.port);
    assert!(compare(&mut r, &mut c) == 24);
    // Uncompressed files too.
    // Uncompressed and without checksum (dbfilename is a protected config in Redis 7.0:
    // start another server).
    let plain = start_redis(&[
        "--dir",
        d,
        "--dbfilename",
        "plain.rdb",
        "--rdbcompression",
        "no",
        "--rdbchecksum",
        "no",
    ]);
    let mut r = Conn::connect(plain.port);
    populate(&mut r);
    assert_eq!(r.cmd("SAVE"), Frame::Simple(b"OK".to_vec()));
    let ours2 = start_cinnabar(&["--dir", d, "--dbfilename", "plain.rdb"]);
    let mut c2 = Conn::connect(ours2.port);
    assert!(compare(&mut r, &mut c2) == 24);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Moves every key of db 0 from `from` to `to` with DUMP / RESTORE.
fn dump_all(from: &mut Conn, to: &mut Conn) {
    let Frame::Array(keys) = from.cmd("KEYS *") else {
        panic!("KEYS")
    };
    for k in keys {
        let Frame::Bulk(k) = k else { panic!("key") };
        let Frame::Bulk(p) = send(from, &[b"DUMP", &k]) else {
            panic!("DUMP")
        };
        let Frame::Integer(ttl) = send(from, &[b"PTTL", &k]) else {
            panic!("PTTL")
        };
        let ttl = ttl.max(0).to_string();
        let res = send(to, &[b"RESTORE", &k, ttl.as_bytes(), &p, b"REPLACE"]);
        assert_eq!(
            res,
            Frame::Simple(b"OK".to_vec()),
            "{}",
            String::from_utf8_lossy(&k)
        );
    }
}

#[test]
fn dump_payloads_cross_both_ways() {
    let theirs = start_redis(&[]);
    let ours = start_cinnabar(&[]);
    let mut r = Conn::connect(theirs.port);
    let mut c = Conn::connect(ours.port);
    populate(&mut r);
    dump_all(&mut r, &mut c);
    for db in [1, 9] {
        r.cmd(&format!("SELECT {db}"));
        r.cmd("FLUSHDB");
    }
    r.cmd("SELECT 0");
    assert!(compare(&mut r, &mut c) == 21);
    r.cmd("FLUSHALL");
    dump_all(&mut c, &mut r);
    assert!(compare(&mut r, &mut c) == 21);
    // Byte-identical payloads for the compact encodings.
    for k in [
        "int_small",
        "short",
        "compressible",
        "random",
        "list_small",
        "list_big",
        "hash_small",
        "hash_longval",
        "set_int",
        "zset_small",
        "zset_big",
        "zset_longmember",
    ] {
        let (a, b) = (
            send(&mut r, &[b"DUMP", k.as_bytes()]),
            send(&mut c, &[b"DUMP", k.as_bytes()]),
        );
        if a != b {
            if let (Frame::Bulk(x), Frame::Bulk(y)) = (&a, &b) {
                let d = x.iter().zip(y.iter()).position(|(p, q)| p != q);
                panic!(
                    "DUMP {k}: lens {} {} first diff {d:?} {:?} {:?}",
                    x.len(),
                    y.len(),
                    &x[..x.len().min(12)],
                    &y[..y.len().min(12)]
                );
            }
        }
        assert_eq!(a, b, "DUMP {k}");
    }
}

/// Runs Cinnabar on a file and returns its exit code (it must exit by itself).
fn exit_code_on(file_bytes: &[u8]) -> Option<i32> {
    let dir = temp_dir(&format!("bad{}", file_bytes.len()));
    std::fs::write(dir.join("bad.rdb"), file_bytes).unwrap();
    let port = free_port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cinnabar-server"))
        .args([
            "--port",
            &port,
            "--dir",
            dir.to_str().unwrap(),
            "--dbfilename",
            "bad.rdb",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let code = exit_code_within(&mut child, Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&dir);
    code
}

#[test]
fn bad_files_stop_start_up() {
    // A valid file from Cinnabar, then damaged copies of it.
    let dir = temp_dir("good");
    let d = dir.to_str().unwrap();
    let ours = start_cinnabar(&["--dir", d, "--dbfilename", "good.rdb"]);
    let mut c = Conn::connect(ours.port);
    c.cmd("SET k v");
    c.cmd("RPUSH l a b c");
    assert_eq!(c.cmd("SAVE"), Frame::Simple(b"OK".to_vec()));
    let good = std::fs::read(dir.join("good.rdb")).unwrap();
    drop(ours);
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    assert_eq!(exit_code_on(&flipped), Some(1), "bad checksum");
    assert_eq!(exit_code_on(&good[..good.len() - 12]), Some(1), "truncated");
    let mut newer = good.clone();
    newer[5..9].copy_from_slice(b"0099");
    assert_eq!(exit_code_on(&newer), Some(1), "newer version");
    newer[5..9].copy_from_slice(b"0012");
    assert_eq!(exit_code_on(&newer), Some(1), "version 12");
    assert_eq!(exit_code_on(b"garbage!!"), Some(1), "signature");
    // A damaged checksum: a clear log line, exit code 1.
    let bad_dir = temp_dir("badcrc");
    let mut crc = good.clone();
    *crc.last_mut().unwrap() ^= 0x10;
    std::fs::write(bad_dir.join("bad.rdb"), &crc).unwrap();
    let port = free_port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_cinnabar-server"))
        .args(["--port", &port, "--dir", bad_dir.to_str().unwrap()])
        .args(["--dbfilename", "bad.rdb"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Wrong RDB checksum expected: ("), "{text}");
    let _ = std::fs::remove_dir_all(&bad_dir);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_saves_with_save_points() {
    let dir = temp_dir("shutdown");
    let d = dir.to_str().unwrap();
    let ours = start_cinnabar(&["--dir", d, "--dbfilename", "s.rdb", "--save", "3600 1"]);
    let mut c = Conn::connect(ours.port);
    c.cmd("SET k v");
    c.send(&[b"SHUTDOWN".to_vec()]);
    let _ = c.read();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.join("s.rdb").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(ours);
    let again = start_cinnabar(&["--dir", d, "--dbfilename", "s.rdb"]);
    let mut c = Conn::connect(again.port);
    assert_eq!(c.cmd("GET k"), Frame::Bulk(b"v".to_vec()));
    // BGSAVE writes the file from a child process.
    c.cmd("SET k2 v2");
    assert_eq!(
        c.cmd("BGSAVE"),
        Frame::Simple(b"Background saving started".to_vec())
    );
    let before = c.cmd("LASTSAVE");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(matches!(before, Frame::Integer(_)));
    drop(again);
    let third = start_cinnabar(&["--dir", d, "--dbfilename", "s.rdb"]);
    let mut c = Conn::connect(third.port);
    assert_eq!(c.cmd("GET k2"), Frame::Bulk(b"v2".to_vec()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_points_trigger_background_saves() {
    let dir = temp_dir("savepoints");
    let d = dir.to_str().unwrap();
    let ours = start_cinnabar(&["--dir", d, "--dbfilename", "p.rdb", "--save", "1 2"]);
    let mut c = Conn::connect(ours.port);
    c.cmd("SET a 1");
    c.cmd("SET b 2");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut info = String::new();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        if let Frame::Bulk(b) = c.cmd("INFO persistence") {
            info = String::from_utf8_lossy(&b).into_owned();
        }
        if info.contains("rdb_changes_since_last_save:0") && info.contains("rdb_saves:1") {
            break;
        }
    }
    assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");
    assert!(info.contains("rdb_bgsave_in_progress:0"), "{info}");
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
    assert!(dir.join("p.rdb").exists());
    let Frame::Integer(t) = c.cmd("LASTSAVE") else {
        panic!("LASTSAVE")
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - t).abs() < 15, "{t} {now}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn access_clocks_travel_in_files() {
    let dir = temp_dir("clocks");
    let d = dir.to_str().unwrap();
    // LFU: our FREQ opcode loads into Redis.
    let ours = start_cinnabar(&[
        "--dir",
        d,
        "--dbfilename",
        "lfu.rdb",
        "--maxmemory-policy",
        "allkeys-lfu",
    ]);
    let mut c = Conn::connect(ours.port);
    c.cmd("SET k v");
    let Frame::Bulk(p) = c.cmd("DUMP k") else {
        panic!("DUMP")
    };
    assert_eq!(
        send(&mut c, &[b"RESTORE", b"f", b"0", &p, b"FREQ", b"100"]),
        Frame::Simple(b"OK".to_vec())
    );
    assert_eq!(c.cmd("SAVE"), Frame::Simple(b"OK".to_vec()));
    let theirs = start_redis(&[
        "--dir",
        d,
        "--dbfilename",
        "lfu.rdb",
        "--maxmemory-policy",
        "allkeys-lfu",
    ]);
    let mut r = Conn::connect(theirs.port);
    assert_eq!(r.cmd("OBJECT FREQ f"), Frame::Integer(100));
    // LRU: Redis's IDLE opcode loads into Cinnabar.
    let theirs2 = start_redis(&[
        "--dir",
        d,
        "--dbfilename",
        "lru.rdb",
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let mut r2 = Conn::connect(theirs2.port);
    r2.cmd("SET k v");
    let Frame::Bulk(p) = r2.cmd("DUMP k") else {
        panic!("DUMP")
    };
    assert_eq!(
        send(&mut r2, &[b"RESTORE", b"i", b"0", &p, b"IDLETIME", b"1000"]),
        Frame::Simple(b"OK".to_vec())
    );
    assert_eq!(r2.cmd("SAVE"), Frame::Simple(b"OK".to_vec()));
    let ours2 = start_cinnabar(&[
        "--dir",
        d,
        "--dbfilename",
        "lru.rdb",
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let mut c2 = Conn::connect(ours2.port);
    let Frame::Integer(idle) = c2.cmd("OBJECT IDLETIME i") else {
        panic!("IDLETIME")
    };
    assert!((999..=1005).contains(&idle), "{idle}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failed_final_save_refuses_shutdown() {
    let dir = temp_dir("failsave");
    let d = dir.to_str().unwrap();
    let ours = start_cinnabar(&["--dir", d, "--dbfilename", "x.rdb", "--save", "3600 1"]);
    let mut c = Conn::connect(ours.port);
    c.cmd("SET k v");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        c.cmd("SHUTDOWN"),
        Frame::Error(b"ERR Errors trying to SHUTDOWN. Check logs.".to_vec())
    );
    assert_eq!(c.cmd("SAVE"), Frame::Error(b"ERR".to_vec()));
    assert_eq!(c.cmd("GET k"), Frame::Bulk(b"v".to_vec()));
    // NOSAVE still exits; FORCE exits despite the failed save.
    c.send(&[b"SHUTDOWN".to_vec(), b"FORCE".to_vec()]);
    assert!(c.read().is_none());
}

/// While the RDB loads at start-up, clients connect and get -LOADING for data commands (INFO
/// shows loading:1 with progress), then normal replies on the same connection.
#[test]
fn clients_get_loading_during_start_up_load() {
    let dir = temp_dir("loading");
    let d = dir.to_str().unwrap();
    {
        let s = start_cinnabar(&["--dir", d, "--enable-debug-command", "yes"]);
        let mut c = Conn::connect(s.port);
        assert_eq!(c.cmd("DEBUG POPULATE 4000"), Frame::Simple(b"OK".to_vec()));
        assert_eq!(c.cmd("SAVE"), Frame::Simple(b"OK".to_vec()));
    }
    // key-load-delay (µs per key, a testing aid as in Redis): about 2 s of loading.
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cinnabar-server"))
        .args(["--port", &port.to_string(), "--save", "", "--dir", d])
        .args(["--key-load-delay", "500"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut c = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            drop(s);
            break Conn::connect(port);
        }
        assert!(Instant::now() < deadline, "no listener");
        std::thread::sleep(Duration::from_millis(5));
    };
    let loading = Frame::Error(b"LOADING Redis is loading the dataset in memory".to_vec());
    assert_eq!(c.cmd("GET key:1"), loading);
    assert_eq!(c.cmd("PING"), loading);
    assert_eq!(c.cmd("DBSIZE"), loading);
    // Commands flagged `loading` run.
    assert_eq!(c.cmd("SELECT 0"), Frame::Simple(b"OK".to_vec()));
    assert_eq!(c.cmd("ECHO hi"), Frame::Bulk(b"hi".to_vec()));
    let info = show(&c.cmd("INFO persistence"));
    assert!(info.contains("loading:1"), "{info}");
    assert!(info.contains("loading_total_bytes:"), "{info}");
    assert!(info.contains("loading_loaded_perc:"), "{info}");
    // A second client connecting during the load, with a pipeline.
    let mut c2 = Conn::connect(port);
    c2.send_raw(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$5\r\nkey:2\r\n");
    assert_eq!(c2.read(), Some(loading.clone()));
    assert_eq!(c2.read(), Some(loading.clone()));
    // Then normal replies, on the same connections.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match c.cmd("GET key:1") {
            f if f == loading => {}
            f => {
                assert_eq!(f, Frame::Bulk(b"value:1".to_vec()));
                break;
            }
        }
        assert!(Instant::now() < deadline, "still loading");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.cmd("DBSIZE"), Frame::Integer(4000));
    assert_eq!(c2.cmd("GET key:2"), Frame::Bulk(b"value:2".to_vec()));
    let info = show(&c.cmd("INFO persistence"));
    assert!(
        info.contains("loading:0") && !info.contains("loading_total_bytes"),
        "{info}"
    );
    let errs = show(&c.cmd("INFO errorstats"));
    assert!(errs.contains("errorstat_LOADING:count="), "{errs}");
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// stop-writes-on-bgsave-error: after a failed BGSAVE (its directory was removed), writes,
/// PING and EXEC of queued writes get -MISCONF while reads work; turning the option off or a
/// successful save lifts it. Both servers go through the same steps and must reply alike.
#[test]
fn failed_bgsave_stops_writes() {
    fn scenario(redis: bool, tag: &str) -> Vec<String> {
        let base = temp_dir(tag);
        let gone = base.join("gone");
        std::fs::create_dir_all(&gone).unwrap();
        let args = [
            "--dir",
            gone.to_str().unwrap(),
            "--save",
            "3600 1",
            "--enable-protected-configs",
            "yes",
        ];
        let s = if redis {
            start_redis(&args)
        } else {
            start_cinnabar(&args)
        };
        std::fs::remove_dir_all(&gone).unwrap();
        let mut c = Conn::connect(s.port);
        let mut log = Vec::new();
        let mut run = |c: &mut Conn, line: &str| {
            let r = show(&c.cmd(line));
            log.push(format!("{line} -> {r}"));
            r
        };
        run(&mut c, "SET a 1");
        run(&mut c, "BGSAVE");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let info = show(&c.cmd("INFO persistence"));
            if info.contains("rdb_bgsave_in_progress:0") && info.contains("status:err") {
                break;
            }
            assert!(Instant::now() < deadline, "bgsave did not fail: {info}");
            std::thread::sleep(Duration::from_millis(20));
        }
        for line in [
            "SET b 2",
            "GET a",
            "PING",
            "INCR n",
            "DEL a",
            "EXISTS a",
            "MULTI",
            "SET c 1",
            "EXEC",
            "MULTI",
            "GET a",
            "EXEC",
            "CONFIG SET stop-writes-on-bgsave-error no",
            "SET b 2",
            "CONFIG SET stop-writes-on-bgsave-error yes",
            "SET b 3",
            "CONFIG SET save \"\"",
            "SET b 4",
            "CONFIG SET save \"3600 1\"",
            "SET b 5",
        ] {
            run(&mut c, line);
        }
        run(
            &mut c,
            &format!("CONFIG SET dir {}", base.to_str().unwrap()),
        );
        run(&mut c, "SAVE");
        run(&mut c, "SET b 6");
        run(&mut c, "GET b");
        drop(s);
        let _ = std::fs::remove_dir_all(&base);
        let b = base.to_str().unwrap();
        log.iter().map(|l| l.replace(b, "<dir>")).collect()
    }
    let ours = scenario(false, "misconf-ours");
    let theirs = scenario(true, "misconf-redis");
    assert_eq!(ours, theirs);
    let misconf = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.\\r\\n";
    assert_eq!(ours[2], format!("SET b 2 -> {misconf}"));
    assert_eq!(ours[4], format!("PING -> {misconf}"));
    assert!(
        ours.last().unwrap().ends_with("$1\\r\\n6\\r\\n"),
        "{ours:?}"
    );
}
