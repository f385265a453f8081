//! `cinnabar-check-rdb` and `cinnabar-check-aof`: offline checkers for RDB files and AOF sets,
//! with the output and exit codes of Redis 7.0's `redis-check-rdb` / `redis-check-aof`.
//!
//! The RDB check runs [`rdb_load::walk`] (the loader's own walk, which builds every value and
//! verifies the CRC) and only counts and prints what it reports. The AOF check reads commands
//! the way `redis-check-aof` does (its own, stricter rules than the server's loader: the
//! CRLF after each argument is checked, `*0` is fine), so offsets, line numbers and messages
//! match the original's.
//!
//! The AOF check takes a manifest (multi-part, Redis 7) or one file (an old-style AOF, possibly
//! with an RDB preamble). It reports, per file, the last offset up to which the commands are
//! whole (`ok_up_to`; an unfinished MULTI counts as broken from its MULTI). `--fix` asks
//! before truncating the broken tail, and only the last file of a set may be cut.
//! `--truncate-to-timestamp T` cuts the last file at the first `#TS:` annotation later than
//! `T`.
//!
//! The functions take their output and input streams so tests can drive them in process; the
//! binaries in `src/bin/` pass stdout and stdin.

use std::io::{BufRead, Write};
use std::path::Path;

use super::aof;
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
/// caller prints before reading the file, as Redis does). Return value: the offset where the
/// RDB ends, or the error when it is broken.
pub fn check_rdb_data(data: &[u8], allow_tail: bool, out: &mut dyn Write) -> Result<usize, String> {
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
            } else if end.version >= 5 {
                // A stored 0 (rdbchecksum no); files before version 5 have no checksum.
                let _ = writeln!(
                    out,
                    "[offset {}] RDB file was saved with checksum disabled: no check performed.",
                    end.offset
                );
            }
            let _ = writeln!(out, "[offset {}] \\o/ RDB looks OK! \\o/", end.offset);
            Ok(end.offset)
        }
        Err(e) => {
            let msg = if rdb_load::is_short_read(&e.msg) {
                "Unexpected EOF reading RDB file".to_string()
            } else if e.doing == "check-sum" && e.msg.starts_with("Wrong RDB checksum") {
                "RDB CRC error".to_string()
            } else {
                e.msg.trim_end().to_string()
            };
            // Redis names (and counts) the key only while its value is being read: the key
            // before a damaged type byte or key string is done with.
            let key = e.key.as_ref().filter(|_| e.doing == "read-object-value");
            if key.is_some() {
                keys += 1; // the key whose value failed was read (as Redis counts it)
            }
            let _ = writeln!(out, "--- RDB ERROR DETECTED ---");
            let _ = writeln!(out, "[offset {}] {msg}", e.offset);
            let _ = writeln!(out, "[additional info] While doing: {}", e.doing);
            if e.doing != "check-sum" {
                if let Some(k) = key {
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
            Err(e.msg)
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
        Ok(_) => 0,
        Err(e) => {
            // A corrupt value goes through Redis's rdbReportError, which ends the tool with
            // its "Terminating" log line.
            if rdb_load::is_corruption(&e) {
                let msg = "Terminating server after rdb file reading failure.";
                let _ = out
                    .write_all(crate::log::line('C', crate::log::Level::Warning, msg).as_bytes());
            }
            1
        }
    }
}

/// How one file of an AOF check ended (when the check goes on).
#[derive(Debug, PartialEq, Eq)]
enum Single {
    Valid,
    Empty,
    /// Cut at the first `#TS:` later than the asked timestamp.
    TimestampTruncated,
    /// Cut after its last whole command (`--fix`).
    Truncated,
}

/// The check stops: exit code 1 (everything to say was printed).
struct Stop;

/// `redis-check-aof`'s reading state. Like the original, the line counter runs on across the
/// files of a set, and reads mirror `fgets` / `fread`, so offsets, line numbers and messages
/// come out the same.
struct AofCheck<'a> {
    out: &'a mut dyn Write,
    input: &'a mut dyn BufRead,
    fix: bool,
    /// `--truncate-to-timestamp` (0: not asked, as in Redis).
    to_ts: i64,
    /// `ok_up_to_line`: 1 plus every `\r\n` consumed after a count or an argument.
    line: i64,
    // Per file:
    data: Vec<u8>,
    pos: usize,
    /// Where the last read started (errors are reported there).
    epos: usize,
    /// A read ran into the end of the file (`feof`).
    eof: bool,
    error: Option<String>,
}

impl AofCheck<'_> {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn set_error(&mut self, msg: String) {
        self.error = Some(format!("0x{:16x}: {msg}", self.epos));
    }

    /// `fgets(buf, size)`: up to `size - 1` bytes, through the first `\n`. None at the end.
    fn fgets(&mut self, size: usize) -> Option<Vec<u8>> {
        if self.pos >= self.data.len() {
            self.eof = true;
            return None;
        }
        let rest = &self.data[self.pos..];
        let max = rest.len().min(size - 1);
        let end = rest[..max]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(max, |i| i + 1);
        if end == rest.len() && rest[end - 1] != b'\n' {
            self.eof = true;
        }
        let line = rest[..end].to_vec();
        self.pos += end;
        Some(line)
    }

    /// The two bytes at `at` must be `\r\n` (a C string: a NUL ends it; missing bytes read
    /// as 0).
    fn consume_newline(&mut self, bytes: &[u8]) -> bool {
        let b0 = bytes.first().copied().unwrap_or(0);
        let b1 = if b0 == 0 {
            0
        } else {
            bytes.get(1).copied().unwrap_or(0)
        };
        if (b0, b1) != (b'\r', b'\n') {
            self.set_error(format!("Expected \\r\\n, got: {b0:02x}{b1:02x}"));
            return false;
        }
        self.line += 1;
        true
    }

    /// A `<prefix><number>\r\n` line. None: the file ended or the line is wrong.
    fn read_long(&mut self, prefix: u8) -> Option<i64> {
        self.epos = self.pos;
        let line = self.fgets(128)?;
        // C string functions see the line up to a NUL byte.
        let cstr = line.split(|&b| b == 0).next().unwrap_or(&[]);
        if cstr.first() != Some(&prefix) {
            let got = cstr.first().copied().unwrap_or(0) as char;
            self.set_error(format!(
                "Expected prefix '{}', got: '{got}'",
                prefix as char
            ));
            return None;
        }
        let (v, used, _) = crate::util::strtol(&cstr[1..]);
        let rest = cstr[1 + used..].to_vec();
        self.consume_newline(&rest).then_some(v)
    }

    /// `fread` of `len` bytes: all of them or an error.
    fn read_bytes(&mut self, len: usize) -> Option<Vec<u8>> {
        self.epos = self.pos;
        let real = len.min(self.data.len() - self.pos);
        let bytes = self.data[self.pos..self.pos + real].to_vec();
        self.pos += real;
        if real != len {
            self.eof = true;
            self.set_error(format!("Expected to read {len} bytes, got {real} bytes"));
            return None;
        }
        Some(bytes)
    }

    fn read_string(&mut self) -> Option<Vec<u8>> {
        let len = self.read_long(b'$')?;
        if !(0..=i64::MAX - 2).contains(&len) {
            self.set_error(format!(
                "Expected to read string of {len} bytes, which is not in the suitable range"
            ));
            return None;
        }
        let len = len as usize;
        // read_bytes copies only what the file holds, whatever length it claims.
        let mut bytes = self.read_bytes(len.saturating_add(2))?;
        let tail = bytes.split_off(len);
        self.consume_newline(&tail).then_some(bytes)
    }

    /// One command. False: it is broken (or the file ended inside it).
    fn process_resp(&mut self, path: &str, multi: &mut i64) -> bool {
        let Some(argc) = self.read_long(b'*') else {
            return false;
        };
        for i in 0..argc.max(0) {
            let Some(s) = self.read_string() else {
                return false;
            };
            if i == 0 {
                let name = s.split(|&b| b == 0).next().unwrap_or(&[]);
                if name.eq_ignore_ascii_case(b"multi") {
                    *multi += 1;
                    if *multi != 1 {
                        self.set_error(format!("Unexpected MULTI in AOF {path}"));
                        return false;
                    }
                } else if name.eq_ignore_ascii_case(b"exec") {
                    *multi -= 1;
                    if *multi != 0 {
                        self.set_error(format!("Unexpected EXEC in AOF {path}"));
                        return false;
                    }
                }
            }
        }
        true
    }

    /// An annotation line. Ok(false): the file was cut here (timestamp mode).
    fn process_annotation(&mut self, path: &str, last: bool) -> Result<bool, Stop> {
        self.epos = self.pos;
        let Some(line) = self.fgets(1024) else {
            self.say(&format!(
                "Failed to read annotations from AOF {path}, aborting..."
            ));
            return Err(Stop);
        };
        if self.to_ts == 0 || !line.starts_with(b"#TS:") {
            return Ok(true);
        }
        let cstr = line.split(|&b| b == 0).next().unwrap_or(&[]);
        let (ts, used, overflow) = crate::util::strtol(&cstr[4..]);
        if overflow || cstr.get(4 + used) != Some(&b'\r') {
            self.say("Invalid timestamp annotation");
            return Err(Stop);
        }
        if ts <= self.to_ts {
            return Ok(true);
        }
        let to = self.to_ts;
        if self.epos == 0 {
            self.say(&format!(
                "AOF {path} has nothing before timestamp {to}, aborting..."
            ));
            return Err(Stop);
        }
        if !last {
            self.say(&format!("Failed to truncate AOF {path} to timestamp {to} to offset {} because it is not the last file.", self.epos));
            self.say("If you insist, please delete all files after this file according to the manifest file and delete the corresponding records in manifest file manually. Then re-run redis-check-aof.");
            return Err(Stop);
        }
        if truncate_file(Path::new(path), self.epos).is_err() {
            self.say(&format!("Failed to truncate AOF {path} to timestamp {to}"));
            return Err(Stop);
        }
        Ok(false)
    }

    /// Checks one file: `name` is how reports name it, `path` where it is (and how errors
    /// name it); `last`: the only file that may be cut; `preamble`: it starts with an RDB.
    fn check_single(
        &mut self,
        name: &str,
        path: &str,
        last: bool,
        preamble: bool,
    ) -> Result<Single, Stop> {
        self.data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                self.say(&format!(
                    "Cannot open file {path}: {}, aborting...",
                    crate::config::strerror(&e)
                ));
                return Err(Stop);
            }
        };
        (self.pos, self.epos, self.eof, self.error) = (0, 0, false, None);
        if self.data.is_empty() {
            return Ok(Single::Empty);
        }
        if preamble {
            let _ = writeln!(self.out, "[offset 0] Checking RDB file {name}");
            let data = std::mem::take(&mut self.data);
            let end = check_rdb_data(&data, true, self.out);
            self.data = data;
            match end {
                Ok(end) => {
                    self.say("RDB preamble is OK, proceeding with AOF tail...");
                    self.pos = end;
                }
                Err(_) => {
                    self.say("RDB preamble of AOF file is not sane, aborting.");
                    return Err(Stop);
                }
            }
        }
        let mut multi = 0i64;
        let mut ok_up_to = self.pos;
        loop {
            if multi == 0 {
                ok_up_to = self.pos;
            }
            let Some(&c) = self.data.get(self.pos) else {
                self.eof = true;
                break;
            };
            match c {
                b'#' => {
                    if !self.process_annotation(path, last)? {
                        return Ok(Single::TimestampTruncated);
                    }
                }
                b'*' => {
                    if !self.process_resp(path, &mut multi) {
                        break;
                    }
                }
                _ => {
                    self.say(&format!("AOF {name} format error"));
                    break;
                }
            }
        }
        if self.eof && multi != 0 && self.error.is_none() {
            self.set_error("Reached EOF before reading EXEC for MULTI".into());
        }
        if let Some(e) = self.error.take() {
            self.say(&e);
        }
        let size = self.data.len();
        let diff = size - ok_up_to;
        if diff == 0 && self.to_ts != 0 {
            let to = self.to_ts;
            self.say(&format!("Truncate nothing in AOF {name} to timestamp {to}"));
            return Ok(Single::Valid);
        }
        let line = self.line;
        self.say(&format!("AOF analyzed: filename={name}, size={size}, ok_up_to={ok_up_to}, ok_up_to_line={line}, diff={diff}"));
        if diff == 0 {
            return Ok(Single::Valid);
        }
        if !self.fix {
            self.say(&format!(
                "AOF {name} is not valid. Use the --fix option to try fixing it."
            ));
            return Err(Stop);
        }
        if !last {
            self.say(&format!(
                "Failed to truncate AOF {name} because it is not the last file"
            ));
            return Err(Stop);
        }
        self.say(&format!("This will shrink the AOF {name} from {size} bytes, with {diff} bytes, to {ok_up_to} bytes"));
        let _ = write!(self.out, "Continue? [y/N]: ");
        let _ = self.out.flush();
        let mut answer = String::new();
        let _ = self.input.read_line(&mut answer);
        if !answer.starts_with(['y', 'Y']) {
            self.say("Aborting...");
            return Err(Stop);
        }
        if truncate_file(Path::new(path), ok_up_to).is_err() {
            self.say(&format!("Failed to truncate AOF {name}"));
            return Err(Stop);
        }
        Ok(Single::Truncated)
    }

    /// The line printed after a file of a set (or an old-style file) was checked.
    fn report(&mut self, what: &str, name: &str, res: Single) {
        let to = self.to_ts;
        let text = match res {
            Single::Valid => format!("{what}{name} is valid"),
            Single::Empty => format!("{what}{name} is empty"),
            Single::TimestampTruncated => {
                format!("Successfully truncated AOF {name} to timestamp {to}")
            }
            Single::Truncated => format!("Successfully truncated AOF {name}"),
        };
        self.say(&text);
    }
}

fn truncate_file(path: &Path, len: usize) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(len as u64)?;
    f.sync_all()
}

/// How `redis-check-aof` tells a manifest: a non-comment line (1024-byte `fgets` chunk)
/// starting with `file`. Err: it can't be read (the message was printed).
fn file_is_manifest(path: &str, out: &mut dyn Write) -> Result<bool, Stop> {
    let data = read_or_say(path, out)?;
    let mut pos = 0;
    let mut found = false;
    while pos < data.len() {
        let rest = &data[pos..];
        let max = rest.len().min(1024);
        let end = rest[..max]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(max, |i| i + 1);
        let chunk = &rest[..end];
        if chunk[0] != b'#' && chunk.starts_with(b"file") {
            found = true;
        }
        pos += end;
    }
    Ok(found)
}

/// An RDB (preamble or base): at least 8 bytes starting with `REDIS`.
fn file_is_rdb(path: &str, out: &mut dyn Write) -> Result<bool, Stop> {
    let data = read_or_say(path, out)?;
    Ok(data.len() >= 8 && data.starts_with(b"REDIS"))
}

fn read_or_say(path: &str, out: &mut dyn Write) -> Result<Vec<u8>, Stop> {
    std::fs::read(path).map_err(|e| {
        let _ = writeln!(
            out,
            "Cannot open file {path}: {}",
            crate::config::strerror(&e)
        );
        Stop
    })
}

/// `dirname(3)` of a path as given.
fn dirname(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        None => ".".to_string(),
        Some(0) => "/".to_string(),
        Some(i) => trimmed[..i].trim_end_matches('/').to_string(),
    }
}

/// `cinnabar-check-aof [--fix|--truncate-to-timestamp ts] <file.manifest|file.aof>`, with
/// `redis-check-aof`'s arguments, output and exit codes. `program` is the name usage shows.
/// Return value: the exit code (0: valid or repaired, 1 otherwise).
pub fn check_aof_main(
    program: &str,
    args: &[String],
    out: &mut dyn Write,
    input: &mut dyn BufRead,
) -> i32 {
    let usage = |out: &mut dyn Write| {
        let _ = writeln!(
            out,
            "Usage: {program} [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>"
        );
        1
    };
    let (file, fix, to_ts) = match args {
        [f] => (f.as_str(), false, 0),
        [flag, f] if flag == "--fix" => (f.as_str(), true, 0),
        [flag, ts, f] if flag == "--truncate-to-timestamp" => {
            let (v, used, overflow) = crate::util::strtol(ts.as_bytes());
            if overflow || used != ts.len() || ts.is_empty() {
                let _ = writeln!(out, "Invalid timestamp, aborting...");
                return 1;
            }
            (f.as_str(), false, v)
        }
        _ => return usage(out),
    };
    let mut ck = AofCheck {
        out,
        input,
        fix,
        to_ts,
        line: 1,
        data: Vec::new(),
        pos: 0,
        epos: 0,
        eof: false,
        error: None,
    };
    match check_aof(&mut ck, file) {
        Ok(()) => 0,
        Err(Stop) => 1,
    }
}

fn check_aof(ck: &mut AofCheck, file: &str) -> Result<(), Stop> {
    if !file_is_manifest(file, ck.out)? {
        let preamble = file_is_rdb(file, ck.out)?;
        ck.say("Start checking Old-Style AOF");
        let res = ck.check_single(file, file, true, preamble)?;
        ck.report("AOF ", file, res);
        return Ok(());
    }
    ck.say("Start checking Multi Part AOF");
    let text = read_or_say(file, ck.out)?;
    let entries = match aof::parse_manifest(&text) {
        Ok(e) => e,
        Err(e) => {
            for l in e.log_lines() {
                {
                    // `line` ends with the newline `say` adds itself.
                    let mut text = crate::log::line('C', crate::log::Level::Warning, &l);
                    text.pop();
                    ck.say(&text);
                }
            }
            return Err(Stop);
        }
    };
    let dir = dirname(file);
    let base = entries.iter().find(|e| e.kind == 'b');
    let incrs: Vec<_> = entries.iter().filter(|e| e.kind == 'i').collect();
    let total = incrs.len() + base.is_some() as usize;
    let mut n = 0;
    if let Some(b) = base {
        let path = format!("{dir}/{}", b.name);
        n += 1;
        let preamble = file_is_rdb(&path, ck.out)?;
        ck.say(&format!(
            "Start to check BASE AOF ({} format).",
            if preamble { "RDB" } else { "RESP" }
        ));
        let res = ck.check_single(&b.name, &path, n == total, preamble)?;
        ck.report("BASE AOF ", &b.name, res);
    }
    if !incrs.is_empty() {
        ck.say("Start to check INCR files.");
    }
    for e in incrs {
        let path = format!("{dir}/{}", e.name);
        n += 1;
        let res = ck.check_single(&e.name, &path, n == total, false)?;
        ck.report("INCR AOF ", &e.name, res);
    }
    ck.say("All AOF files and manifest are valid");
    Ok(())
}
