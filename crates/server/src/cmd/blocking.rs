//! Blocking commands' shared machinery: parsing timeouts, blocking a client on keys, and
//! serving blocked clients when their keys receive data.
//!
//! A blocking handler (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK, ...) first tries to serve itself
//! like its non-blocking twin. When there is nothing to pop it calls [`block`]: inside MULTI/EXEC
//! (or a script) that replies the timeout reply at once, as Redis does; otherwise the client is
//! registered in `Server::blocking` and its connection stops processing input. When a write
//! signals one of the keys (`Ctx::signal_ready`), [`serve_ready_keys`] (run by `cmd::call` after
//! each top-level command) re-runs the blocked command in the blocked client's context; if it
//! blocks again nothing changed, otherwise the client got its reply and is woken.

use super::{CmdError, Ctx};
use crate::client::{BlockedOn, Client};
pub use crate::db::blocking::Want;
use crate::server::Server;
use crate::types::Value;

/// What a blocking command replies when it may not block (inside MULTI/EXEC or a script).
/// A timeout always replies a null array (`*-1` in RESP2, `_` in RESP3), for every blocking
/// command, as Redis 7.0's `replyToBlockedClientTimedOut` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutReply {
    /// `*-1` in RESP2, `_` in RESP3 (BLPOP, BLMPOP, BZPOPMIN, BZMPOP, XREAD).
    NullArray,
    /// `$-1` in RESP2, `_` in RESP3 (BLMOVE, BRPOPLPUSH).
    NullBulk,
}

impl TimeoutReply {
    pub fn write(self, c: &mut Client) {
        match self {
            TimeoutReply::NullArray => c.reply.null_array(),
            TimeoutReply::NullBulk => c.reply.null(),
        }
    }
}

/// Parses a blocking timeout in seconds (decimals allowed) into an absolute unix-ms deadline,
/// 0 meaning forever. Same outcomes as Redis 7.0.15's `getTimeoutFromObjectOrReply`: the value
/// must be a valid long double; milliseconds are `ceil(secs * 1000)` converted to a C
/// `long long`, which on x86-64 gives `i64::MIN` when out of range, so huge values (and `inf`)
/// are reported as "timeout is negative", exactly as Redis 7.0 replies.
pub fn parse_timeout(arg: &[u8], now_ms: i64) -> Result<i64, CmdError> {
    if !crate::util::is_long_double(arg) {
        return Err(CmdError::err("timeout is not a float or out of range"));
    }
    // A valid long double beyond f64's range is treated like any out-of-range value.
    let ms = crate::util::parse_f64(arg)
        .map(|s| (s * 1000.0).ceil())
        .unwrap_or(f64::INFINITY);
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    let ms = if ms.is_finite() && (-LIMIT..LIMIT).contains(&ms) {
        ms as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    Ok(if ms == 0 {
        0
    } else {
        now_ms.saturating_add(ms)
    })
}

/// Blocks the calling client on `keys` until one of them holds a value of type `want` or
/// `deadline_ms` (0 = never) passes. Inside MULTI/EXEC the timeout reply is sent at once
/// instead. The handler must not write anything else after calling this.
pub fn block(
    ctx: &mut Ctx,
    keys: &[Vec<u8>],
    want: Want,
    deadline_ms: i64,
    no_block: TimeoutReply,
) {
    if ctx.client.in_exec {
        no_block.write(ctx.client);
        return;
    }
    let db = ctx.client.db;
    ctx.srv.dbs[db].waiters.block(ctx.client.id, keys);
    ctx.client.blocked = Some(BlockedOn {
        db,
        keys: keys.to_vec(),
        want,
        deadline_ms,
        argv: ctx.argv.to_vec(),
    });
    ctx.srv.blocked_clients += 1;
}

/// Unblocks a client (served, timed out, CLIENT UNBLOCK, disconnected).
pub fn unblock(srv: &mut Server, c: &mut Client) -> Option<BlockedOn> {
    let b = c.blocked.take()?;
    srv.dbs[b.db].waiters.unblock(c.id, &b.keys);
    srv.blocked_clients -= 1;
    Some(b)
}

/// Serves clients blocked on keys that became ready, oldest waiter first, re-running each
/// waiter's command in its own context until the key cannot serve the next one. Runs only after
/// a top-level command (`Server::call_depth == 0`), so pushes inside a transaction or script
/// serve waiters only when it is over. A served command may make further keys ready (BLMOVE),
/// which the outer loop then serves too; the loop is bounded for safety.
pub fn serve_ready_keys(srv: &mut Server) {
    let mut rounds = 0;
    while srv.blocking.has_ready() && rounds < 1_000_000 {
        rounds += 1;
        let ready = srv.blocking.ready.borrow_mut().take();
        for (db, key) in ready {
            serve_key(srv, db, &key);
        }
    }
}

/// The type a key holds now, as far as waiters care (None: missing, expired or another type).
fn held_type(srv: &Server, db: usize, key: &[u8]) -> Option<Want> {
    match srv.dbs[db].peek(key, srv.now_ms).map(|o| &o.val) {
        Some(Value::List(_)) => Some(Want::List),
        Some(Value::ZSet(_)) => Some(Want::ZSet),
        Some(Value::Stream(_)) => Some(Want::Stream),
        _ => None,
    }
}

fn serve_key(srv: &mut Server, db: usize, key: &[u8]) {
    // Each waiter is tried at most once per signal: one that stays blocked keeps its place and
    // stops the serving of this key (the data is gone or not for it). Waiters for another type
    // are skipped, as Redis serves a list key only to clients blocked for lists.
    let waiting: Vec<u64> = match srv.dbs[db].waiters.queue(key) {
        Some(q) => q.iter().copied().collect(),
        None => return,
    };
    let key_list = [key.to_vec()];
    for id in waiting {
        srv.update_clock();
        let Some(held) = held_type(srv, db, key) else {
            return;
        };
        let Some(rc) = srv.clients.get(&id).cloned() else {
            srv.dbs[db].waiters.unblock(id, &key_list);
            continue;
        };
        let Ok(mut c) = rc.try_borrow_mut() else {
            continue;
        };
        match c.blocked.as_ref() {
            None => {
                srv.dbs[db].waiters.unblock(id, &key_list);
                continue;
            }
            Some(b) if b.want != held => continue,
            Some(_) => {}
        }
        let b = c.blocked.take().expect("checked above");
        srv.blocked_clients -= 1;
        let saved_db = c.db;
        c.db = b.db;
        srv.call_depth += 1;
        srv.rerun_blocked = true;
        srv.serving_key = Some(key.to_vec());
        super::call(srv, &mut c, &b.argv);
        srv.serving_key = None;
        srv.call_depth -= 1;
        c.db = saved_db;
        if let Some(again) = c.blocked.as_mut() {
            // Blocked again: it kept its queue positions (Waiters::block skips known
            // waiters) and keeps its original deadline (the re-run computed a new one from
            // "now"); the key can serve nobody else now.
            again.deadline_ms = b.deadline_ms;
            if b.want == Want::Stream {
                // Reading consumes nothing: a stream waiter that found nothing new (it
                // waits for IDs beyond the added ones) does not stop the next one.
                continue;
            }
            break;
        }
        srv.dbs[b.db].waiters.unblock(id, &b.keys);
        c.wake.notify_one();
    }
}

/// Called by the connection task when a blocked client's deadline passed.
pub fn expire_if_timed_out(srv: &mut Server, c: &mut Client) {
    srv.update_clock();
    let due = matches!(&c.blocked, Some(b) if b.deadline_ms != 0 && b.deadline_ms <= srv.now_ms);
    if due && unblock(srv, c).is_some() {
        c.reply.null_array();
    }
}
