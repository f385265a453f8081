//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! MULTI puts a [`MultiState`] on the client. From then on `cmd::call` hands every command to
//! [`queue`] after the usual lookup, arity and auth checks: EXEC, DISCARD, MULTI, WATCH, QUIT
//! and RESET still run at once; commands flagged `no_multi` are rejected; everything else is
//! stored and answered `+QUEUED`. Any rejection while queueing (unknown command, wrong arity,
//! ...) marks the transaction failed ([`flag_error`]), and EXEC then replies EXECABORT.
//!
//! EXEC runs the queued commands through `cmd::call` in order with `Client::in_exec` set (so
//! blocking commands time out at once) and `Server::call_depth` raised (so clients blocked on
//! keys are served only once the whole transaction is done, seeing its final state). Their
//! replies, errors included, become the elements of EXEC's array. Nothing else can run in
//! between: the server is single-threaded per command, which is the transaction's atomicity.
//!
//! WATCH is optimistic locking (db/watch.rs): if a watched key changed since WATCH, EXEC
//! replies a null array and runs nothing. EXEC, DISCARD, UNWATCH, RESET and disconnecting all
//! drop the client's watches.

use super::{CmdError, CmdResult, CommandEntry, Ctx, Handler};
use crate::client::Client;
use crate::server::Server;

/// A transaction being queued.
#[derive(Debug, Default)]
pub struct MultiState {
    /// Queued commands, in order.
    pub queued: Vec<Vec<Vec<u8>>>,
    /// A command was rejected while queueing: EXEC must abort (Redis's CLIENT_DIRTY_EXEC).
    pub error: bool,
}

/// Called by `cmd::call` once the command passed lookup, arity and auth checks. Return value:
/// `None` to run the command now (no transaction, or a command that runs inside MULTI),
/// `Some(Ok(()))` if it was queued (`+QUEUED` written), `Some(Err(e))` if it must be rejected.
pub fn queue(
    client: &mut Client,
    entry: &CommandEntry,
    argv: &[Vec<u8>],
) -> Option<Result<(), CmdError>> {
    let state = client.multi.as_mut()?;
    if matches!(
        entry.full_name.as_str(),
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    ) {
        return None;
    }
    if entry.has_flag("no_multi") {
        return Some(Err(CmdError::err(
            "Command not allowed inside a transaction",
        )));
    }
    // A failed transaction is discarded anyway: no point keeping more commands.
    if !state.error {
        state.queued.push(argv.to_vec());
    }
    client.last_cmd.clone_from(&entry.full_name);
    client.reply.simple("QUEUED");
    Some(Ok(()))
}

/// Called by `cmd::call` for every rejected command (unknown, wrong arity, no auth, ...):
/// marks the client's transaction (if any) as failed. A rejected EXEC discards the
/// transaction and its error becomes an EXECABORT, as in Redis.
pub fn on_reject(
    srv: &mut Server,
    client: &mut Client,
    cmd: Option<&CommandEntry>,
    e: CmdError,
) -> CmdError {
    if cmd.is_some_and(|c| c.full_name == "exec") {
        reset_client(srv, client);
        let text = e.to_string();
        let msg = text.strip_prefix("ERR ").unwrap_or(&text);
        return CmdError::Raw(format!("EXECABORT Transaction discarded because of: {msg}"));
    }
    if let Some(m) = client.multi.as_mut() {
        m.error = true;
    }
    e
}

/// Drops the client's transaction and watches (RESET, disconnect).
pub fn reset_client(srv: &mut Server, client: &mut Client) {
    client.multi = None;
    unwatch(srv, client.id);
}

fn unwatch(srv: &mut Server, id: u64) {
    if !srv.watches.is_idle(id) {
        srv.watches.unwatch_all(id);
    }
}

fn multi(ctx: &mut Ctx) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(MultiState::default());
    ctx.out().ok();
    Ok(())
}

fn discard(ctx: &mut Ctx) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::err("DISCARD without MULTI"));
    }
    unwatch(ctx.srv, ctx.client.id);
    ctx.out().ok();
    Ok(())
}

fn exec(ctx: &mut Ctx) -> CmdResult {
    let Some(state) = ctx.client.multi.take() else {
        return Err(CmdError::err("EXEC without MULTI"));
    };
    let id = ctx.client.id;
    let srv = &mut *ctx.srv;
    let changed = !srv.watches.is_idle(id)
        && (srv.watches.is_dirty(id) || srv.watches.expired_since_watch(id, &srv.dbs, srv.now_ms));
    unwatch(srv, id);
    if state.error {
        return Err(CmdError::Raw(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    if changed {
        ctx.out().null_array();
        return Ok(());
    }
    ctx.out().array(state.queued.len());
    let was_in_exec = std::mem::replace(&mut ctx.client.in_exec, true);
    ctx.srv.call_depth += 1;
    for argv in &state.queued {
        super::call(ctx.srv, ctx.client, argv);
    }
    ctx.srv.call_depth -= 1;
    ctx.client.in_exec = was_in_exec;
    Ok(())
}

fn watch(ctx: &mut Ctx) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let id = ctx.client.id;
    // A dirty client's EXEC fails anyway: no point watching more.
    if !ctx.srv.watches.is_dirty(id) {
        let now = ctx.now();
        let srv = &mut *ctx.srv;
        let db = &srv.dbs[ctx.client.db];
        for key in &ctx.argv[1..] {
            srv.watches.watch(id, db, key, now);
        }
    }
    ctx.out().ok();
    Ok(())
}

fn unwatch_cmd(ctx: &mut Ctx) -> CmdResult {
    unwatch(ctx.srv, ctx.client.id);
    ctx.out().ok();
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("multi", multi),
    ("exec", exec),
    ("discard", discard),
    ("watch", watch),
    ("unwatch", unwatch_cmd),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    #[test]
    fn queue_and_exec() {
        let mut t = TestServer::new();
        assert_eq!(t.exec("EXEC"), "-ERR EXEC without MULTI\r\n");
        assert_eq!(t.exec("DISCARD"), "-ERR DISCARD without MULTI\r\n");
        assert_eq!(t.exec("MULTI"), "+OK\r\n");
        assert_eq!(t.exec("MULTI"), "-ERR MULTI calls can not be nested\r\n");
        assert_eq!(
            t.exec("WATCH k"),
            "-ERR WATCH inside MULTI is not allowed\r\n"
        );
        assert_eq!(t.exec("SET k v"), "+QUEUED\r\n");
        assert_eq!(t.exec("INCR k"), "+QUEUED\r\n");
        assert_eq!(t.exec("GET k"), "+QUEUED\r\n");
        // Nothing ran yet.
        assert!(t.srv.dbs[0].is_empty());
        assert_eq!(
            t.exec("EXEC"),
            "*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n$1\r\nv\r\n"
        );
        assert_eq!(t.exec("EXEC"), "-ERR EXEC without MULTI\r\n");
        assert_eq!(t.exec("MULTI"), "+OK\r\n");
        assert_eq!(t.exec("EXEC"), "*0\r\n");
    }

    #[test]
    fn queue_errors_abort() {
        let mut t = TestServer::new();
        t.exec("MULTI");
        assert_eq!(t.exec("SET k v"), "+QUEUED\r\n");
        assert!(t
            .exec("NOSUCH")
            .starts_with("-ERR unknown command 'NOSUCH'"));
        assert_eq!(
            t.exec("GET"),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(
            t.exec("EXEC"),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        assert!(t.srv.dbs[0].is_empty());
        t.exec("MULTI");
        t.exec("SET k v");
        assert_eq!(t.exec("DISCARD"), "+OK\r\n");
        assert!(t.srv.dbs[0].is_empty());
        assert_eq!(t.exec("EXEC"), "-ERR EXEC without MULTI\r\n");
    }

    #[test]
    fn watch_flows() {
        let mut t = TestServer::new();
        t.exec("SET k 1");
        assert_eq!(t.exec("WATCH k"), "+OK\r\n");
        t.exec("SET k 2");
        t.exec("MULTI");
        t.exec("SET k 3");
        assert_eq!(t.exec("EXEC"), "*-1\r\n");
        assert_eq!(t.exec("GET k"), "$1\r\n2\r\n");
        // Watches were dropped by EXEC: the next transaction runs.
        t.exec("MULTI");
        t.exec("PING");
        assert_eq!(t.exec("EXEC"), "*1\r\n+PONG\r\n");
        // UNWATCH forgets the change.
        t.exec("WATCH k");
        t.exec("DEL k");
        t.exec("UNWATCH");
        t.exec("MULTI");
        assert_eq!(t.exec("EXEC"), "*0\r\n");
        // A missing key created later.
        t.exec("WATCH nokey");
        t.exec("RPUSH nokey a");
        t.exec("MULTI");
        assert_eq!(t.exec("EXEC"), "*-1\r\n");
        // Flushing a db without the watched key changes nothing; with it, it does.
        t.exec("WATCH absent");
        t.exec("FLUSHALL");
        t.exec("MULTI");
        assert_eq!(t.exec("EXEC"), "*0\r\n");
        t.exec("SET k v");
        t.exec("WATCH k");
        t.exec("FLUSHDB");
        t.exec("MULTI");
        assert_eq!(t.exec("EXEC"), "*-1\r\n");
        // SWAPDB brings the key in.
        t.exec("SELECT 1");
        t.exec("SET other 1");
        t.exec("SELECT 0");
        t.exec("WATCH other");
        t.exec("SWAPDB 0 1");
        t.exec("MULTI");
        assert_eq!(t.exec("EXEC"), "*-1\r\n");
        assert!(t.srv.watches.is_idle(1));
        t.resp3();
        t.exec("WATCH other");
        t.exec("RENAME other x");
        t.exec("MULTI");
        assert_eq!(t.exec("EXEC"), "_\r\n");
    }

    #[test]
    fn watch_expiry() {
        let mut t = TestServer::new();
        t.exec("SET k v PX 100");
        t.exec("WATCH k");
        t.advance_ms(200);
        t.exec("MULTI");
        assert_eq!(t.exec("EXEC"), "*-1\r\n");
        // Expired and deleted by a read in between: still a change.
        t.exec("SET k v PX 100");
        t.exec("WATCH k");
        t.advance_ms(200);
        t.exec("GET k");
        t.exec("MULTI");
        assert_eq!(t.exec("EXEC"), "*-1\r\n");
        // Already expired when watched, deleted later: no change.
        t.exec("SET k v PX 100");
        t.advance_ms(200);
        t.exec("WATCH k");
        t.exec("GET k");
        t.exec("MULTI");
        assert_eq!(t.exec("EXEC"), "*0\r\n");
    }

    #[test]
    fn rejected_exec_aborts() {
        let mut t = TestServer::new();
        t.exec("WATCH k");
        t.exec("MULTI");
        t.exec("SET k v");
        assert_eq!(
            t.exec("EXEC extra"),
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
        );
        assert!(t.client.multi.is_none());
        assert!(t.srv.watches.is_idle(1));
        assert!(t.srv.dbs[0].is_empty());
        t.srv.config.requirepass = Some("pw".into());
        t.client.authenticated = false;
        assert_eq!(
            t.exec("EXEC"),
            "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
        );
    }

    #[test]
    fn no_multi_and_blocking_inside() {
        let mut t = TestServer::new();
        t.exec("MULTI");
        assert_eq!(t.exec("BLPOP l 0"), "+QUEUED\r\n");
        assert_eq!(t.exec("EXEC"), "*1\r\n*-1\r\n");
        // UNWATCH and RESET reach through.
        t.exec("WATCH k");
        t.exec("MULTI");
        assert_eq!(t.exec("RESET"), "+RESET\r\n");
        assert!(t.client.multi.is_none());
        assert!(t.srv.watches.is_idle(1));
    }
}
