//! Old RDB encodings and content validation, against redis-server 7.0.
//!
//! The fixtures are built here, byte by byte, from the format descriptions (module `gen`):
//! files of versions 1 to 9 holding every encoding Redis wrote before 7.0 (zipmap hashes,
//! ziplist lists / hashes / zsets, intsets, quicklists of ziplists, zsets with string scores),
//! and DUMP payloads whose checksum is right but whose structure is not. Each is given to both
//! servers and the outcomes compared: types, encodings, contents and DUMP bytes of what
//! loaded; replies, log lines, start-up reports and exit codes of what did not.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cinnabar_resp::Frame;

use super::harness::{exit_code_within, free_port, start_cinnabar, start_redis, temp_dir, Conn};

/// Writers for the old byte formats (integers little-endian unless said).
mod gen {
    /// An RDB length: 6-bit, 14-bit or 32-bit big-endian form.
    pub fn len(n: usize) -> Vec<u8> {
        if n < 64 {
            vec![n as u8]
        } else if n < 16384 {
            vec![0x40 | (n >> 8) as u8, n as u8]
        } else {
            let mut v = vec![0x80];
            v.extend_from_slice(&(n as u32).to_be_bytes());
            v
        }
    }

    /// An RDB string (plain).
    pub fn s(b: impl AsRef<[u8]>) -> Vec<u8> {
        let b = b.as_ref();
        let mut v = len(b.len());
        v.extend_from_slice(b);
        v
    }

    fn canonical_int(e: &str) -> Option<i64> {
        e.parse::<i64>().ok().filter(|i| i.to_string() == e)
    }

    /// A ziplist; entries that are canonical integers get the integer encodings.
    pub fn ziplist(items: &[&str]) -> Vec<u8> {
        let mut body = Vec::new();
        let (mut prev, mut tail) = (0usize, 10usize);
        for e in items {
            let mut ent = if prev < 254 {
                vec![prev as u8]
            } else {
                let mut p = vec![0xFE];
                p.extend_from_slice(&(prev as u32).to_le_bytes());
                p
            };
            match canonical_int(e) {
                Some(i @ 0..=12) => ent.push(0xF1 + i as u8),
                Some(i) if i8::try_from(i).is_ok() => ent.extend([0xFE, i as i8 as u8]),
                Some(i) if i16::try_from(i).is_ok() => {
                    ent.push(0xC0);
                    ent.extend_from_slice(&(i as i16).to_le_bytes());
                }
                Some(i) if (-(1 << 23)..(1 << 23)).contains(&i) => {
                    ent.push(0xF0);
                    ent.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
                }
                Some(i) if i32::try_from(i).is_ok() => {
                    ent.push(0xD0);
                    ent.extend_from_slice(&(i as i32).to_le_bytes());
                }
                Some(i) => {
                    ent.push(0xE0);
                    ent.extend_from_slice(&i.to_le_bytes());
                }
                None => {
                    let n = e.len();
                    if n < 64 {
                        ent.push(n as u8);
                    } else if n < 16384 {
                        ent.extend([0x40 | (n >> 8) as u8, n as u8]);
                    } else {
                        ent.push(0x80);
                        ent.extend_from_slice(&(n as u32).to_be_bytes());
                    }
                    ent.extend_from_slice(e.as_bytes());
                }
            }
            tail = 10 + body.len();
            prev = ent.len();
            body.extend(ent);
        }
        let mut zl = Vec::new();
        zl.extend_from_slice(&((10 + body.len() + 1) as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
        zl.extend(body);
        zl.push(0xFF);
        zl
    }

    /// A zipmap (Redis < 2.6 hashes), each value followed by `free` unused bytes.
    pub fn zipmap(pairs: &[(&str, &str)], free: u8) -> Vec<u8> {
        let zlen = |n: usize| {
            if n < 254 {
                vec![n as u8]
            } else {
                let mut v = vec![0xFE];
                v.extend_from_slice(&(n as u32).to_le_bytes());
                v
            }
        };
        let mut v = vec![pairs.len().min(254) as u8];
        for (f, x) in pairs {
            v.extend(zlen(f.len()));
            v.extend_from_slice(f.as_bytes());
            v.extend(zlen(x.len()));
            v.push(free);
            v.extend_from_slice(x.as_bytes());
            v.extend(std::iter::repeat_n(0u8, free as usize));
        }
        v.push(0xFF);
        v
    }

    /// An intset of the narrowest width that holds every value.
    pub fn intset(vals: &[i64]) -> Vec<u8> {
        let width = if vals.iter().all(|v| i16::try_from(*v).is_ok()) {
            2
        } else if vals.iter().all(|v| i32::try_from(*v).is_ok()) {
            4
        } else {
            8
        };
        intset_width(vals, width)
    }

    /// An intset `width` bytes wide (wider than needed after its big members were removed).
    pub fn intset_width(vals: &[i64], width: usize) -> Vec<u8> {
        let mut vals = vals.to_vec();
        vals.sort();
        let mut b = (width as u32).to_le_bytes().to_vec();
        b.extend_from_slice(&(vals.len() as u32).to_le_bytes());
        for v in vals {
            b.extend_from_slice(&v.to_le_bytes()[..width]);
        }
        b
    }

    /// A listpack of short strings (6-bit lengths; enough for the corruption cases).
    pub fn listpack(items: &[&str]) -> Vec<u8> {
        let mut body = Vec::new();
        for e in items {
            assert!(e.len() < 63);
            body.push(0x80 | e.len() as u8);
            body.extend_from_slice(e.as_bytes());
            body.push(1 + e.len() as u8); // back-length
        }
        let mut lp = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
        lp.extend_from_slice(&(items.len() as u16).to_le_bytes());
        lp.extend(body);
        lp.push(0xFF);
        lp
    }

    /// A zset-v1 score: length-prefixed text, 254 / 255 for +inf / -inf.
    pub fn score_str(x: &str) -> Vec<u8> {
        match x {
            "inf" => vec![254],
            "-inf" => vec![255],
            _ => {
                let mut v = vec![x.len() as u8];
                v.extend_from_slice(x.as_bytes());
                v
            }
        }
    }

    /// One key of a file: optional expire opcode bytes, type, name, value bytes.
    pub struct Key {
        pub expire: Vec<u8>,
        pub t: u8,
        pub name: String,
        pub value: Vec<u8>,
    }

    pub fn key(t: u8, name: &str, value: Vec<u8>) -> Key {
        Key {
            expire: vec![],
            t,
            name: name.into(),
            value,
        }
    }

    /// A whole file of `version` with the keys in db 0; versions 5 and later end with a
    /// CRC-64, or 8 zero bytes (what `rdbchecksum no` writes) when `checksum` is false.
    pub fn file(version: u32, keys: &[Key], checksum: bool) -> Vec<u8> {
        let mut f = format!("REDIS{version:04}").into_bytes();
        f.extend([0xFE, 0]);
        for k in keys {
            f.extend_from_slice(&k.expire);
            f.push(k.t);
            f.extend(s(&k.name));
            f.extend_from_slice(&k.value);
        }
        f.push(0xFF);
        if version >= 5 {
            let crc = if checksum {
                cinnabar_server::persist::crc64::crc64(&f)
            } else {
                0
            };
            f.extend_from_slice(&crc.to_le_bytes());
        }
        f
    }

    /// A DUMP payload (RDB version 9, what Redis 6.2 writes) with a right checksum.
    pub fn payload(t: u8, value: &[u8]) -> Vec<u8> {
        let mut p = vec![t];
        p.extend_from_slice(value);
        p.extend_from_slice(&9u16.to_le_bytes());
        let crc = cinnabar_server::persist::crc64::crc64(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    }
}

use gen::{key, len, s, score_str, Key};

fn pairs(n: usize, f: &str, v: &str) -> Vec<String> {
    (0..n).flat_map(|i| [format!("{f}{i}"), v.into()]).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Every old encoding, small and past the default conversion limits.
fn old_keys(version: u32) -> Vec<Key> {
    let long = "x".repeat(100);
    let big_field = "f".repeat(300); // a zipmap length past 253: the 5-byte form
    let zl = |items: &[&str]| s(gen::ziplist(items));
    let mut ql = len(2);
    ql.extend(zl(&["a", "b", "3"]));
    ql.extend(zl(&["c", "4", &long]));
    let mut zset1 = len(3);
    for (m, sc) in [("a", "1.5"), ("b", "inf"), ("c", "-inf")] {
        zset1.extend(s(m));
        zset1.extend(score_str(sc));
    }
    let mut keys = vec![
        key(0, "str", s("hello")),
        key(
            9,
            "zipmap",
            s(gen::zipmap(&[("f1", "v1"), ("f2", "v2"), ("n", "123")], 2)),
        ),
        key(
            9,
            "zipmap-long",
            s(gen::zipmap(&[(&big_field, "v"), ("g", "w")], 0)),
        ),
        key(
            9,
            "zipmap-many",
            s(gen::zipmap(
                &pairs(600, "f", "v")
                    .chunks(2)
                    .map(|p| (p[0].as_str(), p[1].as_str()))
                    .collect::<Vec<_>>(),
                0,
            )),
        ),
        key(
            10,
            "list-ziplist",
            zl(&["a", "1", "-5", "300", "70000", "9000000000", &long]),
        ),
        key(11, "intset", s(gen::intset(&[5, 1, -3]))),
        key(11, "intset-32", s(gen::intset(&[1, 100000, -70000]))),
        key(11, "intset-64", s(gen::intset(&[1, 1 << 40]))),
        key(11, "intset-wide", s(gen::intset_width(&[1, -2], 8))),
        key(
            11,
            "intset-many",
            s(gen::intset(&(0..600).collect::<Vec<_>>())),
        ),
        key(12, "zset-ziplist", zl(&["a", "1", "b", "2.5", "c", "3"])),
        key(12, "zset-ziplist-long", zl(&[&long, "1", "b", "2"])),
        key(
            12,
            "zset-ziplist-many",
            zl(&refs(
                &(0..200)
                    .flat_map(|i| [format!("m{i:03}"), i.to_string()])
                    .collect::<Vec<_>>(),
            )),
        ),
        key(13, "hash-ziplist", zl(&["f", "v", "g", "2"])),
        key(13, "hash-ziplist-long", zl(&["f", &long])),
        key(13, "hash-ziplist-many", zl(&refs(&pairs(600, "f", "v")))),
        key(14, "quicklist-v1", ql),
        key(3, "zset-v1", zset1),
    ];
    if version >= 8 {
        let mut z2 = len(1);
        z2.extend(s("a"));
        z2.extend_from_slice(&2.5f64.to_le_bytes());
        keys.push(key(5, "zset-v2", z2));
    }
    // Far-future expiry in the old seconds form, and in milliseconds from version 3 on.
    let mut k = key(0, "ttl-s", s("v"));
    k.expire = [vec![253], 2_000_000_000u32.to_le_bytes().to_vec()].concat();
    keys.push(k);
    if version >= 3 {
        let mut k = key(0, "ttl-ms", s("v"));
        k.expire = [vec![252], 4_000_000_000_000u64.to_le_bytes().to_vec()].concat();
        keys.push(k);
    }
    keys
}

/// DUMP bytes of every key whose encoding is compact (hash tables iterate in a seed-dependent
/// order, so only their contents are compared).
fn compare_dumps(a: &mut Conn, b: &mut Conn) {
    let Frame::Array(keys) = a.cmd("KEYS *") else {
        panic!("KEYS")
    };
    for k in keys {
        let Frame::Bulk(k) = k else { panic!("key") };
        let enc = a.send_argv(&[b"OBJECT", b"ENCODING", &k]);
        if matches!(&enc, Frame::Bulk(e) if e == b"hashtable" || e == b"skiplist") {
            continue;
        }
        let da = a.send_argv(&[b"DUMP", &k]);
        let db = b.send_argv(&[b"DUMP", &k]);
        assert_eq!(da, db, "DUMP {}", String::from_utf8_lossy(&k));
    }
}

trait SendArgv {
    fn send_argv(&mut self, argv: &[&[u8]]) -> Frame;
}

impl SendArgv for Conn {
    fn send_argv(&mut self, argv: &[&[u8]]) -> Frame {
        self.send(&argv.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
        self.read().expect("reply")
    }
}

/// Files of versions 1 to 9 with every pre-7.0 encoding load into both servers with the same
/// types, encodings (conversions by the configured limits included), contents and DUMPs.
#[test]
fn old_encodings_load_as_in_redis() {
    let small = [
        "--hash-max-listpack-entries",
        "2",
        "--zset-max-listpack-entries",
        "2",
        "--set-max-intset-entries",
        "2",
        "--list-max-listpack-size",
        "2",
    ];
    for (version, limits) in [
        (1, &[][..]),
        (4, &[][..]),
        (5, &[][..]),
        (7, &small[..]),
        (9, &[][..]),
    ] {
        let bytes = gen::file(version, &old_keys(version), true);
        let dir = temp_dir(&format!("old{version}"));
        std::fs::write(dir.join("old.rdb"), &bytes).unwrap();
        let mut args = vec!["--dir", dir.to_str().unwrap(), "--dbfilename", "old.rdb"];
        args.extend_from_slice(limits);
        let redis = start_redis(&args);
        let ours = start_cinnabar(&args);
        let mut a = Conn::connect(redis.port);
        let mut b = Conn::connect(ours.port);
        let n = super::rdb::compare(&mut a, &mut b);
        assert_eq!(n, old_keys(version).len(), "version {version}");
        compare_dumps(&mut a, &mut b);
        drop((redis, ours));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Corrupt values with right checksums: (name, type, value bytes, Redis's log text).
fn corrupt_cases() -> Vec<(&'static str, u8, Vec<u8>, &'static str)> {
    let lp = gen::listpack(&["f", "v", "g", "w"]);
    let mut bad_backlen = lp.clone();
    bad_backlen[8] = 5; // the first entry's back-length
    let zl = gen::ziplist(&["f", "v", "g", "w"]);
    let mut bad_prevlen = zl.clone();
    bad_prevlen[13] = 7; // the second entry's prevlen
    let mut bad_tail = zl.clone();
    bad_tail[4] ^= 1;
    let mut bad_count = zl.clone();
    bad_count[8] = 3;
    let mut unsorted = gen::intset(&[1, 5]);
    unsorted.swap(8, 10);
    let mut zipmap_count = gen::zipmap(&[("a", "1"), ("b", "2")], 0);
    zipmap_count[0] = 3;
    let ql1 = [len(1), s(&bad_prevlen)].concat();
    let ql2 = [len(1), len(2), s(&bad_backlen)].concat();
    let hash_dup = [len(2), s("a"), s("1"), s("a"), s("2")].concat();
    vec![
        (
            "hash listpack back-length",
            16,
            s(&bad_backlen),
            "rdb.c:2300 -> Hash listpack integrity check failed.",
        ),
        (
            "zset listpack back-length",
            17,
            s(&bad_backlen),
            "rdb.c:2254 -> Zset listpack integrity check failed.",
        ),
        (
            "hash ziplist prevlen",
            13,
            s(&bad_prevlen),
            "rdb.c:2274 -> Hash ziplist integrity check failed.",
        ),
        (
            "zset ziplist tail",
            12,
            s(&bad_tail),
            "rdb.c:2228 -> Zset ziplist integrity check failed.",
        ),
        (
            "list ziplist count",
            10,
            s(&bad_count),
            "rdb.c:2188 -> List ziplist integrity check failed.",
        ),
        (
            "quicklist v1 node",
            14,
            ql1,
            "rdb.c:2081 -> Ziplist integrity check failed.",
        ),
        (
            "quicklist v2 node",
            18,
            ql2,
            "rdb.c:2071 -> Listpack integrity check failed.",
        ),
        (
            "intset order",
            11,
            s(&unsorted),
            "rdb.c:2213 -> Intset integrity check failed.",
        ),
        (
            "zipmap count",
            9,
            s(&zipmap_count),
            "rdb.c:2130 -> Zipmap integrity check failed.",
        ),
        (
            "zipmap duplicate",
            9,
            s(gen::zipmap(&[("a", "1"), ("a", "2")], 0)),
            "rdb.c:2154 -> Hash zipmap with dup elements, or big length (1)",
        ),
        (
            "hash duplicate",
            4,
            hash_dup,
            "rdb.c:1951 -> Hash with dup elements",
        ),
    ]
}

fn wait_for_log(path: &std::path::Path, text: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if std::fs::read_to_string(path).is_ok_and(|l| l.contains(text)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A structurally corrupt RESTORE payload with a right checksum (and with checksums skipped)
/// gets "Bad data format", installs nothing, and logs Redis's integrity line. Cinnabar checks
/// whatever sanitize-dump-payload says; Redis does with `yes`, which is how the oracle runs.
#[test]
fn corrupt_payloads_refused_and_logged() {
    let dir = temp_dir("corrupt-restore");
    let (log_r, log_c) = (dir.join("redis.log"), dir.join("cinnabar.log"));
    let redis = start_redis(&[
        "--loglevel",
        "verbose",
        "--sanitize-dump-payload",
        "yes",
        "--enable-debug-command",
        "yes",
        "--logfile",
        log_r.to_str().unwrap(),
    ]);
    let ours = start_cinnabar(&[
        "--loglevel",
        "verbose",
        "--enable-debug-command",
        "yes",
        "--logfile",
        log_c.to_str().unwrap(),
    ]);
    let mut a = Conn::connect(redis.port);
    let mut b = Conn::connect(ours.port);
    let bad = Frame::Error(b"ERR Bad data format".to_vec());
    for (name, t, value, text) in corrupt_cases() {
        let p = gen::payload(t, &value);
        for (c, log) in [(&mut a, &log_r), (&mut b, &log_c)] {
            let reply = c.send_argv(&[b"RESTORE", b"k", b"0", &p]);
            assert_eq!(reply, bad, "{name}");
            assert_eq!(c.cmd("EXISTS k"), Frame::Integer(0), "{name}");
            let line = format!("- Internal error in RDB reading offset 0, function at {text}");
            assert!(wait_for_log(log, &line), "{name}: no log line {line}");
        }
    }
    // A good payload still restores; with checksums skipped, a zero CRC passes the check but
    // a damaged value does not.
    let good = gen::payload(13, &s(gen::ziplist(&["f", "v"])));
    let mut zero_crc = gen::payload(16, &corrupt_cases()[0].2);
    let at = zero_crc.len() - 8;
    zero_crc[at..].fill(0);
    let mut zero_good = good.clone();
    let at = zero_good.len() - 8;
    zero_good[at..].fill(0);
    for c in [&mut a, &mut b] {
        assert_eq!(
            c.send_argv(&[b"RESTORE", b"h", b"0", &good]),
            Frame::Simple(b"OK".to_vec())
        );
        assert_eq!(c.cmd("HGET h f"), Frame::Bulk(b"v".to_vec()));
        let wrong = Frame::Error(b"ERR DUMP payload version or checksum are wrong".to_vec());
        assert_eq!(c.send_argv(&[b"RESTORE", b"z", b"0", &zero_good]), wrong);
        assert_eq!(
            c.cmd("DEBUG SET-SKIP-CHECKSUM-VALIDATION 1"),
            Frame::Simple(b"OK".to_vec())
        );
        assert_eq!(
            c.send_argv(&[b"RESTORE", b"z", b"0", &zero_good]),
            Frame::Simple(b"OK".to_vec())
        );
        assert_eq!(c.send_argv(&[b"RESTORE", b"y", b"0", &zero_crc]), bad);
        assert_eq!(c.cmd("EXISTS y"), Frame::Integer(0));
        c.cmd("DEBUG SET-SKIP-CHECKSUM-VALIDATION 0");
    }
    drop((redis, ours));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs a server on `dir/dump.rdb` until it exits by itself. Return value: exit code and
/// stdout with the log prefixes (pid, role, time) cut, so both servers' lines compare.
fn run_to_exit(program: &str, dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, String) {
    let port = free_port().to_string();
    let mut child = Command::new(program)
        .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
        .args(["--dir", dir.to_str().unwrap(), "--dbfilename", "dump.rdb"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let code = exit_code_within(&mut child, Duration::from_secs(15));
    let text = reader.join().unwrap_or_default();
    let lines: Vec<String> = text
        .lines()
        .map(|l| match l.find(" # ") {
            Some(i) if l[..i].contains(":M ") => format!("# {}", &l[i + 3..]),
            _ => l.to_string(),
        })
        .collect();
    (code, lines.join("\n"))
}

/// The lines of a start-up failure that both servers must print alike: the error, Redis's
/// corruption line, the check report and the "Terminating" line.
fn failure_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| {
            l.starts_with('[')
                || l.starts_with("---")
                || l.contains("Internal error")
                || l.contains("Terminating")
                || l.contains("Short read")
        })
        .collect()
}

/// A file saved with `rdbchecksum no` (checksum 0) whose value is damaged: the server refuses
/// to start, with exit code 1, Redis's log lines and the check report. The same for a short
/// file; and a damaged listpack refuses start-up with sanitize-dump-payload yes as in Redis.
#[test]
fn corrupt_file_without_checksum_stops_start_up() {
    let mut zl = gen::ziplist(&["f", "v", "g", "w"]);
    zl[13] = 7;
    let mut lp = gen::listpack(&["f", "v"]);
    lp[8] = 9;
    let files = [
        (
            "ziplist",
            gen::file(9, &[key(0, "a", s("x")), key(13, "hz", s(&zl))], false),
            &[][..],
        ),
        (
            "listpack",
            gen::file(10, &[key(0, "a", s("x")), key(16, "hl", s(&lp))], false),
            &["--sanitize-dump-payload", "yes"][..],
        ),
        (
            "short",
            gen::file(9, &[key(0, "a", s("x")), key(0, "b", s("yyyy"))], true)[..20].to_vec(),
            &[][..],
        ),
    ];
    for (name, bytes, extra) in files {
        let mut got = Vec::new();
        for program in ["redis-server", env!("CARGO_BIN_EXE_cinnabar-server")] {
            let dir = temp_dir(&format!("corrupt-file-{name}"));
            std::fs::write(dir.join("dump.rdb"), &bytes).unwrap();
            let (code, out) = run_to_exit(program, &dir, extra);
            assert_eq!(code, Some(1), "{name} {program}: {out}");
            got.push(out);
            let _ = std::fs::remove_dir_all(&dir);
        }
        let (want, ours) = (failure_lines(&got[0]), failure_lines(&got[1]));
        assert!(want.len() > 5, "{name}: {}", got[0]);
        assert_eq!(ours, want, "{name}:\n{}", got[1]);
    }
}

/// `cinnabar-check-rdb` prints what `redis-check-rdb` prints for old files (no checksum line
/// before version 5, Redis's line for a stored 0) and for a corrupt value (Redis's integrity
/// line, then the "Terminating" log line), log prefixes aside.
#[test]
fn check_rdb_reports_old_and_corrupt_files_as_redis() {
    let dir = temp_dir("check-old");
    let mut zl = gen::ziplist(&["f", "v", "g", "w"]);
    zl[13] = 7;
    let files = [
        ("v1.rdb", gen::file(1, &old_keys(1), true)),
        ("v9.rdb", gen::file(9, &old_keys(9), true)),
        ("nocrc.rdb", gen::file(9, &old_keys(9), false)),
        (
            "corrupt.rdb",
            gen::file(9, &[key(0, "a", s("x")), key(13, "hz", s(&zl))], false),
        ),
    ];
    let strip = |out: Vec<u8>| -> String {
        String::from_utf8_lossy(&out)
            .lines()
            .map(|l| match l.find(" # ") {
                Some(i) if l[..i].contains(":C ") => format!("# {}", &l[i + 3..]),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let mut got = Vec::new();
        for tool in ["redis-check-rdb", env!("CARGO_BIN_EXE_cinnabar-check-rdb")] {
            let out = Command::new(tool)
                .arg(&path)
                .stderr(Stdio::null())
                .output()
                .unwrap();
            got.push((out.status.code(), strip(out.stdout)));
        }
        assert_eq!(got[1], got[0], "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
