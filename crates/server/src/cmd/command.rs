//! COMMAND: introspection of the command table (COUNT, LIST, INFO, DOCS, GETKEYS, HELP).
//!
//! Everything is rendered from the generated specs joined with our handlers by `cmd::table()`,
//! so only commands we implement are listed and the data cannot drift from what the dispatcher
//! enforces. Reply shapes follow Redis 7.0: INFO is a 10-element array per command (flags,
//! ACL categories, tips, key specs and subcommands as sets), DOCS a map per command. Redis
//! lists commands in hash order; we list them sorted, which clients cannot rely on either way.

use cinnabar_resp::ReplyBuf;

use super::getkeys;
use super::spec::{Arg, Begin, CommandSpec, Find, KeySpec};
use super::{table, CmdError, CmdResult, CommandEntry, Ctx, Handler};
use crate::util::{eq_ic, glob_match, lower};

/// Top-level commands, sorted by name.
fn sorted_commands() -> Vec<&'static CommandEntry> {
    let mut v: Vec<&'static CommandEntry> = table().map.values().collect();
    v.sort_by(|a, b| a.full_name.cmp(&b.full_name));
    v
}

fn sorted_subs(e: &'static CommandEntry) -> Vec<&'static CommandEntry> {
    let mut v: Vec<&'static CommandEntry> = e.subs.values().collect();
    v.sort_by(|a, b| a.full_name.cmp(&b.full_name));
    v
}

/// Looks up "get" or "client|kill" (any case), as COMMAND INFO/DOCS name commands.
fn lookup_full_name(name: &[u8]) -> Option<&'static CommandEntry> {
    let name = lower(name);
    let mut parts = name.split('|');
    let top = table().map.get(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(top),
        (Some(sub), None) => top.subs.get(sub),
        _ => None,
    }
}

/// Redis 7.0's print order of command flags; flags it does not print (sentinel) are absent.
const FLAG_ORDER: &[&str] = &[
    "write",
    "readonly",
    "denyoom",
    "module",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "asking",
    "fast",
    "no_auth",
    "may_replicate",
    "no_mandatory_keys",
    "no_async_loading",
    "no_multi",
    "movablekeys",
    "allow_busy",
];

/// Redis's ACL category table order (COMMAND INFO prints categories in it).
const ACL_ORDER: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// Key spec flags in Redis's print order.
const KEY_FLAG_ORDER: &[&str] = &[
    "RO",
    "RW",
    "OW",
    "RM",
    "access",
    "update",
    "insert",
    "delete",
    "not_key",
    "incomplete",
    "variable_flags",
];

/// `items` filtered to `order` and sorted by it (Redis prints flag sets in table order).
fn ordered(items: &[&'static str], order: &[&'static str]) -> Vec<&'static str> {
    order
        .iter()
        .copied()
        .filter(|o| items.contains(o))
        .collect()
}

fn status_set(out: &mut ReplyBuf, items: &[&str]) {
    out.set(items.len());
    for i in items {
        out.simple(i);
    }
}

fn key_spec(out: &mut ReplyBuf, ks: &KeySpec) {
    let notes = !ks.notes.is_empty();
    out.map(3 + notes as usize);
    if notes {
        out.bulk(b"notes");
        out.bulk(ks.notes.as_bytes());
    }
    out.bulk(b"flags");
    status_set(out, &ordered(ks.flags, KEY_FLAG_ORDER));
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    match ks.begin {
        Begin::Index(pos) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map(1);
            out.bulk(b"index");
            out.int(pos as i64);
        }
        Begin::Keyword(word, startfrom) => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map(2);
            out.bulk(b"keyword");
            out.bulk(word.as_bytes());
            out.bulk(b"startfrom");
            out.int(startfrom as i64);
        }
        Begin::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    match ks.find {
        Find::Range(last, step, limit) => {
            out.bulk(b"range");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"lastkey");
            out.int(last as i64);
            out.bulk(b"keystep");
            out.int(step as i64);
            out.bulk(b"limit");
            out.int(limit as i64);
        }
        Find::Keynum(idx, first, step) => {
            out.bulk(b"keynum");
            out.bulk(b"spec");
            out.map(3);
            out.bulk(b"keynumidx");
            out.int(idx as i64);
            out.bulk(b"firstkey");
            out.int(first as i64);
            out.bulk(b"keystep");
            out.int(step as i64);
        }
        Find::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map(0);
        }
    }
}

/// Arity as Redis 7.0 declares it, where our handler enforces 7.0's stricter rule.
fn display_arity(e: &CommandEntry) -> i64 {
    match e.full_name.as_str() {
        "command|getkeys" | "command|getkeysandflags" => -4,
        _ => e.spec.arity as i64,
    }
}

/// Redis 7.0 calls a command movablekeys only when some key spec is not a plain index+range
/// (or is incomplete); commands whose callback merely refines key flags (SET, BITFIELD) are not.
fn movable(s: &CommandSpec) -> bool {
    s.key_specs.iter().any(|k| {
        !matches!(k.begin, Begin::Index(_))
            || !matches!(k.find, Find::Range(..))
            || k.flags.contains(&"incomplete")
    })
}

/// One COMMAND INFO entry (Redis 7.0 shape).
fn command_info(out: &mut ReplyBuf, e: &'static CommandEntry) {
    let s: &CommandSpec = e.spec;
    out.array(10);
    out.bulk(e.full_name.as_bytes());
    out.int(display_arity(e));
    let mut flags = ordered(s.flags, FLAG_ORDER);
    if !movable(s) {
        flags.retain(|f| *f != "movablekeys");
    }
    status_set(out, &flags);
    out.int(s.first_key as i64);
    out.int(s.last_key as i64);
    out.int(s.key_step as i64);
    status_set(out, &ordered(s.acl, ACL_ORDER));
    out.set(s.tips.len());
    for t in s.tips {
        out.bulk(t.as_bytes());
    }
    out.set(s.key_specs.len());
    for ks in s.key_specs {
        key_spec(out, ks);
    }
    let subs = sorted_subs(e);
    out.set(subs.len());
    for sub in subs {
        command_info(out, sub);
    }
}

fn arg_doc(out: &mut ReplyBuf, a: &Arg) {
    let flags: Vec<&str> = [
        (a.optional, "optional"),
        (a.multiple, "multiple"),
        (a.multiple_token, "multiple_token"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    let fields = 2
        + (a.key_spec_index >= 0) as usize
        + a.token.is_some() as usize
        + a.since.is_some() as usize
        + !flags.is_empty() as usize
        + !a.args.is_empty() as usize;
    out.map(fields);
    out.bulk(b"name");
    out.bulk(a.name.as_bytes());
    out.bulk(b"type");
    out.bulk(a.kind.as_bytes());
    if a.key_spec_index >= 0 {
        out.bulk(b"key_spec_index");
        out.int(a.key_spec_index as i64);
    }
    if let Some(t) = a.token {
        out.bulk(b"token");
        out.bulk(t.as_bytes());
    }
    if let Some(v) = a.since {
        out.bulk(b"since");
        out.bulk(v.as_bytes());
    }
    if !flags.is_empty() {
        out.bulk(b"flags");
        status_set(out, &flags);
    }
    if !a.args.is_empty() {
        out.bulk(b"arguments");
        out.array(a.args.len());
        for sub in a.args {
            arg_doc(out, sub);
        }
    }
}

/// One COMMAND DOCS value (the map after the name).
fn command_docs(out: &mut ReplyBuf, e: &'static CommandEntry) {
    let s = e.spec;
    let texts: Vec<(&str, &str)> = [
        ("summary", s.summary),
        ("since", s.since),
        ("group", s.group),
        ("complexity", s.complexity),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let subs = sorted_subs(e);
    let fields = texts.len()
        + !s.doc_flags.is_empty() as usize
        + s.deprecated_since.is_some() as usize
        + s.replaced_by.is_some() as usize
        + !s.history.is_empty() as usize
        + !s.args.is_empty() as usize
        + !subs.is_empty() as usize;
    out.map(fields);
    for (k, v) in texts {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
    if !s.doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        status_set(out, s.doc_flags);
    }
    if let Some(v) = s.deprecated_since {
        out.bulk(b"deprecated_since");
        out.bulk(v.as_bytes());
    }
    if let Some(v) = s.replaced_by {
        out.bulk(b"replaced_by");
        out.bulk(v.as_bytes());
    }
    if !s.history.is_empty() {
        out.bulk(b"history");
        out.array(s.history.len());
        for (ver, what) in s.history {
            out.array(2);
            out.bulk(ver.as_bytes());
            out.bulk(what.as_bytes());
        }
    }
    if !s.args.is_empty() {
        out.bulk(b"arguments");
        out.array(s.args.len());
        for a in s.args {
            arg_doc(out, a);
        }
    }
    if !subs.is_empty() {
        out.bulk(b"subcommands");
        out.map(subs.len());
        for sub in subs {
            out.bulk(sub.full_name.as_bytes());
            command_docs(out, sub);
        }
    }
}

/// COMMAND (bare): every command's INFO.
fn command(ctx: &mut Ctx) -> CmdResult {
    let all = sorted_commands();
    let out = ctx.out();
    out.array(all.len());
    for e in all {
        command_info(out, e);
    }
    Ok(())
}

fn count(ctx: &mut Ctx) -> CmdResult {
    let n = table().map.len() as i64;
    ctx.out().int(n);
    Ok(())
}

fn info(ctx: &mut Ctx) -> CmdResult {
    if ctx.argv.len() == 2 {
        return command(ctx);
    }
    let argv = ctx.argv;
    let out = ctx.out();
    out.array(argv.len() - 2);
    for name in &argv[2..] {
        match lookup_full_name(name) {
            Some(e) => command_info(out, e),
            None => out.null(),
        }
    }
    Ok(())
}

fn docs(ctx: &mut Ctx) -> CmdResult {
    let found: Vec<&'static CommandEntry> = if ctx.argv.len() == 2 {
        sorted_commands()
    } else {
        ctx.argv[2..]
            .iter()
            .filter_map(|n| lookup_full_name(n))
            .collect()
    };
    let out = ctx.out();
    out.map(found.len());
    for e in found {
        out.bulk(e.full_name.as_bytes());
        command_docs(out, e);
    }
    Ok(())
}

enum ListFilter {
    All,
    Module,
    AclCat(String),
    Pattern(Vec<u8>),
}

fn list(ctx: &mut Ctx) -> CmdResult {
    let filter = match ctx.argv.len() {
        2 => ListFilter::All,
        5 if eq_ic(ctx.arg(2), "filterby") => {
            let v = ctx.arg(4);
            if eq_ic(ctx.arg(3), "module") {
                ListFilter::Module
            } else if eq_ic(ctx.arg(3), "aclcat") {
                ListFilter::AclCat(format!("@{}", lower(v)))
            } else if eq_ic(ctx.arg(3), "pattern") {
                ListFilter::Pattern(v.to_vec())
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let keep = |e: &CommandEntry| match &filter {
        ListFilter::All => true,
        ListFilter::Module => false,
        ListFilter::AclCat(cat) => e.spec.acl.iter().any(|c| c.eq_ignore_ascii_case(cat)),
        ListFilter::Pattern(p) => glob_match(p, e.full_name.as_bytes(), true),
    };
    let mut names = Vec::new();
    for e in sorted_commands() {
        if keep(e) {
            names.push(e.full_name.as_str());
        }
        for sub in sorted_subs(e) {
            if keep(sub) {
                names.push(sub.full_name.as_str());
            }
        }
    }
    let out = ctx.out();
    out.array(names.len());
    for n in names {
        out.bulk(n.as_bytes());
    }
    Ok(())
}

/// Resolves a command line to the command it would run, as Redis's lookupCommand does: a
/// container given alone is the container itself.
fn lookup_argv(argv: &[Vec<u8>]) -> Option<&'static CommandEntry> {
    let top = table().get(argv.first()?)?;
    if top.subs.is_empty() || argv.len() == 1 {
        return Some(top);
    }
    top.subs.get(&lower(&argv[1]))
}

fn getkeys_impl(ctx: &mut Ctx, with_flags: bool) -> CmdResult {
    // Redis 7.0 declares GETKEYS/GETKEYSANDFLAGS with arity -4 (a command and an argument).
    if ctx.argv.len() < 4 {
        return Err(ctx.arity_error());
    }
    let line = &ctx.argv[2..];
    let e = lookup_argv(line).ok_or_else(|| CmdError::err("Invalid command specified"))?;
    if !getkeys::has_keys(e.spec) {
        return Err(CmdError::err("The command has no key arguments"));
    }
    let arity = e.spec.arity;
    let argc = line.len() as i32;
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = getkeys::command_keys(&e.full_name, e.spec, line);
    if keys.is_empty() && !e.has_flag("no_mandatory_keys") {
        return Err(CmdError::err("Invalid arguments specified for command"));
    }
    let out = &mut ctx.client.reply;
    out.array(keys.len());
    for k in keys {
        if with_flags {
            out.array(2);
            out.bulk(&line[k.pos]);
            status_set(out, &ordered(k.flags, KEY_FLAG_ORDER));
        } else {
            out.bulk(&line[k.pos]);
        }
    }
    Ok(())
}

fn getkeys(ctx: &mut Ctx) -> CmdResult {
    getkeys_impl(ctx, false)
}

fn getkeysandflags(ctx: &mut Ctx) -> CmdResult {
    getkeys_impl(ctx, true)
}

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// Writes a HELP reply: every line as a status string.
pub fn help_reply(out: &mut ReplyBuf, lines: &[&str]) {
    out.array(lines.len());
    for l in lines {
        out.simple(l);
    }
}

fn help(ctx: &mut Ctx) -> CmdResult {
    help_reply(ctx.out(), HELP);
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("command", command),
    ("command|count", count),
    ("command|info", info),
    ("command|docs", docs),
    ("command|list", list),
    ("command|getkeys", getkeys),
    ("command|getkeysandflags", getkeysandflags),
    ("command|help", help),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    #[test]
    fn count_list_and_info() {
        let mut t = TestServer::new();
        let n = super::table().map.len();
        assert_eq!(t.exec("COMMAND COUNT"), format!(":{n}\r\n"));
        assert!(t.exec("COMMAND LIST").contains("$11\r\nclient|list\r\n"));
        assert_eq!(
            t.exec("COMMAND LIST FILTERBY PATTERN ech?"),
            "*1\r\n$4\r\necho\r\n"
        );
        assert_eq!(t.exec("COMMAND LIST FILTERBY MODULE x"), "*0\r\n");
        assert_eq!(
            t.exec("COMMAND LIST FILTERBY foo x"),
            "-ERR syntax error\r\n"
        );
        let get = t.exec("COMMAND INFO get nosuch");
        assert!(get.starts_with("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n"));
        assert!(get.ends_with("$-1\r\n"));
        assert!(t.exec("COMMAND").starts_with(&format!("*{n}\r\n*10\r\n")));
    }

    #[test]
    fn docs() {
        let mut t = TestServer::new();
        let d = t.exec("COMMAND DOCS get nosuch");
        assert!(d.starts_with("*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n"));
        assert!(d.ends_with("$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"));
        assert_eq!(t.exec("COMMAND DOCS nosuch"), "*0\r\n");
    }

    #[test]
    fn getkeys() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("COMMAND GETKEYS get a"), "*1\r\n$1\r\na\r\n");
        assert_eq!(
            t.exec("COMMAND GETKEYS nosuch a"),
            "-ERR Invalid command specified\r\n"
        );
        assert_eq!(
            t.exec("COMMAND GETKEYS get a b"),
            "-ERR Invalid number of arguments specified for command\r\n"
        );
        assert_eq!(
            t.exec("COMMAND GETKEYS client list"),
            "-ERR The command has no key arguments\r\n"
        );
        assert_eq!(
            t.exec("COMMAND GETKEYSANDFLAGS set a b"),
            "*1\r\n*2\r\n$1\r\na\r\n*2\r\n+OW\r\n+update\r\n"
        );
        assert_eq!(
            t.exec("COMMAND GETKEYSANDFLAGS set a b GET"),
            "*1\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"
        );
    }
}
