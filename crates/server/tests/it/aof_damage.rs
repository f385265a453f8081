//! Damaged multi-part AOF sets: each one is given to Cinnabar and to redis-server 7.0.15;
//! both must refuse (exit 1) or accept it alike, with the same warning lines in the log, and
//! a refused set must never be half loaded into a running server.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::harness::{exit_code_within, free_port, temp_dir};

const M: &str = "appendonly.aof.manifest";
const BASE: &str = "appendonly.aof.1.base.aof";
const SET_A: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
const SET_B: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n";
const SET_C: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n";

/// A set: a RESP base with `a`, incr 1 with `b`, incr 2 with `c`, and the manifest.
fn make_set(dir: &std::path::Path) {
    let d = dir.join("appendonlydir");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(BASE), SET_A).unwrap();
    std::fs::write(d.join("appendonly.aof.1.incr.aof"), SET_B).unwrap();
    std::fs::write(d.join("appendonly.aof.2.incr.aof"), SET_C).unwrap();
    std::fs::write(
        d.join(M),
        "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
    )
    .unwrap();
}

/// What a start-up did: the exit code (None: it kept running and was stopped) and the
/// warning lines of its log (message text only; banner lines dropped).
#[derive(Debug, PartialEq)]
struct Outcome {
    code: Option<i32>,
    warnings: Vec<String>,
}

fn start(program: &str, dir: &std::path::Path, extra: &[&str]) -> Outcome {
    let log = dir.join("log.txt");
    let _ = std::fs::remove_file(&log);
    let port = free_port().to_string();
    let mut child = Command::new(program)
        .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
        .args(["--appendonly", "yes", "--dir", dir.to_str().unwrap()])
        .args(["--logfile", log.to_str().unwrap()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let code = exit_code_within(&mut child, Duration::from_millis(1500));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Outcome {
        code,
        warnings: warnings(&text),
    }
}

/// The `#` lines of a log (and the raw lines of a multi-line message), without the banner
/// and environment warnings.
fn warnings(log: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in log.lines() {
        let parts: Vec<&str> = line.splitn(6, ' ').collect();
        let prefixed = parts.len() >= 6 && parts[0].contains(':') && parts[4].contains('.');
        let msg = if prefixed {
            if parts[5].starts_with("# ") || parts[5] == "#" {
                parts[5].trim_start_matches('#').trim_start().to_string()
            } else {
                continue;
            }
        } else {
            line.to_string()
        };
        let banner = [
            "oO0OoO0OoO0Oo",
            "version=",
            "Configuration loaded",
            "Server initialized",
            "WARNING",
            "Warning: no config file",
            "User requested shutdown",
            "Received SIGTERM",
            "Redis is now ready to exit",
            "Cinnabar is now ready to exit",
        ];
        if !banner.iter().any(|b| msg.contains(b)) {
            out.push(msg);
        }
    }
    out
}

fn both(damage: impl Fn(&std::path::Path), extra: &[&str]) -> (Outcome, Outcome) {
    let mut res = Vec::new();
    for program in [env!("CARGO_BIN_EXE_cinnabar-server"), "redis-server"] {
        let d = temp_dir("damage");
        make_set(&d);
        damage(&d.join("appendonlydir"));
        res.push(start(program, &d, extra));
        let _ = std::fs::remove_dir_all(&d);
    }
    let redis = res.pop().unwrap();
    (res.pop().unwrap(), redis)
}

fn manifest(text: &'static str) -> impl Fn(&std::path::Path) {
    move |d: &std::path::Path| std::fs::write(d.join(M), text).unwrap()
}

fn append(file: &'static str, bytes: &'static [u8]) -> impl Fn(&std::path::Path) {
    move |d: &std::path::Path| {
        let mut data = std::fs::read(d.join(file)).unwrap();
        data.extend_from_slice(bytes);
        std::fs::write(d.join(file), data).unwrap();
    }
}

#[test]
fn damaged_sets_are_refused_like_redis() {
    type Damage = Box<dyn Fn(&std::path::Path)>;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "missing incr",
            Box::new(|d: &std::path::Path| {
                std::fs::remove_file(d.join("appendonly.aof.1.incr.aof")).unwrap()
            }),
            "Unable to obtain the AOF file appendonly.aof.1.incr.aof length. stat: No such file or directory",
        ),
        (
            "missing base",
            Box::new(|d: &std::path::Path| std::fs::remove_file(d.join(BASE)).unwrap()),
            "Unable to obtain the AOF file appendonly.aof.1.base.aof length",
        ),
        (
            "blank line",
            Box::new(manifest("file appendonly.aof.1.base.aof seq 1 type b\n\nfile appendonly.aof.1.incr.aof seq 1 type i\n")),
            "Invalid AOF manifest file format",
        ),
        (
            "odd words",
            Box::new(manifest("file appendonly.aof.1.base.aof seq 1 type\n")),
            "Invalid AOF manifest file format",
        ),
        (
            "seq 0",
            Box::new(manifest("file appendonly.aof.1.base.aof seq 0 type b\n")),
            "Invalid AOF manifest file format",
        ),
        (
            "unknown type",
            Box::new(manifest("file appendonly.aof.1.base.aof seq 1 type x\n")),
            "Unknown AOF file type",
        ),
        (
            "two bases",
            Box::new(manifest("file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.base.aof seq 2 type b\n")),
            "Found duplicate base file information",
        ),
        (
            "sequence not increasing",
            Box::new(manifest("file appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.1.incr.aof seq 1 type i\n")),
            "Found a non-monotonic sequence number",
        ),
        (
            "empty manifest",
            Box::new(manifest("")),
            "Found an empty AOF manifest",
        ),
        (
            "path as name",
            Box::new(manifest("file ../appendonly.aof.1.base.aof seq 1 type b\n")),
            "File can't be a path, just a filename",
        ),
        (
            "last line without newline",
            Box::new(manifest("file appendonly.aof.1.base.aof seq 1 type b")),
            "The AOF manifest file contains too long line",
        ),
        (
            "zero-argument command",
            Box::new(append("appendonly.aof.2.incr.aof", b"*0\r\n")),
            "Bad file format reading the append only file appendonly.aof.2.incr.aof",
        ),
        (
            "unknown command",
            Box::new(append("appendonly.aof.1.incr.aof", b"*1\r\n$4\r\nFOOO\r\n")),
            "Unknown command 'FOOO' reading the append only file appendonly.aof.1.incr.aof",
        ),
        (
            "truncated file not the last",
            Box::new(append("appendonly.aof.1.incr.aof", b"*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1")),
            "Fatal error: the truncated file is not the last file",
        ),
    ];
    for (what, damage, expect) in cases {
        let (ours, redis) = both(damage, &[]);
        assert_eq!(redis.code, Some(1), "{what}: redis {redis:?}");
        assert!(
            redis.warnings.iter().any(|w| w.starts_with(expect)),
            "{what}: redis {redis:?}"
        );
        assert_eq!(ours, redis, "{what}");
    }
}

#[test]
fn truncation_and_accepted_oddities_like_redis() {
    let trunc: &[u8] = b"*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1";
    let multi: &[u8] = b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1\r\n1\r\n";
    type Damage = Box<dyn Fn(&std::path::Path)>;
    let cases: Vec<(&str, Damage, &[&str], Option<i32>)> = vec![
        (
            "truncated last, aof-load-truncated no",
            Box::new(append("appendonly.aof.2.incr.aof", trunc)),
            &["--aof-load-truncated", "no"],
            Some(1),
        ),
        (
            "truncated last",
            Box::new(append("appendonly.aof.2.incr.aof", trunc)),
            &[],
            None,
        ),
        (
            "unfinished MULTI, aof-load-truncated no",
            Box::new(append("appendonly.aof.2.incr.aof", multi)),
            &["--aof-load-truncated", "no"],
            Some(1),
        ),
        (
            "unfinished MULTI",
            Box::new(append("appendonly.aof.2.incr.aof", multi)),
            &[],
            None,
        ),
        (
            "comments, spaces, CRLF, unknown keys, history",
            Box::new(manifest("# hi\n  file appendonly.aof.1.base.aof seq 1 type b foo bar \r\nfile appendonly.aof.0.base.aof seq 7 type h\nfile appendonly.aof.1.incr.aof seq 1 type i\n")),
            &[],
            None,
        ),
        (
            "annotations",
            Box::new(append("appendonly.aof.2.incr.aof", b"#TS:12\r\n#TS:13")),
            &[],
            None,
        ),
    ];
    for (what, damage, extra, code) in cases {
        let (ours, redis) = both(damage, extra);
        assert_eq!(redis.code, code, "{what}: redis {redis:?}");
        assert_eq!(ours, redis, "{what}");
    }
}

/// After a truncated load both servers left the same bytes on disk.
#[test]
fn truncation_offset_like_redis() {
    let mut sizes = Vec::new();
    for program in [env!("CARGO_BIN_EXE_cinnabar-server"), "redis-server"] {
        let d = temp_dir("trunc-offset");
        make_set(&d);
        append(
            "appendonly.aof.2.incr.aof",
            b"#TS:5\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1\r\n1\r\n*2\r\n$3",
        )(&d.join("appendonlydir"));
        let out = start(program, &d, &[]);
        assert_eq!(out.code, None, "{program}: {out:?}");
        sizes.push(std::fs::read(d.join("appendonlydir/appendonly.aof.2.incr.aof")).unwrap());
        let _ = std::fs::remove_dir_all(&d);
    }
    assert_eq!(
        String::from_utf8_lossy(&sizes[0]),
        String::from_utf8_lossy(&sizes[1])
    );
}
