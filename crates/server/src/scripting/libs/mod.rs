//! The Lua libraries Redis provides to scripts besides Lua's own: `cjson`, `cmsgpack`, `bit`
//! and `struct`, written in Rust with Redis's observable behaviour.
//!
//! In Redis these are C libraries linked into the Lua interpreter, so their functions are Lua
//! C functions: errors are plain Lua strings (no position prefix), argument errors read
//! "bad argument #N to 'name' (...)" with the name Lua's debug info finds, and `pcall`
//! returns those strings unchanged. To behave the same, every function here is a raw
//! `lua_CFunction` written against the Lua C API (`mlua::ffi`), not an mlua closure (mlua
//! would raise its own userdata errors).
//!
//! Raising a Lua error `longjmp`s over the Rust frames of the function, so the functions follow
//! one rule: a failure is first returned as a [`Fail`] value, every Rust-owned buffer is dropped,
//! and only then [`raise`] calls into Lua's error machinery. Argument checks that raise directly
//! (`luaL_checknumber` and friends) are only called while nothing Rust-owned is alive.

use std::ffi::CStr;
use std::os::raw::c_int;

use mlua::ffi;

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod structlib;

/// A raw Lua state pointer, as the C API takes it.
pub(crate) type State = *mut ffi::lua_State;

/// Why a library function fails; turned into a Lua error by [`raise`].
pub(crate) enum Fail {
    /// `luaL_error(msg)`: the message after the caller's position.
    Msg(Vec<u8>),
    /// An error Lua itself raises inside the function (no position prefix), such as
    /// "table index is nil".
    Raw(Vec<u8>),
    /// `luaL_argerror(n, msg)`: "bad argument #n to 'f' (msg)".
    Arg(c_int, Vec<u8>),
    /// `luaL_typerror(n, tname)`: "bad argument #n to 'f' (tname expected, got T)".
    Type(c_int, &'static CStr),
}

impl Fail {
    pub(crate) fn msg(s: impl Into<Vec<u8>>) -> Fail {
        Fail::Msg(s.into())
    }
}

/// Raises `fail` as a Lua error. Never returns; the `c_int` type lets callers `return` it.
///
/// # Safety
/// `l` must be the state of the running C function, and the caller's frames must own nothing
/// that needs dropping (the error unwinds them with `longjmp`).
pub(crate) unsafe fn raise(l: State, fail: Fail) -> c_int {
    match fail {
        Fail::Msg(m) => {
            // As luaL_error: prefixed with the calling Lua code's position ("user_script:1: "),
            // empty when the caller is a C function such as `pcall`.
            if ffi::lua_checkstack(l, 4) == 0 {
                // The stack is full (a "stack overflow" error): what is on it is being
                // discarded by the error anyway, so make room for the message.
                ffi::lua_settop(l, 0);
            }
            ffi::luaL_where(l, 1);
            push_bytes(l, &m);
            drop(m);
            ffi::lua_concat(l, 2);
            ffi::lua_error(l)
        }
        Fail::Raw(m) => {
            push_bytes(l, &m);
            drop(m);
            ffi::lua_error(l)
        }
        Fail::Arg(n, m) => {
            // luaL_argerror wants a C string: keep the text alive on the Lua stack instead of
            // in a Rust buffer, which must be gone before the longjmp.
            push_bytes(l, &m);
            drop(m);
            let p = ffi::lua_tolstring(l, -1, std::ptr::null_mut());
            ffi::luaL_argerror(l, n, p)
        }
        Fail::Type(n, t) => ffi::luaL_typerror(l, n, t.as_ptr()),
    }
}

/// Pushes `b` as a Lua string.
pub(crate) unsafe fn push_bytes(l: State, b: &[u8]) {
    ffi::lua_pushlstring(l, b.as_ptr().cast(), b.len());
}

/// The bytes of the string (or number, converted in place) at `idx`, if it is one.
///
/// # Safety
/// The slice borrows Lua memory: it is valid while the value stays on the stack.
pub(crate) unsafe fn to_bytes<'a>(l: State, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, idx, &mut len);
    if p.is_null() {
        None
    } else {
        Some(std::slice::from_raw_parts(p.cast::<u8>(), len))
    }
}

/// Sets `t[name] = f` for the table on top of the stack.
pub(crate) unsafe fn set_fn(l: State, name: &CStr, f: ffi::lua_CFunction) {
    ffi::lua_pushcfunction(l, f);
    ffi::lua_setfield(l, -2, name.as_ptr());
}

/// Sets `t[name] = s` for the table on top of the stack.
pub(crate) unsafe fn set_str(l: State, name: &CStr, s: &str) {
    push_bytes(l, s.as_bytes());
    ffi::lua_setfield(l, -2, name.as_ptr());
}

/// 2^63 (the literal is exact: the shortest decimal that reads back as 2^63).
const TWO_63: f64 = 9.223_372_036_854_776e18;

/// C's `(int64_t)d` as x86-64 computes it (`cvttsd2si`): truncation, and `i64::MIN` for NaN or
/// anything out of range (Rust's `as` saturates instead).
pub(crate) fn c_i64(d: f64) -> i64 {
    if !(-TWO_63..TWO_63).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// C's `(uint64_t)d` as gcc compiles it on x86-64: values below 2^63 (and NaN, for which the
/// comparison is unordered) go through `cvttsd2si`, larger ones are shifted down by 2^63 first
/// and the top bit flipped back.
pub(crate) fn c_u64(d: f64) -> u64 {
    if d.is_nan() || d < TWO_63 {
        c_i64(d) as u64
    } else {
        (c_i64(d - TWO_63) as u64) ^ (1u64 << 63)
    }
}

unsafe extern "C-unwind" fn open_all(l: State) -> c_int {
    bit::open(l);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"bit".as_ptr());
    structlib::open(l);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"struct".as_ptr());
    cjson::open(l);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"cjson".as_ptr());
    cmsgpack::open(l);
    ffi::lua_setfield(l, ffi::LUA_GLOBALSINDEX, c"cmsgpack".as_ptr());
    0
}

/// Registers every library as a global table in `lua` (`cjson`, `cmsgpack`, `bit`, `struct`).
pub fn register(lua: &mlua::Lua) -> mlua::Result<()> {
    // SAFETY: `open_all` only uses the C API on the state it is given, inside the protected
    // call `exec_raw` sets up.
    unsafe {
        lua.exec_raw::<()>((), |l| {
            ffi::lua_pushcfunction(l, open_all);
            ffi::lua_call(l, 0, 0);
        })
    }
}

/// Test helper shared by the library tests: a fresh state with the libraries registered.
#[cfg(test)]
pub(crate) mod testutil {
    /// A Lua state with the standard libraries and ours.
    pub fn lua() -> mlua::Lua {
        let lua = mlua::Lua::new();
        super::register(&lua).expect("register");
        lua
    }

    /// Helpers visible to every test snippet (the oracle runs the same prelude).
    pub const PRELUDE: &str = "local function hex(s) return (string.gsub(s, '.', \
        function(c) return string.format('%02x', string.byte(c)) end)) end";

    /// The snippet as a protected call returning its result or "ERR:<message>".
    pub fn wrap(code: &str) -> String {
        format!(
            "local ok, r = pcall(function() {code} end) \
             if ok then return tostring(r) else return 'ERR:' .. tostring(r) end"
        )
    }

    /// Runs `code` (a chunk ending in `return <string-able>`) and returns the result as text.
    /// Errors become "ERR:<message>" so tests can compare `pcall` messages too.
    pub fn run(lua: &mlua::Lua, code: &str) -> String {
        let wrapped = format!("{PRELUDE} {}", wrap(code));
        match lua
            .load(&wrapped)
            .set_name("@user_script")
            .eval::<mlua::String>()
        {
            Ok(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
            Err(e) => format!("RUST-ERROR: {e}"),
        }
    }

    /// Asserts each `(code, expected)` pair, reporting all mismatches at once.
    pub fn check(cases: &[(&str, &str)]) {
        let lua = lua();
        let mut bad = Vec::new();
        for (code, want) in cases {
            let got = run(&lua, code);
            if got != *want {
                bad.push(format!("{code}\n   got: {got}\n  want: {want}"));
            }
        }
        assert!(
            bad.is_empty(),
            "{} mismatches:\n{}",
            bad.len(),
            bad.join("\n")
        );
    }

    /// What the scripting engine sees: an uncaught library error reaches Rust as a plain
    /// runtime error carrying Lua's message (position prefix included; mlua appends a
    /// traceback after a newline), not as a wrapped callback error.
    #[test]
    fn uncaught_errors_are_plain_lua_errors() {
        let lua = lua();
        let err = lua
            .load("return cjson.decode('x')")
            .set_name("@user_script")
            .exec()
            .expect_err("must fail");
        match err {
            mlua::Error::RuntimeError(m) => assert_eq!(
                m.split('\n').next(),
                Some("user_script:1: Expected value but found invalid token at character 1")
            ),
            other => panic!("unexpected error kind: {other:?}"),
        }
        // And the globals exist with the expected types.
        let kinds: String = lua
            .load("return type(cjson) .. type(cmsgpack) .. type(bit) .. type(struct)")
            .eval()
            .expect("eval");
        assert_eq!(kinds, "tabletabletabletable");
    }
}
