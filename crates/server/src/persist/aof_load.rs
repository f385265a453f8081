//! Loading the AOF set at start-up (and for DEBUG LOADAOF), with Redis 7.0's rules and log
//! lines (`loadAppendOnlyFiles` / `loadSingleAppendOnlyFile`).
//!
//! 1. The manifest must be one Redis accepts (`aof_manifest`), else the fatal block is logged.
//! 2. Every file it names must exist before anything loads ("Unable to obtain the AOF file ...
//!    length"): a set is loaded whole or not at all, never a partial dataset.
//! 3. The base (RDB, RDB + commands, or commands) and then each incr file are replayed through
//!    `cmd::call` with a detached client. Commands are read the way Redis reads them (`fgets`
//!    lines of at most 1023 bytes, `#` annotation lines skipped, `*<argc>` then `$<len>` lines,
//!    the two bytes after each argument skipped), so the same bytes are a format error, a
//!    truncation or fine in both servers.
//! 4. A file that ends inside a command (or inside MULTI) is truncated after its last whole
//!    command when `aof-load-truncated yes`, else start-up fails; a truncated file that is not
//!    the last of the set is fatal either way.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use super::aof::{self, Entry};
use crate::client::Client;
use crate::config::strerror;
use crate::server::Server;

/// How a single file loaded.
#[derive(Debug, PartialEq, Eq)]
enum Loaded {
    Ok,
    /// The file is empty (nothing was read).
    Empty,
    /// The file ended inside a command and was truncated after the last whole one.
    Truncated,
}

/// An error whose lines were already logged (the caller only exits).
pub const LOGGED: &str = "";

fn fail(msg: String) -> String {
    crate::warning!("{msg}");
    LOGGED.to_string()
}

/// Start-up with appendonly yes: load the AOF set if there is one, else create one from the
/// (empty) dataset. Then open it for appending.
pub fn load_at_startup(srv: &mut Server) -> Result<(), String> {
    let entries = match aof::read_manifest_checked(srv) {
        Ok(Some(e)) => e,
        Ok(None) => {
            upgrade_legacy(srv)?;
            aof::read_manifest(srv)?.unwrap_or_default()
        }
        Err(lines) => {
            for l in lines {
                crate::warning!("{l}");
            }
            return Err(LOGGED.to_string());
        }
    };
    if !entries.iter().any(|e| e.kind != 'h') {
        return create_fresh(srv);
    }
    let start = std::time::Instant::now();
    load_set(srv, &entries)?;
    crate::notice!(
        "DB loaded from append only file: {:.3} seconds",
        start.elapsed().as_secs_f64()
    );
    open_after_load(srv, entries)
}

/// DEBUG LOADAOF: write what is buffered, empty every db and load the set the manifest names
/// (also with appendonly off, as Redis keeps its manifest). Err: no set, or it did not load
/// (the caller exits, as Redis does).
pub fn debug_loadaof(srv: &mut Server) -> Result<(), String> {
    if srv.aof.is_some() {
        aof::flush(srv);
        aof::sync_now(srv);
    }
    for db in &mut srv.dbs {
        db.flush(false);
    }
    let entries = match aof::read_manifest_checked(srv) {
        Ok(Some(e)) if e.iter().any(|e| e.kind != 'h') => e,
        Ok(_) => return Err(LOGGED.to_string()),
        Err(lines) => {
            for l in lines {
                crate::warning!("{l}");
            }
            return Err(LOGGED.to_string());
        }
    };
    // The replayed commands must not be appended to the AOF again.
    let open = srv.aof.take();
    let res = load_set(srv, &entries);
    srv.aof = open;
    res?;
    srv.dirty = 0;
    crate::warning!("Append Only File loaded by DEBUG LOADAOF");
    Ok(())
}

/// No set yet: a base from the (empty) dataset and an empty incr file, as Redis creates them.
fn create_fresh(srv: &mut Server) -> Result<(), String> {
    aof::rewrite(srv)?;
    if let Some(a) = srv.aof.as_mut() {
        for e in &a.manifest {
            let what = if e.kind == 'b' { "base" } else { "incr" };
            crate::notice!("Creating AOF {what} file {} on server start", e.name);
        }
        // Not a rewrite in the INFO sense, and sizes count from here, as in Redis.
        a.base_size = 0;
        a.current_size = 0;
    }
    aof::REWRITES.store(0, Ordering::Relaxed);
    aof::LAST_REWRITE_SECS.store(-1, Ordering::Relaxed);
    Ok(())
}

/// Loads the base and incr files of `entries` into the dataset. Err: the reason was logged.
pub fn load_set(srv: &mut Server, entries: &[Entry]) -> Result<(), String> {
    let d = aof::dir(srv);
    let files: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.kind == 'b')
        .chain(entries.iter().filter(|e| e.kind == 'i'))
        .collect();
    // Sizes first: a file the manifest names but the disk lacks stops the load before
    // anything is loaded.
    let mut total = 0u64;
    for e in &files {
        match std::fs::metadata(d.join(&e.name)) {
            Ok(m) => total += m.len(),
            Err(err) => {
                return Err(fail(format!(
                    "Unable to obtain the AOF file {} length. stat: {}",
                    e.name,
                    strerror(&err)
                )))
            }
        }
    }
    if total == 0 {
        return Ok(());
    }
    super::loading::set_total(total);
    let truncated_ok = srv.config.get("aof-load-truncated") != Some("no");
    for (i, e) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let started = std::time::Instant::now();
        let res = load_file(srv, &d.join(&e.name), &e.name, truncated_ok)?;
        if res == Loaded::Ok || (res == Loaded::Truncated && last) {
            crate::notice!(
                "DB loaded from {} file {}: {:.3} seconds",
                if e.kind == 'b' { "base" } else { "incr" },
                e.name,
                started.elapsed().as_secs_f64()
            );
        }
        if res == Loaded::Truncated && !last {
            return Err(fail(
                "Fatal error: the truncated file is not the last file".into(),
            ));
        }
    }
    Ok(())
}

/// After a load: open the last incr file for appending (creating one if the set has none),
/// and drop history files, as Redis does on start.
fn open_after_load(srv: &mut Server, mut entries: Vec<Entry>) -> Result<(), String> {
    let d = aof::dir(srv);
    let mut changed = false;
    let last = match entries.iter().rfind(|e| e.kind == 'i') {
        Some(e) => {
            crate::notice!("Opening AOF incr file {} on server start", e.name);
            e.name.clone()
        }
        None => {
            let seq = 1;
            let name = format!("{}.{seq}.incr.aof", aof::base_name(srv));
            crate::notice!("Creating AOF incr file {name} on server start");
            entries.push(Entry {
                name: name.clone(),
                seq,
                kind: 'i',
            });
            changed = true;
            name
        }
    };
    let mut history = false;
    entries.retain(|e| {
        if e.kind == 'h' {
            crate::notice!("Removing the history file {} in the background", e.name);
            let _ = std::fs::remove_file(d.join(&e.name));
            history = true;
            return false;
        }
        true
    });
    if changed || history {
        aof::write_manifest(srv, &entries)
            .map_err(|e| format!("Can't persist the AOF manifest: {}", strerror(&e)))?;
    }
    let path = d.join(&last);
    let file = aof::open_append(&path)
        .map_err(|e| format!("Can't open the append-only file {last}: {}", strerror(&e)))?;
    let total: u64 = entries
        .iter()
        .map(|e| aof::file_size(&d.join(&e.name)))
        .sum();
    let mut st = aof::open_state(srv, file, entries, 0);
    st.base_size = total;
    st.current_size = total;
    srv.aof = Some(Box::new(st));
    Ok(())
}

/// A Redis 6 single-file AOF (`dir/appendfilename`) and no manifest: move it into the AOF
/// directory as the base and write a manifest with a fresh incr file, as Redis 7 does.
fn upgrade_legacy(srv: &mut Server) -> Result<(), String> {
    let name = aof::base_name(srv);
    let legacy = PathBuf::from(&name);
    if !legacy.is_file() {
        return Ok(());
    }
    let d = aof::dir(srv);
    let io = |e: std::io::Error| format!("Can't upgrade the old AOF file {name}: {e}");
    std::fs::create_dir_all(&d).map_err(io)?;
    let incr = format!("{name}.1.incr.aof");
    File::create(d.join(&incr)).map_err(io)?;
    std::fs::rename(&legacy, d.join(&name)).map_err(io)?;
    let entries = vec![
        Entry {
            name: name.clone(),
            seq: 1,
            kind: 'b',
        },
        Entry {
            name: incr,
            seq: 1,
            kind: 'i',
        },
    ];
    aof::write_manifest(srv, &entries).map_err(io)?;
    crate::notice!("Successfully migrated an old-style AOF into the AOF directory");
    Ok(())
}

/// Loads one file of the set (`name` is how logs name it). Err: the reason was logged.
fn load_file(
    srv: &mut Server,
    path: &Path,
    name: &str,
    truncated_ok: bool,
) -> Result<Loaded, String> {
    let data = match super::MappedFile::open(path) {
        Ok(d) => d,
        Err(e) => {
            return Err(fail(format!(
                "Fatal error: can't open the append log file {name} for reading: {}",
                strerror(&e)
            )))
        }
    };
    if data.is_empty() {
        return Ok(Loaded::Empty);
    }
    let mut start = 0;
    if data.starts_with(b"REDIS") {
        let old_style = name == aof::base_name(srv);
        if old_style {
            crate::notice!("Reading RDB preamble from AOF file...");
        } else {
            crate::notice!("Reading RDB base file on AOF loading...");
        }
        let (_, end) = super::rdb_load::load_dataset_with(srv, &data, true)?;
        if old_style {
            crate::notice!("Reading the remaining AOF tail...");
        }
        start = end;
    }
    let res = replay(srv, &data, start, path, name, truncated_ok);
    super::loading::file_done(data.len() as u64);
    res
}

/// How reading the commands of a file stopped.
enum Stop {
    /// At the end of the data, after a whole command.
    End,
    /// The data ends inside a command (or inside MULTI): the last whole command ends at the
    /// offset.
    Eof(usize),
    /// Not the AOF format.
    Format,
}

/// `fgets(buf, 1024, fp)`: at most 1023 bytes, through the first `\n`. None at the end.
fn fgets(data: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    if pos >= data.len() {
        return None;
    }
    let rest = &data[pos..];
    let max = rest.len().min(1023);
    let end = rest[..max]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(max, |i| i + 1);
    Some((&rest[..end], pos + end))
}

/// `strtol`/`atoi` on a count line: optional sign and digits (saturating).
fn leading_int(s: &[u8]) -> i64 {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &d in digits.iter().take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add((d - b'0') as i64);
    }
    if neg {
        -n
    } else {
        n
    }
}

/// One command at `pos`, read as Redis's loader reads it (annotation lines before it are
/// skipped). Ok(Some): the arguments and the offset after them; Ok(None): only annotations
/// were left; Err(false): the data ends inside the command; Err(true): a format error.
#[allow(clippy::type_complexity)]
fn read_command(data: &[u8], mut pos: usize) -> Result<Option<(Vec<Vec<u8>>, usize)>, bool> {
    let line = loop {
        let Some((line, next)) = fgets(data, pos) else {
            return Ok(None);
        };
        pos = next;
        if line[0] != b'#' {
            break line;
        }
    };
    if line[0] != b'*' {
        return Err(true);
    }
    if line.len() == 1 {
        return Err(false);
    }
    let argc = leading_int(&line[1..]);
    if argc < 1 || argc > i32::MAX as i64 {
        return Err(true);
    }
    // The count is the file's claim: reserve no more than the bytes left could hold.
    let mut argv = Vec::with_capacity((argc as usize).min((data.len() - pos) / 4 + 1));
    for _ in 0..argc {
        let Some((l, next)) = fgets(data, pos) else {
            return Err(false);
        };
        if l[0] != b'$' {
            return Err(true);
        }
        let len = leading_int(&l[1..]);
        if len < 0 {
            return Err(true);
        }
        let len = len as usize;
        let arg_end = next.saturating_add(len);
        // The two bytes after the argument (CRLF) are skipped unread, as Redis does.
        if arg_end.saturating_add(2) > data.len() {
            return Err(false);
        }
        argv.push(data[next..arg_end].to_vec());
        pos = arg_end + 2;
    }
    Ok(Some((argv, pos)))
}

/// Runs the commands of `data[start..]` (one file). Err: the reason was logged.
fn replay(
    srv: &mut Server,
    data: &[u8],
    start: usize,
    path: &Path,
    name: &str,
    truncated_ok: bool,
) -> Result<Loaded, String> {
    let mut client = Client::detached(crate::client::AOF_LOADER_ID);
    client.authenticated = true;
    // Blocking commands must not block the loading client (they act as inside EXEC).
    client.in_exec = true;
    // Keys do not expire while loading (as in Redis): the file holds absolute times, and a
    // command that once saw a key alive must see it alive again. A clock at 1 ms does that.
    let saved_clock = srv.clock_override.replace(1);
    let stop = replay_commands(srv, &mut client, data, start, name);
    srv.clock_override = saved_clock;
    srv.update_clock();
    match stop? {
        Stop::End => Ok(Loaded::Ok),
        Stop::Format => Err(fail(format!(
            "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
        ))),
        Stop::Eof(valid_up_to) => {
            if truncated_ok {
                crate::warning!("!!! Warning: short read while loading the AOF file {name}!!!");
                crate::warning!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!");
                let res = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|f| f.set_len(valid_up_to as u64).and_then(|_| f.sync_all()));
                match res {
                    Ok(()) => {
                        crate::warning!(
                            "AOF {name} loaded anyway because aof-load-truncated is enabled"
                        );
                        return Ok(Loaded::Truncated);
                    }
                    Err(e) => crate::warning!(
                        "Error truncating the AOF file {name}: {}",
                        strerror(&e)
                    ),
                }
            }
            Err(fail(format!("Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.")))
        }
    }
}

fn replay_commands(
    srv: &mut Server,
    client: &mut Client,
    data: &[u8],
    start: usize,
    name: &str,
) -> Result<Stop, String> {
    let mut pos = start;
    let mut valid_up_to = start;
    let mut valid_before_multi = start;
    let mut in_multi = false;
    loop {
        let (argv, next) = match read_command(data, pos) {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(true) => return Ok(Stop::Format),
            Err(false) => {
                // Inside MULTI too, Redis cuts after the last whole command (the queued
                // commands never run; the next load reverts the unfinished MULTI).
                if in_multi {
                    discard(srv, client);
                }
                return Ok(Stop::Eof(valid_up_to));
            }
        };
        pos = next;
        if crate::cmd::table().get(&argv[0]).is_none() {
            return Err(fail(format!(
                "Unknown command '{}' reading the append only file {name}",
                String::from_utf8_lossy(&argv[0])
            )));
        }
        match crate::util::lower(&argv[0]).as_str() {
            "multi" => {
                valid_before_multi = valid_up_to;
                in_multi = true;
            }
            "exec" | "discard" => in_multi = false,
            _ => {}
        }
        client.reply.buf.clear();
        crate::cmd::call(srv, client, &argv);
        client.reply.buf.clear();
        super::loading::tick(srv, pos as u64);
        valid_up_to = pos;
    }
    if in_multi {
        // An unfinished transaction: dropped, and the file cut before its MULTI.
        crate::warning!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
        discard(srv, client);
        return Ok(Stop::Eof(valid_before_multi));
    }
    Ok(Stop::End)
}

fn discard(srv: &mut Server, client: &mut Client) {
    client.reply.buf.clear();
    crate::cmd::call(srv, client, &[b"DISCARD".to_vec()]);
    client.reply.buf.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_redis() {
        let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let (argv, end) = read_command(set, 0).unwrap().unwrap();
        assert_eq!(argv.len(), 3);
        assert_eq!(end, set.len());
        // Annotations are skipped, also without CRLF at the end.
        assert!(read_command(b"#TS:1\r\n#x", 0).unwrap().is_none());
        // The bytes after an argument are not checked (Redis skips them).
        assert!(read_command(b"*1\r\n$4\r\nPINGxx", 0).unwrap().is_some());
        for (t, fmt) in [
            (&b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1"[..], false),
            (b"*3", false),
            (b"*", false),
            (b"*1\r\n$x\r\n", false),
            (b"*0\r\n", true),
            (b"*x\r\n", true),
            (b"xx", true),
            (b"*1\r\nPING\r\n", true),
        ] {
            assert_eq!(read_command(t, 0), Err(fmt), "{t:?}");
        }
    }
}
