//! Server administration: INFO, CONFIG, TIME, SHUTDOWN, DEBUG, LOLWUT, MEMORY.
//!
//! These commands read or change process-wide state rather than keys. CONFIG goes through
//! `config.rs` (one table of directives, validation before any change); INFO's text is built by
//! `info.rs`. SHUTDOWN only flags `srv.shutdown`; the runtime notices and exits cleanly, so
//! the event loop is never torn down from inside a command. DEBUG is gated by
//! `enable-debug-command` as in Redis and implements the subcommands test suites rely on.

use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::server::Shutdown;
use crate::types::Value;
use crate::util::eq_ic;

fn help(ctx: &mut Ctx, head: &str, lines: &[&str]) {
    ctx.out().array(lines.len() + 1);
    ctx.out().simple(head);
    for l in lines {
        ctx.out().simple(l);
    }
}

fn info(ctx: &mut Ctx) -> CmdResult {
    let text = crate::info::render(ctx.srv, &ctx.argv[1..]);
    ctx.out().verbatim(text.as_bytes());
    Ok(())
}

fn config_get(ctx: &mut Ctx) -> CmdResult {
    let patterns: Vec<&[u8]> = ctx.argv[2..].iter().map(|v| v.as_slice()).collect();
    let found = ctx.srv.config.matching_many(&patterns);
    ctx.out().map(found.len());
    for (name, value) in found {
        ctx.out().bulk(name.as_bytes());
        ctx.out().bulk(value.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx) -> CmdResult {
    if !ctx.argv.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in ctx.argv[2..].chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]).into_owned();
        let value = String::from_utf8_lossy(&pair[1]).into_owned();
        if crate::config::find_directive(&name).is_none() {
            return Err(CmdError::err(format!(
                "Unknown option or number of arguments for CONFIG SET - '{name}'"
            )));
        }
        // Errors name the parameter in lowercase, as Redis does.
        let name = name.to_ascii_lowercase();
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(CmdError::err(format!(
                "CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
            )));
        }
        pairs.push((name, value));
    }
    let before = ctx.srv.config.clone();
    if let Err((name, e)) = ctx.srv.config.set_many(&pairs) {
        return Err(CmdError::err(format!(
            "CONFIG SET failed (possibly related to argument '{name}') - {}",
            e.0
        )));
    }
    apply_listeners(ctx, &pairs, before)?;
    crate::log::set_level(ctx.srv.config.loglevel);
    if pairs.iter().any(|(n, _)| n == "appendonly") && ctx.srv.clock_override.is_none() {
        crate::persist::apply_appendonly(ctx.srv);
    }
    ctx.out().ok();
    Ok(())
}

/// After CONFIG SET changed `port` or `bind`: rebinds the TCP listeners, as Redis's
/// changeListener (old sockets closed, new ones bound). If the new addresses cannot be bound,
/// every value of this CONFIG SET is restored and the old addresses are bound again, with
/// Redis's log lines and error texts.
fn apply_listeners(
    ctx: &mut Ctx,
    pairs: &[(String, String)],
    before: crate::config::Config,
) -> CmdResult {
    let changed = |name: &str| ctx.srv.config.get(name) != before.get(name);
    let Some(which) = pairs
        .iter()
        .map(|(n, _)| n.as_str())
        .find(|n| matches!(*n, "port" | "bind") && changed(n))
    else {
        return Ok(());
    };
    let which = which.to_string();
    // During the start-up load the listeners belong to the loader (persist/loading.rs), which
    // cannot swap them: refuse rather than store an address nobody listens on.
    let loading = crate::persist::loading::is_loading();
    if loading {
        crate::warning!("Can't change the listening address while loading the dataset");
    } else if crate::net::listener::rebind(ctx.srv) {
        return Ok(());
    }
    let reason = if which == "bind" {
        crate::warning!("Failed to bind");
        "Failed to bind to specified addresses."
    } else {
        "Unable to listen on this port. Check server logs."
    };
    crate::warning!(
        "Failed applying new configuration. Possibly related to new {which} setting. Restoring previous settings."
    );
    let file = ctx.srv.config.config_file.clone();
    ctx.srv.config = before;
    ctx.srv.config.config_file = file;
    if !loading && !crate::net::listener::rebind(ctx.srv) {
        crate::warning!("Failed to restore the previous listening addresses");
    }
    Err(CmdError::err(format!(
        "CONFIG SET failed (possibly related to argument '{which}') - {reason}"
    )))
}

fn config_resetstat(ctx: &mut Ctx) -> CmdResult {
    ctx.srv.stats = Default::default();
    for db in &mut ctx.srv.dbs {
        db.expired_keys = 0;
    }
    ctx.srv.mem_peak = crate::info::used_memory();
    crate::lazyfree::FREED.store(0, std::sync::atomic::Ordering::Relaxed);
    ctx.out().ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx) -> CmdResult {
    match crate::config::rewrite(&ctx.srv.config) {
        Ok(()) => {
            crate::notice!("CONFIG REWRITE executed with success.");
            ctx.out().ok();
            Ok(())
        }
        Err(e) if ctx.srv.config.config_file.is_none() => Err(CmdError::err(e)),
        Err(e) => {
            crate::warning!("CONFIG REWRITE failed: {e}");
            Err(CmdError::err(format!("Rewriting config file: {e}")))
        }
    }
}

fn config_help(ctx: &mut Ctx) -> CmdResult {
    help(
        ctx,
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

fn time(ctx: &mut Ctx) -> CmdResult {
    let us = match ctx.srv.clock_override {
        Some(ms) => ms * 1000,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0),
    };
    ctx.out().array(2);
    ctx.out().bulk(format!("{}", us / 1_000_000).as_bytes());
    ctx.out().bulk(format!("{}", us % 1_000_000).as_bytes());
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] | SHUTDOWN ABORT. The whole shutdown sequence
/// (`shutdown::prepare`) runs here, so a failed final save can refuse with an error reply
/// and the server keeps running, as in Redis.
fn shutdown(ctx: &mut Ctx) -> CmdResult {
    let mut flags = crate::shutdown::Flags::default();
    let mut abort = false;
    for a in &ctx.argv[1..] {
        if eq_ic(a, "save") {
            flags.save = true;
        } else if eq_ic(a, "nosave") {
            flags.nosave = true;
        } else if eq_ic(a, "now") {
            flags.now = true;
        } else if eq_ic(a, "force") {
            flags.force = true;
        } else if eq_ic(a, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (flags.save && flags.nosave) || (abort && ctx.argv.len() > 2) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // A shutdown only waits (and can be aborted) while replicas catch up; we have none.
        return Err(CmdError::err("No shutdown in progress."));
    }
    crate::shutdown::prepare(ctx.srv, flags)
        .map_err(|_| CmdError::err("Errors trying to SHUTDOWN. Check logs."))?;
    ctx.srv.shutdown = Some(Shutdown::Requested);
    ctx.client.close_after_reply = true;
    Ok(())
}

/// RDB-style serialized length of a string value (DEBUG OBJECT serializedlength).
fn serialized_len(bytes: &[u8]) -> usize {
    if let Some(n) = crate::util::parse_int(bytes) {
        if n.to_string().as_bytes() == bytes {
            if (-128..=127).contains(&n) {
                return 2;
            } else if (-32768..=32767).contains(&n) {
                return 3;
            } else if (i32::MIN as i64..=i32::MAX as i64).contains(&n) {
                return 5;
            }
        }
    }
    let len = bytes.len();
    let prefix = if len < 64 {
        1
    } else if len < 16384 {
        2
    } else if len <= u32::MAX as usize {
        5
    } else {
        9
    };
    prefix + len
}

fn debug_allowed(ctx: &Ctx) -> bool {
    match ctx.srv.config.get("enable-debug-command") {
        Some("yes") => true,
        Some("local") => {
            ctx.client.addr.starts_with("127.")
                || ctx.client.addr.starts_with("[::1]")
                || ctx.client.addr.starts_with("::1")
                || ctx.client.addr.starts_with('/')
                || ctx.client.fd < 0
        }
        _ => false,
    }
}

const DEBUG_HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory (without persistence: a no-op).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// 160 bits from three differently seeded SipHash runs over the same parts.
fn digest_parts(parts: &[&[u8]]) -> [u8; 20] {
    use std::hash::Hasher;
    let mut out = [0u8; 20];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        #[allow(deprecated)]
        let mut h = std::hash::SipHasher::new_with_keys(0x5eed + i as u64, 0xC1AA_BA5E);
        for p in parts {
            h.write_usize(p.len());
            h.write(p);
        }
        let v = h.finish().to_be_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    out
}

/// Digest of one value (DEBUG DIGEST-VALUE). Strings hash their bytes; other types hash their
/// debug form, which is stable within a process (what tests compare: before/after a reload).
fn value_digest(val: &Value) -> [u8; 20] {
    #[allow(irrefutable_let_patterns)]
    let bytes = if let Value::Str(s) = val {
        s.to_vec()
    } else {
        format!("{val:?}").into_bytes()
    };
    digest_parts(&[val.type_name().as_bytes(), &bytes])
}

/// Digest of one key (DEBUG DIGEST XORs these, so key order does not matter; empty = zeros).
fn key_digest(db: usize, key: &[u8], val: &Value, expire: Option<i64>) -> [u8; 20] {
    let v = value_digest(val);
    let e = expire.unwrap_or(-1).to_be_bytes();
    digest_parts(&[&db.to_be_bytes(), key, &v, &e])
}

/// DEBUG PROTOCOL <type>: a sample reply of each RESP type, for client tests.
fn debug_protocol(ctx: &mut Ctx) -> CmdResult {
    let t = crate::util::lower(ctx.arg(2));
    let resp3 = ctx.out().is_resp3();
    let out = ctx.out();
    match t.as_str() {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        "double" => out.double_str(b"3.141"),
        "bignum" => {
            let n = b"1234567999999999999999999999999999999";
            if resp3 {
                out.raw(b"(");
                out.raw(n);
                out.raw(b"\r\n");
            } else {
                out.bulk(n);
            }
        }
        "null" => out.null(),
        "array" | "set" => {
            if t == "set" {
                out.set(3);
            } else {
                out.array(3);
            }
            for i in 0..3 {
                out.int(i);
            }
        }
        "map" => {
            out.map(3);
            for i in 0..3 {
                out.int(i);
                out.boolean(i == 1);
            }
        }
        "attrib" => {
            if resp3 {
                out.raw(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !resp3 {
                return Err(CmdError::err("RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        "verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        _ => {
            return Err(CmdError::err(
                "Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

/// C's atoi: optional sign and leading digits, 0 if none.
fn atoi(a: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(a);
    let s = s.trim_start();
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .take(18)
        .collect();
    let v = digits.parse::<i64>().unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

fn debug(ctx: &mut Ctx) -> CmdResult {
    if !debug_allowed(ctx) {
        return Err(CmdError::err(
            "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
        ));
    }
    let sub = crate::util::lower(ctx.arg(1));
    let argc = ctx.argv.len();
    let unknown = || {
        CmdError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&ctx.argv[1])
        ))
    };
    match (sub.as_str(), argc) {
        ("help", 2) => {
            help(
                ctx,
                "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                DEBUG_HELP,
            );
        }
        ("sleep", 3) => {
            let secs = crate::util::parse_f64(ctx.arg(2)).unwrap_or(0.0);
            if let Ok(d) = std::time::Duration::try_from_secs_f64(secs) {
                std::thread::sleep(d);
            }
            ctx.out().ok();
        }
        ("set-active-expire", 3) => {
            ctx.srv.active_expire_enabled = atoi(ctx.arg(2)) != 0;
            ctx.out().ok();
        }
        ("quicklist-packed-threshold", 3) => {
            crate::config::parse_memory(&String::from_utf8_lossy(ctx.arg(2))).ok_or_else(|| {
                CmdError::err("argument must be a memory value bigger than 1 and smaller than 4gb")
            })?;
            ctx.out().ok();
        }
        ("object", 3) => {
            let now = ctx.now();
            let key = ctx.arg(2);
            let db = &ctx.srv.dbs[ctx.client.db];
            let Some(obj) = db.peek(key, now) else {
                return Err(CmdError::NoSuchKey);
            };
            let encoding = obj.val.encoding();
            #[allow(irrefutable_let_patterns)]
            let (ser, shared) = if let Value::Str(s) = &obj.val {
                let shared =
                    encoding == "int" && s.as_int().is_some_and(|n| (0..10000).contains(&n));
                (serialized_len(&s.to_vec()), shared)
            } else {
                (obj.val.heap_size(), false)
            };
            let addr = obj as *const _ as usize;
            let idle = crate::db::lru::idle_ms(obj.lru, now) / 1000;
            let text = format!(
                "Value at:0x{addr:x} refcount:{} encoding:{encoding} serializedlength:{ser} lru:{} lru_seconds_idle:{idle}",
                if shared { i32::MAX as i64 } else { 1 },
                obj.lru
            );
            ctx.out().simple(&text);
        }
        ("populate", 3..=5) => {
            let positive = |a: &[u8]| -> Result<i64, CmdError> {
                match crate::util::parse_int(a) {
                    Some(n) if n >= 0 => Ok(n),
                    _ => Err(CmdError::err("value is out of range, must be positive")),
                }
            };
            let count = positive(ctx.arg(2))?;
            let prefix = if argc >= 4 {
                ctx.arg(3).to_vec()
            } else {
                b"key".to_vec()
            };
            let size = if argc == 5 {
                Some(positive(ctx.arg(4))?)
            } else {
                None
            };
            // Bound the work per call by what a client could send anyway (no huge allocations).
            if size.is_some_and(|s| s > ctx.srv.config.proto_max_bulk_len) {
                return Err(CmdError::err("value is out of range, must be positive"));
            }
            let lru = ctx.new_lru();
            let now = ctx.now();
            let dbi = ctx.client.db;
            let mut added = 0u64;
            for i in 0..count {
                let mut key = prefix.clone();
                key.push(b':');
                key.extend_from_slice(i.to_string().as_bytes());
                let db = &mut ctx.srv.dbs[dbi];
                if db.lookup(&key, now).is_some() {
                    continue;
                }
                let mut val = format!("value:{i}").into_bytes();
                if let Some(s) = size {
                    val.resize(s as usize, 0);
                }
                db.add(
                    &key,
                    Value::Str(crate::types::StrValue::from_bytes(&val)),
                    lru,
                );
                added += 1;
            }
            ctx.dirty(added);
            ctx.out().ok();
        }
        ("protocol", 3) => debug_protocol(ctx)?,
        ("digest", 2) => {
            let mut acc = [0u8; 20];
            let now = ctx.now();
            for db in &ctx.srv.dbs {
                for (k, obj) in db.dict.iter() {
                    let expire = db.expire_at(k).filter(|t| *t > now);
                    let d = key_digest(db.id, k, &obj.val, expire);
                    acc.iter_mut().zip(d).for_each(|(a, b)| *a ^= b);
                }
            }
            ctx.out().simple(&hex(&acc));
        }
        ("digest-value", _) => {
            let keys = &ctx.argv[2..];
            let dbi = ctx.client.db;
            let now = ctx.now();
            let digests: Vec<String> = keys
                .iter()
                .map(|k| match ctx.srv.dbs[dbi].peek(k, now) {
                    Some(obj) => hex(&value_digest(&obj.val)),
                    None => hex(&[0u8; 20]),
                })
                .collect();
            ctx.out().array(digests.len());
            for d in digests {
                ctx.out().simple(&d);
            }
        }
        ("set-skip-checksum-validation", 3) => {
            // atoi, as Redis: anything that is not a non-zero number turns it off.
            let on = crate::util::parse_int(ctx.arg(2)).unwrap_or(0) != 0;
            crate::persist::SKIP_CHECKSUM.store(on, std::sync::atomic::Ordering::Relaxed);
            ctx.out().ok();
        }
        ("error", 3) => {
            return Err(CmdError::Raw(
                String::from_utf8_lossy(ctx.arg(2)).into_owned(),
            ));
        }
        ("log", 3) => {
            crate::warning!("DEBUG LOG: {}", String::from_utf8_lossy(ctx.arg(2)));
            ctx.out().ok();
        }
        ("change-repl-id", 2) => {
            ctx.srv.replid = (0..40)
                .map(|_| format!("{:x}", ctx.srv.random() % 16))
                .collect();
            ctx.out().ok();
        }
        ("pause-cron", 3) => {
            ctx.srv.cron_paused = atoi(ctx.arg(2)) != 0;
            ctx.out().ok();
        }
        ("reload", _) => {
            crate::persist::debug_reload(ctx.srv, &ctx.argv[2..]).map_err(CmdError::Raw)?;
            // The dataset was emptied and loaded: tracking clients drop everything.
            if !ctx.argv[2..].iter().any(|a| eq_ic(a, "noflush")) {
                crate::tracking::flushed(ctx.srv, ctx.client);
            }
            ctx.out().ok();
        }
        ("loadaof", _) => {
            // As Redis: flush the AOF, empty the dataset, load the set named by the manifest.
            // A set that does not load ends the process (Redis exits too): never a partial
            // dataset.
            for db in 0..ctx.srv.dbs.len() {
                crate::db::watch::touch_db(ctx.srv, db, None);
            }
            crate::tracking::flushed(ctx.srv, ctx.client);
            if crate::persist::aof_load::debug_loadaof(ctx.srv).is_err() {
                std::process::exit(1);
            }
            ctx.out().ok();
        }
        ("aof-flush-sleep", 3) => {
            let us = atoi(ctx.arg(2)).max(0) as u64;
            crate::persist::aof::FLUSH_SLEEP_US.store(us, std::sync::atomic::Ordering::Relaxed);
            ctx.out().ok();
        }
        ("stringmatch-test", 2) => ctx.out().ok(),
        _ => return Err(unknown()),
    }
    Ok(())
}

fn lolwut(ctx: &mut Ctx) -> CmdResult {
    let mut i = 1;
    while i < ctx.argv.len() {
        if eq_ic(ctx.arg(i), "version") && i + 1 < ctx.argv.len() {
            int_arg(ctx.arg(i + 1))?;
            i += 2;
        } else {
            i += 1;
        }
    }
    let art = "\
 .--.        .--.\n\
( (`\\\\.\"--``--\".//`) )\n\
 '-.   __   __    .-'\n\
  /   /__\\ /__\\   \\\n\
 |    \\ 0/ \\ 0/    |\n\
 \\     `/   \\`     /\n\
  `-.  /-\"\"\"-\\  .-`\n\
    /  '.___.'  \\\n\
";
    let text = format!(
        "{art}\nCinnabar speaks Redis.\nRedis ver. {}\n",
        crate::REDIS_VERSION
    );
    ctx.out().verbatim(text.as_bytes());
    Ok(())
}

fn memory_usage(ctx: &mut Ctx) -> CmdResult {
    let mut i = 3;
    while i < ctx.argv.len() {
        if eq_ic(ctx.arg(i), "samples") && i + 1 < ctx.argv.len() {
            let n = int_arg(ctx.arg(i + 1))?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let now = ctx.now();
    let key = ctx.arg(2);
    let db = &ctx.srv.dbs[ctx.client.db];
    let Some(obj) = db.peek(key, now) else {
        ctx.out().null();
        return Ok(());
    };
    // Dict entry + key + object, as jemalloc-rounded sizes, plus the value's own heap.
    let size = 24 + 16 + key.len().max(8).next_power_of_two() + obj.val.heap_size();
    ctx.out().int(size as i64);
    Ok(())
}

/// One MEMORY STATS value: an integer or a double.
enum Stat {
    I(i64),
    D(f64),
}

fn memory_stats(ctx: &mut Ctx) -> CmdResult {
    let used = crate::info::used_memory() as i64;
    let peak = (ctx.srv.mem_peak as i64).max(used);
    let startup = (ctx.srv.mem_startup as i64).min(used);
    let keys: usize = ctx.srv.dbs.iter().map(|d| d.len()).sum();
    let rss = crate::info::rss_bytes() as i64;
    let (allocated, active, resident) = crate::info::allocator_stats();
    let ratio = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let head: Vec<(&str, Stat)> = vec![
        ("peak.allocated", Stat::I(peak)),
        ("total.allocated", Stat::I(used)),
        ("startup.allocated", Stat::I(ctx.srv.mem_startup as i64)),
        ("replication.backlog", Stat::I(0)),
        ("clients.slaves", Stat::I(0)),
        ("clients.normal", Stat::I(0)),
        ("cluster.links", Stat::I(0)),
        ("aof.buffer", Stat::I(0)),
        ("lua.caches", Stat::I(0)),
        ("functions.caches", Stat::I(0)),
        ("overhead.total", Stat::I(ctx.srv.mem_startup as i64)),
    ];
    let dbs: Vec<(usize, usize, usize)> = ctx
        .srv
        .dbs
        .iter()
        .filter(|d| !d.is_empty())
        .map(|d| (d.id, d.len(), d.expires.len()))
        .collect();
    let tail: Vec<(&str, Stat)> = vec![
        ("keys.count", Stat::I(keys as i64)),
        (
            "keys.bytes-per-key",
            Stat::I(if keys > 0 { used / keys as i64 } else { 0 }),
        ),
        ("dataset.bytes", Stat::I(used - startup)),
        (
            "dataset.percentage",
            Stat::D(if used > startup { 100.0 } else { 0.0 }),
        ),
        ("peak.percentage", Stat::D(ratio(used, peak) * 100.0)),
        ("allocator.allocated", Stat::I(allocated as i64)),
        ("allocator.active", Stat::I(active as i64)),
        ("allocator.resident", Stat::I(resident as i64)),
        (
            "allocator-fragmentation.ratio",
            Stat::D(ratio(active as i64, allocated as i64)),
        ),
        (
            "allocator-fragmentation.bytes",
            Stat::I(active as i64 - allocated as i64),
        ),
        (
            "allocator-rss.ratio",
            Stat::D(ratio(resident as i64, active as i64)),
        ),
        (
            "allocator-rss.bytes",
            Stat::I(resident as i64 - active as i64),
        ),
        ("rss-overhead.ratio", Stat::D(ratio(rss, resident as i64))),
        ("rss-overhead.bytes", Stat::I(rss - resident as i64)),
        ("fragmentation", Stat::D(ratio(rss, used))),
        ("fragmentation.bytes", Stat::I(rss - used)),
    ];
    ctx.out().map(head.len() + dbs.len() + tail.len());
    let write = |ctx: &mut Ctx, k: &str, v: Stat| {
        ctx.out().bulk(k.as_bytes());
        match v {
            Stat::I(n) => ctx.out().int(n),
            Stat::D(d) => ctx.out().double_str(crate::util::fmt_double(d).as_bytes()),
        }
    };
    for (k, v) in head {
        write(ctx, k, v);
    }
    for (id, n, e) in dbs {
        ctx.out().bulk(format!("db.{id}").as_bytes());
        ctx.out().map(2);
        ctx.out().bulk(b"overhead.hashtable.main");
        ctx.out().int((n * 24 + n.next_power_of_two() * 8) as i64);
        ctx.out().bulk(b"overhead.hashtable.expires");
        ctx.out()
            .int((e * 24 + if e > 0 { e.next_power_of_two() * 8 } else { 0 }) as i64);
    }
    for (k, v) in tail {
        write(ctx, k, v);
    }
    Ok(())
}

fn memory_doctor(ctx: &mut Ctx) -> CmdResult {
    let used = crate::info::used_memory();
    let text = if used < 5 << 20 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting."
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base."
    };
    ctx.out().verbatim(text.as_bytes());
    Ok(())
}

fn memory_malloc_stats(ctx: &mut Ctx) -> CmdResult {
    let used = crate::info::used_memory();
    let text = format!("jemalloc allocated: {used}\n");
    ctx.out().verbatim(text.as_bytes());
    Ok(())
}

fn memory_purge(ctx: &mut Ctx) -> CmdResult {
    ctx.out().ok();
    Ok(())
}

fn memory_help(ctx: &mut Ctx) -> CmdResult {
    help(
        ctx,
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Prints this help.",
        ],
    );
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("info", info),
    ("config|get", config_get),
    ("config|set", config_set),
    ("config|resetstat", config_resetstat),
    ("config|rewrite", config_rewrite),
    ("config|help", config_help),
    ("time", time),
    ("shutdown", shutdown),
    ("debug", debug),
    ("lolwut", lolwut),
    ("memory|usage", memory_usage),
    ("memory|stats", memory_stats),
    ("memory|doctor", memory_doctor),
    ("memory|malloc-stats", memory_malloc_stats),
    ("memory|purge", memory_purge),
    ("memory|help", memory_help),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    #[test]
    fn config_get_set() {
        let mut t = TestServer::new();
        assert_eq!(
            t.exec("CONFIG GET maxmemory"),
            "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
        );
        assert_eq!(t.exec("CONFIG SET maxmemory 1mb hz 20"), "+OK\r\n");
        assert_eq!(
            t.exec("CONFIG GET maxmemory"),
            "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n"
        );
        assert_eq!(t.srv.config.hz, 20);
        // Atomic: a bad second pair leaves the first unchanged.
        assert!(t.exec("CONFIG SET hz 30 maxmemory x").starts_with(
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
        ));
        assert_eq!(t.srv.config.hz, 20);
        assert!(t
            .exec("CONFIG SET hz 1 hz 2")
            .contains("duplicate parameter"));
        assert_eq!(
            t.exec("CONFIG SET foo bar"),
            "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
        );
        assert!(t
            .exec("CONFIG SET daemonize yes")
            .contains("can't set immutable config"));
        assert_eq!(t.exec("CONFIG SET notify-keyspace-events KEA"), "+OK\r\n");
        assert!(t.exec("CONFIG GET notify-keyspace-events").contains("AKE"));
        assert_eq!(
            t.exec("CONFIG SET client-output-buffer-limit \"normal 1mb 2mb 3 replica 1 2 3\""),
            "+OK\r\n"
        );
        assert!(t
            .exec("CONFIG GET client-output-buffer-limit")
            .contains("normal 1048576 2097152 3 slave 1 2 3 pubsub 33554432 8388608 60"));
        let all = t.exec("CONFIG GET *");
        assert!(all.starts_with("*384\r\n"), "{}", &all[..20]);
    }

    #[test]
    fn info_sections() {
        let mut t = TestServer::new();
        t.exec("SET a 1");
        t.exec("GET a");
        t.exec("GET nokey");
        t.exec("FOO");
        let info = t.exec("INFO");
        assert!(info.contains("redis_version:7.0.15\r\n"));
        assert!(info.contains("keyspace_hits:1\r\n"));
        assert!(info.contains("keyspace_misses:1\r\n"));
        assert!(info.contains("errorstat_ERR:count=1\r\n"));
        assert!(info.contains("db0:keys=1,expires=0,avg_ttl=0\r\n"));
        assert!(!info.contains("cmdstat_"));
        let all = t.exec("INFO all");
        assert!(all.contains("cmdstat_get:calls=2,"));
        let two = t.exec("INFO keyspace server");
        assert!(two.find("# Server").unwrap() < two.find("# Keyspace").unwrap());
        assert!(!two.contains("# Clients"));
        assert_eq!(t.exec("INFO foo"), "$0\r\n\r\n");
        t.exec("CONFIG RESETSTAT");
        assert!(t.exec("INFO stats").contains("keyspace_hits:0\r\n"));
    }

    #[test]
    fn debug_commands() {
        let mut t = TestServer::new();
        assert!(t
            .exec("DEBUG HELP")
            .starts_with("-ERR DEBUG command not allowed"));
        t.exec("CONFIG SET hz 10");
        t.srv
            .config
            .set("enable-debug-command", &["yes".into()], true)
            .unwrap();
        assert_eq!(t.exec("DEBUG POPULATE 3"), "+OK\r\n");
        assert_eq!(t.exec("GET key:2"), "$7\r\nvalue:2\r\n");
        t.exec("SET key:0 keep");
        t.exec("DEBUG POPULATE 2 p 10");
        assert_eq!(t.exec("GET p:1"), "$10\r\nvalue:1\x00\x00\x00\r\n");
        t.exec("DEBUG POPULATE 1");
        assert_eq!(t.exec("GET key:0"), "$4\r\nkeep\r\n");
        assert!(t
            .exec("DEBUG POPULATE -1")
            .contains("value is out of range, must be positive"));
        t.exec("SET s hello");
        let o = t.exec("DEBUG OBJECT s");
        assert!(
            o.contains("refcount:1 encoding:embstr serializedlength:6 lru:"),
            "{o}"
        );
        assert_eq!(t.exec("DEBUG OBJECT nokey"), "-ERR no such key\r\n");
        assert_eq!(
            t.exec("DEBUG foo"),
            "-ERR unknown subcommand or wrong number of arguments for 'foo'. Try DEBUG HELP.\r\n"
        );
        assert_eq!(t.exec("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
        let d1 = t.exec("DEBUG DIGEST");
        assert_eq!(d1.len(), 43);
        assert_ne!(d1, "+0000000000000000000000000000000000000000\r\n");
        assert_eq!(t.exec("DEBUG DIGEST"), d1);
        t.exec("SET s hello2");
        assert_ne!(t.exec("DEBUG DIGEST"), d1);
        assert_eq!(
            t.exec("DEBUG DIGEST-VALUE nokey"),
            "*1\r\n+0000000000000000000000000000000000000000\r\n"
        );
        assert_eq!(
            t.exec("DEBUG PROTOCOL bignum"),
            "$37\r\n1234567999999999999999999999999999999\r\n"
        );
        assert_eq!(
            t.exec("DEBUG PROTOCOL push"),
            "-ERR RESP2 is not supported by this command\r\n"
        );
        t.resp3();
        assert_eq!(
            t.exec("DEBUG PROTOCOL map"),
            "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"
        );
        assert_eq!(
            t.exec("DEBUG PROTOCOL attrib"),
            "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n$39\r\nSome real reply following the attribute\r\n"
        );
        assert_eq!(t.exec("DEBUG PROTOCOL double"), ",3.141\r\n");
        assert!(!t.srv.active_expire_enabled);
    }

    #[test]
    fn shutdown_and_misc() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("SHUTDOWN foo"), "-ERR syntax error\r\n");
        assert_eq!(t.exec("SHUTDOWN SAVE NOSAVE"), "-ERR syntax error\r\n");
        assert_eq!(
            t.exec("SHUTDOWN ABORT"),
            "-ERR No shutdown in progress.\r\n"
        );
        assert!(t.srv.shutdown.is_none());
        assert_eq!(t.exec("SHUTDOWN NOSAVE NOW"), "");
        assert!(t.srv.shutdown.is_some());
        assert_eq!(t.exec("TIME"), "*2\r\n$10\r\n1700000000\r\n$1\r\n0\r\n");
        assert!(t.exec("LASTSAVE").starts_with(':'));
        assert_eq!(
            t.exec("CONFIG REWRITE"),
            "-ERR The server is running without a config file\r\n"
        );
    }
}
