//! CLIENT: the connection's own state (ID, names, reply mode, eviction/touch opt-outs) and
//! the server's client table (LIST, INFO, KILL).
//!
//! Clients live in `srv.clients` as `Rc<RefCell<Client>>`. While a handler runs, the calling
//! client is already borrowed mutably as `ctx.client`, so walks over the table use
//! `try_borrow` and take the caller from `ctx.client` when the ids match. Killing another
//! client marks it, wakes its connection task (which closes the socket) and drops it from the
//! table at once, so a following CLIENT LIST no longer shows it, as in Redis. Killing yourself
//! closes the connection after the reply has been sent.

use super::command::help_reply;
use super::connection::{valid_client_name, BAD_CLIENT_NAME};
use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::client::{Client, ReplyMode};
use crate::util::eq_ic;

/// "unknown subcommand or wrong number of arguments" for argument counts the arity allows
/// but the subcommand does not.
fn sub_syntax_error(ctx: &Ctx) -> CmdError {
    let sub = String::from_utf8_lossy(&ctx.arg(1)[..ctx.arg(1).len().min(128)]).into_owned();
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{sub}'. Try CLIENT HELP."
    ))
}

/// Parses an ON/OFF argument (case-insensitive), else a syntax error.
fn on_off(a: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(a, "on") {
        Ok(true)
    } else if eq_ic(a, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Client types of CLIENT LIST/KILL TYPE. Only normal clients exist until replication and
/// pub/sub land.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Master,
    Replica,
    PubSub,
}

fn client_type(a: &[u8]) -> Result<ClientType, CmdError> {
    let t = if eq_ic(a, "normal") {
        ClientType::Normal
    } else if eq_ic(a, "master") {
        ClientType::Master
    } else if eq_ic(a, "replica") || eq_ic(a, "slave") {
        ClientType::Replica
    } else if eq_ic(a, "pubsub") {
        ClientType::PubSub
    } else {
        return Err(CmdError::err(format!(
            "Unknown client type '{}'",
            String::from_utf8_lossy(a)
        )));
    };
    Ok(t)
}

fn type_of(c: &Client) -> ClientType {
    if c.subs.any() {
        return ClientType::PubSub;
    }
    ClientType::Normal
}

/// One CLIENT LIST line (Redis 7.0's fields and order), with a trailing newline.
/// `current` is the full name of the command being run when `c` is the caller.
pub fn client_line(c: &Client, now_ms: i64, current: Option<(&str, usize)>) -> String {
    let mut flags = String::new();
    if c.subs.any() {
        flags.push('P');
    }
    if c.multi.is_some() {
        flags.push('x');
    }
    if c.blocked.is_some() || c.postponed.is_some() {
        flags.push('b');
    }
    if c.tracking.on {
        flags.push('t');
        if c.tracking.broken_redir {
            flags.push('R');
        }
        if c.tracking.bcast {
            flags.push('B');
        }
    }
    if c.close_after_reply {
        flags.push('c');
    }
    if c.killed {
        flags.push('A');
    }
    if c.unix_socket {
        flags.push('U');
    }
    if c.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let (cmd, argv_mem) = match current {
        Some((name, mem)) => (name, mem),
        None => (c.last_cmd.as_str(), 0),
    };
    let rbs = c.reply.buf.capacity();
    let obl = c.reply.buf.len();
    // Inside MULTI: the queued command count and their argument bytes (Redis's mstate).
    let (multi, multi_mem) = match &c.multi {
        Some(m) => (
            m.queued.len() as i64,
            m.queued
                .iter()
                .map(|argv| argv.iter().map(|a| a.len()).sum::<usize>())
                .sum::<usize>(),
        ),
        None => (-1, 0),
    };
    let tot_mem = c.qbuf + c.qbuf_free + argv_mem + rbs + multi_mem;
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll=0 omem=0 tot-mem={} events=r cmd={} user={} redir={} resp={}\n",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        String::from_utf8_lossy(c.name.as_deref().unwrap_or(b"")),
        (now_ms - c.created_ms).max(0) / 1000,
        (now_ms - c.last_interaction_ms).max(0) / 1000,
        flags,
        c.db,
        c.subs.channels.len(),
        c.subs.patterns.len(),
        c.subs.shard.len(),
        multi,
        c.qbuf,
        c.qbuf_free,
        argv_mem,
        multi_mem,
        rbs,
        rbs,
        obl,
        tot_mem,
        cmd,
        c.user,
        redirect_of(c),
        if c.reply.is_resp3() { 3 } else { 2 },
    )
}

fn argv_mem(ctx: &Ctx) -> usize {
    ctx.argv.iter().map(|a| a.len()).sum()
}

/// Builds CLIENT LIST text for the clients accepted by `keep`, in id order.
fn list_text(ctx: &Ctx, keep: &dyn Fn(&Client) -> bool) -> String {
    let now = ctx.srv.now_ms;
    let me = ctx.client.id;
    let mut text = String::new();
    let mut seen_me = false;
    for (&id, rc) in &ctx.srv.clients {
        if id == me {
            seen_me = true;
            if keep(ctx.client) {
                let cur = (ctx.cmd.full_name.as_str(), argv_mem(ctx));
                text.push_str(&client_line(ctx.client, now, Some(cur)));
            }
        } else if let Ok(c) = rc.try_borrow() {
            if keep(&c) {
                text.push_str(&client_line(&c, now, None));
            }
        }
    }
    // A caller not in the table (in-process tests) is still listed.
    if !seen_me && keep(ctx.client) {
        let cur = (ctx.cmd.full_name.as_str(), argv_mem(ctx));
        text.push_str(&client_line(ctx.client, now, Some(cur)));
    }
    text
}

fn id(ctx: &mut Ctx) -> CmdResult {
    let id = ctx.client.id as i64;
    ctx.out().int(id);
    Ok(())
}

fn setname(ctx: &mut Ctx) -> CmdResult {
    let name = ctx.arg(2);
    if !valid_client_name(name) {
        return Err(CmdError::Raw(BAD_CLIENT_NAME.into()));
    }
    ctx.client.name = if name.is_empty() {
        None
    } else {
        Some(name.to_vec())
    };
    ctx.out().ok();
    Ok(())
}

fn getname(ctx: &mut Ctx) -> CmdResult {
    match ctx.client.name.clone() {
        Some(n) => ctx.out().bulk(&n),
        None => ctx.out().null(),
    }
    Ok(())
}

fn info(ctx: &mut Ctx) -> CmdResult {
    let cur = (ctx.cmd.full_name.as_str(), argv_mem(ctx));
    let line = client_line(ctx.client, ctx.srv.now_ms, Some(cur));
    ctx.out().verbatim(line.as_bytes());
    Ok(())
}

fn list(ctx: &mut Ctx) -> CmdResult {
    let text = if ctx.argv.len() == 4 && eq_ic(ctx.arg(2), "type") {
        let t = client_type(ctx.arg(3))?;
        list_text(ctx, &|c| type_of(c) == t)
    } else if ctx.argv.len() > 3 && eq_ic(ctx.arg(2), "id") {
        let mut ids = Vec::with_capacity(ctx.argv.len() - 3);
        for a in &ctx.argv[3..] {
            let id = crate::util::parse_int(a).ok_or_else(|| CmdError::err("Invalid client ID"))?;
            ids.push(id);
        }
        list_text(ctx, &|c| ids.contains(&(c.id as i64)))
    } else if ctx.argv.len() != 2 {
        return Err(CmdError::Syntax);
    } else {
        list_text(ctx, &|_| true)
    };
    ctx.out().verbatim(text.as_bytes());
    Ok(())
}

/// CLIENT KILL filters (new form); `None` fields match anything.
#[derive(Default)]
struct KillFilter {
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    id: Option<u64>,
    ctype: Option<ClientType>,
    user: Option<Vec<u8>>,
    skipme: bool,
}

impl KillFilter {
    fn matches(&self, c: &Client, me: u64) -> bool {
        (self.addr.is_none() || self.addr.as_deref() == Some(c.addr.as_bytes()))
            && (self.laddr.is_none() || self.laddr.as_deref() == Some(c.laddr.as_bytes()))
            && self.id.is_none_or(|id| id == c.id)
            && self.ctype.is_none_or(|t| t == type_of(c))
            && (self.user.is_none() || self.user.as_deref() == Some(c.user.as_bytes()))
            && !(self.skipme && c.id == me)
    }
}

fn parse_kill_filter(ctx: &Ctx) -> Result<KillFilter, CmdError> {
    let mut f = KillFilter {
        skipme: true,
        ..Default::default()
    };
    let mut i = 2;
    while i < ctx.argv.len() {
        if i + 1 >= ctx.argv.len() {
            return Err(CmdError::Syntax);
        }
        let (opt, val) = (ctx.arg(i), ctx.arg(i + 1));
        if eq_ic(opt, "id") {
            let id = crate::util::parse_int(val)
                .filter(|&v| v >= 1)
                .ok_or_else(|| CmdError::err("client-id should be greater than 0"))?;
            f.id = Some(id as u64);
        } else if eq_ic(opt, "type") {
            f.ctype = Some(client_type(val)?);
        } else if eq_ic(opt, "addr") {
            f.addr = Some(val.to_vec());
        } else if eq_ic(opt, "laddr") {
            f.laddr = Some(val.to_vec());
        } else if eq_ic(opt, "user") {
            // Only the default user exists until ACLs land.
            if val != b"default" {
                return Err(CmdError::err(format!(
                    "No such user '{}'",
                    String::from_utf8_lossy(val)
                )));
            }
            f.user = Some(val.to_vec());
        } else if eq_ic(opt, "skipme") {
            f.skipme = if eq_ic(val, "yes") {
                true
            } else if eq_ic(val, "no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(f)
}

fn kill(ctx: &mut Ctx) -> CmdResult {
    let old_form = ctx.argv.len() == 3;
    let filter = if old_form {
        KillFilter {
            addr: Some(ctx.arg(2).to_vec()),
            skipme: false,
            ..Default::default()
        }
    } else {
        parse_kill_filter(ctx)?
    };
    let me = ctx.client.id;
    let mut killed = 0i64;
    let mut victims = Vec::new();
    for (&id, rc) in &ctx.srv.clients {
        if id == me {
            continue;
        }
        if let Ok(mut c) = rc.try_borrow_mut() {
            if !c.killed && filter.matches(&c, me) {
                c.kill();
                victims.push(id);
                killed += 1;
            }
        }
    }
    for id in victims {
        ctx.srv.clients.remove(&id);
    }
    if filter.matches(ctx.client, me) {
        ctx.client.close_after_reply = true;
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            return Err(CmdError::err("No such client"));
        }
        ctx.out().ok();
    } else {
        ctx.out().int(killed);
    }
    Ok(())
}

fn setinfo(ctx: &mut Ctx) -> CmdResult {
    let (attr, val) = (ctx.arg(2), ctx.arg(3));
    let is_name = eq_ic(attr, "lib-name");
    if !is_name && !eq_ic(attr, "lib-ver") {
        return Err(CmdError::err(format!(
            "Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        )));
    }
    if !valid_client_name(val) {
        // Redis 7.2 names the attribute as the client spelled it.
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        )));
    }
    let v = if val.is_empty() {
        None
    } else {
        Some(val.to_vec())
    };
    if is_name {
        ctx.client.lib_name = v;
    } else {
        ctx.client.lib_ver = v;
    }
    ctx.out().ok();
    Ok(())
}

fn reply(ctx: &mut Ctx) -> CmdResult {
    let a = ctx.arg(2);
    if eq_ic(a, "on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out().ok();
    } else if eq_ic(a, "off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if eq_ic(a, "skip") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

fn no_evict(ctx: &mut Ctx) -> CmdResult {
    ctx.client.no_evict = on_off(ctx.arg(2))?;
    ctx.out().ok();
    Ok(())
}

fn no_touch(ctx: &mut Ctx) -> CmdResult {
    ctx.client.no_touch = on_off(ctx.arg(2))?;
    ctx.out().ok();
    Ok(())
}

fn pause(ctx: &mut Ctx) -> CmdResult {
    if ctx.argv.len() > 4 {
        return Err(sub_syntax_error(ctx));
    }
    let ms = crate::util::parse_int(ctx.arg(2))
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    let write_only = if ctx.argv.len() == 4 {
        if eq_ic(ctx.arg(3), "write") {
            true
        } else if eq_ic(ctx.arg(3), "all") {
            false
        } else {
            return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL"));
        }
    } else {
        false
    };
    let end = ctx.srv.now_ms.saturating_add(ms);
    super::pause::start(ctx.srv, end, !write_only);
    ctx.out().ok();
    Ok(())
}

fn unpause(ctx: &mut Ctx) -> CmdResult {
    super::pause::stop(ctx.srv);
    ctx.out().ok();
    Ok(())
}

fn unblock(ctx: &mut Ctx) -> CmdResult {
    if ctx.argv.len() > 4 {
        return Err(sub_syntax_error(ctx));
    }
    let id = int_arg(ctx.arg(2))?;
    if ctx.argv.len() == 4 && !eq_ic(ctx.arg(3), "timeout") && !eq_ic(ctx.arg(3), "error") {
        return Err(CmdError::err(
            "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
        ));
    }
    let with_error = ctx.argv.len() == 4 && eq_ic(ctx.arg(3), "error");
    // The caller itself cannot be blocked while running a command.
    let target = ctx.srv.clients.get(&(id as u64)).cloned();
    let unblocked = match target {
        Some(rc) if id as u64 != ctx.client.id => match rc.try_borrow_mut() {
            Ok(mut c) => match crate::cmd::blocking::unblock(ctx.srv, &mut c) {
                Some(b) => {
                    // Either way the blocked command fails in commandstats (Redis's
                    // updateStatsOnUnblock with had_errors); -UNBLOCKED is counted in
                    // errorstats, which also fails this CLIENT UNBLOCK, as in Redis.
                    if let Some(e) = b.argv.first().and_then(|n| crate::cmd::table().get(n)) {
                        ctx.srv.stats.command(e.id).failed_calls += 1;
                    }
                    if with_error {
                        const UNBLOCKED: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
                        crate::cmd::count_error(ctx.srv, UNBLOCKED);
                        c.reply.error(UNBLOCKED);
                    } else {
                        c.reply.null_array();
                    }
                    c.wake.notify_one();
                    true
                }
                None => false,
            },
            Err(_) => false,
        },
        _ => false,
    };
    ctx.out().int(unblocked as i64);
    Ok(())
}

/// The redirect id CLIENT GETREDIR, TRACKINGINFO and LIST report: -1 when not tracking.
fn redirect_of(c: &Client) -> i64 {
    if c.tracking.on {
        c.tracking.redirect as i64
    } else {
        -1
    }
}

fn getredir(ctx: &mut Ctx) -> CmdResult {
    let r = redirect_of(ctx.client);
    ctx.out().int(r);
    Ok(())
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN] [OPTOUT] [NOLOOP]:
/// options are parsed first (the redirect target must exist), then checked against each
/// other and the current mode in Redis's order.
fn tracking(ctx: &mut Ctx) -> CmdResult {
    let mut opt = crate::tracking::Options {
        redirect: 0,
        bcast: false,
        optin: false,
        optout: false,
        noloop: false,
        prefixes: Vec::new(),
    };
    let argc = ctx.argv.len();
    let mut j = 3;
    while j < argc {
        let a = ctx.arg(j);
        let more = j + 1 < argc;
        if eq_ic(a, "redirect") && more {
            j += 1;
            if opt.redirect != 0 {
                return Err(CmdError::err(
                    "A client can only redirect to a single other client",
                ));
            }
            let id = super::int_arg(ctx.arg(j))?;
            let exists = id > 0
                && (id as u64 == ctx.client.id || ctx.srv.clients.contains_key(&(id as u64)));
            if !exists {
                return Err(CmdError::err(
                    "The client ID you want redirect to does not exist",
                ));
            }
            opt.redirect = id as u64;
        } else if eq_ic(a, "bcast") {
            opt.bcast = true;
        } else if eq_ic(a, "optin") {
            opt.optin = true;
        } else if eq_ic(a, "optout") {
            opt.optout = true;
        } else if eq_ic(a, "noloop") {
            opt.noloop = true;
        } else if eq_ic(a, "prefix") && more {
            j += 1;
            opt.prefixes.push(ctx.arg(j).to_vec());
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let mode = ctx.arg(2);
    if eq_ic(mode, "on") {
        let t = &ctx.client.tracking;
        if !opt.bcast && !opt.prefixes.is_empty() {
            return Err(CmdError::err(
                "PREFIX option requires BCAST mode to be enabled",
            ));
        }
        if t.on && t.bcast != opt.bcast {
            return Err(CmdError::err(
                "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if opt.bcast && (opt.optin || opt.optout) {
            return Err(CmdError::err(
                "OPTIN and OPTOUT are not compatible with BCAST",
            ));
        }
        if opt.optin && opt.optout {
            return Err(CmdError::err(
                "You can't specify both OPTIN mode and OPTOUT mode",
            ));
        }
        if (opt.optin && t.optout) || (opt.optout && t.optin) {
            return Err(CmdError::err(
                "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if opt.bcast {
            if let Some(e) = crate::tracking::prefix_collision(ctx.client, &opt.prefixes) {
                return Err(CmdError::err(e));
            }
        }
        crate::tracking::enable(ctx.srv, ctx.client, opt);
    } else if eq_ic(mode, "off") {
        crate::tracking::disable(ctx.srv, ctx.client);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.out().ok();
    Ok(())
}

/// CLIENT TRACKINGINFO: flags (a set), redirect, prefixes.
fn trackinginfo(ctx: &mut Ctx) -> CmdResult {
    let t = &ctx.client.tracking;
    let mut flags: Vec<&[u8]> = vec![if t.on { b"on" } else { b"off" }];
    if t.bcast {
        flags.push(b"bcast");
    }
    if t.optin {
        flags.push(b"optin");
        if t.caching {
            flags.push(b"caching-yes");
        }
    }
    if t.optout {
        flags.push(b"optout");
        if t.caching {
            flags.push(b"caching-no");
        }
    }
    if t.noloop {
        flags.push(b"noloop");
    }
    if t.broken_redir {
        flags.push(b"broken_redirect");
    }
    let redirect = redirect_of(ctx.client);
    let prefixes: Vec<Vec<u8>> = ctx.client.tracking.prefixes.iter().cloned().collect();
    let out = &mut ctx.client.reply;
    out.map(3);
    out.bulk(b"flags");
    out.set(flags.len());
    for f in flags {
        out.bulk(f);
    }
    out.bulk(b"redirect");
    out.int(redirect);
    out.bulk(b"prefixes");
    out.array(prefixes.len());
    for p in &prefixes {
        out.bulk(p);
    }
    Ok(())
}

/// CLIENT CACHING YES|NO: affects the next command (or transaction) in OPTIN/OPTOUT mode.
fn caching(ctx: &mut Ctx) -> CmdResult {
    if !ctx.client.tracking.on {
        return Err(CmdError::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    }
    let opt = ctx.arg(2);
    let t = &mut ctx.client.tracking;
    if eq_ic(opt, "yes") {
        if !t.optin {
            return Err(CmdError::err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if eq_ic(opt, "no") {
        if !t.optout {
            return Err(CmdError::err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    t.caching = true;
    ctx.out().ok();
    Ok(())
}

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

fn help(ctx: &mut Ctx) -> CmdResult {
    help_reply(ctx.out(), HELP);
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("client|id", id),
    ("client|setname", setname),
    ("client|getname", getname),
    ("client|info", info),
    ("client|list", list),
    ("client|kill", kill),
    ("client|setinfo", setinfo),
    ("client|reply", reply),
    ("client|no-evict", no_evict),
    ("client|no-touch", no_touch),
    ("client|pause", pause),
    ("client|unpause", unpause),
    ("client|unblock", unblock),
    ("client|getredir", getredir),
    ("client|tracking", tracking),
    ("client|trackinginfo", trackinginfo),
    ("client|caching", caching),
    ("client|help", help),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    #[test]
    fn id_and_names() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("CLIENT ID"), ":1\r\n");
        assert_eq!(t.exec("CLIENT GETNAME"), "$-1\r\n");
        assert_eq!(
            t.exec("CLIENT SETNAME \"a b\""),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
        );
        assert_eq!(t.exec("CLIENT SETNAME foo"), "+OK\r\n");
        assert_eq!(t.exec("CLIENT GETNAME"), "$3\r\nfoo\r\n");
        assert!(t.exec("CLIENT INFO").contains(" name=foo age="));
        assert_eq!(t.exec("CLIENT SETNAME \"\""), "+OK\r\n");
        assert_eq!(t.exec("CLIENT GETNAME"), "$-1\r\n");
    }

    #[test]
    fn list_fields() {
        let mut t = TestServer::new();
        let l = t.exec("CLIENT LIST");
        let line = l.split("\r\n").nth(1).unwrap();
        let keys: Vec<&str> = line
            .split(' ')
            .map(|kv| kv.split('=').next().unwrap())
            .collect();
        assert_eq!(
            keys.join(" "),
            "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp"
        );
        assert!(line.contains("cmd=client|list "));
        assert!(line.contains("argv-mem=10 "));
        assert_eq!(t.exec("CLIENT LIST ID 5"), "$0\r\n\r\n");
        assert_eq!(t.exec("CLIENT LIST ID x"), "-ERR Invalid client ID\r\n");
        assert_eq!(
            t.exec("CLIENT LIST TYPE foo"),
            "-ERR Unknown client type 'foo'\r\n"
        );
        assert_eq!(t.exec("CLIENT LIST TYPE pubsub"), "$0\r\n\r\n");
        assert!(t.exec("CLIENT LIST TYPE normal").contains("id=1 "));
        assert_eq!(t.exec("CLIENT LIST foo"), "-ERR syntax error\r\n");
        t.resp3();
        assert!(t.exec("CLIENT INFO").starts_with('='));
    }

    #[test]
    fn kill_forms() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("CLIENT KILL 1.2.3.4:5"), "-ERR No such client\r\n");
        assert_eq!(
            t.exec("CLIENT KILL ID 0"),
            "-ERR client-id should be greater than 0\r\n"
        );
        assert_eq!(t.exec("CLIENT KILL ID 99"), ":0\r\n");
        assert_eq!(t.exec("CLIENT KILL ID 1"), ":0\r\n");
        assert_eq!(t.exec("CLIENT KILL SKIPME x"), "-ERR syntax error\r\n");
        assert_eq!(
            t.exec("CLIENT KILL USER bob"),
            "-ERR No such user 'bob'\r\n"
        );
        assert!(!t.client.close_after_reply);
        assert_eq!(t.exec("CLIENT KILL ID 1 SKIPME no"), ":1\r\n");
        assert!(t.client.close_after_reply);
    }

    #[test]
    fn reply_modes() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("CLIENT REPLY SKIP"), "");
        assert_eq!(t.exec("PING"), "");
        assert_eq!(t.exec("PING"), "+PONG\r\n");
        assert_eq!(t.exec("CLIENT REPLY OFF"), "");
        assert_eq!(t.exec("PING"), "");
        assert_eq!(t.exec("CLIENT REPLY ON"), "+OK\r\n");
        assert_eq!(t.exec("CLIENT REPLY foo"), "-ERR syntax error\r\n");
    }

    #[test]
    fn misc() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("CLIENT NO-EVICT on"), "+OK\r\n");
        assert!(t.exec("CLIENT INFO").contains("flags=e "));
        assert_eq!(t.exec("CLIENT NO-EVICT x"), "-ERR syntax error\r\n");
        assert_eq!(t.exec("CLIENT NO-TOUCH on"), "+OK\r\n");
        assert!(t.client.no_touch);
        assert_eq!(
            t.exec("CLIENT PAUSE 10 foo"),
            "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
        );
        assert_eq!(t.exec("CLIENT PAUSE -1"), "-ERR timeout is negative\r\n");
        assert_eq!(t.exec("CLIENT PAUSE 100 write"), "+OK\r\n");
        assert!(t.srv.pause.active(t.srv.now_ms));
        assert_eq!(t.exec("CLIENT UNPAUSE"), "+OK\r\n");
        assert!(!t.srv.pause.active(t.srv.now_ms));
        assert_eq!(t.exec("CLIENT UNBLOCK 5 error"), ":0\r\n");
        assert_eq!(
            t.exec("CLIENT UNBLOCK 5 x y"),
            "-ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP.\r\n"
        );
        assert_eq!(t.exec("CLIENT GETREDIR"), ":-1\r\n");
        assert_eq!(t.exec("CLIENT SETINFO lib-name redis-py"), "+OK\r\n");
        assert_eq!(
            t.exec("CLIENT SETINFO lib-ver \"1 2\""),
            "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n"
        );
        assert_eq!(
            t.exec("CLIENT SETINFO foo x"),
            "-ERR Unrecognized option 'foo'\r\n"
        );
        assert!(t.exec("CLIENT HELP").starts_with("*48\r\n"));
    }
}
