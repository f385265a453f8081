//! Signals and the shutdown sequence, with Redis 7.0's rules.
//!
//! SIGTERM and SIGINT are caught by a plain `sigaction` handler (not tokio's signal driver)
//! because one case must be handled inside the handler itself: while a shutdown runs — the
//! final save can take long and blocks the event loop — a second SIGINT removes the
//! half-written `temp-<pid>.rdb` and exits at once with status 1 ("You insist... exiting
//! now."), as Redis's sigShutdownHandler does. Otherwise the handler only logs Redis's
//! `signal-handler` line and records the signal; the runtime polls [`take_signal`] and runs
//! [`prepare`] with the flags of `shutdown-on-sigterm` / `shutdown-on-sigint`.
//!
//! [`prepare`] is Redis's prepareForShutdown/finishShutdown, shared by signals and the
//! SHUTDOWN command: kill a BGSAVE child (and remove its temp file), stop an AOF rewrite and
//! fsync the AOF, save the final RDB when asked (SAVE, or save points without NOSAVE), remove
//! the pid file and the Unix socket. A failed save aborts the shutdown unless FORCE: the
//! server keeps running. There are no replicas, so NOW and `shutdown-timeout` change nothing
//! and SHUTDOWN ABORT never finds a shutdown to cancel.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::server::Server;

/// SHUTDOWN's modifiers, also the words of `shutdown-on-sigterm` / `shutdown-on-sigint`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    pub save: bool,
    pub nosave: bool,
    pub now: bool,
    pub force: bool,
}

impl Flags {
    /// Parses a `shutdown-on-sig*` value ("default", or words among save/nosave/now/force).
    pub fn from_config(value: &str) -> Flags {
        let mut f = Flags::default();
        for w in value.split_whitespace() {
            match w {
                "save" => f.save = true,
                "nosave" => f.nosave = true,
                "now" => f.now = true,
                "force" => f.force = true,
                _ => {}
            }
        }
        f
    }
}

/// The last SIGTERM / SIGINT received and not yet acted on (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);
/// A signal scheduled a shutdown that has not finished or been cancelled (Redis's
/// `shutdown_asap`): a second SIGINT then exits at once.
static ASAP: AtomicBool = AtomicBool::new(false);
/// `temp-<pid>.rdb\0`, built before the handler is installed (no allocation in a handler).
static mut TEMP_RDB: [u8; 40] = [0; 40];

/// Writes `n` in decimal into `buf` from `at`. Return value: the new end. No allocation.
fn put_num(buf: &mut [u8], mut at: usize, n: u64) -> usize {
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut v = n;
    loop {
        digits[len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    while len > 0 && at < buf.len() {
        len -= 1;
        buf[at] = digits[len];
        at += 1;
    }
    at
}

fn put(buf: &mut [u8], mut at: usize, s: &[u8]) -> usize {
    for &b in s {
        if at < buf.len() {
            buf[at] = b;
            at += 1;
        }
    }
    at
}

/// Logs `msg` from a signal handler in Redis's format (`pid:signal-handler (unixtime) msg`),
/// with only async-signal-safe calls (time, getpid, write).
fn log_from_handler(msg: &[u8]) {
    let mut buf = [0u8; 256];
    // SAFETY: getpid and time are async-signal-safe; time accepts a null pointer.
    let (pid, now) = unsafe { (libc::getpid(), libc::time(std::ptr::null_mut())) };
    let mut at = put_num(&mut buf, 0, pid as u64);
    at = put(&mut buf, at, b":signal-handler (");
    at = put_num(&mut buf, at, now.max(0) as u64);
    at = put(&mut buf, at, b") ");
    at = put(&mut buf, at, msg);
    at = put(&mut buf, at, b"\n");
    let fd = crate::log::raw_fd();
    // SAFETY: write(2) of our stack buffer to the log's descriptor.
    unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, at) };
}

extern "C" fn on_signal(sig: libc::c_int) {
    if sig == libc::SIGINT && ASAP.load(Ordering::SeqCst) {
        log_from_handler(b"You insist... exiting now.");
        // SAFETY: unlink and _exit are async-signal-safe; TEMP_RDB was filled (NUL-terminated)
        // before the handler was installed and is never written again.
        unsafe {
            libc::unlink(std::ptr::addr_of!(TEMP_RDB) as *const libc::c_char);
            libc::_exit(1);
        }
    }
    if crate::persist::loading::is_loading() {
        log_from_handler(b"Received shutdown signal during loading, scheduling shutdown.");
    } else if sig == libc::SIGINT {
        log_from_handler(b"Received SIGINT scheduling shutdown...");
    } else {
        log_from_handler(b"Received SIGTERM scheduling shutdown...");
    }
    PENDING.store(sig, Ordering::SeqCst);
    ASAP.store(true, Ordering::SeqCst);
}

/// Installs the SIGTERM / SIGINT handler (once, at start-up, before any fork).
pub fn install() {
    let name = format!("temp-{}.rdb\0", std::process::id());
    // SAFETY: single-threaded start-up; the handler is not installed yet, so nothing reads
    // TEMP_RDB concurrently. sigaction gets a fully initialised struct.
    unsafe {
        let dst = &mut *std::ptr::addr_of_mut!(TEMP_RDB);
        let n = name.len().min(dst.len());
        dst[..n].copy_from_slice(&name.as_bytes()[..n]);
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        act.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(libc::SIGTERM, &act, std::ptr::null_mut());
        libc::sigaction(libc::SIGINT, &act, std::ptr::null_mut());
    }
}

/// Exit status of a fork child stopped by SIGUSR1 (Redis's SERVER_CHILD_NOERROR_RETVAL): the
/// parent asked it to stop, which is not a failed save.
pub const CHILD_STOPPED_STATUS: i32 = 255;

extern "C" fn on_sigusr1_in_child(_: libc::c_int) {
    log_from_handler(b"Received SIGUSR1 in child, exiting now.");
    // SAFETY: _exit is async-signal-safe; the child holds nothing that needs cleaning up.
    unsafe { libc::_exit(CHILD_STOPPED_STATUS) };
}

/// In a fork child: default SIGTERM / SIGINT (a BGSAVE child must not run our handler), and
/// SIGUSR1 (the parent stopping it) logged and answered by exiting, as a Redis child does.
pub fn reset_in_child() {
    // SAFETY: installing handlers in the freshly forked, single-threaded child.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_sigusr1_in_child as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaction(libc::SIGUSR1, &act, std::ptr::null_mut());
    }
}

/// The signal that scheduled a shutdown, if one arrived since the last call.
pub fn take_signal() -> Option<i32> {
    match PENDING.swap(0, Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The flags a signal shuts down with (`shutdown-on-sigterm` / `shutdown-on-sigint`).
pub fn signal_flags(srv: &Server, sig: i32) -> Flags {
    let name = if sig == libc::SIGINT {
        "shutdown-on-sigint"
    } else {
        "shutdown-on-sigterm"
    };
    Flags::from_config(srv.config.get(name).unwrap_or("default"))
}

/// A shutdown that did not complete (the final save failed without FORCE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// Runs the shutdown sequence (Redis's prepareForShutdown). Ok: everything is done, the
/// process may exit. Err: the final save failed without FORCE; the shutdown is cancelled
/// (logged with Redis's lines) and the server keeps serving.
pub fn prepare(srv: &mut Server, flags: Flags) -> Result<(), Cancelled> {
    crate::warning!("User requested shutdown...");
    // In-process tests (fixed clock) own no children, files or sockets.
    if srv.clock_override.is_some() {
        return Ok(());
    }
    crate::persist::kill_child_for_shutdown();
    crate::persist::aof::on_shutdown(srv);
    let wanted = flags.save || (!flags.nosave && crate::persist::has_save_points(srv));
    if wanted {
        crate::notice!("Saving the final RDB snapshot before exiting.");
        if crate::persist::save(srv).is_err() {
            if flags.force {
                crate::warning!("Error trying to save the DB. Exit anyway.");
            } else {
                crate::warning!("Error trying to save the DB, can't exit.");
                crate::warning!(
                    "Errors trying to shut down the server. Check the logs for more information."
                );
                // Redis's cancelShutdown: a signal that arrived meanwhile is dropped too.
                ASAP.store(false, Ordering::SeqCst);
                PENDING.store(0, Ordering::SeqCst);
                return Err(Cancelled);
            }
        }
    }
    if let Some(p) = srv.pidfile.take() {
        crate::notice!("Removing the pid file.");
        let _ = std::fs::remove_file(p);
    }
    crate::net::listener::close_tcp(srv);
    if let Some(path) = srv.unix_socket_path.take() {
        crate::notice!("Removing the unix socket file.");
        let _ = std::fs::remove_file(path);
    }
    crate::warning!("Cinnabar is now ready to exit, bye bye...");
    Ok(())
}
