//! Sorted set commands (Z*, BZ*), as Redis 7.0.15 behaves.
//!
//! Every handler validates all arguments before touching data, in Redis's order (option
//! parsing, then range parsing, then the key lookup and its type check), because that order
//! decides which error a client sees. Variants share one body each, as in Redis:
//! [`zadd_generic`] (ZADD, ZINCRBY), [`zrange_generic`] (ZRANGE and its six legacy forms,
//! ZRANGESTORE), [`zremrange_generic`], [`zsetop_generic`] (ZUNION/ZINTER/ZDIFF, their STORE
//! forms, ZINTERCARD), the pop family (ZPOPMIN/MAX, ZMPOP and the blocking forms).
//!
//! Ranges are turned into ascending rank intervals `[lo, hi)` with the value's
//! `partition_point`, so by-score and by-lex ranges cost O(log n) on the skiplist encoding plus
//! the elements returned. Scores print with `%.17g` (RESP2 bulk, RESP3 double); WITHSCORES in
//! RESP3 gives `[member, score]` pairs, as Redis does.

use std::collections::{HashMap, HashSet};

use cinnabar_resp::ReplyBuf;

use super::blocking::{self, TimeoutReply, Want};
use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::types::zset::Limits;
use crate::types::{Set, Value, ZSet};
use crate::util::{eq_ic, fmt_double, glob_match, parse_f64};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// zset-max-listpack-entries / -value.
fn limits(ctx: &Ctx) -> Limits {
    let enc = &ctx.srv.config.enc;
    Limits {
        entries: enc.zset_entries,
        value: enc.zset_value,
    }
}

/// Calls `f` with each member of a set value. The set type's own iteration, kept in one place
/// so the zset code has a single dependency on the set representation.
fn set_for_each(s: &Set, mut f: impl FnMut(&[u8])) {
    for m in s.iter() {
        m.with_bytes(&mut f);
    }
}

fn set_contains(s: &Set, m: &[u8]) -> bool {
    s.contains(m)
}

fn set_len(s: &Set) -> usize {
    s.len()
}

/// Looks a zset up for reading and hands out the reply buffer too.
fn read_zset<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<(Option<&'c ZSet>, &'c mut ReplyBuf), CmdError> {
    let (obj, out) = ctx.lookup_read_out(key);
    match obj {
        None => Ok((None, out)),
        Some(o) => match &o.val {
            Value::ZSet(z) => Ok((Some(z), out)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Looks a zset up for writing.
fn write_zset<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut ZSet>, CmdError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(o) => match &mut o.val {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Deletes `key` if its zset became empty (Redis never keeps empty collections).
/// Return value: true if it was deleted.
fn delete_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    let now = ctx.now();
    let empty = matches!(
        ctx.db().peek(key, now).map(|o| &o.val),
        Some(Value::ZSet(z)) if z.is_empty()
    );
    if empty {
        ctx.db().delete(key, false);
        ctx.notify(b'g', "del", key);
    }
    empty
}

fn score_out(out: &mut ReplyBuf, s: f64) {
    out.double_str(fmt_double(s).as_bytes());
}

/// Writes (member, score) results: flat in RESP2, pairs in RESP3 when `withscores`.
fn reply_entries(out: &mut ReplyBuf, items: &[(Vec<u8>, f64)], withscores: bool) {
    if withscores && !out.is_resp3() {
        out.array(items.len() * 2);
    } else {
        out.array(items.len());
    }
    for (m, s) in items {
        if withscores && out.is_resp3() {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            score_out(out, *s);
        }
    }
}

/// Redis's `strtod`-based range bound parsing (leading spaces and overflow to inf allowed).
/// The argument is read as a C string: it ends at a NUL byte, and "" is 0.
fn strtod_all(s: &[u8]) -> Option<f64> {
    let s = match s.iter().position(|&b| b == 0) {
        Some(i) => &s[..i],
        None => s,
    };
    if s.is_empty() {
        return Some(0.0);
    }
    let c = std::ffi::CString::new(s).ok()?;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `c` is NUL-terminated and outlives the call; strtod sets `end` inside it.
    let (v, consumed) = unsafe {
        let v = libc::strtod(c.as_ptr(), &mut end);
        (v, end.offset_from(c.as_ptr()) as usize)
    };
    (consumed == s.len() && !v.is_nan()).then_some(v)
}

/// A score interval (ZRANGEBYSCORE, ZCOUNT, ...).
#[derive(Debug, Clone, Copy)]
struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<Self, CmdError> {
        let bound = |a: &[u8]| match a.first() {
            Some(b'(') => strtod_all(&a[1..]).map(|v| (v, true)),
            _ => strtod_all(a).map(|v| (v, false)),
        };
        match (bound(min), bound(max)) {
            (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
                min,
                max,
                minex,
                maxex,
            }),
            _ => Err(CmdError::err("min or max is not a float")),
        }
    }

    /// Ascending rank interval `[lo, hi)` of the elements in range.
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let (min, max) = (self.min, self.max);
        let lo = if self.minex {
            z.partition_point(|s, _| s <= min)
        } else {
            z.partition_point(|s, _| s < min)
        };
        let hi = if self.maxex {
            z.partition_point(|s, _| s < max)
        } else {
            z.partition_point(|s, _| s <= max)
        };
        (lo, hi.max(lo))
    }
}

#[derive(Debug, Clone)]
enum LexBound {
    Min,
    Max,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

impl LexBound {
    fn parse(a: &[u8]) -> Option<Self> {
        match a.first()? {
            b'+' if a.len() == 1 => Some(LexBound::Max),
            b'-' if a.len() == 1 => Some(LexBound::Min),
            b'(' => Some(LexBound::Excl(a[1..].to_vec())),
            b'[' => Some(LexBound::Incl(a[1..].to_vec())),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<Self, CmdError> {
        match (LexBound::parse(min), LexBound::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(CmdError::err("min or max not valid string range item")),
        }
    }

    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(x) => m >= x.as_slice(),
            LexBound::Excl(x) => m > x.as_slice(),
        }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(x) => m <= x.as_slice(),
            LexBound::Excl(x) => m < x.as_slice(),
        }
    }

    /// True for ranges that can never match (min above max), Redis's first check.
    fn always_empty(&self) -> bool {
        use LexBound::*;
        let key = |b: &LexBound| -> (u8, Vec<u8>, bool) {
            match b {
                Min => (0, Vec::new(), false),
                Max => (2, Vec::new(), false),
                Incl(x) => (1, x.clone(), false),
                Excl(x) => (1, x.clone(), true),
            }
        };
        let (a, b) = (key(&self.min), key(&self.max));
        match (a.0, a.1).cmp(&(b.0, b.1)) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => a.2 || b.2,
            std::cmp::Ordering::Less => false,
        }
    }

    /// Ascending rank interval `[lo, hi)` selected by the range. Lex ranges assume equal
    /// scores; for the listpack encoding the scan follows Redis's exactly (first element
    /// `>= min`, then on while `<= max`; backwards from the last `<= max` with `rev`), so even
    /// sets with mixed scores answer as Redis does.
    fn ranks(&self, z: &ZSet, rev: bool) -> (usize, usize) {
        if self.always_empty() {
            return (0, 0);
        }
        if let ZSet::Listpack(l) = z {
            let ms: Vec<&[u8]> = l.iter().map(|(_, m, _)| m).collect();
            let (Some(first), Some(last)) = (ms.first(), ms.last()) else {
                return (0, 0);
            };
            if !self.gte_min(last) || !self.lte_max(first) {
                return (0, 0);
            }
            if rev {
                let Some(hi) = ms.iter().rposition(|m| self.lte_max(m)) else {
                    return (0, 0);
                };
                if !self.gte_min(ms[hi]) {
                    return (0, 0);
                }
                let mut lo = hi;
                while lo > 0 && self.gte_min(ms[lo - 1]) {
                    lo -= 1;
                }
                return (lo, hi + 1);
            }
            let Some(lo) = ms.iter().position(|m| self.gte_min(m)) else {
                return (0, 0);
            };
            let mut hi = lo;
            while hi < ms.len() && self.lte_max(ms[hi]) {
                hi += 1;
            }
            return (lo, hi);
        }
        let lo = z.partition_point(|_, m| !self.gte_min(m));
        let hi = z.partition_point(|_, m| self.lte_max(m));
        (lo, hi.max(lo))
    }
}

/// Normalizes a rank range like Redis (negative from the end, clamped).
/// Return value: inclusive (start, end), or None when empty.
fn rank_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

#[derive(Debug, Clone)]
enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// The elements a range selects, in reply order (`rev`: descending), after LIMIT.
fn collect_range(
    z: &ZSet,
    spec: &RangeSpec,
    rev: bool,
    offset: i64,
    limit: i64,
) -> Vec<(Vec<u8>, f64)> {
    let mut out = Vec::new();
    let len = z.len();
    let (lo, hi) = match spec {
        RangeSpec::Rank(s, e) => match rank_range(*s, *e, len) {
            None => return out,
            Some((s, e)) => {
                if rev {
                    (len - 1 - e, len - s)
                } else {
                    (s, e + 1)
                }
            }
        },
        RangeSpec::Score(r) => r.ranks(z),
        RangeSpec::Lex(r) => r.ranks(z, rev),
    };
    let (skip, take) = match spec {
        RangeSpec::Rank(..) => (0, hi - lo),
        _ => {
            if offset < 0 {
                return out;
            }
            let n = hi - lo;
            if offset as u64 >= n as u64 {
                return out;
            }
            let left = n - offset as usize;
            let take = if limit < 0 {
                left
            } else {
                left.min(limit as u64 as usize)
            };
            (offset as usize, take)
        }
    };
    if take == 0 {
        return out;
    }
    let mut left = take;
    let start = if rev { hi - 1 - skip } else { lo + skip };
    z.visit(start, rev, |m, s| {
        out.push((m.to_vec(), s));
        left -= 1;
        left > 0
    });
    out
}

/// Stores `items` as a new zset at `dst` (replacing it, TTL cleared), or deletes `dst` when
/// empty. Return value: number stored.
fn store_result(ctx: &mut Ctx, dst: &[u8], z: ZSet, event: &str) -> usize {
    let n = z.len();
    if n > 0 {
        let _ = ctx.lookup_write(dst);
        let lru = ctx.new_lru();
        ctx.db().set(dst, Value::ZSet(Box::new(z)), lru);
        ctx.db().persist(dst);
        ctx.notify(b'z', event, dst);
        ctx.dirty(1);
        ctx.signal_ready(dst);
    } else if ctx.lookup_write(dst).is_some() {
        ctx.db().delete(dst, false);
        ctx.notify(b'g', "del", dst);
        ctx.dirty(1);
    }
    n
}

// ---------------------------------------------------------------------------------------------
// ZADD / ZINCRBY
// ---------------------------------------------------------------------------------------------

fn zadd(ctx: &mut Ctx) -> CmdResult {
    zadd_generic(ctx, false)
}

fn zincrby(ctx: &mut Ctx) -> CmdResult {
    zadd_generic(ctx, true)
}

fn zadd_generic(ctx: &mut Ctx, mut incr: bool) -> CmdResult {
    let argv = ctx.argv;
    let key = ctx.arg(1);
    let (mut nx, mut xx, mut ch, mut gt, mut lt) = (false, false, false, false, false);
    let mut idx = 2;
    while idx < argv.len() {
        let o = &argv[idx][..];
        if eq_ic(o, "nx") {
            nx = true;
        } else if eq_ic(o, "xx") {
            xx = true;
        } else if eq_ic(o, "ch") {
            ch = true;
        } else if eq_ic(o, "incr") {
            incr = true;
        } else if eq_ic(o, "gt") {
            gt = true;
        } else if eq_ic(o, "lt") {
            lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = argv.len() - idx;
    if !elements.is_multiple_of(2) || elements == 0 {
        return Err(CmdError::Syntax);
    }
    let elements = elements / 2;
    if nx && xx {
        return Err(CmdError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err(CmdError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && elements > 1 {
        return Err(CmdError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(elements);
    for j in 0..elements {
        scores.push(parse_f64(&argv[idx + 2 * j]).ok_or(CmdError::NotFloat)?);
    }

    let lim = limits(ctx);
    let exists = write_zset(ctx, key)?.is_some();
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last_score = 0.0;
    let mut nan = false;
    if exists || !xx {
        if !exists {
            let z = ZSet::with_hint(0, argv[idx + 1].len(), lim);
            let lru = ctx.new_lru();
            ctx.db().add(key, Value::ZSet(Box::new(z)), lru);
        }
        let z = write_zset(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
        for (j, &score) in scores.iter().enumerate() {
            let member = &argv[idx + 1 + 2 * j][..];
            match z.score(member) {
                Some(cur) => {
                    if nx {
                        continue;
                    }
                    let mut new = score;
                    if incr {
                        new += cur;
                        if new.is_nan() {
                            nan = true;
                            break;
                        }
                    }
                    if (lt && new >= cur) || (gt && new <= cur) {
                        continue;
                    }
                    processed += 1;
                    last_score = new;
                    if new != cur {
                        z.add(member, new, lim);
                        updated += 1;
                    }
                }
                None => {
                    if xx {
                        continue;
                    }
                    z.add(member, score, lim);
                    added += 1;
                    processed += 1;
                    last_score = score;
                }
            }
        }
    }
    if added + updated > 0 {
        ctx.dirty(added + updated);
        ctx.notify(b'z', if incr { "zincr" } else { "zadd" }, key);
        if added > 0 {
            ctx.signal_ready(key);
        }
    }
    if nan {
        return Err(CmdError::err("resulting score is not a number (NaN)"));
    }
    let out = ctx.out();
    if incr {
        if processed > 0 {
            score_out(out, last_score);
        } else {
            out.null();
        }
    } else {
        out.int((if ch { added + updated } else { added }) as i64);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Simple reads and ZREM
// ---------------------------------------------------------------------------------------------

fn zrem(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let argv = ctx.argv;
    let Some(z) = write_zset(ctx, key)? else {
        ctx.out().int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for m in &argv[2..] {
        if z.remove(m) {
            deleted += 1;
        }
        if z.is_empty() {
            break;
        }
    }
    if deleted > 0 {
        ctx.notify(b'z', "zrem", key);
        delete_if_empty(ctx, key);
        ctx.dirty(deleted);
    }
    ctx.out().int(deleted as i64);
    Ok(())
}

fn zcard(ctx: &mut Ctx) -> CmdResult {
    let (z, out) = read_zset(ctx, ctx.argv[1].as_slice())?;
    out.int(z.map_or(0, |z| z.len() as i64));
    Ok(())
}

fn zscore(ctx: &mut Ctx) -> CmdResult {
    let member = ctx.arg(2);
    let (z, out) = read_zset(ctx, ctx.argv[1].as_slice())?;
    match z.and_then(|z| z.score(member)) {
        Some(s) => score_out(out, s),
        None => out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let (z, out) = read_zset(ctx, argv[1].as_slice())?;
    out.array(argv.len() - 2);
    for m in &argv[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => score_out(out, s),
            None => out.null(),
        }
    }
    Ok(())
}

fn zrank(ctx: &mut Ctx) -> CmdResult {
    zrank_generic(ctx, false)
}

fn zrevrank(ctx: &mut Ctx) -> CmdResult {
    zrank_generic(ctx, true)
}

fn zrank_generic(ctx: &mut Ctx, rev: bool) -> CmdResult {
    // Redis 7.0 has no WITHSCORE: arity is exactly 3.
    if ctx.argv.len() != 3 {
        return Err(ctx.arity_error());
    }
    let member = ctx.arg(2);
    let (z, out) = read_zset(ctx, ctx.argv[1].as_slice())?;
    match z.and_then(|z| z.rank(member, rev)) {
        Some(r) => out.int(r as i64),
        None => out.null(),
    }
    Ok(())
}

fn zcount(ctx: &mut Ctx) -> CmdResult {
    let r = ScoreRange::parse(ctx.arg(2), ctx.arg(3))?;
    let (z, out) = read_zset(ctx, ctx.argv[1].as_slice())?;
    out.int(z.map_or(0, |z| {
        let (lo, hi) = r.ranks(z);
        (hi - lo) as i64
    }));
    Ok(())
}

fn zlexcount(ctx: &mut Ctx) -> CmdResult {
    let r = LexRange::parse(ctx.arg(2), ctx.arg(3))?;
    let (z, out) = read_zset(ctx, ctx.argv[1].as_slice())?;
    out.int(z.map_or(0, |z| {
        let (lo, hi) = r.ranks(z, false);
        (hi - lo) as i64
    }));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZRANGE family
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum RangeType {
    Rank,
    Score,
    Lex,
}

fn zrange(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, false, None, None)
}
fn zrangestore(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 2, true, None, None)
}
fn zrevrange(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, false, Some(RangeType::Rank), Some(true))
}
fn zrangebyscore(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, false, Some(RangeType::Score), Some(false))
}
fn zrevrangebyscore(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, false, Some(RangeType::Score), Some(true))
}
fn zrangebylex(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, false, Some(RangeType::Lex), Some(false))
}
fn zrevrangebylex(ctx: &mut Ctx) -> CmdResult {
    zrange_generic(ctx, 1, false, Some(RangeType::Lex), Some(true))
}

/// ZRANGE and friends: `first` is the index of the source key; `store` means ZRANGESTORE
/// (argv[1] is the destination); preset type/direction for the legacy commands.
fn zrange_generic(
    ctx: &mut Ctx,
    first: usize,
    store: bool,
    rtype: Option<RangeType>,
    dir: Option<bool>,
) -> CmdResult {
    let argv = ctx.argv;
    let key = &argv[first][..];
    let (mut rtype, mut dir) = (rtype, dir);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = first + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let o = &argv[j][..];
        if !store && eq_ic(o, "withscores") {
            withscores = true;
        } else if eq_ic(o, "limit") && left >= 2 {
            offset = int_arg(&argv[j + 1])?;
            limit = int_arg(&argv[j + 2])?;
            j += 2;
        } else if dir.is_none() && eq_ic(o, "rev") {
            dir = Some(true);
        } else if rtype.is_none() && eq_ic(o, "bylex") {
            rtype = Some(RangeType::Lex);
        } else if rtype.is_none() && eq_ic(o, "byscore") {
            rtype = Some(RangeType::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = dir.unwrap_or(false);
    let rtype = rtype.unwrap_or(RangeType::Rank);
    if limit != -1 && rtype == RangeType::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut a, mut b) = (&argv[first + 1][..], &argv[first + 2][..]);
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut a, &mut b);
    }
    let spec = match rtype {
        RangeType::Rank => RangeSpec::Rank(int_arg(a)?, int_arg(b)?),
        RangeType::Score => RangeSpec::Score(ScoreRange::parse(a, b)?),
        RangeType::Lex => RangeSpec::Lex(LexRange::parse(a, b)?),
    };
    let (z, out) = read_zset(ctx, key)?;
    let items = z.map_or_else(Vec::new, |z| collect_range(z, &spec, rev, offset, limit));
    if !store {
        reply_entries(out, &items, withscores);
        return Ok(());
    }
    let lim = limits(ctx);
    let hint = match spec {
        RangeSpec::Rank(..) => items.len(),
        _ => 0,
    };
    let mut dst = ZSet::with_hint(hint, 0, lim);
    for (m, s) in &items {
        dst.add(m, *s, lim);
    }
    let n = store_result(ctx, &argv[1], dst, "zrangestore");
    ctx.out().int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBY*
// ---------------------------------------------------------------------------------------------

fn zremrangebyrank(ctx: &mut Ctx) -> CmdResult {
    zremrange_generic(ctx, RangeType::Rank)
}
fn zremrangebyscore(ctx: &mut Ctx) -> CmdResult {
    zremrange_generic(ctx, RangeType::Score)
}
fn zremrangebylex(ctx: &mut Ctx) -> CmdResult {
    zremrange_generic(ctx, RangeType::Lex)
}

fn zremrange_generic(ctx: &mut Ctx, rtype: RangeType) -> CmdResult {
    let key = ctx.arg(1);
    let (a, b) = (ctx.arg(2), ctx.arg(3));
    let (spec, event) = match rtype {
        RangeType::Rank => (RangeSpec::Rank(int_arg(a)?, int_arg(b)?), "zremrangebyrank"),
        RangeType::Score => (
            RangeSpec::Score(ScoreRange::parse(a, b)?),
            "zremrangebyscore",
        ),
        RangeType::Lex => (RangeSpec::Lex(LexRange::parse(a, b)?), "zremrangebylex"),
    };
    let Some(z) = write_zset(ctx, key)? else {
        ctx.out().int(0);
        return Ok(());
    };
    let victims = collect_range(z, &spec, false, 0, -1);
    for (m, _) in &victims {
        z.remove(m);
    }
    let deleted = victims.len();
    if deleted > 0 {
        ctx.notify(b'z', event, key);
        delete_if_empty(ctx, key);
    }
    ctx.dirty(deleted as u64);
    ctx.out().int(deleted as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------------------------

/// Owned (member, score) results.
type Entries = Vec<(Vec<u8>, f64)>;

/// Pops up to `count` elements from the first non-empty zset among `keys`.
/// Return value: the key and the popped (member, score) pairs, or None if all are empty.
fn pop_first(
    ctx: &mut Ctx,
    keys: &[Vec<u8>],
    max: bool,
    count: usize,
) -> Result<Option<(Vec<u8>, Entries)>, CmdError> {
    for key in keys {
        let Some(z) = write_zset(ctx, key)? else {
            continue;
        };
        if z.is_empty() {
            continue;
        }
        let n = count.min(z.len());
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let r = if max { z.len() - 1 } else { 0 };
            let Some((m, s)) = z.get_by_rank(r).map(|(m, s)| (m.to_vec(), s)) else {
                break;
            };
            z.remove(&m);
            items.push((m, s));
        }
        ctx.notify(b'z', if max { "zpopmax" } else { "zpopmin" }, key);
        delete_if_empty(ctx, key);
        ctx.dirty(items.len() as u64);
        return Ok(Some((key.clone(), items)));
    }
    Ok(None)
}

fn zpopmin(ctx: &mut Ctx) -> CmdResult {
    zpop_generic(ctx, false)
}
fn zpopmax(ctx: &mut Ctx) -> CmdResult {
    zpop_generic(ctx, true)
}

fn zpop_generic(ctx: &mut Ctx, max: bool) -> CmdResult {
    if ctx.argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let has_count = ctx.argv.len() == 3;
    let count = if has_count {
        let bad = || CmdError::err("value is out of range, must be positive");
        let c = int_arg(ctx.arg(2)).map_err(|_| bad())?;
        if c < 0 {
            return Err(bad());
        }
        c as u64 as usize
    } else {
        1
    };
    let key = ctx.argv[1].clone();
    if write_zset(ctx, &key)?.is_none() || count == 0 {
        ctx.out().array(0);
        return Ok(());
    }
    let popped = pop_first(ctx, std::slice::from_ref(&key), max, count)?;
    let items = popped.map(|(_, v)| v).unwrap_or_default();
    let out = ctx.out();
    if has_count {
        reply_entries(out, &items, true);
    } else {
        out.array(items.len() * 2);
        for (m, s) in &items {
            out.bulk(m);
            score_out(out, *s);
        }
    }
    Ok(())
}

/// Parses `numkeys key... MIN|MAX [COUNT n]` starting at `idx` (ZMPOP, BZMPOP).
fn parse_mpop(ctx: &Ctx, idx: usize) -> Result<(Vec<Vec<u8>>, bool, usize), CmdError> {
    let argv = ctx.argv;
    let bad = || CmdError::err("numkeys should be greater than 0");
    let numkeys = super::int_arg(&argv[idx]).map_err(|_| bad())?;
    if numkeys < 1 {
        return Err(bad());
    }
    let where_idx = (idx as u64)
        .saturating_add(numkeys as u64)
        .saturating_add(1);
    if where_idx >= argv.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let max = if eq_ic(&argv[where_idx], "min") {
        false
    } else if eq_ic(&argv[where_idx], "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count.is_none() && eq_ic(&argv[j], "count") && more > 0 {
            j += 1;
            let bad = || CmdError::err("count should be greater than 0");
            let c = super::int_arg(&argv[j]).map_err(|_| bad())?;
            if c < 1 {
                return Err(bad());
            }
            count = Some(c as usize);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok((argv[idx + 1..where_idx].to_vec(), max, count.unwrap_or(1)))
}

fn reply_mpop(out: &mut ReplyBuf, key: &[u8], items: &[(Vec<u8>, f64)]) {
    out.array(2);
    out.bulk(key);
    out.array(items.len());
    for (m, s) in items {
        out.array(2);
        out.bulk(m);
        score_out(out, *s);
    }
}

fn zmpop(ctx: &mut Ctx) -> CmdResult {
    let (keys, max, count) = parse_mpop(ctx, 1)?;
    match pop_first(ctx, &keys, max, count)? {
        Some((k, items)) => reply_mpop(ctx.out(), &k, &items),
        None => ctx.out().null_array(),
    }
    Ok(())
}

fn bzmpop(ctx: &mut Ctx) -> CmdResult {
    let (keys, max, count) = parse_mpop(ctx, 2)?;
    let deadline = blocking::parse_timeout(ctx.arg(1), ctx.now())?;
    match pop_first(ctx, &keys, max, count)? {
        Some((k, items)) => reply_mpop(ctx.out(), &k, &items),
        None => blocking::block(ctx, &keys, Want::ZSet, deadline, TimeoutReply::NullArray),
    }
    Ok(())
}

fn bzpopmin(ctx: &mut Ctx) -> CmdResult {
    bzpop_generic(ctx, false)
}
fn bzpopmax(ctx: &mut Ctx) -> CmdResult {
    bzpop_generic(ctx, true)
}

fn bzpop_generic(ctx: &mut Ctx, max: bool) -> CmdResult {
    let n = ctx.argv.len();
    let deadline = blocking::parse_timeout(ctx.arg(n - 1), ctx.now())?;
    let keys = ctx.argv[1..n - 1].to_vec();
    match pop_first(ctx, &keys, max, 1)? {
        Some((k, items)) => {
            let out = ctx.out();
            out.array(3);
            out.bulk(&k);
            if let Some((m, s)) = items.first() {
                out.bulk(m);
                score_out(out, *s);
            }
        }
        None => blocking::block(ctx, &keys, Want::ZSet, deadline, TimeoutReply::NullArray),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------------------------

/// Largest ZRANDMEMBER reply with repetitions we build (bytes).
const RANDMEMBER_REPLY_LIMIT: usize = 1 << 30;

fn zrandmember(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    if argv.len() == 2 {
        let r = ctx.srv.random();
        let (z, out) = read_zset(ctx, &argv[1])?;
        match z.filter(|z| !z.is_empty()) {
            Some(z) => {
                let (m, _) = z
                    .get_by_rank((r % z.len() as u64) as usize)
                    .ok_or(CmdError::NoSuchKey)?;
                out.bulk(m);
            }
            None => out.null(),
        }
        return Ok(());
    }
    let count = int_arg(&argv[2])?;
    if count == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = if argv.len() > 4 || (argv.len() == 4 && !eq_ic(&argv[3], "withscores")) {
        return Err(CmdError::Syntax);
    } else {
        argv.len() == 4
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    let mut rnd = crate::util::sampler(ctx.srv.random());
    let (z, out) = read_zset(ctx, &argv[1])?;
    let Some(z) = z else {
        out.array(0);
        return Ok(());
    };
    if count == 0 || z.is_empty() {
        out.array(0);
        return Ok(());
    }
    let size = z.len();
    // A listpack finds a rank by walking from its head: walk it once and index the copy of
    // its entries, so every path costs O(size + count), not O(size * count).
    let small: Vec<(&[u8], f64)> = match z {
        ZSet::Listpack(l) => l.iter().map(|(_, m, s)| (m, s)).collect(),
        ZSet::Skiplist(_) => Vec::new(),
    };
    let nth = |r: usize| -> Option<(&[u8], f64)> {
        if small.is_empty() {
            z.get_by_rank(r)
        } else {
            small.get(r).copied()
        }
    };
    let write_one = |out: &mut ReplyBuf, m: &[u8], s: f64| {
        if withscores && out.is_resp3() {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            score_out(out, s);
        }
    };
    let header = |out: &mut ReplyBuf, n: usize| {
        out.array(if withscores && !out.is_resp3() {
            n * 2
        } else {
            n
        });
    };
    if count < 0 {
        // Repetitions allowed: independent draws, streamed into the reply. A reply past
        // RANDMEMBER_REPLY_LIMIT is dropped and the client closed, as Redis does when a client
        // passes its output buffer limit, instead of growing until memory runs out.
        let n = count.unsigned_abs() as usize;
        let start = out.buf.len();
        header(out, n);
        for i in 0..n {
            let r = (rnd() % size as u64) as usize;
            if let Some((m, s)) = nth(r) {
                write_one(out, m, s);
            }
            if i % 1024 == 0 && out.buf.len() - start > RANDMEMBER_REPLY_LIMIT {
                out.buf.truncate(start);
                ctx.client.close_after_reply = true;
                return Ok(());
            }
        }
        return Ok(());
    }
    let count = count as usize;
    if count >= size {
        header(out, size);
        z.visit(0, false, |m, s| {
            write_one(out, m, s);
            true
        });
        return Ok(());
    }
    // Distinct ranks: a partial shuffle when many are wanted, else draws until distinct.
    let ranks: Vec<usize> = if count * 3 > size {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + (rnd() % (size - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = HashSet::with_capacity(count);
        let mut v = Vec::with_capacity(count);
        while v.len() < count {
            let r = (rnd() % size as u64) as usize;
            if seen.insert(r) {
                v.push(r);
            }
        }
        v
    };
    header(out, count);
    for r in ranks {
        if let Some((m, s)) = nth(r) {
            write_one(out, m, s);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF / ZINTERCARD
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val
            }
        }
    }
}

/// An input of a set operation.
enum Src<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => set_len(s),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Src::Missing => {}
            Src::Z(z) => z.visit(0, false, |m, s| {
                f(m, s);
                true
            }),
            Src::S(s) => set_for_each(s, |m| f(m, 1.0)),
        }
    }

    fn find(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::S(s) => set_contains(s, m).then_some(1.0),
        }
    }
}

fn zunionstore(ctx: &mut Ctx) -> CmdResult {
    zsetop_generic(ctx, true, 2, SetOp::Union, false)
}
fn zinterstore(ctx: &mut Ctx) -> CmdResult {
    zsetop_generic(ctx, true, 2, SetOp::Inter, false)
}
fn zdiffstore(ctx: &mut Ctx) -> CmdResult {
    zsetop_generic(ctx, true, 2, SetOp::Diff, false)
}
fn zunion(ctx: &mut Ctx) -> CmdResult {
    zsetop_generic(ctx, false, 1, SetOp::Union, false)
}
fn zinter(ctx: &mut Ctx) -> CmdResult {
    zsetop_generic(ctx, false, 1, SetOp::Inter, false)
}
fn zdiff(ctx: &mut Ctx) -> CmdResult {
    zsetop_generic(ctx, false, 1, SetOp::Diff, false)
}
fn zintercard(ctx: &mut Ctx) -> CmdResult {
    zsetop_generic(ctx, false, 1, SetOp::Inter, true)
}

fn zsetop_generic(
    ctx: &mut Ctx,
    store: bool,
    numkeys_idx: usize,
    op: SetOp,
    card_only: bool,
) -> CmdResult {
    let argv = ctx.argv;
    let setnum = int_arg(&argv[numkeys_idx])?;
    if setnum < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{}' command",
            ctx.cmd.full_name
        )));
    }
    if setnum as u64 > (argv.len() - numkeys_idx - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let keys = &argv[numkeys_idx + 1..numkeys_idx + 1 + setnum];
    // Lookups (expiry, stats) and type checks first, as Redis does.
    for k in keys {
        let obj = if store {
            ctx.lookup_write(k)
        } else {
            ctx.lookup_read(k)
        };
        if let Some(o) = obj {
            if !matches!(o.val, Value::ZSet(_) | Value::Set(_)) {
                return Err(CmdError::WrongType);
            }
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: usize = 0;
    let mut j = numkeys_idx + 1 + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let o = &argv[j][..];
        if op != SetOp::Diff && !card_only && remaining > setnum && eq_ic(o, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = parse_f64(&argv[j])
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ic(o, "aggregate") {
            let a = &argv[j + 1][..];
            agg = if eq_ic(a, "sum") {
                Aggregate::Sum
            } else if eq_ic(a, "min") {
                Aggregate::Min
            } else if eq_ic(a, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !store && !card_only && eq_ic(o, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(o, "limit") {
            let l = int_arg(&argv[j + 1]).map_err(|_| CmdError::err("LIMIT can't be negative"))?;
            if l < 0 {
                return Err(CmdError::err("LIMIT can't be negative"));
            }
            limit = l as u64 as usize;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }

    // Compute on borrowed values (no copies of the inputs).
    let now = ctx.now();
    let db = &ctx.srv.dbs[ctx.client.db];
    let mut srcs: Vec<(Src, f64)> = keys
        .iter()
        .zip(&weights)
        .map(|(k, &w)| {
            let s = match db.peek(k, now).map(|o| &o.val) {
                Some(Value::ZSet(z)) => Src::Z(z),
                Some(Value::Set(s)) => Src::S(s),
                _ => Src::Missing,
            };
            (s, w)
        })
        .collect();
    if op != SetOp::Diff {
        srcs.sort_by_key(|(s, _)| s.len());
    }
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut cardinality = 0usize;
    match op {
        SetOp::Inter => {
            if srcs[0].0.len() > 0 {
                let (first, rest) = srcs.split_first().ok_or(CmdError::Syntax)?;
                let mut done = false;
                first.0.for_each(|m, s0| {
                    if done {
                        return;
                    }
                    let mut score = first.1 * s0;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for (src, w) in rest {
                        match src.find(m) {
                            Some(v) => aggregate(&mut score, v * w, agg),
                            None => return,
                        }
                    }
                    if card_only {
                        cardinality += 1;
                        if limit > 0 && cardinality >= limit {
                            done = true;
                        }
                    } else {
                        result.push((m.to_vec(), score));
                    }
                });
            }
        }
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            for (src, w) in &srcs {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate(t, score, agg),
                        None => {
                            acc.insert(m.to_vec(), score);
                        }
                    }
                });
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            let (first, rest) = srcs.split_first().ok_or(CmdError::Syntax)?;
            first.0.for_each(|m, s| {
                if rest.iter().all(|(src, _)| src.find(m).is_none()) {
                    result.push((m.to_vec(), s));
                }
            });
        }
    }
    if card_only {
        ctx.out().int(cardinality as i64);
        return Ok(());
    }
    result.sort_by(|a, b| crate::types::zset::cmp_entry(a.1, &a.0, b.1, &b.0));
    if !store {
        reply_entries(ctx.out(), &result, withscores);
        return Ok(());
    }
    let lim = limits(ctx);
    let maxlen = result.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut z = ZSet::with_hint(result.len(), maxlen, lim);
    for (m, s) in &result {
        z.add(m, *s, lim);
    }
    let event = match op {
        SetOp::Union => "zunionstore",
        SetOp::Inter => "zinterstore",
        SetOp::Diff => "zdiffstore",
    };
    let n = store_result(ctx, &argv[1], z, event);
    ctx.out().int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------------------------

fn zscan(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let cursor =
        super::keys::parse_cursor(&argv[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    {
        let (z, out) = read_zset(ctx, &argv[1])?;
        if z.is_none() {
            out.array(2);
            out.bulk(b"0");
            out.array(0);
            return Ok(());
        }
    }
    let super::keys::ScanOptions { count, pattern, .. } =
        super::keys::scan_options(argv, 3, false)?;
    let (z, out) = read_zset(ctx, &argv[1])?;
    let Some(z) = z else {
        return Ok(());
    };
    let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut next = 0u64;
    match z {
        ZSet::Listpack(_) => items = z.to_vec(),
        ZSet::Skiplist(b) => {
            next = cursor;
            let mut max_iter = count.saturating_mul(10);
            loop {
                next = b.dict.scan(next, |k, v| items.push((k.to_vec(), *v)));
                if next == 0 || max_iter == 0 {
                    break;
                }
                max_iter -= 1;
                if items.len() as i64 >= count {
                    break;
                }
            }
        }
    }
    if let Some(p) = pattern {
        items.retain(|(m, _)| glob_match(p, m, false));
    }
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(items.len() * 2);
    for (m, s) in &items {
        out.bulk(m);
        out.bulk(fmt_double(*s).as_bytes());
    }
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zrem", zrem),
    ("zcard", zcard),
    ("zcount", zcount),
    ("zlexcount", zlexcount),
    ("zscore", zscore),
    ("zmscore", zmscore),
    ("zrank", zrank),
    ("zrevrank", zrevrank),
    ("zrange", zrange),
    ("zrangestore", zrangestore),
    ("zrangebyscore", zrangebyscore),
    ("zrevrangebyscore", zrevrangebyscore),
    ("zrangebylex", zrangebylex),
    ("zrevrangebylex", zrevrangebylex),
    ("zrevrange", zrevrange),
    ("zremrangebyrank", zremrangebyrank),
    ("zremrangebyscore", zremrangebyscore),
    ("zremrangebylex", zremrangebylex),
    ("zpopmin", zpopmin),
    ("zpopmax", zpopmax),
    ("bzpopmin", bzpopmin),
    ("bzpopmax", bzpopmax),
    ("zmpop", zmpop),
    ("bzmpop", bzmpop),
    ("zrandmember", zrandmember),
    ("zunion", zunion),
    ("zinter", zinter),
    ("zdiff", zdiff),
    ("zunionstore", zunionstore),
    ("zinterstore", zinterstore),
    ("zdiffstore", zdiffstore),
    ("zintercard", zintercard),
    ("zscan", zscan),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    #[test]
    fn basics() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("ZADD z 1 a 2 b 3 c"), ":3\r\n");
        assert_eq!(t.exec("ZSCORE z b"), "$1\r\n2\r\n");
        assert_eq!(t.exec("ZRANK z c"), ":2\r\n");
        assert!(t
            .exec("ZRANK z c WITHSCORE")
            .starts_with("-ERR wrong number"));
        assert_eq!(
            t.exec("ZRANGE z 0 -1 WITHSCORES"),
            "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
        );
        assert_eq!(t.exec("ZADD z INCR inf a"), "$3\r\ninf\r\n");
        assert_eq!(
            t.exec("ZADD z INCR -inf a"),
            "-ERR resulting score is not a number (NaN)\r\n"
        );
        assert_eq!(t.exec("OBJECT ENCODING z"), "$8\r\nlistpack\r\n");
    }

    #[test]
    fn conversion_and_rank_on_skiplist() {
        let mut t = TestServer::new();
        for i in 0..200 {
            t.exec(&format!("ZADD z {i} m{i}"));
        }
        assert_eq!(t.exec("OBJECT ENCODING z"), "$8\r\nskiplist\r\n");
        assert_eq!(t.exec("ZRANK z m150"), ":150\r\n");
        assert_eq!(t.exec("ZREVRANK z m150"), ":49\r\n");
        assert_eq!(t.exec("ZCOUNT z (10 20"), ":10\r\n");
        assert_eq!(t.exec("ZREMRANGEBYRANK z 0 189"), ":190\r\n");
        assert_eq!(t.exec("ZCARD z"), ":10\r\n");
        assert_eq!(t.exec("OBJECT ENCODING z"), "$8\r\nskiplist\r\n");
    }

    #[test]
    fn blocking_in_multi_is_immediate() {
        let mut t = TestServer::new();
        t.client.in_exec = true;
        assert_eq!(t.exec("BZPOPMIN z 0"), "*-1\r\n");
        assert_eq!(t.exec("BZMPOP 0 1 z MIN"), "*-1\r\n");
        t.exec("ZADD z 1 a");
        assert_eq!(
            t.exec("BZPOPMAX z 0"),
            "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        assert_eq!(t.exec("EXISTS z"), ":0\r\n");
    }

    #[test]
    fn blocking_registers_and_writes_nothing() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("BZPOPMIN k1 k2 1.5"), "");
        let b = t.client.blocked.take().expect("blocked");
        assert_eq!(b.keys, vec![b"k1".to_vec(), b"k2".to_vec()]);
        assert_eq!(b.deadline_ms, 1_700_000_000_000 + 1500);
        let mut t = TestServer::new();
        assert_eq!(t.exec("BZMPOP 0 2 a b MAX COUNT 3"), "");
        let b = t.client.blocked.take().expect("blocked");
        assert_eq!(b.keys, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(b.deadline_ms, 0);
        // Errors are reported before blocking.
        let mut t = TestServer::new();
        t.exec("SET s x");
        assert!(t.exec("BZPOPMIN nokey s 0").starts_with("-WRONGTYPE"));
        assert!(t.client.blocked.is_none());
    }

    #[test]
    fn resp3_shapes() {
        let mut t = TestServer::new();
        t.resp3();
        t.exec("ZADD z 1.5 a 2 b");
        assert_eq!(t.exec("ZSCORE z a"), ",1.5\r\n");
        assert_eq!(
            t.exec("ZRANGE z 0 0 WITHSCORES"),
            "*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n"
        );
        assert_eq!(t.exec("ZPOPMIN z"), "*2\r\n$1\r\na\r\n,1.5\r\n");
        assert_eq!(t.exec("ZPOPMIN z 1"), "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
        assert_eq!(t.exec("ZMPOP 1 z MIN"), "_\r\n");
    }
}
