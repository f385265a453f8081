//! Raw-bytes protocol tests: framing, pipelining, limits, and error-then-close.

use super::harness::{start_cinnabar, Conn};

#[test]
fn pipeline_and_inline() {
    let srv = start_cinnabar(&[]);
    let mut c = Conn::connect(srv.port);
    c.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n");
    assert_eq!(
        c.read().unwrap(),
        cinnabar_resp::Frame::Simple(b"OK".to_vec())
    );
    assert_eq!(c.read().unwrap(), cinnabar_resp::Frame::Bulk(b"v".to_vec()));
    assert_eq!(
        c.read().unwrap(),
        cinnabar_resp::Frame::Simple(b"PONG".to_vec())
    );
}

#[test]
fn protocol_errors_close_the_connection() {
    let srv = start_cinnabar(&[]);
    let cases: &[(&[u8], &str)] = &[
        (
            b"*1\r\n$4294967296\r\n",
            "ERR Protocol error: invalid bulk length",
        ),
        (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\nx\r\n", "ERR Protocol error: expected '$', got 'x'"),
        (
            b"SET k \"abc\r\n",
            "ERR Protocol error: unbalanced quotes in request",
        ),
    ];
    for (bytes, err) in cases {
        let mut c = Conn::connect(srv.port);
        c.send_raw(bytes);
        assert_eq!(
            c.read().unwrap(),
            cinnabar_resp::Frame::Error(err.as_bytes().to_vec())
        );
        assert!(c.is_closed(), "connection should close after {err}");
    }
    // Other clients are unaffected.
    let mut c = Conn::connect(srv.port);
    assert_eq!(
        c.cmd("PING"),
        cinnabar_resp::Frame::Simple(b"PONG".to_vec())
    );
}

#[test]
fn endless_inline_line_is_refused() {
    let srv = start_cinnabar(&[]);
    let mut c = Conn::connect(srv.port);
    c.send_raw(&vec![b'a'; 70 * 1024]);
    assert_eq!(
        c.read().unwrap(),
        cinnabar_resp::Frame::Error(b"ERR Protocol error: too big inline request".to_vec())
    );
    assert!(c.is_closed());
}

#[test]
fn value_of_512_mb_works() {
    let srv = start_cinnabar(&[]);
    let mut c = Conn::connect(srv.port);
    let size = 512 * 1024 * 1024;
    let mut req = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${size}\r\n").into_bytes();
    req.resize(req.len() + size, b'x');
    req.extend_from_slice(b"\r\n");
    c.send_raw(&req);
    drop(req);
    assert_eq!(
        c.read().unwrap(),
        cinnabar_resp::Frame::Simple(b"OK".to_vec())
    );
    assert_eq!(
        c.cmd("STRLEN big"),
        cinnabar_resp::Frame::Integer(size as i64)
    );
    assert_eq!(
        c.cmd(&format!("GETRANGE big {} -1", size - 3)),
        cinnabar_resp::Frame::Bulk(b"xxx".to_vec())
    );
    // One byte over proto-max-bulk-len is refused.
    let mut c2 = Conn::connect(srv.port);
    c2.send_raw(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", size + 1).as_bytes());
    assert_eq!(
        c2.read().unwrap(),
        cinnabar_resp::Frame::Error(b"ERR Protocol error: invalid bulk length".to_vec())
    );
}

#[test]
fn query_buffer_limit_disconnects_only_that_client() {
    let srv = start_cinnabar(&["--client-query-buffer-limit", "1mb"]);
    let mut other = Conn::connect(srv.port);
    let mut c = Conn::connect(srv.port);
    // A 4 MB bulk announced and sent: the unprocessed buffer passes 1 MB and the client is
    // closed without a reply, as Redis does.
    let size = 4 * 1024 * 1024;
    c.send_raw(format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${size}\r\n").as_bytes());
    let chunk = vec![b'y'; 64 * 1024];
    for _ in 0..(size / chunk.len()) {
        if std::io::Write::write_all(&mut c.stream, &chunk).is_err() {
            break;
        }
    }
    assert!(
        c.read().is_none(),
        "client over the query buffer limit must be disconnected"
    );
    assert_eq!(
        other.cmd("PING"),
        cinnabar_resp::Frame::Simple(b"PONG".to_vec())
    );
}
