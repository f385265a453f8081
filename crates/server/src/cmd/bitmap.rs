//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
//!
//! Bitmaps are plain strings (no type of their own), as in Redis's `bitops.c`: reads see an
//! integer-encoded string as its decimal text, and every write turns the string `raw` and
//! grows it with zero bytes as far as the highest bit written. Replies, error texts and the
//! order of checks follow Redis 7.0 (which error a client sees first is part of the
//! behaviour): BITCOUNT and BITPOS look the key up before parsing their range, so a missing
//! key answers 0 (or BITPOS's -1/0) whatever the other arguments are; BITFIELD parses every
//! operation before it touches the key.
//!
//! The bit work itself (word-at-a-time counting and searching, field access, overflow rules)
//! is in `types/bits.rs`.

use std::borrow::Cow;

use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::types::bits::{self, BitOp, Overflow};
use crate::types::{StrValue, Value};
use crate::util::{eq_ic, parse_int};

const OFFSET_ERR: &str = "bit offset is not an integer or out of range";
const BIT_ERR: &str = "bit is not an integer or out of range";
const TYPE_ERR: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// An argument the way Redis compares it with `strcasecmp`: as a C string, up to the first NUL.
fn c_str(a: &[u8]) -> &[u8] {
    match a.iter().position(|&c| c == 0) {
        Some(i) => &a[..i],
        None => a,
    }
}

fn as_str(v: &Value) -> Option<&StrValue> {
    match v {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// Redis's `getBitOffsetFromArgument`: a bit offset, or with `hash` a `#N` field index
/// (N * `bits`, the multiplication wrapping as Redis's does). Offsets whose byte is at or past
/// `proto-max-bulk-len` are refused, except from the AOF loader (Redis's `mustObeyClient`).
fn bit_offset(ctx: &Ctx, arg: &[u8], hash: bool, bits: u32) -> Result<u64, CmdError> {
    let usehash = hash && arg.len() > 1 && arg[0] == b'#';
    let mut off = parse_int(&arg[usize::from(usehash)..]).ok_or(CmdError::err(OFFSET_ERR))?;
    if usehash {
        off = off.wrapping_mul(i64::from(bits));
    }
    if off < 0 || (!ctx.client.must_obey() && (off >> 3) >= ctx.srv.config.proto_max_bulk_len) {
        return Err(CmdError::err(OFFSET_ERR));
    }
    Ok(off as u64)
}

/// Redis's `getBitfieldTypeFromArgument`: `i1`..`i64` or `u1`..`u63`. Return value:
/// (signed, bits).
fn bitfield_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let a = c_str(arg);
    let sign = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(CmdError::err(TYPE_ERR)),
    };
    let max = if sign { 64 } else { 63 };
    match parse_int(&a[1..]) {
        Some(n) if (1..=max).contains(&n) => Ok((sign, n as u32)),
        _ => Err(CmdError::err(TYPE_ERR)),
    }
}

/// The BYTE / BIT unit argument of BITCOUNT and BITPOS. Return value: true for BIT.
fn unit_is_bit(arg: &[u8]) -> Result<bool, CmdError> {
    let a = c_str(arg);
    if eq_ic(a, "bit") {
        Ok(true)
    } else if eq_ic(a, "byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Clamps a `start..=end` range with negative indexes to `0..totlen`, as BITCOUNT and BITPOS
/// do. The range may come out empty (start > end).
fn clamp(mut start: i64, mut end: i64, totlen: i64) -> (i64, i64) {
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    (start, end)
}

/// Inclusive bit positions of a clamped, non-empty range in BYTE or BIT units.
fn bit_bounds(start: i64, end: i64, isbit: bool) -> (u64, u64) {
    if isbit {
        (start as u64, end as u64)
    } else {
        (start as u64 * 8, end as u64 * 8 + 7)
    }
}

/// Runs `f` on the buffer of the string at `key`, made raw and at least `len` bytes long,
/// creating it (zero-filled, exactly `len` bytes) if missing: Redis's
/// `lookupStringForBitCommand`. `f` is told
/// whether the string was created or grown.
fn with_bits_for_write<R>(
    ctx: &mut Ctx,
    key: &[u8],
    len: usize,
    f: impl FnOnce(&mut Vec<u8>, bool) -> R,
) -> Result<R, CmdError> {
    match ctx.lookup_write(key) {
        Some(obj) => {
            let Value::Str(s) = &mut obj.val else {
                return Err(CmdError::WrongType);
            };
            let v = s.make_raw();
            let grown = v.len() < len;
            if grown {
                if v.capacity() < len {
                    // sdsMakeRoomFor's greedy rule: twice the new length below 1 MB, else
                    // 1 MB more, so a bitmap grown bit by bit reallocates O(log n) times.
                    let cap = if len < 1 << 20 {
                        len * 2
                    } else {
                        len + (1 << 20)
                    };
                    v.reserve_exact(cap - v.len());
                }
                v.resize(len, 0);
            }
            Ok(f(v, grown))
        }
        None => {
            let mut v = vec![0u8; len];
            let r = f(&mut v, true);
            let lru = ctx.new_lru();
            ctx.db().add(key, Value::Str(StrValue::raw(v)), lru);
            Ok(r)
        }
    }
}

/// SETBIT key offset value. A change is counted (and `setbit` notified) only when the bit
/// changes or the string was created or grown, as in Redis 7.0.
fn setbit(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let off = bit_offset(ctx, ctx.arg(2), false, 0)?;
    let on = parse_int(ctx.arg(3))
        .filter(|v| v & !1 == 0)
        .ok_or(CmdError::err(BIT_ERR))?;
    let byte = (off >> 3) as usize;
    let shift = 7 - (off & 7);
    let (old, changed) = with_bits_for_write(ctx, key, byte + 1, |v, grown| {
        let old = i64::from((v[byte] >> shift) & 1);
        let changed = grown || old != on;
        if changed {
            v[byte] = (v[byte] & !(1 << shift)) | ((on as u8) << shift);
        }
        (old, changed)
    })?;
    if changed {
        ctx.notify(b'$', "setbit", key);
        ctx.dirty(1);
    }
    ctx.out().int(old);
    Ok(())
}

fn getbit(ctx: &mut Ctx) -> CmdResult {
    let off = bit_offset(ctx, ctx.arg(2), false, 0)?;
    let bit = match ctx.lookup_read(ctx.arg(1)) {
        None => 0,
        Some(obj) => {
            let s = as_str(&obj.val).ok_or(CmdError::WrongType)?;
            s.with_bytes(|b| bits::get_unsigned(b, off, 1))
        }
    };
    ctx.out().int(bit as i64);
    Ok(())
}

/// BITCOUNT's count over `b` for the arguments after the key (Redis's `bitcountCommand`
/// once the key is found).
fn bitcount_of(b: &[u8], args: &[Vec<u8>]) -> Result<i64, CmdError> {
    let len = b.len() as i64;
    match args.len() {
        0 => Ok(bits::popcount(b) as i64),
        2 | 3 => {
            let start = int_arg(&args[0])?;
            let end = int_arg(&args[1])?;
            // Both negative and crossed: empty, before the unit is even read.
            if start < 0 && end < 0 && start > end {
                return Ok(0);
            }
            let isbit = args.len() == 3 && unit_is_bit(&args[2])?;
            let (start, end) = clamp(start, end, if isbit { len << 3 } else { len });
            if start > end {
                return Ok(0);
            }
            let (s, e) = bit_bounds(start, end, isbit);
            Ok(bits::count_range(b, s, e) as i64)
        }
        _ => Err(CmdError::Syntax),
    }
}

fn bitcount(ctx: &mut Ctx) -> CmdResult {
    let args = &ctx.argv[2..];
    let n = match ctx.lookup_read(ctx.arg(1)) {
        None => 0,
        Some(obj) => {
            let s = as_str(&obj.val).ok_or(CmdError::WrongType)?;
            s.with_bytes(|b| bitcount_of(b, args))?
        }
    };
    ctx.out().int(n);
    Ok(())
}

/// BITPOS's answer over `b` (Redis's `bitposCommand` once the key is found). Not finding a
/// 0 bit answers the position just past the range when no end was given (the string reads as
/// zero-padded), -1 when an end was given; not finding a 1 bit, or an empty range, is -1.
fn bitpos_of(b: &[u8], bit: bool, args: &[Vec<u8>]) -> Result<i64, CmdError> {
    let len = b.len() as i64;
    let (start, end, end_given, isbit) = match args.len() {
        0 => (0, len - 1, false, false),
        1..=3 => {
            let start = int_arg(&args[0])?;
            // The unit is checked before the end is parsed.
            let isbit = args.len() == 3 && unit_is_bit(&args[2])?;
            let (end, given) = if args.len() >= 2 {
                (int_arg(&args[1])?, true)
            } else if isbit {
                ((len << 3) + 7, false)
            } else {
                (len - 1, false)
            };
            let (s, e) = clamp(start, end, if isbit { len << 3 } else { len });
            (s, e, given, isbit)
        }
        _ => return Err(CmdError::Syntax),
    };
    if start > end {
        return Ok(-1);
    }
    let (s, e) = bit_bounds(start, end, isbit);
    Ok(match bits::find_bit(b, s, e, bit) {
        Some(p) => p as i64,
        None if bit || end_given => -1,
        None => e as i64 + 1,
    })
}

fn bitpos(ctx: &mut Ctx) -> CmdResult {
    let bit = int_arg(ctx.arg(2))?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::err("The bit argument must be 1 or 0."));
    }
    let args = &ctx.argv[3..];
    let pos = match ctx.lookup_read(ctx.arg(1)) {
        // A missing key is an endless run of zeros.
        None => {
            if bit == 1 {
                -1
            } else {
                0
            }
        }
        Some(obj) => {
            let s = as_str(&obj.val).ok_or(CmdError::WrongType)?;
            s.with_bytes(|b| bitpos_of(b, bit == 1, args))?
        }
    };
    ctx.out().int(pos);
    Ok(())
}

/// BITOP op destkey key [key ...]: the result replaces destkey (its TTL dropped, encoding
/// `raw`, event `set`); an empty result deletes destkey (event `del`, counted only if it
/// existed). Replies the result's length.
fn bitop(ctx: &mut Ctx) -> CmdResult {
    let name = c_str(ctx.arg(1));
    let op = if eq_ic(name, "and") {
        BitOp::And
    } else if eq_ic(name, "or") {
        BitOp::Or
    } else if eq_ic(name, "xor") {
        BitOp::Xor
    } else if eq_ic(name, "not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == BitOp::Not && ctx.argv.len() != 4 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let (dst, keys) = (ctx.arg(2), &ctx.argv[3..]);
    // Look every source up first (expiry, hit/miss stats, the type check in order), then
    // borrow them all at once from the keyspace: no copies of the sources.
    let mut found = Vec::with_capacity(keys.len());
    for k in keys {
        match ctx.lookup_read(k) {
            None => found.push(false),
            Some(obj) => {
                as_str(&obj.val).ok_or(CmdError::WrongType)?;
                found.push(true);
            }
        }
    }
    let result = {
        let db = &ctx.srv.dbs[ctx.client.db];
        let srcs: Vec<Cow<'_, [u8]>> = keys
            .iter()
            .zip(&found)
            .map(|(k, &f)| {
                let s = f
                    .then(|| db.dict.get(k.as_slice()))
                    .flatten()
                    .and_then(|o| as_str(&o.val));
                s.map_or(Cow::Borrowed(&[][..]), |s| s.bytes())
            })
            .collect();
        let refs: Vec<&[u8]> = srcs.iter().map(|c| c.as_ref()).collect();
        bits::bitop(op, &refs)
    };
    let n = result.len() as i64;
    if n > 0 {
        super::string::set_key(ctx, dst, StrValue::raw(result), false);
        ctx.notify(b'$', "set", dst);
        ctx.dirty(1);
    } else if ctx.db().delete(dst, true) {
        ctx.notify(b'g', "del", dst);
        ctx.dirty(1);
    }
    ctx.out().int(n);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// One parsed BITFIELD operation.
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    /// SET's value or INCRBY's increment.
    value: i64,
    overflow: Overflow,
}

/// A GET's reply: the field's value, bits past the end of `b` reading as zero.
fn get_field(b: &[u8], f: &Field) -> i64 {
    if f.signed {
        bits::get_signed(b, f.offset, f.bits)
    } else {
        bits::get_unsigned(b, f.offset, f.bits) as i64
    }
}

/// Runs one SET or INCRBY on `v`. Return value: its reply (`None`: nil, an OVERFLOW FAIL,
/// nothing written) and whether the field's value changed.
fn write_field(v: &mut [u8], f: &Field) -> (Option<i64>, bool) {
    // SET checks its value alone and replies the old one; INCRBY replies the new one.
    let (old, new, reply) = if f.signed {
        let old = bits::get_signed(v, f.offset, f.bits);
        let (base, incr) = match f.op {
            FieldOp::IncrBy => (old, f.value),
            _ => (f.value, 0),
        };
        let new = match bits::signed_overflow(base, incr, f.bits, f.overflow) {
            None => base.wrapping_add(incr),
            Some(Some(w)) => w,
            Some(None) => return (None, false),
        };
        let reply = if f.op == FieldOp::Set { old } else { new };
        (old as u64, new as u64, reply)
    } else {
        let old = bits::get_unsigned(v, f.offset, f.bits);
        let (base, incr) = match f.op {
            FieldOp::IncrBy => (old, f.value),
            _ => (f.value as u64, 0),
        };
        let new = match bits::unsigned_overflow(base, incr, f.bits, f.overflow) {
            None => base.wrapping_add(incr as u64),
            Some(Some(w)) => w,
            Some(None) => return (None, false),
        };
        let reply = if f.op == FieldOp::Set { old } else { new };
        (old, new, reply as i64)
    };
    bits::set_unsigned(v, f.offset, f.bits, new);
    (Some(reply), old != new)
}

/// Redis's `bitfieldGeneric` (BITFIELD, and BITFIELD_RO with `ro`): every operation is
/// parsed first; a call with only GETs reads the key, any SET/INCRBY creates or grows it.
/// A write counts as one change when it changes its field or the string was created or
/// grown (Redis 7.0); an OVERFLOW FAIL writes nothing, counts nothing and replies nil. With no
/// change (a FAIL-only call that created the key included) nothing is notified or logged.
fn bitfield_generic(ctx: &mut Ctx, ro: bool) -> CmdResult {
    let argv = ctx.argv;
    let key = ctx.arg(1);
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest: u64 = 0;
    let mut j = 2;
    while j < argv.len() {
        let rest = argv.len() - j - 1;
        let sub = c_str(&argv[j]);
        let op = if eq_ic(sub, "get") && rest >= 2 {
            FieldOp::Get
        } else if eq_ic(sub, "set") && rest >= 3 {
            FieldOp::Set
        } else if eq_ic(sub, "incrby") && rest >= 3 {
            FieldOp::IncrBy
        } else if eq_ic(sub, "overflow") && rest >= 1 {
            let t = c_str(&argv[j + 1]);
            overflow = if eq_ic(t, "wrap") {
                Overflow::Wrap
            } else if eq_ic(t, "sat") {
                Overflow::Sat
            } else if eq_ic(t, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::err("Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = bitfield_type(&argv[j + 1])?;
        let offset = bit_offset(ctx, &argv[j + 2], true, bits)?;
        let mut value = 0;
        if op != FieldOp::Get {
            highest = highest.max(offset + u64::from(bits) - 1);
            value = int_arg(&argv[j + 3])?;
        }
        fields.push(Field {
            op,
            offset,
            bits,
            signed,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    let mut changes: u64 = 0;
    let replies: Vec<Option<i64>> = if fields.iter().all(|f| f.op == FieldOp::Get) {
        match ctx.lookup_read(key) {
            None => fields.iter().map(|f| Some(get_field(&[], f))).collect(),
            Some(obj) => {
                let s = as_str(&obj.val).ok_or(CmdError::WrongType)?;
                s.with_bytes(|b| fields.iter().map(|f| Some(get_field(b, f))).collect())
            }
        }
    } else {
        if ro {
            return Err(CmdError::err(
                "BITFIELD_RO only supports the GET subcommand",
            ));
        }
        let len = (highest >> 3) as usize + 1;
        with_bits_for_write(ctx, key, len, |v, grown| {
            let mut run = |f: &Field| {
                if f.op == FieldOp::Get {
                    return Some(get_field(v, f));
                }
                let (reply, changed) = write_field(v, f);
                if reply.is_some() && (grown || changed) {
                    changes += 1;
                }
                reply
            };
            fields.iter().map(&mut run).collect()
        })?
    };
    // Redis replies as it runs the operations and notifies after them: the reply comes
    // before the events.
    let out = ctx.out();
    out.array(replies.len());
    for r in replies {
        match r {
            Some(n) => out.int(n),
            None => out.null(),
        }
    }
    if changes > 0 {
        ctx.notify(b'$', "setbit", key);
        ctx.dirty(changes);
    }
    Ok(())
}

fn bitfield(ctx: &mut Ctx) -> CmdResult {
    bitfield_generic(ctx, false)
}

fn bitfield_ro(ctx: &mut Ctx) -> CmdResult {
    bitfield_generic(ctx, true)
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("setbit", setbit),
    ("getbit", getbit),
    ("bitcount", bitcount),
    ("bitpos", bitpos),
    ("bitop", bitop),
    ("bitfield", bitfield),
    ("bitfield_ro", bitfield_ro),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;
    use crate::types::{StrValue, Value};

    fn int(n: i64) -> String {
        format!(":{n}\r\n")
    }

    /// Runs `line` and returns how many changes it counted.
    fn dirty_of(t: &mut TestServer, line: &str) -> u64 {
        let before = t.srv.dirty;
        let r = t.exec(line);
        assert!(!r.starts_with('-'), "{line}: {r}");
        t.srv.dirty - before
    }

    #[test]
    fn changes_counted_like_redis() {
        let mut t = TestServer::new();
        assert_eq!(dirty_of(&mut t, "SETBIT a 3 1"), 1);
        assert_eq!(dirty_of(&mut t, "SETBIT a 3 1"), 0);
        assert_eq!(dirty_of(&mut t, "SETBIT a 3 0"), 1);
        assert_eq!(dirty_of(&mut t, "SETBIT a 20 0"), 1);
        assert_eq!(dirty_of(&mut t, "BITFIELD a SET u8 0 16"), 1);
        assert_eq!(
            dirty_of(
                &mut t,
                "BITFIELD a SET u8 0 1 INCRBY u8 0 1 GET u8 0 OVERFLOW FAIL INCRBY u8 0 1000"
            ),
            2
        );
        assert_eq!(dirty_of(&mut t, "BITFIELD a SET u8 0 2"), 0);
        assert_eq!(
            dirty_of(
                &mut t,
                "BITFIELD a SET u8 100 0 SET u8 100 0 INCRBY u8 100 0"
            ),
            3
        );
        assert_eq!(
            dirty_of(
                &mut t,
                "BITFIELD a OVERFLOW SAT INCRBY u8 0 1000 INCRBY u8 0 1000"
            ),
            1
        );
        assert_eq!(dirty_of(&mut t, "BITFIELD a GET u8 0"), 0);
        assert_eq!(dirty_of(&mut t, "BITFIELD_RO a GET u8 0"), 0);
        // A FAIL-only call creates the key but counts nothing.
        assert_eq!(
            dirty_of(&mut t, "BITFIELD b OVERFLOW FAIL INCRBY u8 0 1000"),
            0
        );
        assert_eq!(t.exec("STRLEN b"), int(1));
        assert_eq!(dirty_of(&mut t, "BITOP AND c x y"), 0);
        assert_eq!(dirty_of(&mut t, "BITOP AND b x y"), 1);
        assert_eq!(t.exec("EXISTS b"), int(0));
        assert_eq!(dirty_of(&mut t, "BITOP OR c a"), 1);
    }

    #[test]
    fn limits_follow_proto_max_bulk_len() {
        let mut t = TestServer::new();
        let off_err = "-ERR bit offset is not an integer or out of range\r\n";
        t.srv.config.proto_max_bulk_len = 4;
        assert_eq!(t.exec("SETBIT k 31 1"), int(0));
        assert_eq!(t.exec("SETBIT k 32 1"), off_err);
        assert_eq!(t.exec("GETBIT k 32"), off_err);
        assert_eq!(t.exec("BITFIELD k GET u8 #4"), off_err);
        // The first bit of a field must be in range; the field may end past it.
        assert_eq!(t.exec("BITFIELD k SET u8 #3 255"), "*1\r\n:1\r\n");
        assert_eq!(
            t.exec("BITFIELD k SET i64 31 -1"),
            "*1\r\n:-9223372036854775808\r\n"
        );
        assert_eq!(t.exec("STRLEN k"), int(12));
        assert_eq!(t.exec("BITCOUNT k"), int(71));
    }

    /// The buffer capacity of string `key` (raw strings only).
    fn capacity(t: &TestServer, key: &str) -> usize {
        match &t.srv.dbs[0].dict.get(key.as_bytes()).unwrap().val {
            Value::Str(StrValue::Raw(v)) => v.capacity(),
            _ => panic!("not raw"),
        }
    }

    #[test]
    fn strings_grow_like_sds() {
        let mut t = TestServer::new();
        t.exec("SETBIT k 100 1");
        assert_eq!(capacity(&t, "k"), 13);
        t.exec("SETBIT k 1000 1");
        assert_eq!(capacity(&t, "k"), 252);
        t.exec("SETBIT k 2000 1");
        assert_eq!(capacity(&t, "k"), 252);
        t.exec("SETBIT k 16777215 1");
        assert_eq!(capacity(&t, "k"), (2 << 20) + (1 << 20));
    }

    #[test]
    fn large_string_count_and_search() {
        let mut t = TestServer::new();
        t.exec("SETBIT big 8388607 1");
        assert_eq!(t.exec("STRLEN big"), int(1 << 20));
        assert_eq!(t.exec("BITCOUNT big"), int(1));
        assert_eq!(t.exec("BITPOS big 1"), int(8388607));
        assert_eq!(t.exec("BITPOS big 0 -1"), int(8388600));
        assert_eq!(t.exec("BITPOS big 1 0 -2"), int(-1));
        assert_eq!(t.exec("BITCOUNT big 0 8388606 BIT"), int(0));
    }
}
