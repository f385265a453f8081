//! Generic keyspace commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME(NX),
//! COPY, MOVE, SWAPDB, DBSIZE, FLUSHDB, FLUSHALL, the EXPIRE family, TTL family, PERSIST,
//! TOUCH and OBJECT.
//!
//! These commands work on keys whatever their type, so they only use `Db` operations and
//! `Value`'s type-independent methods (`type_name`, `encoding`, `clone`): a new value type
//! needs no change here beyond its name.
//!
//! Lookups follow Redis 7.0's flags: commands that only inspect (EXISTS, TYPE, TTL, OBJECT)
//! use [`lookup_notouch`] — lazy expiry and hit/miss stats, but no LRU/LFU update — while TOUCH
//! and COPY's source use `ctx.lookup_read`, and commands that modify use [`lookup_write_in`]:
//! lazy expiry and an access-clock update but no stats, as Redis's `lookupKeyWrite` (so
//! RENAME, MOVE, EXPIRE and PERSIST reset OBJECT IDLETIME, and so does finding an existing
//! destination for RENAMENX, MOVE and COPY). Every reply and error text is Redis 7.0's.

use super::connection::int_range_arg;
use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::db::{lru, Key};
use crate::types::{Obj, StrValue, Value};
use crate::util::{eq_ic, glob_match};

/// Redis's `shared.sameobjecterr`.
const SAME_OBJECT: &str = "ERR source and destination objects are the same";
/// Redis shares integer values 0..OBJ_SHARED_INTEGERS; OBJECT REFCOUNT reports them as
/// OBJ_SHARED_REFCOUNT (INT_MAX).
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// Looks a key up as Redis's `lookupKeyReadWithFlags(LOOKUP_NOTOUCH)`: expires it if due and
/// counts a keyspace hit or miss, but leaves its access clock alone.
fn lookup_notouch<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Option<&'c Obj> {
    lookup_notouch_with(ctx, key, true)
}

/// [`lookup_notouch`] with the key-miss event optional (OBJECT raises none, as Redis's
/// LOOKUP_NONOTIFY).
fn lookup_notouch_with<'c>(ctx: &'c mut Ctx, key: &[u8], keymiss: bool) -> Option<&'c Obj> {
    let now = ctx.now();
    let db = ctx.client.db;
    let found = ctx.srv.dbs[db].lookup(key, now).is_some();
    if found {
        ctx.srv.stats.keyspace_hits += 1;
    } else {
        ctx.srv.stats.keyspace_misses += 1;
        // Redis's lookupKey raises `keymiss` for these lookups too (EXISTS, TYPE, OBJECT).
        if keymiss && crate::db::notify::enabled(ctx.srv, b'm') {
            crate::db::notify::keyspace_event_by(ctx.srv, ctx.client, db, b'm', "keymiss", key);
        }
    }
    if !found {
        return None;
    }
    ctx.srv.dbs[db].dict.get(key)
}

/// Looks a key up in db `db` for writing, as Redis's `lookupKeyWrite`: expires it if due and
/// updates its access clock (LRU, or LFU counter under an LFU policy); no hit/miss stats.
/// Return value: true if the key exists.
fn lookup_write_in(ctx: &mut Ctx, db: usize, key: &[u8]) -> bool {
    let now = ctx.now();
    let lfu = ctx.srv.config.lfu_policy.then(|| {
        let rnd = (ctx.srv.random() % 1_000_000) as f64 / 1_000_000.0;
        (
            ctx.srv.config.lfu_log_factor,
            ctx.srv.config.lfu_decay_time,
            rnd,
        )
    });
    match ctx.srv.dbs[db].lookup(key, now) {
        Some(obj) => {
            obj.lru = match lfu {
                Some((factor, decay, rnd)) => lru::lfu_touch(obj.lru, now, factor, decay, rnd),
                None => lru::lru_clock(now),
            };
            true
        }
        None => false,
    }
}

/// [`lookup_write_in`] on the selected db.
fn lookup_write(ctx: &mut Ctx, key: &[u8]) -> bool {
    let db = ctx.client.db;
    lookup_write_in(ctx, db, key)
}

/// A yes/no config directive.
fn config_yes(ctx: &Ctx, name: &str) -> bool {
    ctx.srv.config.get(name) == Some("yes")
}

/// Parses a database index as MOVE and COPY do (`getIntFromObjectOrReply`, then `selectDb`).
fn db_index_arg(ctx: &Ctx, a: &[u8]) -> Result<usize, CmdError> {
    let id = int_range_arg(a, i32::MIN as i64, i32::MAX as i64)?;
    if id < 0 || id as usize >= ctx.srv.dbs.len() {
        return Err(CmdError::InvalidDb);
    }
    Ok(id as usize)
}

// ---------------------------------------------------------------------------------------------
// DEL, UNLINK, EXISTS, TYPE, TOUCH, DBSIZE

/// DEL and UNLINK: expire each key first (so an expired key does not count as deleted), then
/// delete it, freeing large values in the background when `lazy`.
fn del_generic(ctx: &mut Ctx, lazy: bool) -> CmdResult {
    let now = ctx.now();
    let mut deleted = 0;
    for i in 1..ctx.argv.len() {
        let key = ctx.arg(i);
        let db = ctx.db();
        db.expire_if_needed(key, now);
        if db.delete(key, lazy) {
            deleted += 1;
            ctx.notify(b'g', "del", key);
        }
    }
    ctx.dirty(deleted);
    ctx.out().int(deleted as i64);
    Ok(())
}

fn del(ctx: &mut Ctx) -> CmdResult {
    let lazy = config_yes(ctx, "lazyfree-lazy-user-del");
    del_generic(ctx, lazy)
}

fn unlink(ctx: &mut Ctx) -> CmdResult {
    del_generic(ctx, true)
}

/// EXISTS counts every argument that names a live key, duplicates included.
fn exists(ctx: &mut Ctx) -> CmdResult {
    let mut count = 0;
    for i in 1..ctx.argv.len() {
        let key = ctx.arg(i);
        if lookup_notouch(ctx, key).is_some() {
            count += 1;
        }
    }
    ctx.out().int(count);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let name = lookup_notouch(ctx, key).map_or("none", |o| o.val.type_name());
    ctx.out().simple(name);
    Ok(())
}

/// TOUCH: a read lookup per key (updating the access clock); replies how many exist.
fn touch(ctx: &mut Ctx) -> CmdResult {
    let mut count = 0;
    for i in 1..ctx.argv.len() {
        let key = ctx.arg(i);
        if ctx.lookup_read(key).is_some() {
            count += 1;
        }
    }
    ctx.out().int(count);
    Ok(())
}

/// DBSIZE counts entries of the keyspace, including expired keys not yet removed, as Redis.
fn dbsize(ctx: &mut Ctx) -> CmdResult {
    let n = ctx.db().len();
    ctx.out().int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// KEYS, SCAN, RANDOMKEY

/// KEYS: every live key matching the glob. Expired keys are skipped but not deleted (Redis
/// checks `keyIsExpired` here). The pattern `*` is special-cased as match-all, which also
/// matches the empty key (the glob matcher alone would not).
fn keys(ctx: &mut Ctx) -> CmdResult {
    let pattern = ctx.arg(1);
    let all = pattern == b"*";
    let now = ctx.now();
    let db = &ctx.srv.dbs[ctx.client.db];
    let found: Vec<&Key> = db
        .dict
        .iter()
        .filter(|(k, _)| all || glob_match(pattern, k, false))
        .filter(|(k, _)| !db.is_expired(k, now))
        .map(|(k, _)| k)
        .collect();
    let out = &mut ctx.client.reply;
    out.array(found.len());
    for k in found {
        out.bulk(k);
    }
    Ok(())
}

/// Parses a SCAN cursor with C `strtoul` rules, as Redis's `parseScanCursorOrReply`: the
/// argument is read as a C string (up to a NUL byte), must not start with a space, may carry
/// a sign (`-1` wraps to 2^64-1), and must be all digits within 64 bits. The empty string is
/// cursor 0.
pub fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = match arg.iter().position(|&b| b == 0) {
        Some(i) => &arg[..i],
        None => arg,
    };
    if s.is_empty() {
        return if arg.first().is_some_and(|&c| is_c_space(c)) {
            None
        } else {
            Some(0)
        };
    }
    if is_c_space(s[0]) {
        return None;
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// C's `isspace` in the "C" locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Options of SCAN, HSCAN, SSCAN and ZSCAN.
pub struct ScanOptions<'a> {
    pub count: i64,
    /// None also for "*", which matches everything.
    pub pattern: Option<&'a [u8]>,
    /// SCAN's TYPE filter.
    pub type_name: Option<&'a [u8]>,
}

/// Parses `argv[start..]` as pairs of `COUNT n`, `MATCH pattern` and, when `allow_type`, `TYPE t`,
/// with the checks and errors of Redis's `scanGenericCommand` (COUNT below 1 and anything else
/// is a syntax error). Shared by SCAN and the HSCAN/SSCAN/ZSCAN family.
pub fn scan_options(
    argv: &[Vec<u8>],
    start: usize,
    allow_type: bool,
) -> Result<ScanOptions<'_>, CmdError> {
    let mut opts = ScanOptions {
        count: 10,
        pattern: None,
        type_name: None,
    };
    let mut i = start;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let opt = &argv[i][..];
        if eq_ic(opt, "count") && more >= 1 {
            opts.count = int_arg(&argv[i + 1])?;
            if opts.count < 1 {
                return Err(CmdError::Syntax);
            }
        } else if eq_ic(opt, "match") && more >= 1 {
            let p = &argv[i + 1][..];
            opts.pattern = if p == b"*" { None } else { Some(p) };
        } else if allow_type && eq_ic(opt, "type") && more >= 1 {
            opts.type_name = Some(&argv[i + 1][..]);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(opts)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type], as Redis's `scanGenericCommand`:
/// 1. parse options (COUNT < 1 is a syntax error; a later option overrides an earlier one);
/// 2. walk the dict with its resize-proof cursor until COUNT keys were collected, at most
///    COUNT*10 buckets were visited, or the cursor wrapped;
/// 3. filter: pattern, then type (a counted lookup that expires the key; an expired key's type
///    is "none"), then expiry (expired keys are deleted and not returned).
fn scan(ctx: &mut Ctx) -> CmdResult {
    let cursor = parse_cursor(ctx.arg(1)).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let ScanOptions {
        count,
        pattern,
        type_name,
    } = scan_options(ctx.argv, 2, true)?;

    let mut collected: Vec<Key> = Vec::new();
    let db = ctx.db();
    let mut next = cursor;
    let mut max_iterations = count.saturating_mul(10);
    loop {
        next = db.dict.scan(next, |k, _| collected.push(k.clone()));
        if next == 0 || max_iterations == 0 {
            break;
        }
        max_iterations -= 1;
        if collected.len() as i64 >= count {
            break;
        }
    }

    let now = ctx.now();
    let mut keys = Vec::with_capacity(collected.len());
    for k in collected {
        if pattern.is_some_and(|p| !glob_match(p, &k, false)) {
            continue;
        }
        if let Some(want) = type_name {
            let t = lookup_notouch(ctx, &k).map_or("none", |o| o.val.type_name());
            if !want.eq_ignore_ascii_case(t.as_bytes()) {
                continue;
            }
        }
        if ctx.db().expire_if_needed(&k, now) {
            continue;
        }
        keys.push(k);
    }
    let out = ctx.out();
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(keys.len());
    for k in &keys {
        out.bulk(k);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx) -> CmdResult {
    let now = ctx.now();
    // A private generator seeded from the server's, so the db can be borrowed meanwhile.
    let mut rnd = crate::util::sampler(ctx.srv.random());
    match ctx.db().random_key(now, &mut rnd) {
        Some(k) => ctx.out().bulk(&k),
        None => ctx.out().null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// RENAME, RENAMENX, COPY, MOVE, SWAPDB

/// RENAME and RENAMENX (Redis's `renameGenericCommand`): the object moves with its TTL and
/// access clock; renaming a key to itself only checks that it exists.
fn rename_generic(ctx: &mut Ctx, nx: bool) -> CmdResult {
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    if !lookup_write(ctx, src) {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        if nx {
            ctx.out().int(0);
        } else {
            ctx.out().ok();
        }
        return Ok(());
    }
    let expire = ctx.db().expire_at(src);
    if lookup_write(ctx, dst) {
        if nx {
            ctx.out().int(0);
            return Ok(());
        }
        ctx.db().remove(dst);
    }
    let db = ctx.db();
    if let Some(obj) = db.remove(src) {
        db.add_obj(dst, obj);
        if let Some(at) = expire {
            db.set_expire(dst, at);
        }
    }
    ctx.dirty(1);
    ctx.notify(b'g', "rename_from", src);
    ctx.notify(b'g', "rename_to", dst);
    if nx {
        ctx.out().int(1);
    } else {
        ctx.out().ok();
    }
    Ok(())
}

fn rename(ctx: &mut Ctx) -> CmdResult {
    rename_generic(ctx, false)
}

fn renamenx(ctx: &mut Ctx) -> CmdResult {
    rename_generic(ctx, true)
}

/// COPY source destination [DB index] [REPLACE]: a new object (fresh access clock) with the
/// source's TTL.
fn copy(ctx: &mut Ctx) -> CmdResult {
    let src_db = ctx.client.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < ctx.argv.len() {
        let more = ctx.argv.len() - j - 1;
        if eq_ic(ctx.arg(j), "replace") {
            replace = true;
        } else if eq_ic(ctx.arg(j), "db") && more >= 1 {
            dst_db = db_index_arg(ctx, ctx.arg(j + 1))?;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    if src_db == dst_db && src == dst {
        return Err(CmdError::Raw(SAME_OBJECT.into()));
    }
    let Some(val) = ctx.lookup_read(src).map(|o| o.val.clone()) else {
        ctx.out().int(0);
        return Ok(());
    };
    let expire = ctx.db().expire_at(src);
    let lru = ctx.new_lru();
    if lookup_write_in(ctx, dst_db, dst) {
        if !replace {
            ctx.out().int(0);
            return Ok(());
        }
        ctx.srv.dbs[dst_db].remove(dst);
    }
    let target = &mut ctx.srv.dbs[dst_db];
    target.add_obj(dst, Obj { val, lru });
    if let Some(at) = expire {
        target.set_expire(dst, at);
    }
    ctx.dirty(1);
    crate::db::watch::touch_key(ctx.srv, dst_db, dst);
    crate::tracking::modified(ctx.srv, ctx.client, dst);
    crate::db::notify::keyspace_event_by(ctx.srv, ctx.client, dst_db, b'g', "copy_to", dst);
    ctx.out().int(1);
    Ok(())
}

/// MOVE key db: the object moves with its TTL; fails (0) if the target already has the key.
fn move_cmd(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let dst_db = db_index_arg(ctx, ctx.arg(2))?;
    let src_db = ctx.client.db;
    if src_db == dst_db {
        return Err(CmdError::Raw(SAME_OBJECT.into()));
    }
    if !lookup_write(ctx, key) {
        ctx.out().int(0);
        return Ok(());
    }
    let expire = ctx.db().expire_at(key);
    if lookup_write_in(ctx, dst_db, key) {
        ctx.out().int(0);
        return Ok(());
    }
    if let Some(obj) = ctx.db().remove(key) {
        let target = &mut ctx.srv.dbs[dst_db];
        target.add_obj(key, obj);
        if let Some(at) = expire {
            target.set_expire(key, at);
        }
    }
    ctx.dirty(1);
    ctx.notify(b'g', "move_from", key);
    crate::db::watch::touch_key(ctx.srv, dst_db, key);
    crate::tracking::modified(ctx.srv, ctx.client, key);
    crate::db::notify::keyspace_event_by(ctx.srv, ctx.client, dst_db, b'g', "move_to", key);
    ctx.out().int(1);
    Ok(())
}

/// SWAPDB index1 index2: each index must be an int (its own error text), then in range.
fn swapdb(ctx: &mut Ctx) -> CmdResult {
    let parse = |a: &[u8], which: &str| {
        int_range_arg(a, i32::MIN as i64, i32::MAX as i64)
            .map_err(|_| CmdError::err(format!("invalid {which} DB index")))
    };
    let a = parse(ctx.arg(1), "first")?;
    let b = parse(ctx.arg(2), "second")?;
    let n = ctx.srv.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(CmdError::InvalidDb);
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        crate::db::watch::touch_db(ctx.srv, a, Some(b));
        crate::db::watch::touch_db(ctx.srv, b, Some(a));
        let (lo, hi) = (a.min(b), a.max(b));
        let (left, right) = ctx.srv.dbs.split_at_mut(hi);
        left[lo].swap_contents(&mut right[0]);
    }
    ctx.dirty(1);
    ctx.out().ok();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// FLUSHDB, FLUSHALL

/// The optional SYNC|ASYNC argument (Redis's `getFlushCommandFlags`); without it,
/// `lazyfree-lazy-user-flush` decides. Return value: true for asynchronous.
fn flush_mode(ctx: &Ctx) -> Result<bool, CmdError> {
    match ctx.argv.len() {
        1 => Ok(config_yes(ctx, "lazyfree-lazy-user-flush")),
        2 if eq_ic(ctx.arg(1), "sync") => Ok(false),
        2 if eq_ic(ctx.arg(1), "async") => Ok(true),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx) -> CmdResult {
    let lazy = flush_mode(ctx)?;
    crate::db::watch::touch_db(ctx.srv, ctx.client.db, None);
    crate::tracking::flushed(ctx.srv, ctx.client);
    let n = ctx.db().flush(lazy);
    ctx.dirty(n as u64);
    // Logged even when the db was already empty, as Redis propagates FLUSHDB always.
    ctx.srv.force_propagate = true;
    ctx.out().ok();
    Ok(())
}

/// FLUSHALL empties every db; `dirty` grows by the keys removed plus one, as in Redis (so an
/// already empty server still propagates the FLUSHALL).
fn flushall(ctx: &mut Ctx) -> CmdResult {
    let lazy = flush_mode(ctx)?;
    let mut n = 0;
    for db in 0..ctx.srv.dbs.len() {
        crate::db::watch::touch_db(ctx.srv, db, None);
    }
    crate::tracking::flushed(ctx.srv, ctx.client);
    for db in &mut ctx.srv.dbs {
        n += db.flush(lazy) as u64;
    }
    ctx.dirty(n + 1);
    ctx.out().ok();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST

/// NX/XX/GT/LT of the EXPIRE family.
#[derive(Default, Clone, Copy)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Parses the options after the time (Redis's `parseExtendedExpireArgumentsOrReply`): every
/// word must be an option, then incompatible combinations are rejected.
fn expire_flags(ctx: &Ctx) -> Result<ExpireFlags, CmdError> {
    let mut f = ExpireFlags::default();
    for a in &ctx.argv[3..] {
        if eq_ic(a, "nx") {
            f.nx = true;
        } else if eq_ic(a, "xx") {
            f.xx = true;
        } else if eq_ic(a, "gt") {
            f.gt = true;
        } else if eq_ic(a, "lt") {
            f.lt = true;
        } else {
            // Printed as a C string: up to the first NUL byte.
            let shown = a.split(|&b| b == 0).next().unwrap_or_default();
            return Err(CmdError::err(format!(
                "Unsupported option {}",
                String::from_utf8_lossy(shown)
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// The EXPIRE family (Redis's `expireGenericCommand`). `relative`: the time is added to the
/// current time; `seconds`: the time is in seconds. A resulting time in the past deletes the
/// key (and replies 1).
fn expire_generic(ctx: &mut Ctx, relative: bool, seconds: bool) -> CmdResult {
    let flags = expire_flags(ctx)?;
    let mut when = int_arg(ctx.arg(2))?;
    let invalid = || CmdError::InvalidExpire(expire_cmd_name(ctx));
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    if relative {
        when = when.checked_add(ctx.now()).ok_or_else(invalid)?;
    }
    let key = ctx.arg(1);
    if !lookup_write(ctx, key) {
        ctx.out().int(0);
        return Ok(());
    }
    let current = ctx.db().expire_at(key);
    let refused = (flags.nx && current.is_some())
        || (flags.xx && current.is_none())
        || (flags.gt && current.is_none_or(|c| when <= c))
        || (flags.lt && current.is_some_and(|c| when >= c));
    if refused {
        ctx.out().int(0);
        return Ok(());
    }
    if when <= ctx.now() {
        let lazy = config_yes(ctx, "lazyfree-lazy-expire");
        ctx.db().delete(key, lazy);
        ctx.notify(b'g', "del", key);
    } else {
        ctx.db().set_expire(key, when);
        ctx.notify(b'g', "expire", key);
    }
    ctx.dirty(1);
    ctx.out().int(1);
    Ok(())
}

/// The running command's name for "invalid expire time in '...' command".
fn expire_cmd_name(ctx: &Ctx) -> &'static str {
    match ctx.cmd.full_name.as_str() {
        "pexpire" => "pexpire",
        "expireat" => "expireat",
        "pexpireat" => "pexpireat",
        _ => "expire",
    }
}

fn expire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, true, true)
}

fn pexpire(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, true, false)
}

fn expireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, false, true)
}

fn pexpireat(ctx: &mut Ctx) -> CmdResult {
    expire_generic(ctx, false, false)
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME (Redis's `ttlGenericCommand`): -2 for a missing key,
/// -1 without a TTL; seconds are rounded to the nearest, as Redis does `(ms+500)/1000`.
fn ttl_generic(ctx: &mut Ctx, ms: bool, absolute: bool) -> CmdResult {
    let key = ctx.arg(1);
    if lookup_notouch(ctx, key).is_none() {
        ctx.out().int(-2);
        return Ok(());
    }
    let now = ctx.now();
    let db = ctx.db();
    let value = match db.expire_at(key) {
        None => -1,
        Some(at) => {
            let t = if absolute {
                at.max(0)
            } else {
                db.ttl_ms(key, now).unwrap_or(0)
            };
            if ms {
                t
            } else {
                // Rounded in wide arithmetic: Redis's `(t+500)/1000` gives the exact result
                // even for a PEXPIREAT at i64::MAX.
                ((i128::from(t) + 500) / 1000) as i64
            }
        }
    };
    ctx.out().int(value);
    Ok(())
}

fn ttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, false, false)
}

fn pttl(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, true, false)
}

fn expiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, false, true)
}

fn pexpiretime(ctx: &mut Ctx) -> CmdResult {
    ttl_generic(ctx, true, true)
}

fn persist(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let removed = lookup_write(ctx, key) && ctx.db().persist(key);
    if removed {
        ctx.dirty(1);
        ctx.notify(b'g', "persist", key);
    }
    ctx.out().int(i64::from(removed));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// OBJECT

const LFU_NOT_SELECTED: &str = "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const LFU_SELECTED: &str = "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// Looks up OBJECT's key (no LRU update, as Redis's LOOKUP_NOTOUCH) and copies out what the
/// subcommands need; replies null when the key is missing.
fn object_lookup(ctx: &mut Ctx) -> Option<(u32, Value)> {
    let key = ctx.arg(2);
    let found = lookup_notouch_with(ctx, key, false).map(|o| (o.lru, o.val.clone()));
    if found.is_none() {
        ctx.out().null();
    }
    found
}

fn object_encoding(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(2);
    match lookup_notouch_with(ctx, key, false).map(|o| o.val.encoding()) {
        Some(enc) => ctx.out().bulk(enc.as_bytes()),
        None => ctx.out().null(),
    }
    Ok(())
}

fn object_freq(ctx: &mut Ctx) -> CmdResult {
    let Some((lru_field, _)) = object_lookup(ctx) else {
        return Ok(());
    };
    if !ctx.srv.config.lfu_policy {
        return Err(CmdError::err(LFU_NOT_SELECTED));
    }
    let decay = ctx.srv.config.lfu_decay_time;
    let counter = lru::lfu_decayed_counter(lru_field, ctx.now(), decay);
    ctx.out().int(i64::from(counter));
    Ok(())
}

fn object_idletime(ctx: &mut Ctx) -> CmdResult {
    let Some((lru_field, _)) = object_lookup(ctx) else {
        return Ok(());
    };
    if ctx.srv.config.lfu_policy {
        return Err(CmdError::err(LFU_SELECTED));
    }
    let idle = lru::idle_ms(lru_field, ctx.now()) / 1000;
    ctx.out().int(idle as i64);
    Ok(())
}

/// OBJECT REFCOUNT: we share no objects, but Redis shares the integers 0..9999 (refcount
/// INT_MAX) unless maxmemory is set with an LRU/LFU policy, so we report what Redis would.
fn object_refcount(ctx: &mut Ctx) -> CmdResult {
    let Some((_, val)) = object_lookup(ctx) else {
        return Ok(());
    };
    let no_sharing = ctx.srv.config.maxmemory != 0
        && ctx
            .srv
            .config
            .get("maxmemory-policy")
            .is_some_and(|p| p.ends_with("lru") || p.ends_with("lfu"));
    let shared = match &val {
        Value::Str(StrValue::Int(n)) => (0..SHARED_INTEGERS).contains(n),
        _ => false,
    };
    let refcount = if shared && !no_sharing {
        SHARED_REFCOUNT
    } else {
        1
    };
    ctx.out().int(refcount);
    Ok(())
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(ctx: &mut Ctx) -> CmdResult {
    let out = ctx.out();
    out.array(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        out.simple(line);
    }
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("del", del),
    ("unlink", unlink),
    ("exists", exists),
    ("type", type_cmd),
    ("touch", touch),
    ("dbsize", dbsize),
    ("keys", keys),
    ("scan", scan),
    ("randomkey", randomkey),
    ("rename", rename),
    ("renamenx", renamenx),
    ("copy", copy),
    ("move", move_cmd),
    ("swapdb", swapdb),
    ("flushdb", flushdb),
    ("flushall", flushall),
    ("expire", expire),
    ("pexpire", pexpire),
    ("expireat", expireat),
    ("pexpireat", pexpireat),
    ("ttl", ttl),
    ("pttl", pttl),
    ("expiretime", expiretime),
    ("pexpiretime", pexpiretime),
    ("persist", persist),
    ("object|encoding", object_encoding),
    ("object|freq", object_freq),
    ("object|idletime", object_idletime),
    ("object|refcount", object_refcount),
    ("object|help", object_help),
];

#[cfg(test)]
mod tests {
    use super::parse_cursor;
    use crate::testkit::TestServer;

    fn config(t: &mut TestServer, name: &str, value: &str) {
        t.srv
            .config
            .set(name, &[value.to_string()], false)
            .expect("valid config");
    }

    #[test]
    fn cursor_parsing_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b"5\x00junk"), Some(5));
        for bad in [&b" 1"[..], b"1 ", b"0x1", b"+", b"-", b"abc", b"1.0", b"\t"] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ttl_boundaries_and_past_times() {
        let mut t = TestServer::new();
        t.exec("SET k v");
        assert_eq!(t.exec("PEXPIRE k 100"), ":1\r\n");
        t.advance_ms(100);
        // Redis keeps a key alive during the millisecond it expires at.
        assert_eq!(t.exec("PTTL k"), ":0\r\n");
        assert_eq!(t.exec("TTL k"), ":0\r\n");
        t.advance_ms(1);
        assert_eq!(t.exec("PTTL k"), ":-2\r\n");
        assert_eq!(t.exec("EXISTS k"), ":0\r\n");
        t.exec("SET k v");
        assert_eq!(t.exec("PEXPIRE k 1499"), ":1\r\n");
        assert_eq!(t.exec("TTL k"), ":1\r\n");
        assert_eq!(t.exec("PEXPIRE k 1500"), ":1\r\n");
        assert_eq!(t.exec("TTL k"), ":2\r\n");
        let at = t.srv.now_ms + 2500;
        assert_eq!(t.exec(&format!("PEXPIREAT k {at}")), ":1\r\n");
        assert_eq!(t.exec("PEXPIRETIME k"), format!(":{at}\r\n"));
        assert_eq!(
            t.exec("EXPIRETIME k"),
            format!(":{}\r\n", (at + 500) / 1000)
        );
        // A time in the past deletes the key, counts as a change and replies 1.
        let dirty = t.srv.dirty;
        let now = t.srv.now_ms;
        assert_eq!(t.exec(&format!("PEXPIREAT k {now}")), ":1\r\n");
        assert_eq!(t.srv.dirty, dirty + 1);
        assert_eq!(t.exec("EXISTS k"), ":0\r\n");
    }

    #[test]
    fn expired_keys_are_absent_everywhere() {
        let mut t = TestServer::new();
        for k in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            t.exec(&format!("SET {k} v"));
            t.exec(&format!("PEXPIRE {k} 10"));
        }
        t.exec("SET live v");
        t.advance_ms(11);
        assert_eq!(t.exec("KEYS *"), "*1\r\n$4\r\nlive\r\n");
        // KEYS skips expired keys without deleting them; DBSIZE still counts them, as Redis.
        assert_eq!(t.exec("DBSIZE"), ":9\r\n");
        assert_eq!(t.exec("RANDOMKEY"), "$4\r\nlive\r\n");
        assert_eq!(
            t.exec("SCAN 0 COUNT 100"),
            "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nlive\r\n"
        );
        // SCAN expired what it saw.
        assert_eq!(t.exec("DBSIZE"), ":1\r\n");
        t.exec("SET x v");
        t.exec("PEXPIRE x 10");
        t.advance_ms(11);
        assert_eq!(t.exec("TYPE x"), "+none\r\n");
        assert_eq!(t.exec("OBJECT ENCODING x"), "$-1\r\n");
        assert_eq!(t.exec("RENAME x y"), "-ERR no such key\r\n");
        assert_eq!(t.exec("MOVE x 1"), ":0\r\n");
        assert_eq!(t.exec("COPY x y"), ":0\r\n");
        assert_eq!(t.exec("PERSIST x"), ":0\r\n");
        assert_eq!(t.exec("EXPIRE x 100"), ":0\r\n");
        assert_eq!(t.exec("DEL x"), ":0\r\n");
        assert_eq!(t.srv.dbs[0].expired_keys, 9);
    }

    #[test]
    fn expire_options() {
        let mut t = TestServer::new();
        t.exec("SET k v");
        assert_eq!(t.exec("EXPIRE k 100 GT"), ":0\r\n");
        assert_eq!(t.exec("EXPIRE k 100 LT"), ":1\r\n");
        assert_eq!(t.exec("EXPIRE k 50 NX"), ":0\r\n");
        assert_eq!(t.exec("EXPIRE k 200 XX GT"), ":1\r\n");
        assert_eq!(t.exec("EXPIRE k 300 LT"), ":0\r\n");
        assert_eq!(t.exec("TTL k"), ":200\r\n");
        assert_eq!(
            t.exec("EXPIRE k 10 NX LT"),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
        );
        assert_eq!(
            t.exec("EXPIRE k 10 GT LT"),
            "-ERR GT and LT options at the same time are not compatible\r\n"
        );
        assert_eq!(t.exec("EXPIRE k 10 ZZ"), "-ERR Unsupported option ZZ\r\n");
        assert_eq!(
            t.exec("EXPIRE k 9223372036854775807"),
            "-ERR invalid expire time in 'expire' command\r\n"
        );
        assert_eq!(
            t.exec("PEXPIRE k 9223372036854775807"),
            "-ERR invalid expire time in 'pexpire' command\r\n"
        );
        assert_eq!(
            t.exec("EXPIREAT k 9223372036854776"),
            "-ERR invalid expire time in 'expireat' command\r\n"
        );
    }

    #[test]
    fn object_does_not_touch_the_clock() {
        let mut t = TestServer::new();
        t.exec("SET k v");
        t.advance_ms(10_000);
        assert_eq!(t.exec("OBJECT IDLETIME k"), ":10\r\n");
        for cmd in ["OBJECT ENCODING k", "EXISTS k", "TYPE k", "TTL k", "KEYS *"] {
            t.exec(cmd);
        }
        assert_eq!(t.exec("OBJECT IDLETIME k"), ":10\r\n");
        t.exec("GET k");
        assert_eq!(t.exec("OBJECT IDLETIME k"), ":0\r\n");
        t.advance_ms(5_000);
        assert_eq!(t.exec("TOUCH k nokey k"), ":2\r\n");
        assert_eq!(t.exec("OBJECT IDLETIME k"), ":0\r\n");
        // Write lookups touch the clock (Redis's lookupKeyWrite), read ones too; RENAME and
        // MOVE then carry the object over, COPY makes a fresh one.
        for cmd in ["RENAME k k2", "MOVE k2 1", "EXPIRE k2 100", "PERSIST k2"] {
            t.advance_ms(7_000);
            t.exec(cmd);
            if cmd.starts_with("MOVE") {
                t.exec("SELECT 1");
            }
            assert_eq!(t.exec("OBJECT IDLETIME k2"), ":0\r\n", "after {cmd}");
        }
        t.advance_ms(7_000);
        t.exec("COPY k2 k3");
        assert_eq!(t.exec("OBJECT IDLETIME k2"), ":0\r\n");
        assert_eq!(t.exec("OBJECT IDLETIME k3"), ":0\r\n");
        // An existing destination is looked up for writing too, even when nothing is done.
        t.exec("SET d v");
        t.advance_ms(7_000);
        assert_eq!(t.exec("RENAMENX k3 d"), ":0\r\n");
        assert_eq!(t.exec("OBJECT IDLETIME d"), ":0\r\n");
        // DEL of another key, DBSIZE, SCAN and RANDOMKEY leave it alone.
        t.advance_ms(7_000);
        for cmd in ["DEL nokey", "DBSIZE", "SCAN 0", "RANDOMKEY"] {
            t.exec(cmd);
        }
        assert_eq!(t.exec("OBJECT IDLETIME d"), ":7\r\n");
        assert!(t
            .exec("OBJECT FREQ k2")
            .starts_with("-ERR An LFU maxmemory policy is not"));
    }

    #[test]
    fn object_freq_and_refcount_with_policies() {
        let mut t = TestServer::new();
        t.exec("SET small 42");
        t.exec("SET big 10000");
        t.exec("SET s hello");
        assert_eq!(t.exec("OBJECT REFCOUNT small"), ":2147483647\r\n");
        assert_eq!(t.exec("OBJECT REFCOUNT big"), ":1\r\n");
        assert_eq!(t.exec("OBJECT REFCOUNT s"), ":1\r\n");
        config(&mut t, "maxmemory", "1gb");
        config(&mut t, "maxmemory-policy", "allkeys-lru");
        assert_eq!(t.exec("OBJECT REFCOUNT small"), ":1\r\n");
        config(&mut t, "maxmemory-policy", "allkeys-lfu");
        assert!(t
            .exec("OBJECT IDLETIME s")
            .starts_with("-ERR An LFU maxmemory policy is selected, idle time not tracked."));
        t.exec("SET f v");
        assert_eq!(t.exec("OBJECT FREQ f"), ":5\r\n");
        // OBJECT FREQ decays (one per lfu-decay-time minute) without touching the counter.
        t.advance_ms(3 * 60_000);
        assert_eq!(t.exec("OBJECT FREQ f"), ":2\r\n");
        assert_eq!(t.exec("OBJECT FREQ nokey"), "$-1\r\n");
    }

    #[test]
    fn scan_returns_every_key_while_the_table_grows() {
        let mut t = TestServer::new();
        for i in 0..500 {
            t.exec(&format!("SET k{i} v"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        let mut added = 0;
        for _ in 0..10_000 {
            let reply = t.exec(&format!("SCAN {cursor} COUNT 7"));
            let lines: Vec<&str> = reply.split("\r\n").collect();
            cursor = lines[2].to_string();
            for k in lines[4..].iter().skip(1).step_by(2) {
                seen.insert(k.to_string());
            }
            // Grow the keyspace mid-scan (forcing rehashes).
            for _ in 0..20 {
                t.exec(&format!("SET new{added} v"));
                added += 1;
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(cursor, "0");
        for i in 0..500 {
            assert!(seen.contains(&format!("k{i}")), "k{i} missing");
        }
    }

    #[test]
    fn dirty_counts_and_stats() {
        let mut t = TestServer::new();
        for k in ["a", "b", "c"] {
            t.exec(&format!("SET {k} v"));
        }
        let d = t.srv.dirty;
        assert_eq!(t.exec("DEL a b nokey"), ":2\r\n");
        assert_eq!(t.srv.dirty, d + 2);
        t.exec("EXISTS c c nokey");
        let (hits, misses) = (t.srv.stats.keyspace_hits, t.srv.stats.keyspace_misses);
        t.exec("EXISTS c nokey");
        assert_eq!(t.srv.stats.keyspace_hits, hits + 1);
        assert_eq!(t.srv.stats.keyspace_misses, misses + 1);
        let d = t.srv.dirty;
        t.exec("SELECT 3");
        t.exec("SET x v");
        t.exec("SELECT 0");
        assert_eq!(t.exec("FLUSHALL ASYNC"), "+OK\r\n");
        assert_eq!(t.srv.dirty, d + 1 + 3);
        assert_eq!(t.exec("FLUSHALL"), "+OK\r\n");
        assert_eq!(t.srv.dirty, d + 1 + 3 + 1);
        t.exec("SET x v");
        let d = t.srv.dirty;
        assert_eq!(t.exec("FLUSHDB SYNC"), "+OK\r\n");
        assert_eq!(t.srv.dirty, d + 1);
        assert_eq!(t.exec("SWAPDB 0 0"), "+OK\r\n");
        assert_eq!(t.srv.dirty, d + 2);
        assert_eq!(t.exec("UNLINK nokey"), ":0\r\n");
        assert_eq!(t.srv.dirty, d + 2);
    }
}
