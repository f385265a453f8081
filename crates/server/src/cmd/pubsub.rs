//! Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB *.
//!
//! Subscription state lives in `crate::pubsub` (server registry + per-client lists); this file
//! parses arguments and writes Redis's confirmation shapes: one `[verb, name, count]` push per
//! name (RESP3 `>`, RESP2 an array). Sharded channels are a separate namespace with their own
//! count, as in a standalone Redis. In RESP2 a subscribed client may only run the commands
//! listed in [`subscribed_mode_check`], which `cmd::call` asks before running anything.

use super::{CmdError, CmdResult, CommandEntry, Ctx, Handler};
use crate::client::Client;
use crate::pubsub::Kind;
use crate::server::Server;

/// Commands a RESP2 client in subscribed mode may run.
const ALLOWED_SUBSCRIBED: &[&str] = &[
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
    "ping",
    "quit",
    "reset",
];

/// Called by `cmd::call` after the arity and auth checks: sets how the client's own messages
/// are ordered against the reply, and applies the RESP2 subscribed-mode restriction.
pub fn before_command(
    srv: &Server,
    client: &mut Client,
    entry: &CommandEntry,
) -> Result<(), CmdError> {
    if srv.call_depth == 0 {
        client.self_push_defer = if client.subs.any() {
            crate::pubsub::defer_for(&entry.full_name)
        } else {
            crate::pubsub::Defer::No
        };
        client.cmd_reply_start = client.reply.buf.len();
    }
    if client.reply.is_resp3() || !client.subs.any() || client.in_exec || srv.call_depth > 0 {
        return Ok(());
    }
    let top = entry.full_name.split('|').next().unwrap_or("");
    if ALLOWED_SUBSCRIBED.contains(&top) {
        return Ok(());
    }
    Err(CmdError::err(format!(
        "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        entry.full_name
    )))
}

/// Called by `cmd::call` after the handler: writes the messages held back for the reply.
pub fn after_command(srv: &mut Server, client: &mut Client) {
    if srv.call_depth == 0 {
        crate::db::notify::flush_lazy_expired(srv, client);
        crate::pubsub::release_held(client);
    }
}

/// True when PING must answer with the subscribed-mode `["pong", msg]` array (RESP2 only).
pub fn ping_in_subscribed_mode(client: &Client) -> bool {
    !client.reply.is_resp3() && client.subs.any()
}

/// Drops all subscriptions of a client (disconnect, RESET).
pub fn forget_client(srv: &mut Server, client: &mut Client) {
    srv.pubsub.remove_client(client);
}

fn confirm(ctx: &mut Ctx, verb: &str, name: Option<&[u8]>, count: usize) {
    ctx.client.write_push(|c| {
        let out = &mut c.reply;
        out.push(3);
        out.bulk(verb.as_bytes());
        match name {
            Some(n) => out.bulk(n),
            None => out.null(),
        }
        out.int(count as i64);
    });
}

fn subscribe_kind(ctx: &mut Ctx, kind: Kind) -> CmdResult {
    let verb = kind.verbs().0;
    for i in 1..ctx.argv.len() {
        let name = ctx.arg(i);
        ctx.srv.pubsub.subscribe(ctx.client, kind, name);
        let n = ctx.client.subs.count(kind);
        confirm(ctx, verb, Some(name), n);
    }
    Ok(())
}

fn unsubscribe_kind(ctx: &mut Ctx, kind: Kind) -> CmdResult {
    let verb = kind.verbs().1;
    let names: Vec<Vec<u8>> = if ctx.argv.len() > 1 {
        ctx.argv[1..].to_vec()
    } else {
        ctx.client.subs.list(kind).clone()
    };
    if names.is_empty() {
        let n = ctx.client.subs.count(kind);
        confirm(ctx, verb, None, n);
        return Ok(());
    }
    for name in &names {
        ctx.srv.pubsub.unsubscribe(ctx.client, kind, name);
        let n = ctx.client.subs.count(kind);
        confirm(ctx, verb, Some(name), n);
    }
    Ok(())
}

fn subscribe(ctx: &mut Ctx) -> CmdResult {
    subscribe_kind(ctx, Kind::Channel)
}
fn psubscribe(ctx: &mut Ctx) -> CmdResult {
    subscribe_kind(ctx, Kind::Pattern)
}
fn ssubscribe(ctx: &mut Ctx) -> CmdResult {
    subscribe_kind(ctx, Kind::Shard)
}
fn unsubscribe(ctx: &mut Ctx) -> CmdResult {
    unsubscribe_kind(ctx, Kind::Channel)
}
fn punsubscribe(ctx: &mut Ctx) -> CmdResult {
    unsubscribe_kind(ctx, Kind::Pattern)
}
fn sunsubscribe(ctx: &mut Ctx) -> CmdResult {
    unsubscribe_kind(ctx, Kind::Shard)
}

fn publish_cmd(ctx: &mut Ctx, shard: bool) -> CmdResult {
    let (ch, msg) = (ctx.arg(1), ctx.arg(2));
    let n = crate::pubsub::publish(ctx.srv, ctx.client, shard, ch, msg);
    ctx.out().int(n);
    Ok(())
}

fn publish(ctx: &mut Ctx) -> CmdResult {
    publish_cmd(ctx, false)
}
fn spublish(ctx: &mut Ctx) -> CmdResult {
    publish_cmd(ctx, true)
}

/// Redis's subcommand syntax error, naming the subcommand as typed.
fn sub_syntax_error(ctx: &Ctx) -> CmdError {
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(ctx.arg(1))
    ))
}

fn channels_kind(ctx: &mut Ctx, kind: Kind) -> CmdResult {
    if ctx.argv.len() > 3 {
        return Err(sub_syntax_error(ctx));
    }
    let pat = ctx.argv.get(2).map(|p| p.as_slice());
    let names: Vec<Vec<u8>> = ctx
        .srv
        .pubsub
        .map(kind)
        .keys()
        .filter(|n| pat.is_none_or(|p| crate::util::glob_match(p, n, false)))
        .cloned()
        .collect();
    let out = ctx.out();
    out.array(names.len());
    for n in &names {
        out.bulk(n);
    }
    Ok(())
}

fn numsub_kind(ctx: &mut Ctx, kind: Kind) -> CmdResult {
    let counts: Vec<(&[u8], usize)> = ctx.argv[2..]
        .iter()
        .map(|n| {
            let c = ctx.srv.pubsub.map(kind).get(n).map_or(0, |v| v.len());
            (n.as_slice(), c)
        })
        .collect();
    let out = ctx.out();
    // A flat [name, count, ...] array, also in RESP3.
    out.array(counts.len() * 2);
    for (n, c) in counts {
        out.bulk(n);
        out.int(c as i64);
    }
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx) -> CmdResult {
    channels_kind(ctx, Kind::Channel)
}
fn pubsub_shardchannels(ctx: &mut Ctx) -> CmdResult {
    channels_kind(ctx, Kind::Shard)
}
fn pubsub_numsub(ctx: &mut Ctx) -> CmdResult {
    numsub_kind(ctx, Kind::Channel)
}
fn pubsub_shardnumsub(ctx: &mut Ctx) -> CmdResult {
    numsub_kind(ctx, Kind::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx) -> CmdResult {
    let n = ctx.srv.pubsub.patterns.len();
    ctx.out().int(n as i64);
    Ok(())
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

fn pubsub_help(ctx: &mut Ctx) -> CmdResult {
    let out = ctx.out();
    out.array(HELP.len());
    for l in HELP {
        out.simple(l);
    }
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("subscribe", subscribe),
    ("psubscribe", psubscribe),
    ("ssubscribe", ssubscribe),
    ("unsubscribe", unsubscribe),
    ("punsubscribe", punsubscribe),
    ("sunsubscribe", sunsubscribe),
    ("publish", publish),
    ("spublish", spublish),
    ("pubsub|channels", pubsub_channels),
    ("pubsub|shardchannels", pubsub_shardchannels),
    ("pubsub|numsub", pubsub_numsub),
    ("pubsub|shardnumsub", pubsub_shardnumsub),
    ("pubsub|numpat", pubsub_numpat),
    ("pubsub|help", pubsub_help),
];

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use crate::client::Client;
    use crate::testkit::TestServer;

    #[test]
    fn confirmations_and_resp2_subscribed_mode() {
        let mut t = TestServer::new();
        assert_eq!(
            t.exec("UNSUBSCRIBE"),
            "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
        );
        assert_eq!(
            t.exec("SUBSCRIBE a b"),
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"
        );
        assert_eq!(t.exec("PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert!(t
            .exec("GET k")
            .starts_with("-ERR Can't execute 'get': only (P|S)SUBSCRIBE"));
        assert!(t.exec("PUBSUB NUMPAT").contains("'pubsub|numpat'"));
        // Arity errors come first, as in Redis.
        assert!(t.exec("GET").contains("wrong number of arguments"));
        assert_eq!(
            t.exec("SSUBSCRIBE s"),
            "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n"
        );
        t.exec("UNSUBSCRIBE");
        assert!(t.exec("GET k").starts_with("-ERR Can't execute"));
        assert_eq!(t.exec("RESET"), "+RESET\r\n");
        assert_eq!(t.exec("GET k"), "$-1\r\n");
        assert_eq!(t.exec("PUBSUB SHARDNUMSUB s"), "*2\r\n$1\r\ns\r\n:0\r\n");
    }

    #[test]
    fn resp3_self_publish_and_patterns() {
        let mut t = TestServer::new();
        t.resp3();
        t.exec("SUBSCRIBE ch");
        t.exec("PSUBSCRIBE c?");
        assert_eq!(
            t.exec("PUBLISH ch x"),
            ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n>4\r\n$8\r\npmessage\r\n$2\r\nc?\r\n$2\r\nch\r\n$1\r\nx\r\n:2\r\n"
        );
        assert_eq!(t.exec("PUBSUB NUMPAT"), ":1\r\n");
        assert_eq!(
            t.exec("PUNSUBSCRIBE"),
            ">3\r\n$12\r\npunsubscribe\r\n$2\r\nc?\r\n:1\r\n"
        );
    }

    #[test]
    fn other_client_receives_and_is_killed_over_the_hard_limit() {
        let mut t = TestServer::new();
        t.exec("CONFIG SET client-output-buffer-limit \"pubsub 100 0 0\"");
        let other = Rc::new(RefCell::new(Client::detached(7)));
        t.srv.clients.insert(7, other.clone());
        {
            let mut o = other.borrow_mut();
            t.srv
                .pubsub
                .subscribe(&mut o, crate::pubsub::Kind::Channel, b"ch");
        }
        assert_eq!(t.exec("PUBLISH ch hello"), ":1\r\n");
        assert!(!other.borrow().killed);
        assert_eq!(
            other.borrow().reply.buf,
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
        );
        t.exec(&format!("PUBLISH ch {}", "x".repeat(200)));
        assert!(other.borrow().killed);
        // A killed client still counts but gets nothing more.
        let len = other.borrow().reply.buf.len();
        assert_eq!(t.exec("PUBLISH ch again"), ":1\r\n");
        assert_eq!(other.borrow().reply.buf.len(), len);
    }

    #[test]
    fn soft_limit_needs_time() {
        let mut t = TestServer::new();
        t.exec("CONFIG SET client-output-buffer-limit \"pubsub 0 50 2\"");
        let other = Rc::new(RefCell::new(Client::detached(7)));
        t.srv.clients.insert(7, other.clone());
        t.srv
            .pubsub
            .subscribe(&mut other.borrow_mut(), crate::pubsub::Kind::Channel, b"ch");
        t.exec(&format!("PUBLISH ch {}", "x".repeat(60)));
        assert!(!other.borrow().killed);
        t.advance_ms(1500);
        t.exec("PUBLISH ch y");
        assert!(!other.borrow().killed);
        t.advance_ms(1000);
        t.exec("PUBLISH ch y");
        assert!(other.borrow().killed);
    }
}
