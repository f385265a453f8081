//! `struct`: Roberto Ierusalimschy's binary packing library as Redis bundles it —
//! `struct.pack(fmt, ...)`, `struct.unpack(fmt, data [, pos])` and `struct.size(fmt)`.
//!
//! A format is read one option at a time: `<` `>` set the byte order (little-endian by
//! default), `!n` the maximum alignment (`!` alone: 8; default 1), spaces are ignored;
//! `b/B h/H l/L T i/I[n]` are integers of 1, 2, 8, 8 and n (default 4, at most 32) bytes, lower
//! case signed; `f`/`d` floats; `x` one zero byte; `c[n]` n raw bytes (`c0`: the whole string
//! when packing, the previously unpacked number as length when unpacking); `s` a zero-terminated
//! string. Every item is first aligned to min(its size, max alignment), using the offset from
//! the start of the data. The format ends at its first NUL byte, as C strings do.
//!
//! Integers go through a 64-bit integer, with the C conversions of x86-64 (see `c_i64`), so
//! sizes above 8 are zero-extended when packing and values out of range wrap the same way.
//! Unpacked values are pushed on the Lua stack as they are read, which is also where `c0`
//! finds its length. Error texts and argument numbers (including the original's quirks, such
//! as "string too short" blaming the next argument) are those of Redis 7.0.

use std::os::raw::c_int;

use mlua::ffi;

use super::{c_i64, c_u64, push_bytes, raise, set_fn, to_bytes, Fail, State};

/// The largest integer size (`i32`).
const MAX_INT_SIZE: usize = 32;
/// The alignment `!` sets without a number: the strictest of the C scalar types.
const MAX_ALIGN: usize = 8;

/// Byte order and maximum alignment, changed by control options as the format is read.
struct Header {
    little: bool,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header {
            little: true,
            align: 1,
        }
    }
}

/// A format string with a read position.
struct Format<'a> {
    s: &'a [u8],
    i: usize,
}

impl Format<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = self.s.get(self.i).copied()?;
        self.i += 1;
        Some(c)
    }

    /// Reads an optional decimal number (default `df`); errors past `INT_MAX`.
    fn num(&mut self, df: usize) -> Result<usize, Fail> {
        if !self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            return Ok(df);
        }
        let mut a: i64 = 0;
        while let Some(&d) = self.s.get(self.i).filter(|c| c.is_ascii_digit()) {
            a = a * 10 + i64::from(d - b'0');
            if a > i64::from(i32::MAX) {
                return Err(Fail::msg("integral size overflow"));
            }
            self.i += 1;
        }
        Ok(a as usize)
    }

    /// The size of option `opt` (reading its number if it takes one); 0 for options that
    /// occupy no fixed space.
    fn size(&mut self, opt: u8) -> Result<usize, Fail> {
        Ok(match opt {
            b'b' | b'B' | b'x' => 1,
            b'h' | b'H' => 2,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.num(1)?,
            b'i' | b'I' => {
                let sz = self.num(4)?;
                if sz > MAX_INT_SIZE {
                    return Err(Fail::msg(format!(
                        "integral size {sz} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                sz
            }
            _ => 0,
        })
    }

    /// Applies a control option (byte order, alignment, space); anything else is invalid.
    fn control(&mut self, opt: u8, h: &mut Header) -> Result<(), Fail> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.num(MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(Fail::msg(format!("alignment {a} is not a power of 2")));
                }
                h.align = a;
            }
            _ => {
                let mut m = b"invalid format option '".to_vec();
                m.push(opt);
                m.push(b'\'');
                return Err(Fail::Arg(1, m));
            }
        }
        Ok(())
    }
}

/// Padding needed before an item of `size` bytes at offset `len`.
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size.wrapping_sub(len & (size - 1))) & (size - 1)
}

/// The format string argument, cut at its first NUL. Raises if it is not a string.
unsafe fn format_arg<'a>(l: State) -> Format<'a> {
    ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    let s = to_bytes(l, 1).unwrap_or_default();
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    Format { s: &s[..end], i: 0 }
}

/// Appends `n` as a `size`-byte integer in the header's byte order.
fn put_integer(out: &mut Vec<u8>, n: f64, little: bool, size: usize) {
    let mut value = if n < 0.0 { c_i64(n) as u64 } else { c_u64(n) };
    let start = out.len();
    out.resize(start + size, 0);
    let bytes = &mut out[start..];
    for k in 0..size {
        let idx = if little { k } else { size - 1 - k };
        bytes[idx] = value as u8;
        value >>= 8;
    }
}

/// The number argument `arg`, as `luaL_checknumber` would accept it.
unsafe fn number_arg(l: State, arg: c_int) -> Result<f64, Fail> {
    if ffi::lua_isnumber(l, arg) == 0 {
        return Err(Fail::Type(arg, c"number"));
    }
    Ok(ffi::lua_tonumber(l, arg))
}

unsafe fn pack_items(l: State, mut fmt: Format<'_>) -> Result<Vec<u8>, Fail> {
    let mut h = Header::new();
    let mut out = Vec::new();
    let mut arg: c_int = 2;
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = number_arg(l, arg)?;
                arg += 1;
                put_integer(&mut out, n, h.little, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = number_arg(l, arg)? as f32;
                arg += 1;
                let b = if h.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            b'd' => {
                let d = number_arg(l, arg)?;
                arg += 1;
                let b = if h.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                };
                out.extend_from_slice(&b);
            }
            b'c' | b's' => {
                let Some(s) = to_bytes(l, arg) else {
                    return Err(Fail::Type(arg, c"string"));
                };
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // The original checks after moving to the next argument.
                    return Err(Fail::Arg(arg, b"string too short".to_vec()));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => fmt.control(opt, &mut h)?,
        }
    }
    Ok(out)
}

/// `struct.pack(fmt, v1, v2, ...)`: the values packed into a binary string.
unsafe extern "C-unwind" fn pack(l: State) -> c_int {
    let fmt = format_arg(l);
    // Like the original, a nil marks the end of the arguments: a missing first argument is
    // reported as "got nil" rather than "got no value".
    ffi::lua_pushnil(l);
    match pack_items(l, fmt) {
        Ok(out) => {
            push_bytes(l, &out);
            1
        }
        Err(f) => raise(l, f),
    }
}

/// Reads a `size`-byte integer; sign-extends from its top bit when `signed`.
fn get_integer(b: &[u8], little: bool, signed: bool, size: usize) -> f64 {
    let mut v: u64 = 0;
    for k in 0..size {
        let idx = if little { size - 1 - k } else { k };
        v = (v << 8) | u64::from(b[idx]);
    }
    if !signed {
        return v as f64;
    }
    // The shift count is taken modulo 64, as the x86 instruction the original compiles to does.
    let mask = u64::MAX.wrapping_shl((size * 8).wrapping_sub(1) as u32);
    if v & mask != 0 {
        v |= mask;
    }
    v as i64 as f64
}

unsafe fn unpack_items(
    l: State,
    mut fmt: Format<'_>,
    data: &[u8],
    pos_arg: usize,
) -> Result<(), Fail> {
    let ld = data.len();
    let mut h = Header::new();
    if pos_arg == 0 {
        return Err(Fail::Arg(3, b"offset must be 1 or greater".to_vec()));
    }
    let mut pos = pos_arg - 1;
    let too_short = || Fail::Arg(2, b"data string too short".to_vec());
    ffi::lua_settop(l, 2);
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        // Unlike C, an offset that wraps around is simply too short, never an overread.
        let fits = |pos: usize, size: usize| pos.checked_add(size).is_some_and(|e| e <= ld);
        if !fits(pos, size) {
            return Err(too_short());
        }
        if ffi::lua_checkstack(l, 1) == 0 {
            return Err(Fail::msg("stack overflow (too many results)"));
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = get_integer(
                    &data[pos..pos + size],
                    h.little,
                    opt.is_ascii_lowercase(),
                    size,
                );
                ffi::lua_pushnumber(l, n);
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                let f = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                ffi::lua_pushnumber(l, f64::from(f));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                let d = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                ffi::lua_pushnumber(l, d);
            }
            b'c' => {
                if size == 0 {
                    // Only a value unpacked before counts (never the data argument), so the
                    // pop below cannot free `data`.
                    if ffi::lua_gettop(l) <= 2 || ffi::lua_isnumber(l, -1) == 0 {
                        return Err(Fail::msg("format 'c0' needs a previous size"));
                    }
                    size = c_u64(ffi::lua_tonumber(l, -1)) as usize;
                    ffi::lua_settop(l, -2);
                    if !fits(pos, size) {
                        return Err(too_short());
                    }
                }
                push_bytes(l, &data[pos..pos + size]);
            }
            b's' => {
                let Some(n) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(Fail::msg("unfinished string in data"));
                };
                push_bytes(l, &data[pos..pos + n]);
                size = n + 1;
            }
            _ => fmt.control(opt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    ffi::lua_pushinteger(l, pos.wrapping_add(1) as ffi::lua_Integer);
    Ok(())
}

/// `struct.unpack(fmt, data [, pos])`: the values read from `data` starting at byte `pos`
/// (1-based), followed by the position after the last byte read.
unsafe extern "C-unwind" fn unpack(l: State) -> c_int {
    let fmt = format_arg(l);
    ffi::luaL_checklstring(l, 2, std::ptr::null_mut());
    let data = to_bytes(l, 2).unwrap_or_default();
    let pos_arg = ffi::luaL_optinteger(l, 3, 1) as usize;
    match unpack_items(l, fmt, data, pos_arg) {
        Ok(()) => ffi::lua_gettop(l) - 2,
        Err(f) => raise(l, f),
    }
}

unsafe fn size_of_format(mut fmt: Format<'_>) -> Result<usize, Fail> {
    let mut h = Header::new();
    let mut pos: usize = 0;
    while let Some(opt) = fmt.next() {
        let size = fmt.size(opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if opt == b's' {
            return Err(Fail::Arg(1, b"option 's' has no fixed size".to_vec()));
        }
        if opt == b'c' && size == 0 {
            return Err(Fail::Arg(1, b"option 'c0' has no fixed size".to_vec()));
        }
        if !opt.is_ascii_alphanumeric() {
            fmt.control(opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(pos)
}

/// `struct.size(fmt)`: the number of bytes `fmt` packs to (fixed-size options only).
unsafe extern "C-unwind" fn size(l: State) -> c_int {
    let fmt = format_arg(l);
    match size_of_format(fmt) {
        Ok(n) => {
            ffi::lua_pushinteger(l, n as ffi::lua_Integer);
            1
        }
        Err(f) => raise(l, f),
    }
}

/// Pushes the `struct` table.
pub(crate) unsafe fn open(l: State) {
    ffi::lua_createtable(l, 0, 3);
    set_fn(l, c"pack", pack);
    set_fn(l, c"unpack", unpack);
    set_fn(l, c"size", size);
}

#[cfg(test)]
mod tests {
    use super::super::testutil::check;

    /// Expected values are redis-server 7.0.15's answers to the same snippets.
    #[test]
    fn struct_matches_redis() {
        check(&[
            (r#"return hex(struct.pack('>i', 1))"#, r#"00000001"#),
            (r#"return hex(struct.pack('<i', 1))"#, r#"01000000"#),
            (r#"return hex(struct.pack('i', -2))"#, r#"feffffff"#),
            (r#"return hex(struct.pack('b', -1))"#, r#"ff"#),
            (r#"return hex(struct.pack('B', 255))"#, r#"ff"#),
            (r#"return hex(struct.pack('B', 256))"#, r#"00"#),
            (r#"return hex(struct.pack('b', 200))"#, r#"c8"#),
            (r#"return hex(struct.pack('>h', 0x1234))"#, r#"1234"#),
            (r#"return hex(struct.pack('<H', 0x1234))"#, r#"3412"#),
            (r#"return hex(struct.pack('>l', 1))"#, r#"0000000000000001"#),
            (
                r#"return hex(struct.pack('<L', -1))"#,
                r#"ffffffffffffffff"#,
            ),
            (r#"return hex(struct.pack('T', 5))"#, r#"0500000000000000"#),
            (r#"return hex(struct.pack('>i3', 0x123456))"#, r#"123456"#),
            (
                r#"return hex(struct.pack('<i16', -1))"#,
                r#"ffffffffffffffff0000000000000000"#,
            ),
            (
                r#"return hex(struct.pack('>I16', 2^70))"#,
                r#"00000000000000000000000000000000"#,
            ),
            (
                r#"return hex(struct.pack('<i32', 1))"#,
                r#"0100000000000000000000000000000000000000000000000000000000000000"#,
            ),
            (
                r#"return hex(struct.pack('<i33', 1))"#,
                r#"ERR:user_script:1: integral size 33 is larger than limit of 32"#,
            ),
            (r#"return hex(struct.pack('>i0', 1))"#, r#""#),
            (
                r#"return hex(struct.pack('<I8', 2^63))"#,
                r#"0000000000000080"#,
            ),
            (
                r#"return hex(struct.pack('<I8', 2^64))"#,
                r#"0000000000000000"#,
            ),
            (
                r#"return hex(struct.pack('<i8', 2^63))"#,
                r#"0000000000000080"#,
            ),
            (
                r#"return hex(struct.pack('<i8', -2^63))"#,
                r#"0000000000000080"#,
            ),
            (
                r#"return hex(struct.pack('<i8', -2^64))"#,
                r#"0000000000000080"#,
            ),
            (
                r#"return hex(struct.pack('<i8', 1e30))"#,
                r#"0000000000000000"#,
            ),
            (
                r#"return hex(struct.pack('<I8', 1e30))"#,
                r#"0000000000000000"#,
            ),
            (r#"return hex(struct.pack('<i4', 0/0))"#, r#"00000000"#),
            (r#"return hex(struct.pack('<i4', 1/0))"#, r#"00000000"#),
            (r#"return hex(struct.pack('<i4', 1.9))"#, r#"01000000"#),
            (r#"return hex(struct.pack('<i4', -1.9))"#, r#"ffffffff"#),
            (r#"return hex(struct.pack('>f', 1.5))"#, r#"3fc00000"#),
            (
                r#"return hex(struct.pack('<d', 1.5))"#,
                r#"000000000000f83f"#,
            ),
            (
                r#"return hex(struct.pack('>d', -0.1))"#,
                r#"bfb999999999999a"#,
            ),
            (r#"return hex(struct.pack('>f', 1e300))"#, r#"7f800000"#),
            (r#"return hex(struct.pack('x'))"#, r#"00"#),
            (r#"return hex(struct.pack('xxb', 1))"#, r#"000001"#),
            (r#"return hex(struct.pack('s', 'abc'))"#, r#"61626300"#),
            (r#"return hex(struct.pack('c3', 'abcdef'))"#, r#"616263"#),
            (r#"return hex(struct.pack('c', 'abc'))"#, r#"61"#),
            (r#"return hex(struct.pack('c0', 'abc'))"#, r#"616263"#),
            (
                r#"return hex(struct.pack('c5', 'abc'))"#,
                r#"ERR:user_script:1: bad argument #3 to 'pack' (string too short)"#,
            ),
            (
                r#"return hex(struct.pack('bc5', 1, 'abc'))"#,
                r#"ERR:user_script:1: bad argument #4 to 'pack' (string too short)"#,
            ),
            (r#"return hex(struct.pack('s', 'a\0b'))"#, r#"61006200"#),
            (
                r#"return hex(struct.pack('!4bi', 1, 2))"#,
                r#"0100000002000000"#,
            ),
            (
                r#"return hex(struct.pack('!bi', 1, 2))"#,
                r#"0100000002000000"#,
            ),
            (
                r#"return hex(struct.pack('!2bi', 1, 2))"#,
                r#"010002000000"#,
            ),
            (
                r#"return hex(struct.pack('!bd', 1, 2))"#,
                r#"01000000000000000000000000000040"#,
            ),
            (r#"return hex(struct.pack('!bh', 1, 2))"#, r#"01000200"#),
            (
                r#"return hex(struct.pack('!3bi', 1, 2))"#,
                r#"ERR:user_script:1: alignment 3 is not a power of 2"#,
            ),
            (
                r#"return hex(struct.pack('!0bi', 1, 2))"#,
                r#"ERR:user_script:1: alignment 0 is not a power of 2"#,
            ),
            (
                r#"return hex(struct.pack('!16bd', 1, 2))"#,
                r#"01000000000000000000000000000040"#,
            ),
            (
                r#"return hex(struct.pack('!4bi3', 1, 2))"#,
                r#"010000020000"#,
            ),
            (
                r#"return hex(struct.pack('!4bi6', 1, 2))"#,
                r#"01000000020000000000"#,
            ),
            (
                r#"return hex(struct.pack('!8bxi', 1, 2))"#,
                r#"0100000002000000"#,
            ),
            (
                r#"return hex(struct.pack('!8bc2i', 1, 'ab', 2))"#,
                r#"0161620002000000"#,
            ),
            (
                r#"return hex(struct.pack('!8bsi', 1, 'ab', 2))"#,
                r#"0161620002000000"#,
            ),
            (r#"return hex(struct.pack('> < i', 1))"#, r#"01000000"#),
            (
                r#"return hex(struct.pack('=i', 1))"#,
                r#"ERR:user_script:1: bad argument #1 to 'pack' (invalid format option '=')"#,
            ),
            (
                r#"return hex(struct.pack('y', 1))"#,
                r#"ERR:user_script:1: bad argument #1 to 'pack' (invalid format option 'y')"#,
            ),
            (
                r#"return hex(struct.pack('i', 'x'))"#,
                r#"ERR:user_script:1: bad argument #2 to 'pack' (number expected, got string)"#,
            ),
            (
                r#"return hex(struct.pack('i'))"#,
                r#"ERR:user_script:1: bad argument #2 to 'pack' (number expected, got nil)"#,
            ),
            (
                r#"return hex(struct.pack('bi', 1))"#,
                r#"ERR:user_script:1: bad argument #3 to 'pack' (number expected, got nil)"#,
            ),
            (r#"return hex(struct.pack('s', 1))"#, r#"3100"#),
            (
                r#"return hex(struct.pack('s', {}))"#,
                r#"ERR:user_script:1: bad argument #2 to 'pack' (string expected, got table)"#,
            ),
            (
                r#"return hex(struct.pack('d', '1.5'))"#,
                r#"000000000000f83f"#,
            ),
            (
                r#"return hex(struct.pack('f'))"#,
                r#"ERR:user_script:1: bad argument #2 to 'pack' (number expected, got nil)"#,
            ),
            (
                r#"return hex(struct.pack())"#,
                r#"ERR:user_script:1: bad argument #1 to 'pack' (string expected, got no value)"#,
            ),
            (
                r#"return hex(struct.pack(12, 1))"#,
                r#"ERR:user_script:1: bad argument #1 to 'pack' (invalid format option '1')"#,
            ),
            (
                r#"return hex(struct.pack('i99999999999', 1))"#,
                r#"ERR:user_script:1: integral size overflow"#,
            ),
            (
                r#"return hex(struct.pack('i2147483648', 1))"#,
                r#"ERR:user_script:1: integral size overflow"#,
            ),
            (
                r#"return hex(struct.pack('!99999999999i', 1))"#,
                r#"ERR:user_script:1: integral size overflow"#,
            ),
            (
                r#"return hex(struct.pack('c99999999999', 'a'))"#,
                r#"ERR:user_script:1: integral size overflow"#,
            ),
            (r#"return hex(struct.pack('b', 1, 2, 3))"#, r#"01"#),
            (r#"return hex(struct.pack('', 1))"#, r#""#),
            (r#"return hex(struct.pack('i\0i', 1, 2))"#, r#"01000000"#),
            (
                r#"return hex(struct.pack('c-1', 'a'))"#,
                r#"ERR:user_script:1: bad argument #1 to 'pack' (invalid format option '-')"#,
            ),
            (r#"return struct.size('i')"#, r#"4"#),
            (r#"return struct.size('bi')"#, r#"5"#),
            (r#"return struct.size('!bi')"#, r#"8"#),
            (r#"return struct.size('!bd')"#, r#"16"#),
            (r#"return struct.size('!2bd')"#, r#"10"#),
            (r#"return struct.size('c10')"#, r#"10"#),
            (
                r#"return struct.size('c0')"#,
                r#"ERR:user_script:1: bad argument #1 to 'size' (option 'c0' has no fixed size)"#,
            ),
            (
                r#"return struct.size('s')"#,
                r#"ERR:user_script:1: bad argument #1 to 'size' (option 's' has no fixed size)"#,
            ),
            (r#"return struct.size('lLhHbBTfdx')"#, r#"43"#),
            (r#"return struct.size('>i7')"#, r#"7"#),
            (r#"return struct.size('y')"#, r#"0"#),
            (
                r#"return struct.size('!3')"#,
                r#"ERR:user_script:1: alignment 3 is not a power of 2"#,
            ),
            (
                r#"return struct.size('i40')"#,
                r#"ERR:user_script:1: integral size 40 is larger than limit of 32"#,
            ),
            (r#"return struct.size('')"#, r#"0"#),
            (
                r#"return struct.size()"#,
                r#"ERR:user_script:1: bad argument #1 to 'size' (string expected, got no value)"#,
            ),
            (r#"return struct.size('!8bi3')"#, r#"6"#),
            (r#"return struct.size('!8bi5')"#, r#"10"#),
            (r#"return struct.size('  ')"#, r#"0"#),
            (
                r#"return table.concat({struct.unpack('>i', '\0\0\0\1')}, ',')"#,
                r#"1,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('<i', '\255\255\255\255')}, ',')"#,
                r#"-1,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('<I', '\255\255\255\255')}, ',')"#,
                r#"4294967295,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('<bB', '\255\255')}, ',')"#,
                r#"-1,255,3"#,
            ),
            (
                r#"return table.concat({struct.unpack('>hH', '\128\0\128\0')}, ',')"#,
                r#"-32768,32768,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('<i3', '\255\255\127')}, ',')"#,
                r#"8388607,4"#,
            ),
            (
                r#"return table.concat({struct.unpack('<i3', '\255\255\255')}, ',')"#,
                r#"-1,4"#,
            ),
            (
                r#"return table.concat({struct.unpack('<l', '\255\255\255\255\255\255\255\255')}, ',')"#,
                r#"-1,9"#,
            ),
            (
                r#"return table.concat({struct.unpack('<L', '\255\255\255\255\255\255\255\255')}, ',')"#,
                r#"1.844674407371e+19,9"#,
            ),
            (
                r#"return table.concat({struct.unpack('<i9', '\255\255\255\255\255\255\255\255\255')}, ',')"#,
                r#"-1,10"#,
            ),
            (
                r#"return table.concat({struct.unpack('<I9', '\1\0\0\0\0\0\0\0\1')}, ',')"#,
                r#"1,10"#,
            ),
            (
                r#"return table.concat({struct.unpack('>i12', '\1\2\3\4\5\6\7\8\9\10\11\12')}, ',')"#,
                r#"-1995830516,13"#,
            ),
            (
                r#"return table.concat({struct.unpack('>i16', string.rep('\255', 16))}, ',')"#,
                r#"-1,17"#,
            ),
            (
                r#"return table.concat({struct.unpack('<i', 'abc')}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
            (
                r#"return table.concat({struct.unpack('<i', 'abcde', 2)}, ',')"#,
                r#"1701077858,6"#,
            ),
            (
                r#"return table.concat({struct.unpack('<i', 'abcde', 3)}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
            (
                r#"return table.concat({struct.unpack('b', 'abc', 0)}, ',')"#,
                r#"ERR:user_script:1: bad argument #3 to 'unpack' (offset must be 1 or greater)"#,
            ),
            (
                r#"return table.concat({struct.unpack('b', 'abc', -1)}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
            (
                r#"return table.concat({struct.unpack('b', 'abc', 4)}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
            (
                r#"return table.concat({struct.unpack('b', 'abc', 5)}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
            (
                r#"return table.concat({struct.unpack('', 'abc', 4)}, ',')"#,
                r#"4"#,
            ),
            (
                r#"return table.concat({struct.unpack('b', 'abc', 'x')}, ',')"#,
                r#"ERR:user_script:1: bad argument #3 to 'unpack' (number expected, got string)"#,
            ),
            (
                r#"return table.concat({struct.unpack('b', 'abc', 2.7)}, ',')"#,
                r#"98,3"#,
            ),
            (
                r#"return table.concat({struct.unpack('b')}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (string expected, got no value)"#,
            ),
            (
                r#"return table.concat({struct.unpack('b', {})}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (string expected, got table)"#,
            ),
            (
                r#"return table.concat({struct.unpack('s', 'ab\0cd\0')}, ',')"#,
                r#"ab,4"#,
            ),
            (
                r#"return table.concat({struct.unpack('ss', 'ab\0cd\0')}, ',')"#,
                r#"ab,cd,7"#,
            ),
            (
                r#"return table.concat({struct.unpack('s', 'abcd')}, ',')"#,
                r#"ERR:user_script:1: unfinished string in data"#,
            ),
            (
                r#"return table.concat({struct.unpack('c2c2', 'abcd')}, ',')"#,
                r#"ab,cd,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('c5', 'abcd')}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
            (
                r#"return table.concat({struct.unpack('bc0', '\3abcd')}, ',')"#,
                r#"abc,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('bc0', '\9abcd')}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
            (
                r#"return table.concat({struct.unpack('c0', 'abcd')}, ',')"#,
                r#"ERR:user_script:1: format 'c0' needs a previous size"#,
            ),
            (
                r#"return table.concat({struct.unpack('xc0', 'abcd')}, ',')"#,
                r#"ERR:user_script:1: format 'c0' needs a previous size"#,
            ),
            (
                r#"return table.concat({struct.unpack('Bxc0', '\2-abcd')}, ',')"#,
                r#"ab,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('sc0', '2\0abcd')}, ',')"#,
                r#"ab,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('c1c0', '2abcd')}, ',')"#,
                r#"ab,4"#,
            ),
            (
                r#"return table.concat({struct.unpack('xxb', '\1\2\3')}, ',')"#,
                r#"3,4"#,
            ),
            (
                r#"return table.concat({struct.unpack('!4bi', hex(struct.pack('!4bi', 1, 2)):len() > 0 and struct.pack('!4bi', 1, 2))}, ',')"#,
                r#"1,2,9"#,
            ),
            (
                r#"return table.concat({struct.unpack('>f', struct.pack('>f', 1.5))}, ',')"#,
                r#"1.5,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('<d', struct.pack('<d', -0.1))}, ',')"#,
                r#"-0.1,9"#,
            ),
            (
                r#"return table.concat({struct.unpack('>f', struct.pack('>f', 0.1))}, ',')"#,
                r#"0.10000000149012,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('>d', '\127\240\0\0\0\0\0\0')}, ',')"#,
                r#"inf,9"#,
            ),
            (
                r#"return table.concat({struct.unpack('y', 'abc')}, ',')"#,
                r#"ERR:user_script:1: bad argument #1 to 'unpack' (invalid format option 'y')"#,
            ),
            (
                r#"return table.concat({struct.unpack('!3b', 'abc')}, ',')"#,
                r#"ERR:user_script:1: alignment 3 is not a power of 2"#,
            ),
            (
                r#"return table.concat({struct.unpack('i50', 'abc')}, ',')"#,
                r#"ERR:user_script:1: integral size 50 is larger than limit of 32"#,
            ),
            (
                r#"return table.concat({struct.unpack('<I8', '\0\0\0\0\0\0\0\128')}, ',')"#,
                r#"9.2233720368548e+18,9"#,
            ),
            (
                r#"return table.concat({struct.unpack('<i8', '\1\0\0\0\0\0\0\128')}, ',')"#,
                r#"-9.2233720368548e+18,9"#,
            ),
            (
                r#"return table.concat({struct.unpack('<I8', '\1\0\0\0\0\0\32\0')}, ',')"#,
                r#"9.007199254741e+15,9"#,
            ),
            (
                r#"return table.concat({struct.unpack('<i0', 'abc')}, ',')"#,
                r#"0,1"#,
            ),
            (r#"return select('#', struct.unpack('bb', 'ab'))"#, r#"3"#),
            (r#"return select('#', struct.unpack('', ''))"#, r#"1"#),
            (
                r#"return table.concat({struct.unpack('b\0b', 'ab')}, ',')"#,
                r#"97,2"#,
            ),
            (
                r#"return struct.unpack('>I2', struct.pack('>I2', 65535))"#,
                r#"65535"#,
            ),
            (
                r#"return table.concat({struct.unpack('i4', struct.pack('i4', 2147483648))}, ',')"#,
                r#"-2147483648,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('b', 'a', 1e10)}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
            (
                r#"return table.concat({struct.unpack('x', '')}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
            (
                r#"return table.concat({struct.unpack('c0', 1)}, ',')"#,
                r#"ERR:user_script:1: format 'c0' needs a previous size"#,
            ),
            (
                r#"return table.concat({struct.unpack('c0', '2', 1)}, ',')"#,
                r#"ERR:user_script:1: format 'c0' needs a previous size"#,
            ),
            (
                r#"return table.concat({struct.unpack('bc0', '\0abc')}, ',')"#,
                r#",2"#,
            ),
            (
                r#"return table.concat({struct.unpack('>Hc0', '\0\2abc')}, ',')"#,
                r#"ab,5"#,
            ),
            (
                r#"return table.concat({struct.unpack('!8bd', struct.pack('!8bd', 7, 2.5))}, ',')"#,
                r#"7,2.5,17"#,
            ),
            (
                r#"return table.concat({struct.unpack('<h>h', '\1\0\0\1')}, ',')"#,
                r#"1,1,5"#,
            ),
            (r#"return hex(struct.pack('<h>h', 1, 1))"#, r#"01000001"#),
            (
                r#"return hex(struct.pack('!8bT', 1, 2))"#,
                r#"01000000000000000200000000000000"#,
            ),
            (r#"return hex(struct.pack('>I3', -1))"#, r#"ffffff"#),
            (r#"return struct.size('!4bi3b')"#, r#"7"#),
            (r#"return struct.size('c2147483647')"#, r#"2147483647"#),
            (
                r#"return hex(struct.pack('<i8', 0/0))"#,
                r#"0000000000000080"#,
            ),
            (
                r#"return hex(struct.pack('<I8', -(0/0)))"#,
                r#"0000000000000080"#,
            ),
            (
                r#"return hex(struct.pack('!4i16', 0/0))"#,
                r#"00000000000000800000000000000000"#,
            ),
            (
                r#"return hex(struct.pack('>L', 1/0))"#,
                r#"0000000000000000"#,
            ),
            (
                r#"return hex(struct.pack('>l', -1/0))"#,
                r#"8000000000000000"#,
            ),
            (
                r#"return table.concat({struct.unpack('Bc0', '\255abc')}, ',')"#,
                r#"ERR:user_script:1: bad argument #2 to 'unpack' (data string too short)"#,
            ),
        ]);
    }
}
