//! Conversions between Redis replies and Lua values, following Redis 7.0's tables.
//!
//! Command replies reach Lua as decoded [`Frame`]s (the script's client writes RESP2 or RESP3
//! depending on `redis.setresp`, and we parse those bytes back): integers become numbers, bulk
//! strings strings, statuses `{ok=...}`, errors `{err=...}`, RESP2 nulls `false`, RESP3 nulls
//! `nil`, and RESP3's richer types single-field tables (`map`, `set`, `double`, `big_number`,
//! `verbatim_string`). Script results go the other way into the caller's protocol: numbers are
//! truncated to integers, arrays stop at the first nil, booleans are `:1`/null in RESP2.

use cinnabar_resp::{Frame, ReplyBuf};
use mlua::{Lua, Table, Value};

/// Deepest table nesting converted to a reply; deeper levels become an error element where
/// Redis runs out of Lua stack (7995 nested arrays), so cyclic tables end. The conversion is
/// iterative: no Rust recursion.
const MAX_DEPTH: usize = 7995;

/// Turns an error reply's text ("-ERR msg\r\n" minus framing) into the `err` field Redis puts
/// in Lua error tables: "CODE msg", with `ERR` added when there is no code.
pub fn error_field(text: &[u8]) -> Vec<u8> {
    let text = text.strip_prefix(b"-").unwrap_or(text);
    let trim = |s: &[u8]| -> Vec<u8> {
        let mut a = 0;
        let mut b = s.len();
        while a < b && (s[a] == b'\r' || s[a] == b'\n') {
            a += 1;
        }
        while b > a && (s[b - 1] == b'\r' || s[b - 1] == b'\n') {
            b -= 1;
        }
        s[a..b].to_vec()
    };
    match text.iter().position(|&c| c == b' ') {
        Some(sp) => {
            let mut out = text[..sp].to_vec();
            out.push(b' ');
            out.extend(trim(&text[sp + 1..]));
            out
        }
        None => {
            let mut out = b"ERR ".to_vec();
            out.extend(trim(text));
            out
        }
    }
}

/// A one-field table `{name = value}`.
pub fn single_field(lua: &Lua, name: &str, v: impl mlua::IntoLua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(name, v)?;
    Ok(t)
}

/// Converts a decoded reply into the Lua value a script sees. `resp3` is the script's
/// protocol (`redis.setresp`), which decides what a null becomes.
pub fn frame_to_lua(lua: &Lua, f: Frame, resp3: bool) -> mlua::Result<Value> {
    Ok(match f {
        Frame::Simple(s) => Value::Table(single_field(lua, "ok", lua.create_string(&s)?)?),
        Frame::Error(e) => Value::Table(single_field(
            lua,
            "err",
            lua.create_string(error_field(&e))?,
        )?),
        Frame::Integer(n) => Value::Number(n as f64),
        Frame::Bulk(b) => Value::String(lua.create_string(&b)?),
        Frame::Null | Frame::NullArray => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Frame::Array(items) | Frame::Push(items) => {
            let t = lua.create_table_with_capacity(items.len().min(1 << 16), 0)?;
            for (i, it) in items.into_iter().enumerate() {
                t.raw_set(i + 1, frame_to_lua(lua, it, resp3)?)?;
            }
            Value::Table(t)
        }
        Frame::Set(items) => {
            let t = lua.create_table()?;
            for it in items {
                let k = frame_to_lua(lua, it, resp3)?;
                if !k.is_nil() {
                    t.raw_set(k, true)?;
                }
            }
            Value::Table(single_field(lua, "set", t)?)
        }
        Frame::Map(pairs) | Frame::Attribute(pairs) => {
            let t = lua.create_table()?;
            for (k, v) in pairs {
                let k = frame_to_lua(lua, k, resp3)?;
                let v = frame_to_lua(lua, v, resp3)?;
                if !k.is_nil() {
                    t.raw_set(k, v)?;
                }
            }
            Value::Table(single_field(lua, "map", t)?)
        }
        Frame::Double(d) => {
            let v = crate::util::parse_f64(&d).unwrap_or(0.0);
            Value::Table(single_field(lua, "double", v)?)
        }
        Frame::Boolean(b) => Value::Boolean(b),
        Frame::BigNumber(s) => {
            Value::Table(single_field(lua, "big_number", lua.create_string(&s)?)?)
        }
        Frame::Verbatim(d) => {
            let (fmt, text) = if d.len() >= 4 && d[3] == b':' {
                (&d[..3], &d[4..])
            } else {
                (&b"txt"[..], &d[..])
            };
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(fmt)?)?;
            inner.raw_set("string", lua.create_string(text)?)?;
            Value::Table(single_field(lua, "verbatim_string", inner)?)
        }
    })
}

/// Writes a Lua value as a reply in `out`'s protocol (Redis's luaReplyToRedisReply).
/// Booleans follow the script's protocol (`script_resp3`, set by redis.setresp): `:1`/null
/// under RESP2 even for a RESP3 caller, as Redis 7.0 does.
/// Return value: the error replies written, each with whether errorstats must count it (not
/// those made from a command's own error reply, which was counted when the command failed;
/// they still make the script's command fail in commandstats).
///
/// Elements are written while the tables are walked, one at a time: every Lua value held
/// from Rust takes a slot of mlua's reference stack (about 8,000), so big or deep replies
/// keep the tables being walked (and the key lists of maps and sets) in a Lua `holder`
/// table, not in Rust.
pub fn lua_to_reply(
    lua: &Lua,
    v: &Value,
    out: &mut ReplyBuf,
    script_resp3: bool,
) -> Vec<(String, bool)> {
    let mut errors = Vec::new();
    let holder = match lua.create_table() {
        Ok(h) => h,
        Err(e) => {
            out.error(&format!("ERR {e}"));
            return errors;
        }
    };
    let mut open: Vec<Open> = Vec::new();
    let mut cur = Some((v.clone(), 0usize));
    loop {
        if let Some((v, depth)) = cur.take() {
            if let Some(p) = write_value(lua, &v, out, depth, script_resp3, &mut errors) {
                let slot = 2 * open.len() as i64 + 1;
                let stored = holder.raw_set(slot, p.table).is_ok()
                    && p.keys.is_none_or(|k| holder.raw_set(slot + 1, k).is_ok());
                if !stored {
                    // Out of memory: keep the reply well formed.
                    for _ in 0..p.len * if p.kind == Kind::Map { 2 } else { 1 } {
                        out.null();
                    }
                } else {
                    open.push(Open {
                        slot,
                        kind: p.kind,
                        next: 1,
                        len: p.len as i64,
                        depth: depth + 1,
                        value_due: false,
                    });
                }
            }
        }
        let Some(top) = open.last_mut() else { break };
        let (slot, depth) = (top.slot, top.depth);
        let item = match top.kind {
            Kind::Array => {
                let t = holder.raw_get::<Table>(slot);
                top.next += 1;
                t.and_then(|t| t.raw_get::<Value>(top.next - 1))
            }
            Kind::Set => {
                let k = holder.raw_get::<Table>(slot + 1);
                top.next += 1;
                k.and_then(|k| k.raw_get::<Value>(top.next - 1))
            }
            Kind::Map => {
                let key = holder
                    .raw_get::<Table>(slot + 1)
                    .and_then(|k| k.raw_get::<Value>(top.next));
                if top.value_due {
                    top.value_due = false;
                    top.next += 1;
                    let t = holder.raw_get::<Table>(slot);
                    key.and_then(|k| t.and_then(|t| t.raw_get::<Value>(k)))
                } else {
                    top.value_due = true;
                    key
                }
            }
        };
        if top.next > top.len && !top.value_due {
            let _ = holder.raw_set(slot, Value::Nil);
            let _ = holder.raw_set(slot + 1, Value::Nil);
            open.pop();
        }
        cur = Some((item.unwrap_or(Value::Nil), depth));
    }
    errors
}

/// How a table is written.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Elements 1.. up to the first nil.
    Array,
    /// `{map = t}`: key, value for each pair.
    Map,
    /// `{set = t}`: the keys.
    Set,
}

/// A table whose header is written and whose elements come next.
struct Pending {
    kind: Kind,
    table: Table,
    /// Map and set keys, in `next` order, as a Lua array.
    keys: Option<Table>,
    len: usize,
}

/// A table being written; its table is `holder[slot]`, its keys `holder[slot + 1]`.
struct Open {
    slot: i64,
    kind: Kind,
    /// Index of the next element (or key) to write.
    next: i64,
    len: i64,
    /// Depth of its elements.
    depth: usize,
    /// Map: the key `next` was written, its value comes next.
    value_due: bool,
}

/// Writes one value (for a table, its header); returns the table whose elements follow.
fn write_value(
    lua: &Lua,
    v: &Value,
    out: &mut ReplyBuf,
    depth: usize,
    r3: bool,
    errs: &mut Vec<(String, bool)>,
) -> Option<Pending> {
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if r3 {
                out.boolean(*b);
            } else if *b {
                out.int(1);
            } else {
                out.null();
            }
        }
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(num_to_i64(*n)),
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                out.error("ERR reached lua stack limit");
                return None;
            }
            return write_table(lua, t, out, errs);
        }
        _ => out.null(),
    }
    None
}

/// Lua number to integer as C's `(long long)` cast does on x86-64 for in-range values;
/// out-of-range and NaN give i64::MIN like the hardware conversion.
pub fn num_to_i64(n: f64) -> i64 {
    if n.is_nan() || !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn write_table(
    lua: &Lua,
    t: &Table,
    out: &mut ReplyBuf,
    errs: &mut Vec<(String, bool)>,
) -> Option<Pending> {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        let text = String::from_utf8_lossy(&e.as_bytes()).into_owned();
        out.error(&text);
        let counted = !t.raw_get::<bool>("ignore_stats_update").unwrap_or(false);
        errs.push((text, counted));
        return None;
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        let text: String = String::from_utf8_lossy(&s.as_bytes())
            .chars()
            .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
            .collect();
        out.simple(&text);
        return None;
    }
    if let Ok(Value::Number(_) | Value::Integer(_)) = t.raw_get::<Value>("double") {
        // Read as f64 directly: mlua turns an integral -0.0 into Integer(0).
        let d = t.raw_get::<f64>("double").unwrap_or(0.0);
        out.double_str(crate::util::fmt_double(d).as_bytes());
        return None;
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        let b = s.as_bytes();
        if out.is_resp3() {
            out.raw(b"(");
            out.raw(&b);
            out.raw(b"\r\n");
        } else {
            out.bulk(&b);
        }
        return None;
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        return keyed(lua, m, Kind::Map, out);
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        return keyed(lua, s, Kind::Set, out);
    }
    if let Ok(Value::Table(vt)) = t.raw_get::<Value>("verbatim_string") {
        if let (Ok(Value::String(f)), Ok(Value::String(s))) =
            (vt.raw_get::<Value>("format"), vt.raw_get::<Value>("string"))
        {
            let (f, s) = (f.as_bytes(), s.as_bytes());
            if out.is_resp3() {
                // The format is always 3 bytes: cut, or padded with spaces (as Redis does).
                let mut fmt = [b' '; 3];
                let n = f.len().min(3);
                fmt[..n].copy_from_slice(&f[..n]);
                let total = 3 + 1 + s.len();
                out.raw(format!("={total}\r\n").as_bytes());
                out.raw(&fmt);
                out.raw(b":");
                out.raw(&s);
                out.raw(b"\r\n");
            } else {
                out.bulk(&s);
            }
            return None;
        }
    }
    // A plain array: elements 1.. up to the first nil.
    let mut len = 0usize;
    while !matches!(t.raw_get::<Value>(len as i64 + 1), Ok(Value::Nil) | Err(_)) {
        len += 1;
    }
    out.array(len);
    (len > 0).then(|| Pending {
        kind: Kind::Array,
        table: t.clone(),
        keys: None,
        len,
    })
}

/// Writes the header of a `{map = t}` or `{set = t}` reply and lists its keys.
fn keyed(lua: &Lua, t: Table, kind: Kind, out: &mut ReplyBuf) -> Option<Pending> {
    let keys = match lua.create_table() {
        Ok(k) => k,
        Err(e) => {
            out.error(&format!("ERR {e}"));
            return None;
        }
    };
    let mut len = 0usize;
    for pair in t.pairs::<Value, Value>() {
        let Ok((k, _)) = pair else { break };
        if keys.raw_set(len as i64 + 1, k).is_err() {
            out.error("ERR not enough memory");
            return None;
        }
        len += 1;
    }
    if kind == Kind::Map {
        out.map(len);
    } else {
        out.set(len);
    }
    (len > 0).then_some(Pending {
        kind,
        table: t,
        keys: Some(keys),
        len,
    })
}

/// Raw C-API versions of the two conversions, used on the hot path (`redis.call` and
/// the script's result): they work on the Lua stack directly instead of going through
/// `Frame`s and mlua values, which allocate per element. Their output is identical to
/// [`frame_to_lua`] and [`lua_to_reply`]; the reply writer hands rare shapes (RESP3
/// types, very deep nesting) back to [`lua_to_reply`].
pub mod raw {
    use std::ffi::c_int;

    use cinnabar_resp::ReplyBuf;
    use mlua::ffi;

    type State = *mut ffi::lua_State;

    /// Deepest nesting the raw reply writer handles before deferring to `lua_to_reply`.
    const FAST_DEPTH: usize = 32;

    unsafe fn push_bytes(l: State, b: &[u8]) {
        ffi::lua_pushlstring(l, b.as_ptr().cast(), b.len());
    }

    /// `{name = <value on top>}`: replaces the top value by the one-field table.
    unsafe fn wrap_field(l: State, name: &std::ffi::CStr) {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_insert(l, -2);
        ffi::lua_setfield(l, -2, name.as_ptr());
    }

    /// Pushes `{err = msg}`.
    ///
    /// # Safety
    /// `l` must be a running Lua state with room for two values.
    pub unsafe fn push_err_table(l: State, msg: &[u8]) {
        push_bytes(l, msg);
        wrap_field(l, c"err");
    }

    fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
        let rest = buf.get(at..)?;
        let cr = rest.windows(2).position(|w| w == b"\r\n")?;
        Some((&rest[..cr], at + cr + 2))
    }

    fn num(s: &[u8]) -> Option<i64> {
        std::str::from_utf8(s).ok()?.parse().ok()
    }

    /// Pushes the reply in `buf` (one RESP value) as the Lua value a script sees, like
    /// `Frame::parse` + [`super::frame_to_lua`]. Return value: true for an error reply (then
    /// the pushed value is `{err=..., ignore_stats_update=true}`, as redis.call raises it).
    ///
    /// # Safety
    /// `l` must be a running Lua state with room for a few values.
    pub unsafe fn push_reply(l: State, buf: &[u8], resp3: bool) -> bool {
        let top = ffi::lua_gettop(l);
        if push_value(l, buf, 0, resp3, 0).is_none() {
            // Unparsable (never for our own replies): a null, like the Frame path.
            ffi::lua_settop(l, top);
            push_null(l, resp3);
            return false;
        }
        // An error reply (simple or RESP3 bulk error; a negative-length `!` is a null).
        let is_err = match buf.first() {
            Some(b'-') => true,
            Some(b'!') => ffi::lua_type(l, -1) == ffi::LUA_TTABLE,
            _ => false,
        };
        if is_err {
            // Counted in errorstats when the command failed; not again when the script
            // returns it.
            ffi::lua_pushboolean(l, 1);
            ffi::lua_setfield(l, -2, c"ignore_stats_update".as_ptr());
        }
        is_err
    }

    unsafe fn push_null(l: State, resp3: bool) {
        if resp3 {
            ffi::lua_pushnil(l);
        } else {
            ffi::lua_pushboolean(l, 0);
        }
    }

    /// Pushes the value at `at`; returns the position after it. On None the caller resets
    /// the stack.
    unsafe fn push_value(
        l: State,
        buf: &[u8],
        at: usize,
        resp3: bool,
        depth: usize,
    ) -> Option<usize> {
        if depth > 1000 || ffi::lua_checkstack(l, 4) == 0 {
            return None;
        }
        let kind = *buf.get(at)?;
        let (body, next) = line(buf, at + 1)?;
        match kind {
            b'+' => {
                push_bytes(l, body);
                wrap_field(l, c"ok");
            }
            b'-' => {
                push_bytes(l, &super::error_field(body));
                wrap_field(l, c"err");
            }
            b':' => ffi::lua_pushnumber(l, num(body)? as f64),
            b',' => {
                let v = crate::util::parse_f64(body).unwrap_or(0.0);
                ffi::lua_pushnumber(l, v);
                wrap_field(l, c"double");
            }
            b'(' => {
                push_bytes(l, body);
                wrap_field(l, c"big_number");
            }
            b'_' => push_null(l, resp3),
            b'#' => ffi::lua_pushboolean(l, (body == b"t") as c_int),
            b'$' | b'=' | b'!' => {
                let n = num(body)?;
                if n < 0 {
                    push_null(l, resp3);
                    return Some(next);
                }
                let end = next.checked_add(n as usize)?;
                if buf.len() < end.checked_add(2)? {
                    return None;
                }
                let data = &buf[next..end];
                match kind {
                    b'$' => push_bytes(l, data),
                    b'!' => {
                        push_bytes(l, &super::error_field(data));
                        wrap_field(l, c"err");
                    }
                    _ => {
                        let (fmt, text) = if data.len() >= 4 && data[3] == b':' {
                            (&data[..3], &data[4..])
                        } else {
                            (&b"txt"[..], data)
                        };
                        ffi::lua_createtable(l, 0, 2);
                        push_bytes(l, fmt);
                        ffi::lua_setfield(l, -2, c"format".as_ptr());
                        push_bytes(l, text);
                        ffi::lua_setfield(l, -2, c"string".as_ptr());
                        wrap_field(l, c"verbatim_string");
                    }
                }
                return Some(end + 2);
            }
            b'*' | b'>' => {
                let n = num(body)?;
                if n < 0 {
                    push_null(l, resp3);
                    return Some(next);
                }
                ffi::lua_createtable(l, n.min(1 << 16) as c_int, 0);
                let mut pos = next;
                for i in 0..n {
                    pos = push_value(l, buf, pos, resp3, depth + 1)?;
                    ffi::lua_rawseti(l, -2, (i + 1) as _);
                }
                return Some(pos);
            }
            b'~' => {
                let n = num(body)?;
                if n < 0 {
                    push_null(l, resp3);
                    return Some(next);
                }
                ffi::lua_createtable(l, 0, 0);
                let mut pos = next;
                for _ in 0..n {
                    pos = push_value(l, buf, pos, resp3, depth + 1)?;
                    if ffi::lua_isnil(l, -1) != 0 {
                        ffi::lua_pop(l, 1);
                    } else {
                        ffi::lua_pushboolean(l, 1);
                        ffi::lua_rawset(l, -3);
                    }
                }
                wrap_field(l, c"set");
                return Some(pos);
            }
            b'%' => {
                let n = num(body)?;
                if n < 0 {
                    push_null(l, resp3);
                    return Some(next);
                }
                ffi::lua_createtable(l, 0, 0);
                let mut pos = next;
                for _ in 0..n {
                    pos = push_value(l, buf, pos, resp3, depth + 1)?;
                    pos = push_value(l, buf, pos, resp3, depth + 1)?;
                    if ffi::lua_isnil(l, -2) != 0 {
                        ffi::lua_pop(l, 2);
                    } else {
                        ffi::lua_rawset(l, -3);
                    }
                }
                wrap_field(l, c"map");
                return Some(pos);
            }
            b'|' => {
                // An attribute precedes the real reply: skip it.
                let n = num(body)?;
                if n < 0 {
                    push_null(l, resp3);
                    return Some(next);
                }
                let mut pos = next;
                for _ in 0..2 * n {
                    pos = push_value(l, buf, pos, resp3, depth + 1)?;
                    ffi::lua_pop(l, 1);
                }
                return push_value(l, buf, pos, resp3, depth);
            }
            _ => return None,
        }
        Some(next)
    }

    /// Writes the Lua value at stack index `idx` (absolute) as a reply, like
    /// [`super::lua_to_reply`]. Return value: false when it met something it leaves to
    /// `lua_to_reply` (RESP3 wrappers, deep nesting); `out` and `errs` are then unchanged.
    ///
    /// # Safety
    /// `l` must be a Lua state and `idx` a valid absolute index.
    pub unsafe fn write_reply(
        l: State,
        idx: c_int,
        out: &mut ReplyBuf,
        r3: bool,
        errs: &mut Vec<(String, bool)>,
    ) -> bool {
        let (len, nerr) = (out.buf.len(), errs.len());
        let top = ffi::lua_gettop(l);
        let ok = write_value(l, idx, out, r3, errs, 0);
        ffi::lua_settop(l, top);
        if !ok {
            out.buf.truncate(len);
            errs.truncate(nerr);
        }
        ok
    }

    unsafe fn bytes_at<'a>(l: State, idx: c_int) -> &'a [u8] {
        let mut n = 0usize;
        let p = ffi::lua_tolstring(l, idx, &mut n);
        if p.is_null() {
            return &[];
        }
        std::slice::from_raw_parts(p.cast(), n)
    }

    /// Pushes `t[name]` (raw) and returns its type.
    unsafe fn field(l: State, t: c_int, name: &std::ffi::CStr) -> c_int {
        ffi::lua_pushstring(l, name.as_ptr());
        ffi::lua_rawget(l, t);
        ffi::lua_type(l, -1)
    }

    unsafe fn write_value(
        l: State,
        idx: c_int,
        out: &mut ReplyBuf,
        r3: bool,
        errs: &mut Vec<(String, bool)>,
        depth: usize,
    ) -> bool {
        match ffi::lua_type(l, idx) {
            ffi::LUA_TSTRING => out.bulk(bytes_at(l, idx)),
            ffi::LUA_TBOOLEAN => {
                let b = ffi::lua_toboolean(l, idx) != 0;
                if r3 {
                    out.boolean(b);
                } else if b {
                    out.int(1);
                } else {
                    out.null();
                }
            }
            ffi::LUA_TNUMBER => out.int(super::num_to_i64(ffi::lua_tonumber(l, idx))),
            ffi::LUA_TTABLE => {
                if depth >= FAST_DEPTH || ffi::lua_checkstack(l, 6) == 0 {
                    return false;
                }
                return write_table(l, idx, out, r3, errs, depth);
            }
            _ => out.null(),
        }
        true
    }

    unsafe fn write_table(
        l: State,
        t: c_int,
        out: &mut ReplyBuf,
        r3: bool,
        errs: &mut Vec<(String, bool)>,
        depth: usize,
    ) -> bool {
        let top = ffi::lua_gettop(l);
        if field(l, t, c"err") == ffi::LUA_TSTRING {
            let text = String::from_utf8_lossy(bytes_at(l, -1)).into_owned();
            out.error(&text);
            field(l, t, c"ignore_stats_update");
            errs.push((text, ffi::lua_toboolean(l, -1) == 0));
            ffi::lua_settop(l, top);
            return true;
        }
        ffi::lua_settop(l, top);
        if field(l, t, c"ok") == ffi::LUA_TSTRING {
            let text: String = String::from_utf8_lossy(bytes_at(l, -1))
                .chars()
                .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
                .collect();
            out.simple(&text);
            ffi::lua_settop(l, top);
            return true;
        }
        ffi::lua_settop(l, top);
        for (name, ty) in [
            (c"double", ffi::LUA_TNUMBER),
            (c"big_number", ffi::LUA_TSTRING),
            (c"map", ffi::LUA_TTABLE),
            (c"set", ffi::LUA_TTABLE),
            (c"verbatim_string", ffi::LUA_TTABLE),
        ] {
            let got = field(l, t, name);
            ffi::lua_settop(l, top);
            if got == ty {
                return false;
            }
        }
        // A plain array: elements 1.. up to the first nil.
        let mut n: c_int = 0;
        loop {
            ffi::lua_rawgeti(l, t, (n + 1) as _);
            let nil = ffi::lua_isnil(l, -1) != 0;
            ffi::lua_settop(l, top);
            if nil {
                break;
            }
            n += 1;
        }
        out.array(n as usize);
        for i in 1..=n {
            ffi::lua_rawgeti(l, t, i as _);
            let ok = write_value(l, top + 1, out, r3, errs, depth + 1);
            ffi::lua_settop(l, top);
            if !ok {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cinnabar_resp::Proto;

    fn reply(lua: &Lua, code: &str, proto: Proto) -> String {
        let v: Value = lua.load(code).eval().unwrap();
        let mut out = ReplyBuf::new(proto);
        let _ = lua_to_reply(lua, &v, &mut out, proto == Proto::Resp3);
        String::from_utf8_lossy(&out.buf).into_owned()
    }

    #[test]
    fn lua_to_resp() {
        let lua = Lua::new();
        assert_eq!(reply(&lua, "return 3.9", Proto::Resp2), ":3\r\n");
        assert_eq!(reply(&lua, "return -3.9", Proto::Resp2), ":-3\r\n");
        assert_eq!(reply(&lua, "return true", Proto::Resp2), ":1\r\n");
        assert_eq!(reply(&lua, "return false", Proto::Resp2), "$-1\r\n");
        assert_eq!(reply(&lua, "return false", Proto::Resp3), "#f\r\n");
        assert_eq!(reply(&lua, "return nil", Proto::Resp3), "_\r\n");
        assert_eq!(
            reply(&lua, "return {1,'a',nil,2}", Proto::Resp2),
            "*2\r\n:1\r\n$1\r\na\r\n"
        );
        assert_eq!(reply(&lua, "return {ok='x\\ny'}", Proto::Resp2), "+x y\r\n");
        assert_eq!(reply(&lua, "return {err='E x'}", Proto::Resp2), "-E x\r\n");
        assert_eq!(reply(&lua, "return {double=1.5}", Proto::Resp3), ",1.5\r\n");
        assert_eq!(
            reply(&lua, "return {double=1.5}", Proto::Resp2),
            "$3\r\n1.5\r\n"
        );
        assert_eq!(
            reply(&lua, "return {map={a=1}}", Proto::Resp3),
            "%1\r\n$1\r\na\r\n:1\r\n"
        );
        assert!(reply(&lua, "local t = {} t[1] = t return t", Proto::Resp2).len() > 10);
    }

    #[test]
    fn resp_to_lua() {
        let lua = Lua::new();
        let v = frame_to_lua(&lua, Frame::Null, false).unwrap();
        assert_eq!(v, Value::Boolean(false));
        let v = frame_to_lua(&lua, Frame::Null, true).unwrap();
        assert!(v.is_nil());
        let v = frame_to_lua(&lua, Frame::Error(b"ERR bad\r\n".to_vec()), false).unwrap();
        let t = v.as_table().unwrap();
        assert_eq!(t.get::<String>("err").unwrap(), "ERR bad");
        assert_eq!(error_field(b"-boom"), b"ERR boom");
        assert_eq!(error_field(b"-X boom"), b"X boom");
    }
}
