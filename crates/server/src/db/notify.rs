//! Keyspace notifications: the one place every write command reports its event.
//!
//! Command handlers call `Ctx::notify(class, event, key)` after a change, with Redis's event
//! class (`b'g'` generic, `b'$'` string, `b'l'` list, `b's'` set, `b'h'` hash, `b'z'` zset,
//! `b'x'` expired, `b'e'` evicted, `b'n'` new key, `b't'` stream, `b'm'` key miss, `b'd'`
//! module) and event name (`"lpush"`, `"hset"`, `"del"`). When `notify-keyspace-events`
//! enables the class, the event is published as Redis does: with `K`, on
//! `__keyspace@<db>__:<key>` with the event name as message; with `E`, on
//! `__keyevent@<db>__:<event>` with the key as message. The flag string is parsed once and
//! cached until CONFIG SET changes it (a string comparison per event).

use crate::client::Client;
use crate::server::Server;

const KEYSPACE: u32 = 1 << 0;
const KEYEVENT: u32 = 1 << 1;

/// Bit of one flag character (classes and K/E), 0 for unknown ones.
fn flag_bit(c: u8) -> u32 {
    match c {
        b'K' => KEYSPACE,
        b'E' => KEYEVENT,
        b'g' => 1 << 2,
        b'$' => 1 << 3,
        b'l' => 1 << 4,
        b's' => 1 << 5,
        b'h' => 1 << 6,
        b'z' => 1 << 7,
        b'x' => 1 << 8,
        b'e' => 1 << 9,
        b't' => 1 << 10,
        b'm' => 1 << 11,
        b'd' => 1 << 12,
        b'n' => 1 << 13,
        _ => 0,
    }
}

/// Parses a notify-keyspace-events string; `A` means `g$lshzxetd`.
pub fn parse_flags(s: &str) -> u32 {
    s.bytes()
        .map(|c| {
            if c == b'A' {
                b"g$lshzxetd"
                    .iter()
                    .map(|&c| flag_bit(c))
                    .fold(0, |a, b| a | b)
            } else {
                flag_bit(c)
            }
        })
        .fold(0, |a, b| a | b)
}

/// The current flags, re-parsed only when the config string changed.
fn flags(srv: &mut Server) -> u32 {
    let cur = srv.config.get("notify-keyspace-events").unwrap_or("");
    if srv.notify_flags.0 != cur {
        srv.notify_flags = (cur.to_string(), parse_flags(cur));
    }
    srv.notify_flags.1
}

/// True if events of `class` are published at all (for checks that cost something).
pub fn enabled(srv: &mut Server, class: u8) -> bool {
    if !listened(srv) {
        return false;
    }
    let f = flags(srv);
    f & flag_bit(class) != 0 && f & (KEYSPACE | KEYEVENT) != 0
}

/// Records one keyspace event raised with no client running a command (active expiry).
pub fn keyspace_event(srv: &mut Server, db: usize, class: u8, event: &str, key: &[u8]) {
    if !listened(srv) || flags(srv) == 0 {
        srv.keyspace_events += 1;
        return;
    }
    // A detached stand-in: its id (0) never matches a subscriber.
    let mut nobody = Client::detached(0);
    keyspace_event_by(srv, &mut nobody, db, class, event, key);
}

/// Sends the `expired` events of keys the running command expired on access. Redis raises
/// them during the lookup, before the command's own reply and events, so the running
/// client's copies go where its command's output began.
pub fn flush_lazy_expired(srv: &mut Server, client: &mut Client) {
    if srv.dbs.iter().all(|d| d.lazy_expired.is_empty()) {
        return;
    }
    crate::persist::aof::log_lazy_expired(srv);
    // Client-side caching: each key's invalidation follows its events (tracking.rs).
    let tracking = srv.tracking.is_active();
    if !listened(srv) && !tracking {
        srv.dbs.iter_mut().for_each(|d| d.lazy_expired.clear());
        return;
    }
    let saved_defer = client.self_push_defer;
    let saved_held = std::mem::take(&mut client.self_push_held);
    client.self_push_defer = crate::pubsub::Defer::All;
    for db in 0..srv.dbs.len() {
        for key in std::mem::take(&mut srv.dbs[db].lazy_expired) {
            publish_event(srv, client, db, b'x', "expired", &key);
            if tracking {
                crate::tracking::expired_on_access(srv, client, &key);
            }
        }
    }
    let early = std::mem::replace(&mut client.self_push_held, saved_held);
    client.self_push_defer = saved_defer;
    let at = client.cmd_reply_start.min(client.reply.buf.len());
    let n = early.len();
    client.reply.buf.splice(at..at, early);
    client.cmd_reply_start = at + n;
}

/// Records one keyspace event raised by `client`'s command (see module docs).
pub fn keyspace_event_by(
    srv: &mut Server,
    client: &mut Client,
    db: usize,
    class: u8,
    event: &str,
    key: &[u8],
) {
    srv.keyspace_events += 1;
    flush_lazy_expired(srv, client);
    publish_event(srv, client, db, class, event, key);
}

/// False when nobody is subscribed to any channel or pattern: no event can reach anyone.
fn listened(srv: &Server) -> bool {
    !(srv.pubsub.channels.is_empty() && srv.pubsub.patterns.is_empty())
}

/// Publishes one event on the channels `notify-keyspace-events` enables.
fn publish_event(
    srv: &mut Server,
    client: &mut Client,
    db: usize,
    class: u8,
    event: &str,
    key: &[u8],
) {
    if !listened(srv) {
        return;
    }
    let f = flags(srv);
    if f & flag_bit(class) == 0 || f & (KEYSPACE | KEYEVENT) == 0 {
        return;
    }
    use crate::pubsub::Defer;
    if client.self_push_defer == Defer::FromPop && event.ends_with("pop") {
        client.self_push_defer = Defer::All;
    }
    let saved = client.self_push_defer;
    if class == b'm' {
        // A key miss happens at the lookup, before the command writes anything.
        client.self_push_defer = Defer::No;
    } else if saved == Defer::AllButDel {
        client.self_push_defer = if event == "del" {
            Defer::No
        } else {
            Defer::All
        };
    }
    if f & KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{db}__:").into_bytes();
        ch.extend_from_slice(key);
        crate::pubsub::publish(srv, client, false, &ch, event.as_bytes());
    }
    if f & KEYEVENT != 0 {
        let ch = format!("__keyevent@{db}__:{event}").into_bytes();
        crate::pubsub::publish(srv, client, false, &ch, key);
    }
    client.self_push_defer = saved;
}

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    /// Events reported by each command line, counted by the hook.
    fn events(t: &mut TestServer, line: &str) -> u64 {
        let before = t.srv.keyspace_events;
        t.exec(line);
        t.srv.keyspace_events - before
    }

    #[test]
    fn writes_report_their_events() {
        let mut t = TestServer::new();
        assert_eq!(events(&mut t, "SET k v"), 1);
        assert_eq!(events(&mut t, "SET k v EX 100"), 2); // set + expire
        assert_eq!(events(&mut t, "MSET a 1 b 2"), 2);
        assert_eq!(events(&mut t, "INCR a"), 1);
        assert_eq!(events(&mut t, "APPEND b x"), 1);
        assert_eq!(events(&mut t, "RENAME a c"), 2); // rename_from + rename_to
        assert_eq!(events(&mut t, "DEL b c nosuch"), 2);
        assert_eq!(events(&mut t, "RPUSH l x y"), 1);
        assert_eq!(events(&mut t, "HSET h f v"), 1);
        assert_eq!(events(&mut t, "SADD s m"), 1);
        assert_eq!(events(&mut t, "ZADD z 1 m"), 1);
        // Reads report nothing.
        assert_eq!(events(&mut t, "GET k"), 0);
        assert_eq!(events(&mut t, "LRANGE l 0 -1"), 0);
    }

    #[test]
    fn lazy_expiry_events_come_before_the_reply() {
        let mut t = TestServer::new();
        t.resp3();
        t.exec("CONFIG SET notify-keyspace-events Ex");
        t.exec("SET k v PX 10");
        t.exec("RPUSH l a");
        t.exec("PEXPIRE l 10");
        t.exec("SUBSCRIBE __keyevent@0__:expired");
        t.advance_ms(20);
        let push = |k: &str| {
            format!(">3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$1\r\n{k}\r\n")
        };
        assert_eq!(t.exec("GET k"), format!("{}_\r\n", push("k")));
        // LPUSH replies before its own events, but the expiry happened before both.
        assert_eq!(t.exec("LPUSH l b"), format!("{}:1\r\n", push("l")));
        assert_eq!(t.exec("GET k"), "_\r\n");
    }

    #[test]
    fn flags_parse() {
        use super::*;
        assert_eq!(parse_flags(""), 0);
        assert_eq!(parse_flags("KA"), parse_flags("Kg$lshzxetd"));
        assert_eq!(parse_flags("A") & flag_bit(b'm'), 0);
        assert_eq!(parse_flags("A") & flag_bit(b'n'), 0);
    }

    #[test]
    fn self_subscribed_resp3_sees_events() {
        let mut t = TestServer::new();
        t.resp3();
        t.exec("CONFIG SET notify-keyspace-events KEA");
        t.exec("PSUBSCRIBE __key*__:*");
        let out = t.exec("SET k v");
        assert_eq!(
            out,
            ">4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n\
             >4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n+OK\r\n"
        );
        t.exec("CONFIG SET notify-keyspace-events El");
        assert_eq!(t.exec("SET k v"), "+OK\r\n");
        let out = t.exec("LPUSH l a");
        assert!(out.contains("__keyevent@0__:lpush"));
        assert!(!out.contains("__keyspace"));
    }
}
