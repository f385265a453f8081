//! `cinnabar-check-rdb` and `cinnabar-check-aof`: offline checkers for RDB files and AOF sets,
//! with the output and exit codes of Redis 7.0's `redis-check-rdb` / `redis-check-aof`.
//!
//! There is no second parser: the RDB check runs [`rdb_load::walk`] (the loader's own walk,
//! which builds every value and verifies the CRC) and only counts and prints what it reports;
//! the AOF check uses the AOF loader's command parser ([`aof::parse_command`]) and annotation
//! reader. So whatever the checkers accept, the server loads, and the other way round.
//!
//! The AOF check takes a manifest (multi-part, Redis 7) or one file (an old-style AOF, possibly
//! with an RDB preamble). It reports, per file, the last offset up to which the commands are
//! whole (`ok_up_to`; an unfinished MULTI counts as broken from its MULTI). `--fix` asks
//! before truncating the broken tail, and only the last file may be cut (a broken file in the
//! middle of a set cannot be repaired by truncation). `--truncate-to-timestamp T` cuts the last
//! file at the first `#TS:` annotation later than `T`.
//!
//! The functions take their output and input streams so tests can drive them in process; the
//! binaries in `src/bin/` pass stdout and stdin.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use super::aof::{self, Annotation};
use super::rdb_load::{self, Event};

/// Redis's names of RDB value types (as redis-check-rdb prints them).
fn type_name(t: u8) -> &'static str {
    const NAMES: [&str; 22] = [
        "string",
        "list-linked",
        "set-hashtable",
        "zset-v1",
        "hash-hashtable",
        "zset-v2",
        "module-pre-release",
        "module-value",
        "",
        "hash-zipmap",
        "list-ziplist",
        "set-intset",
        "zset-ziplist",
        "hash-ziplist",
        "quicklist",
        "stream",
        "hash-listpack",
        "zset-listpack",
        "quicklist-v2",
        "stream-v2",
        "set-listpack",
        "stream-v3",
    ];
    NAMES.get(t as usize).copied().unwrap_or("unknown")
}

/// Checks an RDB image, printing the report (after the "Checking RDB file" line, which the
/// caller prints before reading the file, as Redis does). Return value: the offset where the RDB ends, or
/// None when it is broken.
pub fn check_rdb_data(data: &[u8], allow_tail: bool, out: &mut dyn Write) -> Option<usize> {
    let now = crate::server::unix_ms();
    let lim = super::Limits::defaults();
    let (mut keys, mut expires, mut expired) = (0u64, 0u64, 0u64);
    let res = rdb_load::walk(data, &lim, allow_tail, &mut |off, ev| {
        match ev {
            Event::Aux(k, v) => {
                let _ = writeln!(
                    out,
                    "[offset {off}] AUX FIELD {} = '{}'",
                    String::from_utf8_lossy(&k),
                    String::from_utf8_lossy(&v)
                );
            }
            Event::SelectDb(id) => {
                let _ = writeln!(out, "[offset {off}] Selecting DB ID {id}");
            }
            Event::Key { expire, .. } => {
                keys += 1;
                if let Some(e) = expire {
                    expires += 1;
                    if e < now {
                        expired += 1;
                    }
                }
            }
            Event::EmptyKey(_) => keys += 1,
            Event::ResizeDb { .. } => {}
            Event::Function(_) => {}
        }
        Ok(())
    });
    let end = match res {
        Ok(end) => {
            if end.checksummed {
                let _ = writeln!(out, "[offset {}] Checksum OK", end.offset);
            } else {
                let _ = writeln!(out, "[offset {}] RDB checksum is disabled", end.offset);
            }
            let _ = writeln!(out, "[offset {}] \\o/ RDB looks OK! \\o/", end.offset);
            Some(end.offset)
        }
        Err(e) => {
            let msg = if rdb_load::is_short_read(&e.msg) {
                "Unexpected EOF reading RDB file".to_string()
            } else if e.doing == "check-sum" && e.msg.starts_with("Wrong RDB checksum") {
                "RDB CRC error".to_string()
            } else {
                e.msg.trim_end().to_string()
            };
            if e.key.is_some() && e.doing != "check-sum" {
                keys += 1; // the key whose value failed was read (as Redis counts it)
            }
            let _ = writeln!(out, "--- RDB ERROR DETECTED ---");
            let _ = writeln!(out, "[offset {}] {msg}", e.offset);
            let _ = writeln!(out, "[additional info] While doing: {}", e.doing);
            if e.doing != "check-sum" {
                if let Some(k) = &e.key {
                    let _ = writeln!(
                        out,
                        "[additional info] Reading key '{}'",
                        String::from_utf8_lossy(k)
                    );
                }
                if let Some(t) = e.typ {
                    let _ = writeln!(out, "[additional info] Reading type {t} ({})", type_name(t));
                }
            }
            None
        }
    };
    let _ = writeln!(out, "[info] {keys} keys read");
    let _ = writeln!(out, "[info] {expires} expires");
    let _ = writeln!(out, "[info] {expired} already expired");
    end
}

/// `cinnabar-check-rdb <file>`. Return value: the exit code (0 valid, 1 broken or unreadable).
pub fn check_rdb_main(args: &[String], out: &mut dyn Write) -> i32 {
    let [path] = args else {
        let _ = writeln!(out, "Usage: cinnabar-check-rdb <rdb-file-name>");
        return 1;
    };
    let _ = writeln!(out, "[offset 0] Checking RDB file {path}");
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(out, "Cannot open RDB file {path}: {e}");
            return 1;
        }
    };
    match check_rdb_data(&data, false, out) {
        Some(_) => 0,
        None => 1,
    }
}

/// Result of checking the RESP commands of one AOF file (or the tail after an RDB preamble).
struct RespCheck {
    /// Commands are whole up to here.
    ok_up_to: usize,
    /// The problem found (printed before the summary), if any.
    error: Option<String>,
    /// Offset of the first `#TS:` annotation later than the asked timestamp.
    ts_cut: Option<usize>,
}

fn check_resp(data: &[u8], start: usize, name: &str, ts: Option<i64>) -> RespCheck {
    let mut pos = start;
    let mut ok = start;
    let mut multi_start: Option<usize> = None;
    let mut ts_cut = None;
    let mut error = None;
    while pos < data.len() {
        match aof::annotation(data, pos) {
            Annotation::None => {}
            Annotation::Truncated => {
                error = Some(format!("0x{pos:16x}: Unexpected EOF reading an annotation"));
                break;
            }
            Annotation::Line { timestamp, next } => {
                if let (Some(limit), Some(t)) = (ts, timestamp) {
                    if t > limit && ts_cut.is_none() {
                        ts_cut = Some(pos);
                    }
                }
                pos = next;
                if multi_start.is_none() {
                    ok = pos;
                }
                continue;
            }
        }
        match aof::parse_command(data, pos) {
            Ok(Some((argv, next))) => {
                let cmd = argv.first().map(|a| crate::util::lower(a));
                match cmd.as_deref() {
                    Some("multi") => {
                        if multi_start.is_some() {
                            error = Some(format!("0x{pos:16x}: Unexpected MULTI"));
                            break;
                        }
                        multi_start = Some(pos);
                    }
                    Some("exec") => {
                        if multi_start.is_none() {
                            error = Some(format!("0x{pos:16x}: Unexpected EXEC"));
                            break;
                        }
                        multi_start = None;
                    }
                    _ => {}
                }
                pos = next;
                if multi_start.is_none() {
                    ok = pos;
                }
            }
            Ok(None) => {
                error = Some(format!("0x{pos:16x}: Unexpected EOF reading a command"));
                break;
            }
            Err(()) => {
                error = Some(format!("AOF {name} format error"));
                break;
            }
        }
    }
    if error.is_none() {
        if let Some(m) = multi_start {
            error = Some(format!(
                "0x{:16x}: Reached EOF before reading EXEC for MULTI",
                data.len()
            ));
            ok = m;
        }
    }
    RespCheck {
        ok_up_to: ok,
        error,
        ts_cut,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Check,
    Fix,
    Timestamp(i64),
}

/// What became of one file.
enum Outcome {
    Valid,
    /// Broken and not repaired (the message was printed).
    Broken,
    /// The user declined the fix.
    Aborted,
}

fn truncate_file(path: &Path, len: usize) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(len as u64)?;
    f.sync_all()
}

/// Checks one file of the set. `label` is how it is named in messages; `last`: it may be cut.
#[allow(clippy::too_many_arguments)]
fn check_aof_file(
    path: &Path,
    label: &str,
    kind: &str,
    last: bool,
    mode: Mode,
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> Outcome {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(out, "Cannot open file {}: {e}, aborting...", path.display());
            return Outcome::Broken;
        }
    };
    let mut start = 0;
    if data.starts_with(b"REDIS") {
        let _ = writeln!(out, "[offset 0] Checking RDB file {label}");
        match check_rdb_data(&data, true, out) {
            Some(end) => {
                let _ = writeln!(out, "RDB preamble is OK, proceeding with AOF tail...");
                start = end;
            }
            None => {
                let _ = writeln!(out, "RDB preamble of AOF file is not sane, aborting.");
                return Outcome::Broken;
            }
        }
    }
    let ts = match mode {
        Mode::Timestamp(t) => Some(t),
        _ => None,
    };
    let rc = check_resp(&data, start, label, ts);
    if let Mode::Timestamp(t) = mode {
        if let Some(msg) = &rc.error {
            let _ = writeln!(out, "{msg}");
            let _ = writeln!(
                out,
                "AOF {label} is not valid: fix it with --fix before truncating to a timestamp"
            );
            return Outcome::Broken;
        }
        match rc.ts_cut {
            None => {
                let _ = writeln!(out, "Truncate nothing in AOF {label} to timestamp {t}");
            }
            Some(_) if !last => {
                let _ = writeln!(
                    out,
                    "AOF {label} has timestamp annotations later than {t}, but only the last file of the set can be truncated"
                );
                return Outcome::Broken;
            }
            Some(cut) => {
                if let Err(e) = truncate_file(path, cut) {
                    let _ = writeln!(out, "Failed to truncate AOF {label} to timestamp {t}: {e}");
                    return Outcome::Broken;
                }
                let _ = writeln!(out, "Successfully truncated AOF {label} to timestamp {t}");
                return Outcome::Valid;
            }
        }
        let _ = writeln!(out, "{kind}{label} is valid");
        return Outcome::Valid;
    }
    let line = 1 + data[start..rc.ok_up_to]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    if let Some(msg) = &rc.error {
        let _ = writeln!(out, "{msg}");
    }
    let diff = data.len() - rc.ok_up_to;
    let _ = writeln!(
        out,
        "AOF analyzed: filename={label}, size={}, ok_up_to={}, ok_up_to_line={line}, diff={diff}",
        data.len(),
        rc.ok_up_to
    );
    if rc.error.is_none() && diff == 0 {
        let _ = writeln!(out, "{kind}{label} is valid");
        return Outcome::Valid;
    }
    if mode != Mode::Fix {
        let _ = writeln!(
            out,
            "{kind}{label} is not valid. Use the --fix option to try fixing it."
        );
        return Outcome::Broken;
    }
    if !last {
        let _ = writeln!(
            out,
            "{kind}{label} is not valid and is not the last file of the set: it can't be fixed by truncation"
        );
        return Outcome::Broken;
    }
    let _ = writeln!(
        out,
        "This will shrink the AOF {label} from {} bytes, with {diff} bytes, to {} bytes",
        data.len(),
        rc.ok_up_to
    );
    let _ = write!(out, "Continue? [y/N]: ");
    let _ = out.flush();
    let mut answer = String::new();
    let _ = input.read_line(&mut answer);
    if !answer.trim_start().starts_with(['y', 'Y']) {
        let _ = writeln!(out, "Aborting...");
        return Outcome::Aborted;
    }
    if let Err(e) = truncate_file(path, rc.ok_up_to) {
        let _ = writeln!(out, "Failed to truncate AOF {label}: {e}");
        return Outcome::Broken;
    }
    let _ = writeln!(out, "Successfully truncated AOF {label}");
    Outcome::Valid
}

fn usage(out: &mut dyn Write) -> i32 {
    let _ = writeln!(
        out,
        "Usage: cinnabar-check-aof [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>"
    );
    1
}

/// `cinnabar-check-aof [--fix|--truncate-to-timestamp ts] <file.manifest|file.aof>`.
/// Return value: the exit code (0: valid or repaired, 1 otherwise).
pub fn check_aof_main(args: &[String], out: &mut dyn Write, input: &mut dyn BufRead) -> i32 {
    let mut mode = Mode::Check;
    let mut file = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--fix" if mode == Mode::Check => mode = Mode::Fix,
            "--truncate-to-timestamp" if mode == Mode::Check => {
                i += 1;
                let Some(t) = args.get(i).and_then(|t| t.parse::<i64>().ok()) else {
                    return usage(out);
                };
                mode = Mode::Timestamp(t);
            }
            a if file.is_none() && !a.starts_with("--") => file = Some(PathBuf::from(a)),
            _ => return usage(out),
        }
        i += 1;
    }
    let Some(file) = file else {
        return usage(out);
    };
    let head = match std::fs::read(&file) {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(out, "Cannot open file {}: {e}, aborting...", file.display());
            return 1;
        }
    };
    let is_manifest = head.starts_with(b"file ")
        || file.extension().is_some_and(|e| e == "manifest") && !head.starts_with(b"*");
    if !is_manifest {
        let _ = writeln!(out, "Start checking Old-Style AOF");
        let label = file.display().to_string();
        return match check_aof_file(&file, &label, "AOF ", true, mode, out, input) {
            Outcome::Valid => 0,
            _ => 1,
        };
    }
    let _ = writeln!(out, "Start checking Multi Part AOF");
    let entries = match aof::parse_manifest(&head) {
        Ok(e) => e,
        Err(e) => {
            for l in e.log_lines() {
                let _ = writeln!(out, "{}", crate::log::tool_warning_line(&l));
            }
            return 1;
        }
    };
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let incrs: Vec<_> = entries.iter().filter(|e| e.kind == 'i').collect();
    let base = entries.iter().find(|e| e.kind == 'b');
    if let Some(b) = base {
        let rdb = b.name.ends_with(".rdb");
        let _ = writeln!(
            out,
            "Start to check BASE AOF ({} format).",
            if rdb { "RDB" } else { "AOF" }
        );
        match check_aof_file(
            &dir.join(&b.name),
            &b.name,
            "BASE AOF ",
            incrs.is_empty(),
            mode,
            out,
            input,
        ) {
            Outcome::Valid => {}
            _ => return 1,
        }
    }
    if !incrs.is_empty() {
        let _ = writeln!(out, "Start to check INCR files.");
    }
    for (i, e) in incrs.iter().enumerate() {
        let last = i + 1 == incrs.len();
        match check_aof_file(
            &dir.join(&e.name),
            &e.name,
            "INCR AOF ",
            last,
            mode,
            out,
            input,
        ) {
            Outcome::Valid => {}
            _ => return 1,
        }
    }
    let _ = writeln!(out, "All AOF files and manifest are valid");
    0
}
