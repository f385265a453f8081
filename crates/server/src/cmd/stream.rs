//! Stream commands without consumer groups: XADD, XRANGE, XREVRANGE, XREAD, XLEN, XDEL, XTRIM,
//! XSETID, XINFO STREAM / GROUPS / CONSUMERS / HELP.
//!
//! Argument rules, the order of checks, reply shapes and error texts are Redis 7.0.15's
//! `t_stream.c`: IDs parse as `streamGenericParseIDOrReply` does (`-`/`+` only where a range
//! allows them, `ms` alone takes the missing sequence of its side, `ms-*` only in XADD, at
//! most 127 bytes, numbers with `string2ull`'s rules); XADD and XTRIM share one option parser
//! (`streamParseAddOrTrimArgsOrReply`). The value type lives in `types/stream`.
//!
//! Propagation: XADD logs the ID it generated (for `*` and `ms-*`), and an approximate trim
//! that removed entries logs `=` with the threshold it reached (the length for MAXLEN, the
//! first remaining ID for MINID), so an AOF replay trims exactly what this run did; LIMIT is
//! kept and, as in Redis, ignored when the AOF client replays it.

use cinnabar_resp::ReplyBuf;

use super::blocking::{self, TimeoutReply, Want};
use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::types::stream::{AddError, Entry, Limits, Stream, StreamId, Trim};
use crate::types::{Obj, Value};
use crate::util::eq_ic;

const XREAD_UNBALANCED: &str = "Unbalanced XREAD list of streams: for each stream key an ID or \
                                '$' must be specified.";

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// Default approximate-trim work limit when no LIMIT is given: 100 nodes' worth, within
/// Redis's bounds.
fn default_trim_limit(node_entries: usize) -> u64 {
    let l = 100u64.saturating_mul(node_entries as u64);
    if l == 0 {
        10_000
    } else {
        l.min(1_000_000)
    }
}

fn limits(ctx: &Ctx) -> Limits {
    let e = &ctx.srv.config.enc;
    Limits {
        node_max_bytes: e.stream_node_bytes,
        node_max_entries: e.stream_node_entries,
    }
}

/// C's `strtoull` on a whole string, as `string2ull` falls back to it: leading white space,
/// an optional sign (a minus negates modulo 2^64), decimal digits to the end, no overflow.
fn strtoull(s: &[u8]) -> Option<u64> {
    let (i, neg) = crate::util::c_space_and_sign(s);
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Redis's `string2ull`: `string2ll` for canonical integers (negative ones refused), else
/// `strtoull` on the whole string.
fn string2ull(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    if let Some(v) = crate::util::parse_int(s) {
        return (v >= 0).then_some(v as u64);
    }
    strtoull(s)
}

/// Parses a stream ID (Redis's `streamGenericParseIDOrReply`). `strict` refuses `-` and `+`;
/// `seq_star` accepts `ms-*` (XADD), reported by the returned flag being false.
fn parse_id(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    seq_star: bool,
) -> Result<(StreamId, bool), CmdError> {
    let invalid = || CmdError::Raw(INVALID_ID.into());
    if arg.len() > 127 {
        return Err(invalid());
    }
    // Redis copies the argument into a C string: it ends at the first NUL.
    let s = match arg.iter().position(|&b| b == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    match s {
        b"-" | b"+" if strict => return Err(invalid()),
        b"-" => return Ok((StreamId::MIN, true)),
        b"+" => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    let (ms, seq) = match s.iter().position(|&b| b == b'-') {
        Some(d) => (&s[..d], Some(&s[d + 1..])),
        None => (s, None),
    };
    let ms = string2ull(ms).ok_or_else(invalid)?;
    match seq {
        Some(b"*") if seq_star => Ok((StreamId::new(ms, 0), false)),
        Some(q) => Ok((StreamId::new(ms, string2ull(q).ok_or_else(invalid)?), true)),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

/// A strict ID (XDEL, XSETID, MINID): no `-`/`+`, a missing sequence is 0.
fn strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_id(arg, 0, true, false).map(|(id, _)| id)
}

/// A range bound: `(` makes it exclusive (then strict). Return value: (id, exclusive).
fn interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        Ok((parse_id(&arg[1..], missing_seq, true, false)?.0, true))
    } else {
        Ok((parse_id(arg, missing_seq, false, false)?.0, false))
    }
}

fn id_bytes(id: StreamId) -> Vec<u8> {
    id.to_string().into_bytes()
}

/// Replies one entry: `[id, [field, value, ...]]`.
fn reply_entry(out: &mut ReplyBuf, e: &Entry<'_>) {
    out.array(2);
    out.bulk(e.id.to_string().as_bytes());
    out.array(e.len() * 2);
    for (f, v) in e.pairs() {
        f.with(|b| out.bulk(b));
        v.with(|b| out.bulk(b));
    }
}

/// Replies the live entries in `[start, end]` (at most `count`, 0 = all) as an array.
fn reply_range(
    out: &mut ReplyBuf,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    rev: bool,
    count: u64,
) {
    let mut n = 0u64;
    s.range(start, end, rev, |_| {
        n += 1;
        count == 0 || n < count
    });
    out.array(n as usize);
    let mut left = n;
    s.range(start, end, rev, |e| {
        reply_entry(out, e);
        left -= 1;
        left > 0
    });
}

/// The stream in a keyspace object, or WRONGTYPE.
fn as_stream(obj: &mut Obj) -> Result<&mut Stream, CmdError> {
    match &mut obj.val {
        Value::Stream(s) => Ok(s),
        _ => Err(CmdError::WrongType),
    }
}

/// Write lookup (lazy expiry) with the type check.
fn write_stream<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut Stream>, CmdError> {
    match ctx.lookup_write(key) {
        Some(obj) => Ok(Some(as_stream(obj)?)),
        None => Ok(None),
    }
}

/// XADD and XTRIM options (Redis's `streamAddTrimArgs`).
struct AddTrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// Index of the MAXLEN/MINID threshold argument (the `=`/`~` is just before it).
    threshold_at: usize,
    limit: u64,
    nomkstream: bool,
    id: Option<StreamId>,
    seq_given: bool,
    /// XADD: index of the ID argument.
    id_at: usize,
}

/// Parses XADD's options up to its ID (or XTRIM's to the end), with Redis's checks in
/// Redis's order (`streamParseAddOrTrimArgsOrReply`).
fn parse_add_trim(ctx: &Ctx, xadd: bool) -> Result<AddTrimArgs, CmdError> {
    let argv = ctx.argv;
    let mut a = AddTrimArgs {
        trim: None,
        approx: false,
        threshold_at: 0,
        limit: 0,
        nomkstream: false,
        id: None,
        seq_given: true,
        id_at: argv.len(),
    };
    let mut limit: Option<i64> = None;
    let mut i = 2;
    let both = || {
        CmdError::err("syntax error, MAXLEN and MINID options at the same time are not compatible")
    };
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = &argv[i][..];
        if xadd && opt == b"*" {
            a.id_at = i;
            break;
        } else if (eq_ic(opt, "maxlen") || eq_ic(opt, "minid")) && more > 0 {
            if a.trim.is_some() {
                return Err(both());
            }
            a.approx = false;
            let next = &argv[i + 1][..];
            if more >= 2 && next == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let t = &argv[i + 1];
            a.trim = Some(if eq_ic(opt, "maxlen") {
                let n = int_arg(t)?;
                if n < 0 {
                    return Err(CmdError::err("The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(strict_id(t)?)
            });
            i += 1;
            a.threshold_at = i;
        } else if eq_ic(opt, "limit") && more > 0 {
            let n = int_arg(&argv[i + 1])?;
            if n < 0 {
                return Err(CmdError::err("The LIMIT argument must be >= 0."));
            }
            limit = Some(n);
            i += 1;
        } else if xadd && eq_ic(opt, "nomkstream") {
            a.nomkstream = true;
        } else if xadd {
            let (id, seq_given) = parse_id(opt, 0, true, true)?;
            a.id = Some(id);
            a.seq_given = seq_given;
            a.id_at = i;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if limit.unwrap_or(0) != 0 && a.trim.is_none() {
        return Err(CmdError::err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && a.trim.is_none() {
        return Err(CmdError::err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if ctx.client.must_obey() {
        // The AOF holds exact trims that keep their LIMIT (see the module docs).
        a.limit = 0;
    } else if let Some(n) = limit {
        if !a.approx {
            return Err(CmdError::err(
                "syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
        a.limit = n as u64;
    } else if a.approx {
        a.limit = default_trim_limit(ctx.srv.config.enc.stream_node_entries);
    }
    Ok(a)
}

/// The argv an approximate trim is logged as: `=` and the threshold it reached.
fn exact_trim_argv(argv: &mut [Vec<u8>], a: &AddTrimArgs, s: &Stream) {
    argv[a.threshold_at - 1] = b"=".to_vec();
    argv[a.threshold_at] = match a.trim {
        Some(Trim::MaxLen(_)) => s.len().to_string().into_bytes(),
        _ => id_bytes(s.first_with_tombstones()),
    };
}

fn xadd(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let a = parse_add_trim(ctx, true)?;
    let fields_at = a.id_at + 1;
    let nargs = ctx.argv.len().saturating_sub(fields_at);
    if nargs < 2 || nargs % 2 == 1 {
        return Err(ctx.arity_error());
    }
    if a.id == Some(StreamId::MIN) && a.seq_given {
        return Err(CmdError::err(
            "The ID specified in XADD must be greater than 0-0",
        ));
    }
    let argv = ctx.argv;
    let fv = &argv[fields_at..];
    let lim = limits(ctx);
    let now = ctx.now().max(0) as u64;
    let exists = write_stream(ctx, key)?.is_some();
    if !exists && a.nomkstream {
        ctx.out().null();
        return Ok(());
    }
    let mut fresh = Stream::new();
    let trimmed;
    let id;
    let mut logged = None;
    {
        let s = match write_stream(ctx, key)? {
            Some(s) => s,
            None => &mut fresh,
        };
        if s.last_id == StreamId::MAX {
            return Err(CmdError::err(
                "The stream has exhausted the last possible ID, unable to add more items",
            ));
        }
        let added = s
            .next_id(a.id, a.seq_given, now)
            .and_then(|id| s.append(id, fv, lim).map(|_| id));
        id =
            match added {
                Ok(id) => id,
                Err(AddError::IdTooSmall) => return Err(CmdError::err(
                    "The ID specified in XADD is equal or smaller than the target stream top item",
                )),
                Err(AddError::TooLarge) => {
                    return Err(CmdError::err("Elements are too large to be stored"))
                }
            };
        trimmed = match a.trim {
            Some(rule) => s.trim(rule, a.approx, a.limit) > 0,
            None => false,
        };
        if a.approx || a.id.is_none() || !a.seq_given {
            let mut argv = argv.to_vec();
            if a.trim.is_some() && a.approx {
                exact_trim_argv(&mut argv, &a, s);
            }
            if a.id.is_none() || !a.seq_given {
                argv[a.id_at] = id_bytes(id);
            }
            logged = Some(argv);
        }
    }
    if !exists {
        let lru = ctx.new_lru();
        ctx.db().add(key, Value::Stream(Box::new(fresh)), lru);
    }
    ctx.out().bulk(id.to_string().as_bytes());
    ctx.notify(b't', "xadd", key);
    ctx.dirty(1);
    if trimmed {
        ctx.notify(b't', "xtrim", key);
    }
    ctx.srv.propagate_as = logged;
    if exists {
        ctx.signal_ready(key);
    }
    Ok(())
}

fn xtrim(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let a = parse_add_trim(ctx, false)?;
    let argv = ctx.argv;
    let Some(s) = write_stream(ctx, key)? else {
        ctx.out().int(0);
        return Ok(());
    };
    let rule = a.trim.expect("checked by the parser");
    let deleted = s.trim(rule, a.approx, a.limit);
    if deleted > 0 {
        if a.approx {
            let mut logged = argv.to_vec();
            exact_trim_argv(&mut logged, &a, s);
            ctx.srv.propagate_as = Some(logged);
        }
        ctx.notify(b't', "xtrim", key);
        ctx.dirty(deleted);
    }
    ctx.out().int(deleted as i64);
    Ok(())
}

/// XRANGE / XREVRANGE (Redis's `xrangeGenericCommand`): bounds, then COUNT, then the key.
fn xrange_generic(ctx: &mut Ctx, rev: bool) -> CmdResult {
    let key = ctx.arg(1);
    let (start_arg, end_arg) = if rev {
        (ctx.arg(3), ctx.arg(2))
    } else {
        (ctx.arg(2), ctx.arg(3))
    };
    let (mut start, ex) = interval_id(start_arg, 0)?;
    if ex {
        start = start
            .incr()
            .ok_or_else(|| CmdError::err("invalid start ID for the interval"))?;
    }
    let (mut end, ex) = interval_id(end_arg, u64::MAX)?;
    if ex {
        end = end
            .decr()
            .ok_or_else(|| CmdError::err("invalid end ID for the interval"))?;
    }
    let mut count: i64 = -1;
    let mut j = 4;
    while j < ctx.argv.len() {
        if eq_ic(ctx.arg(j), "count") && j + 1 < ctx.argv.len() {
            count = int_arg(ctx.arg(j + 1))?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (obj, out) = ctx.lookup_read_out(key);
    let Some(obj) = obj else {
        out.array(0);
        return Ok(());
    };
    let s = as_stream(obj)?;
    if count == 0 {
        out.null_array();
    } else {
        reply_range(out, s, start, end, rev, count.max(0) as u64);
    }
    Ok(())
}

/// XREAD [COUNT n] [BLOCK ms] STREAMS key... id... (Redis 7.0.15's `xreadCommand` without
/// groups): options, then per key the type check and its ID (`$` = the stream's last ID, 0-0
/// for a missing key), then one `[key, entries]` pair (a map in RESP3) per stream holding
/// entries newer than its ID, or a null array. With BLOCK and nothing to read the client blocks
/// on every key; its stored command gets each `$` replaced by the ID it stood for, so the
/// re-run after a signal returns only entries added since it blocked.
fn xread(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let n = argv.len();
    let mut count = 0u64;
    let mut block: Option<i64> = None;
    let mut first = None;
    let mut i = 1;
    while i < n {
        let o = &argv[i];
        let more = n - i - 1;
        if eq_ic(o, "block") && more > 0 {
            if ctx.client.in_exec && crate::scripting::running() {
                // Redis refuses BLOCK in scripts outright (MULTI just never blocks).
                return Err(CmdError::err(format!(
                    "{} command is not allowed with BLOCK option from scripts",
                    String::from_utf8_lossy(&argv[0])
                )));
            }
            i += 1;
            let ms = crate::util::parse_int(&argv[i])
                .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::err("timeout is negative"));
            }
            block = Some(if ms == 0 {
                0
            } else {
                ctx.now().saturating_add(ms)
            });
        } else if eq_ic(o, "count") && more > 0 {
            i += 1;
            count = int_arg(&argv[i])?.max(0) as u64;
        } else if eq_ic(o, "streams") && more > 0 {
            if !(n - i - 1).is_multiple_of(2) {
                return Err(CmdError::err(XREAD_UNBALANCED));
            }
            first = Some(i + 1);
            break;
        } else if eq_ic(o, "group") && more >= 2 {
            return Err(CmdError::err(
                "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
            ));
        } else if eq_ic(o, "noack") {
            return Err(CmdError::err(
                "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
            ));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let Some(first) = first else {
        return Err(CmdError::Syntax);
    };
    let nkeys = (n - first) / 2;
    let keys = &argv[first..first + nkeys];
    let raw_ids = &argv[first + nkeys..];
    let mut ids = Vec::with_capacity(nkeys);
    for (key, raw) in keys.iter().zip(raw_ids) {
        let last = match ctx.lookup_read(key) {
            Some(obj) => Some(as_stream(obj)?.last_id),
            None => None,
        };
        if raw[..] == b"$"[..] {
            ids.push(last.unwrap_or(StreamId::MIN));
        } else if raw[..] == b">"[..] {
            return Err(CmdError::err(
                "The > ID can be specified only when calling XREADGROUP using the GROUP \
                 <group> <consumer> option.",
            ));
        } else {
            ids.push(strict_id(raw)?);
        }
    }
    // Which streams have entries after their ID (a second read lookup per key, as Redis).
    let mut served = Vec::new();
    for (j, key) in keys.iter().enumerate() {
        let Some(start) = ids[j].incr() else { continue };
        let Some(obj) = ctx.lookup_read(key) else {
            continue;
        };
        let s = as_stream(obj)?;
        let mut newer = false;
        s.range(start, StreamId::MAX, false, |_| {
            newer = true;
            false
        });
        if newer {
            served.push((j, start));
        }
    }
    if let Some(k) = &ctx.srv.serving_key {
        // Served after blocking: only the signalled stream (its first occurrence), as Redis.
        let at = keys.iter().position(|x| x == k);
        served.retain(|&(j, _)| Some(j) == at);
    }
    if served.is_empty() {
        match block {
            Some(deadline) => {
                blocking::block(ctx, keys, Want::Stream, deadline, TimeoutReply::NullArray);
                if let Some(b) = ctx.client.blocked.as_mut() {
                    for (j, raw) in raw_ids.iter().enumerate() {
                        if raw[..] == b"$"[..] {
                            b.argv[first + nkeys + j] = id_bytes(ids[j]);
                        }
                    }
                }
            }
            None => ctx.out().null_array(),
        }
        return Ok(());
    }
    let db = ctx.client.db;
    let now = ctx.now();
    let srv = &*ctx.srv;
    let out = &mut ctx.client.reply;
    let resp3 = out.is_resp3();
    if resp3 {
        out.map(served.len());
    } else {
        out.array(served.len());
    }
    for (j, start) in served {
        if !resp3 {
            out.array(2);
        }
        out.bulk(&keys[j]);
        match srv.dbs[db].peek(&keys[j], now).map(|o| &o.val) {
            Some(Value::Stream(s)) => reply_range(out, s, start, StreamId::MAX, false, count),
            _ => out.array(0),
        }
    }
    Ok(())
}

fn xrange(ctx: &mut Ctx) -> CmdResult {
    xrange_generic(ctx, false)
}

fn xrevrange(ctx: &mut Ctx) -> CmdResult {
    xrange_generic(ctx, true)
}

fn xlen(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let (obj, out) = ctx.lookup_read_out(key);
    let n = match obj {
        Some(o) => as_stream(o)?.len(),
        None => 0,
    };
    out.int(n as i64);
    Ok(())
}

fn xdel(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let Some(_) = write_stream(ctx, key)? else {
        ctx.out().int(0);
        return Ok(());
    };
    // Every ID is checked before anything is deleted.
    let ids = ctx.argv[2..]
        .iter()
        .map(|a| strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let s = write_stream(ctx, key)?.expect("checked above");
    let deleted = s.delete(&ids);
    if deleted > 0 {
        ctx.notify(b't', "xdel", key);
        ctx.dirty(deleted);
    }
    ctx.out().int(deleted as i64);
    Ok(())
}

fn xsetid(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let id = strict_id(ctx.arg(2))?;
    let mut entries_added: Option<u64> = None;
    let mut max_del = StreamId::MIN;
    let mut i = 3;
    while i < ctx.argv.len() {
        let more = ctx.argv.len() - 1 - i;
        let opt = ctx.arg(i);
        if eq_ic(opt, "entriesadded") && more > 0 {
            let n = int_arg(ctx.arg(i + 1))?;
            if n < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
            entries_added = Some(n as u64);
            i += 2;
        } else if eq_ic(opt, "maxdeletedid") && more > 0 {
            max_del = strict_id(ctx.arg(i + 1))?;
            if id < max_del {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    // Redis 7.0.15 does not compare with the current max_deleted_entry_id (only with the one
    // given), and a MAXDELETEDID of 0-0 leaves it unchanged.
    if !s.is_empty() {
        let top = s.edge_live(false).unwrap_or(StreamId::MIN);
        if id < top {
            return Err(CmdError::err(
                "The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| s.len() > n) {
            return Err(CmdError::err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if max_del != StreamId::MIN {
        s.max_deleted_id = max_del;
    }
    ctx.out().ok();
    ctx.notify(b't', "xsetid", key);
    ctx.dirty(1);
    Ok(())
}

/// The stream XINFO's subcommands look at (`ERR no such key` when missing).
fn info_stream<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<(&'c mut Stream, &'c mut ReplyBuf), CmdError> {
    match ctx.lookup_read_out(key) {
        (Some(obj), out) => Ok((as_stream(obj)?, out)),
        (None, _) => Err(CmdError::NoSuchKey),
    }
}

/// XINFO STREAM key [FULL [COUNT n]] (groups are always empty in this slice).
fn xinfo_stream(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(2);
    let argv = ctx.argv;
    let (s, out) = info_stream(ctx, key)?;
    let rest = &argv[3..];
    let mut full = None;
    if !rest.is_empty() {
        // Redis answers every malformed option list with the subcommand-syntax text.
        let bad = || {
            CmdError::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
                String::from_utf8_lossy(&argv[1])
            ))
        };
        if !eq_ic(&rest[0], "full") {
            return Err(bad());
        }
        let mut count = 10i64;
        if rest.len() > 1 {
            if rest.len() != 3 || !eq_ic(&rest[1], "count") {
                return Err(bad());
            }
            count = int_arg(&rest[2])?;
            if count < 0 {
                count = 10;
            }
        }
        full = Some(count as u64);
    }
    out.map(if full.is_some() { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.rax_nodes() as i64);
    out.bulk(b"last-generated-id");
    out.bulk(&id_bytes(s.last_id));
    out.bulk(b"max-deleted-entry-id");
    out.bulk(&id_bytes(s.max_deleted_id));
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    out.bulk(&id_bytes(s.first_id));
    match full {
        Some(count) => {
            out.bulk(b"entries");
            reply_range(out, s, StreamId::MIN, StreamId::MAX, false, count);
            out.bulk(b"groups");
            out.array(0);
        }
        None => {
            out.bulk(b"groups");
            out.int(s.groups.len() as i64);
            for (name, first) in [(&b"first-entry"[..], true), (b"last-entry", false)] {
                out.bulk(name);
                let mut found = false;
                s.range(StreamId::MIN, StreamId::MAX, !first, |e| {
                    reply_entry(out, e);
                    found = true;
                    false
                });
                if !found {
                    out.null();
                }
            }
        }
    }
    Ok(())
}

fn xinfo_groups(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(2);
    let (s, out) = info_stream(ctx, key)?;
    out.array(s.groups.len());
    Ok(())
}

fn xinfo_consumers(ctx: &mut Ctx) -> CmdResult {
    let (key, group) = (ctx.arg(2), ctx.arg(3));
    info_stream(ctx, key)?;
    Err(CmdError::Raw(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    )))
}

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn xinfo_help(ctx: &mut Ctx) -> CmdResult {
    let out = ctx.out();
    out.array(XINFO_HELP.len());
    for line in XINFO_HELP {
        out.simple(line);
    }
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("xadd", xadd),
    ("xrange", xrange),
    ("xread", xread),
    ("xrevrange", xrevrange),
    ("xlen", xlen),
    ("xdel", xdel),
    ("xtrim", xtrim),
    ("xsetid", xsetid),
    ("xinfo|stream", xinfo_stream),
    ("xinfo|groups", xinfo_groups),
    ("xinfo|consumers", xinfo_consumers),
    ("xinfo|help", xinfo_help),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_parsing_follows_redis() {
        let p = |s: &str| parse_id(s.as_bytes(), 7, false, true).ok();
        assert_eq!(p("5"), Some((StreamId::new(5, 7), true)));
        assert_eq!(p("5-3"), Some((StreamId::new(5, 3), true)));
        assert_eq!(p("5-*"), Some((StreamId::new(5, 0), false)));
        assert_eq!(p("-"), Some((StreamId::MIN, true)));
        assert_eq!(p("+"), Some((StreamId::MAX, true)));
        assert_eq!(
            p("18446744073709551615-18446744073709551615"),
            Some((StreamId::MAX, true))
        );
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(p("1-2-3"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("a"), None);
        assert_eq!(p("1--1"), None);
        assert_eq!(p(" 1"), Some((StreamId::new(1, 7), true)));
        assert_eq!(p("+1-1"), Some((StreamId::new(1, 1), true)));
        assert!(parse_id(b"-", 0, true, false).is_err());
        assert!(parse_id(b"5-*", 0, true, false).is_err());
        assert!(parse_id(&[b'1'; 128], 0, false, false).is_err());
    }
}
