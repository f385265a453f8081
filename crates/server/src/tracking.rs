//! Client-side caching: CLIENT TRACKING state and invalidation messages (Redis 7.0).
//!
//! Two modes, as in Redis:
//! - **Default**: after a read-only command of a tracking client, `cmd::call` records the
//!   command's keys in [`Tracking::table`] (key → ids of the clients that read it; the table
//!   ignores databases, like Redis's). A modification of the key (every write reports itself
//!   through `Ctx::notify`; lazy and active expiry, MOVE/COPY targets and flushes call in here
//!   too) removes the entry and sends each remembered client one `invalidate` message. A key is
//!   remembered again only when read again. `tracking-table-max-keys` bounds the table:
//!   past it, keys are invalidated in hash order (Redis picks random ones) after each batch.
//! - **BCAST**: the client registers prefixes (the empty prefix by default) in
//!   [`Tracking::prefixes`]; modified keys that match are collected per prefix and sent as one
//!   message per prefix after the connection's batch of commands (Redis's `beforeSleep`), so a
//!   pipeline yields one message listing its keys in sorted order.
//!
//! Messages go to the client itself as a RESP3 push (`>2 invalidate [keys]`, a null for
//! flushes), or with REDIRECT to another client: as a push if that one speaks RESP3, as a
//! pub/sub message on `__redis__:invalidate` if it is a subscribed RESP2 client, else nowhere.
//! A redirect target that disappeared is noticed on the next message: the tracking client is
//! flagged `broken_redirect` and (RESP3) told with a `tracking-redir-broken` push.
//!
//! Ordering: invalidations meant for the client running the command wait in
//! `ClientTracking::pending` until its reply is written (Redis 7.0 defers them the same way);
//! other clients get theirs at once and their task is woken, like pub/sub delivery. A client
//! that is borrowed elsewhere at that moment (the caller while a blocked client is served)
//! gets its messages from [`Tracking::outbox`] after its own command.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use cinnabar_resp::ReplyBuf;

use crate::client::Client;
use crate::cmd::CommandEntry;
use crate::server::Server;

/// Channel RESP2 redirect targets receive invalidations on.
pub const CHANNEL: &[u8] = b"__redis__:invalidate";

/// Per-client tracking state (Redis's CLIENT_TRACKING_* flags and fields).
#[derive(Debug, Default)]
pub struct ClientTracking {
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    /// CLIENT CACHING yes/no was given for the next command (or transaction).
    pub caching: bool,
    pub noloop: bool,
    pub broken_redir: bool,
    /// Redirect target id (0 = none). Kept after OFF, as Redis does (reported only while on).
    pub redirect: u64,
    /// BCAST prefixes, sorted.
    pub prefixes: BTreeSet<Vec<u8>>,
    /// Invalidations for this client raised by its own running command (None = flush).
    pending: Vec<Option<Vec<u8>>>,
}

/// One BCAST prefix: its clients and the keys modified since the last broadcast, each with
/// the id of the client that modified it last (0 = no client: expiry, eviction).
#[derive(Debug, Default)]
struct Prefix {
    clients: BTreeSet<u64>,
    keys: Modified,
}

/// Modified keys (sorted) → id of the client that modified each last (0 = none).
type Modified = BTreeMap<Vec<u8>, u64>;

/// Server-wide tracking tables.
#[derive(Debug, Default)]
pub struct Tracking {
    /// Set once a client first enabled tracking (Redis creates its tables then).
    active: bool,
    /// Key → ids of the clients that read it.
    table: HashMap<Vec<u8>, Vec<u64>>,
    /// Sum of the id lists (INFO tracking_total_items).
    items: usize,
    prefixes: BTreeMap<Vec<u8>, Prefix>,
    /// Clients with tracking on (INFO tracking_clients).
    pub clients: usize,
    /// (tracking client id, key) invalidations that could not be delivered because the
    /// client was borrowed; retried after the running command.
    outbox: Vec<(u64, Vec<u8>)>,
    /// Rounds that ended still over tracking-table-max-keys (effort grows with it).
    limit_rounds: u32,
}

impl Tracking {
    /// True once any client enabled tracking (before that no hook does anything).
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// (keys, items, prefixes) for INFO stats.
    pub fn totals(&self) -> (usize, usize, usize) {
        (self.table.len(), self.items, self.prefixes.len())
    }
}

// ---------------------------------------------------------------------------------------------
// Enabling and disabling

/// Options of one CLIENT TRACKING ON call, validated by the command.
pub struct Options {
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    pub prefixes: Vec<Vec<u8>>,
}

/// Redis's `enableTracking`: turns tracking on (again) with `opt`.
pub fn enable(srv: &mut Server, c: &mut Client, opt: Options) {
    let t = &mut c.tracking;
    if !t.on {
        srv.tracking.clients += 1;
    }
    t.on = true;
    t.broken_redir = false;
    t.bcast = false;
    t.optin = false;
    t.optout = false;
    t.noloop = false;
    t.redirect = opt.redirect;
    srv.tracking.active = true;
    if opt.bcast {
        t.bcast = true;
        if opt.prefixes.is_empty() {
            add_prefix(srv, c, b"");
        }
        for p in &opt.prefixes {
            add_prefix(srv, c, p);
        }
    }
    let t = &mut c.tracking;
    t.optin = opt.optin;
    t.optout = opt.optout;
    t.noloop = opt.noloop;
}

fn add_prefix(srv: &mut Server, c: &mut Client, p: &[u8]) {
    if c.tracking.prefixes.insert(p.to_vec()) {
        let e = srv.tracking.prefixes.entry(p.to_vec()).or_default();
        e.clients.insert(c.id);
    }
}

/// Redis's `disableTracking` (CLIENT TRACKING OFF, RESET, disconnect). Keys the client read
/// stay in the table until they are invalidated, as in Redis.
pub fn disable(srv: &mut Server, c: &mut Client) {
    let t = &mut c.tracking;
    if t.bcast {
        for p in std::mem::take(&mut t.prefixes) {
            if let Some(e) = srv.tracking.prefixes.get_mut(&p) {
                e.clients.remove(&c.id);
                if e.clients.is_empty() {
                    srv.tracking.prefixes.remove(&p);
                }
            }
        }
    }
    if t.on {
        srv.tracking.clients -= 1;
        t.on = false;
        t.broken_redir = false;
        t.bcast = false;
        t.optin = false;
        t.optout = false;
        t.caching = false;
        t.noloop = false;
    }
}

/// The first pair of overlapping prefixes among the requested ones and the client's own:
/// Redis's error text for it, or None.
pub fn prefix_collision(c: &Client, prefixes: &[Vec<u8>]) -> Option<String> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    for (i, p) in prefixes.iter().enumerate() {
        if let Some(old) = c.tracking.prefixes.iter().find(|o| overlap(o, p)) {
            return Some(format!(
                "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(old)
            ));
        }
        if let Some(other) = prefixes[i + 1..].iter().find(|o| overlap(o, p)) {
            return Some(format!(
                "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                s(p),
                s(other)
            ));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Remembering reads

/// Called by `cmd::call` after a handler ran: records the keys of a read-only command for a
/// tracking client in default mode (Redis's `trackingRememberKeys`). EVAL_RO and friends
/// themselves are skipped: the read-only commands their scripts run remember the keys.
pub fn after_handler(srv: &mut Server, c: &mut Client, entry: &CommandEntry, argv: &[Vec<u8>]) {
    if !remembers_reads(c)
        || !entry.has_flag("readonly")
        || entry.has_flag("pubsub")
        || matches!(
            entry.full_name.as_str(),
            "eval_ro" | "evalsha_ro" | "fcall_ro"
        )
    {
        return;
    }
    let keys = crate::cmd::getkeys::command_keys(&entry.full_name, entry.spec, argv);
    if keys.is_empty() {
        return;
    }
    remember_keys(srv, c, keys.iter().filter_map(|k| argv.get(k.pos)));
}

/// True if `c` tracks in default mode and its next reads are to be remembered (OPTIN needs
/// CLIENT CACHING yes, OPTOUT skips after CLIENT CACHING no).
pub fn remembers_reads(c: &Client) -> bool {
    let t = &c.tracking;
    let opted_out = if t.optin {
        !t.caching
    } else {
        t.optout && t.caching
    };
    t.on && !t.bcast && !opted_out
}

/// Remembers that `c` read `keys`. A script's read-only commands remember the keys its caller
/// declared (Redis's `trackingRememberKeys(script_caller)`), see scripting's `redis.call`.
pub fn remember_keys<'k>(
    srv: &mut Server,
    c: &mut Client,
    keys: impl Iterator<Item = &'k Vec<u8>>,
) {
    // Keys the command expired on access are invalidated before they are remembered again.
    crate::db::notify::flush_lazy_expired(srv, c);
    for key in keys {
        let ids = srv.tracking.table.entry(key.clone()).or_default();
        // Redis keeps ids in a radix tree of their little-endian bytes; same order here.
        let order = |id: u64| id.swap_bytes();
        if let Err(at) = ids.binary_search_by_key(&order(c.id), |&i| order(i)) {
            ids.insert(at, c.id);
            srv.tracking.items += 1;
        }
    }
}

/// Called by `cmd::call` when a command is completely done: writes the invalidations held
/// for its reply and anything left in the outbox, and ends a CLIENT CACHING window.
pub fn after_call(srv: &mut Server, c: &mut Client, argv: &[Vec<u8>]) {
    if srv.call_depth > 0 && c.in_exec {
        return;
    }
    if srv.call_depth == 0 && c.tracking.caching && c.multi.is_none() {
        let is_client_cmd = crate::cmd::table()
            .resolve(argv)
            .is_some_and(|e| e.full_name.starts_with("client|"));
        if !is_client_cmd {
            c.tracking.caching = false;
        }
    }
    if !c.tracking.pending.is_empty() {
        for p in std::mem::take(&mut c.tracking.pending) {
            let msg = match &p {
                Some(k) => Msg::Keys(std::slice::from_ref(k)),
                None => Msg::Flush,
            };
            send(srv, c, c.id, &msg);
        }
    }
    if !srv.tracking.outbox.is_empty() {
        for (id, key) in std::mem::take(&mut srv.tracking.outbox) {
            invalidate_for(srv, c, Cause::Background, id, &key);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invalidation

/// Payload of one invalidation message.
enum Msg<'a> {
    Keys(&'a [Vec<u8>]),
    /// Everything (FLUSHDB/FLUSHALL): a null in the tracking client's protocol.
    Flush,
}

/// Runs `f` on client `id`: `me` directly, others through the client table (None if it is
/// gone, Some(None) if it is borrowed elsewhere).
fn with_client<R>(
    clients: &BTreeMap<u64, Rc<RefCell<Client>>>,
    me: &mut Client,
    id: u64,
    f: impl FnOnce(&mut Client) -> R,
) -> Option<Option<R>> {
    if id == me.id {
        return Some(Some(f(me)));
    }
    let rc = clients.get(&id)?;
    let Ok(mut c) = rc.try_borrow_mut() else {
        return Some(None);
    };
    Some(Some(f(&mut c)))
}

/// [`with_client`] for writing to the client: its connection task is woken to send it.
/// Return value: false if the client is borrowed elsewhere (nothing was written).
fn write_to(
    clients: &BTreeMap<u64, Rc<RefCell<Client>>>,
    me: &mut Client,
    id: u64,
    f: impl FnOnce(&mut Client),
) -> bool {
    with_client(clients, me, id, |c| {
        c.write_push(f);
        c.wake.notify_one();
    }) != Some(None)
}

/// Redis's `sendTrackingMessage`: delivers `msg` for tracking client `tid`, following its
/// redirect.
fn send(srv: &mut Server, me: &mut Client, tid: u64, msg: &Msg) {
    let Some(Some((redirect, resp3))) = with_client(&srv.clients, me, tid, |t| {
        (t.tracking.redirect, t.reply.is_resp3())
    }) else {
        return;
    };
    let write_payload = |r: &mut ReplyBuf| match msg {
        Msg::Keys(keys) => {
            r.array(keys.len());
            for k in *keys {
                r.bulk(k);
            }
        }
        Msg::Flush => r.raw(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
    };
    if redirect == 0 {
        if resp3 {
            write_to(&srv.clients, me, tid, |t| {
                t.reply.push(2);
                t.reply.bulk(b"invalidate");
                write_payload(&mut t.reply);
            });
        }
        return;
    }
    let target_exists = redirect == me.id || srv.clients.contains_key(&redirect);
    if !target_exists {
        write_to(&srv.clients, me, tid, |t| {
            t.tracking.broken_redir = true;
            if t.reply.is_resp3() {
                t.reply.push(2);
                t.reply.bulk(b"tracking-redir-broken");
                t.reply.int(redirect as i64);
            }
        });
        return;
    }
    let written = write_to(&srv.clients, me, redirect, |r| {
        if r.reply.is_resp3() {
            r.reply.push(2);
            r.reply.bulk(b"invalidate");
        } else if r.subs.any() {
            r.reply.push(3);
            r.reply.bulk(b"message");
            r.reply.bulk(CHANNEL);
        } else {
            return;
        }
        write_payload(&mut r.reply);
    });
    // The target is the client whose command woke a blocked one: retry after its command.
    if let (false, Msg::Keys([key])) = (written, msg) {
        srv.tracking.outbox.push((tid, key.clone()));
    }
}

/// Who causes an invalidation, relative to `me`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// `me`'s running command modified the key: `me`'s own message waits for the reply.
    Command,
    /// `me`'s running command expired the key on access: the same, but BCAST clients see no
    /// modifier (NOLOOP ones get the key too).
    Expiry,
    /// Nothing `me` runs (cron, table limit, end of batch): messages go out at once.
    Background,
}

/// Sends the invalidation of `key` to tracking client `tid` if it still wants it (default
/// mode, NOLOOP).
fn invalidate_for(srv: &mut Server, me: &mut Client, cause: Cause, tid: u64, key: &[u8]) {
    let is_me = tid == me.id;
    let running = cause != Cause::Background;
    let wanted = with_client(&srv.clients, me, tid, |t| {
        let tr = &t.tracking;
        tr.on && !tr.bcast && !(tr.noloop && running && is_me)
    });
    match wanted {
        None | Some(Some(false)) => {}
        Some(None) => srv.tracking.outbox.push((tid, key.to_vec())),
        Some(Some(true)) => {
            if is_me && running {
                me.tracking.pending.push(Some(key.to_vec()));
            } else {
                send(
                    srv,
                    me,
                    tid,
                    &Msg::Keys(std::slice::from_ref(&key.to_vec())),
                );
            }
        }
    }
}

/// Redis's `trackingInvalidateKey`: `key` was modified. `me` is the client running the
/// command, or a stand-in for background work (see [`Cause`]). `bcast`: also record the key
/// for BCAST clients, with the id of the client that modified it (0 for none: expiry).
pub fn invalidate_key(
    srv: &mut Server,
    me: &mut Client,
    cause: Cause,
    key: &[u8],
    bcast: Option<u64>,
) {
    if !srv.tracking.active {
        return;
    }
    // A script's commands run on a detached client; the modifying client is its caller
    // (Redis's current_client), for NOLOOP and for holding the caller's own invalidations
    // until its reply.
    if let Some(caller) = crate::scripting::caller_of(me) {
        // SAFETY: the script's `run` took this pointer from its live `&mut` caller and does
        // not use the caller until the script returns; `me` is the script's own client.
        let caller = unsafe { &mut *caller };
        let bcast = bcast.map(|_| caller.id);
        return invalidate_key(srv, caller, cause, key, bcast);
    }
    if let Some(modifier) = bcast.filter(|_| !srv.tracking.prefixes.is_empty()) {
        for (p, e) in srv.tracking.prefixes.iter_mut() {
            if key.starts_with(p) {
                e.keys.insert(key.to_vec(), modifier);
            }
        }
    }
    let Some(ids) = srv.tracking.table.remove(key) else {
        return;
    };
    srv.tracking.items -= ids.len();
    for id in ids {
        invalidate_for(srv, me, cause, id, key);
    }
}

/// A write by the running command (`Ctx::notify`, MOVE/COPY targets).
#[inline]
pub fn modified(srv: &mut Server, me: &mut Client, key: &[u8]) {
    if srv.tracking.active {
        invalidate_key(srv, me, Cause::Command, key, Some(me.id));
    }
}

/// A key the running command of `me` expired on access (called after its `expired` event).
pub fn expired_on_access(srv: &mut Server, me: &mut Client, key: &[u8]) {
    invalidate_key(srv, me, Cause::Expiry, key, Some(0));
}

/// Keys removed without a command (active expiry): messages go out at once. `stand_in` is
/// the client-less context, made on first use and reused for the rest of the cycle.
pub fn expired_by_cron(srv: &mut Server, stand_in: &mut Option<Client>, key: &[u8]) {
    if srv.tracking.active {
        let nobody = stand_in.get_or_insert_with(|| Client::detached(0));
        invalidate_key(srv, nobody, Cause::Background, key, Some(0));
    }
}

/// Redis's `trackingInvalidateKeysOnFlush`: every tracking client (BCAST ones too) gets a
/// "flush everything" message and the table is emptied (FLUSHDB empties it too).
pub fn flushed(srv: &mut Server, me: &mut Client) {
    if !srv.tracking.active {
        return;
    }
    if srv.tracking.clients > 0 {
        let mut ids: Vec<u64> = srv.clients.keys().copied().collect();
        if !ids.contains(&me.id) {
            ids.push(me.id);
            ids.sort_unstable();
        }
        for id in ids {
            let on = with_client(&srv.clients, me, id, |c| c.tracking.on);
            if on != Some(Some(true)) {
                continue;
            }
            if id == me.id {
                me.tracking.pending.push(None);
            } else {
                send(srv, me, id, &Msg::Flush);
            }
        }
    }
    srv.tracking.table = HashMap::new();
    srv.tracking.items = 0;
}

/// End of a batch (Redis's `beforeSleep`): enforce tracking-table-max-keys, then send the
/// BCAST messages collected since the last call. `me` is the connection's client (not
/// running a command), or a stand-in from the cron.
pub fn before_sleep(srv: &mut Server, me: &mut Client) {
    if !srv.tracking.active || srv.tracking.clients == 0 {
        return;
    }
    limit_table(srv, me);
    broadcast(srv, me);
}

/// Redis's `trackingLimitUsedSlots`: invalidates keys until the table is back within
/// `tracking-table-max-keys` (0 = no limit), with an effort that grows while it stays over.
fn limit_table(srv: &mut Server, me: &mut Client) {
    let max: usize = srv
        .config
        .get("tracking-table-max-keys")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if max == 0 || srv.tracking.table.len() <= max {
        srv.tracking.limit_rounds = 0;
        return;
    }
    let effort = 100 * (srv.tracking.limit_rounds as usize + 1);
    let over = srv.tracking.table.len() - max;
    let victims: Vec<Vec<u8>> = srv
        .tracking
        .table
        .keys()
        .take(effort.min(over))
        .cloned()
        .collect();
    for k in victims {
        invalidate_key(srv, me, Cause::Background, &k, None);
    }
    if srv.tracking.table.len() <= max {
        srv.tracking.limit_rounds = 0;
    } else {
        srv.tracking.limit_rounds += 1;
    }
}

/// Redis's `trackingBroadcastInvalidationMessages`: one message per prefix with its modified
/// keys in sorted order; a NOLOOP client does not get the keys it modified itself.
fn broadcast(srv: &mut Server, me: &mut Client) {
    if srv.tracking.prefixes.values().all(|p| p.keys.is_empty()) {
        return;
    }
    let mut batches: Vec<(Vec<u64>, Modified)> = Vec::new();
    for p in srv.tracking.prefixes.values_mut() {
        if !p.keys.is_empty() {
            let keys = std::mem::take(&mut p.keys);
            batches.push((p.clients.iter().copied().collect(), keys));
        }
    }
    for (clients, keys) in batches {
        let all: Vec<Vec<u8>> = keys.keys().cloned().collect();
        for id in clients {
            let noloop = with_client(&srv.clients, me, id, |c| c.tracking.noloop);
            let Some(Some(noloop)) = noloop else {
                continue;
            };
            if noloop {
                let own: Vec<Vec<u8>> = keys
                    .iter()
                    .filter(|(_, &m)| m != id)
                    .map(|(k, _)| k.clone())
                    .collect();
                if !own.is_empty() {
                    send(srv, me, id, &Msg::Keys(&own));
                }
            } else {
                send(srv, me, id, &Msg::Keys(&all));
            }
        }
    }
}

/// Disconnect cleanup.
pub fn forget_client(srv: &mut Server, c: &mut Client) {
    disable(srv, c);
}

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    fn inv(key: &str) -> String {
        format!(
            ">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n",
            key.len()
        )
    }

    fn tracker() -> TestServer {
        let mut t = TestServer::new();
        t.resp3();
        assert_eq!(t.exec("CLIENT TRACKING on"), "+OK\r\n");
        t
    }

    /// The end of a connection's batch (BCAST messages, table limit).
    fn end_batch(t: &mut TestServer) -> String {
        super::before_sleep(&mut t.srv, &mut t.client);
        String::from_utf8_lossy(&std::mem::take(&mut t.client.reply.buf)).into_owned()
    }

    #[test]
    fn own_writes_are_reported_after_the_reply() {
        let mut t = tracker();
        assert_eq!(t.exec("GET k"), "_\r\n");
        assert_eq!(t.exec("SET k v"), format!("+OK\r\n{}", inv("k")));
        // Forgotten until read again.
        assert_eq!(t.exec("SET k v"), "+OK\r\n");
        t.exec("MGET a b");
        assert_eq!(
            t.exec("MSET b 1 a 2"),
            format!("+OK\r\n{}{}", inv("b"), inv("a"))
        );
        assert_eq!(t.srv.tracking.totals(), (0, 0, 0));
        t.exec("GET k");
        assert_eq!(t.srv.tracking.totals(), (1, 1, 0));
        assert_eq!(t.exec("FLUSHDB"), "+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n");
        assert_eq!(t.srv.tracking.totals(), (0, 0, 0));
    }

    #[test]
    fn lazy_expiry_is_reported_after_the_reply() {
        let mut t = tracker();
        t.exec("SET k v PX 100");
        assert_eq!(t.exec("GET k"), "$1\r\nv\r\n");
        t.advance_ms(200);
        assert_eq!(t.exec("GET k"), format!("_\r\n{}", inv("k")));
        // The read tracked the key again.
        assert_eq!(t.srv.tracking.totals(), (1, 1, 0));
        t.exec("SET k v PX 100");
        t.exec("GET k");
        t.advance_ms(200);
        t.exec("MULTI");
        t.exec("GET k");
        assert_eq!(t.exec("EXEC"), format!("*1\r\n_\r\n{}", inv("k")));
        // NOLOOP: the client's own command expired it, so no message.
        t.exec("CLIENT TRACKING on noloop");
        t.exec("SET k v PX 100");
        t.exec("GET k");
        t.advance_ms(200);
        assert_eq!(t.exec("GET k"), "_\r\n");
    }

    #[test]
    fn caching_lasts_one_command_or_transaction() {
        let mut t = tracker();
        t.exec("CLIENT TRACKING off");
        t.exec("CLIENT TRACKING on optin");
        t.exec("GET a");
        assert_eq!(t.exec("SET a 1"), "+OK\r\n");
        t.exec("CLIENT CACHING yes");
        t.exec("CLIENT GETREDIR"); // a CLIENT subcommand keeps the window open
        t.exec("GET a");
        t.exec("GET b");
        assert_eq!(t.exec("MSET a 1 b 1"), format!("+OK\r\n{}", inv("a")));
        t.exec("CLIENT CACHING yes");
        t.exec("MULTI");
        t.exec("GET a");
        t.exec("GET b");
        t.exec("EXEC");
        assert_eq!(
            t.exec("MSET a 1 b 1"),
            format!("+OK\r\n{}{}", inv("a"), inv("b"))
        );
        assert!(!t.client.tracking.caching);
    }

    #[test]
    fn bcast_batches_per_prefix_and_noloop() {
        let mut t = TestServer::new();
        t.resp3();
        t.exec("CLIENT TRACKING on BCAST PREFIX a PREFIX b");
        assert_eq!(t.exec("SET a2 1"), "+OK\r\n");
        t.exec("SET a1 1");
        t.exec("SET c 1");
        t.exec("DEL a2 b");
        t.exec("SET b9 1");
        assert_eq!(
            end_batch(&mut t),
            ">2\r\n$10\r\ninvalidate\r\n*2\r\n$2\r\na1\r\n$2\r\na2\r\n\
             >2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nb9\r\n"
        );
        assert_eq!(end_batch(&mut t), "");
        t.exec("CLIENT TRACKING on BCAST NOLOOP PREFIX c");
        t.exec("SET a1 2");
        assert_eq!(end_batch(&mut t), "");
        assert_eq!(t.srv.tracking.totals().2, 3);
        t.exec("CLIENT TRACKING off");
        assert_eq!(t.srv.tracking.totals().2, 0);
    }

    #[test]
    fn table_limit_evicts_keys() {
        let mut t = tracker();
        t.exec("CONFIG SET tracking-table-max-keys 2");
        t.exec("MGET a b c d");
        let out = end_batch(&mut t);
        assert_eq!(out.matches("invalidate").count(), 2, "{out}");
        assert_eq!(t.srv.tracking.totals().0, 2);
        t.exec("CONFIG SET tracking-table-max-keys 0");
        t.exec("MGET e f g h");
        assert_eq!(end_batch(&mut t), "");
    }

    #[test]
    fn prefix_collisions() {
        let mut t = TestServer::new();
        t.exec("CLIENT TRACKING on BCAST PREFIX ab");
        let c = &t.client;
        let p = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        assert!(super::prefix_collision(c, &p(&["b", "ac"])).is_none());
        assert_eq!(
            super::prefix_collision(c, &p(&["x", "abc"])).unwrap(),
            "Prefix 'abc' overlaps with an existing prefix 'ab'. Prefixes for a single client must not overlap."
        );
        assert_eq!(
            super::prefix_collision(c, &p(&["x", "y", "xy"])).unwrap(),
            "Prefix 'x' overlaps with another provided prefix 'xy'. Prefixes for a single client must not overlap."
        );
        assert!(super::prefix_collision(c, &p(&[""])).is_some());
    }
}
