//! CLIENT PAUSE: holding clients' commands until the pause ends (Redis 7.0's rules).
//!
//! `CLIENT PAUSE ms [WRITE|ALL]` records an end time and a mode in [`Pause`]. While it lasts,
//! `cmd::call` asks [`holds`] before running a top-level command: under ALL every command is
//! held, under WRITE those that may change the dataset or be propagated (the `write` and
//! `may_replicate` flags: PUBLISH, PFCOUNT, EVAL/FCALL of scripts not declared `no-writes`,
//! EXEC of a transaction that queued such a command — the check comes before queueing, so a
//! write sent inside MULTI is held too). A held command is kept in `Client::postponed`, the
//! client's connection stops reading commands (its later pipelined ones wait behind it), and
//! it shows as blocked (flag `b`, INFO blocked_clients). Expiry is suspended for the pause:
//! expired keys read as missing but stay (`Db::expiry_suspended`), so nothing is deleted.
//!
//! The pause ends at CLIENT UNPAUSE or its deadline (seen by the held clients' own timers, the
//! next command, or the cron). Then [`release`] runs the held commands oldest first, each in
//! its own client's context; a command that finds a new pause is held again, in order. A pause
//! started inside EXEC applies after it: commands inside a transaction or a script are never
//! held. A second pause keeps the later end and the stricter mode.

use crate::client::Client;
use crate::cmd::CommandEntry;
use crate::server::Server;

/// The server's pause state.
#[derive(Default)]
pub struct Pause {
    /// Unix ms at which the pause ends; 0 when there is none.
    pub end_ms: i64,
    /// ALL (every command) rather than WRITE.
    pub all: bool,
    /// Ids of the clients holding a postponed command, oldest first.
    pub held: Vec<u64>,
    /// A release is running (the commands it runs must not start another one).
    releasing: bool,
}

impl Pause {
    /// True while a pause is in effect at `now_ms`.
    pub fn active(&self, now_ms: i64) -> bool {
        self.end_ms != 0 && now_ms < self.end_ms
    }
}

/// Starts (or extends) a pause until `end_ms`.
pub fn start(srv: &mut Server, end_ms: i64, all: bool) {
    let p = &mut srv.pause;
    if p.active(srv.now_ms) {
        p.end_ms = p.end_ms.max(end_ms);
        p.all |= all;
    } else {
        p.end_ms = end_ms;
        p.all = all;
    }
    let active = srv.pause.active(srv.now_ms);
    set_expiry_suspended(srv, active);
}

/// Ends the pause (CLIENT UNPAUSE, deadline). Held commands run after the current command.
pub fn stop(srv: &mut Server) {
    srv.pause.end_ms = 0;
    srv.pause.all = false;
    set_expiry_suspended(srv, false);
}

fn set_expiry_suspended(srv: &mut Server, on: bool) {
    for db in &mut srv.dbs {
        db.expiry_suspended = on;
    }
}

/// Ends a pause whose deadline has passed. Cheap when there is no pause.
pub fn end_if_over(srv: &mut Server) {
    if srv.pause.end_ms != 0 && srv.now_ms >= srv.pause.end_ms {
        stop(srv);
    }
}

/// True if `client`'s top-level command `entry` must wait for the pause to end.
pub fn holds(srv: &mut Server, client: &Client, entry: &CommandEntry, argv: &[Vec<u8>]) -> bool {
    end_if_over(srv);
    if !srv.pause.active(srv.now_ms) {
        return false;
    }
    if srv.pause.all {
        return true;
    }
    if entry.full_name == "exec" {
        let Some(m) = client.multi.as_ref() else {
            return false;
        };
        let table = crate::cmd::table();
        return m
            .queued
            .iter()
            .any(|q| table.resolve(q).is_some_and(|e| may_replicate(srv, e, q)));
    }
    may_replicate(srv, entry, argv)
}

/// Redis's "may replicate" test: write commands, commands flagged `may_replicate`, and scripts
/// unless their flags (shebang or function flags) say `no-writes`.
fn may_replicate(srv: &mut Server, entry: &CommandEntry, argv: &[Vec<u8>]) -> bool {
    if !entry.has_flag("write") && !entry.has_flag("may_replicate") {
        return false;
    }
    match entry.full_name.as_str() {
        "eval" | "evalsha" | "fcall" => crate::cmd::scripting::may_write(srv, entry, argv),
        _ => true,
    }
}

/// Holds `client`'s command `argv` until the pause ends.
pub fn hold(srv: &mut Server, client: &mut Client, entry: &CommandEntry, argv: &[Vec<u8>]) {
    // CLIENT LIST shows the held command as the client's current one, as Redis does.
    client.last_cmd.clone_from(&entry.full_name);
    client.postponed = Some(argv.to_vec());
    srv.pause.held.push(client.id);
    srv.blocked_clients += 1;
}

/// Drops a disconnecting client's held command.
pub fn forget(srv: &mut Server, client: &mut Client) {
    if client.postponed.take().is_some() {
        srv.pause.held.retain(|&id| id != client.id);
        srv.blocked_clients -= 1;
    }
}

/// Once no pause is in effect, runs every held command, oldest first, in its client's context
/// and wakes that client's connection to send the reply and go on with its input. `me` is the
/// client the caller has borrowed (it may be one of the held ones).
pub fn release(srv: &mut Server, me: &mut Client) {
    end_if_over(srv);
    if srv.pause.held.is_empty() || srv.pause.active(srv.now_ms) || srv.pause.releasing {
        return;
    }
    srv.pause.releasing = true;
    let held = std::mem::take(&mut srv.pause.held);
    for id in held {
        if id == me.id {
            run_held(srv, me);
            continue;
        }
        let Some(rc) = srv.clients.get(&id).cloned() else {
            continue;
        };
        let Ok(mut c) = rc.try_borrow_mut() else {
            // Borrowed elsewhere: keep it held for the next release.
            srv.pause.held.push(id);
            continue;
        };
        run_held(srv, &mut c);
        c.wake.notify_one();
    }
    srv.pause.releasing = false;
}

/// Runs `c`'s held command, then the whole requests that arrived behind it (Redis processes
/// an unblocked client's input buffer at once), until one blocks, is held again or closes.
/// What is left (a partial request, a protocol error) stays for the connection task.
fn run_held(srv: &mut Server, c: &mut Client) {
    let Some(argv) = c.postponed.take() else {
        return;
    };
    srv.blocked_clients -= 1;
    crate::cmd::call(srv, c, &argv);
    let mut input = std::mem::take(&mut c.pending_input);
    let mut parser = cinnabar_resp::parse::Parser::default();
    parser.max_bulk_len = srv.config.proto_max_bulk_len;
    let mut argv = Vec::new();
    while !c.close_after_reply && !c.killed && c.blocked.is_none() && c.postponed.is_none() {
        parser.unauthenticated = srv.auth_required() && !c.authenticated;
        match parser.next_into(&input, &mut argv) {
            Ok(true) => crate::cmd::call(srv, c, &argv),
            Ok(false) | Err(_) => break,
        }
    }
    input.drain(..parser.pos);
    c.qbuf = input.len();
    c.pending_input = input;
}
