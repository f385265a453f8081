//! Differential tests: the same commands to Cinnabar and to redis-server, replies compared.
//!
//! Case files live in `tests/cases/*.txt`. Each file runs on a fresh connection to each server
//! after `FLUSHALL`, in both RESP2 and RESP3 (unless it sets a protocol itself). One command per
//! line, written with inline-command quoting (`SET k "a b"`, `"\x00"` for binary). Lines:
//! - `CMD ...`          replies must be identical (after re-encoding both the same way);
//! - `@sort CMD ...`    replies compared as sorted arrays (KEYS, unordered results);
//! - `@type CMD ...`    only the reply type (and array length) must match (TIME, RANDOMKEY);
//! - `@any CMD ...`     sent to both, reply not compared (setup with unpredictable output);
//! - `@sleep MS`        pause (for TTL cases);
//! - `@read`            send nothing, read and compare one more frame (a RESP3 push that
//!   followed the previous reply), so the runner never sends ahead of what it has read: a
//!   server batches the commands that arrive together, and some pushes (BCAST invalidations)
//!   go out per batch;
//! - `@resp2-only` / `@resp3-only` as the first line: run the file in one protocol only;
//! - `# ...` and blank lines are ignored.
//!
//! Run a subset with `CASES=string cargo test --test it differential`.

use cinnabar_resp::Frame;

use super::harness::{show, start_cinnabar, start_redis, Conn};

fn normalize_sorted(f: Frame) -> Frame {
    match f {
        Frame::Array(mut v) | Frame::Set(mut v) => {
            v.sort_by_key(show);
            Frame::Array(v)
        }
        other => other,
    }
}

fn same_shape(a: &Frame, b: &Frame) -> bool {
    match (a, b) {
        (Frame::Array(x), Frame::Array(y)) => x.len() == y.len(),
        (Frame::Map(x), Frame::Map(y)) => x.len() == y.len(),
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// Runs one case file on fresh connections; returns the mismatches found.
fn run_file(name: &str, text: &str, ours: u16, theirs: u16, resp3: bool) -> Vec<String> {
    let mut failures = Vec::new();
    let mut a = Conn::connect(ours);
    let mut b = Conn::connect(theirs);
    for c in [&mut a, &mut b] {
        c.cmd("FLUSHALL");
        if resp3 {
            c.cmd("HELLO 3");
        }
    }
    // The previous file's connections must be gone (their subscriptions counted by PUBSUB
    // NUMSUB, their names in CLIENT LIST): wait until each server lists only this client.
    for c in [&mut a, &mut b] {
        for _ in 0..200 {
            match c.cmd("CLIENT LIST") {
                Frame::Bulk(list) | Frame::Verbatim(list)
                    if list.iter().filter(|&&ch| ch == b'\n').count() <= 1 =>
                {
                    break
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    }
    let proto = if resp3 { "RESP3" } else { "RESP2" };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("@resp") {
            continue;
        }
        if let Some(ms) = line.strip_prefix("@sleep ") {
            std::thread::sleep(std::time::Duration::from_millis(ms.trim().parse().unwrap()));
            continue;
        }
        if line == "@read" {
            let (ra, rb) = (a.read(), b.read());
            let (Some(ra), Some(rb)) = (ra, rb) else {
                failures.push(format!("{name}:{} [{proto}] @read: no frame", n + 1));
                return failures;
            };
            if ra != rb {
                failures.push(format!(
                    "{name}:{} [{proto}] @read\n    cinnabar: {}\n    redis:    {}",
                    n + 1,
                    show(&ra),
                    show(&rb)
                ));
            }
            continue;
        }
        let (mode, cmd) = match line.split_once(' ') {
            Some((m @ ("@sort" | "@type" | "@any"), rest)) => (m, rest),
            _ => ("", line),
        };
        let Some(argv) = cinnabar_resp::parse::split_args(cmd.as_bytes()) else {
            failures.push(format!("{name}:{}: unbalanced quotes in case line", n + 1));
            continue;
        };
        a.send(&argv);
        b.send(&argv);
        let (ra, rb) = (a.read(), b.read());
        let (Some(ra), Some(rb)) = (ra, rb) else {
            failures.push(format!(
                "{name}:{} [{proto}] `{cmd}`: connection closed (ours={:?})",
                n + 1,
                a.is_closed()
            ));
            return failures;
        };
        let equal = match mode {
            "@sort" => normalize_sorted(ra.clone()) == normalize_sorted(rb.clone()),
            "@type" => same_shape(&ra, &rb),
            "@any" => true,
            _ => ra == rb,
        };
        if !equal {
            failures.push(format!(
                "{name}:{} [{proto}] `{cmd}`\n    cinnabar: {}\n    redis:    {}",
                n + 1,
                show(&ra),
                show(&rb)
            ));
        }
    }
    failures
}

#[test]
fn differential_cases() {
    let filter = std::env::var("CASES").unwrap_or_default();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .filter(|p| filter.is_empty() || p.file_stem().unwrap().to_string_lossy().contains(&filter))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files matched {filter:?}");
    let ours = start_cinnabar(&[]);
    let theirs = start_redis(&[]);
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let first = text.lines().next().unwrap_or("").trim();
        if first != "@resp3-only" {
            failures.extend(run_file(&name, &text, ours.port, theirs.port, false));
        }
        if first != "@resp2-only" {
            failures.extend(run_file(&name, &text, ours.port, theirs.port, true));
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} differential mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
