//! Configuration: redis.conf syntax, command-line directives, CONFIG GET/SET storage.
//!
//! Every directive is described once in [`DIRECTIVES`] (name, alias, kind, default,
//! mutability). Values are kept in canonical string form (what CONFIG GET prints: memory in
//! bytes, booleans as yes/no) in one map; after each change [`Config::apply`] refreshes the typed
//! fields that hot paths read (`proto_max_bulk_len`, `hz`, ...). So adding a directive is one
//! table row, plus a typed field only if code reads it often.
//!
//! Loading follows Redis: the config file (with `include`) first, then `--name value ...`
//! arguments; the first bad line is a fatal error printed in Redis's format, exit code 1.
//! Directives with their own syntax (`save` pairs, per-class `client-output-buffer-limit`,
//! `notify-keyspace-events` flags, ...) are [`Special`] kinds validated here. CONFIG SET
//! validates every pair before changing anything ([`Config::set_many`]).
//!
//! The table itself is in `config/table.rs`; CONFIG REWRITE in `config/rewrite.rs`.

use std::collections::BTreeMap;

use crate::util::{glob_match, split_args_line};

mod rewrite;
mod table;

pub use rewrite::rewrite;
pub use table::DIRECTIVES;

/// How a directive's value is parsed and validated.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    Int(i64, i64),
    /// Bytes with optional k/kb/m/mb/g/gb suffix; CONFIG GET shows plain bytes.
    Memory(i64, i64),
    /// A memory value allowed up to u64::MAX (maxmemory).
    UMemory,
    Enum(&'static [&'static str]),
    /// Several words from a fixed set (shutdown-on-sigterm "save now").
    Flags(&'static [&'static str]),
    /// An octal number (unixsocketperm).
    Octal,
    Str,
    /// A directive with its own syntax.
    Special(Special),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    Save,
    Bind,
    Dir,
    ClientOutputBufferLimit,
    NotifyKeyspaceEvents,
    OomScoreAdj,
    ReplicaOf,
    Percentiles,
    MemoryOrPercent,
}

pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    /// False for directives only settable at startup ("can't set immutable config").
    pub mutable: bool,
    /// Settable only with enable-protected-configs ("can't set protected config").
    pub protected: bool,
    /// Left out of `CONFIG GET *` (debugging knobs); exact names still work.
    pub hidden: bool,
}

impl Directive {
    const fn hide(self) -> Directive {
        Directive {
            hidden: true,
            ..self
        }
    }
}

/// A configuration problem, with Redis's wording.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

fn cerr<T>(m: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(m.into()))
}

/// Parses a memory value like Redis's `memtoull`: digits with an optional unit (k = 1000,
/// kb = 1024, ...); an empty number is 0. None if malformed or beyond u64.
pub fn parse_memory_u64(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mul)| lower.strip_suffix(suffix).map(|n| (n.to_string(), *mul)))
    .unwrap_or((lower.clone(), 1));
    if num.is_empty() {
        return Some(0);
    }
    if !num.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mul)
}

/// [`parse_memory_u64`] limited to i64.
pub fn parse_memory(s: &str) -> Option<i64> {
    parse_memory_u64(s).and_then(|v| i64::try_from(v).ok())
}

/// The C library's text for an I/O error ("No such file or directory"), as Redis prints it.
pub fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        // SAFETY: strerror returns a pointer to a static NUL-terminated string.
        Some(code) => unsafe {
            std::ffi::CStr::from_ptr(libc::strerror(code))
                .to_string_lossy()
                .into_owned()
        },
        None => e.to_string(),
    }
}

/// The most file descriptors this process may open: raises the soft limit to the hard one
/// (as Redis does for maxclients) and returns the result.
pub fn open_files_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut r: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return u64::MAX;
        }
        if r.rlim_cur < r.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                r.rlim_cur = r.rlim_max;
            }
        }
        r.rlim_cur as u64
    }
}

/// Checks a proc-title-template: only known `{variables}`, balanced braces, and a non-empty
/// result when `{title}` expands to nothing (Redis's validation).
fn valid_title_template(t: &str) -> bool {
    const VARS: &[&str] = &[
        "title",
        "listen-addr",
        "server-mode",
        "port",
        "tls-port",
        "unixsocket",
        "config-file",
    ];
    let mut rest = t;
    let mut nonempty = false;
    while !rest.is_empty() {
        match rest.find(['{', '}']) {
            None => {
                nonempty = true;
                break;
            }
            Some(i) => {
                nonempty |= i > 0;
                if rest.as_bytes()[i] == b'}' {
                    return false;
                }
                let after = &rest[i + 1..];
                let Some(end) = after.find('}') else {
                    return false;
                };
                let var = &after[..end];
                if !VARS.contains(&var) {
                    return false;
                }
                nonempty |= var != "title" && var != "unixsocket" && var != "config-file";
                rest = &after[end + 1..];
            }
        }
    }
    nonempty
}

/// Notification classes in the order Redis prints them; `A` stands for the first ten.
const NOTIFY_CLASSES: &str = "g$lshzxetd";

/// Validates a notify-keyspace-events flag string and returns Redis's canonical spelling.
fn canonical_notify(v: &str) -> Result<String, ConfigError> {
    let mut set = std::collections::BTreeSet::new();
    for c in v.chars() {
        match c {
            'A' => set.extend(NOTIFY_CLASSES.chars()),
            'g' | '$' | 'l' | 's' | 'h' | 'z' | 'x' | 'e' | 't' | 'd' | 'K' | 'E' | 'm' | 'n' => {
                set.insert(c);
            }
            _ => return cerr("Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        }
    }
    let mut out = String::new();
    if NOTIFY_CLASSES.chars().all(|c| set.contains(&c)) {
        out.push('A');
    } else {
        out.extend(NOTIFY_CLASSES.chars().filter(|c| set.contains(c)));
    }
    // Redis 7.0 accepts `n` (new-key events) but leaves it out when printing the flags.
    out.extend("KEm".chars().filter(|c| set.contains(c)));
    Ok(out)
}

const COBL_DEFAULT: &str = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

/// Merges `client-output-buffer-limit` words (class hard soft seconds ...) into `current`.
fn merge_cobl(current: &str, words: &[&str]) -> Result<String, ConfigError> {
    if words.is_empty() || !words.len().is_multiple_of(4) {
        return cerr("Wrong number of arguments in buffer limit configuration.");
    }
    let cur: Vec<&str> = current.split(' ').collect();
    let mut classes: Vec<[String; 3]> = (0..3)
        .map(|i| {
            let base = i * 4 + 1;
            [0, 1, 2].map(|j| cur.get(base + j).unwrap_or(&"0").to_string())
        })
        .collect();
    for group in words.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "replica" | "slave" => 1,
            "pubsub" => 2,
            _ => return cerr("Invalid client class specified in buffer limit configuration."),
        };
        let hard = parse_memory(group[1]);
        let soft = parse_memory(group[2]);
        let secs = crate::util::parse_int(group[3].as_bytes()).filter(|s| *s >= 0);
        let (Some(h), Some(s), Some(t)) = (hard, soft, secs) else {
            return cerr(
                "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
            );
        };
        classes[class] = [h.to_string(), s.to_string(), t.to_string()];
    }
    Ok(["normal", "slave", "pubsub"]
        .iter()
        .zip(classes)
        .map(|(n, [h, s, t])| format!("{n} {h} {s} {t}"))
        .collect::<Vec<_>>()
        .join(" "))
}

/// Formats a percentile as Redis does (`%f` without trailing zeros).
fn fmt_percentile(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

impl Kind {
    /// Validates the words of a directive and returns its canonical value. `current` is the
    /// present value (for directives that merge, like client-output-buffer-limit).
    fn canonical(&self, words: &[&str], current: &str) -> Result<String, ConfigError> {
        let single = || -> Result<&str, ConfigError> {
            match words {
                [w] => Ok(*w),
                _ => cerr("wrong number of arguments"),
            }
        };
        match *self {
            Kind::Bool => match single()?.to_ascii_lowercase().as_str() {
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => cerr("argument must be 'yes' or 'no'"),
            },
            Kind::Int(min, max) => {
                let Some(n) = crate::util::parse_int(single()?.as_bytes()) else {
                    return cerr("argument couldn't be parsed into an integer");
                };
                if n < min || n > max {
                    return cerr(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Ok(n.to_string())
            }
            Kind::UMemory => match parse_memory_u64(single()?) {
                Some(n) => Ok(n.to_string()),
                None => cerr("argument must be a memory value"),
            },
            Kind::Memory(min, max) => {
                let Some(n) = parse_memory_u64(single()?) else {
                    return cerr("argument must be a memory value");
                };
                let n = i128::from(n);
                if n < i128::from(min) || n > i128::from(max) {
                    return cerr(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Ok(n.to_string())
            }
            Kind::Octal => {
                let w = single()?;
                match i64::from_str_radix(w, 8) {
                    Ok(n) if !w.starts_with('+') && !w.starts_with('-') => {
                        if n > 0o777 {
                            cerr("argument must be between 0 and 777 inclusive")
                        } else {
                            Ok(format!("{n:o}"))
                        }
                    }
                    _ => cerr("argument couldn't be parsed as an octal number"),
                }
            }
            Kind::Enum(opts) => {
                let v = single()?.to_ascii_lowercase();
                if opts.contains(&v.as_str()) {
                    // oom-score-adj: "relative" is another name for "yes" and prints as such.
                    Ok(if v == "relative" { "yes".into() } else { v })
                } else {
                    cerr(format!(
                        "argument(s) must be one of the following: {}",
                        opts.join(", ")
                    ))
                }
            }
            Kind::Flags(opts) => {
                let mut out: Vec<String> = Vec::new();
                for w in words
                    .iter()
                    .flat_map(|w| w.split(' '))
                    .filter(|w| !w.is_empty())
                {
                    let v = w.to_ascii_lowercase();
                    if !opts.contains(&v.as_str()) {
                        return cerr(format!(
                            "argument(s) must be one of the following: {}",
                            opts.join(", ")
                        ));
                    }
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                if out.is_empty() {
                    return cerr(format!(
                        "argument(s) must be one of the following: {}",
                        opts.join(", ")
                    ));
                }
                // Printed in table order, as Redis prints flag sets.
                let mut sorted: Vec<&str> = opts
                    .iter()
                    .copied()
                    .filter(|o| out.iter().any(|v| v == o))
                    .collect();
                if sorted.len() > 1 {
                    sorted.retain(|o| *o != "default");
                }
                Ok(sorted.join(" "))
            }
            Kind::Str => Ok(single()?.to_string()),
            Kind::Special(sp) => special_canonical(sp, words, current),
        }
    }
}

/// Splits CONFIG SET's single value (or a config line's words) into words.
fn all_words<'a>(words: &[&'a str]) -> Vec<&'a str> {
    words
        .iter()
        .flat_map(|w| w.split(' '))
        .filter(|w| !w.is_empty())
        .collect()
}

fn special_canonical(sp: Special, words: &[&str], current: &str) -> Result<String, ConfigError> {
    let ws = all_words(words);
    match sp {
        Special::Save => {
            if !ws.len().is_multiple_of(2)
                || ws
                    .iter()
                    .any(|w| crate::util::parse_int(w.as_bytes()).is_none_or(|n| n < 0))
            {
                return cerr("Invalid save parameters");
            }
            Ok(ws.join(" "))
        }
        Special::Bind => {
            if ws.len() > 16 {
                return cerr("Too many bind addresses specified.");
            }
            Ok(ws.join(" "))
        }
        Special::Dir => match words {
            [w] => Ok(w.to_string()),
            _ => cerr("wrong number of arguments"),
        },
        Special::ClientOutputBufferLimit if ws.is_empty() => Ok(current.to_string()),
        Special::ClientOutputBufferLimit => merge_cobl(current, &ws),
        Special::NotifyKeyspaceEvents => match words {
            [w] => canonical_notify(w),
            _ => cerr("wrong number of arguments"),
        },
        Special::OomScoreAdj => {
            if ws.len() != 3 {
                return cerr("wrong number of arguments");
            }
            let mut out = Vec::new();
            for w in ws {
                match crate::util::parse_int(w.as_bytes()) {
                    Some(n) if (-2000..=2000).contains(&n) => out.push(n.to_string()),
                    _ => return cerr(
                        "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
                    ),
                }
            }
            Ok(out.join(" "))
        }
        Special::ReplicaOf => {
            if ws.len() == 2
                && ws[0].eq_ignore_ascii_case("no")
                && ws[1].eq_ignore_ascii_case("one")
            {
                return Ok(String::new());
            }
            if ws.len() != 2 {
                return cerr("wrong number of arguments");
            }
            match crate::util::parse_int(ws[1].as_bytes()) {
                Some(p) if (0..=65535).contains(&p) => Ok(format!("{} {}", ws[0], p)),
                _ => cerr("Invalid master port"),
            }
        }
        Special::Percentiles => {
            let mut out = Vec::new();
            for w in ws {
                match crate::util::parse_f64(w.as_bytes()) {
                    Some(v) if (0.0..=100.0).contains(&v) => out.push(fmt_percentile(v)),
                    Some(_) => {
                        return cerr(
                            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
                        )
                    }
                    None => return cerr("Invalid latency-tracking-info-percentiles parameters"),
                }
            }
            Ok(out.join(" "))
        }
        Special::MemoryOrPercent => {
            let [w] = words else {
                return cerr("wrong number of arguments");
            };
            if let Some(p) = w.strip_suffix('%') {
                return match crate::util::parse_int(p.as_bytes()) {
                    Some(n) if (0..=100).contains(&n) => Ok(format!("{n}%")),
                    Some(n) if n > 100 => cerr("percentage argument must be less or equal to 100"),
                    _ => cerr("argument must be a memory or percent value"),
                };
            }
            match parse_memory_u64(w) {
                Some(n) if n > i64::MAX as u64 => {
                    cerr("percentage argument must be less or equal to 100")
                }
                Some(n) => Ok(n.to_string()),
                None => cerr("argument must be a memory or percent value"),
            }
        }
    }
}

pub fn find_directive(name: &str) -> Option<&'static Directive> {
    let name = name.to_ascii_lowercase();
    DIRECTIVES
        .iter()
        .find(|d| d.name == name || d.alias == Some(name.as_str()))
}

/// The server's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// Path of the config file given at startup (INFO config_file), absolute.
    pub config_file: Option<String>,
    // Typed copies of hot values, refreshed by `apply`.
    pub port: u16,
    pub databases: usize,
    pub hz: u32,
    pub timeout_secs: i64,
    pub maxclients: usize,
    pub proto_max_bulk_len: i64,
    pub query_buffer_limit: usize,
    pub requirepass: Option<Vec<u8>>,
    pub protected_mode: bool,
    pub loglevel: crate::log::Level,
    pub lfu_policy: bool,
    pub lfu_log_factor: i64,
    pub lfu_decay_time: i64,
    pub maxmemory: i64,
    /// Commands renamed by `rename-command` at startup (old name → new name, "" = disabled).
    pub renamed_commands: Vec<(String, String)>,
    /// Encoding conversion thresholds, read by every collection write (kept typed so a write
    /// does not look up and parse config strings).
    pub enc: EncodingLimits,
    /// The `pubsub` class of client-output-buffer-limit.
    pub obuf_pubsub: crate::pubsub::Limits,
}

/// The `*-max-listpack-*` / `set-max-intset-entries` / `list-max-listpack-size` thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodingLimits {
    pub hash_entries: usize,
    pub hash_value: usize,
    pub set_intset_entries: usize,
    pub zset_entries: usize,
    pub zset_value: usize,
    /// Negative: node size class in bytes (-2 = 8 KB); positive: entries per node.
    pub list_fill: i32,
    /// `stream-node-max-bytes` and `stream-node-max-entries`.
    pub stream_node_bytes: usize,
    pub stream_node_entries: usize,
}

impl Default for EncodingLimits {
    /// Redis 7.0.15's built-in defaults.
    fn default() -> Self {
        EncodingLimits {
            hash_entries: 512,
            hash_value: 64,
            set_intset_entries: 512,
            zset_entries: 128,
            zset_value: 64,
            list_fill: -2,
            stream_node_bytes: 4096,
            stream_node_entries: 100,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let values = DIRECTIVES
            .iter()
            .map(|d| {
                let v = match d.kind {
                    Kind::Special(Special::ClientOutputBufferLimit) => COBL_DEFAULT,
                    _ => d.default,
                };
                (d.name, v.to_string())
            })
            .collect();
        let mut c = Config {
            values,
            config_file: None,
            port: 6379,
            databases: 16,
            hz: 10,
            timeout_secs: 0,
            maxclients: 10000,
            proto_max_bulk_len: 512 << 20,
            query_buffer_limit: 1 << 30,
            requirepass: None,
            protected_mode: true,
            loglevel: crate::log::Level::Notice,
            lfu_policy: false,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            maxmemory: 0,
            renamed_commands: Vec::new(),
            enc: EncodingLimits::default(),
            obuf_pubsub: crate::pubsub::Limits::default(),
        };
        c.apply();
        c
    }
}

impl Config {
    /// Current canonical value of a directive (by main name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Value as CONFIG GET shows it (dir is the working directory).
    pub fn shown(&self, d: &Directive) -> String {
        if d.name == "dir" {
            return std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
        }
        self.values.get(d.name).cloned().unwrap_or_default()
    }

    fn int(&self, name: &str) -> i64 {
        self.get(name)
            .and_then(|v| v.parse::<i128>().ok())
            .map(|v| v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
            .unwrap_or(0)
    }

    /// Refreshes the typed fields from the value map.
    pub fn apply(&mut self) {
        self.port = self.int("port") as u16;
        self.databases = self.int("databases") as usize;
        self.hz = self.int("hz").clamp(1, 500) as u32;
        self.timeout_secs = self.int("timeout");
        self.maxclients = self.int("maxclients") as usize;
        self.proto_max_bulk_len = self.int("proto-max-bulk-len");
        self.query_buffer_limit = self.int("client-query-buffer-limit") as usize;
        self.requirepass = match self.get("requirepass") {
            Some("") | None => None,
            Some(p) => Some(p.as_bytes().to_vec()),
        };
        self.protected_mode = self.get("protected-mode") == Some("yes");
        self.loglevel = crate::log::Level::parse(self.get("loglevel").unwrap_or("notice"));
        self.lfu_policy = self
            .get("maxmemory-policy")
            .is_some_and(|p| p.ends_with("lfu"));
        self.lfu_log_factor = self.int("lfu-log-factor");
        self.lfu_decay_time = self.int("lfu-decay-time");
        self.maxmemory = self.int("maxmemory");
        self.obuf_pubsub = crate::pubsub::parse_limits(self.get("client-output-buffer-limit"));
        let d = EncodingLimits::default();
        let size = |c: &Config, name: &str, def: usize| {
            c.get(name)
                .and_then(|v| v.parse::<i64>().ok())
                .map_or(def, |n| n.max(0) as usize)
        };
        self.enc = EncodingLimits {
            hash_entries: size(self, "hash-max-listpack-entries", d.hash_entries),
            hash_value: size(self, "hash-max-listpack-value", d.hash_value),
            set_intset_entries: size(self, "set-max-intset-entries", d.set_intset_entries),
            zset_entries: size(self, "zset-max-listpack-entries", d.zset_entries),
            zset_value: size(self, "zset-max-listpack-value", d.zset_value),
            list_fill: self
                .get("list-max-listpack-size")
                .and_then(|v| v.parse::<i64>().ok())
                .map_or(d.list_fill, |v| v.clamp(-5, i32::MAX as i64) as i32),
            stream_node_bytes: size(self, "stream-node-max-bytes", d.stream_node_bytes),
            stream_node_entries: size(self, "stream-node-max-entries", d.stream_node_entries),
        };
    }

    /// Validates a directive's new value without changing anything. Return value: the
    /// directive and the canonical value to store.
    pub fn check(
        &self,
        name: &str,
        words: &[&str],
        startup: bool,
    ) -> Result<(&'static Directive, String), ConfigError> {
        let Some(dir) = find_directive(name) else {
            return cerr("Bad directive or wrong number of arguments");
        };
        if !startup && !dir.mutable {
            return cerr("can't set immutable config");
        }
        if !startup && dir.protected && self.get("enable-protected-configs") != Some("yes") {
            return cerr("can't set protected config");
        }
        let current = self.get(dir.name).unwrap_or("");
        let canonical = dir.kind.canonical(words, current)?;
        if dir.name == "activedefrag" && canonical == "yes" && startup {
            // Configs written for a Redis built with defrag support must still load.
            crate::warning!(
                "activedefrag yes: active defragmentation is not supported, keeping it disabled"
            );
            return Ok((dir, "no".into()));
        }
        if dir.name == "activedefrag" && canonical == "yes" {
            return cerr("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution");
        }
        if dir.name == "proc-title-template" && !valid_title_template(&canonical) {
            return cerr("template format is invalid or contains unknown variables");
        }
        if dir.name == "maxclients" && !startup {
            let wanted = canonical.parse::<u64>().unwrap_or(0) + 32;
            let limit = open_files_limit();
            if wanted > limit {
                return cerr(format!(
                    "The operating system is not able to handle the specified number of clients, try with {}",
                    limit.saturating_sub(32)
                ));
            }
        }
        // TLS is not supported: refuse rather than pretend. (port and bind are rebound by
        // CONFIG SET itself: cmd/server_cmds.rs.)
        if !startup && canonical != current {
            match dir.name {
                "tls-port" => {
                    return cerr("Unable to update TLS configuration. Check server logs.")
                }
                "tls-cluster" | "tls-replication" if canonical == "yes" => {
                    return cerr("Unable to update TLS configuration. Check server logs.")
                }
                _ => {}
            }
        }
        Ok((dir, canonical))
    }

    /// Stores a value returned by [`Config::check`] and applies its side effects.
    pub fn commit(&mut self, dir: &'static Directive, value: String) -> Result<(), ConfigError> {
        if dir.name == "dir" && !value.is_empty() {
            if let Err(e) = std::env::set_current_dir(&value) {
                return cerr(strerror(&e));
            }
        }
        self.values.insert(dir.name, value);
        self.apply();
        Ok(())
    }

    /// Sets one directive from its words. Used by file loading (startup = true).
    pub fn set(&mut self, name: &str, words: &[String], startup: bool) -> Result<(), ConfigError> {
        let ws: Vec<&str> = words.iter().map(String::as_str).collect();
        let (dir, value) = self.check(name, &ws, startup)?;
        self.commit(dir, value)
    }

    /// CONFIG SET with several pairs: everything is validated first, then applied; if applying
    /// fails part way, the earlier values are restored. Err: (argument name, reason).
    pub fn set_many(&mut self, pairs: &[(String, String)]) -> Result<(), (String, ConfigError)> {
        let mut checked = Vec::new();
        for (name, value) in pairs {
            let (dir, v) = self
                .check(name, &[value.as_str()], false)
                .map_err(|e| (name.clone(), e))?;
            checked.push((name, dir, v));
        }
        let backup = self.clone();
        for (name, dir, v) in checked {
            if let Err(e) = self.commit(dir, v) {
                let file = self.config_file.clone();
                *self = backup;
                self.config_file = file;
                return Err((name.clone(), e));
            }
        }
        Ok(())
    }

    /// Directives matching any of the patterns, with values (CONFIG GET). A pattern without
    /// glob characters names one directive exactly (hidden ones too); globs skip hidden ones.
    pub fn matching_many(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for pattern in patterns {
            let is_glob = pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
            for d in DIRECTIVES {
                if is_glob && d.hidden {
                    continue;
                }
                let names = std::iter::once(d.name).chain(d.alias);
                for n in names {
                    let hit = if is_glob {
                        glob_match(pattern, n.as_bytes(), true)
                    } else {
                        pattern.eq_ignore_ascii_case(n.as_bytes())
                    };
                    // An exact name is echoed as the client spelled it, as Redis does.
                    let shown_name = if is_glob {
                        n.to_string()
                    } else {
                        String::from_utf8_lossy(pattern).into_owned()
                    };
                    if hit && !out.iter().any(|(o, _)| *o == shown_name) {
                        out.push((shown_name, self.shown(d)));
                    }
                }
            }
        }
        out
    }

    /// Directives whose name matches a glob, with values (CONFIG GET with one pattern).
    pub fn matching(&self, pattern: &[u8]) -> Vec<(String, String)> {
        self.matching_many(&[pattern])
    }
}

/// A fatal configuration error, formatted as Redis prints it before exiting with code 1.
pub fn fatal_message(line_no: usize, line: &str, err: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line_no}\n>>> '{line}'\n{err}\n"
    )
}

/// Loads configuration from the command line: `[config-file] [--name value ...]`.
/// Return value: the config, or the fatal message to print.
pub fn load(args: &[String]) -> Result<Config, String> {
    let mut cfg = Config::default();
    let mut text = String::new();
    let mut i = 0;
    if let Some(first) = args.first() {
        if !first.starts_with("--") {
            let path = std::path::Path::new(first);
            text = read_with_includes(path, 0)?;
            cfg.config_file = Some(
                std::fs::canonicalize(path)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| first.clone()),
            );
            i = 1;
        }
    }
    // Command-line options become config lines appended after the file, as in Redis: each
    // `--name` starts a line, each value is appended quoted. As in Redis, a `--word` right
    // after an option name is that option's value, except after `--save` (which then means
    // `save ""`).
    let mut extra = String::new();
    let mut had_value = true;
    while i < args.len() {
        let a = &args[i];
        match a.strip_prefix("--") {
            Some(name) if had_value => {
                if !extra.is_empty() {
                    extra.push('\n');
                }
                extra.push_str(name);
                had_value = false;
                if name.eq_ignore_ascii_case("save")
                    && args.get(i + 1).is_none_or(|n| n.starts_with("--"))
                {
                    extra.push_str(" \"\"");
                    had_value = true;
                }
            }
            _ => {
                extra.push(' ');
                extra.push_str(&quote_repr(a));
                had_value = true;
            }
        }
        i += 1;
    }
    if !extra.is_empty() {
        text.push('\n');
        text.push_str(&extra);
    }
    load_text(&mut cfg, &text)?;
    Ok(cfg)
}

/// Quotes a word as Redis's sdscatrepr does: always in double quotes, escapes for the rest.
pub fn quote_repr(w: &str) -> String {
    let mut s = String::from("\"");
    for &c in w.as_bytes() {
        match c {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(c as char);
            }
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            7 => s.push_str("\\a"),
            8 => s.push_str("\\b"),
            c if c.is_ascii_graphic() || c == b' ' => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('"');
    s
}

fn read_with_includes(path: &std::path::Path, depth: usize) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "Permission denied".to_string(),
            _ => e.to_string(),
        };
        format!(
            "Fatal error, can't open config file '{}': {}\n",
            path.display(),
            reason
        )
    })?;
    let _ = depth;
    Ok(text)
}

/// Applies config text line by line; the first error is fatal.
pub fn load_text(cfg: &mut Config, text: &str) -> Result<(), String> {
    load_text_nested(cfg, text, 0)
}

/// `include` loads the named file at that point, as a nested load with its own line numbers.
fn load_text_nested(cfg: &mut Config, text: &str, depth: usize) -> Result<(), String> {
    let mut save_reset = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fatal = |e: &str| fatal_message(n + 1, line, e);
        let Some(words) = split_args_line(line) else {
            return Err(fatal("Unbalanced quotes in configuration line"));
        };
        if words.is_empty() {
            continue;
        }
        let name = words[0].to_ascii_lowercase();
        let args = &words[1..];
        if args.is_empty() {
            return Err(fatal(if find_directive(&name).is_some() {
                "wrong number of arguments"
            } else {
                "Bad directive or wrong number of arguments"
            }));
        }
        let result = match name.as_str() {
            // `save` lines accumulate in a file; the first one replaces the default.
            "save" => {
                let mut ws: Vec<String> = args.to_vec();
                let reset = args.len() == 1 && args[0].is_empty();
                if save_reset && !reset {
                    let prev = cfg.get("save").unwrap_or("").to_string();
                    if !prev.is_empty() {
                        ws.insert(0, prev);
                    }
                }
                save_reset = true;
                cfg.set("save", &ws, true)
            }
            "include" if args.len() == 1 && depth < 16 => {
                let inner = read_with_includes(std::path::Path::new(&args[0]), depth + 1)?;
                load_text_nested(cfg, &inner, depth + 1)?;
                Ok(())
            }
            "rename-command" => {
                if args.len() != 2 {
                    return Err(fatal("Bad directive or wrong number of arguments"));
                }
                if crate::cmd::table().get(args[0].as_bytes()).is_none() {
                    return Err(fatal("No such command in rename-command"));
                }
                cfg.renamed_commands
                    .push((args[0].to_ascii_lowercase(), args[1].to_ascii_lowercase()));
                Ok(())
            }
            // Directives Redis 7.0 still accepts in files and ignores.
            "list-max-ziplist-entries" | "list-max-ziplist-value" | "lua-replicate-commands" => {
                Ok(())
            }
            "user" => {
                crate::warning!(
                    "Ignoring 'user {}' line: ACL users are not supported yet",
                    args[0]
                );
                Ok(())
            }
            "loadmodule" => Err(ConfigError(
                "Modules are not supported by this server (loadmodule)".into(),
            )),
            "sentinel" => Err(ConfigError(
                "sentinel directive while not in sentinel mode".into(),
            )),
            _ => cfg.set(&name, args, true),
        };
        if let Err(e) = result {
            return Err(fatal(&e.0));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line_and_errors() {
        let c = load(&strings(&[
            "--port",
            "7000",
            "--save",
            "",
            "--maxmemory",
            "1mb",
        ]))
        .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.get("save"), Some(""));
        assert_eq!(c.get("maxmemory"), Some("1048576"));
        let e = load(&strings(&["--port", "70000"])).unwrap_err();
        assert!(
            e.contains("argument must be between 0 and 65535 inclusive"),
            "{e}"
        );
        let e = load(&strings(&["--foo", "bar"])).unwrap_err();
        assert_eq!(
            e,
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'foo \"bar\"'\nBad directive or wrong number of arguments\n"
        );
        let e = load(&strings(&["--save", "1"])).unwrap_err();
        assert!(e.contains("Invalid save parameters"), "{e}");
        assert!(load(&strings(&["--loadmodule", "/x.so"])).is_err());
        assert!(load(&strings(&["--user", "default", "on"])).is_ok());
    }

    #[test]
    fn debian_redis_conf_loads() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/debian-redis.conf"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut c = Config::default();
        // The file sets `dir /var/lib/redis`, which may not exist here; drop that one line.
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("dir "))
            .map(|l| format!("{l}\n"))
            .collect();
        load_text(&mut c, &text).unwrap();
        assert_eq!(c.get("daemonize"), Some("yes"));
        assert_eq!(c.get("logfile"), Some("/var/log/redis/redis-server.log"));
    }

    #[test]
    fn special_directives() {
        let mut c = Config::default();
        load_text(
            &mut c,
            "client-output-buffer-limit normal 1mb 2mb 3\nclient-output-buffer-limit replica 1 2 3\nnotify-keyspace-events Exgz$\nslaveof 127.0.0.1 6380\nunixsocketperm 700\n",
        )
        .unwrap();
        assert_eq!(
            c.get("client-output-buffer-limit"),
            Some("normal 1048576 2097152 3 slave 1 2 3 pubsub 33554432 8388608 60")
        );
        assert_eq!(c.get("notify-keyspace-events"), Some("g$zxE"));
        assert_eq!(c.get("replicaof"), Some("127.0.0.1 6380"));
        assert_eq!(c.get("unixsocketperm"), Some("700"));
        assert!(load_text(&mut c, "notify-keyspace-events Q\n").is_err());
        assert!(load_text(&mut c, "oom-score-adj-values 1 2 3000\n").is_err());
    }

    #[test]
    fn rewrite_keeps_comments() {
        let dir = std::env::temp_dir().join(format!("cinnabar-rw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.conf");
        std::fs::write(
            &path,
            "# hello\nhz 15\nsave 900 1\nsave 300 10\nfoo-comment-kept\n",
        )
        .ok();
        std::fs::write(&path, "# hello\nhz 15\nsave 900 1\nsave 300 10\n").unwrap();
        let mut c = load(&[path.display().to_string()]).unwrap();
        c.set("hz", &["20".into()], false).unwrap();
        c.set("maxmemory", &["2mb".into()], false).unwrap();
        rewrite(&c).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!(
                "# hello\nhz 20\nsave 900 1\nsave 300 10\n\n# Generated by CONFIG REWRITE\ndir {}\nmaxmemory 2mb\nlatency-tracking-info-percentiles 50 99 99.9\nuser default on nopass ~* &* +@all\n",
                quote_repr(&std::env::current_dir().unwrap().display().to_string())
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn old_style_deployment_lines() {
        let mut c = Config::default();
        let text = "slave-read-only yes\nslaveof 10.0.0.1 6379\nhash-max-ziplist-entries 256\n\
            list-max-ziplist-size -2\nlist-max-ziplist-entries 512\nlua-time-limit 5000\n\
            client-output-buffer-limit slave 256mb 64mb 60\nsave 900 1\nsave 300 10\n\
            rename-command CONFIG \"\"\nrepl-backlog-size 1mb\nmaxmemory-policy volatile-lru\n\
            supervised systemd\nunixsocket /tmp/x.sock\nunixsocketperm 700\nrequirepass foobared\n\
            masterauth x\nmin-slaves-to-write 3\nactivedefrag yes\nio-threads 4\n\
            bind 127.0.0.1 -::1\nuser alice on >pw ~* +@all\nlatency-tracking-info-percentiles 50 99\n";
        load_text(&mut c, text).unwrap();
        assert_eq!(c.get("hash-max-listpack-entries"), Some("256"));
        assert_eq!(c.get("busy-reply-threshold"), Some("5000"));
        assert_eq!(c.get("save"), Some("900 1 300 10"));
        assert_eq!(c.get("min-replicas-to-write"), Some("3"));
        assert_eq!(c.get("bind"), Some("127.0.0.1 -::1"));
        assert_eq!(
            c.renamed_commands,
            vec![("config".to_string(), String::new())]
        );
        let e = load_text(&mut c, "vm-enabled no\n").unwrap_err();
        assert!(e.contains("Bad directive"), "{e}");
    }

    #[test]
    fn includes_and_command_line_quirks() {
        let dir = std::env::temp_dir().join(format!("cinnabar-inc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let inner = dir.join("inner.conf");
        let outer = dir.join("outer.conf");
        std::fs::write(&inner, "timeout 7\n").unwrap();
        std::fs::write(
            &outer,
            format!("hz 12\ninclude {}\nfoo bar\n", inner.display()),
        )
        .unwrap();
        // The bad line keeps its own line number (3) despite the include before it.
        let e = load(&[outer.display().to_string()]).unwrap_err();
        assert!(e.contains("at line 3\n>>> 'foo bar'"), "{e}");
        std::fs::write(&outer, format!("hz 12\ninclude {}\n", inner.display())).unwrap();
        let c = load(&[outer.display().to_string()]).unwrap();
        assert_eq!((c.get("hz"), c.get("timeout")), (Some("12"), Some("7")));
        // `--save` followed by another option means `save ""`.
        let c = load(&strings(&["--save", "--hz", "5"])).unwrap();
        assert_eq!((c.get("save"), c.get("hz")), (Some(""), Some("5")));
        // A `--word` right after an option name is its value.
        let e = load(&strings(&["--include", "--port", "1"])).unwrap_err();
        assert!(e.contains(">>> 'include \"--port\" \"1\"'"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn memory_values_like_memtoull() {
        assert_eq!(parse_memory_u64(""), Some(0));
        assert_eq!(parse_memory_u64("1k"), Some(1000));
        assert_eq!(parse_memory_u64("1KB"), Some(1024));
        assert_eq!(parse_memory_u64("2gb"), Some(2 << 30));
        assert_eq!(parse_memory_u64("-1"), None);
        assert_eq!(parse_memory_u64("1x"), None);
        assert_eq!(parse_memory_u64("18446744073709551616"), None);
        assert_eq!(parse_memory("9223372036854775808"), None);
    }

    #[test]
    fn save_lines_accumulate() {
        let mut c = Config::default();
        load_text(&mut c, "save 900 1\nsave 300 10\n").unwrap();
        assert_eq!(c.get("save"), Some("900 1 300 10"));
    }
}
