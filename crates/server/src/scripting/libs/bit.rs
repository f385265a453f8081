//! `bit`: LuaBitOp 1.0.2's bitwise operations on 32-bit integers, as Redis bundles it.
//!
//! Every argument is converted the way LuaBitOp does it: the Lua number plus 2^52 + 2^51 puts
//! the integer part (rounded to nearest-even) in the low 32 bits of the double's mantissa, so
//! conversion is modular (2^32 + 5 -> 5) and never fails for huge values, NaN or infinities.
//! Results are signed 32-bit numbers. Numeric strings are accepted (Lua's `lua_tonumber`);
//! anything else is "bad argument #n to 'f' (number expected, got T)" — only when the
//! converted bits are 0, exactly like the original.

use std::os::raw::c_int;

use mlua::ffi;

use super::{set_fn, State};

/// The argument at `idx` as 32 bits (see the module doc). Raises on a non-number.
unsafe fn barg(l: State, idx: c_int) -> u32 {
    let n = ffi::lua_tonumber(l, idx);
    let b = (n + 6_755_399_441_055_744.0).to_bits() as u32;
    if b == 0 && ffi::lua_isnumber(l, idx) == 0 {
        ffi::luaL_typerror(l, idx, c"number".as_ptr());
    }
    b
}

/// Pushes a result as a signed 32-bit number.
unsafe fn ret(l: State, b: u32) -> c_int {
    ffi::lua_pushnumber(l, b as i32 as f64);
    1
}

unsafe extern "C-unwind" fn tobit(l: State) -> c_int {
    ret(l, barg(l, 1))
}

unsafe extern "C-unwind" fn bnot(l: State) -> c_int {
    ret(l, !barg(l, 1))
}

/// `band`/`bor`/`bxor`: fold all arguments (at least one) with `op`.
unsafe fn fold(l: State, op: fn(u32, u32) -> u32) -> c_int {
    let mut b = barg(l, 1);
    for i in 2..=ffi::lua_gettop(l) {
        b = op(b, barg(l, i));
    }
    ret(l, b)
}

unsafe extern "C-unwind" fn band(l: State) -> c_int {
    fold(l, |a, b| a & b)
}

unsafe extern "C-unwind" fn bor(l: State) -> c_int {
    fold(l, |a, b| a | b)
}

unsafe extern "C-unwind" fn bxor(l: State) -> c_int {
    fold(l, |a, b| a ^ b)
}

/// Shifts and rotations: the count uses only its low 5 bits.
unsafe fn shift(l: State, op: fn(u32, u32) -> u32) -> c_int {
    let b = barg(l, 1);
    let n = barg(l, 2) & 31;
    ret(l, op(b, n))
}

unsafe extern "C-unwind" fn lshift(l: State) -> c_int {
    shift(l, |b, n| b << n)
}

unsafe extern "C-unwind" fn rshift(l: State) -> c_int {
    shift(l, |b, n| b >> n)
}

unsafe extern "C-unwind" fn arshift(l: State) -> c_int {
    shift(l, |b, n| ((b as i32) >> n) as u32)
}

unsafe extern "C-unwind" fn rol(l: State) -> c_int {
    shift(l, |b, n| b.rotate_left(n))
}

unsafe extern "C-unwind" fn ror(l: State) -> c_int {
    shift(l, |b, n| b.rotate_right(n))
}

unsafe extern "C-unwind" fn bswap(l: State) -> c_int {
    ret(l, barg(l, 1).swap_bytes())
}

/// `tohex(x [, n])`: the low `|n|` hex digits of `x` (default 8, at most 8); a negative `n`
/// asks for uppercase digits.
unsafe extern "C-unwind" fn tohex(l: State) -> c_int {
    let b = barg(l, 1);
    let n = if ffi::lua_isnone(l, 2) != 0 {
        8
    } else {
        barg(l, 2) as i32
    };
    let digits: &[u8; 16] = if n < 0 {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    // Negated in 64 bits: Redis's build prints 8 digits for n = -2^31 as well.
    let n = (n as i64).abs().min(8) as usize;
    let mut buf = [0u8; 8];
    let mut v = b;
    for i in (0..n).rev() {
        buf[i] = digits[(v & 15) as usize];
        v >>= 4;
    }
    ffi::lua_pushlstring(l, buf.as_ptr().cast(), n);
    1
}

/// Pushes the `bit` table.
pub(crate) unsafe fn open(l: State) {
    ffi::lua_createtable(l, 0, 12);
    set_fn(l, c"tobit", tobit);
    set_fn(l, c"bnot", bnot);
    set_fn(l, c"band", band);
    set_fn(l, c"bor", bor);
    set_fn(l, c"bxor", bxor);
    set_fn(l, c"lshift", lshift);
    set_fn(l, c"rshift", rshift);
    set_fn(l, c"arshift", arshift);
    set_fn(l, c"rol", rol);
    set_fn(l, c"ror", ror);
    set_fn(l, c"bswap", bswap);
    set_fn(l, c"tohex", tohex);
}

#[cfg(test)]
mod tests {
    use super::super::testutil::check;

    /// Expected values are redis-server 7.0.15's answers to the same snippets.
    #[test]
    fn bit_matches_redis() {
        check(&[
            (r#"return bit.tobit(2^32+5)"#, r#"5"#),
            (r#"return bit.tobit(-1)"#, r#"-1"#),
            (r#"return bit.tobit(2^31)"#, r#"-2147483648"#),
            (r#"return bit.tobit(2^31-1)"#, r#"2147483647"#),
            (r#"return bit.tobit(1.5)"#, r#"2"#),
            (r#"return bit.tobit(2.5)"#, r#"2"#),
            (r#"return bit.tobit(-1.5)"#, r#"-2"#),
            (r#"return bit.tobit(-2.5)"#, r#"-2"#),
            (r#"return bit.tobit(1e300)"#, r#"-2013235812"#),
            (r#"return bit.tobit(-1e300)"#, r#"-2013235812"#),
            (r#"return bit.tobit(0/0)"#, r#"0"#),
            (r#"return bit.tobit(1/0)"#, r#"0"#),
            (r#"return bit.tobit(-1/0)"#, r#"0"#),
            (r#"return bit.tobit(2^53)"#, r#"0"#),
            (r#"return bit.tobit(2^52+3)"#, r#"2"#),
            (r#"return bit.tobit('0x10')"#, r#"16"#),
            (r#"return bit.tobit(' 12 ')"#, r#"12"#),
            (r#"return bit.tobit('1e3')"#, r#"1000"#),
            (
                r#"return bit.tobit()"#,
                r#"ERR:user_script:1: bad argument #1 to 'tobit' (number expected, got no value)"#,
            ),
            (
                r#"return bit.tobit('x')"#,
                r#"ERR:user_script:1: bad argument #1 to 'tobit' (number expected, got string)"#,
            ),
            (
                r#"return bit.tobit({})"#,
                r#"ERR:user_script:1: bad argument #1 to 'tobit' (number expected, got table)"#,
            ),
            (
                r#"return bit.tobit(nil)"#,
                r#"ERR:user_script:1: bad argument #1 to 'tobit' (number expected, got nil)"#,
            ),
            (
                r#"return bit.tobit(true)"#,
                r#"ERR:user_script:1: bad argument #1 to 'tobit' (number expected, got boolean)"#,
            ),
            (r#"return bit.tobit('0')"#, r#"0"#),
            (
                r#"return bit.band('x')"#,
                r#"ERR:user_script:1: bad argument #1 to 'band' (number expected, got string)"#,
            ),
            (
                r#"return bit.band(1, 'x')"#,
                r#"ERR:user_script:1: bad argument #2 to 'band' (number expected, got string)"#,
            ),
            (
                r#"return bit.band(1, nil)"#,
                r#"ERR:user_script:1: bad argument #2 to 'band' (number expected, got nil)"#,
            ),
            (r#"return bit.band(0xff, 0x0f, 0x3c)"#, r#"12"#),
            (r#"return bit.band(-1)"#, r#"-1"#),
            (
                r#"return bit.bor()"#,
                r#"ERR:user_script:1: bad argument #1 to 'bor' (number expected, got no value)"#,
            ),
            (r#"return bit.bor(1, 2, 4, 8)"#, r#"15"#),
            (r#"return bit.bxor(1, 3, 7)"#, r#"5"#),
            (r#"return bit.bxor(-1, 0x0f)"#, r#"-16"#),
            (r#"return bit.bnot(0)"#, r#"-1"#),
            (r#"return bit.bnot(-1)"#, r#"0"#),
            (r#"return bit.bnot(2^31)"#, r#"2147483647"#),
            (r#"return bit.lshift(1, 31)"#, r#"-2147483648"#),
            (r#"return bit.lshift(1, 32)"#, r#"1"#),
            (r#"return bit.lshift(1, 33)"#, r#"2"#),
            (r#"return bit.lshift(1, -1)"#, r#"-2147483648"#),
            (r#"return bit.lshift(0x7f, 8)"#, r#"32512"#),
            (r#"return bit.rshift(-256, 4)"#, r#"268435440"#),
            (r#"return bit.rshift(256, 36)"#, r#"16"#),
            (r#"return bit.arshift(-256, 4)"#, r#"-16"#),
            (r#"return bit.arshift(2^31, 31)"#, r#"-1"#),
            (r#"return bit.arshift(256, 4)"#, r#"16"#),
            (r#"return bit.rol(0x12345678, 12)"#, r#"1164411171"#),
            (r#"return bit.ror(0x12345678, 12)"#, r#"1736516421"#),
            (r#"return bit.rol(0x80000001, 1)"#, r#"3"#),
            (r#"return bit.ror(1, 1)"#, r#"-2147483648"#),
            (r#"return bit.rol(1, 40)"#, r#"256"#),
            (r#"return bit.bswap(0x12345678)"#, r#"2018915346"#),
            (r#"return bit.bswap(0xff)"#, r#"-16777216"#),
            (r#"return bit.bswap(-1)"#, r#"-1"#),
            (r#"return bit.tohex(-1)"#, r#"ffffffff"#),
            (r#"return bit.tohex(255)"#, r#"000000ff"#),
            (r#"return bit.tohex(255, -4)"#, r#"00FF"#),
            (r#"return bit.tohex(255, 4)"#, r#"00ff"#),
            (r#"return bit.tohex(255, 12)"#, r#"000000ff"#),
            (r#"return bit.tohex(255, -12)"#, r#"000000FF"#),
            (r#"return bit.tohex(255, 0)"#, r#""#),
            (r#"return bit.tohex(1.5e10)"#, r#"7e11d600"#),
            (r#"return bit.tohex(0xabcdef, -2^31)"#, r#"00ABCDEF"#),
            (r#"return bit.tohex(0xabcdef, 2^31)"#, r#"00ABCDEF"#),
            (r#"return bit.tohex(-2, -8)"#, r#"FFFFFFFE"#),
            (
                r#"return bit.tohex(1, 'a')"#,
                r#"ERR:user_script:1: bad argument #2 to 'tohex' (number expected, got string)"#,
            ),
            (
                r#"return bit.tohex(1, nil)"#,
                r#"ERR:user_script:1: bad argument #2 to 'tohex' (number expected, got nil)"#,
            ),
            (
                r#"return bit.tohex()"#,
                r#"ERR:user_script:1: bad argument #1 to 'tohex' (number expected, got no value)"#,
            ),
            (r#"return bit.tohex('255', '2')"#, r#"ff"#),
            (
                r#"return bit.lshift(1)"#,
                r#"ERR:user_script:1: bad argument #2 to 'lshift' (number expected, got no value)"#,
            ),
            (
                r#"return bit.rshift()"#,
                r#"ERR:user_script:1: bad argument #1 to 'rshift' (number expected, got no value)"#,
            ),
            (
                r#"return bit.bswap('q')"#,
                r#"ERR:user_script:1: bad argument #1 to 'bswap' (number expected, got string)"#,
            ),
            (r#"return bit.tobit(4294967295.7)"#, r#"0"#),
            (r#"return bit.tobit(-2147483648.5)"#, r#"-2147483648"#),
            (r#"return bit.tobit(0.5)"#, r#"0"#),
            (r#"return type(bit.band(1,1))"#, r#"number"#),
            (r#"return bit.band(2^53, 2^53)"#, r#"0"#),
        ]);
    }
}
