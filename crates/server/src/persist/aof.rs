//! Append-only file, Redis 7 multi-part layout.
//!
//! `dir/appenddirname` holds a base file (`<name>.<seq>.base.rdb`, an RDB snapshot, or
//! `.base.aof`, RESP commands), incremental files (`<name>.<seq>.incr.aof`, RESP commands
//! appended after every write) and the manifest `<name>.manifest` listing them, so Redis 7.0
//! and we can load each other's directories.
//!
//! Write path: `cmd::call` hands every successful write command (the `write` flag plus a
//! change of `srv.dirty`, or `srv.force_propagate` for FLUSHDB, which Redis always
//! propagates) to [`feed`]. It logs what Redis 7.0 propagates: relative expiry made absolute
//! (PEXPIREAT, SET ... PXAT), GETDEL as DEL, GETSET as SET, INCRBYFLOAT / HINCRBYFLOAT as
//! the SET / HSET of the new value, SPOP as SREMs (DEL when it emptied the set), blocking pops
//! and LMPOP/ZMPOP as the plain pop they did; it emits SELECT when the db changes and wraps
//! EXEC bodies (and multi-command effects) in MULTI/EXEC; expired keys are logged as DEL. The RESP bytes collect in a buffer; [`flush`]
//! writes it to the incr file after each connection batch. With `appendfsync always` a
//! connection about to send replies while written data is unsynced yields once (so other
//! ready connections write their batches too), then [`sync_now`] fsyncs them all at once:
//! group commit. `everysec` leaves the fsync to a once-a-second thread; `no` to the kernel.
//!
//! With `aof-timestamp-enabled yes`, a `#TS:<unix secs>` annotation line precedes the first
//! command of each new second (one clock for the process, as Redis's) and opens a RESP base;
//! loading skips annotation lines (`#...`). DEBUG AOF-FLUSH-SLEEP sleeps before each write.
//!
//! The manifest is read and written by `aof_manifest`; loading (start-up, DEBUG LOADAOF) is
//! `aof_load`.
//!
//! BGREWRITEAOF and auto rewrite (`auto-aof-rewrite-percentage` / `-min-size`) fork: writes
//! move to a new incr file at once, the child writes a new base from its snapshot, and cron
//! swaps the manifest (temp file + rename) to the new base plus the new incr files, then deletes
//! the old ones. Creating the set at start-up and CONFIG SET appendonly yes use the synchronous
//! [`rewrite`] (the dataset is written on the event loop, as small sets are the common case).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use crate::client::Client;
use crate::server::Server;

/// Completed rewrites (INFO aof_rewrites).
pub static REWRITES: AtomicU64 = AtomicU64::new(0);
/// Seconds the last rewrite took (-1: none).
pub static LAST_REWRITE_SECS: AtomicI64 = AtomicI64::new(-1);
/// DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write of a non-empty AOF buffer.
pub static FLUSH_SLEEP_US: AtomicU64 = AtomicU64::new(0);
/// Whether the last write to the AOF worked.
pub static LAST_WRITE_OK: AtomicBool = AtomicBool::new(true);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

pub use super::aof_manifest::{manifest_text, parse_manifest, Entry};

/// Open AOF state (present while appendonly is on).
pub struct Aof {
    pub buf: Vec<u8>,
    file: File,
    /// Db of the last command written (None: next command emits SELECT).
    pub db: Option<usize>,
    /// A MULTI was emitted for the running EXEC.
    pub multi_open: bool,
    pub fsync: Fsync,
    /// Set when data was written but not fsynced (for the everysec thread).
    pending: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    pub manifest: Vec<Entry>,
    /// Size of the AOF (base + incr) at the last rewrite, and now.
    pub base_size: u64,
    pub current_size: u64,
    /// Bytes written to the current file, and how many of them are known fsynced
    /// (`appendfsync always` group commit).
    written: u64,
    synced: u64,
}

/// Unix second of the last `#TS:` annotation written (`aof-timestamp-enabled`). Process-wide,
/// like Redis's `aof_cur_timestamp`: a new incr file opened by a rewrite gets no annotation
/// until the second changes.
static LAST_TS: AtomicI64 = AtomicI64::new(0);

fn timestamps_on(srv: &Server) -> bool {
    srv.config.get("aof-timestamp-enabled") == Some("yes")
}

/// With `aof-timestamp-enabled yes`: a `#TS:<unix secs>` line before the first command of
/// each new second, as Redis writes (the loader skips it; `cinnabar-check-aof
/// --truncate-to-timestamp` cuts there).
fn annotate(srv: &mut Server) {
    if !timestamps_on(srv) {
        return;
    }
    let now = srv.now_ms / 1000;
    if let Some(aof) = srv.aof.as_mut() {
        if now > LAST_TS.load(Ordering::Relaxed) {
            aof.buf
                .extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
            LAST_TS.store(now, Ordering::Relaxed);
        }
    }
}

impl Drop for Aof {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub(super) fn dir(srv: &Server) -> PathBuf {
    PathBuf::from(srv.config.get("appenddirname").unwrap_or("appendonlydir"))
}

pub(super) fn base_name(srv: &Server) -> String {
    srv.config
        .get("appendfilename")
        .unwrap_or("appendonly.aof")
        .to_string()
}

fn fsync_policy(srv: &Server) -> Fsync {
    match srv.config.get("appendfsync") {
        Some("always") => Fsync::Always,
        Some("no") => Fsync::No,
        _ => Fsync::EverySec,
    }
}

pub fn enabled_in_config(srv: &Server) -> bool {
    srv.config.get("appendonly") == Some("yes")
}

/// RESP encoding of one command.
pub fn encode(out: &mut Vec<u8>, argv: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn lower(a: &[u8]) -> String {
    crate::util::lower(a)
}

/// Appends the effect of a write command that just ran for `client` to the AOF buffer.
/// `reply_start`: where this command's reply begins in the client's reply buffer (SPOP is
/// logged as SREM of the members it returned).
pub fn feed(srv: &mut Server, client: &Client, name: &str, argv: &[Vec<u8>], reply_start: usize) {
    let db = client.db;
    let now = srv.now_ms;
    let expire_of = |srv: &Server, key: &[u8]| srv.dbs[db].expire_at(key);
    let exists = |srv: &Server, key: &[u8]| srv.dbs[db].peek(key, i64::MIN).is_some();
    // Rewritten forms of commands whose replay would differ (relative times).
    let mut cmds: Vec<Vec<Vec<u8>>> = Vec::new();
    match name {
        "expire" | "pexpire" | "expireat" | "pexpireat" | "getex" if argv.len() >= 2 => {
            let key = &argv[1];
            let persist = name == "getex" && argv[2..].iter().any(|a| lower(a) == "persist");
            if name == "getex" && persist {
                cmds.push(vec![b"PERSIST".to_vec(), key.clone()]);
            } else if let Some(at) = expire_of(srv, key) {
                cmds.push(vec![
                    b"PEXPIREAT".to_vec(),
                    key.clone(),
                    at.to_string().into_bytes(),
                ]);
            } else if !exists(srv, key) {
                cmds.push(vec![b"DEL".to_vec(), key.clone()]);
            } else if name != "getex" {
                cmds.push(argv.to_vec());
            }
        }
        "setex" | "psetex" if argv.len() == 4 => {
            let key = &argv[1];
            match expire_of(srv, key) {
                Some(at) => cmds.push(vec![
                    b"SET".to_vec(),
                    key.clone(),
                    argv[3].clone(),
                    b"PXAT".to_vec(),
                    at.to_string().into_bytes(),
                ]),
                None => cmds.push(vec![b"DEL".to_vec(), key.clone()]),
            }
        }
        "set" if argv.len() > 3 => {
            let key = &argv[1];
            let mut out = vec![b"SET".to_vec(), key.clone(), argv[2].clone()];
            let mut i = 3;
            let mut had_ttl = false;
            while i < argv.len() {
                let o = lower(&argv[i]);
                match o.as_str() {
                    "ex" | "px" | "exat" | "pxat" => {
                        had_ttl = true;
                        i += 2;
                    }
                    "get" => i += 1,
                    _ => {
                        out.push(argv[i].clone());
                        i += 1;
                    }
                }
            }
            if had_ttl {
                match expire_of(srv, key) {
                    Some(at) => {
                        out.push(b"PXAT".to_vec());
                        out.push(at.to_string().into_bytes());
                    }
                    None if !exists(srv, key) => {
                        out = vec![b"DEL".to_vec(), key.clone()];
                    }
                    None => {}
                }
            }
            cmds.push(out);
        }
        "spop" if argv.len() >= 2 => {
            let members = reply_strings(reply_of(client, reply_start));
            if argv.len() > 2 && !exists(srv, &argv[1]) {
                // The whole set was popped: Redis propagates a DEL (UNLINK with lazy free).
                cmds.push(vec![del_name(srv), argv[1].clone()]);
            } else {
                for m in members {
                    cmds.push(vec![b"SREM".to_vec(), argv[1].clone(), m]);
                }
            }
        }
        "getdel" if argv.len() == 2 => cmds.push(vec![b"DEL".to_vec(), argv[1].clone()]),
        "getset" if argv.len() == 3 => {
            cmds.push(vec![b"SET".to_vec(), argv[1].clone(), argv[2].clone()])
        }
        // The new value, not the increment: float formatting must not differ on replay.
        "incrbyfloat" if argv.len() == 3 => {
            if let Some(v) = reply_strings(reply_of(client, reply_start)).pop() {
                cmds.push(vec![
                    b"SET".to_vec(),
                    argv[1].clone(),
                    v,
                    b"KEEPTTL".to_vec(),
                ]);
            }
        }
        "hincrbyfloat" if argv.len() == 4 => {
            if let Some(v) = reply_strings(reply_of(client, reply_start)).pop() {
                cmds.push(vec![b"HSET".to_vec(), argv[1].clone(), argv[2].clone(), v]);
            }
        }
        // Blocking pops are logged as the pop they did (Redis never replays a blocking form).
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            if let Some(key) = reply_strings(reply_of(client, reply_start))
                .into_iter()
                .next()
            {
                let pop: &[u8] = match name {
                    "blpop" => b"LPOP",
                    "brpop" => b"RPOP",
                    "bzpopmin" => b"ZPOPMIN",
                    _ => b"ZPOPMAX",
                };
                cmds.push(vec![pop.to_vec(), key]);
            }
        }
        "blmove" if argv.len() == 6 => {
            let mut out = argv[..5].to_vec();
            out[0] = b"LMOVE".to_vec();
            cmds.push(out);
        }
        "brpoplpush" if argv.len() == 4 => cmds.push(vec![
            b"RPOPLPUSH".to_vec(),
            argv[1].clone(),
            argv[2].clone(),
        ]),
        "lmpop" | "blmpop" | "zmpop" | "bzmpop" => {
            use cinnabar_resp::Frame;
            if let Ok(Some((Frame::Array(v), _))) = Frame::parse(reply_of(client, reply_start)) {
                let popped = match v.get(1) {
                    Some(Frame::Array(items)) => Some(items.len()),
                    Some(Frame::Map(items)) => Some(items.len()),
                    _ => None,
                };
                if let (Some(Frame::Bulk(key)), Some(n)) = (v.first(), popped) {
                    let dir = argv
                        .iter()
                        .map(|a| lower(a))
                        .find(|a| matches!(a.as_str(), "left" | "right" | "min" | "max"));
                    let pop: &[u8] = match dir.as_deref() {
                        Some("left") => b"LPOP",
                        Some("right") => b"RPOP",
                        Some("min") => b"ZPOPMIN",
                        _ => b"ZPOPMAX",
                    };
                    cmds.push(vec![pop.to_vec(), key.clone(), n.to_string().into_bytes()]);
                }
            }
        }
        "restore" | "restore-asking" if argv.len() >= 4 => {
            // A relative TTL becomes absolute.
            let abs = argv[4..].iter().any(|a| lower(a) == "absttl");
            let mut out = argv.to_vec();
            if !abs {
                if let Some(at) = expire_of(srv, &argv[1]) {
                    out[2] = at.to_string().into_bytes();
                    out.push(b"ABSTTL".to_vec());
                }
            }
            cmds.push(out);
        }
        _ => cmds.push(argv.to_vec()),
    }
    let _ = now;
    let in_exec = client.in_exec;
    // Several commands for one (SPOP's SREMs) go in a transaction, as Redis wraps them.
    let wrap = cmds.len() > 1 && !in_exec;
    annotate(srv);
    let Some(aof) = srv.aof.as_mut() else {
        return;
    };
    if in_exec && !aof.multi_open {
        encode(&mut aof.buf, &[b"MULTI"]);
        aof.multi_open = true;
    }
    if aof.db != Some(db) && !matches!(name, "flushall" | "select") {
        let d = db.to_string();
        encode(&mut aof.buf, &[b"SELECT", d.as_bytes()]);
        aof.db = Some(db);
    }
    if wrap {
        encode(&mut aof.buf, &[b"MULTI"]);
    }
    for c in &cmds {
        let refs: Vec<&[u8]> = c.iter().map(|a| a.as_slice()).collect();
        encode(&mut aof.buf, &refs);
    }
    if wrap {
        encode(&mut aof.buf, &[b"EXEC"]);
    }
}

/// The reply this command wrote so far.
fn reply_of(client: &Client, reply_start: usize) -> &[u8] {
    client.reply.buf.get(reply_start..).unwrap_or(&[])
}

/// The bulk strings of a reply (one bulk, or the bulks of an array/set), in order.
fn reply_strings(reply: &[u8]) -> Vec<Vec<u8>> {
    use cinnabar_resp::Frame;
    match cinnabar_resp::Frame::parse(reply) {
        Ok(Some((Frame::Bulk(b), _))) => vec![b],
        Ok(Some((Frame::Array(v) | Frame::Set(v), _))) => v
            .into_iter()
            .filter_map(|m| match m {
                Frame::Bulk(b) => Some(b),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// DEL, or UNLINK when `lazyfree-lazy-server-del yes` (how Redis propagates a server delete).
fn del_name(srv: &Server) -> Vec<u8> {
    if srv.config.get("lazyfree-lazy-server-del") == Some("yes") {
        b"UNLINK".to_vec()
    } else {
        b"DEL".to_vec()
    }
}

/// Logs the deletion of an expired key (as Redis propagates a DEL), so a replay, which never
/// expires keys, ends in the same state.
pub fn log_del(srv: &mut Server, db: usize, key: &[u8]) {
    annotate(srv);
    let Some(aof) = srv.aof.as_mut() else {
        return;
    };
    if aof.db != Some(db) {
        let d = db.to_string();
        encode(&mut aof.buf, &[b"SELECT", d.as_bytes()]);
        aof.db = Some(db);
    }
    encode(&mut aof.buf, &[b"DEL", key]);
}

/// Logs DELs for the keys expired on access by the running command (before its own effect).
pub fn log_lazy_expired(srv: &mut Server) {
    if srv.aof.is_none() {
        return;
    }
    for db in 0..srv.dbs.len() {
        if srv.dbs[db].lazy_expired.is_empty() {
            continue;
        }
        let keys = std::mem::take(&mut srv.dbs[db].lazy_expired);
        for k in &keys {
            log_del(srv, db, k);
        }
        srv.dbs[db].lazy_expired = keys;
    }
}

/// Called after EXEC: closes the MULTI block opened by its writes.
pub fn exec_done(srv: &mut Server) {
    if let Some(aof) = srv.aof.as_mut() {
        if aof.multi_open {
            encode(&mut aof.buf, &[b"EXEC"]);
            aof.multi_open = false;
        }
    }
}

/// Writes the buffer to the incr file; fsyncs it for `appendfsync always`.
pub fn flush(srv: &mut Server) {
    let Some(aof) = srv.aof.as_mut() else {
        return;
    };
    if aof.buf.is_empty() || aof.multi_open {
        return;
    }
    let sleep = FLUSH_SLEEP_US.load(Ordering::Relaxed);
    if sleep > 0 {
        std::thread::sleep(std::time::Duration::from_micros(sleep));
    }
    match aof.file.write_all(&aof.buf) {
        Ok(()) => {
            LAST_WRITE_OK.store(true, Ordering::Relaxed);
            aof.current_size += aof.buf.len() as u64;
            aof.written += aof.buf.len() as u64;
            aof.buf.clear();
            if aof.fsync == Fsync::EverySec {
                aof.pending.store(true, Ordering::Relaxed);
            }
        }
        Err(e) => {
            LAST_WRITE_OK.store(false, Ordering::Relaxed);
            crate::warning!("Error writing to the AOF file: {e}");
            if aof.fsync == Fsync::Always {
                std::process::exit(1);
            }
        }
    }
}

/// True when `appendfsync always` has written data not yet fsynced: replies must wait for
/// [`sync_now`]. The connection task yields once before syncing, so every connection with a
/// ready batch writes its commands first and one fsync covers them all (group commit).
pub fn sync_pending(srv: &Server) -> bool {
    srv.aof
        .as_ref()
        .is_some_and(|a| a.fsync == Fsync::Always && a.synced < a.written)
}

/// Bytes written to the AOF so far (group commit watches it grow).
pub fn written(srv: &Server) -> u64 {
    srv.aof.as_ref().map_or(0, |a| a.written)
}

/// Fsyncs everything written so far (a no-op if another connection already did).
pub fn sync_now(srv: &mut Server) {
    let Some(aof) = srv.aof.as_mut() else {
        return;
    };
    if aof.synced >= aof.written {
        return;
    }
    if let Err(e) = aof.file.sync_data() {
        crate::warning!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting...");
        std::process::exit(1);
    }
    aof.synced = aof.written;
}

pub(super) fn open_append(path: &std::path::Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn fsync_dir(d: &std::path::Path) {
    if let Ok(f) = File::open(d) {
        let _ = f.sync_all();
    }
}

/// Writes the manifest atomically (temp file, fsync, rename).
pub(super) fn write_manifest(srv: &Server, entries: &[Entry]) -> std::io::Result<()> {
    let d = dir(srv);
    let path = d.join(format!("{}.manifest", base_name(srv)));
    let tmp = d.join(format!("temp-{}.manifest", base_name(srv)));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(manifest_text(entries).as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    fsync_dir(&d);
    Ok(())
}

pub(super) fn file_size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Writes a new base from the current dataset and a fresh incr file, swaps the manifest, removes
/// the old files and (re)opens the AOF state. Used at start-up with an empty dir, by
/// BGREWRITEAOF and when turning appendonly on.
pub fn rewrite(srv: &mut Server) -> Result<(), String> {
    flush(srv);
    sync_now(srv);
    let started = std::time::Instant::now();
    let d = dir(srv);
    std::fs::create_dir_all(&d).map_err(|e| format!("Can't create the AOF directory: {e}"))?;
    let name = base_name(srv);
    let old = match srv.aof.as_ref() {
        Some(a) => a.manifest.clone(),
        None => read_manifest(srv).ok().flatten().unwrap_or_default(),
    };
    let base_seq = old
        .iter()
        .filter(|e| e.kind == 'b')
        .map(|e| e.seq)
        .max()
        .unwrap_or(0)
        + 1;
    let incr_seq = old
        .iter()
        .filter(|e| e.kind == 'i')
        .map(|e| e.seq)
        .max()
        .unwrap_or(0)
        + 1;
    let preamble = srv.config.get("aof-use-rdb-preamble") != Some("no");
    let base = if preamble {
        format!("{name}.{base_seq}.base.rdb")
    } else {
        format!("{name}.{base_seq}.base.aof")
    };
    let incr = format!("{name}.{incr_seq}.incr.aof");
    let io = |e: std::io::Error| format!("Error rewriting the append only file: {e}");
    let base_path = d.join(&base);
    if preamble {
        super::write_atomically(&base_path, |out| super::rdb_save::write_dataset(srv, out))
            .map_err(io)?;
    } else {
        let data = dataset_as_commands(srv);
        super::write_atomically(&base_path, |out| out.write_all(&data)).map_err(io)?;
    }
    let incr_path = d.join(&incr);
    File::create(&incr_path).map_err(io)?;
    let entries = vec![
        Entry {
            name: base.clone(),
            seq: base_seq,
            kind: 'b',
        },
        Entry {
            name: incr.clone(),
            seq: incr_seq,
            kind: 'i',
        },
    ];
    write_manifest(srv, &entries).map_err(io)?;
    for e in &old {
        if e.name != base && e.name != incr {
            let _ = std::fs::remove_file(d.join(&e.name));
        }
    }
    let file = open_append(&incr_path).map_err(io)?;
    let base_size = file_size(&base_path);
    let was_buf = srv.aof.take();
    drop(was_buf);
    srv.aof = Some(Box::new(open_state(srv, file, entries, base_size)));
    REWRITES.fetch_add(1, Ordering::Relaxed);
    LAST_REWRITE_SECS.store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
    Ok(())
}

pub(super) fn open_state(srv: &Server, file: File, manifest: Vec<Entry>, base_size: u64) -> Aof {
    let pending = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    if let Ok(f2) = file.try_clone() {
        let (p, s) = (pending.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_secs(1));
                if p.swap(false, Ordering::Relaxed) {
                    let _ = f2.sync_data();
                }
            }
        });
    }
    Aof {
        buf: Vec::new(),
        file,
        db: None,
        multi_open: false,
        fsync: fsync_policy(srv),
        pending,
        stop,
        manifest,
        base_size,
        current_size: base_size,
        written: 0,
        synced: 0,
    }
}

/// The dataset as RESP commands (a `.base.aof` when the RDB preamble is off).
fn dataset_as_commands(srv: &Server) -> Vec<u8> {
    let mut out = Vec::new();
    // A base in RESP form opens with the time it was written, as Redis's rewrite does.
    if timestamps_on(srv) {
        out.extend_from_slice(format!("#TS:{}\r\n", srv.now_ms / 1000).as_bytes());
    }
    // FUNCTION libraries first, as Redis's rewrite does.
    if let Some(eng) = srv.scripting.as_ref() {
        for code in eng.functions.sources() {
            encode(&mut out, &[b"FUNCTION", b"LOAD", &code]);
        }
    }
    for db in &srv.dbs {
        if db.is_empty() {
            continue;
        }
        let d = db.id.to_string();
        encode(&mut out, &[b"SELECT", d.as_bytes()]);
        for (k, obj) in db.dict.iter() {
            let k: &[u8] = k;
            // Each value is rebuilt by RESTORE from its DUMP payload: one command per key.
            let p = super::rdb_save::dump_payload(&obj.val, false);
            match db.expire_at(k) {
                Some(at) => {
                    let at = at.to_string();
                    encode(&mut out, &[b"RESTORE", k, at.as_bytes(), &p, b"ABSTTL"]);
                }
                None => encode(&mut out, &[b"RESTORE", k, b"0", &p]),
            }
        }
    }
    out
}

/// Reads the manifest. Ok(None): there is none. Err: it can't be read, or Redis would refuse it
/// (the lines to log).
pub(super) fn read_manifest_checked(srv: &Server) -> Result<Option<Vec<Entry>>, Vec<String>> {
    let name = format!("{}.manifest", base_name(srv));
    match std::fs::read(dir(srv).join(&name)) {
        Ok(t) => parse_manifest(&t).map(Some).map_err(|e| e.log_lines()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(vec![format!(
            "Fatal error: can't open the AOF manifest {name} for reading: {}",
            crate::config::strerror(&e)
        )]),
    }
}

/// [`read_manifest_checked`] with the reason as one text.
pub(super) fn read_manifest(srv: &Server) -> Result<Option<Vec<Entry>>, String> {
    read_manifest_checked(srv).map_err(|l| l.concat())
}

/// Cron hook: flush what accumulated outside client batches, auto rewrite when the AOF grew
/// past `auto-aof-rewrite-percentage` over its size at the last rewrite.
pub fn cron(srv: &mut Server) {
    flush(srv);
    if sync_pending(srv) {
        sync_now(srv);
    }
    bgrewrite_finish(srv);
    // CONFIG SET appendfsync takes effect here.
    let policy = fsync_policy(srv);
    if let Some(a) = srv.aof.as_mut() {
        a.fsync = policy;
    }
    let Some(aof) = srv.aof.as_ref() else {
        return;
    };
    let get = |n: &str| {
        srv.config
            .get(n)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let perc = get("auto-aof-rewrite-percentage");
    let min = get("auto-aof-rewrite-min-size");
    if perc > 0 && aof.current_size >= min && CHILD_PID.load(Ordering::Relaxed) == 0 {
        // As Redis: an unknown (0) base counts as 1 byte.
        let base = aof.base_size.max(1);
        let growth = (aof.current_size.saturating_sub(base)) * 100 / base;
        if growth >= perc {
            crate::notice!("Starting automatic rewriting of AOF on {growth}% growth");
            if let Err(e) = bgrewrite_start(srv) {
                crate::warning!("{e}");
            }
        }
    }
}

/// Shutdown: stop a rewrite child, write and fsync what is buffered.
pub fn on_shutdown(srv: &mut Server) {
    let pid = CHILD_PID.load(Ordering::Relaxed);
    if pid != 0 {
        crate::warning!("There is a child rewriting the AOF. Killing it!");
        // SAFETY: killing our own rewrite child; its temp file is removed below.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        if let Ok(mut p) = PENDING.lock() {
            if let Some(p) = p.take() {
                let _ = std::fs::remove_file(dir(srv).join(p.base));
            }
        }
        let _ = std::fs::remove_file(dir(srv).join(format!("temp-{pid}.rdb")));
    }
    if srv.aof.is_some() {
        flush(srv);
        crate::notice!("Calling fsync() on the AOF file.");
        if let Some(a) = srv.aof.as_ref() {
            let _ = a.file.sync_data();
        }
    }
}

/// CONFIG SET appendonly: start (rewrite) or stop the AOF.
pub fn set_enabled(srv: &mut Server, on: bool) -> Result<(), String> {
    if on && srv.aof.is_none() {
        rewrite(srv)
    } else {
        if !on {
            flush(srv);
            if let Some(a) = srv.aof.take() {
                let _ = a.file.sync_data();
            }
        }
        Ok(())
    }
}

/// The aof_* lines of INFO persistence that depend on state.
pub fn info_fields(srv: &Server) -> Vec<(&'static str, String)> {
    let child = CHILD_PID.load(Ordering::Relaxed) != 0;
    let cur = if child {
        (crate::server::unix_ms() - REWRITE_START_MS.load(Ordering::Relaxed)) / 1000
    } else {
        -1
    };
    let mut v = vec![
        ("aof_rewrite_in_progress", (child as u8).to_string()),
        ("aof_current_rewrite_time_sec", cur.to_string()),
        (
            "aof_last_bgrewrite_status",
            if LAST_BGREWRITE_OK.load(Ordering::Relaxed) {
                "ok"
            } else {
                "err"
            }
            .to_string(),
        ),
        ("aof_rewrites", REWRITES.load(Ordering::Relaxed).to_string()),
        (
            "aof_last_rewrite_time_sec",
            LAST_REWRITE_SECS.load(Ordering::Relaxed).to_string(),
        ),
        (
            "aof_last_write_status",
            if LAST_WRITE_OK.load(Ordering::Relaxed) {
                "ok"
            } else {
                "err"
            }
            .to_string(),
        ),
    ];
    if let Some(a) = srv.aof.as_ref() {
        v.push(("aof_current_size", a.current_size.to_string()));
        v.push(("aof_base_size", a.base_size.to_string()));
        v.push(("aof_pending_rewrite", "0".to_string()));
        v.push(("aof_buffer_length", a.buf.len().to_string()));
        v.push(("aof_pending_bio_fsync", "0".to_string()));
        v.push(("aof_delayed_fsync", "0".to_string()));
    }
    v
}

/// Pid of the running rewrite child, or 0.
pub static CHILD_PID: AtomicI32 = AtomicI32::new(0);
static CHILD_DONE: AtomicBool = AtomicBool::new(false);
static CHILD_OK: AtomicBool = AtomicBool::new(false);
static LAST_BGREWRITE_OK: AtomicBool = AtomicBool::new(true);
static REWRITE_START_MS: AtomicI64 = AtomicI64::new(0);

/// A background rewrite in flight: the base the child writes, and the first incr file
/// opened when it started (that one and later ones stay after the swap).
struct Pending {
    base: String,
    base_seq: u64,
    first_kept_incr: u64,
}

static PENDING: std::sync::Mutex<Option<Pending>> = std::sync::Mutex::new(None);

/// BGREWRITEAOF: when the AOF is on, writes go to a new incr file from now on (added to the
/// manifest at once); a forked child writes the new base from its snapshot, which is exactly
/// what the old base and incr files hold; when it succeeds, cron swaps the manifest to the new
/// base plus the new incr files and deletes the old ones.
pub fn bgrewrite_start(srv: &mut Server) -> Result<(), String> {
    if CHILD_PID.load(Ordering::Relaxed) != 0 {
        return Err("Background append only file rewriting already in progress".into());
    }
    flush(srv);
    let d = dir(srv);
    std::fs::create_dir_all(&d).map_err(|e| format!("Can't create the AOF directory: {e}"))?;
    let name = base_name(srv);
    let mut entries = match srv.aof.as_ref() {
        Some(a) => a.manifest.clone(),
        None => read_manifest(srv).ok().flatten().unwrap_or_default(),
    };
    let max_seq = |k: char, es: &[Entry]| {
        es.iter()
            .filter(|e| e.kind == k)
            .map(|e| e.seq)
            .max()
            .unwrap_or(0)
    };
    let base_seq = max_seq('b', &entries) + 1;
    let incr_seq = max_seq('i', &entries) + 1;
    let io = |e: std::io::Error| format!("Can't rewrite append only file in background: {e}");
    if srv.aof.is_some() {
        let incr = format!("{name}.{incr_seq}.incr.aof");
        let file = open_append(&d.join(&incr)).map_err(io)?;
        entries.push(Entry {
            name: incr,
            seq: incr_seq,
            kind: 'i',
        });
        write_manifest(srv, &entries).map_err(io)?;
        // A fresh state: its everysec thread follows the new file.
        let (base_size, cur) = srv
            .aof
            .as_ref()
            .map(|a| (a.base_size, a.current_size))
            .unwrap_or_default();
        sync_now(srv);
        if let Some(old) = srv.aof.take() {
            let _ = old.file.sync_data();
        }
        let mut st = open_state(srv, file, entries.clone(), base_size);
        st.current_size = cur;
        srv.aof = Some(Box::new(st));
    }
    let preamble = srv.config.get("aof-use-rdb-preamble") != Some("no");
    let base = format!(
        "{name}.{base_seq}.base.{}",
        if preamble { "rdb" } else { "aof" }
    );
    let path = d.join(&base);
    let started = crate::server::unix_ms();
    // SAFETY: the child only serialises memory it inherited, writes one file and calls _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        crate::shutdown::reset_in_child();
        let res = if preamble {
            super::write_atomically(&path, |out| super::rdb_save::write_dataset(srv, out))
        } else {
            let data = dataset_as_commands(srv);
            super::write_atomically(&path, |out| out.write_all(&data))
        };
        // SAFETY: leaving the child without running the parent's destructors.
        unsafe { libc::_exit(if res.is_ok() { 0 } else { 1 }) };
    }
    if pid < 0 {
        return Err(format!(
            "Can't rewrite append only file in background: fork: {}",
            std::io::Error::last_os_error()
        ));
    }
    crate::notice!("Background append only file rewriting started by pid {pid}");
    if let Ok(mut p) = PENDING.lock() {
        *p = Some(Pending {
            base,
            base_seq,
            first_kept_incr: incr_seq,
        });
    }
    REWRITE_START_MS.store(started, Ordering::Relaxed);
    CHILD_PID.store(pid, Ordering::Relaxed);
    super::update_resize_policy();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        CHILD_OK.store(ok, Ordering::Relaxed);
        CHILD_DONE.store(true, Ordering::Relaxed);
    });
    Ok(())
}

/// Cron: applies a finished background rewrite (manifest swap, old files removed).
fn bgrewrite_finish(srv: &mut Server) {
    if !CHILD_DONE.swap(false, Ordering::Relaxed) {
        return;
    }
    CHILD_PID.store(0, Ordering::Relaxed);
    let Some(p) = PENDING.lock().ok().and_then(|mut g| g.take()) else {
        return;
    };
    let d = dir(srv);
    let secs = (crate::server::unix_ms() - REWRITE_START_MS.load(Ordering::Relaxed) + 999) / 1000;
    LAST_REWRITE_SECS.store(secs, Ordering::Relaxed);
    if !CHILD_OK.load(Ordering::Relaxed) {
        crate::warning!("Background AOF rewrite terminated with error");
        LAST_BGREWRITE_OK.store(false, Ordering::Relaxed);
        let _ = std::fs::remove_file(d.join(&p.base));
        return;
    }
    let old = match srv.aof.as_ref() {
        Some(a) => a.manifest.clone(),
        None => read_manifest(srv).ok().flatten().unwrap_or_default(),
    };
    let mut new = vec![Entry {
        name: p.base.clone(),
        seq: p.base_seq,
        kind: 'b',
    }];
    new.extend(
        old.iter()
            .filter(|e| e.kind == 'i' && e.seq >= p.first_kept_incr)
            .cloned(),
    );
    if new.len() == 1 {
        // AOF off: an empty incr file completes the set.
        let seq = old
            .iter()
            .filter(|e| e.kind == 'i')
            .map(|e| e.seq)
            .max()
            .unwrap_or(0)
            + 1;
        let incr = format!("{}.{seq}.incr.aof", base_name(srv));
        if File::create(d.join(&incr)).is_err() {
            LAST_BGREWRITE_OK.store(false, Ordering::Relaxed);
            return;
        }
        new.push(Entry {
            name: incr,
            seq,
            kind: 'i',
        });
    }
    if let Err(e) = write_manifest(srv, &new) {
        crate::warning!("Error trying to rename the temporary AOF manifest: {e}");
        LAST_BGREWRITE_OK.store(false, Ordering::Relaxed);
        return;
    }
    for e in &old {
        if !new.contains(e) {
            let _ = std::fs::remove_file(d.join(&e.name));
        }
    }
    let sizes: u64 = new.iter().map(|e| file_size(&d.join(&e.name))).sum();
    if let Some(a) = srv.aof.as_mut() {
        a.manifest = new;
        a.base_size = sizes;
        a.current_size = sizes;
    }
    LAST_BGREWRITE_OK.store(true, Ordering::Relaxed);
    REWRITES.fetch_add(1, Ordering::Relaxed);
    crate::notice!("Background AOF rewrite finished successfully");
}
