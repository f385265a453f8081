//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL, FCALL_RO.
//!
//! The handlers validate arguments and look scripts up; running them (the Lua state, the
//! sandbox, redis.call, conversions) is `scripting/`.

use super::{CmdError, CmdResult, CommandEntry, Ctx, Handler};
use crate::scripting::{self, flags, Invocation};
use crate::server::Server;
use crate::util::eq_ic;

/// Parses `numkeys` at `argv[2]` and splits the rest into (keys, args).
type KeysArgs<'a> = (&'a [Vec<u8>], &'a [Vec<u8>]);

fn split_keys<'a>(ctx: &Ctx<'a>) -> Result<KeysArgs<'a>, CmdError> {
    let n = super::int_arg(ctx.arg(2))?;
    let rest = &ctx.argv[3..];
    if n > rest.len() as i64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    Ok(rest.split_at(n as usize))
}

fn noscript() -> CmdError {
    CmdError::Raw("NOSCRIPT No matching script. Please use EVAL.".into())
}

/// The cache key of an EVALSHA argument: its lowercase form when it can name a script (40
/// ASCII bytes), without the UTF-8 round trip of `util::lower`.
fn sha_key(arg: &[u8]) -> Option<String> {
    if arg.len() != 40 || !arg.is_ascii() {
        return None;
    }
    let mut v = arg.to_vec();
    v.make_ascii_lowercase();
    String::from_utf8(v).ok()
}

/// Whether EVAL / EVALSHA / FCALL `argv` may write, by the script's own flags as Redis's
/// `evalGetCommandFlags` / `fcallGetCommandFlags` decide (CLIENT PAUSE WRITE): a script or
/// function declared `no-writes` does not; an unknown script or function counts as writing.
pub fn may_write(srv: &mut Server, entry: &CommandEntry, argv: &[Vec<u8>]) -> bool {
    let Some(arg) = argv.get(1) else {
        return true;
    };
    let script_flags = match entry.full_name.as_str() {
        "evalsha" => {
            let eng = scripting::engine(srv);
            sha_key(arg).and_then(|sha| eng.scripts.get(&sha).map(|s| s.flags))
        }
        "fcall" => {
            let eng = scripting::engine(srv);
            let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
            eng.functions.funcs.get(&name).map(|f| f.flags)
        }
        _ => scripting::parse_shebang(arg).ok().map(|(f, _)| f),
    };
    script_flags.is_none_or(|f| f & flags::NO_WRITES == 0)
}

fn eval_generic(ctx: &mut Ctx, by_sha: bool, ro: bool) -> CmdResult {
    let body: &[u8] = ctx.arg(1);
    // A SHA that is not 40 characters long fails first, then numkeys, then the lookup
    // (Redis's order).
    if by_sha && body.len() != 40 {
        return Err(noscript());
    }
    let (keys, args) = split_keys(ctx)?;
    let eng = scripting::engine(ctx.srv);
    let sha = if by_sha {
        match sha_key(body) {
            Some(sha) if eng.scripts.contains_key(&sha) => sha,
            _ => return Err(noscript()),
        }
    } else {
        eng.load_script(body)?
    };
    let Some(script) = eng.scripts.get(&sha) else {
        return Err(noscript());
    };
    let func = script.key.id();
    if ro && script.flags & (flags::EVAL_COMPAT | flags::NO_WRITES) == 0 {
        return Err(CmdError::err(
            "Can not execute a script with write flag using *_ro command.",
        ));
    }
    let read_only = ro || script.flags & flags::NO_WRITES != 0;
    scripting::run(
        ctx.srv,
        ctx.client,
        Invocation {
            func,
            name: sha,
            keys,
            args,
            read_only,
            is_function: false,
            argv: Vec::new(),
        },
    )
}

fn eval(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, false, false)
}

fn evalsha(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, true, false)
}

fn eval_ro(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, false, true)
}

fn evalsha_ro(ctx: &mut Ctx) -> CmdResult {
    eval_generic(ctx, true, true)
}

fn script_load(ctx: &mut Ctx) -> CmdResult {
    let body: &[u8] = ctx.arg(2);
    let sha = scripting::engine(ctx.srv).load_script(body)?;
    ctx.out().bulk(sha.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx) -> CmdResult {
    let eng = scripting::engine(ctx.srv);
    let found: Vec<bool> = ctx.argv[2..]
        .iter()
        .map(|s| eng.scripts.contains_key(&crate::util::lower(s)))
        .collect();
    ctx.out().array(found.len());
    for f in found {
        ctx.out().int(f as i64);
    }
    Ok(())
}

/// Parses FLUSH's optional ASYNC|SYNC.
fn flush_mode(ctx: &Ctx, what: &str) -> Result<(), CmdError> {
    match ctx.argv.len() {
        2 => Ok(()),
        3 if eq_ic(ctx.arg(2), "async") || eq_ic(ctx.arg(2), "sync") => Ok(()),
        _ => Err(CmdError::err(format!(
            "{what} FLUSH only support SYNC|ASYNC option"
        ))),
    }
}

fn script_flush(ctx: &mut Ctx) -> CmdResult {
    flush_mode(ctx, "SCRIPT")?;
    // A new Lua state drops every cached script; functions move over to it.
    let functions = ctx
        .srv
        .scripting
        .take()
        .map(|e| e.functions.sources())
        .unwrap_or_default();
    let eng = scripting::engine(ctx.srv);
    let _ = eng.functions_restore(functions);
    ctx.out().ok();
    Ok(())
}

fn script_kill(_ctx: &mut Ctx) -> CmdResult {
    Err(CmdError::Raw(
        "NOTBUSY No scripts in execution right now.".into(),
    ))
}

/// SCRIPT DEBUG: the Lua debugger is not implemented; NO (the default) is accepted.
fn script_debug(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.arg(2);
    if eq_ic(a, "no") {
        ctx.out().ok();
        return Ok(());
    }
    if eq_ic(a, "yes") || eq_ic(a, "sync") {
        return Err(CmdError::err(
            "SCRIPT DEBUG (the Lua debugger) is not supported by this server",
        ));
    }
    Err(CmdError::err("Use SCRIPT DEBUG YES/SYNC/NO"))
}

fn help(ctx: &mut Ctx, lines: &[&str]) -> CmdResult {
    ctx.out().array(lines.len());
    for l in lines {
        ctx.out().simple(l);
    }
    Ok(())
}

fn script_help(ctx: &mut Ctx) -> CmdResult {
    help(
        ctx,
        &[
            "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
            "HELP",
            "    Prints this help.",
        ],
    )
}

fn fcall_generic(ctx: &mut Ctx, ro: bool) -> CmdResult {
    let key = String::from_utf8_lossy(ctx.arg(1)).to_ascii_lowercase();
    let eng = scripting::engine(ctx.srv);
    let Some(f) = eng.functions.funcs.get(&key) else {
        return Err(CmdError::err("Function not found"));
    };
    let (func, fflags, name) = (f.key.id(), f.flags, f.name.clone());
    let n = crate::util::parse_int(ctx.arg(2))
        .ok_or_else(|| CmdError::err("Bad number of keys provided"))?;
    let rest = &ctx.argv[3..];
    if n > rest.len() as i64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if n < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    if ro && fflags & flags::NO_WRITES == 0 {
        return Err(CmdError::err(
            "Can not execute a script with write flag using *_ro command.",
        ));
    }
    let (keys, args) = rest.split_at(n as usize);
    scripting::run(
        ctx.srv,
        ctx.client,
        Invocation {
            func,
            name,
            keys,
            args,
            read_only: ro || fflags & flags::NO_WRITES != 0,
            is_function: true,
            argv: ctx.argv.to_vec(),
        },
    )
}

fn fcall(ctx: &mut Ctx) -> CmdResult {
    fcall_generic(ctx, false)
}

fn fcall_ro(ctx: &mut Ctx) -> CmdResult {
    fcall_generic(ctx, true)
}

/// FUNCTION LOAD [REPLACE ...] code, as Redis's functionLoadCommand: every argument before
/// the last is an option (REPLACE, any number of times), the last one is the code.
fn function_load(ctx: &mut Ctx) -> CmdResult {
    let argv = ctx.argv;
    let mut replace = false;
    for opt in &argv[2..argv.len() - 1] {
        if !eq_ic(opt, "replace") {
            return Err(CmdError::err(format!(
                "Unknown option given: {}",
                String::from_utf8_lossy(opt)
            )));
        }
        replace = true;
    }
    let code: &[u8] = &argv[argv.len() - 1];
    let name = scripting::engine(ctx.srv).function_load(code, replace)?;
    // Changes the dataset as far as persistence goes (AOF feeds writes that made it dirty).
    ctx.dirty(1);
    ctx.out().bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx) -> CmdResult {
    let name = String::from_utf8_lossy(ctx.arg(2)).into_owned();
    if !scripting::engine(ctx.srv).function_delete(&name) {
        return Err(CmdError::err("Library not found"));
    }
    ctx.dirty(1);
    ctx.out().ok();
    Ok(())
}

/// FUNCTION's error for a subcommand given too many arguments (Redis names it as typed).
fn function_too_many_args(ctx: &Ctx) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
        String::from_utf8_lossy(ctx.arg(1))
    ))
}

fn function_flush(ctx: &mut Ctx) -> CmdResult {
    match ctx.argv.len() {
        2 => {}
        3 if eq_ic(ctx.arg(2), "async") || eq_ic(ctx.arg(2), "sync") => {}
        n if n > 3 => return Err(function_too_many_args(ctx)),
        _ => {
            return Err(CmdError::err(
                "FUNCTION FLUSH only supports SYNC|ASYNC option",
            ))
        }
    }
    scripting::engine(ctx.srv).function_flush();
    ctx.dirty(1);
    ctx.out().ok();
    Ok(())
}

fn function_list(ctx: &mut Ctx) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < ctx.argv.len() {
        let a = ctx.arg(i);
        if eq_ic(a, "withcode") && !with_code {
            with_code = true;
        } else if eq_ic(a, "libraryname") && pattern.is_none() {
            if i + 1 >= ctx.argv.len() {
                return Err(CmdError::err("library name argument was not given"));
            }
            pattern = Some(ctx.arg(i + 1));
            i += 1;
        } else {
            return Err(CmdError::err(format!(
                "Unknown argument {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    let eng = scripting::engine(ctx.srv);
    let reg = &eng.functions;
    let libs: Vec<_> = reg
        .libs
        .iter()
        .filter(|(n, _)| pattern.is_none_or(|p| crate::util::glob_match(p, n.as_bytes(), true)))
        .collect();
    let mut out = std::mem::take(&mut ctx.client.reply);
    out.array(libs.len());
    for (name, lib) in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.funcs.len());
        for f in &lib.funcs {
            let Some(e) = reg.funcs.get(f) else { continue };
            out.map(3);
            out.bulk(b"name");
            out.bulk(e.name.as_bytes());
            out.bulk(b"description");
            match &e.desc {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = flags::NAMES
                .iter()
                .filter(|(_, b)| e.flags & b != 0)
                .map(|(n, _)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    ctx.client.reply = out;
    Ok(())
}

fn function_dump(ctx: &mut Ctx) -> CmdResult {
    let payload = scripting::engine(ctx.srv).function_dump();
    ctx.out().bulk(&payload);
    Ok(())
}

fn function_restore(ctx: &mut Ctx) -> CmdResult {
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy = match ctx.argv.len() {
        3 => Policy::Append,
        4 if eq_ic(ctx.arg(3), "flush") => Policy::Flush,
        4 if eq_ic(ctx.arg(3), "append") => Policy::Append,
        4 if eq_ic(ctx.arg(3), "replace") => Policy::Replace,
        4 => {
            return Err(CmdError::err(
                "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ))
        }
        _ => return Err(function_too_many_args(ctx)),
    };
    let codes = scripting::functions::parse_dump(ctx.arg(2))?;
    let eng = scripting::engine(ctx.srv);
    let saved = eng.functions.sources();
    if policy == Policy::Flush {
        eng.function_flush();
    }
    let mut seen = std::collections::HashSet::new();
    for code in &codes {
        // Redis loads the payload into a fresh library set first: a name repeated inside the
        // payload fails like FUNCTION LOAD does (quoted name), whatever the policy.
        let dup = scripting::functions::library_name(code).filter(|n| !seen.insert(n.clone()));
        let loaded = match dup {
            Some(n) => Err(CmdError::err(format!("Library '{n}' already exists"))),
            None => eng.function_load_as(code, policy != Policy::Append, true),
        };
        if let Err(e) = loaded {
            // All or nothing: put the previous libraries back.
            eng.function_flush();
            let _ = eng.functions_restore(saved);
            return Err(e);
        }
    }
    ctx.dirty(1);
    ctx.out().ok();
    Ok(())
}

fn function_stats(ctx: &mut Ctx) -> CmdResult {
    let (funcs, libs, _) = scripting::engine(ctx.srv).functions.stats();
    let running = scripting::with_run(|r| {
        r.filter(|r| r.is_function).map(|r| {
            (
                r.name.clone(),
                r.argv.clone(),
                r.start.elapsed().as_millis() as i64,
            )
        })
    });
    let out = ctx.out();
    out.map(2);
    out.bulk(b"running_script");
    match running {
        None => out.null(),
        Some((name, argv, ms)) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(name.as_bytes());
            out.bulk(b"command");
            out.array(argv.len());
            for a in &argv {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(ms);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs as i64);
    out.bulk(b"functions_count");
    out.int(funcs as i64);
    Ok(())
}

fn function_kill(_ctx: &mut Ctx) -> CmdResult {
    Err(CmdError::Raw(
        "NOTBUSY No scripts in execution right now.".into(),
    ))
}

fn function_help(ctx: &mut Ctx) -> CmdResult {
    help(
        ctx,
        &[
            "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
            "HELP",
            "    Prints this help.",
        ],
    )
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("fcall", fcall),
    ("fcall_ro", fcall_ro),
    ("function|load", function_load),
    ("function|delete", function_delete),
    ("function|flush", function_flush),
    ("function|list", function_list),
    ("function|dump", function_dump),
    ("function|restore", function_restore),
    ("function|stats", function_stats),
    ("function|kill", function_kill),
    ("function|help", function_help),
    ("eval", eval),
    ("evalsha", evalsha),
    ("eval_ro", eval_ro),
    ("evalsha_ro", evalsha_ro),
    ("script|load", script_load),
    ("script|exists", script_exists),
    ("script|flush", script_flush),
    ("script|kill", script_kill),
    ("script|help", script_help),
    ("script|debug", script_debug),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    #[test]
    fn eval_basics() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("EVAL \"return 1\" 0"), ":1\r\n");
        assert_eq!(
            t.exec("EVAL \"return {1,2,'a'}\" 0"),
            "*3\r\n:1\r\n:2\r\n$1\r\na\r\n"
        );
        assert_eq!(
            t.exec("EVAL \"return redis.call('set', KEYS[1], ARGV[1])\" 1 k v"),
            "+OK\r\n"
        );
        assert_eq!(t.exec("GET k"), "$1\r\nv\r\n");
        assert_eq!(
            t.exec("EVAL \"return redis.call('incr', 'k')\" 0"),
            "-ERR value is not an integer or out of range script: 6f2b230e8168d6623331d135dfd8a3a262da17ee, on @user_script:1.\r\n"
        );
        assert_eq!(
            t.exec("EVAL \"x=1\" 0"),
            "-ERR user_script:1: Attempt to modify a readonly table script: 7caf6056913504f0508c65faf2dc3f94ff65bcfd, on @user_script:1.\r\n"
        );
        assert_eq!(
            t.exec("EVAL \"return y\" 0"),
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'y' script: e278681ed961e2fb52881313e5c90fdd93749940, on @user_script:1.\r\n"
        );
        assert_eq!(
            t.exec("EVAL \"return 1 +\" 0"),
            "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"
        );
        assert_eq!(
            t.exec("EVALSHA ffffffffffffffffffffffffffffffffffffffff 0"),
            "-NOSCRIPT No matching script. Please use EVAL.\r\n"
        );
        assert_eq!(
            t.exec("EVAL \"math.randomseed(5) return math.random(1000)\" 0"),
            ":525\r\n"
        );
    }

    #[test]
    fn lua_memory_is_capped() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("EVAL \"return 1\" 0"), ":1\r\n");
        let eng = crate::scripting::engine(&mut t.srv);
        eng.lua
            .set_memory_limit(eng.lua.used_memory() + (8 << 20))
            .unwrap();
        let r = t.exec("EVAL \"local t = {} for i = 1, 1e7 do t[i] = string.rep('x', 100) .. i end return #t\" 0");
        assert!(r.starts_with("-ERR"), "{r}");
        // The state still works afterwards.
        assert_eq!(t.exec("EVAL \"return 2\" 0"), ":2\r\n");
    }

    #[test]
    fn functions_survive_script_flush() {
        let mut t = TestServer::new();
        assert_eq!(
            t.exec("FUNCTION LOAD \"#!lua name=l\nredis.register_function('f', function() return 7 end)\""),
            "$1\r\nl\r\n"
        );
        assert_eq!(
            t.exec("SCRIPT LOAD \"return 1\""),
            "$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n"
        );
        assert_eq!(t.exec("SCRIPT FLUSH"), "+OK\r\n");
        assert_eq!(
            t.exec("SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
            "*1\r\n:0\r\n"
        );
        assert_eq!(t.exec("FCALL f 0"), ":7\r\n");
    }
}
