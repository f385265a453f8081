//! Client-side caching over real connections: invalidations reaching other clients (RESP3
//! pushes, RESP2 redirection to a `__redis__:invalidate` subscriber), BCAST prefixes with
//! per-batch messages, OPTIN, expiry, flushes, a redirect target that disconnects, and the
//! table size limit. Each scenario runs against redis-server too, so the expectations are
//! Redis's.

use std::time::Duration;

use cinnabar_resp::Frame;

use super::harness::{start_cinnabar, start_redis, Conn};

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

fn ok() -> Frame {
    Frame::Simple(b"OK".to_vec())
}

fn invalidate(keys: &[&str]) -> Frame {
    Frame::Push(vec![
        bulk("invalidate"),
        Frame::Array(keys.iter().map(|k| bulk(k)).collect()),
    ])
}

fn id_of(c: &mut Conn) -> i64 {
    match c.cmd("CLIENT ID") {
        Frame::Integer(n) => n,
        other => panic!("CLIENT ID: {other:?}"),
    }
}

fn text(f: Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Verbatim(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("not a string: {other:?}"),
    }
}

fn info_field(c: &mut Conn, section: &str, name: &str) -> String {
    let t = text(c.cmd(&format!("INFO {section}")));
    t.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .to_string()
}

fn resp3(port: u16) -> Conn {
    let mut c = Conn::connect(port);
    assert!(matches!(c.cmd("HELLO 3"), Frame::Map(_)));
    c
}

/// Runs a scenario against Cinnabar and against redis-server.
fn both(scenario: impl Fn(u16)) {
    let ours = start_cinnabar(&[]);
    scenario(ours.port);
    let theirs = start_redis(&[]);
    scenario(theirs.port);
}

#[test]
fn resp2_redirect_to_a_subscriber() {
    both(|port| {
        let mut sub = Conn::connect(port);
        let mut tracker = Conn::connect(port);
        let mut writer = Conn::connect(port);
        let sub_id = id_of(&mut sub);
        sub.cmd("SUBSCRIBE __redis__:invalidate");
        let on = format!("CLIENT TRACKING on REDIRECT {sub_id}");
        assert_eq!(tracker.cmd(&on), ok());
        assert_eq!(tracker.cmd("CLIENT GETREDIR"), Frame::Integer(sub_id));
        let line = text(tracker.cmd("CLIENT INFO"));
        assert!(line.contains(" flags=t "), "{line}");
        assert!(line.contains(&format!(" redir={sub_id} ")), "{line}");
        assert_eq!(info_field(&mut writer, "clients", "tracking_clients"), "1");

        tracker.cmd("MGET a b");
        writer.cmd("SET b 1");
        let msg = |payload: Frame| {
            Frame::Array(vec![bulk("message"), bulk("__redis__:invalidate"), payload])
        };
        assert_eq!(sub.read(), Some(msg(Frame::Array(vec![bulk("b")]))));
        // Only once: the key is forgotten until read again.
        writer.cmd("SET b 2");
        writer.cmd("SET a 2");
        assert_eq!(sub.read(), Some(msg(Frame::Array(vec![bulk("a")]))));
        // FLUSHALL: a null (in the tracking client's protocol) means "everything".
        tracker.cmd("GET a");
        writer.cmd("FLUSHALL");
        assert_eq!(sub.read(), Some(msg(Frame::Null)));
        // A write by the tracking client itself is reported too (no NOLOOP).
        tracker.cmd("GET c");
        tracker.cmd("SET c 1");
        assert_eq!(sub.read(), Some(msg(Frame::Array(vec![bulk("c")]))));
        assert_eq!(tracker.cmd("CLIENT TRACKING off"), ok());
        assert_eq!(info_field(&mut writer, "clients", "tracking_clients"), "0");
    });
}

#[test]
fn resp3_pushes_to_another_client_and_stats() {
    both(|port| {
        let mut tracker = resp3(port);
        let mut writer = Conn::connect(port);
        writer.cmd("SET k v");
        assert_eq!(tracker.cmd("CLIENT TRACKING on"), ok());
        assert_eq!(tracker.cmd("GET k"), bulk("v"));
        tracker.cmd("GET missing");
        assert_eq!(
            info_field(&mut writer, "stats", "tracking_total_items"),
            "2"
        );
        writer.cmd("APPEND k w");
        assert_eq!(tracker.read(), Some(invalidate(&["k"])));
        assert_eq!(tracker.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
        assert_eq!(info_field(&mut writer, "stats", "tracking_total_keys"), "1");
        // A client that disconnects stops tracking; its keys stay until invalidated.
        drop(tracker);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(info_field(&mut writer, "clients", "tracking_clients"), "0");
        assert_eq!(
            info_field(&mut writer, "stats", "tracking_total_items"),
            "1"
        );
        writer.cmd("SET missing 1");
        assert_eq!(
            info_field(&mut writer, "stats", "tracking_total_items"),
            "0"
        );
    });
}

#[test]
fn bcast_prefixes_one_message_per_batch() {
    both(|port| {
        let mut bc = resp3(port);
        let mut writer = Conn::connect(port);
        let on = "CLIENT TRACKING on BCAST PREFIX user: PREFIX obj:";
        assert_eq!(bc.cmd(on), ok());
        assert_eq!(
            info_field(&mut writer, "stats", "tracking_total_prefixes"),
            "2"
        );
        let line = text(bc.cmd("CLIENT INFO"));
        assert!(line.contains(" flags=tB "), "{line}");
        // One pipelined batch: one message per prefix, keys sorted and deduplicated.
        let mut req = Vec::new();
        for cmd in [
            "SET user:2 a",
            "SET other x",
            "SET user:1 b",
            "DEL user:2",
            "SET obj:9 c",
        ] {
            let argv = cinnabar_resp::parse::split_args(cmd.as_bytes()).unwrap();
            req.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
            for a in argv {
                req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                req.extend_from_slice(&a);
                req.extend_from_slice(b"\r\n");
            }
        }
        writer.send_raw(&req);
        for _ in 0..5 {
            writer.read();
        }
        assert_eq!(bc.read(), Some(invalidate(&["obj:9"])));
        assert_eq!(bc.read(), Some(invalidate(&["user:1", "user:2"])));
        // Expiry counts as a modification.
        writer.cmd("SET user:3 x PX 50");
        assert_eq!(bc.read(), Some(invalidate(&["user:3"])));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(bc.read(), Some(invalidate(&["user:3"])));
        assert_eq!(bc.cmd("CLIENT TRACKING off"), ok());
        assert_eq!(
            info_field(&mut writer, "stats", "tracking_total_prefixes"),
            "0"
        );
    });
}

#[test]
fn optin_tracks_only_after_caching_yes() {
    both(|port| {
        let mut tracker = resp3(port);
        let mut writer = Conn::connect(port);
        assert_eq!(tracker.cmd("CLIENT TRACKING on OPTIN"), ok());
        tracker.cmd("GET a");
        assert_eq!(tracker.cmd("CLIENT CACHING yes"), ok());
        tracker.cmd("GET b");
        tracker.cmd("GET c");
        writer.cmd("MSET a 1 b 1 c 1");
        assert_eq!(tracker.read(), Some(invalidate(&["b"])));
        assert_eq!(tracker.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
    });
}

#[test]
fn active_expiry_invalidates_without_a_command() {
    both(|port| {
        let mut tracker = resp3(port);
        let mut writer = Conn::connect(port);
        assert_eq!(tracker.cmd("CLIENT TRACKING on"), ok());
        writer.cmd("SET k v PX 100");
        assert_eq!(tracker.cmd("GET k"), bulk("v"));
        // Nothing is sent by the tracker: the active expiry cycle finds the key.
        assert_eq!(tracker.read(), Some(invalidate(&["k"])));
        assert_eq!(writer.cmd("DBSIZE"), Frame::Integer(0));
    });
}

#[test]
fn redirect_target_disconnects() {
    both(|port| {
        let mut tracker = resp3(port);
        let mut target = Conn::connect(port);
        let mut writer = Conn::connect(port);
        let tid = id_of(&mut target);
        assert_eq!(
            tracker.cmd(&format!("CLIENT TRACKING on REDIRECT {tid}")),
            ok()
        );
        tracker.cmd("GET k");
        drop(target);
        std::thread::sleep(Duration::from_millis(200));
        writer.cmd("SET k 1");
        assert_eq!(
            tracker.read(),
            Some(Frame::Push(vec![
                bulk("tracking-redir-broken"),
                Frame::Integer(tid)
            ]))
        );
        let info = tracker.cmd("CLIENT TRACKINGINFO");
        let Frame::Map(pairs) = info else {
            panic!("TRACKINGINFO is a map: {info:?}");
        };
        assert_eq!(
            pairs[0].1,
            Frame::Set(vec![bulk("on"), bulk("broken_redirect")])
        );
        assert_eq!(pairs[1].1, Frame::Integer(tid));
        let line = text(tracker.cmd("CLIENT INFO"));
        assert!(line.contains(" flags=tR "), "{line}");
        // Re-enabling clears the flag.
        assert_eq!(tracker.cmd("CLIENT TRACKING on"), ok());
        let line = text(tracker.cmd("CLIENT INFO"));
        assert!(line.contains(" flags=t "), "{line}");
    });
}

#[test]
fn table_limit_invalidates_keys() {
    both(|port| {
        let mut tracker = resp3(port);
        assert_eq!(tracker.cmd("CONFIG SET tracking-table-max-keys 2"), ok());
        assert_eq!(tracker.cmd("CLIENT TRACKING on"), ok());
        assert_eq!(
            tracker.cmd("MGET a b c d e"),
            Frame::Array(vec![Frame::Null; 5])
        );
        let mut evicted = Vec::new();
        for _ in 0..3 {
            match tracker.read() {
                Some(Frame::Push(v)) => match &v[1] {
                    Frame::Array(keys) => evicted.extend(keys.clone()),
                    other => panic!("{other:?}"),
                },
                other => panic!("expected a push, got {other:?}"),
            }
        }
        assert_eq!(evicted.len(), 3);
        assert_eq!(
            info_field(&mut tracker, "stats", "tracking_total_keys"),
            "2"
        );
        tracker.cmd("CONFIG SET tracking-table-max-keys 1000000");
    });
}

#[test]
fn writes_by_a_served_blocked_client_reach_the_waker() {
    both(|port| {
        let mut a = resp3(port);
        let mut b = Conn::connect(port);
        let mut c = resp3(port);
        assert_eq!(a.cmd("CLIENT TRACKING on"), ok());
        assert_eq!(c.cmd("CLIENT TRACKING on"), ok());
        a.cmd("LRANGE src 0 -1");
        a.cmd("LRANGE dst 0 -1");
        c.cmd("LRANGE dst 0 -1");
        b.send(&cinnabar_resp::parse::split_args(b"BLMOVE src dst LEFT RIGHT 0").unwrap());
        std::thread::sleep(Duration::from_millis(100));
        // A's LPUSH wakes B, whose move modifies dst: A hears of it after its reply.
        assert_eq!(a.cmd("LPUSH src x"), Frame::Integer(1));
        assert_eq!(a.read(), Some(invalidate(&["src"])));
        assert_eq!(a.read(), Some(invalidate(&["dst"])));
        assert_eq!(b.read(), Some(bulk("x")));
        assert_eq!(c.read(), Some(invalidate(&["dst"])));
    });
}

#[test]
fn redirect_target_is_the_client_that_woke_a_blocked_one() {
    both(|port| {
        let mut a = resp3(port);
        let mut b = Conn::connect(port);
        let mut t = Conn::connect(port);
        let a_id = id_of(&mut a);
        assert_eq!(t.cmd(&format!("CLIENT TRACKING on REDIRECT {a_id}")), ok());
        t.cmd("LRANGE dst 0 -1");
        b.send(&cinnabar_resp::parse::split_args(b"BLMOVE src dst LEFT RIGHT 0").unwrap());
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(a.cmd("LPUSH src x"), Frame::Integer(1));
        assert_eq!(a.read(), Some(invalidate(&["dst"])));
        assert_eq!(b.read(), Some(bulk("x")));
        assert_eq!(a.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
    });
}
