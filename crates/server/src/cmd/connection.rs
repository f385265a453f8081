//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO.

use cinnabar_resp::Proto;

use super::{CmdError, CmdResult, Ctx, Handler};
use crate::client::ReplyMode;
use crate::util::eq_ic;

fn ping(ctx: &mut Ctx) -> CmdResult {
    if ctx.argv.len() <= 2 && crate::cmd::pubsub::ping_in_subscribed_mode(ctx.client) {
        let msg = ctx.argv.get(1).map_or(&b""[..], |m| m.as_slice());
        let out = ctx.out();
        out.array(2);
        out.bulk(b"pong");
        out.bulk(msg);
        return Ok(());
    }
    match ctx.argv.len() {
        1 => ctx.out().simple("PONG"),
        2 => {
            let msg = ctx.arg(1);
            ctx.out().bulk(msg)
        }
        _ => return Err(ctx.arity_error()),
    }
    Ok(())
}

fn echo(ctx: &mut Ctx) -> CmdResult {
    let msg = ctx.arg(1);
    ctx.out().bulk(msg);
    Ok(())
}

fn quit(ctx: &mut Ctx) -> CmdResult {
    ctx.out().ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

/// Parses an argument that must fit a C int (Redis's getIntFromObjectOrReply).
pub fn int_range_arg(a: &[u8], min: i64, max: i64) -> Result<i64, CmdError> {
    let v = super::int_arg(a)?;
    if v < min || v > max {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {min} and {max}"
        )));
    }
    Ok(v)
}

fn select(ctx: &mut Ctx) -> CmdResult {
    let id = int_range_arg(ctx.arg(1), i32::MIN as i64, i32::MAX as i64)?;
    if id < 0 || id as usize >= ctx.srv.dbs.len() {
        return Err(CmdError::InvalidDb);
    }
    ctx.client.db = id as usize;
    ctx.out().ok();
    Ok(())
}

/// Checks a username/password pair against the default user (the only user until ACLs land).
fn check_credentials(ctx: &Ctx, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    let ok = user == b"default"
        && match &ctx.srv.config.requirepass {
            None => true,
            Some(p) => p.as_slice() == pass,
        };
    if ok {
        Ok(())
    } else {
        Err(CmdError::Raw(
            "WRONGPASS invalid username-password pair or user is disabled.".into(),
        ))
    }
}

fn auth(ctx: &mut Ctx) -> CmdResult {
    if ctx.argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (user, pass): (&[u8], &[u8]) = if ctx.argv.len() == 2 {
        if ctx.srv.config.requirepass.is_none() {
            return Err(CmdError::err(
                "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            ));
        }
        (b"default", ctx.arg(1))
    } else {
        (ctx.arg(1), ctx.arg(2))
    };
    check_credentials(ctx, user, pass)?;
    ctx.client.authenticated = true;
    ctx.client.user = String::from_utf8_lossy(user).into_owned();
    ctx.out().ok();
    Ok(())
}

/// True if a client name is acceptable (printable ASCII without spaces), as Redis checks.
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

pub const BAD_CLIENT_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";

fn hello(ctx: &mut Ctx) -> CmdResult {
    let mut proto = None;
    if ctx.argv.len() >= 2 {
        let v = crate::util::parse_int(ctx.arg(1))
            .ok_or_else(|| CmdError::err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::Raw("NOPROTO unsupported protocol version".into()));
        }
        proto = Some(if v == 3 { Proto::Resp3 } else { Proto::Resp2 });
    }
    let mut creds = None;
    let mut name = None;
    let mut j = 2;
    while j < ctx.argv.len() {
        let more = ctx.argv.len() - j - 1;
        if eq_ic(ctx.arg(j), "auth") && more >= 2 {
            creds = Some((ctx.arg(j + 1), ctx.arg(j + 2)));
            j += 3;
        } else if eq_ic(ctx.arg(j), "setname") && more >= 1 {
            let n = ctx.arg(j + 1);
            if !valid_client_name(n) {
                return Err(CmdError::Raw(BAD_CLIENT_NAME.into()));
            }
            name = Some(n);
            j += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(ctx.arg(j))
            )));
        }
    }
    if let Some((user, pass)) = creds {
        check_credentials(ctx, user, pass)?;
        ctx.client.authenticated = true;
        ctx.client.user = String::from_utf8_lossy(user).into_owned();
    }
    if ctx.srv.auth_required() && !ctx.client.authenticated {
        return Err(CmdError::Raw("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into()));
    }
    if let Some(n) = name {
        ctx.client.name = if n.is_empty() { None } else { Some(n.to_vec()) };
    }
    if let Some(p) = proto {
        ctx.client.reply.proto = p;
    }
    let id = ctx.client.id as i64;
    let ver = if ctx.client.reply.is_resp3() { 3 } else { 2 };
    let out = ctx.out();
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(ver);
    out.bulk(b"id");
    out.int(id);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn reset(ctx: &mut Ctx) -> CmdResult {
    super::multi::reset_client(ctx.srv, ctx.client);
    crate::cmd::pubsub::forget_client(ctx.srv, ctx.client);
    crate::tracking::disable(ctx.srv, ctx.client);
    let c = &mut *ctx.client;
    c.db = 0;
    c.reply.proto = Proto::Resp2;
    c.name = None;
    c.reply_mode = ReplyMode::On;
    c.no_evict = false;
    c.no_touch = false;
    c.authenticated = ctx.srv.config.requirepass.is_none();
    c.user = "default".into();
    ctx.out().simple("RESET");
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("ping", ping),
    ("echo", echo),
    ("quit", quit),
    ("select", select),
    ("auth", auth),
    ("hello", hello),
    ("reset", reset),
];
