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
