//! Lua scripting: EVAL/EVALSHA, SCRIPT, FUNCTION/FCALL (engine: embedded Lua 5.1 via mlua).
//!
//! One Lua state per server ([`Engine`], created on first use and replaced by SCRIPT FLUSH).
//! Scripts are compiled once and kept by their SHA1; the state holds Lua's base, table,
//! string and math libraries plus Redis's extras (`libs`: cjson, cmsgpack, bit, struct).
//!
//! Sandbox, as Redis 7.0 builds it: user code runs with an environment table that is a
//! read-only proxy of the real globals (reading an unknown name and writing anything fail
//! with Redis's texts), library tables are read-only proxies too, and `os`, `io`, `print`,
//! `loadfile`, `dofile`, `setfenv`/`getfenv` are removed. Errors are caught by an error
//! handler (written in Lua, like Redis's `__redis__err__handler`) that turns them into
//! `{err=...}` tables carrying the source and line of the user frame that failed; the reply
//! then reads "<err> script: <name>, on @user_script:<line>.".
//!
//! `redis.call` runs a command through the normal dispatcher (`cmd::call`) on a detached
//! client that starts in the caller's db (so SELECT in a script stays in the script), then
//! parses its reply bytes back into Lua (`convert`). Functions that must raise Lua errors
//! (sha1hex, redis.log, ...) are Rust callbacks returning `(ok, value)` behind a tiny C
//! trampoline that calls `lua_error` with the value: mlua would otherwise wrap Rust errors in
//! userdata, while Redis scripts expect plain error tables and strings.
//!
//! The per-call path avoids mlua on purpose (its conversions allocate and wrap every step in
//! a protected call, which cost more than the script itself): `run` pushes the error handler
//! and a C function `invoke` from the registry and calls them with `lua_pcall`; `invoke`
//! builds KEYS/ARGV with `lua_pushlstring` and calls the script by its registry reference;
//! redis.call/pcall are raw C functions reading arguments from the Lua stack and pushing
//! the command's reply straight from RESP bytes; the result is written to the caller from
//! the Lua stack (`convert::raw`). Only errors and rare reply shapes go through mlua values.
//!
//! Long-running scripts: an instruction-count hook checks the clock; past
//! `busy-reply-threshold` it lets `net::while_busy` answer other clients (BUSY, SCRIPT KILL,
//! FUNCTION KILL, SHUTDOWN NOSAVE) and aborts the script when it was killed.

pub mod convert;
pub mod functions;
pub mod libs;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_int;
use std::time::Instant;

use mlua::{ffi, Function, Lua, LuaOptions, MultiValue, RegistryKey, StdLib, Table, Value};

use crate::client::Client;
use crate::cmd::CmdError;
use crate::server::Server;

/// Script flags (shebang `flags=`), as bits.
pub mod flags {
    pub const NO_WRITES: u32 = 1;
    pub const ALLOW_OOM: u32 = 2;
    pub const ALLOW_STALE: u32 = 4;
    pub const NO_CLUSTER: u32 = 8;
    pub const ALLOW_CROSS_SLOT: u32 = 16;
    /// No shebang: Redis 6 compatible script.
    pub const EVAL_COMPAT: u32 = 32;

    pub const NAMES: &[(&str, u32)] = &[
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT),
    ];
}

/// A compiled EVAL script.
pub struct Script {
    pub func: Function,
    /// Registry reference of `func` (the run path pushes it with `lua_rawgeti`).
    pub key: RegistryKey,
    pub body: Vec<u8>,
    pub flags: u32,
}

/// The Lua state and the script cache.
pub struct Engine {
    pub lua: Lua,
    /// The main Lua thread, for the raw C-API run path.
    state: *mut ffi::lua_State,
    /// The error handler (`handler` in SETUP) and the C function `invoke`, kept in the
    /// registry so running a script creates no closures.
    handler_key: RegistryKey,
    invoke_key: RegistryKey,
    /// EVAL scripts by lowercase hex SHA1.
    pub scripts: HashMap<String, Script>,
    /// Bytes of cached script bodies (INFO used_memory_scripts_eval).
    pub scripts_bytes: usize,
    /// The environment of user scripts (read-only proxy of the globals).
    pub env: Table,
    /// The environment of FUNCTION libraries and their functions.
    pub fn_env: Table,
    /// Switches `fn_env`'s `redis` to the load-time API and back.
    set_loading: Function,
    /// `xpcall(f, handler)` runner (FUNCTION LOAD runs library code with it).
    run_eval: Function,
    /// The client scripts run their commands as.
    client: Option<Box<Client>>,
    /// FUNCTION libraries (functions.rs).
    pub functions: functions::Registry,
    /// Scripts run since the last incremental GC step (see [`GC_PERIOD`]).
    gc_count: u32,
}

/// Every this many script runs, one incremental GC step of this many KB is taken, as Redis
/// does after its scripts: each run leaves a little garbage (the KEYS and ARGV tables, reply
/// strings) and left to Lua's own pacing the heap roughly doubles before a cycle, so
/// `used_memory_lua` would swing by tens of KB; small regular steps keep it flat and spread
/// the cost instead of paying for a full cycle inside one unlucky script.
const GC_PERIOD: u32 = 50;

/// State of the running script, reachable from Lua callbacks and the hook.
pub struct Run {
    pub srv: *mut Server,
    pub client: *mut Client,
    /// Id of the client that called the script.
    pub caller_id: u64,
    /// Script name for error texts (its SHA1, or the function name).
    pub name: String,
    pub read_only: bool,
    pub is_function: bool,
    pub start: Instant,
    /// Writes done so far (a script that wrote can't be killed).
    pub writes: u32,
    pub resp3: bool,
    /// SCRIPT KILL / FUNCTION KILL asked to stop it.
    pub killed: bool,
    /// Past busy-reply-threshold: other clients get BUSY.
    pub busy: bool,
    /// The FCALL command line (FUNCTION STATS shows it).
    pub argv: Vec<Vec<u8>>,
    /// `redis.set_repl` flags (1: AOF, 2: replicas); writes are not logged without AOF.
    pub repl: i64,
    /// The calling client, and the keys it declared when it tracks reads (CLIENT TRACKING):
    /// each read-only command of the script remembers them for it, as Redis does.
    pub caller: *mut Client,
    pub tracked_keys: Option<Vec<Vec<u8>>>,
}

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
    /// redis lrand48 state for math.random (48 bits), shared by all scripts like Redis's;
    /// it starts from lrand48's default seed (0x1234ABCD330E) until math.randomseed.
    static RAND48: Cell<u64> = const { Cell::new(0x1234_ABCD_330E) };
    /// When the running FUNCTION LOAD started (its code gets 500 ms, as in Redis).
    static LOAD_START: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The running FUNCTION LOAD ran out of time (its error text is Redis's, not mlua's).
    static LOAD_TIMED_OUT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` on the running script's state (None when no script runs).
pub fn with_run<R>(f: impl FnOnce(Option<&mut Run>) -> R) -> R {
    RUN.with(|r| f(r.borrow_mut().as_mut()))
}

/// True while a script runs (commands from other clients are being answered with BUSY).
pub fn running() -> bool {
    with_run(|r| r.is_some())
}

const INTERNAL_SOURCE: &str = "=redis_internal";

/// Lua code run once per state: error handler, read-only proxies, sandbox, helpers.
const SETUP: &str = r#"
local G = _G
local getinfo, getregistry = debug.getinfo, debug.getregistry
local setfenv, setmetatable, getmetatable = setfenv, setmetatable, getmetatable
local rawget, rawset, next = rawget, rawset, next
local type, tostring, error, xpcall, select, unpack = type, tostring, error, xpcall, select, unpack
local loadstring_orig, load_orig = loadstring, load
local internal = '=redis_internal'
local raw_pcall = pcall
local install_hook = G.__cinnabar_install_hook
G.__cinnabar_install_hook = nil

local function handler(err)
  local level, i = 2, nil
  while true do
    i = getinfo(level, 'Sl')
    if not i then break end
    if i.what ~= 'C' and i.what ~= 'tail' and i.source ~= internal then break end
    level = level + 1
  end
  if type(err) ~= 'table' then
    local ok, s = raw_pcall(tostring, err)
    if not ok then s = 'Lua engine error' end
    err = {err = 'ERR ' .. s}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end

local proxies = setmetatable({}, {__mode = 'k'})
local function ro_error() error('Attempt to modify a readonly table', 2) end
-- getmetatable() on a read-only table gives a read-only view of its metatable.
local function protect_mt(mt)
  local view = {}
  setmetatable(view, {__index = mt, __newindex = ro_error, __metatable = false})
  proxies[view] = mt
  mt.__metatable = view
  return mt
end
local function readonly(t)
  local p = {}
  setmetatable(p, protect_mt({__index = t, __newindex = ro_error, __cinnabar_lib = true}))
  proxies[p] = t
  return p
end

local function missing_global(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
-- Reads of the environment fall through to the real globals as a table (no Lua call per
-- global access); the globals' own metatable (set at the end) raises for missing names.
-- getmetatable(_G) shows a read-only view of a display table whose __index is a function,
-- so the real globals table is never reachable from a script.
local env = {}
do
  local display = {
    __index = function(_, k)
      local v = rawget(G, k)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = ro_error,
  }
  local view = {}
  setmetatable(view, {__index = display, __newindex = ro_error, __metatable = false})
  proxies[view] = display
  display.__metatable = view
  setmetatable(env, {__index = G, __newindex = ro_error, __metatable = view})
end
proxies[env] = G

G.rawset = function(t, k, v)
  if proxies[t] then error('Attempt to modify a readonly table', 0) end
  return rawset(t, k, v)
end
G.rawget = function(t, k)
  local real = proxies[t]
  if real then return rawget(real, k) end
  return rawget(t, k)
end
G.setmetatable = function(t, m)
  if proxies[t] then error('Attempt to modify a readonly table', 0) end
  return setmetatable(t, m)
end
G.next = function(t, k)
  local real = proxies[t]
  return next(real or t, k)
end
G.pairs = function(t) return G.next, t, nil end
local pcall_orig = pcall
local killed = G.__cinnabar_killed
G.__cinnabar_killed = nil
-- pcall and xpcall are C functions (checked_pcall, checked_xpcall): kill and err handling.
-- Lua's luaO_chunkid: how a chunk name shows in messages (LUA_IDSIZE 60).
local function chunkid(src)
  src = src:match('^[^%z]*')
  local c = src:sub(1, 1)
  if c == '=' then return src:sub(2, 60) end
  if c == '@' then
    src = src:sub(2)
    if #src > 52 then return '...' .. src:sub(#src - 51) end
    return src
  end
  local line = src:match('^[^\r\n]*')
  if #line > 43 then line = line:sub(1, 43) end
  if #line < #src then return '[string "' .. line .. '..."]' end
  return '[string "' .. line .. '"]'
end
-- Binary chunks are refused: Redis's Lua reads them as text.
local function binary_error(name)
  return chunkid(name) .. ":1: unexpected symbol near 'char(27)'"
end
G.loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then
    if type(name) ~= 'string' then name = s end
    return nil, binary_error(name)
  end
  local f, e = loadstring_orig(s, name)
  if f then setfenv(f, env) end
  return f, e
end
G.load = function(fn, name)
  local first, binary = true, false
  local reader = fn
  if type(fn) == 'function' then
    reader = function()
      if binary then return nil end
      local piece = fn()
      if first then
        first = false
        if type(piece) == 'string' and piece:byte(1) == 27 then
          binary = true
          return nil
        end
      end
      return piece
    end
  end
  local f, e = load_orig(reader, name)
  if binary then
    return nil, binary_error(type(name) == 'string' and name or '=(load)')
  end
  if f then setfenv(f, env) end
  return f, e
end

-- coroutine.resume is a C function (checked_resume); coroutine.wrap is Lua's own, whose
-- errors (a kill included) propagate.

local redis = G.redis
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = s}
end
local error_field = redis.__error_field
redis.error_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {err = error_field(s)}
end
redis.__error_field = nil

for _, name in ipairs({'setfenv', 'getfenv', 'print', 'newproxy', 'debug', 'loadfile',
                       'dofile', 'module', 'require', 'package', 'os', 'io'}) do
  rawset(G, name, nil)
end
for _, name in ipairs({'redis', 'string', 'math', 'table', 'coroutine', 'cjson', 'cmsgpack',
                       'bit', 'struct'}) do
  local t = rawget(G, name)
  if type(t) == 'table' then rawset(G, name, readonly(t)) end
end
rawset(G, '_G', env)
-- The string metatable (methods on string values) is read-only too.
do
  local smt = getmetatable('')
  smt.__index = rawget(G, 'string')
  protect_mt(smt)
end

-- Functions: a shared environment whose `redis` is a restricted table while a library loads.
local load_redis_real = {}
for _, k in ipairs({'log', 'LOG_DEBUG', 'LOG_VERBOSE', 'LOG_NOTICE', 'LOG_WARNING',
                    'REDIS_VERSION', 'REDIS_VERSION_NUM'}) do
  load_redis_real[k] = redis[k]
end
local load_redis = {}
setmetatable(load_redis, {
  __index = function(_, k)
    local v = rawget(load_redis_real, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro_error,
  __metatable = false,
})
proxies[load_redis] = load_redis_real
-- Functions' `redis` lacks the EVAL-only debugger and replication helpers.
local fn_redis_real = {}
for k, v in next, redis do
  if k ~= 'breakpoint' and k ~= 'debug' and k ~= 'replicate_commands' then fn_redis_real[k] = v end
end
local fn_redis = readonly(fn_redis_real)
local fn_env = {}
local function restricted_global(_, k)
  -- While a library loads, its code sees only the restricted `redis` table (Redis 7.0).
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
-- Globals are read through a table chain (fn_env -> G), not a Lua call per access.
local fn_mt = {__index = G, __newindex = ro_error, __metatable = false}
setmetatable(fn_env, fn_mt)
rawset(fn_env, 'redis', fn_redis)
proxies[fn_env] = G
-- While a library loads, its `redis` is the restricted table and nothing else is visible.
local function set_loading(b)
  rawset(fn_env, 'redis', b and load_redis or fn_redis)
  fn_mt.__index = b and restricted_global or G
end
setmetatable(G, {__index = missing_global, __metatable = false})

-- EVAL's runner is the C function run_eval_c (no Lua frame above the script, so
-- error(msg, 3) has no position, as in Redis); it finds the handler in the registry.
getregistry().__cinnabar_handler = handler
local function run_eval(f)
  install_hook()
  return xpcall(f, handler)
end
return env, run_eval, fn_env, set_loading, load_redis_real, handler
"#;

/// Registry names of the Rust callbacks behind the raising trampolines.
const TRAMP_NAMES: [&std::ffi::CStr; 10] = [
    c"__cinnabar_t0",
    c"__cinnabar_t1",
    c"__cinnabar_t2",
    c"__cinnabar_t3",
    c"__cinnabar_t4",
    c"__cinnabar_t5",
    c"__cinnabar_t6",
    c"__cinnabar_t7",
    c"__cinnabar_t8",
    c"__cinnabar_t9",
];

/// A C function that calls the Rust callback registered as `TRAMP_NAMES[N]` with its own
/// arguments. The callback returns `(true, results...)` or `(false, error_value)`; in the
/// second case the value is raised as a Lua error as is (a table or a string), which mlua
/// callbacks cannot do themselves.
///
/// # Safety
/// Called by Lua only. It holds no Rust values with destructors when `lua_error` unwinds.
unsafe extern "C-unwind" fn tramp<const N: usize>(l: *mut ffi::lua_State) -> c_int {
    let nargs = ffi::lua_gettop(l);
    if N == 1 {
        // redis.sha1hex: Lua's own number → string conversion (mlua would turn -0.0 into 0).
        for i in 1..=nargs {
            if ffi::lua_type(l, i) == ffi::LUA_TNUMBER {
                ffi::lua_tolstring(l, i, std::ptr::null_mut());
            }
        }
    }
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, TRAMP_NAMES[N].as_ptr());
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, nargs, ffi::LUA_MULTRET);
    let nres = ffi::lua_gettop(l);
    if nres >= 1 && ffi::lua_toboolean(l, 1) != 0 {
        ffi::lua_remove(l, 1);
        return nres - 1;
    }
    let positioned = nres >= 3 && ffi::lua_toboolean(l, 3) != 0;
    ffi::lua_settop(l, 2);
    if positioned {
        ffi::luaL_where(l, 1);
        ffi::lua_insert(l, -2);
        ffi::lua_concat(l, 2);
    }
    ffi::lua_error(l)
}

/// Makes room for one more stack slot after a LUA_MULTRET call whose results filled the
/// C function's frame: pushing without it trips LUA_USE_APICHECK (debug builds abort).
///
/// # Safety
/// Called from a C function running on `l`; `lua_error` unwinds no Rust value.
unsafe fn room_for_one(l: *mut ffi::lua_State) {
    if ffi::lua_checkstack(l, 1) == 0 {
        ffi::lua_settop(l, 0);
        ffi::lua_pushstring(l, c"stack overflow".as_ptr());
        ffi::lua_error(l);
    }
}

/// True when SCRIPT KILL / FUNCTION KILL stopped the running script.
fn script_killed() -> bool {
    with_run(|r| r.is_some_and(|r| r.killed))
}

/// `pcall` as Redis scripts see it: Lua 5.1's, plus (a) a killed script cannot survive by
/// catching the kill, (b) an error table `{err=...}` (what redis.call raises) comes back as
/// its `err` field, (c) a `lua_checkstack` before pushing the status (the original pushes
/// unchecked after a multi-result call: deep pcall recursion aborts an APICHECK build).
/// Written in C rather than as a Lua wrapper so argument errors and positions read as Lua's.
///
/// # Safety
/// Called by Lua only; `lua_error` unwinds no Rust value.
unsafe extern "C-unwind" fn checked_pcall(l: *mut ffi::lua_State) -> c_int {
    pcall_impl(l, true)
}

/// Plain `pcall` (only the stack check) for the internal code (the error handler).
///
/// # Safety
/// Called by Lua only.
unsafe extern "C-unwind" fn internal_pcall(l: *mut ffi::lua_State) -> c_int {
    pcall_impl(l, false)
}

/// # Safety
/// Called from a C function running on `l`.
unsafe fn pcall_impl(l: *mut ffi::lua_State, user: bool) -> c_int {
    ffi::luaL_checkany(l, 1);
    let status = ffi::lua_pcall(l, ffi::lua_gettop(l) - 1, ffi::LUA_MULTRET, 0);
    if status != 0 && user {
        // The stack holds the error value alone.
        if script_killed() {
            ffi::lua_error(l);
        }
        if ffi::lua_type(l, -1) == ffi::LUA_TTABLE {
            ffi::lua_getfield(l, -1, c"err".as_ptr());
            let t = ffi::lua_type(l, -1);
            if t == ffi::LUA_TSTRING || t == ffi::LUA_TNUMBER {
                ffi::lua_remove(l, -2);
            } else {
                ffi::lua_settop(l, -2);
            }
        }
    }
    if status != 0 {
        ffi::lua_pushboolean(l, 0);
        ffi::lua_insert(l, -2);
        return 2;
    }
    room_for_one(l);
    ffi::lua_pushboolean(l, 1);
    ffi::lua_insert(l, 1);
    ffi::lua_gettop(l)
}

/// Lua 5.1's `xpcall`, with the kill and stack checks of [`checked_pcall`].
///
/// # Safety
/// Called by Lua only.
unsafe extern "C-unwind" fn checked_xpcall(l: *mut ffi::lua_State) -> c_int {
    xpcall_impl(l, true)
}

/// Plain `xpcall` (only the stack check) for the runners: the kill must reach them.
///
/// # Safety
/// Called by Lua only.
unsafe extern "C-unwind" fn internal_xpcall(l: *mut ffi::lua_State) -> c_int {
    xpcall_impl(l, false)
}

/// # Safety
/// Called from a C function running on `l`.
unsafe fn xpcall_impl(l: *mut ffi::lua_State, user: bool) -> c_int {
    ffi::luaL_checkany(l, 2);
    ffi::lua_settop(l, 2);
    ffi::lua_insert(l, 1);
    let status = ffi::lua_pcall(l, 0, ffi::LUA_MULTRET, 1);
    if status != 0 && user && script_killed() {
        ffi::lua_error(l);
    }
    room_for_one(l);
    ffi::lua_pushboolean(l, c_int::from(status == 0));
    ffi::lua_replace(l, 1);
    ffi::lua_gettop(l)
}

/// Runs an EVAL script (or a library's load code) given as the only argument under SETUP's
/// error handler, with the instruction hook installed; returns `(ok, results...)` like
/// xpcall. A C function, so no Lua frame sits between the caller and the script.
///
/// # Safety
/// Called by Lua only.
unsafe extern "C-unwind" fn run_eval_c(l: *mut ffi::lua_State) -> c_int {
    install_hook(l);
    ffi::lua_settop(l, 1);
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, c"__cinnabar_handler".as_ptr());
    ffi::lua_insert(l, 1);
    let status = ffi::lua_pcall(l, 0, ffi::LUA_MULTRET, 1);
    room_for_one(l);
    ffi::lua_pushboolean(l, c_int::from(status == 0));
    ffi::lua_replace(l, 1);
    ffi::lua_gettop(l)
}

/// Registry names of the Lua parts of `loadstring` and `load` (SETUP's sandboxing versions).
const LOADSTRING_IMPL: &std::ffi::CStr = c"__cinnabar_loadstring";
const LOAD_IMPL: &std::ffi::CStr = c"__cinnabar_load";

/// Checks the arguments the way Lua's own function does (so errors name the function and
/// the user's line), then calls the Lua implementation registered as `imp`.
///
/// # Safety
/// Called by Lua only.
unsafe fn checked_loader(l: *mut ffi::lua_State, imp: &std::ffi::CStr, want_fn: bool) -> c_int {
    if want_fn {
        ffi::luaL_checktype(l, 1, ffi::LUA_TFUNCTION);
    } else {
        ffi::luaL_checklstring(l, 1, std::ptr::null_mut());
    }
    if ffi::lua_isnoneornil(l, 2) == 0 {
        ffi::luaL_checklstring(l, 2, std::ptr::null_mut());
    }
    let nargs = ffi::lua_gettop(l);
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, imp.as_ptr());
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, nargs, ffi::LUA_MULTRET);
    ffi::lua_gettop(l)
}

/// `loadstring(s [, name])`, see [`checked_loader`].
///
/// # Safety
/// Called by Lua only.
unsafe extern "C-unwind" fn checked_loadstring(l: *mut ffi::lua_State) -> c_int {
    checked_loader(l, LOADSTRING_IMPL, false)
}

/// `load(reader [, name])`, see [`checked_loader`].
///
/// # Safety
/// Called by Lua only.
unsafe extern "C-unwind" fn checked_load(l: *mut ffi::lua_State) -> c_int {
    checked_loader(l, LOAD_IMPL, true)
}

/// Lua's `getmetatable`, except that the read-only library tables (`redis`, `string`, ...,
/// whose metatable has `__cinnabar_lib`) have none, as Redis's read-only tables.
///
/// # Safety
/// Called by Lua only.
unsafe extern "C-unwind" fn checked_getmetatable(l: *mut ffi::lua_State) -> c_int {
    ffi::luaL_checkany(l, 1);
    if ffi::lua_getmetatable(l, 1) == 0 {
        ffi::lua_pushnil(l);
        return 1;
    }
    ffi::lua_pushstring(l, c"__cinnabar_lib".as_ptr());
    ffi::lua_rawget(l, -2);
    if ffi::lua_toboolean(l, -1) != 0 {
        ffi::lua_pushnil(l);
        return 1;
    }
    ffi::lua_settop(l, -2);
    ffi::luaL_getmetafield_(l, 1, c"__metatable".as_ptr());
    1
}

/// `unpack(t [, i [, j]])` as a C function: the results go straight onto the Lua stack
/// (collecting thousands of them in Rust would exhaust mlua's reference stack), with the
/// bound arithmetic done in 64 bits (the original's `int` arithmetic overflows on huge
/// ranges, which Redis patched). `lua_checkstack` refuses more results than fit.
///
/// # Safety
/// Called by Lua only; `luaL_error` unwinds no Rust value.
unsafe extern "C-unwind" fn checked_unpack(l: *mut ffi::lua_State) -> c_int {
    ffi::luaL_checktype(l, 1, ffi::LUA_TTABLE);
    let i = if ffi::lua_isnoneornil(l, 2) != 0 {
        1
    } else {
        ffi::luaL_checknumber(l, 2) as i64
    };
    let j = if ffi::lua_isnoneornil(l, 3) != 0 {
        ffi::lua_objlen(l, 1) as i64
    } else {
        ffi::luaL_checknumber(l, 3) as i64
    };
    if i > j {
        return 0;
    }
    let n = j.wrapping_sub(i).wrapping_add(1);
    if n <= 0 || n > MAX_C_STACK || ffi::lua_checkstack(l, n as c_int) == 0 {
        return ffi::luaL_error(l, c"too many results to unpack".as_ptr());
    }
    for k in i..=j {
        match c_int::try_from(k) {
            Ok(k) => ffi::lua_rawgeti_(l, 1, k),
            Err(_) => {
                ffi::lua_pushnumber(l, k as f64);
                ffi::lua_rawget_(l, 1);
            }
        }
    }
    n as c_int
}

/// Registry name of Lua's own `coroutine.resume`, called by [`checked_resume`].
const RESUME_ORIG: &std::ffi::CStr = c"__cinnabar_resume";

/// `coroutine.resume` as a C function (so argument errors and positions read as Redis's):
/// Lua's resume, except that a coroutine killed by SCRIPT KILL re-raises the kill.
///
/// # Safety
/// Called by Lua only; `lua_error` unwinds no Rust value.
unsafe extern "C-unwind" fn checked_resume(l: *mut ffi::lua_State) -> c_int {
    if ffi::lua_type(l, 1) != ffi::LUA_TTHREAD {
        return ffi::luaL_argerror(l, 1, c"coroutine expected".as_ptr());
    }
    let nargs = ffi::lua_gettop(l);
    ffi::lua_getfield(l, ffi::LUA_REGISTRYINDEX, RESUME_ORIG.as_ptr());
    ffi::lua_insert(l, 1);
    ffi::lua_call(l, nargs, ffi::LUA_MULTRET);
    if ffi::lua_toboolean(l, 1) == 0 && with_run(|r| r.is_some_and(|r| r.killed)) {
        ffi::lua_settop(l, 2);
        ffi::lua_error(l);
    }
    ffi::lua_gettop(l)
}

fn tramp_fn(n: usize) -> ffi::lua_CFunction {
    match n {
        0 => tramp::<0>,
        1 => tramp::<1>,
        2 => tramp::<2>,
        3 => tramp::<3>,
        4 => tramp::<4>,
        5 => tramp::<5>,
        6 => tramp::<6>,
        7 => tramp::<7>,
        8 => tramp::<8>,
        _ => tramp::<9>,
    }
}

/// Registers `f` (returning `(ok, value...)`) as a raising function in slot `n`.
fn raising<F>(lua: &Lua, n: usize, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> mlua::Result<MultiValue> + 'static,
{
    let inner = lua.create_function(f)?;
    let name = TRAMP_NAMES[n].to_str().unwrap_or_default();
    lua.set_named_registry_value(name, inner)?;
    // SAFETY: the trampoline only uses the Lua C API on the state it is called with.
    unsafe { lua.create_c_function(tramp_fn(n)) }
}

fn ok_vals(lua: &Lua, vals: Vec<Value>) -> mlua::Result<MultiValue> {
    let _ = lua;
    let mut mv = MultiValue::new();
    mv.push_back(Value::Boolean(true));
    for v in vals {
        mv.push_back(v);
    }
    Ok(mv)
}

fn raise(v: Value) -> mlua::Result<MultiValue> {
    let mut mv = MultiValue::new();
    mv.push_back(Value::Boolean(false));
    mv.push_back(v);
    Ok(mv)
}

fn raise_str(lua: &Lua, s: &str) -> mlua::Result<MultiValue> {
    raise(Value::String(lua.create_string(s)?))
}

/// Raises `s` prefixed with the caller's position ("user_script:1: "), as `luaL_error` does.
fn raise_at(lua: &Lua, s: &str) -> mlua::Result<MultiValue> {
    let mut mv = raise(Value::String(lua.create_string(s)?))?;
    mv.push_back(Value::Boolean(true));
    Ok(mv)
}

fn err_table(lua: &Lua, msg: &str) -> mlua::Result<Value> {
    Ok(Value::Table(convert::single_field(
        lua,
        "err",
        lua.create_string(msg)?,
    )?))
}

/// Lua's own number → string conversion (`%.14g`), for sha1hex and redis.log.
fn lua_num_str(n: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: 64-byte buffer, snprintf bounded by its length.
    let len = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%.14g".as_ptr(),
            n,
        )
    };
    String::from_utf8_lossy(&buf[..(len.max(0) as usize).min(63)]).into_owned()
}

fn value_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(n) => Some(lua_num_str(*n as f64).into_bytes()),
        Value::Number(n) => Some(lua_num_str(*n).into_bytes()),
        _ => None,
    }
}

/// `redis.call`: runs one command as the script's client; an error reply is raised.
///
/// # Safety
/// Called by Lua only. `command_to_stack` returns (dropping its Rust values) before
/// `lua_error` unwinds.
unsafe extern "C-unwind" fn lua_redis_call(l: *mut ffi::lua_State) -> c_int {
    if command_to_stack(l) {
        ffi::lua_error(l);
    }
    1
}

/// `redis.pcall`: like `redis.call`, but an error reply is returned as `{err=...}`.
///
/// # Safety
/// Called by Lua only.
unsafe extern "C-unwind" fn lua_redis_pcall(l: *mut ffi::lua_State) -> c_int {
    command_to_stack(l);
    1
}

/// The work of redis.call: reads the arguments from the Lua stack, runs the command and
/// pushes its reply as a Lua value (or an error table). Return value: true when the pushed
/// value is an error (redis.call raises it).
///
/// # Safety
/// `l` is the state of a running redis.call; only Lua memory errors can unwind from here.
unsafe fn command_to_stack(l: *mut ffi::lua_State) -> bool {
    let nargs = ffi::lua_gettop(l).max(0) as usize;
    if nargs == 0 {
        convert::raw::push_err_table(
            l,
            b"ERR Please specify at least one argument for this redis lib call",
        );
        return true;
    }
    let mut pool = ARGV_POOL.with(|p| p.take());
    let outcome = run_command(l, nargs, &mut pool);
    // Keep the buffers for the next call, unless they grew large.
    pool.truncate(64);
    pool.retain(|b| b.capacity() <= 1 << 16);
    ARGV_POOL.with(|p| p.set(pool));
    match outcome {
        Ok(is_err) => is_err,
        Err((msg, counted)) => {
            // The arguments may fill the C stack (`unpack` of 7999 values): drop them so the
            // error table has room, as Redis pops them before replying.
            ffi::lua_settop(l, 0);
            convert::raw::push_err_table(l, msg.as_bytes());
            if counted {
                ffi::lua_pushboolean(l, 1);
                ffi::lua_setfield(l, -2, c"ignore_stats_update".as_ptr());
            }
            true
        }
    }
}

/// Runs the command whose `nargs` arguments are on the stack (copied into `pool`'s
/// buffers). Ok: the reply was pushed (true if it is an error table); Err: a refusal text and
/// whether it was counted already. As Redis's scriptCall, a refusal of the command itself
/// (unknown, arity, not allowed from scripts, a write in a read-only script) is counted in
/// errorstats and, for a known command, in its `rejected_calls` right away; a bad argument
/// type is only an error value, counted if the script returns it.
unsafe fn run_command(
    l: *mut ffi::lua_State,
    nargs: usize,
    pool: &mut Vec<Vec<u8>>,
) -> Result<bool, (&'static str, bool)> {
    if pool.len() < nargs {
        pool.resize_with(nargs, Vec::new);
    }
    for (i, buf) in pool.iter_mut().take(nargs).enumerate() {
        buf.clear();
        let idx = i as c_int + 1;
        match ffi::lua_type(l, idx) {
            ffi::LUA_TSTRING => {
                let mut n = 0usize;
                let p = ffi::lua_tolstring(l, idx, &mut n);
                buf.extend_from_slice(std::slice::from_raw_parts(p.cast::<u8>(), n));
            }
            // Numbers as Redis formats them (`%.17g`, so -0.0 stays "-0").
            ffi::LUA_TNUMBER => {
                let mut tmp = [0u8; 64];
                let len = libc::snprintf(
                    tmp.as_mut_ptr() as *mut libc::c_char,
                    tmp.len(),
                    c"%.17g".as_ptr(),
                    ffi::lua_tonumber(l, idx),
                );
                buf.extend_from_slice(&tmp[..(len.max(0) as usize).min(63)]);
            }
            _ => {
                return Err((
                    "ERR Lua redis lib command arguments must be strings or integers",
                    false,
                ))
            }
        }
    }
    // The arguments are copied: pop them, so the reply has room on the stack even when they
    // filled it (Redis's luaRedisGenericCommand does the same).
    ffi::lua_settop(l, 0);
    let argv = &pool[..nargs];
    let ptrs = with_run(|r| r.map(|r| (r.srv, r.client, r.read_only, r.resp3, r.repl)));
    let Some((srv, client, read_only, resp3, repl)) = ptrs else {
        return Err(("ERR redis.call is not available in this context", false));
    };
    // SAFETY: the pointers were taken from live `&mut` borrows by `run`, which does not use
    // them while Lua runs; only one callback runs at a time on this thread.
    let (srv, client) = (&mut *srv, &mut *client);
    let table = crate::cmd::table();
    let entry = match table.get(&argv[0]) {
        None => None,
        Some(top) if top.subs.is_empty() || (argv.len() < 2 && top.handler.is_some()) => Some(top),
        Some(top) if argv.len() < 2 => Some(top),
        Some(top) => top.subs.get(&crate::util::lower(&argv[1])),
    };
    let reject = |srv: &mut Server, entry: Option<&crate::cmd::CommandEntry>, msg: &'static str| {
        crate::cmd::count_error(srv, msg);
        if let Some(e) = entry {
            srv.stats.command(e.id).rejected_calls += 1;
        }
        srv.stats.err_mark = srv.stats.total_error_replies;
        Err((msg, true))
    };
    let Some(entry) = entry else {
        return reject(srv, None, "ERR Unknown Redis command called from script");
    };
    let arity = entry.spec.arity;
    let argc = argv.len() as i32;
    if (arity > 0 && argc != arity) || argc < -arity {
        return reject(
            srv,
            Some(entry),
            "ERR Wrong number of args calling Redis command from script",
        );
    }
    // Blocking commands are `noscript` in Redis 7.0.15's table (XREAD only refuses BLOCK),
    // except BLMPOP and BZMPOP, which run there without blocking.
    if entry.has_flag("noscript")
        || (entry.has_flag("blocking")
            && !entry.full_name.starts_with("xread")
            && !matches!(&entry.full_name[..], "blmpop" | "bzmpop"))
    {
        return reject(
            srv,
            Some(entry),
            "ERR This Redis command is not allowed from script",
        );
    }
    if read_only && (entry.has_flag("write") || entry.has_flag("may_replicate")) {
        return reject(
            srv,
            Some(entry),
            "ERR Write commands are not allowed from read-only scripts.",
        );
    }
    client.reply.buf.clear();
    client.reply.proto = if resp3 {
        cinnabar_resp::Proto::Resp3
    } else {
        cinnabar_resp::Proto::Resp2
    };
    let dirty = srv.dirty;
    // redis.set_repl without REPL_AOF: this command's effects stay out of the AOF.
    let hidden_aof = if repl & 1 == 0 { srv.aof.take() } else { None };
    crate::cmd::call(srv, client, argv);
    if hidden_aof.is_some() {
        srv.aof = hidden_aof;
    }
    if entry.has_flag("readonly") {
        remember_caller_keys(srv);
    }
    if srv.dirty != dirty {
        with_run(|r| {
            if let Some(r) = r {
                r.writes += 1;
            }
        });
    }
    let is_err = convert::raw::push_reply(l, &client.reply.buf, resp3);
    client.reply.buf.clear();
    Ok(is_err)
}

/// `%.17g`, as Redis formats Lua numbers passed to commands (so -0.0 stays "-0").
fn fmt_g17(n: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: 64-byte buffer, snprintf bounded by its length.
    let len = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%.17g".as_ptr(),
            n,
        )
    };
    String::from_utf8_lossy(&buf[..(len.max(0) as usize).min(63)]).into_owned()
}

/// `redis.acl_check_cmd(cmd, args...)`: whether the caller may run the command. There are no
/// ACL users (everyone is the default user with every permission), so any command that
/// exists is allowed; an unknown command or subcommand is an error, as in Redis.
fn acl_check_cmd(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    if args.is_empty() {
        return raise(err_table(
            lua,
            "ERR Please specify at least one argument for this redis lib call",
        )?);
    }
    let mut argv: Vec<Vec<u8>> = Vec::with_capacity(args.len());
    for a in args.iter() {
        argv.push(match a {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Integer(n) => fmt_g17(*n as f64).into_bytes(),
            Value::Number(n) => fmt_g17(*n).into_bytes(),
            _ => {
                return raise(err_table(
                    lua,
                    "ERR Lua redis lib command arguments must be strings or integers",
                )?)
            }
        });
    }
    let table = crate::cmd::table();
    let known = match table.get(&argv[0]) {
        None => false,
        Some(top) if top.subs.is_empty() || argv.len() < 2 => true,
        Some(top) => top.subs.contains_key(&crate::util::lower(&argv[1])),
    };
    if !known {
        return raise(err_table(
            lua,
            "ERR Invalid command passed to redis.acl_check_cmd()",
        )?);
    }
    ok_vals(lua, vec![Value::Boolean(true)])
}

/// The caller of the running script when `c` is that script's own client (client tracking
/// treats the caller as the client that modified keys).
pub fn caller_of(c: &Client) -> Option<*mut Client> {
    with_run(|r| {
        r.filter(|r| std::ptr::eq(r.client as *const Client, c))
            .map(|r| r.caller)
    })
}

/// A read-only command ran in the script: the caller, if it tracks reads, remembers the keys
/// it declared (Redis's `trackingRememberKeys(script_caller)`).
fn remember_caller_keys(srv: &mut Server) {
    let Some((caller, keys)) =
        with_run(|r| r.and_then(|r| Some((r.caller, r.tracked_keys.clone()?))))
    else {
        return;
    };
    if keys.is_empty() {
        return;
    }
    // SAFETY: `run` took this pointer from its live `&mut` caller and does not touch the
    // caller until the script returns; nothing else holds it meanwhile.
    let caller = unsafe { &mut *caller };
    crate::tracking::remember_keys(srv, caller, keys.iter());
}

const LRAND48_MAX: u64 = i32::MAX as u64;

fn lrand48() -> u64 {
    RAND48.with(|s| {
        let x = s.get().wrapping_mul(0x5DEE_CE66D).wrapping_add(0xB) & ((1u64 << 48) - 1);
        s.set(x);
        x >> 17
    })
}

fn srand48(seed: i64) {
    let seed = seed as i32 as u32 as u64;
    RAND48.with(|s| s.set((seed << 16) | 0x330E));
}

/// `luaL_checkint`'s conversion on x86-64: the double to a 64-bit integer (NaN and
/// out-of-range values give i64::MIN), then truncated to a C int.
fn c_int_cast(x: f64) -> i32 {
    convert::num_to_i64(x) as i32
}

/// `luaL_checkint`: a number (or numeric string) cast to a C int.
fn check_int(lua: &Lua, v: Option<&Value>, n: usize, fname: &str) -> Result<i32, MultiValue> {
    let got = match v {
        Some(Value::Integer(i)) => return Ok(c_int_cast(*i as f64)),
        Some(Value::Number(x)) => return Ok(c_int_cast(*x)),
        Some(Value::String(s)) => {
            if let Some(x) = lua_str_number(&s.as_bytes()) {
                return Ok(c_int_cast(x));
            }
            "string"
        }
        Some(Value::Nil) => "nil",
        None => "no value",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        _ => "userdata",
    };
    Err(raise_at(
        lua,
        &format!("bad argument #{n} to '{fname}' (number expected, got {got})"),
    )
    .unwrap_or_default())
}

fn math_random(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let r = (lrand48() % LRAND48_MAX) as f64 / LRAND48_MAX as f64;
    let a: Vec<Value> = args.into_iter().collect();
    match a.len() {
        0 => ok_vals(lua, vec![Value::Number(r)]),
        1 => {
            let u = match check_int(lua, a.first(), 1, "random") {
                Ok(u) => u,
                Err(e) => return Ok(e),
            };
            if u < 1 {
                return raise_at(lua, "bad argument #1 to 'random' (interval is empty)");
            }
            ok_vals(lua, vec![Value::Number((r * u as f64).floor() + 1.0)])
        }
        2 => {
            let l = match check_int(lua, a.first(), 1, "random") {
                Ok(u) => u,
                Err(e) => return Ok(e),
            };
            let u = match check_int(lua, a.get(1), 2, "random") {
                Ok(u) => u,
                Err(e) => return Ok(e),
            };
            if l > u {
                return raise_at(lua, "bad argument #2 to 'random' (interval is empty)");
            }
            // int arithmetic, wrapping as Redis's does on x86-64.
            let width = u.wrapping_sub(l).wrapping_add(1);
            ok_vals(
                lua,
                vec![Value::Number((r * width as f64).floor() + l as f64)],
            )
        }
        _ => raise_at(lua, "wrong number of arguments"),
    }
}

/// Lua's C stack limit (LUAI_MAXCSTACK): `unpack` refuses more results than fit.
const MAX_C_STACK: i64 = 8000;

fn math_randomseed(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let a: Vec<Value> = args.into_iter().collect();
    match check_int(lua, a.first(), 1, "randomseed") {
        Ok(s) => {
            srand48(i64::from(s));
            ok_vals(lua, vec![])
        }
        Err(e) => Ok(e),
    }
}

/// A string as Lua's `lua_tonumber` reads it (strtod: "nan" and "inf" too).
fn lua_str_number(b: &[u8]) -> Option<f64> {
    let t = b.trim_ascii();
    crate::util::parse_f64(t).or_else(|| std::str::from_utf8(t).ok()?.parse::<f64>().ok())
}

fn log_level(n: i64) -> crate::log::Level {
    match n {
        0 => crate::log::Level::Debug,
        1 => crate::log::Level::Verbose,
        2 => crate::log::Level::Notice,
        _ => crate::log::Level::Warning,
    }
}

/// Builds the `redis` table with the functions every script (and function) sees.
fn build_redis_table(lua: &Lua) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    // SAFETY: raw C functions using the Lua C API on the state they are called with.
    unsafe {
        redis.set("call", lua.create_c_function(lua_redis_call)?)?;
        redis.set("pcall", lua.create_c_function(lua_redis_pcall)?)?;
    }
    redis.set(
        "sha1hex",
        raising(lua, 1, |lua, args: MultiValue| {
            if args.len() != 1 {
                return raise_str(lua, "wrong number of arguments");
            }
            let data = args.front().and_then(value_bytes).unwrap_or_default();
            let hex = sha1_smol::Sha1::from(&data).digest().to_string();
            ok_vals(lua, vec![Value::String(lua.create_string(hex)?)])
        })?,
    )?;
    redis.set(
        "__error_field",
        lua.create_function(|lua, s: mlua::String| {
            let b = s.as_bytes();
            let mut with_dash = Vec::with_capacity(b.len() + 1);
            if b.first() != Some(&b'-') {
                with_dash.push(b'-');
            }
            with_dash.extend_from_slice(&b);
            lua.create_string(convert::error_field(&with_dash))
        })?,
    )?;
    redis.set(
        "log",
        raising(lua, 2, |lua, args: MultiValue| {
            let a: Vec<Value> = args.into_iter().collect();
            if a.len() < 2 {
                return raise(err_table(
                    lua,
                    "ERR redis.log() requires two arguments or more.",
                )?);
            }
            // C's (int) cast: NaN and out-of-range numbers are invalid levels.
            let level = match &a[0] {
                Value::Integer(n) => *n,
                Value::Number(n) => convert::num_to_i64(*n),
                Value::String(s) => match lua_str_number(&s.as_bytes()) {
                    Some(x) => convert::num_to_i64(x),
                    None => {
                        return raise(err_table(
                            lua,
                            "ERR First argument must be a number (log level).",
                        )?)
                    }
                },
                _ => {
                    return raise(err_table(
                        lua,
                        "ERR First argument must be a number (log level).",
                    )?)
                }
            };
            if !(0..=3).contains(&level) {
                return raise(err_table(lua, "ERR Invalid debug level.")?);
            }
            let msg: Vec<String> = a[1..]
                .iter()
                .filter_map(value_bytes)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .collect();
            crate::log::log(log_level(level), &msg.join(" "));
            ok_vals(lua, vec![])
        })?,
    )?;
    redis.set(
        "setresp",
        raising(lua, 3, |lua, args: MultiValue| {
            if args.len() != 1 {
                return raise(err_table(
                    lua,
                    "ERR redis.setresp() requires one argument.",
                )?);
            }
            let v = match args.front() {
                Some(Value::Integer(n)) => *n,
                Some(Value::Number(n)) => *n as i64,
                Some(Value::String(s)) => crate::util::parse_int(&s.as_bytes()).unwrap_or(0),
                _ => 0,
            };
            if v != 2 && v != 3 {
                return raise(err_table(lua, "ERR RESP version must be 2 or 3.")?);
            }
            with_run(|r| {
                if let Some(r) = r {
                    r.resp3 = v == 3;
                }
            });
            ok_vals(lua, vec![])
        })?,
    )?;
    redis.set(
        "set_repl",
        raising(lua, 4, |lua, args: MultiValue| {
            if args.len() != 1 {
                return raise(err_table(
                    lua,
                    "ERR redis.set_repl() requires two arguments.",
                )?);
            }
            // lua_tonumber: a numeric string counts, anything else is 0 (REPL_NONE).
            let v = match args.front() {
                Some(Value::Integer(n)) => *n,
                Some(Value::Number(n)) => *n as i64,
                Some(Value::String(s)) => crate::util::parse_f64(s.as_bytes().trim_ascii())
                    .map_or(0, |x| x as i64),
                _ => 0,
            };
            if !(0..=3).contains(&v) {
                return raise(err_table(
                    lua,
                    "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                )?);
            }
            with_run(|r| {
                if let Some(r) = r {
                    r.repl = v;
                }
            });
            ok_vals(lua, vec![])
        })?,
    )?;
    redis.set("acl_check_cmd", raising(lua, 8, acl_check_cmd)?)?;
    redis.set(
        "replicate_commands",
        lua.create_function(|_, _: MultiValue| Ok(true))?,
    )?;
    redis.set(
        "breakpoint",
        lua.create_function(|_, _: MultiValue| Ok(false))?,
    )?;
    redis.set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    redis.set("REDIS_VERSION", crate::REDIS_VERSION)?;
    redis.set("REDIS_VERSION_NUM", 0x07000f)?;
    for (k, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.set(k, v)?;
    }
    Ok(redis)
}

/// Instructions between two runs of the hook (Redis uses the same count).
const HOOK_EVERY: u32 = 100_000;

/// Lua memory cap: a runaway script gets "not enough memory", not an OOM kill.
const LUA_MEMORY_LIMIT: usize = 1 << 30;

impl Engine {
    pub fn new() -> mlua::Result<Engine> {
        // SAFETY: the debug library is loaded only for the setup code, which removes it from
        // the globals before any user script runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        let _ = lua.set_memory_limit(LUA_MEMORY_LIMIT);
        let g = lua.globals();
        g.set("redis", build_redis_table(&lua)?)?;
        let math: Table = g.get("math")?;
        math.set("random", raising(&lua, 5, math_random)?)?;
        math.set("randomseed", raising(&lua, 6, math_randomseed)?)?;
        // SAFETY: C functions using the Lua API on the state they run on.
        unsafe {
            // SETUP's own code keeps these; users get checked_pcall/checked_xpcall below.
            g.set("pcall", lua.create_c_function(internal_pcall)?)?;
            g.set("xpcall", lua.create_c_function(internal_xpcall)?)?;
            g.set("getmetatable", lua.create_c_function(checked_getmetatable)?)?;
            g.set("unpack", lua.create_c_function(checked_unpack)?)?;
            let co: Table = g.get("coroutine")?;
            let resume: Function = co.get("resume")?;
            lua.set_named_registry_value(RESUME_ORIG.to_str().unwrap_or_default(), resume)?;
            co.set("resume", lua.create_c_function(checked_resume)?)?;
        }
        g.set(
            "__cinnabar_killed",
            lua.create_function(|_, ()| Ok(with_run(|r| r.is_some_and(|r| r.killed))))?,
        )?;
        // SAFETY: a C function that only calls lua_sethook on the state it runs on.
        let install = unsafe { lua.create_c_function(install_hook)? };
        g.set("__cinnabar_install_hook", install)?;
        libs::register(&lua)?;
        #[allow(clippy::type_complexity)]
        let (env, run_eval, fn_env, set_loading, load_redis, handler): (
            Table,
            Function,
            Table,
            Function,
            Table,
            Function,
        ) = lua.load(SETUP).set_name(INTERNAL_SOURCE).eval()?;
        let handler_key = lua.create_registry_value(handler)?;
        // SAFETY: `invoke` only uses the Lua C API on the state it is called with.
        let invoke_key = lua.create_registry_value(unsafe { lua.create_c_function(invoke)? })?;
        let mut state = std::ptr::null_mut();
        // SAFETY: the closure only records the state pointer mlua runs on (the main thread).
        unsafe { lua.exec_raw::<()>((), |l| state = l)? };
        functions::setup_load_api(&lua, &load_redis)?;
        drop(run_eval);
        // SAFETY: a C function using the Lua API on the state it runs on.
        let run_eval = unsafe { lua.create_c_function(run_eval_c)? };
        // SAFETY: C functions using the Lua API on the state they run on.
        unsafe {
            g.raw_set("pcall", lua.create_c_function(checked_pcall)?)?;
            g.raw_set("xpcall", lua.create_c_function(checked_xpcall)?)?;
        }
        // loadstring/load: SETUP's Lua versions behind C argument checks.
        for (name, reg, f) in [
            (
                "loadstring",
                LOADSTRING_IMPL,
                checked_loadstring as ffi::lua_CFunction,
            ),
            ("load", LOAD_IMPL, checked_load),
        ] {
            let imp: Function = g.raw_get(name)?;
            lua.set_named_registry_value(reg.to_str().unwrap_or_default(), imp)?;
            // SAFETY: C functions using the Lua API on the state they run on.
            g.raw_set(name, unsafe { lua.create_c_function(f)? })?;
        }
        let mut client = Client::detached(0);
        client.authenticated = true;
        client.in_exec = true;
        client.name = None;
        Ok(Engine {
            lua,
            state,
            handler_key,
            invoke_key,
            scripts: HashMap::new(),
            scripts_bytes: 0,
            env,
            fn_env,
            set_loading,
            run_eval,
            client: Some(Box::new(client)),
            gc_count: 0,
            functions: functions::Registry::default(),
        })
    }

    /// Compiles `body` in the sandbox environment under `chunk_name` ("@user_script").
    /// Binary chunks (precompiled bytecode, first byte ESC) are refused with the error Redis's
    /// Lua gives when it reads them as text: bytecode bypasses the verifier and is unsafe.
    pub fn compile(&self, code: &[u8], chunk_name: &str, env: &Table) -> Result<Function, String> {
        if code.first() == Some(&27) {
            let name = chunk_name.strip_prefix('@').unwrap_or(chunk_name);
            return Err(format!("{name}:1: unexpected symbol near 'char(27)'"));
        }
        self.lua
            .load(code)
            .set_name(chunk_name)
            .set_environment(env.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }

    /// Looks up or compiles an EVAL script; returns its SHA1.
    pub fn load_script(&mut self, body: &[u8]) -> Result<String, CmdError> {
        let sha = sha1_smol::Sha1::from(body).digest().to_string();
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = parse_shebang(body)?;
        let func = self
            .compile(&body[skip..], "@user_script", &self.env)
            .map_err(|m| CmdError::err(format!("Error compiling script (new function): {m}")))?;
        self.scripts_bytes += body.len() + 64;
        let key = self
            .lua
            .create_registry_value(func.clone())
            .map_err(|e| CmdError::err(e.to_string()))?;
        self.scripts.insert(
            sha.clone(),
            Script {
                key,
                func,
                body: body.to_vec(),
                flags,
            },
        );
        Ok(sha)
    }

    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }
}

/// Parses an EVAL script's `#!lua flags=...` line. Returns (flags, bytes to skip): the
/// shebang line without its newline, so line numbers stay right.
pub fn parse_shebang(body: &[u8]) -> Result<(u32, usize), CmdError> {
    if !body.starts_with(b"#!") {
        return Ok((flags::EVAL_COMPAT, 0));
    }
    let Some(nl) = body.iter().position(|&c| c == b'\n') else {
        return Err(CmdError::err("Invalid script shebang"));
    };
    // Words are split with Redis's `sdssplitargs` rules (quotes and escapes, as an inline
    // command), as Redis's evalExtractShebangFlags does: `#!"lua" "flags=no-writes"` is
    // `#!lua flags=no-writes`, and unbalanced quotes fail.
    let Some(words) = cinnabar_resp::parse::split_args(&body[..nl]) else {
        return Err(CmdError::err("Invalid engine in script shebang"));
    };
    let words: Vec<String> = words
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let mut parts = words.iter().map(String::as_str);
    let engine = parts.next().unwrap_or("#!");
    if engine != "#!lua" {
        return Err(CmdError::err(format!(
            "Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut fl = 0;
    for p in parts {
        if let Some(list) = p.strip_prefix("flags=") {
            // An empty list is no flag; an empty name inside a list is an unknown flag.
            for f in list.split(',').filter(|_| !list.is_empty()) {
                match flags::NAMES.iter().find(|(n, _)| *n == f) {
                    Some((_, bit)) => fl |= bit,
                    None => {
                        return Err(CmdError::err(format!(
                            "Unexpected flag in script shebang: {f}"
                        )))
                    }
                }
            }
        } else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {p}")));
        }
    }
    Ok((fl, nl))
}

/// The server's engine, created on first use.
pub fn engine(srv: &mut Server) -> &mut Engine {
    if srv.scripting.is_none() {
        match Engine::new() {
            Ok(e) => srv.scripting = Some(Box::new(e)),
            Err(e) => panic!("cannot create the Lua state: {e}"),
        }
    }
    srv.scripting.as_mut().expect("just created")
}

/// The instruction-count hook, installed with `lua_sethook` directly (not mlua's hook, which
/// follows one thread only: coroutines inherit this one). Past busy-reply-threshold it lets
/// `net::while_busy` serve other clients; it aborts a killed script and a FUNCTION LOAD
/// that ran out of time by raising a plain Lua error.
///
/// # Safety
/// Called by Lua. `hook_check` returns before `lua_error` unwinds, so no Rust value with a
/// destructor lives across it.
unsafe extern "C-unwind" fn raw_hook(l: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    if let Some(msg) = hook_check() {
        ffi::lua_pushstring(l, msg.as_ptr());
        ffi::lua_error(l);
    }
}

/// `lua_sethook` for the running thread (called by the runners before user code).
unsafe extern "C-unwind" fn install_hook(l: *mut ffi::lua_State) -> c_int {
    ffi::lua_sethook(l, Some(raw_hook), ffi::LUA_MASKCOUNT, HOOK_EVERY as c_int);
    0
}

/// The hook's work. Return value: the error to raise, if the code must stop.
fn hook_check() -> Option<&'static std::ffi::CStr> {
    if let Some(t) = LOAD_START.with(|s| s.get()) {
        if t.elapsed().as_millis() >= 500 {
            LOAD_TIMED_OUT.with(|f| f.set(true));
            return Some(c"FUNCTION LOAD timeout");
        }
        return None;
    }
    let state = with_run(|r| {
        r.map(|r| {
            // SAFETY: see call_command; the server is parked while the script runs.
            let threshold = unsafe { (*r.srv).config.get("busy-reply-threshold") }
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(5000);
            (
                r.srv,
                r.caller_id,
                r.start.elapsed().as_millis() as u64 >= threshold && threshold > 0,
            )
        })
    });
    let (srv, caller, busy) = state?;
    if busy {
        let newly = with_run(|r| {
            let r = r?;
            let first = !r.busy;
            r.busy = true;
            first.then(|| {
                (
                    r.start.elapsed().as_millis(),
                    if r.is_function {
                        "FUNCTION KILL"
                    } else {
                        "SCRIPT KILL"
                    },
                    r.name.clone(),
                )
            })
        });
        if let Some((ms, kill, name)) = newly {
            crate::warning!("Slow script detected: still in execution after {ms} milliseconds. You can try killing the script using the {kill} command. Script name is: {name}.");
        }
        // SAFETY: see call_command; the script is suspended inside the hook.
        let srv = unsafe { &mut *srv };
        if crate::persist::loading::is_loading() {
            // A script replayed from the AOF at start-up: clients get -LOADING meanwhile.
            crate::persist::loading::serve_from_script(srv);
        } else {
            crate::net::while_busy::serve(srv, caller);
        }
    }
    if with_run(|r| r.is_some_and(|r| r.killed)) {
        return Some(c"Script killed by user with SCRIPT KILL...");
    }
    None
}

/// What to run: an EVAL script or a FUNCTION's callback.
pub struct Invocation<'a> {
    /// Registry reference of the function to call (`RegistryKey::id`).
    pub func: c_int,
    pub name: String,
    pub keys: &'a [Vec<u8>],
    pub args: &'a [Vec<u8>],
    pub read_only: bool,
    pub is_function: bool,
    /// The calling command (kept for FUNCTION STATS; empty for EVAL).
    pub argv: Vec<Vec<u8>>,
}

/// What `invoke` calls: set by `run` just before `lua_pcall`.
#[derive(Clone, Copy)]
struct InvokeSpec {
    func: c_int,
    keys: *const [Vec<u8>],
    args: *const [Vec<u8>],
    is_function: bool,
}

thread_local! {
    static INVOKE: Cell<Option<InvokeSpec>> = const { Cell::new(None) };
    /// Argument buffers of redis.call, reused between calls.
    static ARGV_POOL: Cell<Vec<Vec<u8>>> = const { Cell::new(Vec::new()) };
}

/// Pushes a new array table of `items` as Lua strings.
///
/// # Safety
/// `l` must be a running Lua state with two free stack slots.
unsafe fn push_string_array(l: *mut ffi::lua_State, items: &[Vec<u8>]) {
    ffi::lua_createtable(l, items.len().min(1 << 16) as c_int, 0);
    for (i, it) in items.iter().enumerate() {
        ffi::lua_pushlstring(l, it.as_ptr().cast(), it.len());
        ffi::lua_rawseti(l, -2, (i + 1) as _);
    }
}

/// The protected body of a script run (called by `run` with `lua_pcall`, the error handler
/// installed): builds KEYS and ARGV (globals for EVAL, arguments for a FUNCTION) and calls
/// the script. Building them here means running out of Lua memory is a catchable error.
///
/// # Safety
/// Called by Lua only; holds no Rust values with destructors (errors unwind through it).
unsafe extern "C-unwind" fn invoke(l: *mut ffi::lua_State) -> c_int {
    let Some(spec) = INVOKE.with(|c| c.take()) else {
        return 0;
    };
    ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, spec.func as _);
    // SAFETY: `run` keeps the slices alive until lua_pcall returns.
    let (keys, args) = (&*spec.keys, &*spec.args);
    if spec.is_function {
        // Functions see no KEYS/ARGV globals (Redis runs them in a VM of their own); the last
        // EVAL's are still in this shared one.
        for name in [c"KEYS", c"ARGV"] {
            ffi::lua_pushstring(l, name.as_ptr());
            ffi::lua_pushnil(l);
            ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
        }
        push_string_array(l, keys);
        push_string_array(l, args);
        ffi::lua_call(l, 2, 1);
    } else {
        ffi::lua_pushstring(l, c"KEYS".as_ptr());
        push_string_array(l, keys);
        ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
        ffi::lua_pushstring(l, c"ARGV".as_ptr());
        push_string_array(l, args);
        ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
        ffi::lua_call(l, 0, 1);
    }
    1
}

/// Registry slot used to hand a value from the raw stack to mlua (slow paths only).
const HANDOFF: &str = "__cinnabar_result";

/// Pops the top of the stack as an mlua value.
///
/// # Safety
/// `l` must be the engine's main state with a value on top.
unsafe fn pop_value(lua: &Lua, l: *mut ffi::lua_State) -> Value {
    ffi::lua_setfield(l, ffi::LUA_REGISTRYINDEX, c"__cinnabar_result".as_ptr());
    let v = lua
        .named_registry_value::<Value>(HANDOFF)
        .unwrap_or(Value::Nil);
    let _ = lua.unset_named_registry_value(HANDOFF);
    v
}

/// Runs a script for `caller` and writes its reply (or returns its error).
///
/// The call goes through the Lua C API directly: the error handler and `invoke` are pushed
/// from the registry and run with `lua_pcall`; a successful result is written to the
/// caller straight from the Lua stack (`convert::raw`), anything else goes through mlua.
pub fn run(srv: &mut Server, caller: &mut Client, inv: Invocation) -> Result<(), CmdError> {
    let eng = engine(srv);
    let lua = eng.lua.clone();
    let l = eng.state;
    let (handler_ref, invoke_ref) = (eng.handler_key.id(), eng.invoke_key.id());
    let Some(mut client) = eng.client.take() else {
        return Err(CmdError::err("script client busy"));
    };
    client.db = caller.db;
    client.reply.buf.clear();
    client.multi = None;
    let aof_mark = srv.aof.as_ref().map(|a| (a.buf.len(), a.multi_open));
    let srv_ptr: *mut Server = srv;
    let client_ptr: *mut Client = &mut *client;
    let tracked_keys = crate::tracking::remembers_reads(caller).then(|| inv.keys.to_vec());
    let caller_ptr: *mut Client = &mut *caller;
    RUN.with(|r| {
        *r.borrow_mut() = Some(Run {
            srv: srv_ptr,
            client: client_ptr,
            caller_id: caller.id,
            name: inv.name,
            read_only: inv.read_only,
            is_function: inv.is_function,
            start: Instant::now(),
            writes: 0,
            resp3: false,
            killed: false,
            busy: false,
            argv: inv.argv,
            repl: 3,
            caller: caller_ptr,
            tracked_keys,
        })
    });
    // SAFETY: `srv` is not used again until the script returns.
    unsafe { (*srv_ptr).call_depth += 1 };
    INVOKE.with(|c| {
        c.set(Some(InvokeSpec {
            func: inv.func,
            keys: inv.keys,
            args: inv.args,
            is_function: inv.is_function,
        }))
    });
    // SAFETY: `l` is the engine's main thread, alive while `lua` is; the stack is restored to
    // `base` before returning. Lua errors are caught by lua_pcall.
    let (base, status) = unsafe {
        let base = ffi::lua_gettop(l);
        ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, handler_ref as _);
        ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, invoke_ref as _);
        ffi::lua_sethook(l, Some(raw_hook), ffi::LUA_MASKCOUNT, HOOK_EVERY as c_int);
        (base, ffi::lua_pcall(l, 0, 1, base + 1))
    };
    INVOKE.with(|c| c.set(None));
    let run = RUN.with(|r| r.borrow_mut().take());
    srv.call_depth -= 1;
    let run = run.expect("run state set above");
    // What follows runs outside any protected call, where a Lua memory error would abort
    // the process: lift the cap meanwhile (a failed script may have stopped right at it).
    let cap = lua.set_memory_limit(0).unwrap_or(LUA_MEMORY_LIMIT);
    // The result: written to the caller right away when possible (`written` holds the error
    // texts errorstats must count), else as an mlua value.
    let mut written = None;
    let result: mlua::Result<(bool, Value)> = if status == 0 {
        let mut errs = Vec::new();
        // SAFETY: the result is on top of the stack (base + 2).
        if !run.killed
            && unsafe {
                convert::raw::write_reply(l, base + 2, &mut caller.reply, run.resp3, &mut errs)
            }
        {
            written = Some(errs);
            Ok((true, Value::Nil))
        } else {
            Ok((true, unsafe { pop_value(&lua, l) }))
        }
    } else {
        Ok((false, unsafe { pop_value(&lua, l) }))
    };
    // SAFETY: back to the height found on entry.
    unsafe { ffi::lua_settop(l, base) };
    if status != 0 {
        // A failed script may leave a large heap behind (e.g. it hit the memory cap): free it
        // now so the next script does not fail for want of memory.
        let _ = lua.gc_collect();
        let _ = lua.gc_collect();
    }
    let _ = lua.set_memory_limit(cap);
    if let Some(eng) = srv.scripting.as_mut() {
        eng.client = Some(client);
        eng.gc_count += 1;
        if eng.gc_count >= GC_PERIOD {
            eng.gc_count = 0;
            // SAFETY: `l` is the engine's main state and no Lua code is running.
            unsafe { ffi::lua_gc(l, ffi::LUA_GCSTEP, GC_PERIOD as c_int) };
        }
    }
    finish_aof(srv, aof_mark, run.writes);
    if run.busy {
        crate::net::while_busy::after_script(srv);
    }
    if let Some(errors) = written {
        count_errors(srv, errors);
        return Ok(());
    }
    if run.killed {
        const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
        if let Ok((false, Value::Table(t))) = &result {
            let _ = t.raw_set("err", KILLED);
            return Err(CmdError::Raw(error_text(
                &Value::Table(t.clone()),
                &run.name,
            )));
        }
        return Err(CmdError::Raw(KILLED.into()));
    }
    match result {
        Ok((true, v)) => {
            let errors = convert::lua_to_reply(&lua, &v, &mut caller.reply, run.resp3);
            count_errors(srv, errors);
            Ok(())
        }
        Ok((false, v)) => {
            let text = error_text(&v, &run.name);
            if ignores_stats(&v) {
                caller.reply.error(&text);
                srv.stats.failed_uncounted = true;
                return Ok(());
            }
            Err(CmdError::Raw(text))
        }
        Err(e) => Err(CmdError::err(format!(
            "Error running script (call to {}): @{}",
            run.name, e
        ))),
    }
}

/// Counts the error replies a script returned in errorstats (those not counted already, when
/// the command that made them failed). Any error reply makes the script's command fail.
fn count_errors(srv: &mut Server, errors: Vec<(String, bool)>) {
    for (e, counted) in errors {
        if counted {
            crate::cmd::count_error(srv, &e);
        } else {
            srv.stats.failed_uncounted = true;
        }
    }
}

/// Makes the AOF show a script's writes like Redis propagates them: one write as itself,
/// several wrapped in MULTI/EXEC (the script's client runs with `in_exec`, so the AOF feed
/// opened a MULTI at its first write).
fn finish_aof(srv: &mut Server, mark: Option<(usize, bool)>, writes: u32) {
    let (Some(aof), Some((start, was_open))) = (srv.aof.as_mut(), mark) else {
        return;
    };
    if was_open || !aof.multi_open {
        return;
    }
    if writes <= 1 {
        const MULTI: &[u8] = b"*1\r\n$5\r\nMULTI\r\n";
        if aof.buf.get(start..start + MULTI.len()) == Some(MULTI) {
            aof.buf.drain(start..start + MULTI.len());
            aof.multi_open = false;
            return;
        }
    }
    crate::persist::aof::exec_done(srv);
}

/// True for an error table made from a command's error reply (already counted).
fn ignores_stats(v: &Value) -> bool {
    matches!(v, Value::Table(t) if t.raw_get::<bool>("ignore_stats_update").unwrap_or(false))
}

/// The reply text of a failed script: the error table's `err`, plus where it failed.
pub fn error_text(v: &Value, name: &str) -> String {
    match v {
        Value::Table(t) => {
            // Not a raw read: Redis reads `err` with lua_getfield (an __index table counts);
            // a number is converted as Lua does.
            let err = match t.get::<Value>("err") {
                Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                Ok(Value::Integer(n)) => lua_num_str(n as f64),
                Ok(Value::Number(n)) => lua_num_str(n),
                _ => "ERR unknown error".to_string(),
            };
            let source = match t.raw_get::<Value>("source") {
                Ok(Value::String(s)) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
                _ => None,
            };
            let line = match t.raw_get::<Value>("line") {
                Ok(Value::Integer(n)) => Some(n),
                Ok(Value::Number(n)) => Some(n as i64),
                _ => None,
            };
            match (source, line) {
                (Some(s), Some(l)) => format!("{err} script: {name}, on {s}:{l}."),
                _ => err,
            }
        }
        Value::String(s) => format!(
            "ERR Error running script (call to {name}): @{}",
            String::from_utf8_lossy(&s.as_bytes())
        ),
        _ => "ERR unknown error".to_string(),
    }
}

/// INFO memory figures: (Lua heap, cached scripts, their bytes, functions, libraries,
/// function code bytes).
pub fn memory_stats(srv: &Server) -> (usize, usize, usize, usize, usize, usize) {
    match srv.scripting.as_ref() {
        None => (32 * 1024, 0, 0, 0, 0, 0),
        Some(e) => {
            let (f, l, b) = e.functions.stats();
            (e.used_memory(), e.scripts.len(), e.scripts_bytes, f, l, b)
        }
    }
}
