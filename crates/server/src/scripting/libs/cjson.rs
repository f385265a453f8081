//! `cjson`: JSON encoding and decoding for Lua values, behaving like lua-cjson 2.1.0 as Redis
//! 7.0 bundles it.
//!
//! Each module table (the global `cjson`, and every `cjson.new()`) has its own settings, kept
//! in a userdata shared as upvalue by its functions: sparse-array handling (convert, ratio 2,
//! safe 10), nesting limits (1000 each way), invalid-number handling (encode: off, decode: on),
//! number precision (14) and keep-buffer (no observable effect here).
//!
//! Encoding: numbers are printed with C's `%.<precision>g`; strings escape `"` `\` `/`, control
//! characters and DEL (`\b \t \n \f \r` by name, the others as `\u00XX`), all other bytes are
//! copied; a table whose keys are all positive integers is an array (holes become `null`)
//! unless it is "excessively sparse" (max key > ratio × count and > safe: error or object), an
//! empty table is `{}`, other tables are objects with number keys written as strings; `nil`
//! and `cjson.null` (a NULL lightuserdata) are `null`; other types are errors.
//!
//! Decoding is a tokenizer plus a parser with the original's token names and error texts
//! ("Expected value but found T_END at character 1"). Numbers go through C's `strtod`, so with
//! `decode_invalid_numbers` on (the default) hex, `inf`, `nan`, `+1` and leading zeros are
//! accepted, exactly as in Redis. The input is read as a C string: a NUL byte ends it.
//!
//! Both directions are iterative (an explicit stack instead of recursion), but keep the same
//! values on the Lua stack per nesting level as the recursive original, so `lua_checkstack`
//! limits deep nesting at the same depths.

use std::os::raw::{c_char, c_int};

use mlua::ffi;

use super::{push_bytes, raise, set_str, to_bytes, Fail, State};

/// One module instance's settings; lives in a Lua userdata, so it is plain data.
#[repr(C)]
struct Config {
    sparse_convert: c_int,
    sparse_ratio: c_int,
    sparse_safe: c_int,
    encode_max_depth: c_int,
    decode_max_depth: c_int,
    /// 0 off, 1 on, 2 "null".
    encode_invalid_numbers: c_int,
    decode_invalid_numbers: c_int,
    encode_keep_buffer: c_int,
    precision: c_int,
}

impl Config {
    fn new() -> Config {
        Config {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: 1,
            encode_keep_buffer: 1,
            precision: 14,
        }
    }
}

/// The settings of the module the running function belongs to.
unsafe fn config<'a>(l: State) -> &'a mut Config {
    let p = ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)).cast::<Config>();
    if p.is_null() {
        // Only reachable if someone strips the upvalue, which Lua code cannot do.
        raise(l, Fail::msg("BUG: Unable to fetch CJSON configuration"));
    }
    &mut *p
}

// ---------------------------------------------------------------------------------------------
// Settings functions
// ---------------------------------------------------------------------------------------------

/// Checks there are at most `n` arguments and pads the missing ones with nil.
unsafe fn arg_init<'a>(l: State, n: c_int) -> &'a mut Config {
    if ffi::lua_gettop(l) > n {
        raise(l, Fail::Arg(n + 1, b"found too many arguments".to_vec()));
    }
    while ffi::lua_gettop(l) < n {
        ffi::lua_pushnil(l);
    }
    config(l)
}

/// An integer setting: unchanged when the argument is nil, else checked against `min..=max`.
/// Pushes the (new) value.
unsafe fn integer_option(l: State, idx: c_int, setting: &mut c_int, min: c_int, max: c_int) {
    if ffi::lua_isnil(l, idx) == 0 {
        // `int value = luaL_checkinteger(...)`: the 64-bit integer truncated to C's int.
        let value = ffi::luaL_checkinteger(l, idx) as c_int;
        if !(min..=max).contains(&value) {
            let msg = format!("expected integer between {min} and {max}");
            raise(l, Fail::Arg(1, msg.into_bytes()));
        }
        *setting = value;
    }
    ffi::lua_pushinteger(l, *setting as ffi::lua_Integer);
}

/// An enumerated setting: a boolean (off/on) or one of `options` by name. Pushes the value,
/// as a boolean when it is off or on.
unsafe fn enum_option(l: State, idx: c_int, setting: &mut c_int, options: &[&'static str]) {
    if ffi::lua_isnil(l, idx) == 0 {
        if ffi::lua_isboolean(l, idx) != 0 {
            *setting = ffi::lua_toboolean(l, idx);
        } else {
            ffi::luaL_checklstring(l, idx, std::ptr::null_mut());
            let name = to_bytes(l, idx).unwrap_or_default();
            match options.iter().position(|o| o.as_bytes() == name) {
                Some(i) => *setting = i as c_int,
                None => {
                    let mut m = b"invalid option '".to_vec();
                    // luaL_checkoption prints the name as a C string.
                    let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
                    m.extend_from_slice(&name[..end]);
                    m.push(b'\'');
                    raise(l, Fail::Arg(idx, m));
                }
            }
        }
    }
    if *setting == 0 || *setting == 1 {
        ffi::lua_pushboolean(l, *setting);
    } else {
        push_bytes(l, options[*setting as usize].as_bytes());
    }
}

const BOOL_OPTIONS: &[&str] = &["off", "on"];

unsafe extern "C-unwind" fn cfg_encode_sparse_array(l: State) -> c_int {
    let cfg = arg_init(l, 3);
    enum_option(l, 1, &mut cfg.sparse_convert, BOOL_OPTIONS);
    integer_option(l, 2, &mut cfg.sparse_ratio, 0, c_int::MAX);
    integer_option(l, 3, &mut cfg.sparse_safe, 0, c_int::MAX);
    3
}

unsafe extern "C-unwind" fn cfg_encode_max_depth(l: State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.encode_max_depth, 1, c_int::MAX);
    1
}

unsafe extern "C-unwind" fn cfg_decode_max_depth(l: State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.decode_max_depth, 1, c_int::MAX);
    1
}

unsafe extern "C-unwind" fn cfg_encode_number_precision(l: State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.precision, 1, 14);
    1
}

unsafe extern "C-unwind" fn cfg_encode_keep_buffer(l: State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.encode_keep_buffer, BOOL_OPTIONS);
    1
}

unsafe extern "C-unwind" fn cfg_encode_invalid_numbers(l: State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(
        l,
        1,
        &mut cfg.encode_invalid_numbers,
        &["off", "on", "null"],
    );
    1
}

unsafe extern "C-unwind" fn cfg_decode_invalid_numbers(l: State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.decode_invalid_numbers, BOOL_OPTIONS);
    1
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// "Cannot serialise <type of value at idx>: <reason>".
unsafe fn encode_error(l: State, idx: c_int, reason: &str) -> Fail {
    let tname = std::ffi::CStr::from_ptr(ffi::lua_typename(l, ffi::lua_type(l, idx)));
    Fail::msg(format!(
        "Cannot serialise {}: {reason}",
        tname.to_string_lossy()
    ))
}

/// Appends `n` formatted with C's `%.<prec>g`.
fn append_g(out: &mut Vec<u8>, n: f64, prec: c_int) {
    let mut buf = [0u8; 64];
    // SAFETY: snprintf writes at most buf.len() bytes, NUL included.
    let len = unsafe {
        libc::snprintf(
            buf.as_mut_ptr().cast::<c_char>(),
            buf.len(),
            c"%.*g".as_ptr(),
            prec,
            n,
        )
    };
    out.extend_from_slice(&buf[..len.clamp(0, 63) as usize]);
}

/// Appends the number at `idx` (a value or a key).
unsafe fn append_number(l: State, cfg: &Config, out: &mut Vec<u8>, idx: c_int) -> Result<(), Fail> {
    let n = ffi::lua_tonumber(l, idx);
    if !n.is_finite() {
        match cfg.encode_invalid_numbers {
            0 => return Err(encode_error(l, idx, "must not be NaN or Inf")),
            1 if n.is_nan() => {
                // Printed without the sign some platforms give NaN.
                out.extend_from_slice(b"nan");
                return Ok(());
            }
            1 => {}
            _ => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
        }
    }
    append_g(out, n, cfg.precision);
    Ok(())
}

/// Appends `s` as a JSON string.
fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 15)]);
            }
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

/// C's `(int)d` on x86-64: truncation, `i32::MIN` when out of range.
fn c_int_of(d: f64) -> c_int {
    if d > -2_147_483_649.0 && d < 2_147_483_648.0 {
        d as c_int
    } else {
        c_int::MIN
    }
}

/// The array length of the table at the top of the stack, or `None` for an object (some key is
/// not a positive integer, or the array is too sparse and conversion is on). The maximum is
/// kept in a C int like the original, so keys of 2^31 and more turn it negative (an object).
unsafe fn array_length(l: State, cfg: &Config) -> Result<Option<c_int>, Fail> {
    let mut max: c_int = 0;
    let mut items: c_int = 0;
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        let k = ffi::lua_tonumber(l, -2);
        if ffi::lua_type(l, -2) == ffi::LUA_TNUMBER && k != 0.0 && k.floor() == k && k >= 1.0 {
            if k > f64::from(max) {
                max = c_int_of(k);
            }
            items = items.wrapping_add(1);
            ffi::lua_settop(l, -2);
            continue;
        }
        ffi::lua_settop(l, -3);
        return Ok(None);
    }
    if cfg.sparse_ratio > 0 && max > items.wrapping_mul(cfg.sparse_ratio) && max > cfg.sparse_safe {
        if cfg.sparse_convert == 0 {
            return Err(encode_error(l, -1, "excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

/// A table being written: an array (next index, length) or an object (its key is on the stack).
enum Open {
    Array { i: c_int, len: c_int },
    Object,
}

/// Appends the key at -2 of an object pair (stack: table, key, value) and the colon.
unsafe fn append_key(l: State, cfg: &Config, out: &mut Vec<u8>) -> Result<(), Fail> {
    match ffi::lua_type(l, -2) {
        ffi::LUA_TNUMBER => {
            out.push(b'"');
            append_number(l, cfg, out, -2)?;
            out.extend_from_slice(b"\":");
        }
        ffi::LUA_TSTRING => {
            append_string(out, to_bytes(l, -2).unwrap_or_default());
            out.push(b':');
        }
        _ => return Err(encode_error(l, -2, "table key must be a number or string")),
    }
    Ok(())
}

/// Appends the JSON text of the value at the top of the stack (which it pops).
unsafe fn encode_value(l: State, cfg: &Config, out: &mut Vec<u8>) -> Result<(), Fail> {
    let mut open: Vec<Open> = Vec::new();
    let mut depth: c_int = 0;
    'value: loop {
        match ffi::lua_type(l, -1) {
            ffi::LUA_TSTRING => append_string(out, to_bytes(l, -1).unwrap_or_default()),
            ffi::LUA_TNUMBER => append_number(l, cfg, out, -1)?,
            ffi::LUA_TBOOLEAN => out.extend_from_slice(if ffi::lua_toboolean(l, -1) != 0 {
                b"true"
            } else {
                b"false"
            }),
            ffi::LUA_TNIL => out.extend_from_slice(b"null"),
            ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(l, -1).is_null() => {
                out.extend_from_slice(b"null")
            }
            ffi::LUA_TTABLE => {
                depth += 1;
                if depth > cfg.encode_max_depth || ffi::lua_checkstack(l, 3) == 0 {
                    return Err(Fail::msg(format!(
                        "Cannot serialise, excessive nesting ({depth})"
                    )));
                }
                match array_length(l, cfg)? {
                    Some(len) if len > 0 => {
                        out.push(b'[');
                        open.push(Open::Array { i: 1, len });
                        ffi::lua_rawgeti_(l, -1, 1);
                        continue 'value;
                    }
                    _ => {
                        out.push(b'{');
                        ffi::lua_pushnil(l);
                        if ffi::lua_next(l, -2) != 0 {
                            open.push(Open::Object);
                            append_key(l, cfg, out)?;
                            continue 'value;
                        }
                        out.push(b'}');
                        depth -= 1;
                    }
                }
            }
            _ => return Err(encode_error(l, -1, "type not supported")),
        }
        // The value on top is written: pop it and move on in the enclosing tables.
        loop {
            ffi::lua_settop(l, -2);
            match open.last_mut() {
                None => return Ok(()),
                Some(Open::Array { i, len }) => {
                    if *i < *len {
                        *i += 1;
                        out.push(b',');
                        ffi::lua_rawgeti_(l, -1, *i);
                        continue 'value;
                    }
                    out.push(b']');
                }
                Some(Open::Object) => {
                    if ffi::lua_next(l, -2) != 0 {
                        out.push(b',');
                        append_key(l, cfg, out)?;
                        continue 'value;
                    }
                    out.push(b'}');
                }
            }
            open.pop();
            depth -= 1;
        }
    }
}

/// `cjson.encode(value)`: the JSON text of `value`.
unsafe extern "C-unwind" fn encode(l: State) -> c_int {
    let cfg = config(l);
    if ffi::lua_gettop(l) != 1 {
        return raise(l, Fail::Arg(1, b"expected 1 argument".to_vec()));
    }
    let mut out = Vec::new();
    // The argument itself is the value on top (no copy: the stack depth per nesting level must
    // match the original's for `lua_checkstack`).
    match encode_value(l, cfg, &mut out) {
        Ok(()) => {
            push_bytes(l, &out);
            1
        }
        Err(f) => {
            drop(out);
            raise(l, f)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    /// A tokenizer error, with its text ("invalid token", "invalid number", ...).
    Error(&'static str),
}

impl Tok {
    /// The name the original prints for a token it did not expect.
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

/// Tokenizer state over the input (a NUL-terminated Lua string).
struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    /// The text of the last string token.
    tmp: Vec<u8>,
    invalid_numbers: bool,
    depth: c_int,
    max_depth: c_int,
}

impl Parser<'_> {
    /// The byte at `i`; 0 past the end, as the C string's terminator reads.
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.data[self.pos.min(self.data.len())..].starts_with(s)
    }

    /// Strict JSON rejects what `strtod` would accept: a leading `+`, hex, leading zeros,
    /// inf and nan.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        let rest = |w: &[u8]| {
            w.iter()
                .enumerate()
                .all(|(k, &x)| self.at(p + k).to_ascii_lowercase() == x)
        };
        rest(b"inf") || rest(b"nan")
    }

    /// Reads a number with C's `strtod` (the input is NUL-terminated, so it stops in bounds).
    fn number(&mut self) -> Tok {
        let start = self.data[self.pos..].as_ptr().cast::<c_char>();
        let mut end: *mut c_char = std::ptr::null_mut();
        // SAFETY: `data` is a Lua string, which always has a NUL after its last byte.
        let v = unsafe { libc::strtod(start, &mut end) };
        let used = (end as usize).wrapping_sub(start as usize);
        if end.is_null() || used == 0 || used > self.data.len() - self.pos {
            return Tok::Error("invalid number");
        }
        self.pos += used;
        Tok::Num(v)
    }

    /// Appends the UTF-8 of the `\uXXXX` escape (or surrogate pair) at `pos`; false if invalid.
    fn unicode_escape(&mut self) -> bool {
        let hex4 = |p: usize| -> Option<u32> {
            (0..4).try_fold(0u32, |a, k| {
                char::from(self.at(p + k))
                    .to_digit(16)
                    .map(|d| (a << 4) | d)
            })
        };
        let Some(mut cp) = hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xf800 == 0xd800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xfc00 != 0xdc00 {
                return false;
            }
            cp = (((cp & 0x3ff) << 10) | (low & 0x3ff)) + 0x10000;
            len = 12;
        }
        let Some(ch) = char::from_u32(cp) else {
            return false;
        };
        let mut buf = [0u8; 4];
        self.tmp
            .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        self.pos += len;
        true
    }

    /// Reads a string token (at its opening quote) into `tmp`.
    fn string(&mut self) -> Tok {
        self.pos += 1;
        self.tmp.clear();
        loop {
            let c = self.at(self.pos);
            match c {
                b'"' => break,
                0 => return Tok::Error("unexpected end of string"),
                b'\\' => {
                    let e = match self.at(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => b'\x08',
                        b'f' => b'\x0c',
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            if self.unicode_escape() {
                                continue;
                            }
                            return Tok::Error("invalid unicode escape code");
                        }
                        _ => return Tok::Error("invalid escape code"),
                    };
                    self.tmp.push(e);
                    self.pos += 2;
                }
                _ => {
                    self.tmp.push(c);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Tok::Str
    }

    /// The next token and the index where it starts (for an error token: where it failed).
    fn next(&mut self) -> (Tok, usize) {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let start = self.pos;
        let single = match self.at(self.pos) {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            0 => return (Tok::End, start),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return (t, start);
        }
        let c = self.at(self.pos);
        let tok = match c {
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => {
                if !self.invalid_numbers && self.is_invalid_number() {
                    Tok::Error("invalid number")
                } else {
                    self.number()
                }
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                if self.starts_with(b"true") {
                    self.pos += 4;
                    Tok::Bool(true)
                } else if self.starts_with(b"false") {
                    self.pos += 5;
                    Tok::Bool(false)
                } else if self.starts_with(b"null") {
                    self.pos += 4;
                    Tok::Null
                } else if self.invalid_numbers && self.is_invalid_number() {
                    self.number()
                } else {
                    Tok::Error("invalid token")
                }
            }
            _ => Tok::Error("invalid token"),
        };
        // Errors are reported where the tokenizer stopped; good tokens where they started.
        let index = if matches!(tok, Tok::Error(_)) {
            self.pos
        } else {
            start
        };
        (tok, index)
    }

    fn expected(&self, what: &str, (tok, index): (Tok, usize)) -> Fail {
        Fail::msg(format!(
            "Expected {what} but found {} at character {}",
            tok.name(),
            index + 1
        ))
    }

    /// Enters an object or array needing `slots` Lua stack slots.
    unsafe fn descend(&mut self, l: State, slots: c_int) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth <= self.max_depth && ffi::lua_checkstack(l, slots) != 0 {
            return Ok(());
        }
        Err(Fail::msg(format!(
            "Found too many nested data structures ({}) at character {}",
            self.depth, self.pos
        )))
    }
}

/// An object or array being filled; its table is on the Lua stack (objects: with the key).
enum Nest {
    Array(c_int),
    Object,
}

/// Parses the whole input and pushes the value.
unsafe fn decode_all(l: State, p: &mut Parser<'_>) -> Result<(), Fail> {
    let mut nest: Vec<Nest> = Vec::new();
    let mut tok = p.next();
    'value: loop {
        match tok.0 {
            Tok::Str => push_bytes(l, &p.tmp),
            Tok::Num(n) => ffi::lua_pushnumber(l, n),
            Tok::Bool(b) => ffi::lua_pushboolean(l, c_int::from(b)),
            Tok::Null => ffi::lua_pushlightuserdata(l, std::ptr::null_mut()),
            Tok::ObjBegin => {
                p.descend(l, 3)?;
                ffi::lua_createtable(l, 0, 0);
                tok = p.next();
                if tok.0 == Tok::ObjEnd {
                    p.depth -= 1;
                } else {
                    nest.push(Nest::Object);
                    tok = object_key(l, p, tok)?;
                    continue 'value;
                }
            }
            Tok::ArrBegin => {
                p.descend(l, 2)?;
                ffi::lua_createtable(l, 0, 0);
                tok = p.next();
                if tok.0 == Tok::ArrEnd {
                    p.depth -= 1;
                } else {
                    nest.push(Nest::Array(1));
                    continue 'value;
                }
            }
            _ => return Err(p.expected("value", tok)),
        }
        // A value is complete on top of the stack: store it and read what follows.
        loop {
            match nest.last_mut() {
                None => break 'value,
                Some(Nest::Array(i)) => {
                    ffi::lua_rawseti_(l, -2, *i);
                    tok = p.next();
                    if tok.0 != Tok::ArrEnd {
                        if tok.0 != Tok::Comma {
                            return Err(p.expected("comma or array end", tok));
                        }
                        *i = i.wrapping_add(1);
                        tok = p.next();
                        continue 'value;
                    }
                }
                Some(Nest::Object) => {
                    ffi::lua_rawset(l, -3);
                    tok = p.next();
                    if tok.0 != Tok::ObjEnd {
                        if tok.0 != Tok::Comma {
                            return Err(p.expected("comma or object end", tok));
                        }
                        tok = p.next();
                        tok = object_key(l, p, tok)?;
                        continue 'value;
                    }
                }
            }
            nest.pop();
            p.depth -= 1;
        }
    }
    let tok = p.next();
    if tok.0 != Tok::End {
        return Err(p.expected("the end", tok));
    }
    Ok(())
}

/// Pushes the key `tok` must be, checks the colon, and returns the value's first token.
unsafe fn object_key(
    l: State,
    p: &mut Parser<'_>,
    tok: (Tok, usize),
) -> Result<(Tok, usize), Fail> {
    if tok.0 != Tok::Str {
        return Err(p.expected("object key string", tok));
    }
    push_bytes(l, &p.tmp);
    let colon = p.next();
    if colon.0 != Tok::Colon {
        return Err(p.expected("colon", colon));
    }
    Ok(p.next())
}

/// `cjson.decode(text)`: the Lua value of a JSON text (`null` is `cjson.null`).
unsafe extern "C-unwind" fn decode(l: State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        return raise(l, Fail::Arg(1, b"expected 1 argument".to_vec()));
    }
    let cfg = config(l);
    ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    let data = to_bytes(l, 1).unwrap_or_default();
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return raise(
            l,
            Fail::msg("JSON parser does not support UTF-16 or UTF-32"),
        );
    }
    let mut p = Parser {
        data,
        pos: 0,
        tmp: Vec::new(),
        invalid_numbers: cfg.decode_invalid_numbers != 0,
        depth: 0,
        max_depth: cfg.decode_max_depth,
    };
    let r = decode_all(l, &mut p);
    drop(p);
    match r {
        Ok(()) => 1,
        Err(f) => raise(l, f),
    }
}

// ---------------------------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------------------------

/// `cjson.new()`: a fresh module table with default settings.
unsafe extern "C-unwind" fn new(l: State) -> c_int {
    open(l);
    1
}

/// Pushes a `cjson` module table with its own settings.
pub(crate) unsafe fn open(l: State) {
    let funcs: [(&std::ffi::CStr, ffi::lua_CFunction); 10] = [
        (c"encode", encode),
        (c"decode", decode),
        (c"encode_sparse_array", cfg_encode_sparse_array),
        (c"encode_max_depth", cfg_encode_max_depth),
        (c"decode_max_depth", cfg_decode_max_depth),
        (c"encode_number_precision", cfg_encode_number_precision),
        (c"encode_keep_buffer", cfg_encode_keep_buffer),
        (c"encode_invalid_numbers", cfg_encode_invalid_numbers),
        (c"decode_invalid_numbers", cfg_decode_invalid_numbers),
        (c"new", new),
    ];
    ffi::lua_createtable(l, 0, 0);
    let ud = ffi::lua_newuserdata(l, std::mem::size_of::<Config>()).cast::<Config>();
    ud.write(Config::new());
    for (name, f) in funcs {
        ffi::lua_pushvalue(l, -1);
        ffi::lua_pushcclosure(l, f, 1);
        ffi::lua_setfield(l, -3, name.as_ptr());
    }
    ffi::lua_settop(l, -2);
    ffi::lua_pushlightuserdata(l, std::ptr::null_mut());
    ffi::lua_setfield(l, -2, c"null".as_ptr());
    set_str(l, c"_NAME", "cjson");
    set_str(l, c"_VERSION", "2.1.0");
}

#[cfg(test)]
mod tests {
    use super::super::testutil::check;

    /// Expected values are redis-server 7.0.15's answers to the same snippets, run in order on
    /// one fresh state (settings changes carry over, as they do in Redis).
    #[test]
    fn cjson_matches_redis() {
        check(&[
            (
                r#"return cjson.encode({1, 2, {a = 1}})"#,
                r#"[1,2,{"a":1}]"#,
            ),
            (r#"return cjson.encode({})"#, r#"{}"#),
            (r#"return cjson.encode(1)"#, r#"1"#),
            (r#"return cjson.encode(-1)"#, r#"-1"#),
            (r#"return cjson.encode(0.1)"#, r#"0.1"#),
            (r#"return cjson.encode(1/3)"#, r#"0.33333333333333"#),
            (r#"return cjson.encode(-0.0)"#, r#"-0"#),
            (r#"return cjson.encode(1e20)"#, r#"1e+20"#),
            (r#"return cjson.encode(1e15)"#, r#"1e+15"#),
            (
                r#"return cjson.encode(123456789012345)"#,
                r#"1.2345678901234e+14"#,
            ),
            (
                r#"return cjson.encode(1234567890123456)"#,
                r#"1.2345678901235e+15"#,
            ),
            (r#"return cjson.encode(2^53)"#, r#"9.007199254741e+15"#),
            (r#"return cjson.encode(1e-5)"#, r#"1e-05"#),
            (r#"return cjson.encode(1e300)"#, r#"1e+300"#),
            (
                r#"return cjson.encode(1/0)"#,
                r#"ERR:user_script:1: Cannot serialise number: must not be NaN or Inf"#,
            ),
            (
                r#"return cjson.encode(-1/0)"#,
                r#"ERR:user_script:1: Cannot serialise number: must not be NaN or Inf"#,
            ),
            (
                r#"return cjson.encode(0/0)"#,
                r#"ERR:user_script:1: Cannot serialise number: must not be NaN or Inf"#,
            ),
            (
                r#"return cjson.encode({1/0})"#,
                r#"ERR:user_script:1: Cannot serialise number: must not be NaN or Inf"#,
            ),
            (r#"return cjson.encode(true)"#, r#"true"#),
            (r#"return cjson.encode(false)"#, r#"false"#),
            (r#"return cjson.encode(nil)"#, r#"null"#),
            (
                r#"return cjson.encode()"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode' (expected 1 argument)"#,
            ),
            (
                r#"return cjson.encode(1, 2)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode' (expected 1 argument)"#,
            ),
            (r#"return cjson.encode(cjson.null)"#, r#"null"#),
            (r#"return cjson.encode({cjson.null, 1})"#, r#"[null,1]"#),
            (r#"return cjson.encode('abc')"#, r#""abc""#),
            (r#"return cjson.encode('a"b\\c/d')"#, r#""a\"b\\c\/d""#),
            (
                r#"return cjson.encode('\0\1\2\8\9\10\11\12\13\14\31\32\127\128\255')"#,
                r#""\u0000\u0001\u0002\b\t\n\u000b\f\r\u000e\u001f \u007f��""#,
            ),
            (r#"return cjson.encode('\226\130\172')"#, r#""€""#),
            (r#"return cjson.encode({a = 'x'})"#, r#"{"a":"x"}"#),
            (
                r#"return cjson.encode({[1] = 'a', [2] = 'b', [3] = 'c'})"#,
                r#"["a","b","c"]"#,
            ),
            (
                r#"return cjson.encode({[1] = 'a', [3] = 'c'})"#,
                r#"["a",null,"c"]"#,
            ),
            (r#"return cjson.encode({[2] = 'b'})"#, r#"[null,"b"]"#),
            (
                r#"return cjson.encode({[1] = 'a', [2] = 'b', [4] = 'c'})"#,
                r#"["a","b",null,"c"]"#,
            ),
            (
                r#"return cjson.encode({[1] = 'a', [11] = 'b'})"#,
                r#"ERR:user_script:1: Cannot serialise table: excessively sparse array"#,
            ),
            (
                r#"return cjson.encode({[10] = 'b'})"#,
                r#"[null,null,null,null,null,null,null,null,null,"b"]"#,
            ),
            (
                r#"return cjson.encode({[11] = 'b'})"#,
                r#"ERR:user_script:1: Cannot serialise table: excessively sparse array"#,
            ),
            (
                r#"return cjson.encode({[1]=1,[2]=2,[3]=3,[4]=4,[5]=5,[6]=6,[20]=20})"#,
                r#"ERR:user_script:1: Cannot serialise table: excessively sparse array"#,
            ),
            (
                r#"return cjson.encode({[1]=1,[2]=2,[3]=3,[4]=4,[5]=5,[6]=6,[12]=12})"#,
                r#"[1,2,3,4,5,6,null,null,null,null,null,12]"#,
            ),
            (r#"return cjson.encode({[0] = 'z'})"#, r#"{"0":"z"}"#),
            (r#"return cjson.encode({[-1] = 'z'})"#, r#"{"-1":"z"}"#),
            (r#"return cjson.encode({[1.5] = 'z'})"#, r#"{"1.5":"z"}"#),
            (
                r#"return cjson.encode({[1] = 'a', x = 'b'})"#,
                r#"{"1":"a","x":"b"}"#,
            ),
            (
                r#"return cjson.encode({[true] = 1})"#,
                r#"ERR:user_script:1: Cannot serialise boolean: table key must be a number or string"#,
            ),
            (
                r#"return cjson.encode({[{}] = 1})"#,
                r#"ERR:user_script:1: Cannot serialise table: table key must be a number or string"#,
            ),
            (r#"return cjson.encode({[1e20] = 1})"#, r#"{"1e+20":1}"#),
            (r#"return cjson.encode({[0.1] = 1})"#, r#"{"0.1":1}"#),
            (
                r#"return cjson.encode({[2^53] = 1})"#,
                r#"{"9.007199254741e+15":1}"#,
            ),
            (r#"return cjson.encode({1, nil, 3})"#, r#"[1,null,3]"#),
            (r#"return cjson.encode({nil, nil, 3})"#, r#"[null,null,3]"#),
            (
                r#"return cjson.encode(function() end)"#,
                r#"ERR:user_script:1: Cannot serialise function: type not supported"#,
            ),
            (
                r#"return cjson.encode({f = function() end})"#,
                r#"ERR:user_script:1: Cannot serialise function: type not supported"#,
            ),
            (
                r#"return cjson.encode(coroutine.create(function() end))"#,
                r#"ERR:user_script:1: Cannot serialise thread: type not supported"#,
            ),
            (r#"return cjson.encode({{{{}}}})"#, r#"[[[{}]]]"#),
            (
                r#"return cjson.encode({a = {b = {c = {}}}})"#,
                r#"{"a":{"b":{"c":{}}}}"#,
            ),
            (
                r#"return cjson.encode(setmetatable({}, {__index = function() return 1 end}))"#,
                r#"{}"#,
            ),
            (
                r#"return cjson.encode(setmetatable({1}, {__len = function() return 5 end}))"#,
                r#"[1]"#,
            ),
            (
                r#"return cjson.encode({'a', {'b', {c = true}}, false})"#,
                r#"["a",["b",{"c":true}],false]"#,
            ),
            (
                r#"return cjson._NAME .. ' ' .. cjson._VERSION"#,
                r#"cjson 2.1.0"#,
            ),
            (
                r#"return type(cjson.null) .. tostring(cjson.null == nil)"#,
                r#"userdatafalse"#,
            ),
            (r#"return tostring(cjson.null)"#, r#"userdata: (nil)"#),
            (r#"return type(cjson.new)"#, r#"function"#),
            (r#"return type(cjson.new())"#, r#"table"#),
            (r#"return cjson.new() == cjson"#, r#"false"#),
            (r#"return cjson.new().encode({1})"#, r#"[1]"#),
            (r#"return cjson.new().null == cjson.null"#, r#"true"#),
            (r#"return cjson.decode('null') == cjson.null"#, r#"true"#),
            (r#"return type(cjson.decode('null'))"#, r#"userdata"#),
            (r#"return cjson.decode('1')"#, r#"1"#),
            (r#"return cjson.decode('-1.5e3')"#, r#"-1500"#),
            (r#"return cjson.decode('  "abc"  ')"#, r#"abc"#),
            (r#"return cjson.decode('true')"#, r#"true"#),
            (r#"return cjson.decode('false')"#, r#"false"#),
            (r#"return cjson.decode('0x10')"#, r#"16"#),
            (r#"return cjson.decode('0X1F')"#, r#"31"#),
            (r#"return cjson.decode('-0x10')"#, r#"-16"#),
            (r#"return cjson.decode('inf')"#, r#"inf"#),
            (r#"return cjson.decode('-inf')"#, r#"-inf"#),
            (r#"return cjson.decode('nan')"#, r#"nan"#),
            (r#"return cjson.decode('NaN')"#, r#"nan"#),
            (r#"return cjson.decode('Infinity')"#, r#"inf"#),
            (r#"return cjson.decode('-Infinity')"#, r#"-inf"#),
            (r#"return cjson.decode('infinity')"#, r#"inf"#),
            (r#"return cjson.decode('+1')"#, r#"1"#),
            (r#"return cjson.decode('01')"#, r#"1"#),
            (r#"return cjson.decode('1.')"#, r#"1"#),
            (
                r#"return cjson.decode('.5')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('1e')"#,
                r#"ERR:user_script:1: Expected the end but found invalid token at character 2"#,
            ),
            (
                r#"return cjson.decode('1e5x')"#,
                r#"ERR:user_script:1: Expected the end but found invalid token at character 4"#,
            ),
            (
                r#"return cjson.decode('12345678901234567890')"#,
                r#"1.2345678901235e+19"#,
            ),
            (r#"return cjson.decode('1e400')"#, r#"inf"#),
            (
                r#"return cjson.decode('-')"#,
                r#"ERR:user_script:1: Expected value but found invalid number at character 1"#,
            ),
            (
                r#"return cjson.decode('x')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('')"#,
                r#"ERR:user_script:1: Expected value but found T_END at character 1"#,
            ),
            (
                r#"return cjson.decode('   ')"#,
                r#"ERR:user_script:1: Expected value but found T_END at character 4"#,
            ),
            (
                r#"return cjson.decode('[')"#,
                r#"ERR:user_script:1: Expected value but found T_END at character 2"#,
            ),
            (
                r#"return cjson.decode('[1,')"#,
                r#"ERR:user_script:1: Expected value but found T_END at character 4"#,
            ),
            (
                r#"return cjson.decode('[1,]')"#,
                r#"ERR:user_script:1: Expected value but found T_ARR_END at character 4"#,
            ),
            (
                r#"return cjson.decode('[1 2]')"#,
                r#"ERR:user_script:1: Expected comma or array end but found T_NUMBER at character 4"#,
            ),
            (
                r#"return cjson.decode(']')"#,
                r#"ERR:user_script:1: Expected value but found T_ARR_END at character 1"#,
            ),
            (
                r#"return cjson.decode('{')"#,
                r#"ERR:user_script:1: Expected object key string but found T_END at character 2"#,
            ),
            (
                r#"return cjson.decode('{"a"')"#,
                r#"ERR:user_script:1: Expected colon but found T_END at character 5"#,
            ),
            (
                r#"return cjson.decode('{"a":')"#,
                r#"ERR:user_script:1: Expected value but found T_END at character 6"#,
            ),
            (
                r#"return cjson.decode('{"a":1')"#,
                r#"ERR:user_script:1: Expected comma or object end but found T_END at character 7"#,
            ),
            (
                r#"return cjson.decode('{"a":1,}')"#,
                r#"ERR:user_script:1: Expected object key string but found T_OBJ_END at character 8"#,
            ),
            (
                r#"return cjson.decode('{"a" 1}')"#,
                r#"ERR:user_script:1: Expected colon but found T_NUMBER at character 6"#,
            ),
            (
                r#"return cjson.decode('{1:2}')"#,
                r#"ERR:user_script:1: Expected object key string but found T_NUMBER at character 2"#,
            ),
            (
                r#"return cjson.decode('{"a":1 "b"}')"#,
                r#"ERR:user_script:1: Expected comma or object end but found T_STRING at character 8"#,
            ),
            (
                r#"return cjson.decode('1 2')"#,
                r#"ERR:user_script:1: Expected the end but found T_NUMBER at character 3"#,
            ),
            (
                r#"return cjson.decode('"abc')"#,
                r#"ERR:user_script:1: Expected value but found unexpected end of string at character 5"#,
            ),
            (
                r#"return cjson.decode('"a\\qb"')"#,
                r#"ERR:user_script:1: Expected value but found invalid escape code at character 3"#,
            ),
            (r#"return cjson.decode('"\\u00e9"')"#, r#"é"#),
            (r#"return cjson.decode('"\\u20AC"')"#, r#"€"#),
            (r#"return cjson.decode('"\\ud83d\\ude00"')"#, r#"😀"#),
            (
                r#"return cjson.decode('"\\ud83d"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (
                r#"return cjson.decode('"\\ude00"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (
                r#"return cjson.decode('"\\ud83dx"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (
                r#"return cjson.decode('"\\ud83d\\u0041"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (
                r#"return cjson.decode('"\\u12"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (
                r#"return cjson.decode('"\\u12g4"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (
                r#"return hex(cjson.decode('"a\\/b\\"c\\\\d\\b\\f\\n\\r\\t"'))"#,
                r#"612f6222635c64080c0a0d09"#,
            ),
            (r#"return cjson.decode('"a\1b"')"#, r#"ab"#),
            (r#"return cjson.decode('"a\31b"')"#, r#"ab"#),
            (r#"return cjson.decode('"a\127b"')"#, r#"ab"#),
            (
                r#"return cjson.decode('tru')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('nul')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('truex')"#,
                r#"ERR:user_script:1: Expected the end but found invalid token at character 5"#,
            ),
            (r#"return cjson.decode('"\\u0041"')"#, r#"A"#),
            (
                r#"return cjson.encode(cjson.decode('[1,2,3]'))"#,
                r#"[1,2,3]"#,
            ),
            (
                r#"return cjson.encode(cjson.decode('{"a":[1,{"b":null}],"c":"d"}'))"#,
                r#"{"a":[1,{"b":null}],"c":"d"}"#,
            ),
            (r#"return cjson.encode(cjson.decode('[]'))"#, r#"{}"#),
            (r#"return cjson.encode(cjson.decode('{}'))"#, r#"{}"#),
            (
                r#"return cjson.encode(cjson.decode('[null,null]'))"#,
                r#"[null,null]"#,
            ),
            (r#"return #cjson.decode('[null,null,1]')"#, r#"3"#),
            (
                r#"return cjson.decode('{"a":null}').a == cjson.null"#,
                r#"true"#,
            ),
            (r#"return cjson.decode('{"1":2}')['1']"#, r#"2"#),
            (r#"return cjson.decode('{"a":1,"a":2}').a"#, r#"2"#),
            (
                r#"return cjson.decode()"#,
                r#"ERR:user_script:1: bad argument #1 to 'decode' (expected 1 argument)"#,
            ),
            (r#"return cjson.decode(1)"#, r#"1"#),
            (
                r#"return cjson.decode({})"#,
                r#"ERR:user_script:1: bad argument #1 to 'decode' (string expected, got table)"#,
            ),
            (
                r#"return cjson.decode(nil)"#,
                r#"ERR:user_script:1: bad argument #1 to 'decode' (string expected, got nil)"#,
            ),
            (
                r#"return cjson.decode('1', 2)"#,
                r#"ERR:user_script:1: bad argument #1 to 'decode' (expected 1 argument)"#,
            ),
            (
                r#"return cjson.decode('\0')"#,
                r#"ERR:user_script:1: Expected value but found T_END at character 1"#,
            ),
            (
                r#"return cjson.decode('"a\0b"')"#,
                r#"ERR:user_script:1: Expected value but found unexpected end of string at character 3"#,
            ),
            (
                r#"return cjson.decode('a\0')"#,
                r#"ERR:user_script:1: JSON parser does not support UTF-16 or UTF-32"#,
            ),
            (
                r#"return cjson.decode('\0a')"#,
                r#"ERR:user_script:1: JSON parser does not support UTF-16 or UTF-32"#,
            ),
            (
                r#"return cjson.decode('  \0a')"#,
                r#"ERR:user_script:1: Expected value but found T_END at character 3"#,
            ),
            (
                r#"return cjson.decode('[1,2')"#,
                r#"ERR:user_script:1: Expected comma or array end but found T_END at character 5"#,
            ),
            (
                r#"return cjson.decode('{"a":1}x')"#,
                r#"ERR:user_script:1: Expected the end but found invalid token at character 8"#,
            ),
            (
                r#"return cjson.decode('[1] x')"#,
                r#"ERR:user_script:1: Expected the end but found invalid token at character 5"#,
            ),
            (
                r#"return cjson.decode('@')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('[1,,2]')"#,
                r#"ERR:user_script:1: Expected value but found T_COMMA at character 4"#,
            ),
            (
                r#"return cjson.decode('"\\u00"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (r#"return cjson.encode(cjson.decode('1.5'))"#, r#"1.5"#),
            (
                r#"return cjson.encode(cjson.decode('"\\ud83d\\ude00"'))"#,
                r#""😀""#,
            ),
            (r#"return cjson.encode(cjson.decode('1E2'))"#, r#"100"#),
            (r#"return cjson.encode(cjson.decode('-0'))"#, r#"-0"#),
            (r#"return cjson.decode('1e+2')"#, r#"100"#),
            (r#"return cjson.decode('[1e-2]')[1]"#, r#"0.01"#),
            (
                r#"return cjson.decode('"\\uD83D\\uDE00"') == '\240\159\152\128'"#,
                r#"true"#,
            ),
            (r#"return cjson.decode('[true,false]')[2]"#, r#"false"#),
            (r#"return cjson.decode('\t\n\r [1]')[1]"#, r#"1"#),
            (
                r#"return cjson.decode('\f[1]')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('\v[1]')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (r#"return hex(cjson.decode('"\\u0000"'))"#, r#"00"#),
            (
                r#"return hex(cjson.decode('"a\\u0000b\\u001f"'))"#,
                r#"6100621f"#,
            ),
            (r#"return type(cjson.decode('[1]\0'))"#, r#"table"#),
            (r#"return cjson.decode(' [1,2] ')[2]"#, r#"2"#),
            (r#"return cjson.decode('0x10')"#, r#"16"#),
            (r#"return cjson.decode('0X1F')"#, r#"31"#),
            (r#"return cjson.decode('-0x10')"#, r#"-16"#),
            (
                r#"return cjson.decode('0x')"#,
                r#"ERR:user_script:1: Expected the end but found invalid token at character 2"#,
            ),
            (r#"return cjson.decode('inf')"#, r#"inf"#),
            (r#"return cjson.decode('-inf')"#, r#"-inf"#),
            (r#"return cjson.decode('nan')"#, r#"nan"#),
            (r#"return cjson.decode('-nan')"#, r#"-nan"#),
            (r#"return cjson.decode('NaN')"#, r#"nan"#),
            (r#"return cjson.decode('Infinity')"#, r#"inf"#),
            (r#"return cjson.decode('-Infinity')"#, r#"-inf"#),
            (r#"return cjson.decode('INF')"#, r#"inf"#),
            (r#"return cjson.decode('+1')"#, r#"1"#),
            (r#"return cjson.decode('01')"#, r#"1"#),
            (r#"return cjson.decode('-01')"#, r#"-1"#),
            (r#"return cjson.decode('00')"#, r#"0"#),
            (r#"return cjson.decode('[0x10]')[1]"#, r#"16"#),
            (
                r#"return cjson.decode('1.5e3x')"#,
                r#"ERR:user_script:1: Expected the end but found invalid token at character 6"#,
            ),
            (r#"return cjson.decode('0x1p4')"#, r#"16"#),
            (
                r#"return cjson.decode('1_000')"#,
                r#"ERR:user_script:1: Expected the end but found invalid token at character 2"#,
            ),
            (
                r#"return cjson.decode('in')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('nanx')"#,
                r#"ERR:user_script:1: Expected the end but found invalid token at character 4"#,
            ),
            (
                r#"return cjson.decode('n')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('f')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('fals')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('"a\\')"#,
                r#"ERR:user_script:1: Expected value but found invalid escape code at character 3"#,
            ),
            (
                r#"return cjson.decode('"\\')"#,
                r#"ERR:user_script:1: Expected value but found invalid escape code at character 2"#,
            ),
            (
                r#"return cjson.decode('[1,2,3')"#,
                r#"ERR:user_script:1: Expected comma or array end but found T_END at character 7"#,
            ),
            (
                r#"return cjson.decode('{"a":{"b":[1,2,{"c":"d"}]}}').a.b[3].c"#,
                r#"d"#,
            ),
            (
                r#"return cjson.decode('[1,[2,[3,[4]]]]')[2][2][2][1]"#,
                r#"4"#,
            ),
            (
                r#"return cjson.encode(cjson.decode('[1,[2,[3,[4]]]]'))"#,
                r#"[1,[2,[3,[4]]]]"#,
            ),
            (
                r#"return cjson.encode(cjson.decode('{"a":[1,{"b":null}],"c":"d"}'))"#,
                r#"{"a":[1,{"b":null}],"c":"d"}"#,
            ),
            (
                r#"return cjson.encode(cjson.decode('{"k":[true,false,null,"s",1.25]}'))"#,
                r#"{"k":[true,false,null,"s",1.25]}"#,
            ),
            (
                r#"return cjson.decode('"\\u00ff\\u0100\\u07ff\\u0800\\uffff"') == '\195\191\196\128\223\191\224\160\128\239\191\191'"#,
                r#"true"#,
            ),
            (
                r#"return cjson.decode('"\\udbff\\udfff"') == '\244\143\191\191'"#,
                r#"true"#,
            ),
            (
                r#"return cjson.decode('"\\uDC00\\uD800"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (
                r#"return cjson.decode('"\\ud800\\ud800"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (
                r#"return cjson.decode('"\\ud800\\"')"#,
                r#"ERR:user_script:1: Expected value but found invalid unicode escape code at character 2"#,
            ),
            (
                r#"return hex(cjson.encode(cjson.decode('"\\ud83d\\ude00 \\t"')))"#,
                r#"22f09f9880205c7422"#,
            ),
            (
                r#"return hex(cjson.encode(cjson.decode('"\\u007f\\u0080"')))"#,
                r#"225c7530303766c28022"#,
            ),
            (
                r#"return cjson.encode({[1/0] = 1})"#,
                r#"ERR:user_script:1: Cannot serialise number: must not be NaN or Inf"#,
            ),
            (
                r#"return cjson.encode({[-1/0] = 1})"#,
                r#"ERR:user_script:1: Cannot serialise number: must not be NaN or Inf"#,
            ),
            (
                r#"return cjson.encode({[2^53] = 1})"#,
                r#"{"9.007199254741e+15":1}"#,
            ),
            (
                r#"return cjson.encode({[2^31] = 1})"#,
                r#"{"2147483648":1}"#,
            ),
            (
                r#"return cjson.encode({[2^31 - 1] = 1})"#,
                r#"ERR:user_script:1: Cannot serialise table: excessively sparse array"#,
            ),
            (
                r#"return cjson.encode({[1] = 1, [2^31] = 1})"#,
                r#"{"1":1,"2147483648":1}"#,
            ),
            (
                r#"return cjson.encode({[1] = 1, [2] = 2, ['3'] = 3})"#,
                r#"{"1":1,"2":2,"3":3}"#,
            ),
            (
                r#"return cjson.encode({[1] = 1, [2] = 2, [2.5] = 3})"#,
                r#"{"1":1,"2":2,"2.5":3}"#,
            ),
            (
                r#"return cjson.encode({[1] = {}, [2] = {{}}})"#,
                r#"[{},[{}]]"#,
            ),
            (
                r#"return cjson.encode(12345678901234567890)"#,
                r#"1.2345678901235e+19"#,
            ),
            (r#"return cjson.encode(-1e-300)"#, r#"-1e-300"#),
            (r#"return cjson.encode(5e-324)"#, r#"4.9406564584125e-324"#),
            (r#"return cjson.encode(100)"#, r#"100"#),
            (r#"return cjson.encode(2^63)"#, r#"9.2233720368548e+18"#),
            (r#"return cjson.encode(-2^63)"#, r#"-9.2233720368548e+18"#),
            (r#"return cjson.encode(0.1 + 0.2)"#, r#"0.3"#),
            (r#"return cjson.encode(1e21)"#, r#"1e+21"#),
            (r#"return cjson.encode(123.456)"#, r#"123.456"#),
            (r#"return cjson.encode({'\1'})"#, r#"["\u0001"]"#),
            (
                r#"return cjson.encode({['a"b'] = 'c\\d'})"#,
                r#"{"a\"b":"c\\d"}"#,
            ),
            (r#"return cjson.encode({['/'] = '/'})"#, r#"{"\/":"\/"}"#),
            (
                r#"return cjson.encode(string.rep('ab', 5))"#,
                r#""ababababab""#,
            ),
            (
                r#"return cjson.encode(setmetatable({}, {__index = function() return 1 end}))"#,
                r#"{}"#,
            ),
            (
                r#"return cjson.encode({a = {1, 2}, b = {}})"#,
                r#"{"a":[1,2],"b":{}}"#,
            ),
            (r#"return cjson.encode({cjson.null})"#, r#"[null]"#),
            (r#"return cjson.encode({a = cjson.null})"#, r#"{"a":null}"#),
            (
                r#"return cjson.decode(cjson.encode('\0\1\127\255 "/\\')) == '\0\1\127\255 "/\\'"#,
                r#"true"#,
            ),
            (r#"return cjson.decode('{"":""}')['']"#, r#""#),
            (r#"return cjson.decode('""')"#, r#""#),
            (r#"return cjson.decode('   1   ')"#, r#"1"#),
            (r#"return cjson.decode('[ ]')[1]"#, r#"nil"#),
            (r#"return cjson.decode('{ }').x"#, r#"nil"#),
            (r#"return cjson.decode('[1 , 2 ]')[2]"#, r#"2"#),
            (r#"return cjson.decode('{ "a" : 1 }').a"#, r#"1"#),
            (r#"return cjson.encode_keep_buffer()"#, r#"true"#),
            (r#"return cjson.encode_keep_buffer(false)"#, r#"false"#),
            (r#"return cjson.encode_keep_buffer(true)"#, r#"true"#),
            (r#"return cjson.encode_keep_buffer('off')"#, r#"false"#),
            (r#"return cjson.encode_keep_buffer('on')"#, r#"true"#),
            (
                r#"return cjson.encode_keep_buffer('x')"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_keep_buffer' (invalid option 'x')"#,
            ),
            (
                r#"return cjson.encode_keep_buffer(1, 2)"#,
                r#"ERR:user_script:1: bad argument #2 to 'encode_keep_buffer' (found too many arguments)"#,
            ),
            (
                r#"return cjson.encode_keep_buffer({})"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_keep_buffer' (string expected, got table)"#,
            ),
            (r#"return cjson.encode_max_depth()"#, r#"1000"#),
            (r#"return cjson.encode_max_depth(5)"#, r#"5"#),
            (r#"return cjson.encode({{{{{1}}}}})"#, r#"[[[[[1]]]]]"#),
            (
                r#"return cjson.encode({{{{{{1}}}}}})"#,
                r#"ERR:user_script:1: Cannot serialise, excessive nesting (6)"#,
            ),
            (
                r#"return cjson.encode({a={b={c={d={e={f=1}}}}}})"#,
                r#"ERR:user_script:1: Cannot serialise, excessive nesting (6)"#,
            ),
            (
                r#"return cjson.encode_max_depth(0)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)"#,
            ),
            (
                r#"return cjson.encode_max_depth(-1)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)"#,
            ),
            (
                r#"return cjson.encode_max_depth('x')"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_max_depth' (number expected, got string)"#,
            ),
            (r#"return cjson.encode_max_depth('7')"#, r#"7"#),
            (
                r#"return cjson.encode_max_depth(2^31)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)"#,
            ),
            (r#"return cjson.encode_max_depth(2^32 + 3)"#, r#"3"#),
            (
                r#"return cjson.encode_max_depth(1e300)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)"#,
            ),
            (
                r#"return cjson.encode_max_depth(2^31 - 1)"#,
                r#"2147483647"#,
            ),
            (r#"return cjson.encode_max_depth(1.5)"#, r#"1"#),
            (r#"return cjson.encode_max_depth(nil)"#, r#"1"#),
            (r#"return cjson.encode({1})"#, r#"[1]"#),
            (
                r#"return cjson.encode({{1}})"#,
                r#"ERR:user_script:1: Cannot serialise, excessive nesting (2)"#,
            ),
            (
                r#"return cjson.encode_max_depth(1, 2)"#,
                r#"ERR:user_script:1: bad argument #2 to 'encode_max_depth' (found too many arguments)"#,
            ),
            (r#"return cjson.encode_max_depth(100000)"#, r#"100000"#),
            (
                r#"return #cjson.encode((function() local t = {} for i = 1, 7996 do t = {t} end return t end)())"#,
                r#"15994"#,
            ),
            (
                r#"return cjson.encode((function() local t = {} for i = 1, 7997 do t = {t} end return t end)())"#,
                r#"ERR:user_script:1: Cannot serialise, excessive nesting (7998)"#,
            ),
            (
                r#"return #cjson.encode((function() local t = {} for i = 1, 3998 do t = {a = t} end return t end)())"#,
                r#"23990"#,
            ),
            (
                r#"return cjson.encode((function() local t = {} for i = 1, 3999 do t = {a = t} end return t end)())"#,
                r#"ERR:user_script:1: Cannot serialise, excessive nesting (4000)"#,
            ),
            (
                r#"return cjson.encode((function() local t = {} for i = 1, 100000 do t = {t} end return t end)())"#,
                r#"ERR:user_script:1: Cannot serialise, excessive nesting (7998)"#,
            ),
            (r#"return cjson.encode_max_depth(1000)"#, r#"1000"#),
            (
                r#"return #cjson.encode((function() local t = {} for i = 1, 999 do t = {t} end return t end)())"#,
                r#"2000"#,
            ),
            (
                r#"return cjson.encode((function() local t = {} for i = 1, 1000 do t = {t} end return t end)())"#,
                r#"ERR:user_script:1: Cannot serialise, excessive nesting (1001)"#,
            ),
            (r#"return cjson.decode_max_depth()"#, r#"1000"#),
            (r#"return cjson.decode_max_depth(3)"#, r#"3"#),
            (
                r#"return cjson.encode(cjson.decode('[[[1]]]'))"#,
                r#"[[[1]]]"#,
            ),
            (
                r#"return cjson.decode('[[[[1]]]]')"#,
                r#"ERR:user_script:1: Found too many nested data structures (4) at character 4"#,
            ),
            (
                r#"return cjson.decode('{"a":{"b":{"c":{"d":1}}}}')"#,
                r#"ERR:user_script:1: Found too many nested data structures (4) at character 16"#,
            ),
            (r#"return type(cjson.decode('[{"a":[1]}]'))"#, r#"table"#),
            (
                r#"return cjson.decode_max_depth(0)"#,
                r#"ERR:user_script:1: bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647)"#,
            ),
            (r#"return cjson.decode_max_depth(100000)"#, r#"100000"#),
            (
                r#"return type(cjson.decode(string.rep('[', 7998) .. string.rep(']', 7998)))"#,
                r#"table"#,
            ),
            (
                r#"return cjson.decode(string.rep('[', 7999) .. string.rep(']', 7999))"#,
                r#"ERR:user_script:1: Found too many nested data structures (7999) at character 7999"#,
            ),
            (
                r#"return type(cjson.decode(string.rep('{"a":', 3998) .. '1' .. string.rep('}', 3998)))"#,
                r#"table"#,
            ),
            (
                r#"return type(cjson.decode(string.rep('{"a":', 3999) .. '1' .. string.rep('}', 3999)))"#,
                r#"table"#,
            ),
            (
                r#"return cjson.decode(string.rep('{"a":', 4000) .. '1' .. string.rep('}', 4000))"#,
                r#"ERR:user_script:1: Found too many nested data structures (4000) at character 19996"#,
            ),
            (
                r#"return cjson.decode(string.rep('{"a":[', 3000))"#,
                r#"ERR:user_script:1: Found too many nested data structures (5333) at character 15997"#,
            ),
            (
                r#"return cjson.decode(string.rep('[', 100000))"#,
                r#"ERR:user_script:1: Found too many nested data structures (7999) at character 7999"#,
            ),
            (r#"return cjson.decode_max_depth(1000)"#, r#"1000"#),
            (
                r#"return cjson.decode(string.rep('[', 1001))"#,
                r#"ERR:user_script:1: Found too many nested data structures (1001) at character 1001"#,
            ),
            (
                r#"return type(cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000)))"#,
                r#"table"#,
            ),
            (
                r#"return cjson.decode(string.rep('{"a":', 1001) .. '1' .. string.rep('}', 1001))"#,
                r#"ERR:user_script:1: Found too many nested data structures (1001) at character 5001"#,
            ),
            (r#"return cjson.encode_invalid_numbers()"#, r#"false"#),
            (
                r#"return tostring(cjson.encode_invalid_numbers(true)) .. cjson.encode({1/0, -1/0, 0/0, 1, {[1/0]=1}})"#,
                r#"true[inf,-inf,nan,1,{"inf":1}]"#,
            ),
            (r#"return cjson.encode(-(0/0))"#, r#"nan"#),
            (
                r#"return cjson.encode_invalid_numbers('null') .. cjson.encode({1/0, -1/0, 0/0, 1})"#,
                r#"null[null,null,null,1]"#,
            ),
            (r#"return cjson.encode({[1/0] = 1})"#, r#"{"null":1}"#),
            (r#"return cjson.encode_invalid_numbers('on')"#, r#"true"#),
            (r#"return cjson.encode_invalid_numbers('off')"#, r#"false"#),
            (
                r#"return cjson.encode_invalid_numbers('yes')"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option 'yes')"#,
            ),
            (
                r#"return cjson.encode_invalid_numbers(1)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option '1')"#,
            ),
            (r#"return cjson.encode_invalid_numbers(nil)"#, r#"false"#),
            (
                r#"return cjson.encode_invalid_numbers({})"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_invalid_numbers' (string expected, got table)"#,
            ),
            (r#"return cjson.decode_invalid_numbers()"#, r#"true"#),
            (
                r#"return cjson.decode_invalid_numbers('null')"#,
                r#"ERR:user_script:1: bad argument #1 to 'decode_invalid_numbers' (invalid option 'null')"#,
            ),
            (r#"return cjson.decode_invalid_numbers(false)"#, r#"false"#),
            (
                r#"return cjson.decode('0x10')"#,
                r#"ERR:user_script:1: Expected value but found invalid number at character 1"#,
            ),
            (
                r#"return cjson.decode('-0x10')"#,
                r#"ERR:user_script:1: Expected value but found invalid number at character 1"#,
            ),
            (
                r#"return cjson.decode('inf')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('-inf')"#,
                r#"ERR:user_script:1: Expected value but found invalid number at character 1"#,
            ),
            (
                r#"return cjson.decode('NaN')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('-Infinity')"#,
                r#"ERR:user_script:1: Expected value but found invalid number at character 1"#,
            ),
            (
                r#"return cjson.decode('+1')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (
                r#"return cjson.decode('01')"#,
                r#"ERR:user_script:1: Expected value but found invalid number at character 1"#,
            ),
            (
                r#"return cjson.decode('-01')"#,
                r#"ERR:user_script:1: Expected value but found invalid number at character 1"#,
            ),
            (r#"return cjson.decode('0')"#, r#"0"#),
            (r#"return cjson.decode('-0.5e-3')"#, r#"-0.0005"#),
            (r#"return cjson.decode('[1,-2,3.5]')[3]"#, r#"3.5"#),
            (
                r#"return cjson.decode('in')"#,
                r#"ERR:user_script:1: Expected value but found invalid token at character 1"#,
            ),
            (r#"return cjson.decode_invalid_numbers(true)"#, r#"true"#),
            (
                r#"local r = {cjson.encode_sparse_array()} return tostring(r[1]) .. ',' .. r[2] .. ',' .. r[3]"#,
                r#"false,2,10"#,
            ),
            (
                r#"return cjson.encode({[1]=1,[2]=2,[3]=3,[4]=4,[5]=5,[6]=6,[20]=20})"#,
                r#"ERR:user_script:1: Cannot serialise table: excessively sparse array"#,
            ),
            (
                r#"return cjson.encode({[1]=1,[2]=2,[3]=3,[4]=4,[5]=5,[6]=6,[12]=12})"#,
                r#"[1,2,3,4,5,6,null,null,null,null,null,12]"#,
            ),
            (
                r#"local r = {cjson.encode_sparse_array(true)} return tostring(r[1]) .. ',' .. r[2] .. ',' .. r[3]"#,
                r#"true,2,10"#,
            ),
            (
                r#"return cjson.encode({[1]=1,[2]=2,[3]=3,[4]=4,[5]=5,[6]=6,[20]=20})"#,
                r#"{"6":6,"2":2,"3":3,"1":1,"4":4,"5":5,"20":20}"#,
            ),
            (r#"return cjson.encode({[11] = 'b'})"#, r#"{"11":"b"}"#),
            (
                r#"local r = {cjson.encode_sparse_array(nil, 3, 5)} return tostring(r[1]) .. ',' .. r[2] .. ',' .. r[3]"#,
                r#"true,3,5"#,
            ),
            (
                r#"return cjson.encode({[1] = 1, [6] = 6})"#,
                r#"[1,null,null,null,null,6]"#,
            ),
            (
                r#"return cjson.encode({[1] = 1, [2] = 2, [6] = 6})"#,
                r#"[1,2,null,null,null,6]"#,
            ),
            (
                r#"return cjson.encode({[5] = 5})"#,
                r#"[null,null,null,null,5]"#,
            ),
            (
                r#"local r = {cjson.encode_sparse_array(false, 0)} return tostring(r[1]) .. ',' .. r[2] .. ',' .. r[3]"#,
                r#"false,0,5"#,
            ),
            (
                r#"return cjson.encode({[30] = 1})"#,
                r#"[null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,null,1]"#,
            ),
            (
                r#"local r = {cjson.encode_sparse_array('off', 1, 0)} return tostring(r[1]) .. ',' .. r[2] .. ',' .. r[3]"#,
                r#"false,1,0"#,
            ),
            (
                r#"return cjson.encode({[1] = 1, [3] = 3})"#,
                r#"ERR:user_script:1: Cannot serialise table: excessively sparse array"#,
            ),
            (r#"return cjson.encode({[1] = 1, [2] = 2})"#, r#"[1,2]"#),
            (
                r#"local r = {cjson.encode_sparse_array('on', 2, 10)} return tostring(r[1]) .. ',' .. r[2] .. ',' .. r[3]"#,
                r#"true,2,10"#,
            ),
            (
                r#"return cjson.encode_sparse_array(false, -1)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)"#,
            ),
            (
                r#"return cjson.encode_sparse_array(false, 1, -1)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)"#,
            ),
            (
                r#"return cjson.encode_sparse_array('x')"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_sparse_array' (invalid option 'x')"#,
            ),
            (
                r#"return cjson.encode_sparse_array(1, 2, 3, 4)"#,
                r#"ERR:user_script:1: bad argument #4 to 'encode_sparse_array' (found too many arguments)"#,
            ),
            (
                r#"local r = {cjson.encode_sparse_array(false, 2, 10)} return tostring(r[1]) .. ',' .. r[2] .. ',' .. r[3]"#,
                r#"false,2,10"#,
            ),
            (r#"return cjson.encode_number_precision()"#, r#"14"#),
            (
                r#"return cjson.encode_number_precision(3) .. cjson.encode({1/3, 1234.5, 100, 0.5})"#,
                r#"3[0.333,1.23e+03,100,0.5]"#,
            ),
            (
                r#"return cjson.encode_number_precision(1) .. cjson.encode({1/3, 1234.5, 100, 0.5, 15})"#,
                r#"1[0.3,1e+03,1e+02,0.5,2e+01]"#,
            ),
            (r#"return cjson.encode({[0.25] = 1})"#, r#"{"0.2":1}"#),
            (
                r#"return cjson.encode_number_precision(0)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)"#,
            ),
            (
                r#"return cjson.encode_number_precision(15)"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)"#,
            ),
            (
                r#"return cjson.encode_number_precision('x')"#,
                r#"ERR:user_script:1: bad argument #1 to 'encode_number_precision' (number expected, got string)"#,
            ),
            (r#"return cjson.encode_number_precision(nil)"#, r#"1"#),
            (
                r#"return cjson.encode_number_precision(14) .. cjson.encode(1/3)"#,
                r#"140.33333333333333"#,
            ),
            (
                r#"return cjson.new().encode_number_precision() .. cjson.new().encode_max_depth()"#,
                r#"141000"#,
            ),
            (
                r#"return cjson.new().encode_number_precision(5) .. cjson.encode_number_precision()"#,
                r#"514"#,
            ),
            (r#"return cjson.new().new().encode({1, 'x'})"#, r#"[1,"x"]"#),
            (
                r#"return type(cjson.new().null) .. tostring(cjson.new()._VERSION)"#,
                r#"userdata2.1.0"#,
            ),
            (
                r#"return (function() local c = cjson.new() c.encode_max_depth(1) return select(2, pcall(c.encode, {{1}})) .. ' ' .. cjson.encode({{1}}) end)()"#,
                r#"Cannot serialise, excessive nesting (2) [[1]]"#,
            ),
            (
                r#"return select(2, pcall(cjson.encode))"#,
                r#"bad argument #1 to '?' (expected 1 argument)"#,
            ),
            (
                r#"return select(2, pcall(cjson.decode, '[1,'))"#,
                r#"Expected value but found T_END at character 4"#,
            ),
            (
                r#"return select(2, pcall(cjson.encode, function() end))"#,
                r#"Cannot serialise function: type not supported"#,
            ),
            (
                r#"return select(2, pcall(cjson.encode_max_depth, 0))"#,
                r#"bad argument #1 to '?' (expected integer between 1 and 2147483647)"#,
            ),
        ]);
    }
}
