//! Differential tests: the same commands to Cinnabar and to redis-server, replies compared.
//!
//! Case files live in `tests/cases/*.txt`. Each file runs on fresh connections to each server
//! after `FLUSHALL`, in both RESP2 and RESP3 (unless it sets a protocol itself). One command per
//! line, written with inline-command quoting (`SET k "a b"`, `"\x00"` for binary). Lines:
//! - `CMD ...`          send on the main connection, read the reply; replies must be identical
//!   (after re-encoding both the same way);
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
//! **Several connections.** Most remaining bugs live between connections (blocked clients,
//! WATCH, pauses, busy scripts, kills), so a case can drive named connections besides the main
//! one. A name is a word of letters and digits; the connection opens on first use (and sends
//! `HELLO 3` in a RESP3 run):
//! - `a: CMD ...`       send on `a` and read its reply (like a main-connection line);
//! - `a> CMD ...`       send on `a` without reading (a blocking command, a busy script);
//! - `a<` / `a< MS`     read one frame on `a`, waiting at most MS ms (default 5000). "No reply
//!   within MS ms" and "connection closed" are outcomes compared like replies, so
//!   `a< 100` on both servers' silence passes and on one server's reply fails;
//! - `@blocked a`       wait (up to 5 s) until both servers list `a` as blocked (`flags=b`),
//!   so the next line cannot overtake `a`'s blocking command on the other socket;
//! - `@close a`         close `a` and wait until both servers have dropped it;
//! - `$id:a`            anywhere in a command: `a`'s client id on that server (CLIENT KILL ID).
//!
//! The line modes (`@sort`, `@type`, `@any`) also prefix `a:` and `a<` lines.
//!
//! Run a subset with `CASES=string cargo test --test it differential`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cinnabar_resp::Frame;

use super::harness::{show, start_cinnabar, start_redis, Conn, Got};

/// How long `a<` waits when the line gives no time.
const DEFAULT_READ_MS: u64 = 5000;
/// How long `@blocked` and `@close` wait for the servers to show the state.
const STATE_WAIT: Duration = Duration::from_secs(5);

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

fn show_got(g: &Got) -> String {
    match g {
        Got::Frame(f) => show(f),
        Got::Nothing => "(no reply)".into(),
        Got::Closed => "(connection closed)".into(),
    }
}

/// Compares two outcomes under a line mode.
fn same(mode: &str, a: &Got, b: &Got) -> bool {
    match (a, b) {
        (Got::Frame(x), Got::Frame(y)) => match mode {
            "@sort" => normalize_sorted(x.clone()) == normalize_sorted(y.clone()),
            "@type" => same_shape(x, y),
            "@any" => true,
            _ => x == y,
        },
        _ => a == b,
    }
}

/// One server's side of a case: its port, main connection, named connections and their ids.
struct Side {
    port: u16,
    resp3: bool,
    conns: BTreeMap<String, Conn>,
    ids: BTreeMap<String, i64>,
    /// A connection of the runner's own for state polls (`@blocked`, `@close`).
    admin: Option<Conn>,
}

impl Side {
    fn new(port: u16, resp3: bool) -> Side {
        let mut main = Conn::connect(port);
        main.cmd("FLUSHALL");
        if resp3 {
            main.cmd("HELLO 3");
        }
        let mut conns = BTreeMap::new();
        conns.insert("main".to_string(), main);
        Side {
            port,
            resp3,
            conns,
            ids: BTreeMap::new(),
            admin: None,
        }
    }

    /// The named connection, opened on first use.
    fn conn(&mut self, name: &str) -> &mut Conn {
        if !self.conns.contains_key(name) {
            let mut c = Conn::connect(self.port);
            if self.resp3 {
                c.cmd("HELLO 3");
            }
            if let Frame::Integer(id) = c.cmd("CLIENT ID") {
                self.ids.insert(name.to_string(), id);
            }
            self.conns.insert(name.to_string(), c);
        }
        self.conns.get_mut(name).unwrap()
    }

    /// `cmd` with every `$id:name` replaced by that connection's id on this server.
    fn substitute(&mut self, cmd: &str) -> String {
        let mut out = String::new();
        let mut rest = cmd;
        while let Some(at) = rest.find("$id:") {
            out.push_str(&rest[..at]);
            let tail = &rest[at + 4..];
            let len = tail
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(tail.len());
            let name = &tail[..len];
            self.conn(name);
            out.push_str(&self.ids.get(name).copied().unwrap_or(-1).to_string());
            rest = &tail[len..];
        }
        out.push_str(rest);
        out
    }

    fn admin(&mut self) -> &mut Conn {
        let port = self.port;
        self.admin.get_or_insert_with(|| Conn::connect(port))
    }

    /// This server's CLIENT LIST line for connection `name` ("" when it is not listed).
    fn client_line(&mut self, name: &str) -> Option<String> {
        let id = *self.ids.get(name)?;
        match self.admin().cmd(&format!("CLIENT LIST ID {id}")) {
            Frame::Bulk(b) | Frame::Verbatim(b) => Some(String::from_utf8_lossy(&b).into()),
            _ => None,
        }
    }

    /// Waits until `test` holds for `name`'s CLIENT LIST line; false on timeout.
    fn wait_for(&mut self, name: &str, test: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + STATE_WAIT;
        while Instant::now() < deadline {
            if let Some(line) = self.client_line(name) {
                if test(&line) {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }
}

/// A parsed case line.
enum Step<'a> {
    /// Send `cmd` on `conn`; read and compare the reply unless `read` is false.
    Send {
        conn: &'a str,
        cmd: &'a str,
        read: bool,
    },
    /// Read one frame on `conn` within `ms`.
    Read {
        conn: &'a str,
        ms: u64,
    },
    Sleep(u64),
    Blocked(&'a str),
    Close(&'a str),
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Splits `a: CMD`, `a> CMD`, `a<`, `a< MS` into their step; anything else is a main line.
fn parse_step(line: &str) -> Result<Step<'_>, String> {
    if let Some(ms) = line.strip_prefix("@sleep ") {
        return ms
            .trim()
            .parse()
            .map(Step::Sleep)
            .map_err(|_| format!("bad @sleep: {line}"));
    }
    if let Some(name) = line.strip_prefix("@blocked ") {
        return Ok(Step::Blocked(name.trim()));
    }
    if let Some(name) = line.strip_prefix("@close ") {
        return Ok(Step::Close(name.trim()));
    }
    if line == "@read" {
        return Ok(Step::Read {
            conn: "main",
            ms: 10_000,
        });
    }
    let word_end = line.find([':', '>', '<']).unwrap_or(0);
    let (name, rest) = line.split_at(word_end);
    if is_name(name) {
        if let Some(cmd) = rest.strip_prefix(": ") {
            return Ok(Step::Send {
                conn: name,
                cmd: cmd.trim(),
                read: true,
            });
        }
        if let Some(cmd) = rest.strip_prefix("> ") {
            return Ok(Step::Send {
                conn: name,
                cmd: cmd.trim(),
                read: false,
            });
        }
        if let Some(ms) = rest.strip_prefix('<') {
            let ms = ms.trim();
            let ms = if ms.is_empty() {
                DEFAULT_READ_MS
            } else {
                ms.parse().map_err(|_| format!("bad read wait: {line}"))?
            };
            return Ok(Step::Read { conn: name, ms });
        }
    }
    Ok(Step::Send {
        conn: "main",
        cmd: line,
        read: true,
    })
}

/// Runs one case file on fresh connections; returns the mismatches found.
fn run_file(name: &str, text: &str, ours: u16, theirs: u16, resp3: bool) -> Vec<String> {
    let mut failures = Vec::new();
    let mut sides = [Side::new(ours, resp3), Side::new(theirs, resp3)];
    // The previous file's connections must be gone (their subscriptions counted by PUBSUB
    // NUMSUB, their names in CLIENT LIST): wait until each server lists only this client.
    for s in sides.iter_mut() {
        let c = s.conn("main");
        for _ in 0..200 {
            match c.cmd("CLIENT LIST") {
                Frame::Bulk(list) | Frame::Verbatim(list)
                    if list.iter().filter(|&&ch| ch == b'\n').count() <= 1 =>
                {
                    break
                }
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
    let proto = if resp3 { "RESP3" } else { "RESP2" };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("@resp") {
            continue;
        }
        let at = format!("{name}:{} [{proto}]", n + 1);
        let (mode, body) = match line.split_once(' ') {
            Some((m @ ("@sort" | "@type" | "@any"), rest)) => (m, rest.trim()),
            _ => ("", line),
        };
        let step = match parse_step(body) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{at}: {e}"));
                return failures;
            }
        };
        let (conn, wait, shown) = match step {
            Step::Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(ms));
                continue;
            }
            Step::Blocked(c) => {
                for (i, s) in sides.iter_mut().enumerate() {
                    s.conn(c);
                    if !s.wait_for(c, |l| client_flags(l).contains('b')) {
                        let who = ["cinnabar", "redis"][i];
                        failures.push(format!("{at} @blocked {c}: not blocked on {who}"));
                        return failures;
                    }
                }
                continue;
            }
            Step::Close(c) => {
                for s in sides.iter_mut() {
                    s.conns.remove(c);
                    // Waiting needs the id, which stays known after the close.
                    let _ = s.wait_for(c, |l| l.is_empty());
                    s.ids.remove(c);
                }
                continue;
            }
            Step::Send { conn, cmd, read } => {
                let mut sent = true;
                for s in sides.iter_mut() {
                    let cmd = s.substitute(cmd);
                    let Some(argv) = cinnabar_resp::parse::split_args(cmd.as_bytes()) else {
                        sent = false;
                        break;
                    };
                    s.conn(conn).send(&argv);
                }
                if !sent {
                    failures.push(format!("{at}: unbalanced quotes in case line"));
                    continue;
                }
                if !read {
                    continue;
                }
                (conn, Duration::from_secs(10), format!("`{cmd}`"))
            }
            Step::Read { conn, ms } => (conn, Duration::from_millis(ms), format!("{conn}<")),
        };
        let ga = sides[0].conn(conn).read_within(wait);
        let gb = sides[1].conn(conn).read_within(wait);
        let reply_expected = wait >= Duration::from_secs(10);
        if reply_expected && (ga != gb) && (ga == Got::Closed || gb == Got::Closed) {
            failures.push(format!(
                "{at} {shown}: connection closed\n    cinnabar: {}\n    redis:    {}",
                show_got(&ga),
                show_got(&gb)
            ));
            return failures;
        }
        if reply_expected && ga == Got::Nothing && gb == Got::Nothing {
            // A line that reads must get a reply; silence on both is a mis-written case
            // (a blocking command needs `a>` and `a<`), and it would skew every later line.
            failures.push(format!(
                "{at} {shown}: no reply from either server (use `a>` / `a< MS`)"
            ));
            return failures;
        }
        if !same(mode, &ga, &gb) {
            failures.push(format!(
                "{at} {shown}\n    cinnabar: {}\n    redis:    {}",
                show_got(&ga),
                show_got(&gb)
            ));
        }
    }
    failures
}

/// The `flags=` field of a CLIENT LIST line.
fn client_flags(line: &str) -> &str {
    line.split(' ')
        .find_map(|f| f.strip_prefix("flags="))
        .unwrap_or("")
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

#[test]
fn case_lines_parse() {
    let send = |s: Step| match s {
        Step::Send { conn, cmd, read } => (conn.to_string(), cmd.to_string(), read),
        _ => panic!("not a send"),
    };
    assert_eq!(
        send(parse_step("a: BLPOP k 0").unwrap()),
        ("a".into(), "BLPOP k 0".into(), true)
    );
    assert_eq!(
        send(parse_step("b2> SET x 1").unwrap()),
        ("b2".into(), "SET x 1".into(), false)
    );
    // A command whose first word contains ':' or '>' stays a main-connection line.
    assert_eq!(
        send(parse_step("SET a:b 1").unwrap()),
        ("main".into(), "SET a:b 1".into(), true)
    );
    assert!(matches!(
        parse_step("a< 100").unwrap(),
        Step::Read { conn: "a", ms: 100 }
    ));
    assert!(matches!(
        parse_step("a<").unwrap(),
        Step::Read {
            conn: "a",
            ms: DEFAULT_READ_MS
        }
    ));
}
