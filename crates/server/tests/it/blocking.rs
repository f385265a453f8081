//! Blocking list commands over real connections: the immediate paths, a blocked client not
//! stalling others, and (ignored until the serving loop lands) wake-ups by pushes.

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
#[ignore = "needs the blocked-client serving loop (cmd::serve_ready_keys)"]
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
