//! Transactions over real connections: WATCH races between two clients, WATCH and expiry,
//! and clients blocked on keys served only after a whole MULTI/EXEC.

use std::time::Duration;

use cinnabar_resp::Frame;

use super::harness::{start_cinnabar, Conn};

fn ok() -> Frame {
    Frame::Simple("OK".into())
}

fn queued() -> Frame {
    Frame::Simple("QUEUED".into())
}

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

#[test]
fn watch_race_between_clients() {
    let srv = start_cinnabar(&[]);
    let mut a = Conn::connect(srv.port);
    let mut b = Conn::connect(srv.port);
    assert_eq!(a.cmd("SET k 1"), ok());
    assert_eq!(a.cmd("WATCH k"), ok());
    assert_eq!(b.cmd("INCR k"), Frame::Integer(2));
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("SET k 100"), queued());
    assert_eq!(a.cmd("EXEC"), Frame::NullArray);
    assert_eq!(a.cmd("GET k"), bulk("2"));

    // Untouched by B: the transaction runs.
    assert_eq!(a.cmd("WATCH k"), ok());
    assert_eq!(b.cmd("SET other x"), ok());
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("SET k 100"), queued());
    assert_eq!(a.cmd("EXEC"), Frame::Array(vec![ok()]));

    // B deletes a key A watches, in RESP3.
    a.cmd("HELLO 3");
    assert_eq!(a.cmd("WATCH k nokey"), ok());
    assert_eq!(b.cmd("DEL k"), Frame::Integer(1));
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("PING"), queued());
    assert_eq!(a.cmd("EXEC"), Frame::Null);

    // B creates a key A watched while missing; B's own transaction touches it too.
    assert_eq!(a.cmd("WATCH nokey"), ok());
    assert_eq!(b.cmd("MULTI"), ok());
    assert_eq!(b.cmd("LPUSH nokey v"), queued());
    assert_eq!(b.cmd("EXEC"), Frame::Array(vec![Frame::Integer(1)]));
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("EXEC"), Frame::Null);

    // A watcher that disconnects leaves nothing behind that could disturb others.
    let mut c = Conn::connect(srv.port);
    assert_eq!(c.cmd("WATCH nokey"), ok());
    drop(c);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(b.cmd("DEL nokey"), Frame::Integer(1));
    assert_eq!(b.cmd("PING"), Frame::Simple("PONG".into()));
}

#[test]
fn watch_and_expiry() {
    let srv = start_cinnabar(&[]);
    let mut a = Conn::connect(srv.port);
    // The TTL leaves room for a loaded machine between SET and WATCH.
    assert_eq!(a.cmd("SET k v PX 500"), ok());
    assert_eq!(a.cmd("WATCH k"), ok());
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("PING"), queued());
    assert_eq!(a.cmd("EXEC"), Frame::NullArray);
    // A TTL that has not passed changes nothing.
    assert_eq!(a.cmd("SET k v EX 100"), ok());
    assert_eq!(a.cmd("WATCH k"), ok());
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("EXEC"), Frame::Array(vec![]));
}

#[test]
fn blocked_client_served_after_exec() {
    let srv = start_cinnabar(&[]);
    let mut w = Conn::connect(srv.port);
    let mut a = Conn::connect(srv.port);
    w.send(&[b"BLPOP".to_vec(), b"k".to_vec(), b"0".to_vec()]);
    // Wait until the server registered the waiter.
    for _ in 0..200 {
        let info = match a.cmd("INFO clients") {
            Frame::Bulk(b) | Frame::Verbatim(b) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        if info.contains("blocked_clients:1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Pushed then deleted inside one transaction: the waiter never sees the element.
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("RPUSH k a"), queued());
    assert_eq!(a.cmd("DEL k"), queued());
    assert_eq!(
        a.cmd("EXEC"),
        Frame::Array(vec![Frame::Integer(1), Frame::Integer(1)])
    );
    w.stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert_eq!(w.read(), None, "the waiter must stay blocked");
    w.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // Two pushes in one transaction: the waiter gets the first element once EXEC is done.
    assert_eq!(a.cmd("MULTI"), ok());
    assert_eq!(a.cmd("RPUSH k x"), queued());
    assert_eq!(a.cmd("RPUSH k y"), queued());
    assert_eq!(a.cmd("LLEN k"), queued());
    assert_eq!(
        a.cmd("EXEC"),
        Frame::Array(vec![
            Frame::Integer(1),
            Frame::Integer(2),
            Frame::Integer(2)
        ])
    );
    assert_eq!(w.read(), Some(Frame::Array(vec![bulk("k"), bulk("x")])));
    assert_eq!(a.cmd("LRANGE k 0 -1"), Frame::Array(vec![bulk("y")]));
}
