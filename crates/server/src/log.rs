//! Redis-style log lines: `pid:M 21 Nov 2026 21:04:43.123 * message`.
//!
//! The level markers are Redis's (`.` debug, `-` verbose, `*` notice, `#` warning) so log
//! scrapers written for Redis keep working. Output goes to stdout or the `logfile`; a mutex
//! serialises writers (logging is rare and off the hot path).

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

impl Level {
    pub fn parse(s: &str) -> Level {
        match s {
            "debug" => Level::Debug,
            "verbose" => Level::Verbose,
            "warning" => Level::Warning,
            _ => Level::Notice,
        }
    }
    fn marker(self) -> char {
        match self {
            Level::Debug => '.',
            Level::Verbose => '-',
            Level::Notice => '*',
            Level::Warning => '#',
        }
    }
}

static MIN_LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);

pub fn set_level(l: Level) {
    MIN_LEVEL.store(l as u8, Ordering::Relaxed);
}

/// Sends logs to `path` (empty: stdout).
pub fn set_file(path: &str) -> std::io::Result<()> {
    let f = if path.is_empty() {
        None
    } else {
        Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        )
    };
    *FILE.lock().unwrap_or_else(|e| e.into_inner()) = f;
    Ok(())
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0u8; 64];
    // SAFETY: localtime_r writes into our `tm`; strftime writes at most buf.len() bytes.
    let n = unsafe {
        libc::localtime_r(&secs, &mut tm);
        libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%d %b %Y %H:%M:%S".as_ptr(),
            &tm,
        )
    };
    format!(
        "{}.{:03}",
        String::from_utf8_lossy(&buf[..n]),
        now.subsec_millis()
    )
}

/// One warning line as a tool (role `C`) prints it: `pid:C <time> # msg` (the check tools'
/// fatal manifest errors).
pub fn tool_warning_line(msg: &str) -> String {
    format!(
        "{}:C {} {} {}",
        std::process::id(),
        timestamp(),
        Level::Warning.marker(),
        msg
    )
}

pub fn log(level: Level, msg: &str) {
    if (level as u8) < MIN_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let line = format!(
        "{}:M {} {} {}\n",
        std::process::id(),
        timestamp(),
        level.marker(),
        msg
    );
    let mut f = FILE.lock().unwrap_or_else(|e| e.into_inner());
    match f.as_mut() {
        Some(file) => {
            let _ = file.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stdout().write_all(line.as_bytes());
        }
    }
}

#[macro_export]
macro_rules! notice { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Notice, &format!($($t)*)) } }
#[macro_export]
macro_rules! warning { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Warning, &format!($($t)*)) } }
#[macro_export]
macro_rules! verbose { ($($t:tt)*) => { $crate::log::log($crate::log::Level::Verbose, &format!($($t)*)) } }
