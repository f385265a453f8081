//! Blocking list commands over real connections: the immediate paths, a blocked client not
//! stalling others, wake-ups by pushes, timeouts, CLIENT UNBLOCK, chains and disconnects.

use std::time::Duration;

use cinnabar_resp::Frame;

use super::harness::{start_cinnabar, Conn};

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

#[test]
fn immediate_paths_reply_at_once() {
    let srv = start_cinnabar(&[]);
    let mut c = Conn::connect(srv.port);
    assert_eq!(c.cmd("RPUSH q a b c d e"), Frame::Integer(5));
    assert_eq!(
        c.cmd("BLPOP empty q 0"),
        Frame::Array(vec![bulk("q"), bulk("a")])
    );
    assert_eq!(c.cmd("BRPOP q 1"), Frame::Array(vec![bulk("q"), bulk("e")]));
    assert_eq!(c.cmd("BLMOVE q d LEFT RIGHT 0"), bulk("b"));
    assert_eq!(c.cmd("BRPOPLPUSH q d 0"), bulk("d"));
    assert_eq!(
        c.cmd("BLMPOP 0 2 empty q LEFT COUNT 9"),
        Frame::Array(vec![bulk("q"), Frame::Array(vec![bulk("c")])])
    );
    assert_eq!(c.cmd("EXISTS q"), Frame::Integer(0));
    assert_eq!(
        c.cmd("LRANGE d 0 -1"),
        Frame::Array(vec![bulk("d"), bulk("b")])
    );
}

#[test]
fn blocked_client_does_not_stall_others() {
    let srv = start_cinnabar(&[]);
    let mut blocked = Conn::connect(srv.port);
    let mut other = Conn::connect(srv.port);
    blocked.send(&[b"BLPOP".to_vec(), b"nothing".to_vec(), b"0".to_vec()]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(other.cmd("PING"), Frame::Simple("PONG".into()));
    assert_eq!(other.cmd("LLEN nothing"), Frame::Integer(0));
    // The blocked connection going away must not disturb the server.
    drop(blocked);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(other.cmd("RPUSH nothing x"), Frame::Integer(1));
    assert_eq!(other.cmd("LPOP nothing"), bulk("x"));
}

#[test]
fn push_wakes_blocked_clients_in_order() {
    let srv = start_cinnabar(&[]);
    let mut a = Conn::connect(srv.port);
    let mut b = Conn::connect(srv.port);
    let mut w = Conn::connect(srv.port);
    a.send(&[b"BLPOP".to_vec(), b"k".to_vec(), b"0".to_vec()]);
    std::thread::sleep(Duration::from_millis(50));
    b.send(&[
        b"BLMOVE".to_vec(),
        b"k".to_vec(),
        b"dst".to_vec(),
        b"RIGHT".to_vec(),
        b"LEFT".to_vec(),
        b"0".to_vec(),
    ]);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(w.cmd("RPUSH k 1 2 3"), Frame::Integer(3));
    assert_eq!(a.read(), Some(Frame::Array(vec![bulk("k"), bulk("1")])));
    assert_eq!(b.read(), Some(bulk("3")));
    assert_eq!(w.cmd("LRANGE k 0 -1"), Frame::Array(vec![bulk("2")]));
    assert_eq!(w.cmd("LRANGE dst 0 -1"), Frame::Array(vec![bulk("3")]));
}

fn argv(line: &str) -> Vec<Vec<u8>> {
    line.split(' ').map(|w| w.as_bytes().to_vec()).collect()
}

fn info_field(c: &mut Conn, field: &str) -> String {
    let Frame::Bulk(text) = c.cmd("INFO clients") else {
        panic!("INFO is a bulk string")
    };
    let text = String::from_utf8(text).unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
fn sub_second_timeout_replies_nil() {
    let srv = start_cinnabar(&[]);
    let mut a = Conn::connect(srv.port);
    let start = std::time::Instant::now();
    a.send(&argv("BLPOP nokey 0.2"));
    assert_eq!(a.read(), Some(Frame::NullArray));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(190) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    // A null array for BLMOVE too, as Redis 7.0.15 replies.
    a.send(&argv("BLMOVE nokey dst LEFT LEFT 0.05"));
    assert_eq!(a.read(), Some(Frame::NullArray));
    // The connection keeps working, and nothing is left blocked.
    assert_eq!(a.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
    assert_eq!(info_field(&mut a, "blocked_clients"), "0");
}

#[test]
fn client_unblock_with_timeout_and_error() {
    let srv = start_cinnabar(&[]);
    let mut a = Conn::connect(srv.port);
    let mut admin = Conn::connect(srv.port);
    let Frame::Integer(id) = a.cmd("CLIENT ID") else {
        panic!()
    };
    a.send(&argv("BLPOP k 0"));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(info_field(&mut admin, "blocked_clients"), "1");
    assert_eq!(
        admin.cmd(&format!("CLIENT UNBLOCK {id}")),
        Frame::Integer(1)
    );
    assert_eq!(a.read(), Some(Frame::NullArray));
    a.send(&argv("BLPOP k 0"));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        admin.cmd(&format!("CLIENT UNBLOCK {id} ERROR")),
        Frame::Integer(1)
    );
    assert_eq!(
        a.read(),
        Some(Frame::Error(
            b"UNBLOCKED client unblocked via CLIENT UNBLOCK".to_vec()
        ))
    );
    assert_eq!(
        admin.cmd(&format!("CLIENT UNBLOCK {id}")),
        Frame::Integer(0)
    );
    assert_eq!(info_field(&mut admin, "blocked_clients"), "0");
}

#[test]
fn disconnected_waiter_leaves_no_trace() {
    let srv = start_cinnabar(&[]);
    let mut gone = Conn::connect(srv.port);
    let mut b = Conn::connect(srv.port);
    let mut w = Conn::connect(srv.port);
    gone.send(&argv("BLPOP k 0"));
    std::thread::sleep(Duration::from_millis(50));
    b.send(&argv("BLPOP k 0"));
    std::thread::sleep(Duration::from_millis(50));
    drop(gone);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(info_field(&mut w, "blocked_clients"), "1");
    assert_eq!(w.cmd("RPUSH k v"), Frame::Integer(1));
    // The first waiter left: the second gets the element, nothing is lost.
    assert_eq!(b.read(), Some(Frame::Array(vec![bulk("k"), bulk("v")])));
    assert_eq!(w.cmd("LLEN k"), Frame::Integer(0));
    assert_eq!(info_field(&mut w, "blocked_clients"), "0");
}

#[test]
fn blmove_chains_into_another_waiter() {
    let srv = start_cinnabar(&[]);
    let mut mover = Conn::connect(srv.port);
    let mut taker = Conn::connect(srv.port);
    let mut w = Conn::connect(srv.port);
    mover.send(&argv("BLMOVE src mid LEFT RIGHT 0"));
    taker.send(&argv("BLPOP mid 0"));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(w.cmd("RPUSH src job"), Frame::Integer(1));
    assert_eq!(mover.read(), Some(bulk("job")));
    assert_eq!(
        taker.read(),
        Some(Frame::Array(vec![bulk("mid"), bulk("job")]))
    );
    assert_eq!(w.cmd("EXISTS src mid"), Frame::Integer(0));
}

#[test]
fn client_blocked_on_several_keys_is_served_by_the_first_with_data() {
    let srv = start_cinnabar(&[]);
    let mut a = Conn::connect(srv.port);
    let mut w = Conn::connect(srv.port);
    a.send(&argv("BRPOP k1 k2 k3 0"));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(w.cmd("LPUSH k3 x"), Frame::Integer(1));
    assert_eq!(a.read(), Some(Frame::Array(vec![bulk("k3"), bulk("x")])));
    // Pipelined commands sent while blocked run after the wake-up, in order.
    a.send(&argv("BLPOP k2 0"));
    a.send(&argv("PING"));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(w.cmd("RPUSH k2 y"), Frame::Integer(1));
    assert_eq!(a.read(), Some(Frame::Array(vec![bulk("k2"), bulk("y")])));
    assert_eq!(a.read(), Some(Frame::Simple(b"PONG".to_vec())));
}
