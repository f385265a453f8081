//! `cmsgpack`: MessagePack encoding for Lua values, behaving like lua-cmsgpack 0.4.0 as Redis
//! 7.0 bundles it.
//!
//! Packing (`pack(v1, v2, ...)`, the encodings concatenated):
//! - numbers that hold an exact 64-bit integer use the smallest integer form (positive/negative
//!   fixint, uint8..64 for positives, int8..64 for negatives); other numbers are float32 when
//!   that is exact (also infinities), else float64;
//! - strings are fixstr/str8/str16/str32 (never bin); booleans and nil as themselves;
//! - a table whose keys are exactly 1..n (n keys) is an array, any other table a map (keys and
//!   values in `next` order); an empty table is an empty array; metatables are ignored;
//! - tables nested deeper than 16 levels, functions, userdata and threads become nil.
//!
//! Unpacking turns every MessagePack value except bin and ext (which are "Bad data format")
//! into Lua values, uint64 read as a signed 64-bit number like the original. Values are pushed
//! on the Lua stack as they are decoded — the stack-size limits ("stack overflow (...)") are
//! checked at the same points as the original, so nesting depth and result counts fail at the
//! same sizes. Truncated input is "Missing bytes in input.". Decoding reports the errors Lua would raise
//! in the middle (a nil or NaN map key) as values, so its buffers are freed before raising.

use std::os::raw::c_int;

use mlua::ffi;

use super::{c_i64, push_bytes, raise, set_fn, set_str, to_bytes, Fail, State};

/// Tables deeper than this are packed as nil.
const MAX_NESTING: usize = 16;

/// Appends the encoding of the Lua value at the top of the stack (`level` tables deep).
unsafe fn encode_value(l: State, out: &mut Vec<u8>, level: usize) {
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => {
            let s = to_bytes(l, -1).unwrap_or_default();
            encode_str(out, s);
        }
        ffi::LUA_TBOOLEAN => out.push(if ffi::lua_toboolean(l, -1) != 0 {
            0xc3
        } else {
            0xc2
        }),
        ffi::LUA_TNUMBER => encode_number(out, ffi::lua_tonumber(l, -1)),
        ffi::LUA_TTABLE if level < MAX_NESTING => encode_table(l, out, level + 1),
        _ => out.push(0xc0),
    }
}

fn encode_str(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n < 32 {
        out.push(0xa0 | n as u8);
    } else if n <= 0xff {
        out.extend_from_slice(&[0xd9, n as u8]);
    } else if n <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn encode_number(out: &mut Vec<u8>, n: f64) {
    let i = c_i64(n);
    if !n.is_infinite() && i as f64 == n {
        encode_int(out, i);
    } else if f64::from(n as f32) == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        if i <= 127 {
            out.push(i as u8);
        } else if i <= 0xff {
            out.extend_from_slice(&[0xcc, i as u8]);
        } else if i <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(i as u16).to_be_bytes());
        } else if i <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(i as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(i as u64).to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

/// `Some(n)` when the table at the top of the stack has exactly the keys 1..n.
unsafe fn array_len(l: State) -> Option<usize> {
    let (mut count, mut max) = (0usize, 0f64);
    let mut array = true;
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        ffi::lua_settop(l, -2);
        if array {
            let n = ffi::lua_tonumber(l, -1);
            if ffi::lua_type(l, -1) != ffi::LUA_TNUMBER || n <= 0.0 || c_i64(n) as f64 != n {
                array = false;
            } else {
                count += 1;
                max = max.max(n);
            }
        }
    }
    (array && max == count as f64).then_some(count)
}

/// Appends the table at the top of the stack as an array or a map.
unsafe fn encode_table(l: State, out: &mut Vec<u8>, level: usize) {
    ffi::lua_checkstack(l, 3);
    if let Some(n) = array_len(l) {
        encode_header(out, n, 0x90, 0xdc);
        for i in 1..=n {
            ffi::lua_rawgeti_(l, -1, i as c_int);
            encode_value(l, out, level);
            ffi::lua_settop(l, -2);
        }
    } else {
        let mut n = 0usize;
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            ffi::lua_settop(l, -2);
            n += 1;
        }
        encode_header(out, n, 0x80, 0xde);
        ffi::lua_pushnil(l);
        while ffi::lua_next(l, -2) != 0 {
            ffi::lua_pushvalue(l, -2);
            encode_value(l, out, level);
            ffi::lua_settop(l, -2);
            encode_value(l, out, level);
            ffi::lua_settop(l, -2);
        }
    }
}

/// Array (`fix` 0x90, `wide` 0xdc) or map (0x80, 0xde) header for `n` items.
fn encode_header(out: &mut Vec<u8>, n: usize, fix: u8, wide: u8) {
    if n <= 15 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(wide);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(wide + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// `cmsgpack.pack(v1, ...)`: the MessagePack encodings of all arguments, concatenated.
unsafe extern "C-unwind" fn pack(l: State) -> c_int {
    let nargs = ffi::lua_gettop(l);
    if nargs == 0 {
        return raise(l, Fail::Arg(0, b"MessagePack pack needs input.".to_vec()));
    }
    let mut out = Vec::new();
    for i in 1..=nargs {
        ffi::lua_pushvalue(l, i);
        encode_value(l, &mut out, 0);
        ffi::lua_settop(l, -2);
    }
    push_bytes(l, &out);
    1
}

/// Why decoding stopped.
enum MpErr {
    Eof,
    BadFormat,
    /// A Lua error to raise as is (stack overflow, nil or NaN map key).
    Lua(Fail),
}

/// A read position in the input.
struct Cursor<'a> {
    b: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MpErr> {
        if self.b.len() < n {
            return Err(MpErr::Eof);
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    fn be(&mut self, n: usize) -> Result<u64, MpErr> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |a, &b| (a << 8) | u64::from(b)))
    }
}

/// `luaL_checkstack`: "stack overflow (msg)" when `n` more slots are not available.
unsafe fn check_stack(l: State, n: c_int, msg: &str) -> Result<(), MpErr> {
    if ffi::lua_checkstack(l, n) == 0 {
        return Err(MpErr::Lua(Fail::msg(format!("stack overflow ({msg})"))));
    }
    Ok(())
}

const TOO_MANY: &str = "too many return values at once; use unpack_one or unpack_limit instead.";

/// A container being filled while decoding; its table is on the Lua stack.
enum Open {
    /// An array: the key of the element being read (pushed above the table) and the length.
    Array { index: u64, len: u64 },
    /// A map: pairs still to read, and whether the key of the current pair is on the stack.
    Map { left: u64, have_key: bool },
}

/// What a type byte starts: a finished scalar (already pushed) or a container of `n` items.
enum Item {
    Done,
    Array(u64),
    Map(u64),
}

/// Reads one scalar (pushing it) or the header of a container.
unsafe fn decode_head(l: State, c: &mut Cursor<'_>) -> Result<Item, MpErr> {
    let t = c.take(1)?[0];
    match t {
        0x00..=0x7f => ffi::lua_pushnumber(l, f64::from(t)),
        0x80..=0x8f => return Ok(Item::Map(u64::from(t & 0x0f))),
        0x90..=0x9f => return Ok(Item::Array(u64::from(t & 0x0f))),
        0xa0..=0xbf => push_bytes(l, c.take(usize::from(t & 0x1f))?),
        0xc0 => ffi::lua_pushnil(l),
        0xc2 => ffi::lua_pushboolean(l, 0),
        0xc3 => ffi::lua_pushboolean(l, 1),
        0xca => ffi::lua_pushnumber(l, f64::from(f32::from_bits(c.be(4)? as u32))),
        0xcb => ffi::lua_pushnumber(l, f64::from_bits(c.be(8)?)),
        0xcc => ffi::lua_pushnumber(l, c.be(1)? as f64),
        0xcd => ffi::lua_pushnumber(l, c.be(2)? as f64),
        0xce => ffi::lua_pushnumber(l, c.be(4)? as f64),
        // uint64 comes back as a signed number, as in the original.
        0xcf => ffi::lua_pushnumber(l, c.be(8)? as i64 as f64),
        0xd0 => ffi::lua_pushnumber(l, f64::from(c.be(1)? as u8 as i8)),
        0xd1 => ffi::lua_pushnumber(l, f64::from(c.be(2)? as u16 as i16)),
        0xd2 => ffi::lua_pushnumber(l, f64::from(c.be(4)? as u32 as i32)),
        0xd3 => ffi::lua_pushnumber(l, c.be(8)? as i64 as f64),
        0xd9..=0xdb => {
            let n = c.be(1 << (t - 0xd9))? as usize;
            push_bytes(l, c.take(n)?);
        }
        0xdc => return Ok(Item::Array(c.be(2)?)),
        0xdd => return Ok(Item::Array(c.be(4)?)),
        0xde => return Ok(Item::Map(c.be(2)?)),
        0xdf => return Ok(Item::Map(c.be(4)?)),
        0xe0..=0xff => ffi::lua_pushnumber(l, f64::from(t as i8)),
        _ => return Err(MpErr::BadFormat),
    }
    Ok(Item::Done)
}

/// Decodes one value and pushes it. Iterative (an explicit stack of open containers), so deep
/// nesting needs no deep Rust recursion; Lua's stack limit bounds the depth, checked at the
/// same points as the original's recursive decoder.
unsafe fn decode_value(l: State, c: &mut Cursor<'_>) -> Result<(), MpErr> {
    let mut open: Vec<Open> = Vec::new();
    'read: loop {
        check_stack(l, 1, TOO_MANY)?;
        match decode_head(l, c)? {
            Item::Done => {}
            Item::Array(len) => {
                ffi::lua_createtable(l, 0, 0);
                check_stack(l, 1, "in function mp_decode_to_lua_array")?;
                if len > 0 {
                    open.push(Open::Array { index: 1, len });
                    ffi::lua_pushnumber(l, 1.0);
                    continue 'read;
                }
            }
            Item::Map(left) => {
                ffi::lua_createtable(l, 0, 0);
                if left > 0 {
                    open.push(Open::Map {
                        left,
                        have_key: false,
                    });
                    continue 'read;
                }
            }
        }
        // A value is complete on top of the stack: store it in its container, closing every
        // container it completes.
        loop {
            match open.last_mut() {
                None => return Ok(()),
                Some(Open::Array { index, len }) => {
                    ffi::lua_settable(l, -3);
                    if *index < *len {
                        *index += 1;
                        ffi::lua_pushnumber(l, *index as f64);
                        continue 'read;
                    }
                }
                Some(Open::Map { left, have_key }) => {
                    if !*have_key {
                        *have_key = true;
                        continue 'read;
                    }
                    // The errors lua_settable would raise, returned instead so that `open`
                    // is freed before the error unwinds.
                    if ffi::lua_isnil(l, -2) != 0 {
                        return Err(MpErr::Lua(Fail::Raw(b"table index is nil".to_vec())));
                    }
                    let k = ffi::lua_tonumber(l, -2);
                    if ffi::lua_type(l, -2) == ffi::LUA_TNUMBER && k.is_nan() {
                        return Err(MpErr::Lua(Fail::Raw(b"table index is NaN".to_vec())));
                    }
                    ffi::lua_settable(l, -3);
                    *left -= 1;
                    *have_key = false;
                    if *left > 0 {
                        continue 'read;
                    }
                }
            }
            open.pop();
        }
    }
}

/// The common body of `unpack`, `unpack_one` and `unpack_limit`: decodes up to `limit` values
/// from byte `offset` (everything when both are 0). Unless decoding everything, the offset of
/// the next value (-1 at the end of the input) comes first in the results.
unsafe fn unpack_full(l: State, limit: ffi::lua_Integer, offset: ffi::lua_Integer) -> c_int {
    ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    let s = to_bytes(l, 1).unwrap_or_default();
    let len = s.len() as i64;
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        // The original prints the input length as "limit".
        return raise(
            l,
            Fail::msg(format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset as c_int, len as c_int
            )),
        );
    }
    if offset > len {
        return raise(
            l,
            Fail::msg(format!(
                "Start offset {} greater than input length {}.",
                offset as c_int, len as c_int
            )),
        );
    }
    let limit = if decode_all { i64::MAX } else { limit };
    let mut c = Cursor {
        b: &s[offset as usize..],
    };
    let mut count: c_int = 0;
    while !c.b.is_empty() && i64::from(count) < limit {
        if let Err(e) = decode_value(l, &mut c) {
            let fail = match e {
                MpErr::Eof => Fail::msg("Missing bytes in input."),
                MpErr::BadFormat => Fail::msg("Bad data format in input."),
                MpErr::Lua(f) => f,
            };
            return raise(l, fail);
        }
        count += 1;
    }
    if !decode_all {
        let next = if c.b.is_empty() {
            -1
        } else {
            len - c.b.len() as i64
        };
        if let Err(MpErr::Lua(f)) = check_stack(l, 1, "in function mp_unpack_full") {
            return raise(l, f);
        }
        ffi::lua_pushinteger(l, next as ffi::lua_Integer);
        ffi::lua_insert(l, 2);
        count += 1;
    }
    count
}

/// `cmsgpack.unpack(s)`: every value encoded in `s`.
unsafe extern "C-unwind" fn unpack(l: State) -> c_int {
    unpack_full(l, 0, 0)
}

/// `cmsgpack.unpack_one(s [, offset])`: the next offset and one value.
unsafe extern "C-unwind" fn unpack_one(l: State) -> c_int {
    let offset = ffi::luaL_optinteger(l, 2, 0);
    ffi::lua_settop(l, 1);
    unpack_full(l, 1, offset)
}

/// `cmsgpack.unpack_limit(s, limit [, offset])`: the next offset and up to `limit` values.
unsafe extern "C-unwind" fn unpack_limit(l: State) -> c_int {
    let limit = ffi::luaL_checkinteger(l, 2);
    let offset = ffi::luaL_optinteger(l, 3, 0);
    ffi::lua_settop(l, 1);
    unpack_full(l, limit, offset)
}

/// Pushes the `cmsgpack` table.
pub(crate) unsafe fn open(l: State) {
    ffi::lua_createtable(l, 0, 8);
    set_fn(l, c"pack", pack);
    set_fn(l, c"unpack", unpack);
    set_fn(l, c"unpack_one", unpack_one);
    set_fn(l, c"unpack_limit", unpack_limit);
    set_str(l, c"_NAME", "cmsgpack");
    set_str(l, c"_VERSION", "lua-cmsgpack 0.4.0");
    set_str(l, c"_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo");
    set_str(l, c"_DESCRIPTION", "MessagePack C implementation for Lua");
}

#[cfg(test)]
mod tests {
    use super::super::testutil::check;

    /// Expected values are redis-server 7.0.15's answers to the same snippets.
    #[test]
    fn cmsgpack_matches_redis() {
        check(&[
            (r#"return hex(cmsgpack.pack(0))"#, r#"00"#),
            (r#"return hex(cmsgpack.pack(127))"#, r#"7f"#),
            (r#"return hex(cmsgpack.pack(128))"#, r#"cc80"#),
            (r#"return hex(cmsgpack.pack(255))"#, r#"ccff"#),
            (r#"return hex(cmsgpack.pack(256))"#, r#"cd0100"#),
            (r#"return hex(cmsgpack.pack(65535))"#, r#"cdffff"#),
            (r#"return hex(cmsgpack.pack(65536))"#, r#"ce00010000"#),
            (r#"return hex(cmsgpack.pack(4294967295))"#, r#"ceffffffff"#),
            (
                r#"return hex(cmsgpack.pack(4294967296))"#,
                r#"cf0000000100000000"#,
            ),
            (
                r#"return hex(cmsgpack.pack(2^53))"#,
                r#"cf0020000000000000"#,
            ),
            (r#"return hex(cmsgpack.pack(2^63))"#, r#"ca5f000000"#),
            (r#"return hex(cmsgpack.pack(2^64))"#, r#"ca5f800000"#),
            (r#"return hex(cmsgpack.pack(-1))"#, r#"ff"#),
            (r#"return hex(cmsgpack.pack(-32))"#, r#"e0"#),
            (r#"return hex(cmsgpack.pack(-33))"#, r#"d0df"#),
            (r#"return hex(cmsgpack.pack(-128))"#, r#"d080"#),
            (r#"return hex(cmsgpack.pack(-129))"#, r#"d1ff7f"#),
            (r#"return hex(cmsgpack.pack(-32768))"#, r#"d18000"#),
            (r#"return hex(cmsgpack.pack(-32769))"#, r#"d2ffff7fff"#),
            (r#"return hex(cmsgpack.pack(-2^31))"#, r#"d280000000"#),
            (
                r#"return hex(cmsgpack.pack(-2^31-1))"#,
                r#"d3ffffffff7fffffff"#,
            ),
            (
                r#"return hex(cmsgpack.pack(-2^63))"#,
                r#"d38000000000000000"#,
            ),
            (r#"return hex(cmsgpack.pack(-2^64))"#, r#"cadf800000"#),
            (r#"return hex(cmsgpack.pack(1.5))"#, r#"ca3fc00000"#),
            (r#"return hex(cmsgpack.pack(0.1))"#, r#"cb3fb999999999999a"#),
            (r#"return hex(cmsgpack.pack(-0.0))"#, r#"00"#),
            (r#"return hex(cmsgpack.pack(1/0))"#, r#"ca7f800000"#),
            (r#"return hex(cmsgpack.pack(-1/0))"#, r#"caff800000"#),
            (r#"return hex(cmsgpack.pack(0/0))"#, r#"cbfff8000000000000"#),
            (
                r#"return hex(cmsgpack.pack(1e300))"#,
                r#"cb7e37e43c8800759c"#,
            ),
            (
                r#"return hex(cmsgpack.pack(true, false, nil))"#,
                r#"c3c2c0"#,
            ),
            (r#"return hex(cmsgpack.pack(nil))"#, r#"c0"#),
            (r#"return hex(cmsgpack.pack(''))"#, r#"a0"#),
            (r#"return hex(cmsgpack.pack('abc'))"#, r#"a3616263"#),
            (
                r#"return hex(cmsgpack.pack(string.rep('a', 31)))"#,
                r#"bf61616161616161616161616161616161616161616161616161616161616161"#,
            ),
            (
                r#"return hex(cmsgpack.pack(string.rep('a', 32)):sub(1, 8))"#,
                r#"d920616161616161"#,
            ),
            (
                r#"return hex(cmsgpack.pack(string.rep('a', 255)):sub(1, 8))"#,
                r#"d9ff616161616161"#,
            ),
            (
                r#"return hex(cmsgpack.pack(string.rep('a', 256)):sub(1, 8))"#,
                r#"da01006161616161"#,
            ),
            (
                r#"return hex(cmsgpack.pack(string.rep('a', 65535)):sub(1, 8))"#,
                r#"daffff6161616161"#,
            ),
            (
                r#"return hex(cmsgpack.pack(string.rep('a', 65536)):sub(1, 12))"#,
                r#"db0001000061616161616161"#,
            ),
            (r#"return hex(cmsgpack.pack({}))"#, r#"90"#),
            (r#"return hex(cmsgpack.pack({1, 2, 3}))"#, r#"93010203"#),
            (r#"return hex(cmsgpack.pack({1, nil, 3}))"#, r#"8201010303"#),
            (
                r#"return hex(cmsgpack.pack({[1]=1, [3]=3}))"#,
                r#"8201010303"#,
            ),
            (r#"return hex(cmsgpack.pack({[2]=2}))"#, r#"810202"#),
            (
                r#"return hex(cmsgpack.pack({[1.5]=1}))"#,
                r#"81ca3fc0000001"#,
            ),
            (r#"return hex(cmsgpack.pack({[0]=1}))"#, r#"810001"#),
            (r#"return hex(cmsgpack.pack({[-1]=1}))"#, r#"81ff01"#),
            (r#"return hex(cmsgpack.pack({a=1}))"#, r#"81a16101"#),
            (r#"return hex(cmsgpack.pack({[true]=1}))"#, r#"81c301"#),
            (
                r#"return hex(cmsgpack.pack({1, 2, a='b'}))"#,
                r#"8301010202a161a162"#,
            ),
            (
                r#"return #cmsgpack.pack({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16})"#,
                r#"19"#,
            ),
            (
                r#"return hex(cmsgpack.pack({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}):sub(1, 6))"#,
                r#"dc0010010203"#,
            ),
            (
                r#"return hex(cmsgpack.pack({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15}):sub(1, 6))"#,
                r#"9f0102030405"#,
            ),
            (
                r#"return hex(cmsgpack.pack({a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,o=15,p=16}):sub(1, 6))"#,
                r#"de0010a16101"#,
            ),
            (r#"return hex(cmsgpack.pack(1, 'a', {}))"#, r#"01a16190"#),
            (
                r#"return hex(cmsgpack.pack())"#,
                r#"ERR:user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.)"#,
            ),
            (
                r#"return hex(cmsgpack.pack({{{{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}}}))"#,
                r#"91919191919191919191919191919191c0"#,
            ),
            (
                r#"return hex(cmsgpack.pack({{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}))"#,
                r#"9191919191919191919191919191919101"#,
            ),
            (
                r#"return hex(cmsgpack.pack({{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}))"#,
                r#"91919191919191919191919191919101"#,
            ),
            (
                r#"return hex(cmsgpack.pack({a={b={c={d={e={f={g={h={i={j={k={l={m={n={o={p={q={}}}}}}}}}}}}}}}}}}))"#,
                r#"81a16181a16281a16381a16481a16581a16681a16781a16881a16981a16a81a16b81a16c81a16d81a16e81a16f81a170c0"#,
            ),
            (
                r#"return hex(cmsgpack.pack(setmetatable({}, {__index=function() return 1 end})))"#,
                r#"90"#,
            ),
            (
                r#"return hex(cmsgpack.pack({[1]=1, [2]=2, [4]=4}))"#,
                r#"83010102020404"#,
            ),
            (
                r#"return hex(cmsgpack.pack({[1]=1, [2]=2, [3]=3, x=nil}))"#,
                r#"93010203"#,
            ),
            (
                r#"return hex(cmsgpack.pack({[2^40]=1}))"#,
                r#"81cf000001000000000001"#,
            ),
            (
                r#"return hex(cmsgpack.pack({[1]='a', ['1']='b'}))"#,
                r#"8201a161a131a162"#,
            ),
            (r#"return cmsgpack.unpack(cmsgpack.pack(5))"#, r#"5"#),
            (
                r#"return table.concat({cmsgpack.unpack(cmsgpack.pack(1, 2, 'x'))}, ',')"#,
                r#"1,2,x"#,
            ),
            (
                r#"return select('#', cmsgpack.unpack(cmsgpack.pack(nil, nil)))"#,
                r#"2"#,
            ),
            (r#"return select('#', cmsgpack.unpack(''))"#, r#"0"#),
            (r#"return cmsgpack.unpack('\192')"#, r#"nil"#),
            (r#"return cmsgpack.unpack('\195')"#, r#"true"#),
            (r#"return cmsgpack.unpack('\194')"#, r#"false"#),
            (
                r#"return cmsgpack.unpack('\204')"#,
                r#"ERR:user_script:1: Missing bytes in input."#,
            ),
            (r#"return cmsgpack.unpack('\204\255')"#, r#"255"#),
            (r#"return cmsgpack.unpack('\205\1\0')"#, r#"256"#),
            (
                r#"return cmsgpack.unpack('\206\255\255\255\255')"#,
                r#"4294967295"#,
            ),
            (
                r#"return cmsgpack.unpack('\207\255\255\255\255\255\255\255\255')"#,
                r#"-1"#,
            ),
            (r#"return cmsgpack.unpack('\208\128')"#, r#"-128"#),
            (r#"return cmsgpack.unpack('\209\128\0')"#, r#"-32768"#),
            (
                r#"return cmsgpack.unpack('\210\128\0\0\0')"#,
                r#"-2147483648"#,
            ),
            (
                r#"return cmsgpack.unpack('\211\128\0\0\0\0\0\0\0')"#,
                r#"-9.2233720368548e+18"#,
            ),
            (
                r#"return cmsgpack.unpack('\211\255\255\255\255\255\255\255\255')"#,
                r#"-1"#,
            ),
            (r#"return cmsgpack.unpack('\202\63\192\0\0')"#, r#"1.5"#),
            (
                r#"return cmsgpack.unpack('\203\63\248\0\0\0\0\0\0')"#,
                r#"1.5"#,
            ),
            (
                r#"return cmsgpack.unpack('\203\127\248\0\0\0\0\0\0')"#,
                r#"nan"#,
            ),
            (r#"return cmsgpack.unpack('\255')"#, r#"-1"#),
            (r#"return cmsgpack.unpack('\224')"#, r#"-32"#),
            (r#"return cmsgpack.unpack('\127')"#, r#"127"#),
            (
                r#"return cmsgpack.unpack('\193')"#,
                r#"ERR:user_script:1: Bad data format in input."#,
            ),
            (
                r#"return cmsgpack.unpack('\196\3abc')"#,
                r#"ERR:user_script:1: Bad data format in input."#,
            ),
            (
                r#"return cmsgpack.unpack('\197\0\3abc')"#,
                r#"ERR:user_script:1: Bad data format in input."#,
            ),
            (
                r#"return cmsgpack.unpack('\198\0\0\0\3abc')"#,
                r#"ERR:user_script:1: Bad data format in input."#,
            ),
            (
                r#"return cmsgpack.unpack('\199\1\1a')"#,
                r#"ERR:user_script:1: Bad data format in input."#,
            ),
            (
                r#"return cmsgpack.unpack('\212\1a')"#,
                r#"ERR:user_script:1: Bad data format in input."#,
            ),
            (r#"return cmsgpack.unpack('\217\3abc')"#, r#"abc"#),
            (r#"return cmsgpack.unpack('\218\0\3abc')"#, r#"abc"#),
            (r#"return cmsgpack.unpack('\219\0\0\0\3abc')"#, r#"abc"#),
            (
                r#"return cmsgpack.unpack('\219\0\0\0\9abc')"#,
                r#"ERR:user_script:1: Missing bytes in input."#,
            ),
            (
                r#"return cmsgpack.unpack('\219\255\255\255\255abc')"#,
                r#"ERR:user_script:1: Missing bytes in input."#,
            ),
            (
                r#"return cmsgpack.unpack('\163ab')"#,
                r#"ERR:user_script:1: Missing bytes in input."#,
            ),
            (r#"return cmsgpack.unpack('\163abc')"#, r#"abc"#),
            (
                r#"return cmsgpack.unpack()"#,
                r#"ERR:user_script:1: bad argument #1 to 'unpack' (string expected, got no value)"#,
            ),
            (r#"return cmsgpack.unpack(5)"#, r#"53"#),
            (
                r#"return cmsgpack.unpack({})"#,
                r#"ERR:user_script:1: bad argument #1 to 'unpack' (string expected, got table)"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}, ',')"#,
                r#"1,1"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}, ',')"#,
                r#"2,2"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}, ',')"#,
                r#"-1,3"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)}, ',')"#,
                r#"-1"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 4)}, ',')"#,
                r#"ERR:user_script:1: Start offset 4 greater than input length 3."#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), -1)}, ',')"#,
                r#"ERR:user_script:1: Invalid request to unpack with offset of -1 and limit of 3."#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one('')}, ',')"#,
                r#"-1"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one('\204')}, ',')"#,
                r#"ERR:user_script:1: Missing bytes in input."#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one(cmsgpack.pack(1, 2), 'x')}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack_one' (number expected, got string)"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}, ',')"#,
                r#"2,1,2"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}, ',')"#,
                r#"-1,2,3"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5)}, ',')"#,
                r#"-1,1,2,3"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}, ',')"#,
                r#"1,2,3"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1)}, ',')"#,
                r#"1"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)}, ',')"#,
                r#"ERR:user_script:1: Invalid request to unpack with offset of 0 and limit of 3."#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3))}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack_limit' (number expected, got no value)"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 1, 9)}, ',')"#,
                r#"ERR:user_script:1: Start offset 9 greater than input length 3."#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2.9)}, ',')"#,
                r#"2,1,2"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_one(cmsgpack.pack('abc', 2), 0)}, ',')"#,
                r#"4,abc"#,
            ),
            (
                r#"return cmsgpack.unpack(cmsgpack.pack(2^63))"#,
                r#"9.2233720368548e+18"#,
            ),
            (
                r#"return cmsgpack.unpack(cmsgpack.pack(-2^63))"#,
                r#"-9.2233720368548e+18"#,
            ),
            (r#"return cmsgpack.unpack(cmsgpack.pack(0.1))"#, r#"0.1"#),
            (
                r#"return cmsgpack.unpack(cmsgpack.pack(123456789012))"#,
                r#"123456789012"#,
            ),
            (
                r#"return cmsgpack.unpack(cmsgpack.pack(-123456789012))"#,
                r#"-123456789012"#,
            ),
            (r#"return hex(cmsgpack.pack('1'))"#, r#"a131"#),
            (
                r#"return hex(cmsgpack.pack({[1]=1, [2]=2, n=3}))"#,
                r#"8301010202a16e03"#,
            ),
            (
                r#"return cmsgpack.unpack('\207\128\0\0\0\0\0\0\0')"#,
                r#"-9.2233720368548e+18"#,
            ),
            (
                r#"return cmsgpack.unpack('\207\0\0\0\1\0\0\0\0')"#,
                r#"4294967296"#,
            ),
            (
                r#"return select('#', cmsgpack.unpack(string.rep('\1', 7999)))"#,
                r#"7999"#,
            ),
            (
                r#"return cmsgpack.unpack(string.rep('\1', 8000))"#,
                r#"ERR:user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#,
            ),
            (
                r#"return type(cmsgpack.unpack(string.rep('\145', 3999) .. '\1'))"#,
                r#"table"#,
            ),
            (
                r#"return cmsgpack.unpack(string.rep('\145', 4000) .. '\1')"#,
                r#"ERR:user_script:1: stack overflow (in function mp_decode_to_lua_array)"#,
            ),
            (
                r#"return cmsgpack.unpack(string.rep('\145', 100000) .. '\1')"#,
                r#"ERR:user_script:1: stack overflow (in function mp_decode_to_lua_array)"#,
            ),
            (
                r#"return type(cmsgpack.unpack(string.rep('\129\1', 3999) .. '\1'))"#,
                r#"table"#,
            ),
            (
                r#"return cmsgpack.unpack(string.rep('\129\1', 4000) .. '\1')"#,
                r#"ERR:user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#,
            ),
            (
                r#"return type(cmsgpack.unpack(string.rep('\129\145', 2666) .. '\1'))"#,
                r#"ERR:user_script:1: Missing bytes in input."#,
            ),
            (
                r#"return cmsgpack.unpack(string.rep('\129\145', 2667) .. '\1')"#,
                r#"ERR:user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#,
            ),
            (
                r#"return type(cmsgpack.unpack(string.rep('\145\129\1', 2666) .. '\1'))"#,
                r#"ERR:user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#,
            ),
            (
                r#"return cmsgpack.unpack(string.rep('\145\129\1', 2667) .. '\1')"#,
                r#"ERR:user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)"#,
            ),
            (r#"return hex(cmsgpack.pack(function() end))"#, r#"c0"#),
            (
                r#"return hex(cmsgpack.pack(coroutine.create(function() end)))"#,
                r#"c0"#,
            ),
            (
                r#"return hex(cmsgpack.pack(setmetatable({1, 2}, {__len = function() return 5 end})))"#,
                r#"920102"#,
            ),
            (
                r#"return cmsgpack._NAME .. cmsgpack._VERSION .. cmsgpack._COPYRIGHT .. cmsgpack._DESCRIPTION"#,
                r#"cmsgpacklua-cmsgpack 0.4.0Copyright (C) 2012, Salvatore SanfilippoMessagePack C implementation for Lua"#,
            ),
            (
                r#"return hex(cmsgpack.pack({[1]=1, [2]=2, [2.5]=3}))"#,
                r#"8301010202ca4020000003"#,
            ),
            (
                r#"return hex(cmsgpack.pack(-0.5, 3.25, 2^31, -2^40))"#,
                r#"cabf000000ca40500000ce80000000d3ffffff0000000000"#,
            ),
            (r#"return cmsgpack.unpack('')"#, r#"nil"#),
            (
                r#"return table.concat({cmsgpack.unpack_limit('\1\2\3', 1, 3)}, ',')"#,
                r#"-1"#,
            ),
            (
                r#"return table.concat({cmsgpack.unpack_limit('\1\2\3', 2^40)}, ',')"#,
                r#"-1,1,2,3"#,
            ),
            (
                r#"return cmsgpack.unpack('\222\255\255')"#,
                r#"ERR:user_script:1: Missing bytes in input."#,
            ),
        ]);
    }
}
