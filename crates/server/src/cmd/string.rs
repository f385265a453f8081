//! String commands: GET/SET and their variants, counters, ranges and LCS.
//!
//! Semantics, reply shapes and error texts are those of Redis 7.0's `t_string.c`; comments
//! name the Redis function a piece mirrors where the order of checks matters (which error a
//! client sees first is part of the behaviour).
//!
//! GET and SET are the hottest path of the server: GET writes the bulk reply while borrowing
//! the stored value (no copy), SET parses options with byte comparisons and does one keyspace
//! lookup when overwriting.

use std::cmp::max;

use cinnabar_resp::ReplyBuf;

use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::types::{StrValue, Value};
use crate::util::eq_ic;

// Option flags of SET and GETEX (Redis's OBJ_SET_NX, OBJ_EX, ...).
const NX: u32 = 1 << 0;
const XX: u32 = 1 << 1;
const EX: u32 = 1 << 2;
const PX: u32 = 1 << 3;
const KEEPTTL: u32 = 1 << 4;
const GET: u32 = 1 << 5;
const EXAT: u32 = 1 << 6;
const PXAT: u32 = 1 << 7;
const PERSIST: u32 = 1 << 8;
const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;

/// The string in a stored value; `None` for other types (WRONGTYPE for most commands, a nil
/// for MGET). The one place to extend when more value types exist.
#[inline]
fn as_str(v: &Value) -> Option<&StrValue> {
    match v {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

#[inline]
fn as_str_mut(v: &mut Value) -> Option<&mut StrValue> {
    match v {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// An option argument the way Redis compares it: as a C string, i.e. up to the first NUL.
#[inline]
fn opt(a: &[u8]) -> &[u8] {
    match a.iter().position(|&c| c == 0) {
        Some(i) => &a[..i],
        None => a,
    }
}

/// Parses the options of SET (from argv[3]) or GETEX (from argv[2]), with Redis's rules for
/// which combinations are a syntax error (`parseExtendedStringArgumentsOrReply`).
/// Return value: the flags and the expire argument, if any.
fn parse_ext(argv: &[Vec<u8>], is_set: bool) -> Result<(u32, Option<&[u8]>), CmdError> {
    let mut flags = 0u32;
    let mut expire = None;
    let mut j = if is_set { 3 } else { 2 };
    while j < argv.len() {
        let o = opt(&argv[j]);
        let has_next = j + 1 < argv.len();
        let time_flag = match o.len() {
            2 if eq_ic(o, "ex") => Some(EX),
            2 if eq_ic(o, "px") => Some(PX),
            4 if eq_ic(o, "exat") => Some(EXAT),
            4 if eq_ic(o, "pxat") => Some(PXAT),
            _ => None,
        };
        if is_set && eq_ic(o, "nx") && flags & XX == 0 {
            flags |= NX;
        } else if is_set && eq_ic(o, "xx") && flags & NX == 0 {
            flags |= XX;
        } else if is_set && eq_ic(o, "get") {
            flags |= GET;
        } else if is_set && eq_ic(o, "keepttl") && flags & (PERSIST | ANY_EXPIRE) == 0 {
            flags |= KEEPTTL;
        } else if !is_set && eq_ic(o, "persist") && flags & (ANY_EXPIRE | KEEPTTL) == 0 {
            flags |= PERSIST;
        } else if let Some(f) = time_flag.filter(|&f| {
            // The same unit may repeat (the last value wins); any other combination fails.
            has_next && flags & (KEEPTTL | PERSIST | (ANY_EXPIRE & !f)) == 0
        }) {
            flags |= f;
            expire = Some(argv[j + 1].as_slice());
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok((flags, expire))
}

/// The absolute expiry time (unix ms) for an EX/PX/EXAT/PXAT argument, checked as Redis's
/// `getExpireMillisecondsOrReply`: positive, and no overflow once converted and made absolute.
fn expire_at(arg: &[u8], flags: u32, now: i64, cmd: &'static str) -> Result<i64, CmdError> {
    let mut ms = int_arg(arg)?;
    let seconds = flags & (EX | EXAT) != 0;
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(CmdError::InvalidExpire(cmd));
    }
    if seconds {
        ms *= 1000;
    }
    if flags & (EX | PX) != 0 {
        ms = ms.checked_add(now).ok_or(CmdError::InvalidExpire(cmd))?;
    }
    Ok(ms)
}

/// Redis's `checkStringLength`: `size + append` must fit proto-max-bulk-len (and not overflow).
fn check_len(size: i64, append: i64, limit: i64) -> CmdResult {
    let total = (size as u64).wrapping_add(append as u64) as i64;
    if total > limit || total < size || total < append {
        return Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

/// Redis's `setKey`: stores `val` at `key`, replacing any value, and drops the TTL unless
/// `keep_ttl`. An expired key is removed first (counted as expired, as `lookupKeyWrite` does).
pub(super) fn set_key(ctx: &mut Ctx, key: &[u8], val: StrValue, keep_ttl: bool) {
    let lru = if ctx.srv.config.lfu_policy {
        // Redis keeps the LFU counter of the object it replaces (`dbOverwrite`).
        match ctx.lookup_write(key) {
            Some(o) => o.lru,
            None => ctx.new_lru(),
        }
    } else {
        ctx.new_lru()
    };
    let now = ctx.now();
    let db = ctx.db();
    db.expire_if_needed(key, now);
    db.set(key, Value::Str(val), lru);
    if !keep_ttl {
        db.persist(key);
    }
}

/// Redis's `getGenericCommand`: replies with the value, a nil, or fails with WRONGTYPE.
#[inline]
fn get_generic(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    match ctx.lookup_read_out(key) {
        (None, out) => out.null(),
        (Some(obj), out) => {
            let s = as_str(&obj.val).ok_or(CmdError::WrongType)?;
            s.with_bytes(|b| out.bulk(b));
        }
    }
    Ok(())
}

fn get(ctx: &mut Ctx) -> CmdResult {
    get_generic(ctx, ctx.arg(1))
}

/// Replies of the SET family when the write happens / is skipped by NX or XX.
#[derive(Clone, Copy, PartialEq)]
enum SetReply {
    /// `+OK` / nil (SET, SETEX, PSETEX).
    OkNull,
    /// `:1` / `:0` (SETNX).
    OneZero,
}

/// Redis's `setGenericCommand` (SET, SETNX, SETEX, PSETEX).
fn set_generic(
    ctx: &mut Ctx,
    flags: u32,
    key: &[u8],
    val: &[u8],
    expire: Option<&[u8]>,
    reply: SetReply,
) -> CmdResult {
    let when = match expire {
        Some(e) => Some(expire_at(e, flags, ctx.now(), ctx.cmd.full_name.as_str())?),
        None => None,
    };
    if flags & GET != 0 {
        get_generic(ctx, key)?;
    }
    if flags & (NX | XX) != 0 {
        let found = ctx.lookup_write(key).is_some();
        if (flags & NX != 0 && found) || (flags & XX != 0 && !found) {
            if flags & GET == 0 {
                match reply {
                    SetReply::OkNull => ctx.out().null(),
                    SetReply::OneZero => ctx.out().int(0),
                }
            }
            return Ok(());
        }
    }
    set_key(ctx, key, StrValue::from_bytes(val), flags & KEEPTTL != 0);
    ctx.dirty(1);
    ctx.notify(b'$', "set", key);
    if let Some(at) = when {
        // A time already past leaves the key to lazy/active expiry, as Redis 7.0 does.
        ctx.db().set_expire(key, at);
        ctx.notify(b'g', "expire", key);
    }
    if flags & GET == 0 {
        match reply {
            SetReply::OkNull => ctx.out().ok(),
            SetReply::OneZero => ctx.out().int(1),
        }
    }
    Ok(())
}

fn set(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let (flags, expire) = parse_ext(argv, true)?;
    set_generic(ctx, flags, &argv[1], &argv[2], expire, SetReply::OkNull)
}

fn setnx(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    set_generic(ctx, NX, &argv[1], &argv[2], None, SetReply::OneZero)
}

fn setex(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    set_generic(
        ctx,
        EX,
        &argv[1],
        &argv[3],
        Some(&argv[2]),
        SetReply::OkNull,
    )
}

fn psetex(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    set_generic(
        ctx,
        PX,
        &argv[1],
        &argv[3],
        Some(&argv[2]),
        SetReply::OkNull,
    )
}

fn getset(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    get_generic(ctx, &argv[1])?;
    set_key(ctx, &argv[1], StrValue::from_bytes(&argv[2]), false);
    ctx.dirty(1);
    ctx.notify(b'$', "set", &argv[1]);
    Ok(())
}

fn getdel(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    match ctx.lookup_read_out(key) {
        (None, out) => {
            out.null();
            return Ok(());
        }
        (Some(obj), out) => {
            let s = as_str(&obj.val).ok_or(CmdError::WrongType)?;
            s.with_bytes(|b| out.bulk(b));
        }
    }
    ctx.db().remove(key);
    ctx.dirty(1);
    ctx.notify(b'g', "del", key);
    Ok(())
}

/// GETEX key [EX s | PX ms | EXAT ts | PXAT ms-ts | PERSIST]
fn getex(ctx: &mut Ctx) -> CmdResult {
    let (flags, expire) = parse_ext(ctx.argv, false)?;
    let key = ctx.arg(1);
    let now = ctx.now();
    // Validated after the type check, as in Redis (a missing key replies nil, not an error).
    let when = expire.map(|e| expire_at(e, flags, now, ctx.cmd.full_name.as_str()));
    match ctx.lookup_read_out(key) {
        (None, out) => {
            out.null();
            return Ok(());
        }
        (Some(obj), out) => {
            let s = as_str(&obj.val).ok_or(CmdError::WrongType)?;
            let when = when.transpose()?;
            s.with_bytes(|b| out.bulk(b));
            let db = ctx.db();
            let event = match when {
                Some(at) if flags & (EXAT | PXAT) != 0 && at <= now => {
                    db.remove(key);
                    "del"
                }
                Some(at) => {
                    db.set_expire(key, at);
                    "expire"
                }
                None if flags & PERSIST != 0 => {
                    if !db.persist(key) {
                        return Ok(());
                    }
                    "persist"
                }
                None => return Ok(()),
            };
            ctx.dirty(1);
            ctx.notify(b'g', event, key);
        }
    }
    Ok(())
}

fn mget(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    ctx.out().array(argv.len() - 1);
    for key in &argv[1..] {
        match ctx.lookup_read_out(key) {
            (Some(obj), out) => match as_str(&obj.val) {
                Some(s) => s.with_bytes(|b| out.bulk(b)),
                None => out.null(),
            },
            (None, out) => out.null(),
        }
    }
    Ok(())
}

/// Redis's `msetGenericCommand`.
fn mset_generic(ctx: &mut Ctx, nx: bool) -> CmdResult {
    let argv = ctx.argv;
    if argv.len().is_multiple_of(2) {
        return Err(ctx.arity_error());
    }
    if nx
        && argv[1..]
            .iter()
            .step_by(2)
            .any(|k| ctx.lookup_write(k).is_some())
    {
        ctx.out().int(0);
        return Ok(());
    }
    for pair in argv[1..].chunks_exact(2) {
        set_key(ctx, &pair[0], StrValue::from_bytes(&pair[1]), false);
        ctx.notify(b'$', "set", &pair[0]);
    }
    ctx.dirty((argv.len() as u64 - 1) / 2);
    if nx {
        ctx.out().int(1);
    } else {
        ctx.out().ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx) -> CmdResult {
    mset_generic(ctx, false)
}

fn msetnx(ctx: &mut Ctx) -> CmdResult {
    mset_generic(ctx, true)
}

fn append(ctx: &mut Ctx) -> CmdResult {
    let (key, val) = (ctx.arg(1), ctx.arg(2));
    let limit = ctx.srv.config.proto_max_bulk_len;
    let len = match ctx.lookup_write(key) {
        Some(obj) => {
            let s = as_str_mut(&mut obj.val).ok_or(CmdError::WrongType)?;
            check_len(s.len() as i64, val.len() as i64, limit)?;
            s.append(val)
        }
        None => {
            let v = StrValue::from_bytes(val);
            let len = v.len();
            let lru = ctx.new_lru();
            ctx.db().add(key, Value::Str(v), lru);
            len
        }
    };
    ctx.dirty(1);
    ctx.notify(b'$', "append", key);
    ctx.out().int(len as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx) -> CmdResult {
    match ctx.lookup_read_out(ctx.arg(1)) {
        (None, out) => out.int(0),
        (Some(obj), out) => {
            let s = as_str(&obj.val).ok_or(CmdError::WrongType)?;
            out.int(s.len() as i64);
        }
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx) -> CmdResult {
    let (key, val) = (ctx.arg(1), ctx.arg(3));
    let offset = int_arg(ctx.arg(2))?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let limit = ctx.srv.config.proto_max_bulk_len;
    let len = match ctx.lookup_write(key) {
        Some(obj) => {
            let s = as_str_mut(&mut obj.val).ok_or(CmdError::WrongType)?;
            if val.is_empty() {
                // Nothing to write: the length, and the value stays as it is.
                let n = s.len() as i64;
                ctx.out().int(n);
                return Ok(());
            }
            check_len(offset, val.len() as i64, limit)?;
            s.set_range(offset as usize, val)
        }
        None => {
            if val.is_empty() {
                ctx.out().int(0);
                return Ok(());
            }
            check_len(offset, val.len() as i64, limit)?;
            let mut v = vec![0u8; offset as usize + val.len()];
            v[offset as usize..].copy_from_slice(val);
            let len = v.len();
            let lru = ctx.new_lru();
            ctx.db().add(key, Value::Str(StrValue::raw(v)), lru);
            len
        }
    };
    ctx.dirty(1);
    ctx.notify(b'$', "setrange", key);
    ctx.out().int(len as i64);
    Ok(())
}

/// The bytes GETRANGE returns for `start..=end` (negative indexes count from the end).
fn range_of(b: &[u8], mut start: i64, mut end: i64) -> &[u8] {
    let len = b.len() as i64;
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return &[];
    }
    &b[start as usize..=end as usize]
}

/// GETRANGE and its old name SUBSTR.
fn getrange(ctx: &mut Ctx) -> CmdResult {
    let start = int_arg(ctx.arg(2))?;
    let end = int_arg(ctx.arg(3))?;
    match ctx.lookup_read_out(ctx.arg(1)) {
        (None, out) => out.bulk(b""),
        (Some(obj), out) => {
            let s = as_str(&obj.val).ok_or(CmdError::WrongType)?;
            s.with_bytes(|b| out.bulk(range_of(b, start, end)));
        }
    }
    Ok(())
}

/// Redis's `incrDecrCommand`: adds `incr` to the integer at `key` (0 if missing).
fn incr_decr(ctx: &mut Ctx, incr: i64) -> CmdResult {
    let key = ctx.arg(1);
    let value = match ctx.lookup_write(key) {
        Some(obj) => {
            let s = as_str_mut(&mut obj.val).ok_or(CmdError::WrongType)?;
            let old = s.as_int().ok_or(CmdError::NotInteger)?;
            let new = old.checked_add(incr).ok_or(CmdError::Overflow)?;
            // Stored as an int whatever the old encoding was; the TTL stays.
            *s = StrValue::Int(new);
            new
        }
        None => {
            let lru = ctx.new_lru();
            ctx.db().add(key, Value::Str(StrValue::Int(incr)), lru);
            incr
        }
    };
    ctx.dirty(1);
    ctx.notify(b'$', "incrby", key);
    ctx.out().int(value);
    Ok(())
}

fn incr(ctx: &mut Ctx) -> CmdResult {
    incr_decr(ctx, 1)
}

fn decr(ctx: &mut Ctx) -> CmdResult {
    incr_decr(ctx, -1)
}

fn incrby(ctx: &mut Ctx) -> CmdResult {
    let n = int_arg(ctx.arg(2))?;
    incr_decr(ctx, n)
}

fn decrby(ctx: &mut Ctx) -> CmdResult {
    let n = int_arg(ctx.arg(2))?;
    if n == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_decr(ctx, -n)
}

fn incrbyfloat(ctx: &mut Ctx) -> CmdResult {
    let (key, incr) = (ctx.arg(1), ctx.arg(2));
    let add = |cur: &[u8]| {
        crate::util::long_double_add(cur, incr).map_err(|e| match e {
            crate::util::LdError::NotFloat => CmdError::NotFloat,
            crate::util::LdError::NanOrInf => {
                CmdError::err("increment would produce NaN or Infinity")
            }
        })
    };
    // Stored as a string (embstr/raw), never as an int, as Redis does; the TTL stays.
    let result = match ctx.lookup_write(key) {
        Some(obj) => {
            let s = as_str_mut(&mut obj.val).ok_or(CmdError::WrongType)?;
            let result = s.with_bytes(add)?;
            *s = StrValue::from_bytes_no_int(&result);
            result
        }
        None => {
            let result = add(b"0")?;
            let lru = ctx.new_lru();
            let v = StrValue::from_bytes_no_int(&result);
            ctx.db().add(key, Value::Str(v), lru);
            result
        }
    };
    ctx.dirty(1);
    ctx.notify(b'$', "incrbyfloat", key);
    ctx.out().bulk(&result);
    Ok(())
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
fn lcs(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let (k1, k2) = (&argv[1][..], &argv[2][..]);
    let a_is_str = ctx.lookup_read(k1).map(|o| as_str(&o.val).is_some());
    let b_is_str = ctx.lookup_read(k2).map(|o| as_str(&o.val).is_some());
    if a_is_str == Some(false) || b_is_str == Some(false) {
        return Err(CmdError::err(
            "The specified keys must contain string values",
        ));
    }
    let mut opts = LcsOpts::default();
    let mut j = 3;
    while j < argv.len() {
        let o = opt(&argv[j]);
        if eq_ic(o, "idx") {
            opts.idx = true;
        } else if eq_ic(o, "len") {
            opts.len = true;
        } else if eq_ic(o, "withmatchlen") {
            opts.with_match_len = true;
        } else if eq_ic(o, "minmatchlen") && j + 1 < argv.len() {
            opts.min_match_len = int_arg(&argv[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if opts.len && opts.idx {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (limit, now) = (ctx.srv.config.proto_max_bulk_len, ctx.now());
    let db = &ctx.srv.dbs[ctx.client.db];
    let bytes_of = |k: &[u8]| {
        db.peek(k, now)
            .and_then(|o| as_str(&o.val))
            .map(|s| s.bytes())
            .unwrap_or_default()
    };
    let (a, b) = (bytes_of(k1), bytes_of(k2));
    lcs_reply(&a, &b, &opts, limit, &mut ctx.client.reply)
}

#[derive(Default)]
struct LcsOpts {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: i64,
}

/// The LCS of `a` and `b` by dynamic programming over a `(|a|+1) x (|b|+1)` table, walked back
/// exactly as Redis's `lcsCommand` does so that ties pick the same matches.
fn lcs_reply(a: &[u8], b: &[u8], opts: &LcsOpts, limit: i64, out: &mut ReplyBuf) -> CmdResult {
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CmdError::err("String too long for LCS"));
    }
    let (alen, blen) = (a.len(), b.len());
    let w = blen + 1;
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    let failed =
        || CmdError::err("Insufficient memory, failed allocating transient memory for LCS");
    let bytes = cells.checked_mul(4).ok_or_else(failed)?;
    if bytes > limit as u64 {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let mut t: Vec<u32> = Vec::new();
    t.try_reserve_exact(cells as usize).map_err(|_| failed())?;
    t.resize(cells as usize, 0);
    for i in 1..=alen {
        let ai = a[i - 1];
        let (done, rest) = t.split_at_mut(i * w);
        let prev = &done[(i - 1) * w..];
        let cur = &mut rest[..w];
        for j in 1..=blen {
            cur[j] = if ai == b[j - 1] {
                prev[j - 1] + 1
            } else {
                max(prev[j], cur[j - 1])
            };
        }
    }
    let at = |i: usize, j: usize| t[i * w + j];
    let total = at(alen, blen);
    if opts.len {
        out.int(total as i64);
        return Ok(());
    }

    // Walk back from the end, collecting the LCS string and the matching ranges.
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut ranges: Vec<[usize; 5]> = Vec::new();
    let none = alen; // "no current range" marker, as Redis uses alen
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (none, 0, 0, 0);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == none {
                (a_start, a_end, b_start, b_end) = (i - 1, i - 1, j - 1, j - 1);
            } else if a_start == i && b_start == j {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != none {
                emit = true;
            }
        }
        if emit {
            let match_len = a_end - a_start + 1;
            if opts.min_match_len == 0 || match_len as i64 >= opts.min_match_len {
                ranges.push([a_start, a_end, b_start, b_end, match_len]);
            }
            a_start = none;
        }
    }

    if !opts.idx {
        out.bulk(&result);
        return Ok(());
    }
    out.map(2);
    out.bulk(b"matches");
    out.array(ranges.len());
    for [a0, a1, b0, b1, n] in ranges {
        out.array(2 + opts.with_match_len as usize);
        out.array(2);
        out.int(a0 as i64);
        out.int(a1 as i64);
        out.array(2);
        out.int(b0 as i64);
        out.int(b1 as i64);
        if opts.with_match_len {
            out.int(n as i64);
        }
    }
    out.bulk(b"len");
    out.int(total as i64);
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("get", get),
    ("set", set),
    ("setnx", setnx),
    ("setex", setex),
    ("psetex", psetex),
    ("getset", getset),
    ("getdel", getdel),
    ("getex", getex),
    ("mget", mget),
    ("mset", mset),
    ("msetnx", msetnx),
    ("append", append),
    ("strlen", strlen),
    ("setrange", setrange),
    ("getrange", getrange),
    ("substr", getrange),
    ("incr", incr),
    ("decr", decr),
    ("incrby", incrby),
    ("decrby", decrby),
    ("incrbyfloat", incrbyfloat),
    ("lcs", lcs),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;
    use crate::types::Value;

    const OK: &str = "+OK\r\n";
    const NIL: &str = "$-1\r\n";
    const SYNTAX: &str = "-ERR syntax error\r\n";
    const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
    const NOW: i64 = 1_700_000_000_000;

    fn bulk(s: &str) -> String {
        format!("${}\r\n{s}\r\n", s.len())
    }

    fn int(n: i64) -> String {
        format!(":{n}\r\n")
    }

    fn err(msg: &str) -> String {
        format!("-{msg}\r\n")
    }

    /// Runs each `(command, expected reply)` pair in order.
    fn run(t: &mut TestServer, steps: &[(&str, &str)]) {
        for (cmd, want) in steps {
            assert_eq!(t.exec(cmd), *want, "command: {cmd}");
        }
    }

    fn encoding(t: &TestServer, key: &str) -> Option<&'static str> {
        t.srv.dbs[0]
            .dict
            .get(key.as_bytes())
            .map(|o| o.val.encoding())
    }

    fn expire_at(t: &TestServer, key: &str) -> Option<i64> {
        t.srv.dbs[0].expire_at(key.as_bytes())
    }

    fn present(t: &TestServer, key: &str) -> bool {
        t.srv.dbs[0].dict.get(key.as_bytes()).is_some()
    }

    #[test]
    fn get_and_set() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("GET k", NIL),
                ("SET k v", OK),
                ("GET k", &bulk("v")),
                ("set k \"a b\"", OK),
                ("GET k", &bulk("a b")),
                ("SET k \"\"", OK),
                ("GET k", &bulk("")),
                ("SET \"\" x", OK),
                ("GET \"\"", &bulk("x")),
                ("SET bin \"\\x00\\r\\n\"", OK),
                ("GET bin", "$3\r\n\0\r\n\r\n"),
                (
                    "GET",
                    &err("ERR wrong number of arguments for 'get' command"),
                ),
                (
                    "SET k",
                    &err("ERR wrong number of arguments for 'set' command"),
                ),
            ],
        );
        t.resp3();
        assert_eq!(t.exec("GET nosuch"), "_\r\n");
    }

    #[test]
    fn set_encodings_like_redis() {
        let mut t = TestServer::new();
        for (val, enc) in [
            ("123", "int"),
            ("-9223372036854775808", "int"),
            ("9223372036854775808", "embstr"),
            ("01", "embstr"),
            ("+1", "embstr"),
            ("-0", "embstr"),
            ("1.5", "embstr"),
            (&"a".repeat(44), "embstr"),
            (&"a".repeat(45), "raw"),
        ] {
            t.exec(&format!("SET k {val}"));
            assert_eq!(encoding(&t, "k"), Some(enc), "value {val}");
            assert_eq!(t.exec("GET k"), bulk(val));
        }
    }

    #[test]
    fn set_nx_xx_get() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("SET k v XX", NIL),
                ("SET k v NX", OK),
                ("SET k w NX", NIL),
                ("GET k", &bulk("v")),
                ("SET k w XX", OK),
                ("GET k", &bulk("w")),
                ("SET k x GET", &bulk("w")),
                ("SET k y NX GET", &bulk("x")),
                ("GET k", &bulk("x")),
                ("SET n v XX GET", NIL),
                ("SET n v NX GET", NIL),
                ("GET n", &bulk("v")),
                ("SET k z GET GET", &bulk("x")),
                ("SET k z NX NX", NIL),
                ("SETNX k 1", &int(0)),
                ("SETNX new 1", &int(1)),
                ("GET new", &bulk("1")),
            ],
        );
        assert_eq!(encoding(&t, "new"), Some("int"));
    }

    #[test]
    fn set_option_errors() {
        let mut t = TestServer::new();
        for bad in [
            "SET k v NX XX",
            "SET k v XX NX",
            "SET k v EX",
            "SET k v EX 10 PX 100",
            "SET k v PX 100 EXAT 10",
            "SET k v EXAT 10 PXAT 10",
            "SET k v KEEPTTL EX 10",
            "SET k v EX 10 KEEPTTL",
            "SET k v PERSIST",
            "SET k v foo",
            "SET k v \"nx \"",
            "GETEX k NX",
            "GETEX k GET",
            "GETEX k KEEPTTL",
            "GETEX k EX 10 PERSIST",
            "GETEX k PERSIST PX 10",
            "GETEX k PX",
        ] {
            assert_eq!(t.exec(bad), SYNTAX, "{bad}");
        }
        // Options compare as C strings: a NUL ends them.
        assert_eq!(t.exec("SET k v \"nx\\x00junk\""), OK);
        assert_eq!(t.exec("SET k v \"NX\\x00\""), NIL);
        // The same unit twice is fine, the last value wins.
        assert_eq!(t.exec("SET k v EX 10 EX 20"), OK);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 20_000));
        assert_eq!(t.exec("SET k v EX abc"), NOT_INT);
        let invalid = err("ERR invalid expire time in 'set' command");
        for bad in [
            "SET k v EX 0",
            "SET k v EX -1",
            "SET k v PX 0",
            "SET k v EXAT 0",
            "SET k v PXAT -1",
            "SET k v EX 9223372036854776",
            "SET k v EX 9223372036854775",
            "SET k v PX 9223372036854775807",
            "SET k v EXAT 9223372036854776",
        ] {
            assert_eq!(t.exec(bad), invalid, "{bad}");
        }
        // Large absolute times are fine as long as they fit.
        assert_eq!(t.exec("SET k v PXAT 9223372036854775807"), OK);
        assert_eq!(t.exec("SET k v EXAT 9223372036854775"), OK);
        // The expire error comes before NX/XX and GET are looked at.
        assert_eq!(t.exec("SET k v NX GET EX 0"), invalid);
    }

    #[test]
    fn set_ttls() {
        let mut t = TestServer::new();
        run(&mut t, &[("SET k v EX 100", OK)]);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 100_000));
        run(&mut t, &[("SET k v PX 1500", OK)]);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 1500));
        run(&mut t, &[("SET k w KEEPTTL", OK)]);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 1500));
        run(&mut t, &[("SET k w NX", NIL)]);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 1500));
        run(&mut t, &[("SET k w", OK)]);
        assert_eq!(expire_at(&t, "k"), None);
        run(&mut t, &[("SET k v EXAT 1800000000", OK)]);
        assert_eq!(expire_at(&t, "k"), Some(1_800_000_000_000));
        run(&mut t, &[("SET k v PXAT 1800000000123", OK)]);
        assert_eq!(expire_at(&t, "k"), Some(1_800_000_000_123));
        run(&mut t, &[("SETEX k 10 v", OK)]);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 10_000));
        run(&mut t, &[("PSETEX k 10 v", OK)]);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 10));
        // Redis keeps a key alive during the millisecond it expires at (expired when now > at).
        t.advance_ms(10);
        run(&mut t, &[("GET k", &bulk("v"))]);
        t.advance_ms(1);
        run(&mut t, &[("GET k", NIL)]);
        assert_eq!(t.srv.dbs[0].expired_keys, 1);
        run(
            &mut t,
            &[
                (
                    "SETEX k 0 v",
                    &err("ERR invalid expire time in 'setex' command"),
                ),
                (
                    "PSETEX k -5 v",
                    &err("ERR invalid expire time in 'psetex' command"),
                ),
                ("SETEX k x v", NOT_INT),
            ],
        );
        assert!(!present(&t, "k"));
    }

    #[test]
    fn set_absolute_time_in_the_past() {
        let mut t = TestServer::new();
        // As Redis 7.0: the key is written with the past TTL and expires on the next access.
        run(&mut t, &[("SET k v EXAT 1", OK)]);
        assert!(present(&t, "k"));
        run(&mut t, &[("GET k", NIL)]);
        assert!(!present(&t, "k"));
        assert_eq!(t.srv.dbs[0].expired_keys, 1);
        run(
            &mut t,
            &[("SET k v", OK), ("SET k w PXAT 1 GET", &bulk("v"))],
        );
        run(&mut t, &[("GET k", NIL)]);
    }

    #[test]
    fn expired_keys_are_gone_for_writers() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("SET a 1 PX 10", OK),
                ("SET b 1 PX 10", OK),
                ("SET c 1 PX 10", OK),
                ("SET d 1 PX 10", OK),
                ("SET e 1 PX 10", OK),
            ],
        );
        t.advance_ms(11);
        run(
            &mut t,
            &[
                ("SET a 2 XX", NIL),
                ("SETNX b 2", &int(1)),
                ("INCR c", &int(1)),
                ("APPEND d x", &int(1)),
                ("MSETNX e 1 f 2", &int(1)),
            ],
        );
        assert_eq!(expire_at(&t, "b"), None);
        assert_eq!(expire_at(&t, "c"), None);
    }

    #[test]
    fn mget_mset_msetnx() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("MSET a 1 b 2 c 3", OK),
                (
                    "MGET a b nosuch c",
                    "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n",
                ),
                (
                    "MSET a",
                    &err("ERR wrong number of arguments for 'mset' command"),
                ),
                (
                    "MSET a 1 b",
                    &err("ERR wrong number of arguments for 'mset' command"),
                ),
                (
                    "MSETNX a 1 b",
                    &err("ERR wrong number of arguments for 'msetnx' command"),
                ),
                ("MSET a x a y", OK),
                ("GET a", &bulk("y")),
                ("MSETNX n1 1 a 2", &int(0)),
                ("GET n1", NIL),
                ("MSETNX n1 1 n2 2", &int(1)),
                ("MGET n1 n2", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"),
            ],
        );
        assert_eq!(encoding(&t, "n1"), Some("int"));
        run(&mut t, &[("SET a v EX 100", OK), ("MSET a w", OK)]);
        assert_eq!(expire_at(&t, "a"), None);
        t.resp3();
        assert_eq!(t.exec("MGET nosuch a"), "*2\r\n_\r\n$1\r\nw\r\n");
    }

    #[test]
    fn hits_and_misses() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[("SET a 1", OK), ("GET a", &bulk("1")), ("GET b", NIL)],
        );
        t.exec("MGET a b c");
        t.exec("STRLEN a");
        assert_eq!(t.srv.stats.keyspace_hits, 3);
        assert_eq!(t.srv.stats.keyspace_misses, 3);
        // Writes do not count.
        t.exec("INCR a");
        t.exec("SET a 2");
        assert_eq!(t.srv.stats.keyspace_hits, 3);
        assert_eq!(t.srv.stats.keyspace_misses, 3);
    }

    #[test]
    fn dirty_counts_changes() {
        let mut t = TestServer::new();
        let d0 = t.srv.dirty;
        t.exec("SET a 1");
        t.exec("SET a 1 NX");
        t.exec("MSET b 1 c 2");
        t.exec("SETRANGE b 0 \"\"");
        t.exec("GETEX a");
        t.exec("GETEX a PERSIST");
        t.exec("GETEX a EX 10");
        t.exec("GETEX a PERSIST");
        t.exec("GETDEL nosuch");
        t.exec("GETDEL c");
        assert_eq!(t.srv.dirty - d0, 1 + 2 + 1 + 1 + 1);
    }

    #[test]
    fn getset_getdel() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("GETSET k v", NIL),
                ("GETSET k w", &bulk("v")),
                ("GET k", &bulk("w")),
                ("SET k v EX 100", OK),
                ("GETSET k 12", &bulk("v")),
            ],
        );
        assert_eq!(expire_at(&t, "k"), None);
        assert_eq!(encoding(&t, "k"), Some("int"));
        run(
            &mut t,
            &[
                ("GETDEL k", &bulk("12")),
                ("GETDEL k", NIL),
                ("GET k", NIL),
                ("SET k v EX 100", OK),
                ("GETDEL k", &bulk("v")),
            ],
        );
        assert_eq!(expire_at(&t, "k"), None);
        assert!(!present(&t, "k"));
    }

    #[test]
    fn getex() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("GETEX k", NIL),
                ("GETEX k EX 0", NIL),
                ("SET k v", OK),
                ("GETEX k", &bulk("v")),
                (
                    "GETEX k EX 0",
                    &err("ERR invalid expire time in 'getex' command"),
                ),
                ("GETEX k EX x", NOT_INT),
                ("GETEX k EX 100", &bulk("v")),
            ],
        );
        assert_eq!(expire_at(&t, "k"), Some(NOW + 100_000));
        run(&mut t, &[("GETEX k", &bulk("v"))]);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 100_000));
        run(&mut t, &[("GETEX k PX 50", &bulk("v"))]);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 50));
        run(&mut t, &[("GETEX k PERSIST", &bulk("v"))]);
        assert_eq!(expire_at(&t, "k"), None);
        run(&mut t, &[("GETEX k EXAT 1800000000", &bulk("v"))]);
        assert_eq!(expire_at(&t, "k"), Some(1_800_000_000_000));
        run(&mut t, &[("GETEX k PXAT 1800000000001", &bulk("v"))]);
        assert_eq!(expire_at(&t, "k"), Some(1_800_000_000_001));
        run(&mut t, &[("GETEX k PX 10", &bulk("v"))]);
        t.advance_ms(11);
        run(&mut t, &[("GETEX k PERSIST", NIL)]);
        // An absolute time already past deletes the key (after replying with the value).
        run(&mut t, &[("SET k v", OK), ("GETEX k EXAT 1", &bulk("v"))]);
        assert!(!present(&t, "k"));
        assert_eq!(t.srv.dbs[0].expired_keys, 1);
        run(
            &mut t,
            &[("SET k v", OK), ("GETEX k PXAT 1700000000000", &bulk("v"))],
        );
        assert!(!present(&t, "k"));
    }

    #[test]
    fn append_and_strlen() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("STRLEN k", &int(0)),
                ("APPEND k 12", &int(2)),
                ("STRLEN k", &int(2)),
            ],
        );
        assert_eq!(encoding(&t, "k"), Some("int"));
        run(&mut t, &[("APPEND k 3", &int(3)), ("GET k", &bulk("123"))]);
        assert_eq!(encoding(&t, "k"), Some("raw"));
        run(&mut t, &[("APPEND s hello", &int(5))]);
        assert_eq!(encoding(&t, "s"), Some("embstr"));
        run(&mut t, &[("APPEND s \"\"", &int(5))]);
        assert_eq!(encoding(&t, "s"), Some("raw"));
        run(&mut t, &[("SET n -12", OK), ("STRLEN n", &int(3))]);
        run(&mut t, &[("SET k v EX 100", OK), ("APPEND k w", &int(2))]);
        assert_eq!(expire_at(&t, "k"), Some(NOW + 100_000));
    }

    #[test]
    fn length_limit() {
        let mut t = TestServer::new();
        let too_big = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        run(
            &mut t,
            &[
                ("SETRANGE k 536870912 x", &too_big),
                ("SETRANGE k 9223372036854775807 x", &too_big),
                ("SETRANGE k 536870912 \"\"", &int(0)),
            ],
        );
        t.srv.config.proto_max_bulk_len = 10;
        run(
            &mut t,
            &[
                ("SET k 12345", OK),
                ("APPEND k 67890", &int(10)),
                ("APPEND k x", &too_big),
                ("SETRANGE k 9 y", &int(10)),
                ("SETRANGE k 10 y", &too_big),
                ("SETRANGE k 100 \"\"", &int(10)),
                ("SETRANGE new 9 y", &int(10)),
                ("SETRANGE new2 10 y", &too_big),
                ("GET k", &bulk("123456789y")),
            ],
        );
    }

    #[test]
    fn setrange() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("SETRANGE k 0 \"\"", &int(0)),
                ("SETRANGE k -1 x", &err("ERR offset is out of range")),
                ("SETRANGE k x x", NOT_INT),
                ("SETRANGE k 2 ab", &int(4)),
                ("GET k", "$4\r\n\0\0ab\r\n"),
                ("SETRANGE k 0 xy", &int(4)),
                ("GET k", &bulk("xyab")),
                ("SETRANGE k 3 cdef", &int(7)),
                ("GET k", &bulk("xyacdef")),
                ("SETRANGE k 1 \"\"", &int(7)),
            ],
        );
        assert!(!present(&t, "nosuch"));
        // A created key is raw whatever its length, as is a modified one.
        run(&mut t, &[("SETRANGE r 0 1", &int(1))]);
        assert_eq!(encoding(&t, "r"), Some("raw"));
        run(&mut t, &[("SET i 123", OK), ("SETRANGE i 0 \"\"", &int(3))]);
        assert_eq!(encoding(&t, "i"), Some("int"));
        run(
            &mut t,
            &[("SETRANGE i 0 4", &int(3)), ("GET i", &bulk("423"))],
        );
        assert_eq!(encoding(&t, "i"), Some("raw"));
    }

    #[test]
    fn getrange() {
        let mut t = TestServer::new();
        run(&mut t, &[("SET k \"This is a string\"", OK)]);
        for (args, want) in [
            ("0 3", "This"),
            ("-3 -1", "ing"),
            ("0 -1", "This is a string"),
            ("10 100", "string"),
            ("5 3", ""),
            ("-1 -5", ""),
            ("-100 -90", "T"),
            ("-100 2", "Thi"),
            ("0 -100", "T"),
            ("16 20", ""),
            (
                "-9223372036854775808 9223372036854775807",
                "This is a string",
            ),
        ] {
            assert_eq!(t.exec(&format!("GETRANGE k {args}")), bulk(want), "{args}");
            assert_eq!(t.exec(&format!("SUBSTR k {args}")), bulk(want), "{args}");
        }
        run(
            &mut t,
            &[
                ("GETRANGE nosuch 0 -1", &bulk("")),
                ("GETRANGE k a 1", NOT_INT),
                ("SET n 12345", OK),
                ("GETRANGE n 1 2", &bulk("23")),
                ("SET e \"\"", OK),
                ("GETRANGE e 0 -1", &bulk("")),
            ],
        );
    }

    #[test]
    fn incr_decr() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("INCR c", &int(1)),
                ("INCRBY c 10", &int(11)),
                ("DECR c", &int(10)),
                ("DECRBY c 20", &int(-10)),
                ("GET c", &bulk("-10")),
                (
                    "DECRBY c -9223372036854775808",
                    &err("ERR decrement would overflow"),
                ),
                ("INCRBY c x", NOT_INT),
                ("SET c 9223372036854775807", OK),
                ("INCR c", &err("ERR increment or decrement would overflow")),
                ("SET c -9223372036854775808", OK),
                ("DECR c", &err("ERR increment or decrement would overflow")),
                ("INCRBY c 9223372036854775807", &int(-1)),
            ],
        );
        for bad in ["\"  1\"", "+1", "01", "1.0", "-0", "\"\"", "abc", "\"1 \""] {
            t.exec(&format!("SET c {bad}"));
            assert_eq!(t.exec("INCR c"), NOT_INT, "value {bad}");
        }
        // A string that holds an integer turns int; the TTL stays.
        run(
            &mut t,
            &[("SETRANGE r 0 41", &int(2)), ("SET t 5 EX 100", OK)],
        );
        assert_eq!(encoding(&t, "r"), Some("raw"));
        run(&mut t, &[("INCR r", &int(42)), ("INCR t", &int(6))]);
        assert_eq!(encoding(&t, "r"), Some("int"));
        assert_eq!(expire_at(&t, "t"), Some(NOW + 100_000));
    }

    #[test]
    fn incrbyfloat() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("INCRBYFLOAT f 10.5", &bulk("10.5")),
                ("INCRBYFLOAT f 0.1", &bulk("10.6")),
                ("INCRBYFLOAT f -5", &bulk("5.6")),
                ("INCRBYFLOAT f 1e2", &bulk("105.6")),
                ("INCRBYFLOAT f x", &err("ERR value is not a valid float")),
                (
                    "INCRBYFLOAT f inf",
                    &err("ERR increment would produce NaN or Infinity"),
                ),
                ("INCRBYFLOAT g 3", &bulk("3")),
            ],
        );
        // Never stored as int, even when the result is integral.
        assert_eq!(encoding(&t, "g"), Some("embstr"));
        run(
            &mut t,
            &[
                ("SET s abc", OK),
                ("INCRBYFLOAT s 1", &err("ERR value is not a valid float")),
                ("SET i 5 EX 100", OK),
                ("INCRBYFLOAT i 0.5", &bulk("5.5")),
            ],
        );
        assert_eq!(expire_at(&t, "i"), Some(NOW + 100_000));
    }

    #[test]
    fn lcs() {
        let mut t = TestServer::new();
        run(
            &mut t,
            &[
                ("MSET a ohmytext b mynewtext", OK),
                ("LCS a b", &bulk("mytext")),
                ("LCS a b LEN", &int(6)),
                (
                    "LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN",
                    "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n\
                     $3\r\nlen\r\n:6\r\n",
                ),
                (
                    "LCS a b IDX",
                    "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n\
                     *2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
                ),
                ("LCS a nosuch", &bulk("")),
                ("LCS nosuch a LEN", &int(0)),
                (
                    "LCS a b LEN IDX",
                    &err("ERR If you want both the length and indexes, please just use IDX."),
                ),
                ("LCS a b MINMATCHLEN", SYNTAX),
                ("LCS a b MINMATCHLEN x", NOT_INT),
                ("LCS a b foo", SYNTAX),
                ("SET n 12345", OK),
                ("SET m 2459", OK),
                ("LCS n m", &bulk("245")),
            ],
        );
        t.resp3();
        assert_eq!(
            t.exec("LCS a b IDX MINMATCHLEN 4"),
            "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n"
        );
        // The DP table may not exceed proto-max-bulk-len.
        t.srv.config.proto_max_bulk_len = 4 * 11 * 10;
        assert_eq!(t.exec("LCS a b LEN"), int(6));
        t.exec("MSET x 1234567890 y 123456789");
        assert_eq!(t.exec("LCS x y LEN"), int(9));
        t.exec("MSET x 12345678901");
        assert_eq!(
            t.exec("LCS x y LEN"),
            err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
        );
    }

    #[test]
    fn write_lookups_touch_the_lru_clock() {
        let mut t = TestServer::new();
        t.exec("SET k v");
        let lru0 = t.srv.dbs[0].dict.get(b"k".as_slice()).unwrap().lru;
        t.advance_ms(5000);
        t.exec("APPEND k x");
        let lru1 = t.srv.dbs[0].dict.get(b"k".as_slice()).unwrap().lru;
        assert_eq!(lru1, lru0 + 5);
        t.advance_ms(5000);
        t.exec("GET k");
        let lru2 = t.srv.dbs[0].dict.get(b"k".as_slice()).unwrap().lru;
        assert_eq!(lru2, lru0 + 10);
    }

    #[test]
    fn lfu_counter_survives_overwrite() {
        let mut t = TestServer::new();
        t.srv.config.lfu_policy = true;
        t.exec("SET k v");
        let obj = t.srv.dbs[0].dict.get_mut(b"k".as_slice()).unwrap();
        obj.lru = (obj.lru & !0xFF) | 100;
        t.exec("SET k w");
        let lru = t.srv.dbs[0].dict.get(b"k".as_slice()).unwrap().lru;
        assert!(lru & 0xFF >= 100, "counter {}", lru & 0xFF);
        t.exec("SET fresh v");
        let lru = t.srv.dbs[0].dict.get(b"fresh".as_slice()).unwrap().lru;
        assert_eq!(lru & 0xFF, crate::db::lru::LFU_INIT_VAL);
    }

    #[test]
    fn values_stay_strings() {
        let mut t = TestServer::new();
        t.exec("SET k 1");
        t.exec("INCRBYFLOAT k 1");
        let obj = t.srv.dbs[0].dict.get(b"k".as_slice()).unwrap();
        assert!(matches!(obj.val, Value::Str(_)));
    }
}
