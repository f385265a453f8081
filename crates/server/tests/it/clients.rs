//! CLIENT commands over real connections: listing, naming, killing, reply suppression.

use cinnabar_resp::Frame;

use super::harness::{start_cinnabar, Conn};

fn text(f: Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Verbatim(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("expected a string reply, got {other:?}"),
    }
}

fn int(f: Frame) -> i64 {
    match f {
        Frame::Integer(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// The `field=` value of the CLIENT LIST line for client `id`.
fn field(list: &str, id: i64, name: &str) -> Option<String> {
    let line = list.lines().find(|l| l.starts_with(&format!("id={id} ")))?;
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .map(str::to_string)
}

#[test]
fn list_shows_every_connection_and_names() {
    let srv = start_cinnabar(&[]);
    let mut a = Conn::connect(srv.port);
    let mut b = Conn::connect(srv.port);
    let mut c = Conn::connect(srv.port);
    let ids: Vec<i64> = [&mut a, &mut b, &mut c]
        .into_iter()
        .map(|conn| int(conn.cmd("CLIENT ID")))
        .collect();
    assert_eq!(
        b.cmd("CLIENT SETNAME worker-b"),
        Frame::Simple(b"OK".to_vec())
    );
    c.cmd("SELECT 3");
    let list = text(a.cmd("CLIENT LIST"));
    assert_eq!(list.lines().count(), 3, "{list}");
    for id in &ids {
        assert!(
            field(&list, *id, "addr").is_some(),
            "id {id} missing: {list}"
        );
    }
    assert_eq!(field(&list, ids[1], "name").unwrap(), "worker-b");
    assert_eq!(field(&list, ids[2], "db").unwrap(), "3");
    assert_eq!(field(&list, ids[2], "cmd").unwrap(), "select");
    assert_eq!(field(&list, ids[0], "cmd").unwrap(), "client|list");
    let laddr = field(&list, ids[0], "laddr").unwrap();
    assert!(laddr.ends_with(&format!(":{}", srv.port)), "{laddr}");
    // The address CLIENT LIST reports is the peer address of the socket.
    let local = b.stream.local_addr().unwrap().to_string();
    assert_eq!(field(&list, ids[1], "addr").unwrap(), local);
    // LIST ID filters.
    let only = text(a.cmd(&format!("CLIENT LIST ID {} {}", ids[1], ids[2])));
    assert_eq!(only.lines().count(), 2);
    assert!(text(b.cmd("CLIENT INFO")).starts_with(&format!("id={} ", ids[1])));
    // The caller's qbuf is the command being run (26 bytes of RESP2 for CLIENT LIST / INFO),
    // other idle clients show 0, as redis-server 7.0.15.
    assert_eq!(field(&list, ids[0], "qbuf").unwrap(), "26");
    assert_eq!(field(&list, ids[1], "qbuf").unwrap(), "0");
    let info = text(b.cmd("CLIENT INFO"));
    assert!(info.contains(" qbuf=26 "), "{info}");
}

#[test]
fn kill_disconnects_the_target() {
    let srv = start_cinnabar(&[]);
    let mut a = Conn::connect(srv.port);
    let mut b = Conn::connect(srv.port);
    let mut c = Conn::connect(srv.port);
    let id_b = int(b.cmd("CLIENT ID"));
    let id_c = int(c.cmd("CLIENT ID"));
    // New form by ID.
    assert_eq!(int(a.cmd(&format!("CLIENT KILL ID {id_b}"))), 1);
    assert!(b.is_closed(), "killed client must read EOF");
    let list = text(a.cmd("CLIENT LIST"));
    assert!(field(&list, id_b, "addr").is_none(), "{list}");
    // Old form by address.
    let addr_c = c.stream.local_addr().unwrap().to_string();
    assert_eq!(
        a.cmd(&format!("CLIENT KILL {addr_c}")),
        Frame::Simple(b"OK".to_vec())
    );
    assert!(c.is_closed());
    assert!(field(&text(a.cmd("CLIENT LIST")), id_c, "addr").is_none());
    assert_eq!(
        a.cmd(&format!("CLIENT KILL {addr_c}")),
        Frame::Error(b"ERR No such client".to_vec())
    );
    // TYPE normal skips the caller by default...
    let mut d = Conn::connect(srv.port);
    d.cmd("PING");
    assert_eq!(int(a.cmd("CLIENT KILL TYPE normal")), 1);
    assert!(d.is_closed());
    assert_eq!(a.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
    // ...and SKIPME no kills the caller after its reply.
    assert_eq!(int(a.cmd("CLIENT KILL TYPE normal SKIPME no")), 1);
    assert!(a.is_closed());
    let mut e = Conn::connect(srv.port);
    assert_eq!(e.cmd("PING"), Frame::Simple(b"PONG".to_vec()));
}

#[test]
fn reply_off_and_skip_suppress_replies() {
    let srv = start_cinnabar(&[]);
    let mut a = Conn::connect(srv.port);
    // SKIP: no reply to SKIP itself nor to the next command.
    a.send_raw(b"CLIENT REPLY SKIP\r\nSET k 1\r\nGET k\r\n");
    assert_eq!(a.read().unwrap(), Frame::Bulk(b"1".to_vec()));
    // OFF: nothing until ON, which replies +OK.
    a.send_raw(b"CLIENT REPLY OFF\r\nSET k 2\r\nPING\r\nNOSUCH\r\nCLIENT REPLY ON\r\nGET k\r\n");
    assert_eq!(a.read().unwrap(), Frame::Simple(b"OK".to_vec()));
    assert_eq!(a.read().unwrap(), Frame::Bulk(b"2".to_vec()));
}

/// CLIENT UNBLOCK of a client held by CLIENT PAUSE answers 0 and leaves it held (redis-server
/// 7.0.15 crashes here: "Unknown btype in replyToBlockedClientTimedOut()").
#[test]
fn unblock_leaves_a_paused_client_held() {
    use super::harness::Got;
    use std::time::Duration;
    let srv = start_cinnabar(&[]);
    let mut m = Conn::connect(srv.port);
    let mut p = Conn::connect(srv.port);
    let id = int(p.cmd("CLIENT ID"));
    m.cmd("CLIENT PAUSE 100000 WRITE");
    p.send(&[b"SET".to_vec(), b"x".to_vec(), b"1".to_vec()]);
    let mut held = false;
    for _ in 0..500 {
        let list = text(m.cmd(&format!("CLIENT LIST ID {id}")));
        if field(&list, id, "flags").is_some_and(|f| f.contains('b')) {
            held = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(held, "the SET was not held by the pause");
    assert_eq!(int(m.cmd(&format!("CLIENT UNBLOCK {id}"))), 0);
    assert_eq!(p.read_within(Duration::from_millis(100)), Got::Nothing);
    m.cmd("CLIENT UNPAUSE");
    assert_eq!(
        p.read_within(Duration::from_secs(5)),
        Got::Frame(Frame::Simple(b"OK".to_vec()))
    );
}
