//! Persistence: Redis-compatible RDB files (SAVE, BGSAVE, load at start-up) and the DUMP /
//! RESTORE payload format, which is one RDB value plus a version and a checksum.
//!
//! - `rdb_save` serialises values and whole datasets (version 10, what Redis 7.0 writes, so
//!   a Redis 7.0 server can load our files);
//! - `rdb_load` parses versions 1 to 11 (every encoding Redis ever wrote) and rebuilds values
//!   with the encodings the current config asks for, as Redis converts on load;
//! - `packed` reads and checks the packed blobs inside values (listpack, ziplist, zipmap,
//!   intset);
//! - `lzf` and `crc64` are the compression and checksum RDB uses; the listpack writer lives
//!   in the save module next to its only user.
//!
//! Files are written to a temp file, fsynced and renamed over `dir/dbfilename`, so a crash
//! mid-save never leaves a truncated file behind.

pub mod aof;
pub mod aof_load;
pub mod aof_manifest;
pub mod check;
pub mod crc64;
pub mod loading;
pub mod lzf;
pub mod packed;
pub mod rdb_load;
pub mod rdb_save;

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};

use crate::server::Server;

/// Whether the last save (foreground or background) succeeded (INFO rdb_last_bgsave_status).
pub static LAST_SAVE_OK: AtomicBool = AtomicBool::new(true);
/// Pid of the running BGSAVE child, or 0.
pub static CHILD_PID: AtomicI32 = AtomicI32::new(0);
/// Unix ms when the running BGSAVE started.
pub static BGSAVE_START_MS: AtomicI64 = AtomicI64::new(0);
/// Seconds the last BGSAVE took (-1: none yet).
pub static LAST_BGSAVE_SECS: AtomicI64 = AtomicI64::new(-1);
/// Unix seconds of the last successful BGSAVE (0 if none).
pub static LAST_BGSAVE_UNIX: AtomicI64 = AtomicI64::new(0);
/// Successful saves since start (INFO rdb_saves).
pub static SAVES: AtomicU64 = AtomicU64::new(0);
/// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE payloads and loaded files are taken without
/// checking their CRC-64 (their content is still validated whole).
pub static SKIP_CHECKSUM: AtomicBool = AtomicBool::new(false);
/// Keys loaded / skipped as expired by the last load.
pub static LOAD_KEYS_LOADED: AtomicU64 = AtomicU64::new(0);
pub static LOAD_KEYS_EXPIRED: AtomicU64 = AtomicU64::new(0);

/// Unix seconds of the last successful save, foreground or background (LASTSAVE).
pub fn last_save_unix(srv: &Server) -> i64 {
    srv.lastsave_unix
        .max(LAST_BGSAVE_UNIX.load(Ordering::Relaxed))
}

/// The rdb_* lines of INFO persistence, in Redis's order.
pub fn info_fields(srv: &Server) -> Vec<(&'static str, String)> {
    let child = CHILD_PID.load(Ordering::Relaxed) != 0;
    let current = if child {
        (crate::server::unix_ms() - BGSAVE_START_MS.load(Ordering::Relaxed)) / 1000
    } else {
        -1
    };
    let ok = if LAST_SAVE_OK.load(Ordering::Relaxed) {
        "ok"
    } else {
        "err"
    };
    vec![
        ("rdb_changes_since_last_save", srv.dirty.to_string()),
        ("rdb_bgsave_in_progress", (child as u8).to_string()),
        ("rdb_last_save_time", last_save_unix(srv).to_string()),
        ("rdb_last_bgsave_status", ok.to_string()),
        (
            "rdb_last_bgsave_time_sec",
            LAST_BGSAVE_SECS.load(Ordering::Relaxed).to_string(),
        ),
        ("rdb_current_bgsave_time_sec", current.to_string()),
        ("rdb_saves", SAVES.load(Ordering::Relaxed).to_string()),
        ("rdb_last_cow_size", "0".to_string()),
        (
            "rdb_last_load_keys_expired",
            LOAD_KEYS_EXPIRED.load(Ordering::Relaxed).to_string(),
        ),
        (
            "rdb_last_load_keys_loaded",
            LOAD_KEYS_LOADED.load(Ordering::Relaxed).to_string(),
        ),
    ]
}

/// The MISCONF text for writes after a failed RDB save.
pub const MISCONF_RDB: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// True after a failed save, until a save succeeds (what MISCONF refusals depend on).
pub fn last_save_failed() -> bool {
    !LAST_SAVE_OK.load(Ordering::Relaxed)
}

/// `stop-writes-on-bgsave-error`: with save points configured and the last save failed,
/// write commands, PING, and EXEC of a transaction holding writes are refused until a save
/// succeeds (as Redis's writeCommandsDeniedByDiskError). Called by `cmd::call` for those
/// commands only. Return value: the error to reply.
pub fn write_denied(
    srv: &Server,
    client: &crate::client::Client,
    entry: &crate::cmd::CommandEntry,
) -> Option<crate::cmd::CmdError> {
    if LAST_SAVE_OK.load(Ordering::Relaxed)
        || srv.config.get("stop-writes-on-bgsave-error") == Some("no")
        || !has_save_points(srv)
    {
        return None;
    }
    if entry.full_name == "exec" {
        let table = crate::cmd::table();
        let writes = client.multi.as_ref().is_some_and(|m| {
            m.queued
                .iter()
                .any(|a| table.get(&a[0]).is_some_and(|e| e.has_flag("write")))
        });
        if !writes {
            return None;
        }
    }
    Some(crate::cmd::CmdError::Raw(MISCONF_RDB.into()))
}

/// DEBUG RELOAD [NOSAVE] [NOFLUSH] [MERGE]: save, then replace the dataset with what the file
/// holds. Return value: the error reply text on failure.
pub fn debug_reload(srv: &mut Server, opts: &[Vec<u8>]) -> Result<(), String> {
    let mut nosave = false;
    for o in opts {
        let o = crate::util::lower(o);
        match o.as_str() {
            "nosave" => nosave = true,
            "noflush" | "merge" => {}
            _ => {
                return Err(
                    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.".into(),
                )
            }
        }
    }
    if !nosave && save(srv).is_err() {
        return Err("ERR".into());
    }
    let data = std::fs::read(rdb_path(srv))
        .map_err(|_| "ERR Error trying to load the RDB dump, check server logs.".to_string())?;
    rdb_load::load_dataset(srv, &data).map_err(|e| {
        crate::warning!("{e}");
        "ERR Error trying to load the RDB dump, check server logs.".to_string()
    })?;
    Ok(())
}

/// The RDB version we write (Redis 7.0).
pub const RDB_VERSION: u16 = 10;
/// The newest RDB version we read (Redis 7.2 / Valkey 8 files without new types).
pub const RDB_VERSION_MAX_LOAD: u16 = 11;

// Opcodes.
pub const OP_FUNCTION2: u8 = 245;
pub const OP_FUNCTION: u8 = 246;
pub const OP_MODULE_AUX: u8 = 247;
pub const OP_IDLE: u8 = 248;
pub const OP_FREQ: u8 = 249;
pub const OP_AUX: u8 = 250;
pub const OP_RESIZEDB: u8 = 251;
pub const OP_EXPIRETIME_MS: u8 = 252;
pub const OP_EXPIRETIME: u8 = 253;
pub const OP_SELECTDB: u8 = 254;
pub const OP_EOF: u8 = 255;

// Value types.
pub const T_STRING: u8 = 0;
pub const T_LIST: u8 = 1;
pub const T_SET: u8 = 2;
pub const T_ZSET: u8 = 3;
pub const T_HASH: u8 = 4;
pub const T_ZSET_2: u8 = 5;
pub const T_HASH_ZIPMAP: u8 = 9;
pub const T_LIST_ZIPLIST: u8 = 10;
pub const T_SET_INTSET: u8 = 11;
pub const T_ZSET_ZIPLIST: u8 = 12;
pub const T_HASH_ZIPLIST: u8 = 13;
pub const T_LIST_QUICKLIST: u8 = 14;
pub const T_HASH_LISTPACK: u8 = 16;
pub const T_ZSET_LISTPACK: u8 = 17;
pub const T_LIST_QUICKLIST_2: u8 = 18;
pub const T_SET_LISTPACK: u8 = 20;
pub const T_STREAM_LISTPACKS: u8 = 15;
/// What Redis 7.0 writes for a stream.
pub const T_STREAM_LISTPACKS_2: u8 = 19;
/// Redis 7.2's stream type (consumers with an active time); read, never written.
pub const T_STREAM_LISTPACKS_3: u8 = 21;

/// Encoding thresholds from the config, used to pick encodings of loaded values.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub hash: crate::types::hash::Limits,
    pub zset: crate::types::zset::Limits,
    pub max_intset: usize,
    pub list_fill: i32,
}

impl Limits {
    /// Redis's default thresholds (the check tools, which have no config).
    pub fn defaults() -> Limits {
        Limits {
            hash: Default::default(),
            zset: Default::default(),
            max_intset: 512,
            list_fill: -2,
        }
    }

    pub fn from_server(srv: &Server) -> Limits {
        let cfg = &srv.config;
        let get = |name: &str, alias: &str, def: i64| -> i64 {
            cfg.get(name)
                .or_else(|| cfg.get(alias))
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(def)
        };
        let u = |v: i64| v.max(0) as usize;
        Limits {
            hash: crate::types::hash::Limits {
                max_entries: u(get(
                    "hash-max-listpack-entries",
                    "hash-max-ziplist-entries",
                    512,
                )),
                max_value: u(get("hash-max-listpack-value", "hash-max-ziplist-value", 64)),
            },
            zset: crate::types::zset::Limits {
                entries: u(get(
                    "zset-max-listpack-entries",
                    "zset-max-ziplist-entries",
                    128,
                )),
                value: u(get("zset-max-listpack-value", "zset-max-ziplist-value", 64)),
            },
            max_intset: u(get("set-max-intset-entries", "set-max-intset-entries", 512)),
            list_fill: get("list-max-listpack-size", "list-max-ziplist-size", -2)
                .clamp(-5, i32::MAX as i64) as i32,
        }
    }
}

/// `rdbcompression` from the config.
pub fn compression(srv: &Server) -> bool {
    srv.config.get("rdbcompression") != Some("no")
}

/// Path of the RDB file (`dbfilename`, relative to the working directory, which is `dir`).
pub fn rdb_path(srv: &Server) -> std::path::PathBuf {
    std::path::PathBuf::from(srv.config.get("dbfilename").unwrap_or("dump.rdb"))
}

/// True when `save` has at least one save point (Redis then saves on shutdown).
pub fn has_save_points(srv: &Server) -> bool {
    srv.config.get("save").is_some_and(|s| !s.trim().is_empty())
}

/// Writes the dataset to `dir/dbfilename` (temp file, fsync, rename) and updates the
/// last-save state. Return value: the error text on failure (already logged).
pub fn save(srv: &mut Server) -> Result<(), String> {
    let path = rdb_path(srv);
    match write_atomically_staged(&path, |out| rdb_save::write_dataset(srv, out)) {
        Ok(()) => {
            crate::notice!("DB saved on disk");
            srv.dirty = 0;
            srv.lastsave_unix = crate::server::unix_ms() / 1000;
            SAVES.fetch_add(1, Ordering::Relaxed);
            LAST_SAVE_OK.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err((stage, e)) => {
            // Redis's rdbSave texts for each step.
            let tmp = temp_rdb_name(std::process::id() as i32);
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| "unknown".into());
            let why = crate::config::strerror(&e);
            let msg = match stage {
                Stage::Create => format!(
                    "Failed opening the temp RDB file {tmp} (in server root dir {cwd}) for saving: {why}"
                ),
                Stage::Write => format!("Write error saving DB on disk: {why}"),
                Stage::Rename => format!(
                    "Error moving temp DB file {tmp} on the final destination {} (in server root dir {cwd}): {why}",
                    path.display()
                ),
            };
            // A failed foreground save (SAVE, the final save of a shutdown) leaves the
            // background-save status alone, as Redis's rdbSave: writes are not refused.
            crate::warning!("{msg}");
            Err(msg)
        }
    }
}

/// Writes through `fill` to a temp file next to `path`, fsyncs it and renames it over `path`.
pub fn write_atomically(
    path: &std::path::Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    write_atomically_staged(path, fill).map_err(|(_, e)| e)
}

/// The step of [`write_atomically`] that failed (SAVE's log line names it, as Redis's).
#[derive(Debug, Clone, Copy)]
enum Stage {
    Create,
    Write,
    Rename,
}

fn write_atomically_staged(
    path: &std::path::Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), (Stage, std::io::Error)> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let res = (|| {
        let f = std::fs::File::create(&tmp).map_err(|e| (Stage::Create, e))?;
        let mut bw = std::io::BufWriter::with_capacity(1 << 16, f);
        let wr = |e| (Stage::Write, e);
        fill(&mut bw).map_err(wr)?;
        bw.flush().map_err(wr)?;
        let f = bw.into_inner().map_err(|e| wr(e.into_error()))?;
        f.sync_all().map_err(wr)?;
        std::fs::rename(&tmp, path).map_err(|e| (Stage::Rename, e))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// A whole file mapped read-only (start-up loads). Reading an RDB into a heap buffer leaves
/// that much freed heap behind, which jemalloc purges over the following seconds; pages purged
/// after a fork become private to the child, so a BGSAVE soon after start-up could pay for
/// them again. A mapping is simply unmapped, and the page cache is not counted as our RSS.
/// Only for files replaced by rename (RDB, AOF base): an in-place truncation under a mapping
/// would fault.
pub struct MappedFile {
    ptr: *mut libc::c_void,
    len: usize,
}

impl MappedFile {
    pub fn open(path: &std::path::Path) -> std::io::Result<MappedFile> {
        use std::os::fd::AsRawFd;
        let f = std::fs::File::open(path)?;
        let len = f.metadata()?.len() as usize;
        if len == 0 {
            return Ok(MappedFile {
                ptr: std::ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: a fresh read-only private mapping of an open file; checked for failure.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: advice on our own mapping.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Ok(MappedFile { ptr, len })
    }
}

impl std::ops::Deref for MappedFile {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the mapping is `len` readable bytes and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: unmapping our own mapping once.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

/// Loads `dir/dbfilename` at start-up. A missing file means an empty start; any other problem
/// is an error text to log before exiting (never a silent empty start).
pub fn load_at_startup(srv: &mut Server) -> Result<(), String> {
    // With appendonly yes the AOF wins over the RDB file, as in Redis.
    if aof::enabled_in_config(srv) {
        return aof_load::load_at_startup(srv);
    }
    let path = rdb_path(srv);
    let data = match MappedFile::open(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
    };
    let start = std::time::Instant::now();
    loading::set_total(data.len() as u64);
    let n = match rdb_load::load_dataset(srv, &data) {
        Ok(n) => n,
        Err(e) => {
            report_bad_file(&path, &data, &e);
            return Err(String::new());
        }
    };
    crate::notice!(
        "DB loaded from disk: {:.3} seconds ({n} keys)",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What Redis 7.0 does when the RDB file it starts on is damaged (`rdbReportError`): log the
/// error, log the corruption report line (for a short file and a bad checksum too), run the
/// RDB check on the file with its report on stdout, and, when the check itself stopped on a
/// corrupt value, log "Terminating server ...". Other failures (signature, version, too many
/// databases) are only logged. The caller exits with 1 either way.
fn report_bad_file(path: &std::path::Path, data: &[u8], err: &str) {
    use std::io::Write;
    let corrupt = rdb_load::is_corruption(err);
    if rdb_load::is_short_read(err) {
        crate::warning!("{err}");
        let line = rdb_load::corrupt(rdb_load::AT_EOF, "Unexpected EOF reading RDB file");
        crate::warning!("{line}");
    } else if err.starts_with("Wrong RDB checksum") {
        crate::warning!("{err}");
        crate::warning!("{}", rdb_load::corrupt(rdb_load::AT_CRC, "RDB CRC error"));
    } else if corrupt {
        crate::warning!("{err}");
    } else {
        if !err.is_empty() {
            crate::warning!("{}", err.trim_end());
        }
        return;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "[offset 0] Checking RDB file {}", path.display());
    let _ = check::check_rdb_data(data, false, &mut out);
    let _ = out.flush();
    drop(out);
    if corrupt {
        crate::warning!("Terminating server after rdb file reading failure.");
    }
}

/// Shutdown: kills a running BGSAVE child and removes its temp file, as Redis's
/// finishShutdown (the child might otherwise rename its file over the final save's).
pub fn kill_child_for_shutdown() {
    let pid = CHILD_PID.load(Ordering::Relaxed);
    if pid == 0 {
        return;
    }
    crate::warning!("There is a child saving an .rdb. Killing it!");
    KILLED_FOR_SHUTDOWN.store(pid, Ordering::Relaxed);
    // SAFETY: killing our own BGSAVE child.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    // The waiter thread reaps it; wait (bounded) so the child can't create its file after
    // the removal below.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while CHILD_PID.load(Ordering::Relaxed) == pid && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let _ = std::fs::remove_file(temp_rdb_name(pid));
}

/// The child killed by [`kill_child_for_shutdown`]: its waiter logs nothing.
static KILLED_FOR_SHUTDOWN: AtomicI32 = AtomicI32::new(0);

/// `temp-<pid>.rdb`: the file a save by process `pid` writes before renaming it.
fn temp_rdb_name(pid: i32) -> String {
    format!("temp-{pid}.rdb")
}

/// BGSAVE SCHEDULE while a save was running: start one when it ends.
pub static BGSAVE_SCHEDULED: AtomicBool = AtomicBool::new(false);
/// Set by the BGSAVE waiter thread when the child is done; cron applies the outcome.
static BGSAVE_FINISHED: AtomicBool = AtomicBool::new(false);
/// `dirty` when the running BGSAVE started (changes after it still count as unsaved).
static DIRTY_AT_BGSAVE: AtomicU64 = AtomicU64::new(0);
/// Unix ms of the last BGSAVE attempt (a failed one is retried after 5 s, as in Redis).
static LAST_BGSAVE_TRY_MS: AtomicI64 = AtomicI64::new(0);

/// Starts a background save: fork; the child owns a copy-on-write snapshot of memory,
/// serialises it, writes the file with plain std I/O and leaves with `_exit`. A waiter thread
/// in the parent reaps the child and records the outcome in atomics; [`cron`] then updates
/// `dirty` and the last-save time on the event loop. Return value: the child's pid.
pub fn bgsave_start(srv: &mut Server) -> Result<i32, String> {
    if CHILD_PID.load(Ordering::Relaxed) != 0 {
        return Err("Background save already in progress".into());
    }
    let path = rdb_path(srv);
    let started = crate::server::unix_ms();
    LAST_BGSAVE_TRY_MS.store(started, Ordering::Relaxed);
    // SAFETY: the child only serialises memory it inherited, writes a file and calls _exit;
    // it never returns into the event loop.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        crate::shutdown::reset_in_child();
        let code = match write_atomically(&path, |out| rdb_save::write_dataset(srv, out)) {
            Ok(()) => 0,
            Err(_) => 1,
        };
        // SAFETY: leaving the child without running the parent's destructors or atexit hooks.
        unsafe { libc::_exit(code) };
    }
    if pid < 0 {
        LAST_SAVE_OK.store(false, Ordering::Relaxed);
        return Err(format!(
            "Can't save in background: fork: {}",
            std::io::Error::last_os_error()
        ));
    }
    crate::notice!("Background saving started by pid {pid}");
    CHILD_PID.store(pid, Ordering::Relaxed);
    update_resize_policy();
    BGSAVE_START_MS.store(started, Ordering::Relaxed);
    DIRTY_AT_BGSAVE.store(srv.dirty, Ordering::Relaxed);
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        if KILLED_FOR_SHUTDOWN.load(Ordering::Relaxed) == pid {
            // The shutdown removes its temp file and exits; Redis says nothing more.
            CHILD_PID.store(0, Ordering::Relaxed);
            return;
        }
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        let now = crate::server::unix_ms();
        LAST_BGSAVE_SECS.store((now - started + 999) / 1000, Ordering::Relaxed);
        if ok {
            LAST_SAVE_OK.store(true, Ordering::Relaxed);
            SAVES.fetch_add(1, Ordering::Relaxed);
            LAST_BGSAVE_UNIX.store(started / 1000, Ordering::Relaxed);
            crate::notice!("Background saving terminated with success");
        } else if libc::WIFSIGNALED(status)
            || libc::WEXITSTATUS(status) == crate::shutdown::CHILD_STOPPED_STATUS
        {
            // A killed child leaves its half-written file behind: removed as Redis does. Only
            // a kill by someone else (not our SIGUSR1) counts as a failed save.
            let sig = if libc::WIFSIGNALED(status) {
                libc::WTERMSIG(status)
            } else {
                libc::SIGUSR1
            };
            crate::warning!("Background saving terminated by signal {sig}");
            let _ = std::fs::remove_file(temp_rdb_name(pid));
            if sig != libc::SIGUSR1 {
                LAST_SAVE_OK.store(false, Ordering::Relaxed);
            }
        } else {
            LAST_SAVE_OK.store(false, Ordering::Relaxed);
            crate::warning!("Background saving error");
        }
        BGSAVE_FINISHED.store(true, Ordering::Relaxed);
        CHILD_PID.store(0, Ordering::Relaxed);
    });
    Ok(pid)
}

/// True while a BGSAVE or AOF rewrite child runs.
pub fn child_alive() -> bool {
    CHILD_PID.load(Ordering::Relaxed) != 0 || aof::CHILD_PID.load(Ordering::Relaxed) != 0
}

/// Pauses dict resizing while a fork child shares our pages (Redis's
/// `updateDictResizePolicy`): a resize relinks every entry, which would copy almost every page
/// of the dataset. Called right after a fork and by the cron, which resumes resizing once the
/// child is gone.
pub fn update_resize_policy() {
    cinnabar_ds::dict::pause_resizing(child_alive());
}

/// Save points (`save <seconds> <changes> ...`): parsed pairs.
fn save_points(srv: &Server) -> Vec<(i64, u64)> {
    let words: Vec<&str> = srv
        .config
        .get("save")
        .unwrap_or("")
        .split_whitespace()
        .collect();
    words
        .chunks_exact(2)
        .filter_map(|p| Some((p[0].parse().ok()?, p[1].parse().ok()?)))
        .collect()
}

/// `appendonly` switched by CONFIG SET: start (with a rewrite) or stop the AOF. CONFIG SET
/// calls it at once (as Redis does, so the next write is logged or not); the cron retries.
pub fn apply_appendonly(srv: &mut Server) {
    let want = aof::enabled_in_config(srv);
    if want != srv.aof.is_some() {
        if let Err(e) = aof::set_enabled(srv, want) {
            crate::warning!("{e}");
        }
    }
}

/// Cron hook: applies a finished BGSAVE's outcome, and starts a BGSAVE when a save point is
/// reached (enough changes and enough time since the last save), as Redis's serverCron does.
/// Skipped with a test clock, so in-process tests never fork.
pub fn cron(srv: &mut Server) {
    update_resize_policy();
    if srv.clock_override.is_some() {
        return;
    }
    apply_appendonly(srv);
    aof::cron(srv);
    if BGSAVE_FINISHED.swap(false, Ordering::Relaxed) && LAST_SAVE_OK.load(Ordering::Relaxed) {
        let before = DIRTY_AT_BGSAVE.load(Ordering::Relaxed);
        srv.dirty = srv.dirty.saturating_sub(before);
        srv.lastsave_unix = srv
            .lastsave_unix
            .max(LAST_BGSAVE_UNIX.load(Ordering::Relaxed));
    }
    if CHILD_PID.load(Ordering::Relaxed) != 0 {
        return;
    }
    if BGSAVE_SCHEDULED.swap(false, Ordering::Relaxed) {
        let _ = bgsave_start(srv);
        return;
    }
    if srv.dirty == 0 {
        return;
    }
    let now = crate::server::unix_ms();
    let retry_ok = LAST_SAVE_OK.load(Ordering::Relaxed)
        || now - LAST_BGSAVE_TRY_MS.load(Ordering::Relaxed) > 5000;
    if !retry_ok {
        return;
    }
    let since = now / 1000 - last_save_unix(srv);
    for (secs, changes) in save_points(srv) {
        if srv.dirty >= changes && since >= secs {
            crate::notice!("{changes} changes in {secs} seconds. Saving...");
            let _ = bgsave_start(srv);
            return;
        }
    }
}
