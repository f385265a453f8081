//! FUNCTION libraries: `#!lua name=<lib>` code registering functions with
//! `redis.register_function`, called by FCALL / FCALL_RO.
//!
//! Loading a library runs its code once with a restricted `redis` table (register_function,
//! log, the constants; anything else is a "nonexistent global" error, as in Redis 7.0) and
//! collects the registered functions in `LOADING`; only if the code ran cleanly and
//! registered at least one function whose name is free does the library replace the old
//! one. Functions keep the shared function environment, whose `redis` is the full API once
//! loading is over.
//!
//! FUNCTION DUMP/RESTORE use Redis's payload: per library the RDB function opcode (245)
//! and the code as an RDB string, then the RDB version and a CRC-64.

use std::cell::RefCell;
use std::collections::BTreeMap;

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::{err_table, flags, ok_vals, raise, Engine};
use crate::cmd::CmdError;

/// RDB opcode of a function library (Redis 7.0's RDB_OPCODE_FUNCTION2).
pub const OP_FUNCTION2: u8 = 245;

/// RDB opcode of a function library written by Redis 7.0 RC1/RC2 (RDB_OPCODE_FUNCTION_PRE_GA).
pub const OP_FUNCTION_PRE_GA: u8 = 246;

/// One registered function.
pub struct FuncEntry {
    /// The name as registered (the map key is its lowercase form: FCALL is case-insensitive).
    pub name: String,
    pub lib: String,
    pub func: Function,
    /// Registry reference of `func`, which FCALL pushes with `lua_rawgeti`.
    pub key: mlua::RegistryKey,
    pub flags: u32,
    pub desc: Option<Vec<u8>>,
}

/// One library: its code and the (lowercase) names of its functions, in registration order.
pub struct Library {
    pub code: Vec<u8>,
    pub funcs: Vec<String>,
}

/// Loaded libraries and their functions.
#[derive(Default)]
pub struct Registry {
    pub libs: BTreeMap<String, Library>,
    pub funcs: BTreeMap<String, FuncEntry>,
}

/// A function registered by the library being loaded.
struct Pending {
    name: String,
    func: Function,
    flags: u32,
    desc: Option<Vec<u8>>,
}

thread_local! {
    static LOADING: RefCell<Option<Vec<Pending>>> = const { RefCell::new(None) };
}

impl Registry {
    /// Library sources, in load order (to move them into a new Lua state).
    pub fn sources(&self) -> Vec<Vec<u8>> {
        self.libs.values().map(|l| l.code.clone()).collect()
    }

    /// (functions, libraries, code bytes) for INFO.
    pub fn stats(&self) -> (usize, usize, usize) {
        let bytes = self.libs.values().map(|l| l.code.len() + 64).sum();
        (self.funcs.len(), self.libs.len(), bytes)
    }

    fn remove_lib(&mut self, name: &str) -> Option<Library> {
        let lib = self.libs.remove(name)?;
        for f in &lib.funcs {
            self.funcs.remove(f);
        }
        Some(lib)
    }
}

fn valid_name(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

const NAME_RULES: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// Parses the `#!lua name=<lib>` first line, as Redis's functionExtractLibMetaData and then
/// its checks: the line is split with `sdssplitargs` rules (quotes and escapes, as an inline
/// command: `#!"lua" name='foo'` names library `foo`; unbalanced quotes are invalid), the first
/// word minus `#!` is the engine, every other word must be `name=...` (case-insensitive, once);
/// then the name is checked, then the engine (so `#! name=test` fails with `Engine ''`).
/// Return value: (library name, bytes to skip).
fn parse_metadata(code: &[u8]) -> Result<(String, usize), CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::err("Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&c| c == b'\n') else {
        return Err(CmdError::err("Invalid library metadata"));
    };
    let words = match cinnabar_resp::parse::split_args(&code[..end]) {
        Some(w) if !w.is_empty() => w,
        _ => return Err(CmdError::err("Invalid library metadata")),
    };
    let engine = String::from_utf8_lossy(words[0].get(2..).unwrap_or_default()).into_owned();
    let mut name: Option<&[u8]> = None;
    for p in &words[1..] {
        match p.get(..5).filter(|k| k.eq_ignore_ascii_case(b"name=")) {
            Some(_) if name.is_some() => {
                return Err(CmdError::err(
                    "Invalid metadata value, name argument was given multiple times",
                ))
            }
            Some(_) => name = Some(&p[5..]),
            None => {
                return Err(CmdError::err(format!(
                    "Invalid metadata value given: {}",
                    String::from_utf8_lossy(p)
                )))
            }
        }
    }
    let Some(name) = name else {
        return Err(CmdError::err("Library name was not given"));
    };
    if !valid_name(name) {
        return Err(CmdError::err(NAME_RULES));
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Engine '{engine}' not found")));
    }
    // Valid names are ASCII.
    Ok((String::from_utf8_lossy(name).into_owned(), end))
}

/// The library name in `code`'s metadata line, when it parses.
pub fn library_name(code: &[u8]) -> Option<String> {
    parse_metadata(code).ok().map(|(name, _)| name)
}

/// `redis.register_function` (load time only).
pub(super) fn register_function(lua: &Lua, args: MultiValue) -> mlua::Result<MultiValue> {
    let fail =
        |m: &str| -> mlua::Result<MultiValue> { raise(err_table(lua, &format!("ERR {m}"))?) };
    if !LOADING.with(|l| l.borrow().is_some()) {
        return fail("redis.register_function can only be called on FUNCTION LOAD command");
    }
    let a: Vec<Value> = args.into_iter().collect();
    let (name, func, fl, desc) = match a.len() {
        1 => {
            let Value::Table(t) = &a[0] else {
                return fail("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
            };
            let (mut name, mut func, mut fl, mut desc) = (None, None, 0u32, None);
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, v) = pair?;
                let key = match &k {
                    Value::String(s) => s.to_str().map(|s| s.to_string()).unwrap_or_default(),
                    _ => String::new(),
                };
                match key.as_str() {
                    // Numbers pass as strings (lua_isstring), converted as Lua does.
                    "function_name" => match v {
                        Value::String(s) => name = Some(s.as_bytes().to_vec()),
                        Value::Integer(_) | Value::Number(_) => name = super::value_bytes(&v),
                        _ => return fail("function_name argument given to redis.register_function must be a string"),
                    },
                    "callback" => match v {
                        Value::Function(f) => func = Some(f),
                        _ => return fail("callback argument given to redis.register_function must be a function"),
                    },
                    "description" => match v {
                        Value::String(s) => desc = Some(s.as_bytes().to_vec()),
                        Value::Integer(_) | Value::Number(_) => desc = super::value_bytes(&v),
                        _ => return fail("description argument given to redis.register_function must be a string"),
                    },
                    "flags" => {
                        let Value::Table(ft) = v else {
                            return fail("flags argument to redis.register_function must be a table representing function flags");
                        };
                        for f in ft.sequence_values::<Value>() {
                            let f = f?;
                            let Value::String(s) = f else {
                                return fail("unknown flag given");
                            };
                            let s = s.as_bytes();
                            match flags::NAMES.iter().find(|(n, _)| n.as_bytes() == &s[..]) {
                                Some((_, bit)) => fl |= bit,
                                None => return fail("unknown flag given"),
                            }
                        }
                    }
                    _ => return fail("unknown argument given to redis.register_function"),
                }
            }
            let Some(name) = name else {
                return fail("redis.register_function must get a function name argument");
            };
            let Some(func) = func else {
                return fail("redis.register_function must get a callback argument");
            };
            (name, func, fl, desc)
        }
        2 => {
            let name = match &a[0] {
                Value::String(n) => n.as_bytes().to_vec(),
                v @ (Value::Integer(_) | Value::Number(_)) => {
                    super::value_bytes(v).unwrap_or_default()
                }
                _ => return fail("first argument to redis.register_function must be a string"),
            };
            let Value::Function(f) = &a[1] else {
                return fail("second argument to redis.register_function must be a function");
            };
            (name, f.clone(), 0, None)
        }
        _ => return fail("wrong number of arguments to redis.register_function"),
    };
    if !valid_name(&name) {
        return fail(NAME_RULES);
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let dup = LOADING.with(|l| {
        l.borrow()
            .as_ref()
            .is_some_and(|p| p.iter().any(|x| x.name == name))
    });
    if dup {
        return fail("Function already exists in the library");
    }
    LOADING.with(|l| {
        if let Some(p) = l.borrow_mut().as_mut() {
            p.push(Pending {
                name,
                func,
                flags: fl,
                desc,
            });
        }
    });
    ok_vals(lua, vec![])
}

impl Engine {
    /// FUNCTION LOAD: compiles and runs a library; returns its name.
    pub fn function_load(&mut self, code: &[u8], replace: bool) -> Result<String, CmdError> {
        self.function_load_as(code, replace, false)
    }

    /// FUNCTION LOAD, or one library of FUNCTION RESTORE (`restoring`: its collision text).
    pub fn function_load_as(
        &mut self,
        code: &[u8],
        replace: bool,
        restoring: bool,
    ) -> Result<String, CmdError> {
        let (name, skip) = parse_metadata(code)?;
        if self.functions.libs.contains_key(&name) && !replace {
            return Err(CmdError::err(if restoring {
                format!("Library {name} already exists")
            } else {
                format!("Library '{name}' already exists")
            }));
        }
        let body = &code[skip..];
        let func = self
            .compile(body, "@user_function", &self.fn_env)
            .map_err(|m| CmdError::err(format!("Error compiling function: {m}")))?;
        LOADING.with(|l| *l.borrow_mut() = Some(Vec::new()));
        let _ = self.set_loading.call::<()>(true);
        super::LOAD_START.with(|s| s.set(Some(std::time::Instant::now())));
        super::LOAD_TIMED_OUT.with(|f| f.set(false));
        let result = self.run_eval.call::<(bool, Value)>(func);
        super::LOAD_START.with(|s| s.set(None));
        if super::LOAD_TIMED_OUT.with(|f| f.replace(false)) {
            let _ = self.set_loading.call::<()>(false);
            LOADING.with(|l| l.borrow_mut().take());
            return Err(CmdError::err(
                "Error registering functions: ERR FUNCTION LOAD timeout",
            ));
        }
        let _ = self.set_loading.call::<()>(false);
        let pending = LOADING.with(|l| l.borrow_mut().take()).unwrap_or_default();
        match result {
            Ok((true, _)) => {}
            Ok((false, v)) => {
                let err = match &v {
                    Value::Table(t) => match t.raw_get::<Value>("err") {
                        Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
                        _ => "ERR unknown error".into(),
                    },
                    other => format!("{other:?}"),
                };
                return Err(CmdError::err(format!("Error registering functions: {err}")));
            }
            Err(e) => {
                return Err(CmdError::err(format!("Error registering functions: {e}")));
            }
        }
        if pending.is_empty() {
            return Err(CmdError::err("No functions registered"));
        }
        for p in &pending {
            if let Some(f) = self.functions.funcs.get(&p.name.to_ascii_lowercase()) {
                if f.lib != name {
                    return Err(CmdError::err(format!("Function {} already exists", p.name)));
                }
            }
        }
        self.functions.remove_lib(&name);
        let mut names = Vec::new();
        for p in pending {
            let key = p.name.to_ascii_lowercase();
            names.push(key.clone());
            let reg = self
                .lua
                .create_registry_value(p.func.clone())
                .map_err(|e| CmdError::err(e.to_string()))?;
            self.functions.funcs.insert(
                key,
                FuncEntry {
                    name: p.name,
                    lib: name.clone(),
                    func: p.func,
                    key: reg,
                    flags: p.flags,
                    desc: p.desc,
                },
            );
        }
        self.functions.libs.insert(
            name.clone(),
            Library {
                code: code.to_vec(),
                funcs: names,
            },
        );
        Ok(name)
    }

    /// Loads libraries again (after the Lua state was replaced).
    pub fn functions_restore(&mut self, sources: Vec<Vec<u8>>) -> Result<(), CmdError> {
        for s in sources {
            self.function_load(&s, true)?;
        }
        Ok(())
    }

    pub fn function_delete(&mut self, name: &str) -> bool {
        self.functions.remove_lib(name).is_some()
    }

    pub fn function_flush(&mut self) {
        self.functions = Registry::default();
    }

    /// The FUNCTION DUMP payload.
    pub fn function_dump(&self) -> Vec<u8> {
        let mut w = crate::persist::rdb_save::Writer::new(true);
        for lib in self.functions.libs.values() {
            w.byte(OP_FUNCTION2);
            w.string(&lib.code);
        }
        w.buf
            .extend_from_slice(&crate::persist::RDB_VERSION.to_le_bytes());
        let crc = crate::persist::crc64::crc64(&w.buf);
        w.buf.extend_from_slice(&crc.to_le_bytes());
        w.buf
    }
}

/// Library codes in a FUNCTION DUMP payload (or in RDB function records).
pub fn parse_dump(payload: &[u8]) -> Result<Vec<Vec<u8>>, CmdError> {
    let body = crate::persist::rdb_load::verify_payload(payload)
        .ok_or_else(|| CmdError::err("DUMP payload version or checksum are wrong"))?;
    let mut r = crate::persist::rdb_load::Reader::new(body);
    let mut out = Vec::new();
    while r.left() > 0 {
        let op = r
            .byte()
            .map_err(|_| CmdError::err("payload is not a function"))?;
        let fail = |m: &str| CmdError::err(m);
        if op == OP_FUNCTION_PRE_GA {
            // Redis 7.0 RC1/RC2 records: name, engine, optional description, code.
            let name = r
                .string()
                .map_err(|_| fail("Failed loading library name"))?;
            let engine = r.string().map_err(|_| fail("Failed loading engine name"))?;
            let has_desc = r
                .length()
                .map_err(|_| fail("Failed loading library blob"))?;
            if has_desc != 0 {
                r.string()
                    .map_err(|_| fail("Failed loading library description"))?;
            }
            let code = r
                .string()
                .map_err(|_| fail("Failed loading library blob"))?;
            let mut full = b"#!".to_vec();
            full.extend_from_slice(&engine);
            full.extend_from_slice(b" name=");
            full.extend_from_slice(&name);
            full.push(b'\n');
            full.extend_from_slice(&code);
            out.push(full);
            continue;
        }
        if op != OP_FUNCTION2 {
            return Err(CmdError::err("given type is not a function"));
        }
        let code = r
            .string()
            .map_err(|_| fail("Failed loading library payload"))?;
        out.push(code);
    }
    Ok(out)
}

/// Lua side of the function environment, created with the state.
pub(super) fn setup_load_api(lua: &Lua, load_redis_real: &Table) -> mlua::Result<()> {
    load_redis_real.raw_set(
        "register_function",
        super::raising(lua, 7, register_function)?,
    )?;
    Ok(())
}
