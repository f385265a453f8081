//! Hash commands: HSET, HSETNX, HGET, HMGET, HMSET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS,
//! HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
//!
//! The data side lives in `types/hash.rs` (listpack and hashtable encodings); this file parses
//! arguments, applies Redis 7.0's rules (`t_hash.c`: argument checks before any change, the
//! encoding conversion before a write, an emptied hash deletes its key) and writes replies.
//! Conversion thresholds come from `hash-max-listpack-entries` / `hash-max-listpack-value`,
//! with Redis's defaults while the config table does not know them.

use cinnabar_resp::ReplyBuf;

use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::types::hash::{Limits, Val};
use crate::types::{Hash, Obj, Value};
use crate::util::{eq_ic, glob_match};

/// A HRANDFIELD reply with repetitions is streamed; past this many bytes the client is
/// disconnected, as Redis disconnects a client over its output buffer limit. (Redis 7.0 would
/// keep going for `HRANDFIELD k -9223372036854775807` until it runs out of memory.)
/// (1 MiB in unit tests, to keep them fast.)
const RANDOM_REPLY_LIMIT: usize = if cfg!(test) { 1 << 20 } else { 256 << 20 };

/// The conversion thresholds from the config.
fn limits(ctx: &Ctx) -> Limits {
    let enc = &ctx.srv.config.enc;
    Limits {
        max_entries: enc.hash_entries,
        max_value: enc.hash_value,
    }
}

/// Looks a hash up for reading (hit/miss stats, access clock) and hands out the reply buffer
/// with it. Return value: `None` if the key does not exist; WRONGTYPE for another type.
fn read_hash<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
) -> Result<(Option<&'c Hash>, &'c mut ReplyBuf), CmdError> {
    match ctx.lookup_read_out(key) {
        (None, out) => Ok((None, out)),
        (
            Some(Obj {
                val: Value::Hash(h),
                ..
            }),
            out,
        ) => Ok((Some(&**h), out)),
        (Some(_), _) => Err(CmdError::WrongType),
    }
}

/// Looks a hash up for writing. Return value: `None` if the key does not exist.
fn write_hash<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut Hash>, CmdError> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Obj {
            val: Value::Hash(h),
            ..
        }) => Ok(Some(&mut **h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Redis's `hashTypeLookupWriteOrCreate`: the hash at `key`, created empty (listpack) if the
/// key does not exist. Callers check every argument first, since the key now exists.
fn hash_or_create<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<&'c mut Hash, CmdError> {
    let exists = write_hash(ctx, key)?.is_some();
    if !exists {
        let lru = ctx.new_lru();
        ctx.db().add(key, Value::Hash(Box::default()), lru);
    }
    match ctx.db().dict.get_mut(key) {
        Some(Obj {
            val: Value::Hash(h),
            ..
        }) => Ok(&mut **h),
        _ => Err(CmdError::WrongType),
    }
}

/// Writes a field or value as a bulk string.
fn bulk_val(out: &mut ReplyBuf, v: Val<'_>) {
    match v {
        Val::Int(n) => out.bulk_int(n),
        Val::Bytes(b) => out.bulk(b),
    }
}

/// A private generator seeded from the server's (`util::sampler`), so the value can stay
/// borrowed while sampling.
fn rng(ctx: &mut Ctx) -> impl FnMut() -> u64 {
    crate::util::sampler(ctx.srv.random())
}

/// HSET key field value [field value ...] and HMSET (same body, different reply): Redis's
/// `hsetCommand`. An odd number of field/value arguments is an arity error naming the command.
fn hset_generic(ctx: &mut Ctx, reply_ok: bool) -> CmdResult {
    let argv = ctx.argv;
    if argv.len() % 2 == 1 {
        return Err(ctx.arity_error());
    }
    let key = &argv[1][..];
    let lim = limits(ctx);
    let h = hash_or_create(ctx, key)?;
    h.convert_for(argv[2..].iter().map(Vec::as_slice), lim);
    let mut created = 0;
    for pair in argv[2..].chunks_exact(2) {
        if h.set(&pair[0], &pair[1], lim) {
            created += 1;
        }
    }
    ctx.notify(b'h', "hset", key);
    ctx.dirty(((argv.len() - 2) / 2) as u64);
    if reply_ok {
        ctx.out().ok();
    } else {
        ctx.out().int(created);
    }
    Ok(())
}

fn hset(ctx: &mut Ctx) -> CmdResult {
    hset_generic(ctx, false)
}

fn hmset(ctx: &mut Ctx) -> CmdResult {
    hset_generic(ctx, true)
}

/// HSETNX key field value: the encoding check runs only when the field is really added.
fn hsetnx(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let (key, field, value) = (&argv[1][..], &argv[2][..], &argv[3][..]);
    let lim = limits(ctx);
    let h = hash_or_create(ctx, key)?;
    if h.contains(field) {
        ctx.out().int(0);
        return Ok(());
    }
    h.convert_for([field, value], lim);
    h.set(field, value, lim);
    ctx.notify(b'h', "hset", key);
    ctx.dirty(1);
    ctx.out().int(1);
    Ok(())
}

fn hget(ctx: &mut Ctx) -> CmdResult {
    let field = ctx.arg(2);
    let (h, out) = read_hash(ctx, ctx.arg(1))?;
    match h.and_then(|h| h.get(field)) {
        Some(v) => bulk_val(out, v),
        None => out.null(),
    }
    Ok(())
}

/// HMGET: one value or null per field; a missing key gives all nulls.
fn hmget(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let (h, out) = read_hash(ctx, &argv[1])?;
    out.array(argv.len() - 2);
    for f in &argv[2..] {
        match h.and_then(|h| h.get(f)) {
            Some(v) => bulk_val(out, v),
            None => out.null(),
        }
    }
    Ok(())
}

/// HDEL key field [field ...]: stops early once the hash is empty, then deletes the key.
fn hdel(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let key = &argv[1][..];
    let Some(h) = write_hash(ctx, key)? else {
        ctx.out().int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for f in &argv[2..] {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let emptied = h.is_empty();
    if deleted > 0 {
        ctx.notify(b'h', "hdel", key);
        if emptied {
            ctx.db().delete(key, false);
            ctx.notify(b'g', "del", key);
        }
        ctx.dirty(deleted as u64);
    }
    ctx.out().int(deleted);
    Ok(())
}

fn hlen(ctx: &mut Ctx) -> CmdResult {
    let (h, out) = read_hash(ctx, ctx.arg(1))?;
    out.int(h.map_or(0, |h| h.len()) as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx) -> CmdResult {
    let field = ctx.arg(2);
    let (h, out) = read_hash(ctx, ctx.arg(1))?;
    let n = h.and_then(|h| h.get(field)).map_or(0, |v| v.len());
    out.int(n as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx) -> CmdResult {
    let field = ctx.arg(2);
    let (h, out) = read_hash(ctx, ctx.arg(1))?;
    out.int(h.is_some_and(|h| h.contains(field)) as i64);
    Ok(())
}

/// What HKEYS, HVALS and HGETALL reply with.
#[derive(Clone, Copy, PartialEq)]
enum GetAll {
    Keys,
    Vals,
    Both,
}

/// Shared body of HKEYS, HVALS and HGETALL (Redis's `genericHgetallCommand`); HGETALL is a
/// map in RESP3 (an empty map for a missing key).
fn hgetall_generic(ctx: &mut Ctx, what: GetAll) -> CmdResult {
    let (h, out) = read_hash(ctx, ctx.arg(1))?;
    let n = h.map_or(0, |h| h.len());
    if what == GetAll::Both {
        out.map(n);
    } else {
        out.array(n);
    }
    if let Some(h) = h {
        for (f, v) in h.iter() {
            if what != GetAll::Vals {
                bulk_val(out, f);
            }
            if what != GetAll::Keys {
                bulk_val(out, v);
            }
        }
    }
    Ok(())
}

fn hkeys(ctx: &mut Ctx) -> CmdResult {
    hgetall_generic(ctx, GetAll::Keys)
}

fn hvals(ctx: &mut Ctx) -> CmdResult {
    hgetall_generic(ctx, GetAll::Vals)
}

fn hgetall(ctx: &mut Ctx) -> CmdResult {
    hgetall_generic(ctx, GetAll::Both)
}

/// HINCRBY key field increment: the stored value must be an integer (string2ll rules); the
/// sum must not overflow. A missing field counts as 0.
fn hincrby(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let (key, field) = (&argv[1][..], &argv[2][..]);
    let incr = int_arg(&argv[3])?;
    let lim = limits(ctx);
    let h = hash_or_create(ctx, key)?;
    let cur = match h.get(field) {
        None => 0,
        Some(Val::Int(n)) => n,
        Some(Val::Bytes(b)) => crate::util::parse_int(b)
            .ok_or_else(|| CmdError::err("hash value is not an integer"))?,
    };
    let new = cur.checked_add(incr).ok_or(CmdError::Overflow)?;
    h.set(field, itoa::Buffer::new().format(new).as_bytes(), lim);
    ctx.notify(b'h', "hincrby", key);
    ctx.dirty(1);
    ctx.out().int(new);
    Ok(())
}

/// HINCRBYFLOAT key field increment, in C `long double` as Redis: the increment must be a
/// valid, finite number; the stored value a valid number; the sum finite. The result is
/// stored and replied in Redis's human long double format.
fn hincrbyfloat(ctx: &mut Ctx) -> CmdResult {
    use crate::util::{is_long_double, long_double_add, LdError};
    let argv = ctx.argv;
    let (key, field, incr) = (&argv[1][..], &argv[2][..], &argv[3][..]);
    if !is_long_double(incr) {
        return Err(CmdError::NotFloat);
    }
    if long_double_add(b"0", incr) == Err(LdError::NanOrInf) {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let lim = limits(ctx);
    let h = hash_or_create(ctx, key)?;
    let cur = h.get(field).map_or_else(|| b"0".to_vec(), |v| v.to_vec());
    let result = long_double_add(&cur, incr).map_err(|e| match e {
        LdError::NotFloat => CmdError::err("hash value is not a float"),
        LdError::NanOrInf => CmdError::err("increment would produce NaN or Infinity"),
    })?;
    h.set(field, &result, lim);
    ctx.notify(b'h', "hincrbyfloat", key);
    ctx.dirty(1);
    ctx.out().bulk(&result);
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]: Redis's `hrandfieldCommand`. The count is checked
/// first (within ±LONG_MAX; within ±LONG_MAX/2 with WITHVALUES, so the reply length cannot
/// overflow), then the options, then the key.
fn hrandfield(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    if argv.len() >= 3 {
        let count = super::connection::int_range_arg(&argv[2], -i64::MAX, i64::MAX)?;
        let withvalues = match argv.len() {
            3 => false,
            4 if eq_ic(&argv[3], "withvalues") => true,
            _ => return Err(CmdError::Syntax),
        };
        if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
            return Err(CmdError::err("value is out of range"));
        }
        return hrandfield_with_count(ctx, count, withvalues);
    }
    let mut rnd = rng(ctx);
    let (h, out) = read_hash(ctx, &argv[1])?;
    match h.and_then(|h| h.random_pair(&mut rnd)) {
        Some((f, _)) => bulk_val(out, f),
        None => out.null(),
    }
    Ok(())
}

/// HRANDFIELD with a count (Redis's `hrandfieldWithCountCommand`):
/// - negative count (or 1): that many independent draws, repetitions allowed, streamed;
/// - count ≥ size: the whole hash, in iteration order;
/// - otherwise distinct fields: a listpack is sampled in order (selection sampling); a
///   hashtable removes random pairs from a copy when most of it is wanted, else draws until
///   enough distinct fields were seen.
///
/// With WITHVALUES a RESP3 reply is an array of [field, value] pairs, RESP2 a flat array.
fn hrandfield_with_count(ctx: &mut Ctx, count: i64, withvalues: bool) -> CmdResult {
    let mut rnd = rng(ctx);
    let start = ctx.client.reply.buf.len();
    let (h, out) = read_hash(ctx, ctx.arg(1))?;
    let Some(h) = h else {
        out.array(0);
        return Ok(());
    };
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    let resp3 = out.is_resp3();
    let header = |out: &mut ReplyBuf, n: usize| {
        if withvalues && !resp3 {
            out.array(n * 2);
        } else {
            out.array(n);
        }
    };
    let emit = |out: &mut ReplyBuf, f: Val<'_>, v: Val<'_>| {
        if withvalues && resp3 {
            out.array(2);
        }
        bulk_val(out, f);
        if withvalues {
            bulk_val(out, v);
        }
    };
    let size = h.len();

    // Repetitions allowed.
    if count < 0 || count == 1 {
        let n = count.unsigned_abs();
        header(out, n as usize);
        // A listpack is walked once; draws then index its pairs.
        let pairs = if h.is_listpack() {
            h.pairs()
        } else {
            Vec::new()
        };
        for i in 0..n {
            let pair = if pairs.is_empty() {
                h.random_pair(&mut rnd)
            } else {
                Some(pairs[(rnd() % pairs.len() as u64) as usize])
            };
            let Some((f, v)) = pair else { break };
            emit(out, f, v);
            if i % 1024 == 0 && out.buf.len() - start > RANDOM_REPLY_LIMIT {
                out.buf.truncate(start);
                drop(pairs);
                ctx.client.killed = true;
                return Ok(());
            }
        }
        return Ok(());
    }

    let count = count as usize;
    if count >= size {
        header(out, size);
        for (f, v) in h.iter() {
            emit(out, f, v);
        }
        return Ok(());
    }

    header(out, count);
    if h.is_listpack() {
        // Selection sampling: each pair is taken with probability needed/remaining, so exactly
        // `count` distinct pairs come out, in the listpack's order (as Redis's
        // lpRandomPairsUnique).
        let mut needed = count;
        for (i, (f, v)) in h.iter().enumerate() {
            if needed == 0 {
                break;
            }
            let remaining = (size - i) as u64;
            if rnd() % remaining < needed as u64 {
                emit(out, f, v);
                needed -= 1;
            }
        }
    } else if count * 3 > size {
        let mut pairs = h.pairs();
        while pairs.len() > count {
            let i = (rnd() % pairs.len() as u64) as usize;
            pairs.swap_remove(i);
        }
        for (f, v) in pairs {
            emit(out, f, v);
        }
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        while seen.len() < count {
            let Some((f, v)) = h.random_pair(&mut rnd) else {
                break;
            };
            if seen.insert(f) {
                emit(out, f, v);
            }
        }
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]: the cursor is checked first, then the key
/// (a missing key is an empty, finished scan, whatever the options), then the options. A
/// listpack is returned whole with cursor 0; a hashtable is walked with the dict's cursor
/// until COUNT list entries (fields and values both count, as in Redis) were collected or
/// COUNT*10 buckets visited.
fn hscan(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let cursor =
        super::keys::parse_cursor(&argv[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let (h, out) = read_hash(ctx, &argv[1])?;
    let Some(h) = h else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let super::keys::ScanOptions { count, pattern, .. } =
        super::keys::scan_options(argv, 3, false)?;

    let mut items: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut next = cursor;
    let mut max_iterations = count.saturating_mul(10);
    loop {
        next = h.scan(next, |f, v| items.push((f.to_vec(), v.to_vec())));
        if next == 0 || max_iterations == 0 {
            break;
        }
        max_iterations -= 1;
        if (items.len() as i64).saturating_mul(2) >= count {
            break;
        }
    }
    if let Some(p) = pattern {
        items.retain(|(f, _)| glob_match(p, f, false));
    }
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(items.len() * 2);
    for (f, v) in &items {
        out.bulk(f);
        out.bulk(v);
    }
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hdel", hdel),
    ("hlen", hlen),
    ("hstrlen", hstrlen),
    ("hexists", hexists),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hgetall", hgetall),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
    ("hrandfield", hrandfield),
    ("hscan", hscan),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    fn bulk(s: &str) -> String {
        format!("${}\r\n{s}\r\n", s.len())
    }

    #[test]
    fn set_get_and_encodings() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("HSET h a 1 b 2"), ":2\r\n");
        assert_eq!(t.exec("HSET h a 3 c 4"), ":1\r\n");
        assert_eq!(t.exec("HGET h a"), bulk("3"));
        assert_eq!(t.exec("HGET h zz"), "$-1\r\n");
        assert_eq!(t.exec("HGET nokey a"), "$-1\r\n");
        assert_eq!(
            t.exec("HSET h a"),
            "-ERR wrong number of arguments for 'hset' command\r\n"
        );
        assert_eq!(
            t.exec("HMSET h a 1 b"),
            "-ERR wrong number of arguments for 'hmset' command\r\n"
        );
        assert_eq!(t.exec("HMSET h d 5"), "+OK\r\n");
        assert_eq!(t.exec("OBJECT ENCODING h"), bulk("listpack"));
        assert_eq!(
            t.exec("HGETALL h"),
            "*8\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n4\r\n$1\r\nd\r\n$1\r\n5\r\n"
        );
        t.resp3();
        assert_eq!(t.exec("HGETALL nokey"), "%0\r\n");
        assert_eq!(t.exec("HGETALL h").lines().next(), Some("%4"));
        assert_eq!(t.exec("HGET h zz"), "_\r\n");
        let long = "x".repeat(65);
        t.exec(&format!("HSET h e {long}"));
        assert_eq!(t.exec("OBJECT ENCODING h"), bulk("hashtable"));
        assert_eq!(t.exec("HLEN h"), ":5\r\n");
        assert_eq!(t.exec("HSTRLEN h e"), ":65\r\n");
        for i in 0..600 {
            t.exec(&format!("HSET big f{i} {i}"));
        }
        assert_eq!(t.exec("OBJECT ENCODING big"), bulk("hashtable"));
        assert_eq!(t.exec("HLEN big"), ":600\r\n");
        assert_eq!(t.exec("HGET big f150"), bulk("150"));
    }

    #[test]
    fn config_thresholds_and_conversion_points() {
        let mut t = TestServer::new();
        for i in 0..512 {
            t.exec(&format!("HSET h f{i} v"));
        }
        assert_eq!(t.exec("OBJECT ENCODING h"), bulk("listpack"));
        t.exec("HSET h f512 v");
        assert_eq!(t.exec("OBJECT ENCODING h"), bulk("hashtable"));
        // Deleting never converts back.
        for i in 0..120 {
            t.exec(&format!("HDEL h f{i}"));
        }
        assert_eq!(t.exec("OBJECT ENCODING h"), bulk("hashtable"));
        // HINCRBY with a long field converts (hashTypeSet's check); HSETNX on an existing
        // field does not.
        let long = "y".repeat(65);
        t.exec(&format!("HINCRBY a {long} 1"));
        assert_eq!(t.exec("OBJECT ENCODING a"), bulk("hashtable"));
        t.exec("HSET b f 1");
        assert_eq!(t.exec(&format!("HSETNX b f {long}")), ":0\r\n");
        assert_eq!(t.exec("OBJECT ENCODING b"), bulk("listpack"));
        assert_eq!(t.exec(&format!("HSETNX b g {long}")), ":1\r\n");
        assert_eq!(t.exec("OBJECT ENCODING b"), bulk("hashtable"));
    }

    #[test]
    fn delete_and_wrongtype() {
        let mut t = TestServer::new();
        t.exec("HSET h a 1 b 2");
        assert_eq!(t.exec("HDEL h a zz"), ":1\r\n");
        assert_eq!(t.exec("HDEL h b a"), ":1\r\n");
        assert_eq!(t.exec("EXISTS h"), ":0\r\n");
        assert_eq!(t.exec("HDEL h b"), ":0\r\n");
        t.exec("SET s x");
        let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        for cmd in [
            "HSET s a 1",
            "HGET s a",
            "HMGET s a",
            "HDEL s a",
            "HLEN s",
            "HKEYS s",
            "HGETALL s",
            "HINCRBY s a 1",
            "HINCRBYFLOAT s a 1",
            "HRANDFIELD s",
            "HRANDFIELD s 0",
            "HSCAN s 0",
            "HSETNX s a b",
            "HEXISTS s a",
            "HSTRLEN s a",
        ] {
            assert_eq!(t.exec(cmd), wt, "{cmd}");
        }
        t.exec("HSET h a 1");
        assert_eq!(t.exec("GET h"), wt);
    }

    #[test]
    fn increments() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("HINCRBY h n 5"), ":5\r\n");
        assert_eq!(t.exec("HINCRBY h n -7"), ":-2\r\n");
        assert_eq!(
            t.exec("HINCRBY h n x"),
            "-ERR value is not an integer or out of range\r\n"
        );
        t.exec("HSET h s abc m 9223372036854775807");
        assert_eq!(
            t.exec("HINCRBY h s 1"),
            "-ERR hash value is not an integer\r\n"
        );
        assert_eq!(
            t.exec("HINCRBY h m 1"),
            "-ERR increment or decrement would overflow\r\n"
        );
        assert_eq!(t.exec("HINCRBYFLOAT h f 1.5"), bulk("1.5"));
        assert_eq!(t.exec("HINCRBYFLOAT h f 0.1"), bulk("1.6"));
        assert_eq!(t.exec("HINCRBYFLOAT h n 2"), bulk("0"));
        assert_eq!(
            t.exec("HINCRBYFLOAT h s 1"),
            "-ERR hash value is not a float\r\n"
        );
        assert_eq!(
            t.exec("HINCRBYFLOAT h f inf"),
            "-ERR value is NaN or Infinity\r\n"
        );
        assert_eq!(
            t.exec("HINCRBYFLOAT h f abc"),
            "-ERR value is not a valid float\r\n"
        );
        assert_eq!(t.exec("EXISTS nokey"), ":0\r\n");
        assert_eq!(
            t.exec("HINCRBYFLOAT nokey f inf"),
            "-ERR value is NaN or Infinity\r\n"
        );
        assert_eq!(t.exec("EXISTS nokey"), ":0\r\n");
    }

    #[test]
    fn randfield_shapes() {
        let mut t = TestServer::new();
        t.exec("HSET h a 1");
        assert_eq!(t.exec("HRANDFIELD h"), bulk("a"));
        assert_eq!(
            t.exec("HRANDFIELD h -3"),
            format!("*3\r\n{0}{0}{0}", bulk("a"))
        );
        assert_eq!(
            t.exec("HRANDFIELD h 5 WITHVALUES"),
            format!("*2\r\n{}{}", bulk("a"), bulk("1"))
        );
        assert_eq!(t.exec("HRANDFIELD h 0"), "*0\r\n");
        assert_eq!(t.exec("HRANDFIELD nokey 3"), "*0\r\n");
        assert_eq!(t.exec("HRANDFIELD nokey"), "$-1\r\n");
        assert_eq!(t.exec("HRANDFIELD h 1 x"), "-ERR syntax error\r\n");
        assert_eq!(
            t.exec("HRANDFIELD h -9223372036854775808"),
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
        );
        assert_eq!(
            t.exec("HRANDFIELD h -4611686018427387904 WITHVALUES"),
            "-ERR value is out of range\r\n"
        );
        t.resp3();
        assert_eq!(
            t.exec("HRANDFIELD h -2 WITHVALUES"),
            format!("*2\r\n*2\r\n{0}{1}*2\r\n{0}{1}", bulk("a"), bulk("1"))
        );
        // Distinct picks, both encodings.
        for (n, key) in [(20, "small"), (700, "large")] {
            for i in 0..n {
                t.exec(&format!("HSET {key} f{i} {i}"));
            }
            for count in [1, 2, 5, n / 2, n - 1, n, n + 5] {
                let reply = t.exec(&format!("HRANDFIELD {key} {count}"));
                let fields: Vec<&str> = reply.lines().filter(|l| l.starts_with('f')).collect();
                let distinct: std::collections::HashSet<_> = fields.iter().collect();
                assert_eq!(fields.len(), count.min(n), "{key} {count}");
                assert_eq!(distinct.len(), fields.len(), "{key} {count}");
            }
            let reply = t.exec(&format!("HRANDFIELD {key} -1000"));
            assert_eq!(reply.lines().filter(|l| l.starts_with('f')).count(), 1000);
        }
    }

    #[test]
    fn huge_negative_count_is_bounded() {
        let mut t = TestServer::new();
        t.exec("HSET h a 1");
        let reply = t.exec("HRANDFIELD h -9223372036854775807");
        assert!(reply.is_empty());
        assert!(t.client.killed);
    }

    #[test]
    fn scan_both_encodings() {
        let mut t = TestServer::new();
        t.exec("HSET h a 1 b 2 c 3");
        assert_eq!(
            t.exec("HSCAN h 77 COUNT 1 MATCH b*"),
            "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        assert_eq!(t.exec("HSCAN h 0 COUNT 0"), "-ERR syntax error\r\n");
        assert_eq!(t.exec("HSCAN h 0 TYPE string"), "-ERR syntax error\r\n");
        assert_eq!(t.exec("HSCAN nokey 0 BAD"), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(t.exec("HSCAN h x"), "-ERR invalid cursor\r\n");
        for i in 0..1000 {
            t.exec(&format!("HSET big f{i} {i}"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        loop {
            let reply = t.exec(&format!("HSCAN big {cursor} COUNT 20"));
            let lines: Vec<&str> = reply.lines().collect();
            cursor = lines[2].to_string();
            for l in &lines {
                if l.starts_with('f') {
                    seen.insert(l.to_string());
                }
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }
}
