//! List commands: pushes and pops, indexing and ranges, LPOS/LREM/LINSERT, moves between
//! lists, multi-key pops and their blocking variants.
//!
//! Semantics, reply shapes and error texts follow Redis 7.0's `t_list.c`; the order of checks
//! (which error a client sees first) mirrors it, noted where it is surprising (LINDEX and LSET
//! look the key up before parsing the index; LRANGE and LTRIM parse first).
//!
//! [`pop_list`], [`push_list`] and [`move_list`] are the shared bodies: the plain commands and
//! the blocking ones call them, and so can the blocked-client serving code. Blocking handlers
//! keep no state between runs: re-running the same argv later serves the client or blocks it
//! again.

use super::blocking::{self, TimeoutReply, Want};
use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::types::list::Needle;
use crate::types::{List, Value};
use crate::util::eq_ic;

/// `list-max-listpack-size` for new lists.
fn list_fill(ctx: &Ctx) -> i32 {
    ctx.srv.config.enc.list_fill
}

fn as_list_mut(v: &mut Value) -> Option<&mut List> {
    match v {
        Value::List(l) => Some(l),
        _ => None,
    }
}

/// The list at `key` for writing: `Ok(None)` if absent, WRONGTYPE for other types.
fn list_write<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut List>, CmdError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(o) => as_list_mut(&mut o.val).map(Some).ok_or(CmdError::WrongType),
    }
}

/// The list at `key`, already looked up in this command (no access-clock update).
fn list_again<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Option<&'c mut List> {
    ctx.db()
        .dict
        .get_mut(key)
        .and_then(|o| as_list_mut(&mut o.val))
}

/// Deletes `key` if its list is empty (Redis never keeps empty lists), notifying "del".
fn delete_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    if list_again(ctx, key).is_some_and(|l| l.is_empty()) {
        ctx.db().remove(key);
        ctx.notify(b'g', "del", key);
        return true;
    }
    false
}

fn end_name(left: bool) -> (&'static str, &'static str) {
    if left {
        ("lpush", "lpop")
    } else {
        ("rpush", "rpop")
    }
}

/// Pushes `values` in order at the head (`left`) or tail of the list at `key`, creating it
/// unless `only_existing` (LPUSHX). Notifies, signals blocked clients and counts dirty.
/// Return value: the new length, or `None` when the key was absent and not created.
pub fn push_list<'v>(
    ctx: &mut Ctx,
    key: &[u8],
    left: bool,
    values: impl IntoIterator<Item = &'v [u8]>,
    only_existing: bool,
) -> Result<Option<usize>, CmdError> {
    let exists = list_write(ctx, key)?.is_some();
    if !exists {
        if only_existing {
            return Ok(None);
        }
        let fill = list_fill(ctx);
        let lru = ctx.new_lru();
        ctx.db()
            .add(key, Value::List(Box::new(List::new(fill))), lru);
    }
    let mut pushed = 0u64;
    let len = match list_again(ctx, key) {
        Some(l) => {
            for v in values {
                if left {
                    l.push_front(v);
                } else {
                    l.push_back(v);
                }
                pushed += 1;
            }
            l.len()
        }
        None => 0,
    };
    ctx.dirty(pushed);
    ctx.notify(b'l', end_name(left).0, key);
    ctx.signal_ready(key);
    Ok(Some(len))
}

/// Pops up to `count` elements from the head (`left`) or tail of the list at `key`, deleting
/// the key when it empties; notifies "lpop"/"rpop" (and "del") and counts dirty.
/// Return value: `None` if the key does not exist (or holds an empty list).
pub fn pop_list(
    ctx: &mut Ctx,
    key: &[u8],
    left: bool,
    count: usize,
) -> Result<Option<Vec<Vec<u8>>>, CmdError> {
    let Some(l) = list_write(ctx, key)? else {
        return Ok(None);
    };
    if l.is_empty() {
        return Ok(None);
    }
    let n = count.min(l.len());
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let v = if left { l.pop_front() } else { l.pop_back() };
        match v {
            Some(v) => out.push(v),
            None => break,
        }
    }
    ctx.dirty(out.len() as u64);
    ctx.notify(b'l', end_name(left).1, key);
    delete_if_empty(ctx, key);
    Ok(Some(out))
}

/// Moves one element from `src` (head if `from_left`) to `dst` (head if `to_left`), as
/// Redis's `lmoveGenericCommand`: both types are checked before anything changes, the push
/// happens before the source is deleted (so `src == dst` keeps its key and TTL).
/// Return value: the moved element, or `None` if `src` does not exist.
pub fn move_list(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from_left: bool,
    to_left: bool,
) -> Result<Option<Vec<u8>>, CmdError> {
    match list_write(ctx, src)? {
        Some(l) if !l.is_empty() => {}
        _ => return Ok(None),
    }
    list_write(ctx, dst)?;
    let Some(v) = list_again(ctx, src).and_then(|l| {
        if from_left {
            l.pop_front()
        } else {
            l.pop_back()
        }
    }) else {
        return Ok(None);
    };
    push_list(ctx, dst, to_left, [v.as_slice()], false)?;
    // push_list counted one change; Redis counts the move once.
    ctx.notify(b'l', end_name(from_left).1, src);
    delete_if_empty(ctx, src);
    Ok(Some(v))
}

fn push_generic(ctx: &mut Ctx, left: bool, only_existing: bool) -> CmdResult {
    let argv = ctx.argv;
    let len = push_list(
        ctx,
        &argv[1],
        left,
        argv[2..].iter().map(Vec::as_slice),
        only_existing,
    )?;
    ctx.out().int(len.unwrap_or(0) as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx) -> CmdResult {
    push_generic(ctx, true, false)
}

fn rpush(ctx: &mut Ctx) -> CmdResult {
    push_generic(ctx, false, false)
}

fn lpushx(ctx: &mut Ctx) -> CmdResult {
    push_generic(ctx, true, true)
}

fn rpushx(ctx: &mut Ctx) -> CmdResult {
    push_generic(ctx, false, true)
}

/// Redis's `getPositiveLongFromObjectOrReply` with a message: the message for both a
/// non-integer and a negative value.
fn positive_arg(a: &[u8], msg: &str) -> Result<i64, CmdError> {
    match crate::util::parse_int(a) {
        Some(v) if v >= 0 => Ok(v),
        _ => Err(CmdError::err(msg)),
    }
}

/// Redis's `getRangeLongFromObjectOrReply` with a message.
fn range_arg(a: &[u8], min: i64, msg: &str) -> Result<i64, CmdError> {
    match crate::util::parse_int(a) {
        Some(v) if v >= min => Ok(v),
        _ => Err(CmdError::err(msg)),
    }
}

fn write_values(ctx: &mut Ctx, vals: &[Vec<u8>]) {
    ctx.out().array(vals.len());
    for v in vals {
        ctx.out().bulk(v);
    }
}

/// LPOP / RPOP (`popGenericCommand`).
fn pop_generic(ctx: &mut Ctx, left: bool) -> CmdResult {
    if ctx.argv.len() > 3 {
        return Err(ctx.arity_error());
    }
    let count = match ctx.argv.get(2) {
        Some(a) => Some(positive_arg(a, "value is out of range, must be positive")?),
        None => None,
    };
    let key = ctx.arg(1);
    match count {
        None => match pop_list(ctx, key, left, 1)? {
            Some(v) if !v.is_empty() => ctx.out().bulk(&v[0]),
            _ => ctx.out().null(),
        },
        Some(c) => {
            if list_write(ctx, key)?.is_none() {
                ctx.out().null_array();
                return Ok(());
            }
            if c == 0 {
                ctx.out().array(0);
                return Ok(());
            }
            let vals = pop_list(ctx, key, left, c as usize)?.unwrap_or_default();
            write_values(ctx, &vals);
        }
    }
    Ok(())
}

fn lpop(ctx: &mut Ctx) -> CmdResult {
    pop_generic(ctx, true)
}

fn rpop(ctx: &mut Ctx) -> CmdResult {
    pop_generic(ctx, false)
}

fn llen(ctx: &mut Ctx) -> CmdResult {
    let n = match ctx.lookup_read(ctx.arg(1)) {
        None => 0,
        Some(o) => as_list_mut(&mut o.val).ok_or(CmdError::WrongType)?.len(),
    };
    ctx.out().int(n as i64);
    Ok(())
}

fn lindex(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let idx_arg = ctx.arg(2);
    let (obj, out) = ctx.lookup_read_out(argv[1].as_slice());
    let Some(o) = obj else {
        out.null();
        return Ok(());
    };
    let l = as_list_mut(&mut o.val).ok_or(CmdError::WrongType)?;
    let idx = int_arg(idx_arg)?;
    match l.resolve(idx).and_then(|i| l.get(i)) {
        Some(e) => e.write(out),
        None => out.null(),
    }
    Ok(())
}

fn lset(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let key = ctx.arg(1);
    let l = list_write(ctx, key)?.ok_or(CmdError::NoSuchKey)?;
    let idx = int_arg(argv[2].as_slice())?;
    let i = l.resolve(idx).ok_or(CmdError::OutOfRange)?;
    l.set(i, &argv[3]);
    ctx.out().ok();
    ctx.notify(b'l', "lset", key);
    ctx.dirty(1);
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element.
fn linsert(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let after = if eq_ic(ctx.arg(2), "after") {
        true
    } else if eq_ic(ctx.arg(2), "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let key = ctx.arg(1);
    let Some(l) = list_write(ctx, key)? else {
        ctx.out().int(0);
        return Ok(());
    };
    let pivot = Needle::new(&argv[3]);
    let mut found = None;
    l.scan(false, |i, e| {
        if e.matches(&pivot) {
            found = Some(i);
            return false;
        }
        true
    });
    let Some(i) = found else {
        ctx.out().int(-1);
        return Ok(());
    };
    l.insert(if after { i + 1 } else { i }, &argv[4]);
    let len = l.len();
    ctx.notify(b'l', "linsert", key);
    ctx.dirty(1);
    ctx.out().int(len as i64);
    Ok(())
}

/// Clamps a Redis start/end pair to a list of `len`: the first position and how many.
fn clamp_range(start: i64, end: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return (0, 0);
    }
    if end >= len {
        end = len - 1;
    }
    (start as usize, (end - start + 1) as usize)
}

fn lrange(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let start = int_arg(ctx.arg(2))?;
    let end = int_arg(ctx.arg(3))?;
    let (obj, out) = ctx.lookup_read_out(argv[1].as_slice());
    let Some(o) = obj else {
        out.array(0);
        return Ok(());
    };
    let l = as_list_mut(&mut o.val).ok_or(CmdError::WrongType)?;
    let (s, n) = clamp_range(start, end, l.len());
    out.array(n);
    l.for_range(s, n, |e| e.write(out));
    Ok(())
}

fn ltrim(ctx: &mut Ctx) -> CmdResult {
    let start = int_arg(ctx.arg(2))?;
    let end = int_arg(ctx.arg(3))?;
    let key = ctx.arg(1);
    let Some(l) = list_write(ctx, key)? else {
        ctx.out().ok();
        return Ok(());
    };
    let len = l.len();
    let (s, n) = clamp_range(start, end, len);
    l.keep_range(s, n);
    ctx.notify(b'l', "ltrim", key);
    delete_if_empty(ctx, key);
    ctx.dirty((len - n) as u64);
    ctx.out().ok();
    Ok(())
}

fn lrem(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let count = int_arg(ctx.arg(2))?;
    let key = ctx.arg(1);
    let Some(l) = list_write(ctx, key)? else {
        ctx.out().int(0);
        return Ok(());
    };
    let needle = Needle::new(&argv[3]);
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = l.remove_matching(&needle, limit, count < 0);
    if removed > 0 {
        ctx.notify(b'l', "lrem", key);
        delete_if_empty(ctx, key);
        ctx.dirty(removed as u64);
    }
    ctx.out().int(removed as i64);
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len].
fn lpos(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let o = &argv[j];
        if eq_ic(o, "rank") && more {
            j += 1;
            rank = int_arg(&argv[j])?;
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second \
                     ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ic(o, "count") && more {
            j += 1;
            count = Some(positive_arg(&argv[j], "COUNT can't be negative")?);
        } else if eq_ic(o, "maxlen") && more {
            j += 1;
            maxlen = positive_arg(&argv[j], "MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let (obj, out) = ctx.lookup_read_out(argv[1].as_slice());
    let Some(o) = obj else {
        match count {
            Some(_) => out.array(0),
            None => out.null(),
        }
        return Ok(());
    };
    let l = as_list_mut(&mut o.val).ok_or(CmdError::WrongType)?;
    let needle = Needle::new(&argv[2]);
    let reverse = rank < 0;
    let skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    // Redis 7.0 negates RANK -9223372036854775808 into itself: every match then qualifies
    // and its COUNT check overflows, so all matches from the tail come back.
    let want = match count {
        None => 1,
        Some(_) if rank == i64::MIN => u64::MAX,
        Some(0) => u64::MAX,
        Some(c) => c as u64,
    };
    let mut matches = 0u64;
    let mut scanned = 0i64;
    let mut found: Vec<usize> = Vec::new();
    l.scan(reverse, |i, e| {
        if maxlen != 0 && scanned >= maxlen {
            return false;
        }
        scanned += 1;
        if e.matches(&needle) {
            matches += 1;
            if matches > skip {
                found.push(i);
                if found.len() as u64 >= want {
                    return false;
                }
            }
        }
        true
    });
    match count {
        None => match found.first() {
            Some(&i) => out.int(i as i64),
            None => out.null(),
        },
        Some(_) => {
            out.array(found.len());
            for i in found {
                out.int(i as i64);
            }
        }
    }
    Ok(())
}

/// LEFT / RIGHT (Redis's `getListPositionFromObjectOrReply`); true for LEFT.
fn side_arg(a: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(a, "left") {
        Ok(true)
    } else if eq_ic(a, "right") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn lmove_generic(ctx: &mut Ctx, from_left: bool, to_left: bool) -> CmdResult {
    let (src, dst) = (ctx.arg(1), ctx.arg(2));
    match move_list(ctx, src, dst, from_left, to_left)? {
        Some(v) => ctx.out().bulk(&v),
        None => ctx.out().null(),
    }
    Ok(())
}

fn lmove(ctx: &mut Ctx) -> CmdResult {
    let from = side_arg(ctx.arg(3))?;
    let to = side_arg(ctx.arg(4))?;
    lmove_generic(ctx, from, to)
}

fn rpoplpush(ctx: &mut Ctx) -> CmdResult {
    lmove_generic(ctx, false, true)
}

/// Parsed LMPOP/BLMPOP arguments after numkeys: the keys, the side and the count.
struct MPop<'a> {
    keys: &'a [Vec<u8>],
    left: bool,
    count: usize,
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` from `argv[idx]` (`lmpopGenericCommand`).
fn parse_mpop(argv: &[Vec<u8>], idx: usize) -> Result<MPop<'_>, CmdError> {
    let numkeys = range_arg(&argv[idx], 1, "numkeys should be greater than 0")?;
    let where_idx = match usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(idx + 1))
    {
        Some(w) if w < argv.len() => w,
        _ => return Err(CmdError::Syntax),
    };
    let left = side_arg(&argv[where_idx])?;
    let mut count: Option<i64> = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        if count.is_none() && eq_ic(&argv[j], "count") && j + 1 < argv.len() {
            j += 1;
            count = Some(range_arg(&argv[j], 1, "count should be greater than 0")?);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(MPop {
        keys: &argv[idx + 1..where_idx],
        left,
        count: usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX),
    })
}

/// Pops from the first non-empty list of `keys`, replying `[key, [elements]]` (or with
/// `nested == false`, BLPOP's `[key, element]`). Return value: false if every key was empty.
fn mpop_serve(
    ctx: &mut Ctx,
    keys: &[Vec<u8>],
    left: bool,
    count: usize,
    nested: bool,
) -> Result<bool, CmdError> {
    for key in keys {
        if let Some(vals) = pop_list(ctx, key, left, count)? {
            let out = ctx.out();
            out.array(2);
            out.bulk(key);
            if nested {
                out.array(vals.len());
                for v in &vals {
                    out.bulk(v);
                }
            } else if let Some(v) = vals.first() {
                out.bulk(v);
            }
            return Ok(true);
        }
    }
    Ok(false)
}

fn lmpop(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let p = parse_mpop(argv, 1)?;
    if !mpop_serve(ctx, p.keys, p.left, p.count, true)? {
        ctx.out().null_array();
    }
    Ok(())
}

/// BLPOP / BRPOP (`blockingPopGenericCommand`).
fn bpop_generic(ctx: &mut Ctx, left: bool) -> CmdResult {
    let argv = ctx.argv;
    let deadline = blocking::parse_timeout(&argv[argv.len() - 1], ctx.now())?;
    let keys = &argv[1..argv.len() - 1];
    if !mpop_serve(ctx, keys, left, 1, false)? {
        blocking::block(ctx, keys, Want::List, deadline, TimeoutReply::NullArray);
    }
    Ok(())
}

fn blpop(ctx: &mut Ctx) -> CmdResult {
    bpop_generic(ctx, true)
}

fn brpop(ctx: &mut Ctx) -> CmdResult {
    bpop_generic(ctx, false)
}

fn blmpop(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let deadline = blocking::parse_timeout(&argv[1], ctx.now())?;
    let p = parse_mpop(argv, 2)?;
    if !mpop_serve(ctx, p.keys, p.left, p.count, true)? {
        blocking::block(ctx, p.keys, Want::List, deadline, TimeoutReply::NullArray);
    }
    Ok(())
}

/// BLMOVE / BRPOPLPUSH once the arguments are parsed (`blmoveGenericCommand`).
fn blmove_generic(ctx: &mut Ctx, from_left: bool, to_left: bool, deadline: i64) -> CmdResult {
    let argv = ctx.argv;
    match move_list(ctx, &argv[1], &argv[2], from_left, to_left)? {
        Some(v) => ctx.out().bulk(&v),
        None => blocking::block(
            ctx,
            &argv[1..2],
            Want::List,
            deadline,
            TimeoutReply::NullBulk,
        ),
    }
    Ok(())
}

fn blmove(ctx: &mut Ctx) -> CmdResult {
    let from = side_arg(ctx.arg(3))?;
    let to = side_arg(ctx.arg(4))?;
    let deadline = blocking::parse_timeout(ctx.arg(5), ctx.now())?;
    blmove_generic(ctx, from, to, deadline)
}

fn brpoplpush(ctx: &mut Ctx) -> CmdResult {
    let deadline = blocking::parse_timeout(ctx.arg(3), ctx.now())?;
    blmove_generic(ctx, false, true, deadline)
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("llen", llen),
    ("lindex", lindex),
    ("lset", lset),
    ("linsert", linsert),
    ("lrange", lrange),
    ("ltrim", ltrim),
    ("lrem", lrem),
    ("lpos", lpos),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
    ("blpop", blpop),
    ("brpop", brpop),
    ("blmove", blmove),
    ("brpoplpush", brpoplpush),
    ("blmpop", blmpop),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    #[test]
    fn push_pop_range() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("RPUSH l a b c 1 -5 99999999999"), ":6\r\n");
        assert_eq!(t.exec("LPUSH l z"), ":7\r\n");
        assert_eq!(
            t.exec("LRANGE l 0 -1"),
            "*7\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\n1\r\n$2\r\n-5\r\n$11\r\n99999999999\r\n"
        );
        assert_eq!(t.exec("LPOP l 2"), "*2\r\n$1\r\nz\r\n$1\r\na\r\n");
        assert_eq!(t.exec("RPOP l"), "$11\r\n99999999999\r\n");
        assert_eq!(t.exec("LINDEX l -1"), "$2\r\n-5\r\n");
        assert_eq!(
            t.exec("LPOP l 100"),
            "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\n1\r\n$2\r\n-5\r\n"
        );
        assert_eq!(t.exec("EXISTS l"), ":0\r\n");
        assert_eq!(t.exec("LRANGE l 0 9223372036854775807"), "*0\r\n");
    }

    #[test]
    fn blocking_immediate_and_in_multi() {
        let mut t = TestServer::new();
        t.exec("RPUSH a x y");
        assert_eq!(t.exec("BLPOP none a 0"), "*2\r\n$1\r\na\r\n$1\r\nx\r\n");
        assert_eq!(t.exec("BRPOPLPUSH a b 0"), "$1\r\ny\r\n");
        assert_eq!(t.exec("EXISTS a"), ":0\r\n");
        assert_eq!(
            t.exec("BLMPOP 0 2 a b RIGHT COUNT 5"),
            "*2\r\n$1\r\nb\r\n*1\r\n$1\r\ny\r\n"
        );
        assert_eq!(t.exec("BLPOP a -1"), "-ERR timeout is negative\r\n");
        t.client.in_exec = true;
        assert_eq!(t.exec("BLPOP a b 0"), "*-1\r\n");
        assert_eq!(t.exec("BRPOP a 1.5"), "*-1\r\n");
        assert_eq!(t.exec("BLMOVE a b LEFT RIGHT 0"), "$-1\r\n");
        assert_eq!(t.exec("BRPOPLPUSH a b 0"), "$-1\r\n");
        assert_eq!(t.exec("BLMPOP 0 1 a LEFT"), "*-1\r\n");
        t.resp3();
        assert_eq!(t.exec("BLPOP a 0"), "_\r\n");
        assert_eq!(t.exec("BLMOVE a b LEFT RIGHT 0"), "_\r\n");
        assert!(t.client.blocked.is_none());
        t.client.in_exec = false;
        t.exec("BLPOP a 0");
        assert!(t.client.blocked.is_some());
    }

    #[test]
    fn lmove_same_key_keeps_ttl() {
        let mut t = TestServer::new();
        t.exec("RPUSH l a");
        t.exec("EXPIRE l 100");
        assert_eq!(t.exec("LMOVE l l LEFT RIGHT"), "$1\r\na\r\n");
        assert_eq!(t.exec("TTL l"), ":100\r\n");
        t.exec("RPUSH l b c");
        assert_eq!(t.exec("RPOPLPUSH l l"), "$1\r\nc\r\n");
        assert_eq!(
            t.exec("LRANGE l 0 -1"),
            "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
    }
}
