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

use std::collections::BTreeMap;

use crate::util::{glob_match, split_args_line};

/// How a directive's value is parsed and validated.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    Int(i64, i64),
    /// Bytes with optional k/kb/m/mb/g/gb suffix; CONFIG GET shows plain bytes.
    Memory(i64, i64),
    Enum(&'static [&'static str]),
    Str,
    /// Multi-word value kept as given, words joined by one space (save, bind, ...).
    Words,
}

pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    /// False for directives only settable at startup ("can't set immutable config").
    pub mutable: bool,
}

const fn d(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable: true,
    }
}
const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable: false,
    }
}
const fn aliased(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Directive {
    Directive {
        name,
        alias: Some(alias),
        kind,
        default,
        mutable: true,
    }
}

const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

pub static DIRECTIVES: &[Directive] = &[
    fixed("port", Kind::Int(0, 65535), "6379"),
    Directive {
        name: "bind",
        alias: None,
        kind: Kind::Words,
        default: "* -::*",
        mutable: true,
    },
    d("protected-mode", Kind::Bool, "yes"),
    fixed("databases", Kind::Int(1, INT_MAX), "16"),
    d("timeout", Kind::Int(0, INT_MAX), "0"),
    d("tcp-keepalive", Kind::Int(0, INT_MAX), "300"),
    fixed("tcp-backlog", Kind::Int(0, INT_MAX), "511"),
    d("maxclients", Kind::Int(1, INT_MAX), "10000"),
    d("requirepass", Kind::Str, ""),
    d("dir", Kind::Str, ""),
    fixed("logfile", Kind::Str, ""),
    d(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
        "notice",
    ),
    fixed("daemonize", Kind::Bool, "no"),
    d("pidfile", Kind::Str, ""),
    d("hz", Kind::Int(0, INT_MAX), "10"),
    d("dynamic-hz", Kind::Bool, "yes"),
    d(
        "proto-max-bulk-len",
        Kind::Memory(1024 * 1024, LONG_MAX),
        "536870912",
    ),
    d(
        "client-query-buffer-limit",
        Kind::Memory(1024 * 1024, LONG_MAX),
        "1073741824",
    ),
    d("save", Kind::Words, "3600 1 300 100 60 10000"),
    d("dbfilename", Kind::Str, "dump.rdb"),
    d("appendonly", Kind::Bool, "no"),
    d("maxmemory", Kind::Memory(0, LONG_MAX), "0"),
    d(
        "maxmemory-policy",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
    ),
    d("lfu-log-factor", Kind::Int(0, INT_MAX), "10"),
    d("lfu-decay-time", Kind::Int(0, INT_MAX), "1"),
    d("active-expire-effort", Kind::Int(1, 10), "1"),
    d("lazyfree-lazy-user-del", Kind::Bool, "no"),
    d("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    aliased("replica-read-only", "slave-read-only", Kind::Bool, "yes"),
    d("notify-keyspace-events", Kind::Str, ""),
    d("slowlog-log-slower-than", Kind::Int(-1, LONG_MAX), "10000"),
    d("slowlog-max-len", Kind::Int(0, LONG_MAX), "128"),
    fixed("unixsocket", Kind::Str, ""),
    fixed(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    ),
];

/// A configuration problem, with Redis's wording.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError(pub String);

/// Parses a memory value like Redis's `memtoull`: digits with an optional unit.
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1i64 << 30),
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
    if num.is_empty() || !num.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    num.parse::<i64>().ok()?.checked_mul(mul)
}

impl Kind {
    /// Validates `value` and returns its canonical form.
    fn canonical(&self, value: &str) -> Result<String, ConfigError> {
        let err = |m: &str| Err(ConfigError(m.to_string()));
        match *self {
            Kind::Bool => match value.to_ascii_lowercase().as_str() {
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => err("argument must be 'yes' or 'no'"),
            },
            Kind::Int(min, max) => {
                let Some(n) = crate::util::parse_int(value.as_bytes()) else {
                    return err("argument couldn't be parsed into an integer");
                };
                if n < min || n > max {
                    return err(&format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Ok(n.to_string())
            }
            Kind::Memory(min, max) => {
                let Some(n) = parse_memory(value) else {
                    return err("argument must be a memory value");
                };
                if n < min || n > max {
                    return err(&format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                Ok(n.to_string())
            }
            Kind::Enum(opts) => {
                let v = value.to_ascii_lowercase();
                if opts.contains(&v.as_str()) {
                    Ok(v)
                } else {
                    err(&format!(
                        "argument(s) must be one of the following: {}",
                        opts.join(", ")
                    ))
                }
            }
            Kind::Str | Kind::Words => Ok(value.to_string()),
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
}

impl Default for Config {
    fn default() -> Self {
        let values = DIRECTIVES
            .iter()
            .map(|d| (d.name, d.default.to_string()))
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
        };
        c.apply();
        c
    }
}

impl Config {
    /// Current canonical value of a directive.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    fn int(&self, name: &str) -> i64 {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
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
    }

    /// Sets one directive from its words. Used by file loading and CONFIG SET.
    pub fn set(&mut self, name: &str, words: &[String], startup: bool) -> Result<(), ConfigError> {
        let Some(dir) = find_directive(name) else {
            return Err(ConfigError(
                "Bad directive or wrong number of arguments".into(),
            ));
        };
        if !startup && !dir.mutable {
            return Err(ConfigError("can't set immutable config".into()));
        }
        let value = match dir.kind {
            Kind::Words => words.join(" "),
            _ if words.len() == 1 => words[0].clone(),
            _ => {
                return Err(ConfigError(
                    "Bad directive or wrong number of arguments".into(),
                ))
            }
        };
        let canonical = dir.kind.canonical(&value)?;
        if dir.name == "dir" && !canonical.is_empty() {
            std::env::set_current_dir(&canonical)
                .map_err(|e| ConfigError(format!("No such file or directory - {e}")))?;
        }
        self.values.insert(dir.name, canonical);
        self.apply();
        Ok(())
    }

    /// Directives whose name matches a glob, with values (CONFIG GET).
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for d in DIRECTIVES {
            let matches_name = glob_match(pattern, d.name.as_bytes(), true);
            let matches_alias = d
                .alias
                .is_some_and(|a| glob_match(pattern, a.as_bytes(), true));
            if matches_name || matches_alias {
                let v = if d.name == "dir" {
                    std::env::current_dir()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                } else {
                    self.values[d.name].clone()
                };
                if matches_name {
                    out.push((d.name, v.clone()));
                }
                if let (true, Some(a)) = (matches_alias, d.alias) {
                    out.push((a, v));
                }
            }
        }
        out
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
    // Command-line options become config lines appended after the file, as in Redis.
    let mut extra = String::new();
    while i < args.len() {
        let a = &args[i];
        if let Some(name) = a.strip_prefix("--") {
            if !extra.is_empty() {
                extra.push('\n');
            }
            extra.push_str(name);
        } else {
            extra.push(' ');
            extra.push_str(&quote_word(a));
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

fn quote_word(w: &str) -> String {
    if !w.is_empty()
        && !w
            .bytes()
            .any(|c| c.is_ascii_whitespace() || c == b'"' || c == b'\'' || c == b'\\')
    {
        return w.to_string();
    }
    let mut s = String::from("\"");
    for c in w.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c);
            }
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn read_with_includes(path: &std::path::Path, depth: usize) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "Fatal error, can't open config file '{}': {}",
            path.display(),
            e
        )
    })?;
    if depth > 16 {
        return Ok(text);
    }
    let mut out = String::new();
    for line in text.lines() {
        let words = split_args_line(line.trim()).unwrap_or_default();
        if words.len() == 2 && words[0].eq_ignore_ascii_case("include") {
            out.push_str(&read_with_includes(
                std::path::Path::new(&words[1]),
                depth + 1,
            )?);
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// Applies config text line by line; the first error is fatal.
pub fn load_text(cfg: &mut Config, text: &str) -> Result<(), String> {
    let mut save_reset = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(words) = split_args_line(line) else {
            return Err(fatal_message(
                n + 1,
                line,
                "Unbalanced quotes in configuration line",
            ));
        };
        if words.is_empty() {
            continue;
        }
        let name = words[0].to_ascii_lowercase();
        let args = &words[1..];
        if args.is_empty() {
            return Err(fatal_message(
                n + 1,
                line,
                "Bad directive or wrong number of arguments",
            ));
        }
        // `save` lines accumulate in a file; the first one replaces the default.
        let result = if name == "save" {
            let mut words: Vec<String> = args.to_vec();
            if save_reset && !(args.len() == 1 && args[0].is_empty()) {
                let prev = cfg.get("save").unwrap_or("").to_string();
                if !prev.is_empty() {
                    words.insert(0, prev);
                }
            }
            save_reset = true;
            if words.len() == 1 && words[0].is_empty() {
                cfg.set("save", &[String::new()], true)
            } else {
                cfg.set("save", &words, true)
            }
        } else {
            cfg.set(&name, args, true)
        };
        if let Err(e) = result {
            return Err(fatal_message(n + 1, line, &e.0));
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
        assert!(e.contains(">>> 'foo bar'\nBad directive"), "{e}");
    }

    #[test]
    fn save_lines_accumulate() {
        let mut c = Config::default();
        load_text(&mut c, "save 900 1\nsave 300 10\n").unwrap();
        assert_eq!(c.get("save"), Some("900 1 300 10"));
    }
}
