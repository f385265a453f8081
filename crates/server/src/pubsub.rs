//! Pub/Sub registry and message delivery.
//!
//! The server keeps, per namespace (channels, patterns, shard channels), a map from name to
//! the ids of its subscribers in subscription order; each client keeps the names it is
//! subscribed to (`ClientSubs`), so unsubscribing all and disconnect cleanup need no scan.
//! Publishing appends the message straight to each receiver's reply buffer and wakes its
//! connection task; the publisher itself (borrowed by the running command, so not reachable
//! through the client table) is written directly. Everything runs on the data thread, so the
//! order of messages from one publisher is the order of its commands.
//!
//! A receiver whose pending output passes the `pubsub` class of `client-output-buffer-limit`
//! (hard limit at once, soft limit when it stays over it longer than the soft seconds) is
//! killed, as Redis does, so a subscriber that never reads cannot grow the server's memory.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use cinnabar_resp::ReplyBuf;

use crate::client::Client;
use crate::server::Server;

/// Whether messages to the client running the command wait for its reply (Redis 7.0 writes
/// the reply of some commands before raising their keyspace events, so a RESP3 client
/// subscribed to its own events sees that order).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Defer {
    /// Messages go out at once.
    No,
    /// Messages wait for the reply.
    All,
    /// Messages go out at once until a pop event (LMOVE-like moves), then wait.
    FromPop,
    /// Messages wait, except a `del` event (EXPIRE with a time in the past deletes first).
    AllButDel,
}

/// Commands whose reply Redis writes before their keyspace events.
const REPLY_FIRST: &[&str] = &[
    "getset",
    "getdel",
    "getex",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "lpush",
    "rpush",
    "lpushx",
    "rpushx",
    "lpop",
    "rpop",
    "lset",
    "lmpop",
    "blpop",
    "brpop",
    "blmpop",
    "hset",
    "hsetnx",
    "hmset",
    "hincrby",
    "hincrbyfloat",
    "sinterstore",
    "sunionstore",
    "sdiffstore",
    "zadd",
    "zincrby",
    "zpopmin",
    "zpopmax",
    "bzpopmin",
    "bzpopmax",
    "zmpop",
    "bzmpop",
    "zunionstore",
    "zinterstore",
    "zdiffstore",
    "zrangestore",
];
/// Moves: the destination's events come before the reply, the source's pop events after.
const REPLY_BEFORE_POP: &[&str] = &["rpoplpush", "lmove", "brpoplpush", "blmove"];

/// EXPIRE and friends: reply first, except when the key is deleted at once.
const REPLY_FIRST_BUT_DEL: &[&str] = &["expire", "pexpire", "expireat", "pexpireat"];

/// Defer mode for a command about to run.
pub fn defer_for(full_name: &str) -> Defer {
    if REPLY_FIRST_BUT_DEL.contains(&full_name) {
        Defer::AllButDel
    } else if REPLY_FIRST.contains(&full_name) {
        Defer::All
    } else if REPLY_BEFORE_POP.contains(&full_name) {
        Defer::FromPop
    } else {
        Defer::No
    }
}

/// Called after a command's reply is written: releases the messages held back for it.
pub fn release_held(c: &mut Client) {
    c.self_push_defer = Defer::No;
    if !c.self_push_held.is_empty() {
        let held = std::mem::take(&mut c.self_push_held);
        c.write_push(|c| c.reply.buf.extend_from_slice(&held));
    }
}

/// One of the three subscription namespaces.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// Confirmation verb for subscribing / unsubscribing.
    pub fn verbs(self) -> (&'static str, &'static str) {
        match self {
            Kind::Channel => ("subscribe", "unsubscribe"),
            Kind::Pattern => ("psubscribe", "punsubscribe"),
            Kind::Shard => ("ssubscribe", "sunsubscribe"),
        }
    }
}

/// A client's subscriptions, each list in subscription order.
#[derive(Default, Debug)]
pub struct ClientSubs {
    pub channels: Vec<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    pub shard: Vec<Vec<u8>>,
}

impl ClientSubs {
    pub fn list(&mut self, kind: Kind) -> &mut Vec<Vec<u8>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// The count shown in confirmations: shard subscriptions count apart from the others.
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    /// True while the client is in subscribed mode (any subscription at all).
    pub fn any(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }
}

/// Server-wide subscriber lists.
#[derive(Default, Debug)]
pub struct Registry {
    pub channels: HashMap<Vec<u8>, Vec<u64>>,
    pub patterns: HashMap<Vec<u8>, Vec<u64>>,
    pub shard: HashMap<Vec<u8>, Vec<u64>>,
}

impl Registry {
    pub fn map(&self, kind: Kind) -> &HashMap<Vec<u8>, Vec<u64>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    fn map_mut(&mut self, kind: Kind) -> &mut HashMap<Vec<u8>, Vec<u64>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Subscribes `c`; false if it already was.
    pub fn subscribe(&mut self, c: &mut Client, kind: Kind, name: &[u8]) -> bool {
        let ids = self.map_mut(kind).entry(name.to_vec()).or_default();
        if ids.contains(&c.id) {
            return false;
        }
        ids.push(c.id);
        c.subs.list(kind).push(name.to_vec());
        true
    }

    /// Unsubscribes `c`; false if it was not subscribed.
    pub fn unsubscribe(&mut self, c: &mut Client, kind: Kind, name: &[u8]) -> bool {
        let list = c.subs.list(kind);
        let Some(pos) = list.iter().position(|n| n.as_slice() == name) else {
            return false;
        };
        list.remove(pos);
        let map = self.map_mut(kind);
        if let Some(ids) = map.get_mut(name) {
            ids.retain(|&id| id != c.id);
            if ids.is_empty() {
                map.remove(name);
            }
        }
        true
    }

    /// Drops every subscription of `c` (disconnect, RESET).
    pub fn remove_client(&mut self, c: &mut Client) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            let names = std::mem::take(c.subs.list(kind));
            let map = self.map_mut(kind);
            for name in names {
                if let Some(ids) = map.get_mut(&name) {
                    ids.retain(|&id| id != c.id);
                    if ids.is_empty() {
                        map.remove(&name);
                    }
                }
            }
        }
    }
}

/// The `pubsub` class of client-output-buffer-limit: (hard bytes, soft bytes, soft seconds).
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    pub hard: usize,
    pub soft: usize,
    pub secs: i64,
}

/// The pubsub output limits of the server (parsed once per config change, see `Config::apply`).
pub fn limits(srv: &Server) -> Limits {
    srv.config.obuf_pubsub
}

/// Parses the pubsub class out of "normal h s t slave h s t pubsub h s t".
pub fn parse_limits(value: Option<&str>) -> Limits {
    let Some(v) = value else {
        return Limits::default();
    };
    let words: Vec<&str> = v.split(' ').collect();
    let Some(i) = words.iter().position(|w| *w == "pubsub") else {
        return Limits::default();
    };
    let num = |j: usize| {
        words
            .get(i + j)
            .and_then(|w| w.parse::<i64>().ok())
            .unwrap_or(0)
    };
    Limits {
        hard: num(1).max(0) as usize,
        soft: num(2).max(0) as usize,
        secs: num(3),
    }
}

/// Kills `c` if its pending output is over the limits (Redis's output buffer limit check).
fn check_limits(c: &mut Client, lim: Limits, now_ms: i64) {
    let used = c.reply.buf.len();
    let mut over = lim.hard > 0 && used >= lim.hard;
    if lim.soft > 0 && used >= lim.soft {
        if c.obuf_soft_since == 0 {
            c.obuf_soft_since = now_ms;
        } else if now_ms - c.obuf_soft_since > lim.secs * 1000 {
            over = true;
        }
    } else {
        c.obuf_soft_since = 0;
    }
    if over {
        let info = crate::cmd::client::client_line(c, now_ms, None);
        crate::warning!(
            "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
            info.trim_end()
        );
        c.kill();
    }
}

/// Writes one message to client `id` (the publisher `me` directly, others through the table).
fn deliver(
    clients: &BTreeMap<u64, Rc<RefCell<Client>>>,
    me: &mut Client,
    id: u64,
    lim: Limits,
    now_ms: i64,
    write: &dyn Fn(&mut ReplyBuf),
) {
    let put = |c: &mut Client| {
        if c.killed {
            return;
        }
        write(&mut c.reply);
        check_limits(c, lim, now_ms);
    };
    if id == me.id {
        if me.self_push_defer == Defer::All {
            std::mem::swap(&mut me.reply.buf, &mut me.self_push_held);
            put(me);
            std::mem::swap(&mut me.reply.buf, &mut me.self_push_held);
        } else {
            me.write_push(put);
        }
    } else if let Some(rc) = clients.get(&id) {
        if let Ok(mut c) = rc.try_borrow_mut() {
            put(&mut c);
            c.wake.notify_one();
        }
    }
}

/// Publishes `msg` on `channel` (a shard channel when `shard`); returns the receiver count.
pub fn publish(srv: &mut Server, me: &mut Client, shard: bool, channel: &[u8], msg: &[u8]) -> i64 {
    let reg = &srv.pubsub;
    if reg.channels.is_empty() && reg.patterns.is_empty() && reg.shard.is_empty() {
        return 0;
    }
    let lim = limits(srv);
    let now = srv.now_ms;
    let reg = &srv.pubsub;
    let mut n = 0;
    let kind = if shard { Kind::Shard } else { Kind::Channel };
    if let Some(ids) = reg.map(kind).get(channel) {
        let verb: &[u8] = if shard { b"smessage" } else { b"message" };
        let write = |r: &mut ReplyBuf| {
            r.push(3);
            r.bulk(verb);
            r.bulk(channel);
            r.bulk(msg);
        };
        for &id in ids {
            deliver(&srv.clients, me, id, lim, now, &write);
            n += 1;
        }
    }
    if !shard {
        for (pat, ids) in &reg.patterns {
            if !crate::util::glob_match(pat, channel, false) {
                continue;
            }
            let write = |r: &mut ReplyBuf| {
                r.push(4);
                r.bulk(b"pmessage");
                r.bulk(pat);
                r.bulk(channel);
                r.bulk(msg);
            };
            for &id in ids {
                deliver(&srv.clients, me, id, lim, now, &write);
                n += 1;
            }
        }
    }
    n
}
