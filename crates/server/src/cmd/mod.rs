//! Command dispatch: lookup, arity, authentication, stats — then the handler.
//!
//! Each family file (`string.rs`, `keys.rs`, `connection.rs`, ...) ends with a `COMMANDS`
//! table of `(name, handler)`; names are lowercase, subcommands as `container|sub`. The specs
//! (arity, flags, key specs, docs) come from the generated `spec_table.rs`; [`table`] joins the
//! two once at startup. A command without a handler does not exist for clients, so `COMMAND`
//! lists exactly what we implement.
//!
//! Handlers get a [`Ctx`], parse their arguments, and write replies through `ctx.out()`;
//! errors are returned as [`CmdError`] and rendered here, so every error is counted in INFO
//! errorstats. Where a new command goes: its family file, one handler, one table row.

pub mod blocking;
pub mod client;
pub mod command;
pub mod connection;
pub mod error;
pub mod getkeys;
pub mod hash;
pub mod keys;
pub mod list;
pub mod multi;
pub mod pause;
pub mod persist_cmds;
pub mod pubsub;
pub mod scripting;
pub mod server_cmds;
pub mod set;
pub mod sort;
pub mod spec;
#[rustfmt::skip]
pub mod spec_table;
pub mod bitmap;
pub mod stream;
pub mod string;
pub mod zset;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use cinnabar_resp::ReplyBuf;

pub use error::{CmdError, CmdResult};
pub use spec::CommandSpec;

use crate::client::{Client, ReplyMode};
use crate::db::Db;
use crate::server::Server;
use crate::types::Obj;

pub type Handler = fn(&mut Ctx) -> CmdResult;

/// A runnable command: its spec, its handler, and subcommands for containers.
pub struct CommandEntry {
    /// Index into `CommandTable::names` and `Stats::commands`.
    pub id: usize,
    pub spec: &'static CommandSpec,
    /// "get", or "client|list" for subcommands.
    pub full_name: String,
    pub handler: Option<Handler>,
    pub subs: NameMap<CommandEntry>,
}

impl CommandEntry {
    pub fn has_flag(&self, f: &str) -> bool {
        self.spec.has_flag(f)
    }
}

/// Command-name map. foldhash instead of std's SipHash: the lookup runs for every request, and
/// the keys are our own command names, not client-controlled data.
pub type NameMap<V> = HashMap<String, V, foldhash::fast::FixedState>;

pub struct CommandTable {
    pub map: NameMap<CommandEntry>,
    /// Full name of each entry by id ("get", "client|list").
    pub names: Vec<String>,
}

fn families() -> Vec<&'static [(&'static str, Handler)]> {
    vec![
        connection::COMMANDS,
        client::COMMANDS,
        command::COMMANDS,
        string::COMMANDS,
        bitmap::COMMANDS,
        keys::COMMANDS,
        server_cmds::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        sort::COMMANDS,
        zset::COMMANDS,
        stream::COMMANDS,
        multi::COMMANDS,
        persist_cmds::COMMANDS,
        pubsub::COMMANDS,
        scripting::COMMANDS,
    ]
}

fn find_spec(specs: &'static [CommandSpec], name: &str) -> &'static CommandSpec {
    specs
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("command '{name}' has a handler but no spec"))
}

/// The command table, built on first use.
pub fn table() -> &'static CommandTable {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map: NameMap<CommandEntry> = NameMap::default();
        let mut names: Vec<String> = Vec::new();
        let mut next_id = |name: &str| {
            names.push(name.to_string());
            names.len() - 1
        };
        for family in families() {
            for &(name, handler) in family {
                let (top, sub) = match name.split_once('|') {
                    Some((t, s)) => (t, Some(s)),
                    None => (name, None),
                };
                let top_spec = find_spec(spec_table::SPECS, top);
                let entry = map.entry(top.to_string()).or_insert_with(|| CommandEntry {
                    id: next_id(top),
                    spec: top_spec,
                    full_name: top.to_string(),
                    handler: None,
                    subs: NameMap::default(),
                });
                match sub {
                    None => entry.handler = Some(handler),
                    Some(sub) => {
                        let sub_spec = find_spec(top_spec.subcommands, sub);
                        entry.subs.insert(
                            sub.to_string(),
                            CommandEntry {
                                id: next_id(name),
                                spec: sub_spec,
                                full_name: name.to_string(),
                                handler: Some(handler),
                                subs: NameMap::default(),
                            },
                        );
                    }
                }
            }
        }
        CommandTable { map, names }
    })
}

/// Bucket of a command name in [`fast_index`]: a cheap case-folded hash of the length and the
/// first, second and last letters, so a lookup compares against about one candidate instead
/// of hashing the whole name.
fn bucket(name: &[u8]) -> Option<usize> {
    let (&first, &last) = (name.first()?, name.last()?);
    let second = name.get(1).copied().unwrap_or(0);
    let f = |c: u8| c.to_ascii_lowercase() as usize;
    Some((name.len() * 131 + f(first) * 31 + f(second) * 7 + f(last)) & (BUCKETS - 1))
}

const BUCKETS: usize = 1024;

/// Top-level commands grouped by [`bucket`].
fn fast_index() -> &'static [Vec<&'static CommandEntry>] {
    static INDEX: OnceLock<Vec<Vec<&'static CommandEntry>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut idx: Vec<Vec<&'static CommandEntry>> = vec![Vec::new(); BUCKETS];
        for e in table().map.values() {
            if let Some(b) = bucket(e.full_name.as_bytes()) {
                idx[b].push(e);
            }
        }
        idx
    })
}

impl CommandTable {
    /// Looks a command up by its (any-case) name: the hot path of every request.
    pub fn get(&self, name: &[u8]) -> Option<&'static CommandEntry> {
        if name.len() > 32 {
            return None;
        }
        let b = bucket(name)?;
        fast_index()[b]
            .iter()
            .find(|e| e.full_name.as_bytes().eq_ignore_ascii_case(name))
            .copied()
    }

    /// Resolves `argv` to the command or subcommand that would run (None if unknown).
    pub fn resolve(&self, argv: &[Vec<u8>]) -> Option<&CommandEntry> {
        let top = self.get(argv.first()?)?;
        if top.subs.is_empty() {
            return Some(top);
        }
        let sub = argv.get(1)?;
        top.subs.get(&crate::util::lower(sub))
    }
}

/// What a handler sees: the server, the calling client, and the arguments.
pub struct Ctx<'a> {
    pub srv: &'a mut Server,
    pub client: &'a mut Client,
    pub argv: &'a [Vec<u8>],
    pub cmd: &'static CommandEntry,
}

impl<'a> Ctx<'a> {
    pub fn out(&mut self) -> &mut ReplyBuf {
        &mut self.client.reply
    }

    pub fn arg(&self, i: usize) -> &'a [u8] {
        &self.argv[i]
    }

    pub fn now(&self) -> i64 {
        self.srv.now_ms
    }

    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.srv.dbs[self.client.db]
    }

    /// LRU/LFU field for a newly written object.
    pub fn new_lru(&self) -> u32 {
        if self.srv.config.lfu_policy {
            crate::db::lru::lfu_init(self.srv.now_ms)
        } else {
            crate::db::lru::lru_clock(self.srv.now_ms)
        }
    }

    /// Looks a key up for reading: expires it if due, counts a hit or a miss, and updates its
    /// access clock (unless the client set CLIENT NO-TOUCH).
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Obj> {
        self.lookup_read_out(key).0
    }

    /// [`Ctx::lookup_read`] that also hands out the reply buffer, so a handler can write a
    /// value while borrowing it from the keyspace (GET, MGET: no copy of the value).
    pub fn lookup_read_out(&mut self, key: &[u8]) -> (Option<&mut Obj>, &mut ReplyBuf) {
        let touch = self.touch_params();
        let srv = &mut *self.srv;
        let now = srv.now_ms;
        let db = self.client.db;
        // Key-miss events (class `m`, off by default) need a separate existence check.
        if crate::db::notify::enabled(srv, b'm') && srv.dbs[db].lookup(key, now).is_none() {
            srv.stats.keyspace_misses += 1;
            crate::db::notify::keyspace_event_by(srv, self.client, db, b'm', "keymiss", key);
            return (None, &mut self.client.reply);
        }
        match srv.dbs[db].lookup(key, now) {
            Some(obj) => {
                srv.stats.keyspace_hits += 1;
                touch_obj(obj, now, touch);
                (Some(obj), &mut self.client.reply)
            }
            None => {
                srv.stats.keyspace_misses += 1;
                (None, &mut self.client.reply)
            }
        }
    }

    /// Looks a key up for writing: expires it if due and updates its access clock, as Redis's
    /// `lookupKeyWrite` does; no hit/miss accounting.
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Obj> {
        let now = self.srv.now_ms;
        let touch = self.touch_params();
        let obj = self.srv.dbs[self.client.db].lookup(key, now)?;
        touch_obj(obj, now, touch);
        Some(obj)
    }

    /// How a lookup by this command updates the object's access clock.
    fn touch_params(&mut self) -> Touch {
        if self.client.no_touch && self.cmd.full_name != "touch" {
            return Touch::No;
        }
        let cfg = &self.srv.config;
        if !cfg.lfu_policy {
            return Touch::Lru;
        }
        let (f, d) = (cfg.lfu_log_factor, cfg.lfu_decay_time);
        Touch::Lfu(f, d, (self.srv.random() % 1_000_000) as f64 / 1_000_000.0)
    }

    /// Records `n` changes to the dataset (INFO rdb_changes_since_last_save; persistence).
    pub fn dirty(&mut self, n: u64) {
        self.srv.dirty += n;
    }

    /// Reports a keyspace event for `key` in the selected db (see db/notify.rs for the classes).
    pub fn notify(&mut self, class: u8, event: &str, key: &[u8]) {
        crate::db::watch::touch_key(self.srv, self.client.db, key);
        crate::tracking::modified(self.srv, self.client, key);
        crate::db::notify::keyspace_event_by(
            self.srv,
            self.client,
            self.client.db,
            class,
            event,
            key,
        );
    }

    /// Signals that `key` (selected db) received data blocked clients may wait for.
    pub fn signal_ready(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.srv.dbs[db].waiters.signal(db, key);
    }

    /// Wrong-arity error for this command.
    pub fn arity_error(&self) -> CmdError {
        CmdError::WrongArity(self.cmd.full_name.clone())
    }
}

/// What a lookup does to the object's access clock (Redis's `lookupKey`).
#[derive(Clone, Copy)]
enum Touch {
    /// CLIENT NO-TOUCH: leave it.
    No,
    /// Set the LRU clock to now.
    Lru,
    /// LFU counter update: (lfu-log-factor, lfu-decay-time, random draw in [0, 1)).
    Lfu(i64, i64, f64),
}

/// Updates an object's access clock after a lookup.
#[inline]
fn touch_obj(obj: &mut Obj, now: i64, touch: Touch) {
    match touch {
        Touch::No => {}
        Touch::Lru => obj.lru = crate::db::lru::lru_clock(now),
        Touch::Lfu(f, d, r) => obj.lru = crate::db::lru::lfu_touch(obj.lru, now, f, d, r),
    }
}

/// Redis's unknown-command text: the name and the first arguments, quoted, 128 bytes max.
fn unknown_command_error(argv: &[Vec<u8>]) -> CmdError {
    let name = String::from_utf8_lossy(&argv[0][..argv[0].len().min(128)]).into_owned();
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let shown = String::from_utf8_lossy(&a[..a.len().min(room)]).into_owned();
        args.push_str(&format!("'{shown}' "));
    }
    CmdError::err(format!(
        "unknown command '{name}', with args beginning with: {args}"
    ))
}

/// Renders an error reply and counts it.
pub fn reply_error(srv: &mut Server, client: &mut Client, err: &CmdError) {
    let text = err.to_string();
    count_error(srv, &text);
    client.reply.error(&text);
}

/// Counts an error reply in INFO errorstats (by its code, the first word) and the totals.
pub fn count_error(srv: &mut Server, text: &str) {
    let code = text.split(' ').next().unwrap_or("ERR").to_string();
    *srv.stats.errors.entry(code).or_default() += 1;
    srv.stats.total_error_replies += 1;
}

/// Runs one request for `client`. Replies (and errors) are appended to `client.reply`.
pub fn call(srv: &mut Server, client: &mut Client, argv: &[Vec<u8>]) {
    call_inner(srv, client, argv);
    // A command held by CLIENT PAUSE has not run yet (its release calls this again).
    if client.postponed.is_none() {
        crate::tracking::after_call(srv, client, argv);
    }
}

fn call_inner(srv: &mut Server, client: &mut Client, argv: &[Vec<u8>]) {
    let rerun = std::mem::take(&mut srv.rerun_blocked);
    srv.update_clock();
    client.last_interaction_ms = srv.now_ms;
    let suppress_before = client.reply_mode == ReplyMode::Skip;
    let reply_start = client.reply.buf.len();
    if srv.call_depth == 0 {
        client.replies_dropped = suppress_before || client.reply_mode == ReplyMode::Off;
    }
    let rejected =
        |srv: &mut Server, client: &mut Client, cmd: Option<&CommandEntry>, e: CmdError| {
            if let Some(c) = cmd {
                srv.stats.command(c.id).rejected_calls += 1;
            }
            let e = multi::on_reject(srv, client, cmd, e);
            reply_error(srv, client, &e);
            // Counted as a rejection: a script calling this must not also fail for it.
            srv.stats.err_mark = srv.stats.total_error_replies;
        };

    let table = table();
    let Some(top) = table.get(&argv[0]) else {
        rejected(srv, client, None, unknown_command_error(argv));
        return finish_reply(srv, client, suppress_before, reply_start);
    };
    let entry: &'static CommandEntry = if top.subs.is_empty()
        || (argv.len() < 2 && top.handler.is_some())
    {
        // A container that also runs bare (COMMAND) has its own handler.
        top
    } else if argv.len() < 2 {
        let e = CmdError::WrongArity(top.full_name.clone());
        rejected(srv, client, Some(top), e);
        return finish_reply(srv, client, suppress_before, reply_start);
    } else {
        match top.subs.get(&crate::util::lower(&argv[1])) {
            Some(sub) => sub,
            None => {
                let sub = String::from_utf8_lossy(&argv[1][..argv[1].len().min(128)]).into_owned();
                let e = CmdError::UnknownSubcommand(sub, top.full_name.clone());
                rejected(srv, client, Some(top), e);
                return finish_reply(srv, client, suppress_before, reply_start);
            }
        }
    };
    let arity = entry.spec.arity;
    let argc = argv.len() as i32;
    if (arity > 0 && argc != arity) || argc < -arity {
        let e = CmdError::WrongArity(entry.full_name.clone());
        rejected(srv, client, Some(entry), e);
        return finish_reply(srv, client, suppress_before, reply_start);
    }
    if srv.auth_required() && !client.authenticated && !entry.has_flag("no_auth") {
        rejected(srv, client, Some(entry), CmdError::NoAuth);
        return finish_reply(srv, client, suppress_before, reply_start);
    }
    // stop-writes-on-bgsave-error: writes (and PING) refused after a failed save (persist).
    // The flag test (one atomic load) comes first: this runs for every command.
    if crate::persist::last_save_failed()
        && (entry.has_flag("write") || entry.full_name == "ping" || entry.full_name == "exec")
    {
        if let Some(e) = crate::persist::write_denied(srv, client, entry) {
            rejected(srv, client, Some(entry), e);
            return finish_reply(srv, client, suppress_before, reply_start);
        }
    }
    if let Err(e) = pubsub::before_command(srv, client, entry) {
        rejected(srv, client, Some(entry), e);
        return finish_reply(srv, client, suppress_before, reply_start);
    }
    // Clients served while the dataset loads at start-up (persist/loading.rs).
    if crate::persist::loading::refuse_now() && !entry.has_flag("loading") {
        let e = CmdError::Raw(crate::persist::loading::LOADING_ERR.into());
        rejected(srv, client, Some(entry), e);
        return finish_reply(srv, client, suppress_before, reply_start);
    }
    if crate::persist::loading::script_busy() && !entry.has_flag("allow_busy") {
        let is_fn = crate::scripting::with_run(|r| r.is_some_and(|r| r.is_function));
        let which = if is_fn { "FUNCTION" } else { "SCRIPT" };
        let e = CmdError::Raw(format!(
            "BUSY Redis is busy running a script. You can only call {which} KILL or SHUTDOWN NOSAVE."
        ));
        rejected(srv, client, Some(entry), e);
        return finish_reply(srv, client, suppress_before, reply_start);
    }

    let Some(handler) = entry.handler else {
        rejected(srv, client, None, unknown_command_error(argv));
        return finish_reply(srv, client, suppress_before, reply_start);
    };
    // CLIENT PAUSE holds the command (before MULTI queueing, as Redis) until it ends.
    if srv.pause.end_ms != 0 && srv.call_depth == 0 && pause::holds(srv, client, entry, argv) {
        pause::hold(srv, client, entry, argv);
        client.replies_dropped = false;
        return;
    }
    // Inside MULTI most commands are queued (or rejected) instead of run (cmd/multi.rs).
    if let Some(queued) = multi::queue(client, entry, argv) {
        if let Err(e) = queued {
            rejected(srv, client, Some(entry), e);
        }
        return finish_reply(srv, client, suppress_before, reply_start);
    }
    let start = Instant::now();
    let dirty_before = srv.dirty;
    let mut ctx = Ctx {
        srv,
        client,
        argv,
        cmd: entry,
    };
    // Failed calls follow Redis's rule: the command failed if it returned an error, or if an
    // error reply was counted while it ran after its last nested command ended (a script's
    // returned error table, -UNBLOCKED sent to the client CLIENT UNBLOCK targets), or it
    // replied an error it must not count again (`failed_uncounted`). Nested commands move
    // `err_mark` on, so their own errors are not the caller's.
    ctx.srv.stats.err_mark = ctx.srv.stats.total_error_replies;
    ctx.srv.stats.failed_uncounted = false;
    let result = handler(&mut ctx);
    let Ctx { srv, client, .. } = ctx;
    let usec = start.elapsed().as_micros() as u64;
    let failed = result.is_err()
        || srv.stats.total_error_replies > srv.stats.err_mark
        || std::mem::take(&mut srv.stats.failed_uncounted);
    let stats = srv.stats.command(entry.id);
    if !rerun {
        stats.calls += 1;
    }
    stats.usec += usec;
    if failed {
        stats.failed_calls += 1;
    }
    if let Err(e) = result {
        reply_error(srv, client, &e);
    }
    srv.stats.err_mark = srv.stats.total_error_replies;
    crate::tracking::after_handler(srv, client, entry, argv);
    // Append-only file: log the effect of a write that changed something.
    let forced = std::mem::take(&mut srv.force_propagate);
    let rewritten = srv.propagate_as.take();
    if srv.aof.is_some() {
        if (srv.dirty != dirty_before || forced) && entry.has_flag("write") {
            let logged = rewritten.as_deref().unwrap_or(argv);
            crate::persist::aof::feed(srv, client, &entry.full_name, logged, reply_start);
        } else if entry.full_name == "exec" {
            crate::persist::aof::exec_done(srv);
        }
    }
    pubsub::after_command(srv, client);
    if !rerun {
        srv.stats.commands_processed += 1;
        client.commands_processed += 1;
    }
    client.last_cmd.clone_from(&entry.full_name);
    finish_reply(srv, client, suppress_before, reply_start);
    if srv.call_depth == 0 && srv.blocking.has_ready() {
        blocking::serve_ready_keys(srv);
    }
    if srv.call_depth == 0 && !srv.pause.held.is_empty() {
        pause::release(srv, client);
    }
}

/// Applies CLIENT REPLY OFF/SKIP: drop what this command wrote (but not the pushes set aside
/// by `Client::write_push`), then advance SKIP state.
fn finish_reply(srv: &Server, client: &mut Client, suppress_before: bool, reply_start: usize) {
    if suppress_before || client.reply_mode == ReplyMode::Off {
        client.reply.buf.truncate(reply_start);
    }
    if srv.call_depth == 0 {
        client.replies_dropped = false;
        if !client.kept_pushes.is_empty() {
            let kept = std::mem::take(&mut client.kept_pushes);
            client.reply.buf.extend_from_slice(&kept);
        }
    }
    client.reply_mode = match client.reply_mode {
        ReplyMode::Skip => ReplyMode::On,
        ReplyMode::SkipNext => ReplyMode::Skip,
        m => m,
    };
}

/// Parses an integer argument (Redis's string2ll) or fails with NotInteger.
pub fn int_arg(a: &[u8]) -> Result<i64, CmdError> {
    crate::util::parse_int(a).ok_or(CmdError::NotInteger)
}
