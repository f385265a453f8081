//! Set commands: SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS, SPOP, SRANDMEMBER, SMOVE,
//! SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN.
//!
//! Semantics, reply shapes (RESP3 sets for SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a
//! count; arrays for SRANDMEMBER with a count), error texts and the order of checks are those of
//! Redis 7.0's `t_set.c`. The value type and its `intset`/`hashtable` encodings live in
//! `types/set.rs`; this file parses, picks the algorithm, and replies.
//!
//! The algebra commands follow Redis's algorithms because they are observable: results are
//! built the way Redis builds them (an intset that converts when a non-integer or too many
//! members arrive), so SMEMBERS order and OBJECT ENCODING of a stored result match, and SDIFF
//! picks between "test each member of the first set" and "add the first, remove the others"
//! with Redis's cost estimate (the two can leave different encodings behind).
//!
//! Random commands sample with `Server::random`. SPOP and SRANDMEMBER with a count choose their
//! strategy by how the count compares to the set size, as Redis does, so the work is bounded by
//! the set size or the count, whichever is smaller — except SRANDMEMBER with a negative count,
//! whose reply grows with the count by definition: it is streamed without any allocation sized
//! from the count, and a client asking for more than [`MAX_REPEAT_REPLY_BYTES`] of reply is
//! closed the way Redis closes a client over its output buffer limit (Redis 7.0.15 itself tries
//! to build the whole reply, e.g. ~15 GB for `SRANDMEMBER k -2147483648`, and runs out of
//! memory).

use std::collections::HashSet;

use cinnabar_resp::ReplyBuf;

use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::server::Server;
use crate::types::set::{Member, OwnedMember};
use crate::types::{Obj, Set, Value};
use crate::util::{eq_ic, glob_match};

/// Largest reply SRANDMEMBER with a negative count may build (see the module docs).
pub const MAX_REPEAT_REPLY_BYTES: usize = 1 << 30;

/// Smallest reply of one member (`$0\r\n\r\n`): counts above `MAX / this` cannot fit.
const MIN_MEMBER_REPLY_BYTES: usize = 6;

/// SPOP: below this ratio of remaining to popped members, build the remaining set anew
/// instead of popping one by one (Redis's SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

/// SRANDMEMBER: when the set is less than this many times the count, copy it and remove
/// random members instead of sampling (Redis's SRANDMEMBER_SUB_STRATEGY_MUL).
const SRANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;

/// `set-max-intset-entries`.
fn max_intset_entries(ctx: &Ctx) -> usize {
    ctx.srv.config.enc.set_intset_entries
}

/// The set in a keyspace object, or WRONGTYPE.
fn as_set(obj: &mut Obj) -> Result<&mut Set, CmdError> {
    match &mut obj.val {
        Value::Set(s) => Ok(s),
        _ => Err(CmdError::WrongType),
    }
}

/// Read lookup (hit/miss stats, lazy expiry) with type check; also hands out the reply buffer.
fn read_set<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<(Option<&'c mut Set>, &'c mut ReplyBuf), CmdError> {
    match ctx.lookup_read_out(key) {
        (Some(obj), out) => Ok((Some(as_set(obj)?), out)),
        (None, out) => Ok((None, out)),
    }
}

/// Write lookup (lazy expiry, no stats) with type check; also hands out the reply buffer.
fn write_set<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<(Option<&'c mut Set>, &'c mut ReplyBuf), CmdError> {
    if ctx.lookup_write(key).is_none() {
        return Ok((None, &mut ctx.client.reply));
    }
    let db = ctx.client.db;
    match ctx.srv.dbs[db].dict.get_mut(key) {
        Some(obj) => Ok((Some(as_set(obj)?), &mut ctx.client.reply)),
        None => Ok((None, &mut ctx.client.reply)),
    }
}

/// A private generator seeded from the server's (`util::sampler`), so the value can stay
/// borrowed while sampling.
fn rng(ctx: &mut Ctx) -> impl FnMut() -> u64 {
    crate::util::sampler(ctx.srv.random())
}

fn reply_member(out: &mut ReplyBuf, m: Member) {
    match m {
        Member::Int(v) => out.bulk_int(v),
        Member::Str(s) => out.bulk(s),
    }
}

/// Replies every member of `set` as a RESP3 set (array in RESP2).
fn reply_all(out: &mut ReplyBuf, set: &Set) {
    out.set(set.len());
    for m in set.iter() {
        reply_member(out, m);
    }
}

/// Deletes a key that became empty and reports it (`del` event).
fn delete_empty(ctx: &mut Ctx, key: &[u8]) {
    ctx.db().delete(key, false);
    ctx.notify(b'g', "del", key);
}

fn sadd(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let members = &ctx.argv[2..];
    let max = max_intset_entries(ctx);
    let added = match write_set(ctx, key)?.0 {
        Some(set) => members.iter().filter(|m| set.add(m, max)).count(),
        None => {
            let mut set = Set::new_for(&members[0]);
            let n = members.iter().filter(|m| set.add(m, max)).count();
            let lru = ctx.new_lru();
            ctx.db().add(key, Value::Set(Box::new(set)), lru);
            n
        }
    };
    if added > 0 {
        ctx.notify(b's', "sadd", key);
    }
    ctx.dirty(added as u64);
    ctx.out().int(added as i64);
    Ok(())
}

fn srem(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let argv = ctx.argv;
    let (removed, emptied) = match write_set(ctx, key)?.0 {
        None => (0, false),
        Some(set) => {
            let mut n = 0;
            for m in &argv[2..] {
                if set.remove(m) {
                    n += 1;
                    if set.is_empty() {
                        break;
                    }
                }
            }
            (n, set.is_empty())
        }
    };
    if removed > 0 {
        if emptied {
            ctx.db().delete(key, false);
        }
        ctx.notify(b's', "srem", key);
        if emptied {
            ctx.notify(b'g', "del", key);
        }
        ctx.dirty(removed);
    }
    ctx.out().int(removed as i64);
    Ok(())
}

/// SMOVE source destination member, as Redis's `smoveCommand`: a missing source replies 0
/// before any type check of the destination; source == destination only tests membership.
fn smove(ctx: &mut Ctx) -> CmdResult {
    let (src, dst, ele) = (ctx.arg(1), ctx.arg(2), ctx.arg(3));
    let is_set = |o: &mut Obj| matches!(o.val, Value::Set(_));
    let src_type = ctx.lookup_write(src).map(is_set);
    let dst_type = ctx.lookup_write(dst).map(is_set);
    let Some(src_is_set) = src_type else {
        ctx.out().int(0);
        return Ok(());
    };
    if !src_is_set || dst_type == Some(false) {
        return Err(CmdError::WrongType);
    }
    let dst_exists = dst_type.is_some();
    if src == dst {
        let (set, out) = write_set(ctx, src)?;
        let is_member = set.is_some_and(|s| s.contains(ele));
        out.int(is_member as i64);
        return Ok(());
    }
    let (removed, emptied) = match write_set(ctx, src)?.0 {
        Some(set) => (set.remove(ele), set.is_empty()),
        None => (false, false),
    };
    if !removed {
        ctx.out().int(0);
        return Ok(());
    }
    ctx.notify(b's', "srem", src);
    if emptied {
        delete_empty(ctx, src);
    }
    let max = max_intset_entries(ctx);
    let added = if dst_exists {
        write_set(ctx, dst)?.0.is_some_and(|s| s.add(ele, max))
    } else {
        let mut set = Set::new_for(ele);
        set.add(ele, max);
        let lru = ctx.new_lru();
        ctx.db().add(dst, Value::Set(Box::new(set)), lru);
        true
    };
    ctx.dirty(1);
    if added {
        ctx.dirty(1);
        ctx.notify(b's', "sadd", dst);
    }
    ctx.out().int(1);
    Ok(())
}

fn sismember(ctx: &mut Ctx) -> CmdResult {
    let (key, m) = (ctx.arg(1), ctx.arg(2));
    let (set, out) = read_set(ctx, key)?;
    out.int(set.is_some_and(|s| s.contains(m)) as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let members = &ctx.argv[2..];
    let (set, out) = read_set(ctx, key)?;
    out.array(members.len());
    for m in members {
        out.int(set.as_ref().is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

fn scard(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let (set, out) = read_set(ctx, key)?;
    out.int(set.map_or(0, |s| s.len()) as i64);
    Ok(())
}

fn smembers(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    match read_set(ctx, key)? {
        (Some(set), out) => reply_all(out, set),
        (None, out) => out.set(0),
    }
    Ok(())
}

fn spop(ctx: &mut Ctx) -> CmdResult {
    match ctx.argv.len() {
        2 => spop_one(ctx),
        3 => spop_count(ctx),
        _ => Err(CmdError::Syntax),
    }
}

/// SPOP key: one random member, removed.
fn spop_one(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let mut rnd = rng(ctx);
    let (popped, emptied) = match write_set(ctx, key)? {
        (None, out) => {
            out.null();
            return Ok(());
        }
        (Some(set), out) => {
            let m = set.pop_random(&mut rnd);
            if let Some(m) = &m {
                reply_member(out, m.as_member());
            }
            (m.is_some(), set.is_empty())
        }
    };
    if popped {
        ctx.notify(b's', "spop", key);
        if emptied {
            delete_empty(ctx, key);
        }
        ctx.dirty(1);
    }
    Ok(())
}

/// SPOP key count, as Redis's `spopWithCountCommand`:
/// 1. count >= size: reply the whole set (rebuilt, as SUNION would) and delete the key;
/// 2. the remaining members are more than count/5: pop random members one by one;
/// 3. otherwise (popping nearly everything): move `size - count` random members into a new set
///    that replaces the old one, and reply what is left of the old one. The new set starts as
///    Redis's does (from its first member), so its encoding may differ from the old one's.
fn spop_count(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let count = crate::util::parse_int(ctx.arg(2))
        .filter(|&c| c >= 0)
        .ok_or_else(|| CmdError::err("value is out of range, must be positive"))?
        as u64;
    let max = max_intset_entries(ctx);
    let mut rnd = rng(ctx);
    let (set, out) = write_set(ctx, key)?;
    let Some(set) = set else {
        out.set(0);
        return Ok(());
    };
    if count == 0 {
        out.set(0);
        return Ok(());
    }
    let size = set.len() as u64;
    if count >= size {
        // Redis replies through SUNION of the key, i.e. a rebuilt set: a hash table holding
        // only integers comes back as a sorted intset would.
        match set {
            Set::Int(_) => reply_all(out, set),
            Set::Hash(_) => {
                let mut copy = Set::new_intset();
                for m in set.iter() {
                    copy.add_member(m, max);
                }
                reply_all(out, &copy);
            }
        }
    } else if (size - count) * SPOP_MOVE_STRATEGY_MUL > count {
        out.set(count as usize);
        for _ in 0..count {
            if let Some(m) = set.pop_random(&mut rnd) {
                reply_member(out, m.as_member());
            }
        }
    } else {
        let mut kept: Option<Set> = None;
        for _ in 0..size - count {
            let Some(m) = set.pop_random(&mut rnd) else {
                break;
            };
            let m = m.as_member();
            let new = kept.get_or_insert_with(|| match m {
                Member::Int(_) => Set::new_intset(),
                Member::Str(s) => Set::new_for(s),
            });
            new.add_member(m, max);
        }
        reply_all(out, set);
        if let Some(kept) = kept {
            *set = kept;
        }
    }
    ctx.notify(b's', "spop", key);
    ctx.dirty(count.min(size));
    if count >= size {
        delete_empty(ctx, key);
    }
    Ok(())
}

fn srandmember(ctx: &mut Ctx) -> CmdResult {
    match ctx.argv.len() {
        2 => {
            let key = ctx.arg(1);
            let mut rnd = rng(ctx);
            match read_set(ctx, key)? {
                (Some(set), out) => match set.random(&mut rnd) {
                    Some(m) => reply_member(out, m),
                    None => out.null(),
                },
                (None, out) => out.null(),
            }
            Ok(())
        }
        3 => srandmember_count(ctx),
        _ => Err(CmdError::Syntax),
    }
}

/// SRANDMEMBER key count, as Redis's `srandmemberWithCountCommand`:
/// - count < 0: |count| independent draws (repetitions allowed), streamed;
/// - count >= size: the whole set;
/// - count > size/3: copy the set and remove random members until `count` are left;
/// - otherwise: draw random members until `count` distinct ones were seen.
fn srandmember_count(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let l = int_arg(ctx.arg(2))?;
    if l == i64::MIN {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    let mut rnd = rng(ctx);
    let start = ctx.out().buf.len();
    let (set, out) = read_set(ctx, key)?;
    let Some(set) = set else {
        out.array(0);
        return Ok(());
    };
    if l == 0 {
        out.array(0);
        return Ok(());
    }
    let size = set.len() as u64;
    if l < 0 {
        let count = l.unsigned_abs();
        if count > (MAX_REPEAT_REPLY_BYTES / MIN_MEMBER_REPLY_BYTES) as u64 {
            return abort_oversized_reply(ctx, start);
        }
        out.array(count as usize);
        for i in 0..count {
            if let Some(m) = set.random(&mut rnd) {
                reply_member(out, m);
            }
            if i % 1024 == 1023 && out.buf.len() - start > MAX_REPEAT_REPLY_BYTES {
                return abort_oversized_reply(ctx, start);
            }
        }
        return Ok(());
    }
    let count = l as u64;
    if count >= size {
        out.array(set.len());
        for m in set.iter() {
            reply_member(out, m);
        }
        return Ok(());
    }
    let picked: Vec<Member> = if count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        let mut all: Vec<Member> = set.iter().collect();
        while all.len() as u64 > count {
            let i = (rnd() % all.len() as u64) as usize;
            all.swap_remove(i);
        }
        all
    } else {
        let mut seen: HashSet<Member> = HashSet::with_capacity(count as usize);
        let mut order = Vec::with_capacity(count as usize);
        while (order.len() as u64) < count {
            if let Some(m) = set.random(&mut rnd) {
                if seen.insert(m) {
                    order.push(m);
                }
            }
        }
        order
    };
    out.array(picked.len());
    for m in picked {
        reply_member(out, m);
    }
    Ok(())
}

/// Drops a reply that would pass [`MAX_REPEAT_REPLY_BYTES`] and closes the client, as Redis
/// does for a client over its output buffer limit.
fn abort_oversized_reply(ctx: &mut Ctx, start: usize) -> CmdResult {
    ctx.out().buf.truncate(start);
    ctx.client.killed = true;
    crate::warning!(
        "Client id={} addr={} closed for overcoming of output buffer limits (SRANDMEMBER reply over {} bytes).",
        ctx.client.id,
        ctx.client.addr,
        MAX_REPEAT_REPLY_BYTES
    );
    Ok(())
}

/// Looks every key up (read or write lookup) and checks that each holds a set, as Redis 7.0
/// does before any work: a wrong type anywhere is an error even after a missing key.
/// Return value: whether each key exists.
fn lookup_sets(ctx: &mut Ctx, keys: &[Vec<u8>], write: bool) -> Result<Vec<bool>, CmdError> {
    let mut exists = Vec::with_capacity(keys.len());
    for k in keys {
        let found = if write {
            write_set(ctx, k)?.0.is_some()
        } else {
            read_set(ctx, k)?.0.is_some()
        };
        exists.push(found);
    }
    Ok(exists)
}

/// The sets at `keys` (looked up and type-checked by [`lookup_sets`]), `None` for missing keys.
fn sets_of<'s>(srv: &'s Server, db: usize, keys: &[Vec<u8>]) -> Vec<Option<&'s Set>> {
    let db = &srv.dbs[db];
    keys.iter()
        .map(|k| match db.dict.get(&k[..]).map(|o| &o.val) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect()
}

/// Stores a computed set at `dst` (SINTERSTORE and friends): the old value (any type, and its
/// TTL) goes; an empty result leaves the key deleted. Replies the cardinality. One change is
/// counted unless nothing was stored and nothing deleted (Redis 7.0's dirty rule).
fn store_result(ctx: &mut Ctx, dst: &[u8], result: Set, event: &str) {
    let deleted = ctx.db().delete(dst, true);
    let n = result.len();
    if n > 0 {
        let lru = ctx.new_lru();
        ctx.db().add(dst, Value::Set(Box::new(result)), lru);
        ctx.notify(b's', event, dst);
        ctx.dirty(1);
    } else if deleted {
        ctx.notify(b'g', "del", dst);
        ctx.dirty(1);
    }
    ctx.out().int(n as i64);
}

/// What SINTER-family commands do with the intersection.
#[derive(Clone, Copy, PartialEq)]
enum InterMode {
    Reply,
    Store,
    /// SINTERCARD: count only, stopping at the limit (0 = none).
    Card(u64),
}

/// SINTER, SINTERSTORE and SINTERCARD, as Redis's `sinterGenericCommand`: a missing key makes
/// the result empty; otherwise the members of the smallest set are tested against the others.
fn sinter_generic(
    ctx: &mut Ctx,
    keys: &[Vec<u8>],
    dst: Option<&[u8]>,
    mode: InterMode,
) -> CmdResult {
    let exists = lookup_sets(ctx, keys, dst.is_some())?;
    if exists.contains(&false) {
        match (mode, dst) {
            (InterMode::Store, Some(dst)) => {
                if ctx.db().delete(dst, true) {
                    ctx.notify(b'g', "del", dst);
                    ctx.dirty(1);
                }
                ctx.out().int(0);
            }
            (InterMode::Card(_), _) => ctx.out().int(0),
            _ => ctx.out().set(0),
        }
        return Ok(());
    }
    let max = max_intset_entries(ctx);
    let mut sets: Vec<&Set> = sets_of(ctx.srv, ctx.client.db, keys)
        .into_iter()
        .flatten()
        .collect();
    // Stable, so equal-size sets keep the argument order.
    sets.sort_by_key(|s| s.len());
    let (first, rest) = sets.split_first().ok_or(CmdError::Syntax)?;
    let in_all = |m: Member| {
        rest.iter()
            .all(|s| std::ptr::eq(*s, *first) || s.contains_member(m))
    };
    match mode {
        InterMode::Card(limit) => {
            let mut n = 0u64;
            for m in first.iter() {
                if in_all(m) {
                    n += 1;
                    if limit > 0 && n >= limit {
                        break;
                    }
                }
            }
            ctx.client.reply.int(n as i64);
        }
        InterMode::Reply => {
            let found: Vec<Member> = first.iter().filter(|&m| in_all(m)).collect();
            let out = &mut ctx.client.reply;
            out.set(found.len());
            for m in found {
                reply_member(out, m);
            }
        }
        InterMode::Store => {
            let mut result = Set::new_intset();
            for m in first.iter().filter(|&m| in_all(m)) {
                result.add_member(m, max);
            }
            if let Some(dst) = dst {
                store_result(ctx, dst, result, "sinterstore");
            }
        }
    }
    Ok(())
}

fn sinter(ctx: &mut Ctx) -> CmdResult {
    sinter_generic(ctx, &ctx.argv[1..], None, InterMode::Reply)
}

fn sinterstore(ctx: &mut Ctx) -> CmdResult {
    let dst = ctx.arg(1);
    sinter_generic(ctx, &ctx.argv[2..], Some(dst), InterMode::Store)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]: arguments are all checked before any
/// lookup, with Redis's texts.
fn sintercard(ctx: &mut Ctx) -> CmdResult {
    let numkeys = crate::util::parse_int(ctx.arg(1))
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    if numkeys > ctx.argv.len() as i64 - 2 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut i = end;
    while i < ctx.argv.len() {
        if eq_ic(ctx.arg(i), "limit") && i + 1 < ctx.argv.len() {
            limit = crate::util::parse_int(ctx.arg(i + 1))
                .filter(|&l| l >= 0)
                .ok_or_else(|| CmdError::err("LIMIT can't be negative"))?
                as u64;
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    sinter_generic(ctx, &ctx.argv[2..end], None, InterMode::Card(limit))
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Diff,
}

/// SUNION, SDIFF and their STORE variants, as Redis's `sunionDiffGenericCommand`: the result
/// is built as a new set (starting as an intset) and then replied or stored. SDIFF picks
/// Redis's algorithm 1 (test each member of the first set against the others; work
/// |first| * sets / 2) or algorithm 2 (add the first set, remove the others' members; work =
/// total size), whichever is estimated cheaper.
fn sunion_diff_generic(
    ctx: &mut Ctx,
    keys: &[Vec<u8>],
    dst: Option<&[u8]>,
    op: SetOp,
) -> CmdResult {
    lookup_sets(ctx, keys, dst.is_some())?;
    let max = max_intset_entries(ctx);
    let mut sets = sets_of(ctx.srv, ctx.client.db, keys);
    let mut result = Set::new_intset();
    match (op, sets[0]) {
        (SetOp::Union, _) => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    result.add_member(m, max);
                }
            }
        }
        (SetOp::Diff, None) => {}
        (SetOp::Diff, Some(first)) => {
            let present = sets.iter().flatten();
            let algo_one_work = present.clone().count() as u64 * first.len() as u64 / 2;
            let algo_two_work: u64 = present.map(|s| s.len() as u64).sum();
            if algo_one_work <= algo_two_work {
                // Bigger sets first: a member is more likely to be found early.
                sets[1..].sort_by_key(|s| std::cmp::Reverse(s.map_or(0, |s| s.len())));
                for m in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains_member(m)) {
                        result.add_member(m, max);
                    }
                }
            } else {
                for m in first.iter() {
                    result.add_member(m, max);
                }
                for s in sets[1..].iter().flatten() {
                    if result.is_empty() {
                        break;
                    }
                    for m in s.iter() {
                        result.remove_member(m);
                    }
                }
            }
        }
    }
    match dst {
        None => reply_all(&mut ctx.client.reply, &result),
        Some(dst) => {
            let event = if op == SetOp::Union {
                "sunionstore"
            } else {
                "sdiffstore"
            };
            store_result(ctx, dst, result, event);
        }
    }
    Ok(())
}

fn sunion(ctx: &mut Ctx) -> CmdResult {
    sunion_diff_generic(ctx, &ctx.argv[1..], None, SetOp::Union)
}

fn sunionstore(ctx: &mut Ctx) -> CmdResult {
    let dst = ctx.arg(1);
    sunion_diff_generic(ctx, &ctx.argv[2..], Some(dst), SetOp::Union)
}

fn sdiff(ctx: &mut Ctx) -> CmdResult {
    sunion_diff_generic(ctx, &ctx.argv[1..], None, SetOp::Diff)
}

fn sdiffstore(ctx: &mut Ctx) -> CmdResult {
    let dst = ctx.arg(1);
    sunion_diff_generic(ctx, &ctx.argv[2..], Some(dst), SetOp::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count], as Redis's `sscanCommand` +
/// `scanGenericCommand`: the cursor is checked first, then the key (missing: an empty scan,
/// options unchecked), then the options (COUNT < 1 and TYPE are syntax errors). An intset is
/// returned whole with cursor 0; a hash table is walked with the dict's cursor until COUNT
/// members were collected or COUNT*10 buckets visited; MATCH filters afterwards.
fn sscan(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let cursor =
        super::keys::parse_cursor(ctx.arg(2)).ok_or_else(|| CmdError::err("invalid cursor"))?;
    if read_set(ctx, key)?.0.is_none() {
        let out = ctx.out();
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    }
    let super::keys::ScanOptions { count, pattern, .. } =
        super::keys::scan_options(ctx.argv, 3, false)?;
    let Some(Some(set)) = sets_of(ctx.srv, ctx.client.db, std::slice::from_ref(&ctx.argv[1])).pop()
    else {
        return Err(CmdError::WrongType);
    };
    let mut found: Vec<OwnedMember> = Vec::new();
    let mut next = cursor;
    let mut max_iterations = count.saturating_mul(10);
    loop {
        next = set.scan(next, |m| found.push(m.to_owned()));
        if next == 0 || max_iterations == 0 || found.len() as i64 >= count {
            break;
        }
        max_iterations -= 1;
    }
    if let Some(p) = pattern {
        found.retain(|m| m.as_member().with_bytes(|b| glob_match(p, b, false)));
    }
    let out = &mut ctx.client.reply;
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(found.len());
    for m in &found {
        reply_member(out, m.as_member());
    }
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("smove", smove),
    ("sismember", sismember),
    ("smismember", smismember),
    ("scard", scard),
    ("smembers", smembers),
    ("spop", spop),
    ("srandmember", srandmember),
    ("sinter", sinter),
    ("sintercard", sintercard),
    ("sinterstore", sinterstore),
    ("sunion", sunion),
    ("sunionstore", sunionstore),
    ("sdiff", sdiff),
    ("sdiffstore", sdiffstore),
    ("sscan", sscan),
];

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use cinnabar_resp::Frame;

    use crate::testkit::TestServer;

    /// Runs a command and decodes its reply.
    fn frame(t: &mut TestServer, cmd: &str) -> Frame {
        let argv = cinnabar_resp::parse::split_args(cmd.as_bytes()).expect("quotes");
        let out = t.exec_argv(&argv);
        Frame::parse(out.as_bytes())
            .expect("valid")
            .expect("whole")
            .0
    }

    /// The members in an array/set reply (or in SSCAN's second element).
    fn members(f: Frame) -> Vec<String> {
        match f {
            Frame::Array(v) | Frame::Set(v) => v
                .into_iter()
                .map(|m| match m {
                    Frame::Bulk(b) => String::from_utf8(b).expect("utf8"),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
            other => panic!("not an array: {other:?}"),
        }
    }

    fn sadd_range(t: &mut TestServer, key: &str, prefix: &str, n: usize) {
        let mut argv: Vec<Vec<u8>> = vec![b"SADD".to_vec(), key.as_bytes().to_vec()];
        argv.extend((0..n).map(|i| format!("{prefix}{i}").into_bytes()));
        t.exec_argv(&argv);
    }

    fn smembers(t: &mut TestServer, key: &str) -> HashSet<String> {
        members(frame(t, &format!("SMEMBERS {key}")))
            .into_iter()
            .collect()
    }

    #[test]
    fn dirty_counts_follow_redis() {
        let mut t = TestServer::new();
        let step = |t: &mut TestServer, cmd: &str, want: u64| {
            let before = t.srv.dirty;
            t.exec(cmd);
            assert_eq!(t.srv.dirty - before, want, "{cmd}");
        };
        step(&mut t, "SADD s 1 2 3 4 5 6 7 8 9 10", 10);
        step(&mut t, "SADD s 1 2 11", 1);
        step(&mut t, "SPOP s 3", 3);
        step(&mut t, "SPOP s 0", 0);
        step(&mut t, "SPOP s 100", 8);
        step(&mut t, "SADD a 1 2", 2);
        step(&mut t, "SINTERSTORE d a a", 1);
        step(&mut t, "SINTERSTORE d a nokey", 1);
        step(&mut t, "SINTERSTORE d a nokey", 0);
        step(&mut t, "SDIFFSTORE e a a", 0);
        step(&mut t, "SET e x", 1);
        step(&mut t, "SDIFFSTORE e a a", 1);
        step(&mut t, "SUNIONSTORE e a", 1);
        step(&mut t, "SMOVE a b 1", 2);
        step(&mut t, "SMOVE a b 1", 0);
        step(&mut t, "SADD b 2", 1);
        step(&mut t, "SMOVE a b 2", 1);
        step(&mut t, "SREM b 1 2 3", 2);
        step(&mut t, "SPOP nokey", 0);
        step(&mut t, "SADD q 1", 1);
        step(&mut t, "SPOP q", 1);
        step(&mut t, "SRANDMEMBER s -5", 0);
    }

    #[test]
    fn keyspace_events_and_key_deletion() {
        let mut t = TestServer::new();
        t.exec("SADD src 1");
        let ev = t.srv.keyspace_events;
        // srem + del on the source, sadd on the destination.
        assert_eq!(t.exec("SMOVE src dst 1"), ":1\r\n");
        assert_eq!(t.srv.keyspace_events - ev, 3);
        assert_eq!(t.exec("EXISTS src"), ":0\r\n");
        let ev = t.srv.keyspace_events;
        assert_eq!(t.exec("SREM dst 1"), ":1\r\n");
        assert_eq!(t.srv.keyspace_events - ev, 2);
        assert_eq!(t.exec("EXISTS dst"), ":0\r\n");
        let ev = t.srv.keyspace_events;
        t.exec("SREM dst 1");
        t.exec("SADD k a");
        t.exec("SADD k a");
        assert_eq!(
            t.srv.keyspace_events - ev,
            1,
            "only the first SADD changed anything"
        );
        // SPOP of the last member: spop + del.
        let ev = t.srv.keyspace_events;
        assert_eq!(t.exec("SPOP k"), "$1\r\na\r\n");
        assert_eq!(t.srv.keyspace_events - ev, 2);
        assert_eq!(t.exec("EXISTS k"), ":0\r\n");
    }

    #[test]
    fn huge_negative_srandmember_closes_the_client_without_building_the_reply() {
        let mut t = TestServer::new();
        t.exec("SADD s a");
        assert_eq!(
            t.exec("SRANDMEMBER s -3"),
            "*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
        );
        assert!(!t.client.killed);
        let out = t.exec("SRANDMEMBER s -2147483648");
        assert!(out.is_empty());
        assert!(t.client.killed);
        // Not a hang either for the largest accepted count, nor an error for a missing key.
        let mut t = TestServer::new();
        assert_eq!(t.exec("SRANDMEMBER nokey -9223372036854775807"), "*0\r\n");
        t.exec("SADD s a");
        t.exec("SRANDMEMBER s -9223372036854775807");
        assert!(t.client.killed);
    }

    #[test]
    fn sscan_walks_a_hash_table_completely() {
        let mut t = TestServer::new();
        sadd_range(&mut t, "h", "m", 1000);
        assert_eq!(t.exec("OBJECT ENCODING h"), "$9\r\nhashtable\r\n");
        let mut seen = HashSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        loop {
            let f = frame(&mut t, &format!("SSCAN h {cursor} COUNT 7"));
            let Frame::Array(mut parts) = f else {
                panic!("bad reply")
            };
            let batch = members(parts.pop().expect("members"));
            assert!(batch.len() < 100, "COUNT bounds the work");
            seen.extend(batch);
            let Some(Frame::Bulk(c)) = parts.pop() else {
                panic!("no cursor")
            };
            cursor = String::from_utf8(c).expect("utf8");
            calls += 1;
            // Grow the set while scanning (forces rehashing).
            if calls < 50 {
                t.exec(&format!("SADD h extra{calls}"));
            }
            if cursor == "0" {
                break;
            }
        }
        assert!(calls > 10);
        for i in 0..1000 {
            assert!(seen.contains(&format!("m{i}")), "m{i} missing");
        }
        // MATCH filters after the walk.
        let f = frame(&mut t, "SSCAN h 0 MATCH m99* COUNT 100000");
        let Frame::Array(mut parts) = f else {
            panic!("bad reply")
        };
        let mut got = members(parts.pop().expect("members"));
        got.sort();
        assert_eq!(
            got,
            vec![
                "m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998",
                "m999"
            ]
        );
    }

    /// Every strategy of SPOP with a count returns distinct members of the set and leaves
    /// exactly the others, for both encodings.
    #[test]
    fn spop_count_strategies_partition_the_set() {
        for (prefix, n) in [("", 300), ("m", 300), ("", 1000), ("m", 50)] {
            for count in [1, 7, n / 3, n - n / 10, n - 1, n, n + 5] {
                let mut t = TestServer::new();
                sadd_range(&mut t, "s", prefix, n);
                let before = smembers(&mut t, "s");
                let popped = members(frame(&mut t, &format!("SPOP s {count}")));
                let popped_set: HashSet<String> = popped.iter().cloned().collect();
                assert_eq!(popped.len(), count.min(n), "distinct, right size");
                assert_eq!(popped_set.len(), popped.len());
                let after = if count >= n {
                    assert_eq!(t.exec("EXISTS s"), ":0\r\n");
                    HashSet::new()
                } else {
                    smembers(&mut t, "s")
                };
                assert!(popped_set.is_disjoint(&after));
                let union: HashSet<String> = popped_set.union(&after).cloned().collect();
                assert_eq!(union, before, "prefix {prefix:?} n {n} count {count}");
            }
        }
    }

    #[test]
    fn srandmember_count_strategies_return_distinct_members() {
        for (prefix, n) in [("", 100), ("m", 100), ("", 1000)] {
            let mut t = TestServer::new();
            sadd_range(&mut t, "s", prefix, n);
            let all = smembers(&mut t, "s");
            for count in [1, 10, n / 3, n / 3 + 1, n / 2, n - 1, n, 2 * n] {
                let got = members(frame(&mut t, &format!("SRANDMEMBER s {count}")));
                let set: HashSet<String> = got.iter().cloned().collect();
                assert_eq!(got.len(), count.min(n));
                assert_eq!(set.len(), got.len(), "no repetitions");
                assert!(set.is_subset(&all));
            }
            let got = members(frame(&mut t, "SRANDMEMBER s -500"));
            assert_eq!(got.len(), 500);
            assert!(got.iter().all(|m| all.contains(m)));
            assert_eq!(t.exec("SCARD s"), format!(":{n}\r\n"), "read-only");
        }
    }

    /// Uniform-ish: each of 20 members is drawn close to 1/20 of the time, for both encodings
    /// and for the single draw, the repeated draw and SPOP.
    #[test]
    fn random_picks_are_roughly_uniform() {
        for prefix in ["", "m"] {
            let mut t = TestServer::new();
            sadd_range(&mut t, "s", prefix, 20);
            let mut counts: HashMap<String, usize> = HashMap::new();
            for m in members(frame(&mut t, "SRANDMEMBER s -20000")) {
                *counts.entry(m).or_default() += 1;
            }
            for _ in 0..4000 {
                let Frame::Bulk(b) = frame(&mut t, "SRANDMEMBER s") else {
                    panic!("bulk")
                };
                *counts
                    .entry(String::from_utf8(b).expect("utf8"))
                    .or_default() += 5;
            }
            assert_eq!(counts.len(), 20);
            for (m, c) in &counts {
                // Expected 2000 per member.
                assert!((1400..2600).contains(c), "{prefix:?} {m}: {c}");
            }
            let mut first: HashMap<String, usize> = HashMap::new();
            for _ in 0..2000 {
                t.exec("DEL p");
                sadd_range(&mut t, "p", prefix, 20);
                let Frame::Bulk(b) = frame(&mut t, "SPOP p") else {
                    panic!("bulk")
                };
                *first
                    .entry(String::from_utf8(b).expect("utf8"))
                    .or_default() += 1;
            }
            assert_eq!(first.len(), 20);
            assert!(first.values().all(|c| (50..160).contains(c)), "{first:?}");
        }
    }

    #[test]
    fn resp3_shapes() {
        let mut t = TestServer::new();
        t.resp3();
        t.exec("SADD s 2 1");
        assert_eq!(t.exec("SMEMBERS s"), "~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
        assert_eq!(t.exec("SMEMBERS nokey"), "~0\r\n");
        assert_eq!(t.exec("SRANDMEMBER s 5"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
        assert_eq!(t.exec("SRANDMEMBER nokey 5"), "*0\r\n");
        assert_eq!(t.exec("SPOP nokey 5"), "~0\r\n");
        assert_eq!(t.exec("SPOP nokey"), "_\r\n");
        assert_eq!(t.exec("SUNION s nokey"), "~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
        assert_eq!(t.exec("SMISMEMBER s 1 3"), "*2\r\n:1\r\n:0\r\n");
        assert_eq!(t.exec("SPOP s 2"), "~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    }

    #[test]
    fn expired_keys_are_missing_sets() {
        let mut t = TestServer::new();
        t.exec("SADD s 1 2");
        t.exec("SADD o 2 3");
        t.exec("PEXPIRE s 10");
        t.advance_ms(11);
        assert_eq!(t.exec("SCARD s"), ":0\r\n");
        assert_eq!(t.exec("SINTER o s"), "*0\r\n");
        assert_eq!(t.exec("SUNION o s"), "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
        t.exec("SADD d 9");
        t.exec("PEXPIRE d 10");
        t.advance_ms(11);
        // The expired destination is simply replaced (and gets no TTL).
        assert_eq!(t.exec("SUNIONSTORE d o"), ":2\r\n");
        assert_eq!(t.exec("TTL d"), ":-1\r\n");
    }
}
