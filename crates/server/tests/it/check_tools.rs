//! `cinnabar-check-rdb` and `cinnabar-check-aof` against files written by Cinnabar and by
//! redis-server: good files pass (exit 0), damaged ones fail (exit 1) with the place and the
//! reason, as `redis-check-rdb` / `redis-check-aof` report them; `--fix` truncates a broken
//! AOF tail only after a "y", and the repaired set loads.

use std::io::Write;
use std::process::{Command, Stdio};

use cinnabar_resp::Frame;

use super::harness::{show, start_cinnabar, start_redis, temp_dir, Conn};

const CHECK_RDB: &str = env!("CARGO_BIN_EXE_cinnabar-check-rdb");
const CHECK_AOF: &str = env!("CARGO_BIN_EXE_cinnabar-check-aof");

/// Runs a tool with `stdin` as input. Return value: (exit code, stdout).
fn run(tool: &str, args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn ok(f: Frame) {
    assert!(!matches!(f, Frame::Error(_)), "{}", show(&f));
}

fn fill(c: &mut Conn) {
    ok(c.cmd("SET s v"));
    ok(c.cmd("SET t v EX 1000"));
    ok(c.cmd("RPUSH l a b c"));
    ok(c.cmd("HSET h f v"));
    ok(c.cmd("ZADD z 1 a 2 b"));
    ok(c.cmd("SELECT 3"));
    ok(c.cmd("SADD set 1 2 3"));
    ok(c.cmd("SELECT 0"));
}

#[test]
fn check_rdb_good_and_broken_files() {
    let d = temp_dir("rdb");
    let ds = d.to_str().unwrap();
    for (who, file) in [("cinnabar", "ours.rdb"), ("redis", "theirs.rdb")] {
        let s = if who == "cinnabar" {
            start_cinnabar(&["--dir", ds, "--dbfilename", file])
        } else {
            start_redis(&["--dir", ds, "--dbfilename", file])
        };
        let mut c = Conn::connect(s.port);
        fill(&mut c);
        ok(c.cmd("SAVE"));
    }
    for file in ["ours.rdb", "theirs.rdb"] {
        let path = d.join(file);
        let p = path.to_str().unwrap();
        let (code, out) = run(CHECK_RDB, &[p], "");
        assert_eq!(code, 0, "{out}");
        assert!(
            out.starts_with(&format!("[offset 0] Checking RDB file {p}\n")),
            "{out}"
        );
        assert!(out.contains("AUX FIELD redis-ver = '7.0.15'"), "{out}");
        assert!(out.contains("] Selecting DB ID 3\n"), "{out}");
        assert!(out.contains("] Checksum OK\n"), "{out}");
        assert!(out.contains("\\o/ RDB looks OK! \\o/"), "{out}");
        assert!(
            out.contains("[info] 6 keys read\n[info] 1 expires\n[info] 0 already expired\n"),
            "{out}"
        );

        let good = std::fs::read(&path).unwrap();
        let bad = d.join(format!("bad-{file}"));
        let b = bad.to_str().unwrap();
        // A damaged checksum (the last byte): found at the end.
        let mut v = good.clone();
        *v.last_mut().unwrap() ^= 1;
        std::fs::write(&bad, &v).unwrap();
        let (code, out) = run(CHECK_RDB, &[b], "");
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(&format!("--- RDB ERROR DETECTED ---\n[offset {}] RDB CRC error\n[additional info] While doing: check-sum\n", good.len())), "{out}");
        assert_eq!(run("redis-check-rdb", &[b], "").0, 1);
        // Truncated inside a value: offset, key and type of the failure.
        std::fs::write(&bad, &good[..good.len() - 12]).unwrap();
        let (code, out) = run(CHECK_RDB, &[b], "");
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("Unexpected EOF reading RDB file"), "{out}");
        assert!(
            out.contains("[additional info] While doing: read-object-value"),
            "{out}"
        );
        assert!(out.contains("[additional info] Reading key '"), "{out}");
        assert_eq!(run("redis-check-rdb", &[b], "").0, 1);
        // A version we cannot read.
        let mut v = good.clone();
        v[5..9].copy_from_slice(b"0012");
        std::fs::write(&bad, &v).unwrap();
        let (code, out) = run(CHECK_RDB, &[b], "");
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("[offset 9] Can't handle RDB format version 12\n[additional info] While doing: start\n"), "{out}");
    }
    let (code, out) = run(CHECK_RDB, &[], "");
    assert_eq!((code, out.starts_with("Usage:")), (1, true));
    let (code, _) = run(CHECK_RDB, &[d.join("missing.rdb").to_str().unwrap()], "");
    assert_eq!(code, 1);
    let _ = std::fs::remove_dir_all(&d);
}

fn incr_file(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .unwrap()
}

#[test]
fn check_aof_multi_part_and_fix() {
    for who in ["cinnabar", "redis"] {
        let d = temp_dir(&format!("aof-{who}"));
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
            let s = if who == "cinnabar" {
                start_cinnabar(&args)
            } else {
                start_redis(&args)
            };
            let mut c = Conn::connect(s.port);
            fill(&mut c);
            ok(c.cmd("MULTI"));
            ok(c.cmd("INCR n"));
            ok(c.cmd("EXEC"));
        } // kill -9
        let manifest = d.join("appendonlydir/appendonly.aof.manifest");
        let m = manifest.to_str().unwrap();
        let (code, out) = run(CHECK_AOF, &[m], "");
        assert_eq!(code, 0, "{who}: {out}");
        assert!(out.starts_with("Start checking Multi Part AOF\nStart to check BASE AOF (RDB format).\n[offset 0] Checking RDB file"), "{out}");
        assert!(
            out.contains("RDB preamble is OK, proceeding with AOF tail..."),
            "{out}"
        );
        assert!(
            out.contains("INCR AOF appendonly.aof.1.incr.aof is valid"),
            "{out}"
        );
        assert!(
            out.ends_with("All AOF files and manifest are valid\n"),
            "{out}"
        );

        // A torn last command: reported, refused on "n", cut on "y".
        let incr = incr_file(&d);
        let good = std::fs::read(&incr).unwrap();
        let mut v = good.clone();
        v.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$5\r\nab");
        std::fs::write(&incr, &v).unwrap();
        let (code, out) = run(CHECK_AOF, &[m], "");
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!(
                "AOF analyzed: filename=appendonly.aof.1.incr.aof, size={}, ok_up_to={},",
                v.len(),
                good.len()
            )),
            "{out}"
        );
        assert!(
            out.contains("is not valid. Use the --fix option to try fixing it."),
            "{out}"
        );
        // The oracle prints the same report, line for line.
        let (rcode, rout) = run("redis-check-aof", &[m], "");
        assert_eq!((rcode, rout), (code, out.clone()));
        let (code, out) = run(CHECK_AOF, &["--fix", m], "n\n");
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("Continue? [y/N]: Aborting..."), "{out}");
        assert_eq!(std::fs::read(&incr).unwrap().len(), v.len());
        let (code, out) = run(CHECK_AOF, &["--fix", m], "y\n");
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(&format!("This will shrink the AOF appendonly.aof.1.incr.aof from {} bytes, with {} bytes, to {} bytes\nContinue? [y/N]: Successfully truncated AOF appendonly.aof.1.incr.aof\n", v.len(), v.len() - good.len(), good.len())), "{out}");
        assert_eq!(std::fs::read(&incr).unwrap(), good);
        assert_eq!(run("redis-check-aof", &[m], "").0, 0);

        // An unfinished MULTI counts as broken from the MULTI.
        let mut v = good.clone();
        v.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");
        std::fs::write(&incr, &v).unwrap();
        let (code, out) = run(CHECK_AOF, &[m], "");
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("Reached EOF before reading EXEC for MULTI"),
            "{out}"
        );
        assert!(out.contains(&format!("ok_up_to={},", good.len())), "{out}");
        let (code, _) = run(CHECK_AOF, &["--fix", m], "y\n");
        assert_eq!(code, 0);
        assert_eq!(std::fs::read(&incr).unwrap(), good);

        // The repaired set loads with aof-load-truncated no.
        {
            let s = start_cinnabar(&[
                "--appendonly",
                "yes",
                "--dir",
                ds,
                "--aof-load-truncated",
                "no",
            ]);
            let mut c = Conn::connect(s.port);
            assert_eq!(c.cmd("GET n"), Frame::Bulk(b"1".to_vec()), "{who}");
            assert_eq!(c.cmd("LLEN l"), Frame::Integer(3));
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}

#[test]
fn check_aof_single_files() {
    let d = temp_dir("single");
    let f = d.join("old.aof");
    let p = f.to_str().unwrap();
    std::fs::write(
        &f,
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n",
    )
    .unwrap();
    let (code, out) = run(CHECK_AOF, &[p], "");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, format!("Start checking Old-Style AOF\nAOF analyzed: filename={p}, size=50, ok_up_to=50, ok_up_to_line=13, diff=0\nAOF {p} is valid\n"));
    // Garbage where a command should start.
    std::fs::write(&f, b"*1\r\n$4\r\nPING\r\nhello\r\n").unwrap();
    let (code, out) = run(CHECK_AOF, &[p], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("AOF {p} format error\nAOF analyzed: filename={p}, size=21, ok_up_to=14, ok_up_to_line=4, diff=7\n")), "{out}");
    assert_eq!(run("redis-check-aof", &[p], "").0, 1);
    // An RDB preamble followed by commands (what a Redis 6 rewrite writes).
    {
        let s = start_cinnabar(&["--dir", d.to_str().unwrap(), "--dbfilename", "pre.aof"]);
        let mut c = Conn::connect(s.port);
        fill(&mut c);
        ok(c.cmd("SAVE"));
    }
    let f = d.join("pre.aof");
    let p = f.to_str().unwrap();
    let rdb_len = std::fs::metadata(&f).unwrap().len() as usize;
    let mut v = std::fs::read(&f).unwrap();
    v.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");
    std::fs::write(&f, &v).unwrap();
    let (code, out) = run(CHECK_AOF, &[p], "");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("[offset {rdb_len}] Checksum OK\n")),
        "{out}"
    );
    assert!(
        out.contains("RDB preamble is OK, proceeding with AOF tail...\n"),
        "{out}"
    );
    assert!(out.contains(&format!("ok_up_to={},", v.len())), "{out}");
    // A broken preamble stops the check.
    v[rdb_len - 1] ^= 1;
    std::fs::write(&f, &v).unwrap();
    let (code, out) = run(CHECK_AOF, &[p], "");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("RDB CRC error"), "{out}");
    assert!(
        out.ends_with("RDB preamble of AOF file is not sane, aborting.\n"),
        "{out}"
    );
    assert_eq!(run("redis-check-aof", &[p], "").0, 1);
    // As redis-check-aof: a lone --fix is taken for the file name.
    let (code, out) = run(CHECK_AOF, &["--fix"], "");
    assert_eq!(
        (code, out.as_str()),
        (1, "Cannot open file --fix: No such file or directory\n")
    );
    let (code, out) = run(CHECK_AOF, &["a", "b", "c", "d"], "");
    assert_eq!(
        (
            code,
            out.ends_with(" [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>\n")
        ),
        (1, true)
    );
    let _ = std::fs::remove_dir_all(&d);
}

/// Log-style lines (`pid:C 07 Dec 2026 23:17:13.682 # msg`) without pid and time.
fn mask_log_prefix(out: &str) -> String {
    out.lines()
        .map(|l| {
            let parts: Vec<&str> = l.splitn(6, ' ').collect();
            if parts.len() == 6 && parts[0].ends_with(":C") {
                format!("LOG {}", parts[5])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The same damaged sets and arguments given to cinnabar-check-aof and redis-check-aof: same
/// output, same exit code, same bytes left on disk.
#[test]
fn check_aof_matches_redis_check_aof() {
    let set = |b: &[u8]| -> Vec<u8> { b.to_vec() };
    let cmd_b = set(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n");
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("b.aof", set(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n")),
        (
            "ts.aof",
            [&b"#TS:100\r\n"[..], &cmd_b, b"#TS:200\r\n", &cmd_b].concat(),
        ),
        ("exec.aof", set(b"*1\r\n$4\r\nEXEC\r\n")),
        (
            "torn.aof",
            [&cmd_b[..], b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1"].concat(),
        ),
        (
            "torn2.aof",
            [&cmd_b[..], b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n1"].concat(),
        ),
        ("nocrlf.aof", set(b"*1\r\n$4\r\nPINGxx")),
        ("badstar.aof", [&cmd_b[..], b"*x\r\n"].concat()),
        ("prefix.aof", set(b"*1\r\nPING\r\n")),
        ("garbage.aof", [&cmd_b[..], b"hello"].concat()),
        (
            "multi2.aof",
            set(b"*1\r\n$5\r\nMULTI\r\n*1\r\n$5\r\nMULTI\r\n"),
        ),
        ("open.aof", [&b"*1\r\n$5\r\nMULTI\r\n"[..], &cmd_b].concat()),
        ("badts.aof", set(b"#TS:1x\r\n")),
        ("empty.aof", Vec::new()),
        ("zero.aof", set(b"*0\r\n")),
    ];
    let manifests: Vec<(&str, &str)> = vec![
        (
            "good.manifest",
            "file b.aof seq 1 type b\nfile ts.aof seq 1 type i\n",
        ),
        (
            "exec.manifest",
            "file b.aof seq 1 type b\nfile ts.aof seq 1 type i\nfile exec.aof seq 2 type i\n",
        ),
        (
            "torn.manifest",
            "file b.aof seq 1 type b\nfile torn.aof seq 1 type i\n",
        ),
        (
            "tornmid.manifest",
            "file b.aof seq 1 type b\nfile torn.aof seq 1 type i\nfile ts.aof seq 2 type i\n",
        ),
        (
            "empty-incr.manifest",
            "# c\nfile b.aof seq 1 type b\nfile empty.aof seq 1 type i\n",
        ),
        (
            "missing.manifest",
            "file b.aof seq 1 type b\nfile nope.aof seq 1 type i\n",
        ),
        ("bad.manifest", "file b.aof seq 1 type b\n\n"),
        (
            "dup.manifest",
            "file b.aof seq 1 type b\nfile b.aof seq 2 type b\n",
        ),
        ("comments.manifest", "# only\n"),
    ];
    let mut runs: Vec<Vec<&str>> = Vec::new();
    for (m, _) in &manifests {
        runs.push(vec![m]);
        runs.push(vec!["--fix", m]);
        runs.push(vec!["--truncate-to-timestamp", "150", m]);
    }
    for (f, _) in &files {
        runs.push(vec![f]);
        runs.push(vec!["--fix", f]);
        runs.push(vec!["--truncate-to-timestamp", "50", f]);
        runs.push(vec!["--truncate-to-timestamp", "150", f]);
    }
    runs.push(vec!["--truncate-to-timestamp", "1x", "good.manifest"]);
    runs.push(vec!["--truncate-to-timestamp", "0", "good.manifest"]);
    for args in runs {
        let mut seen = Vec::new();
        for tool in [CHECK_AOF, "redis-check-aof"] {
            let d = temp_dir("ckdiff");
            for (n, b) in &files {
                std::fs::write(d.join(n), b).unwrap();
            }
            for (n, t) in &manifests {
                std::fs::write(d.join(n), t).unwrap();
            }
            let mut full: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let last = full.len() - 1;
            full[last] = d.join(&full[last]).to_string_lossy().into_owned();
            let refs: Vec<&str> = full.iter().map(|s| s.as_str()).collect();
            let (code, out) = run(tool, &refs, "y\n");
            let left: Vec<(String, Vec<u8>)> = files
                .iter()
                .map(|(n, _)| (n.to_string(), std::fs::read(d.join(n)).unwrap()))
                .collect();
            let out = out.replace(d.to_str().unwrap(), "<dir>");
            seen.push((code, mask_log_prefix(&out), left));
            let _ = std::fs::remove_dir_all(&d);
        }
        assert_eq!(seen[0], seen[1], "{args:?}");
    }
}
