//! Pub/Sub over real connections: delivery order, patterns, and the output buffer limit that
//! disconnects a subscriber which stops reading.

use std::time::{Duration, Instant};

use cinnabar_resp::Frame;

use super::harness::{start_cinnabar, Conn};

fn bulk(s: &str) -> Frame {
    Frame::Bulk(s.as_bytes().to_vec())
}

fn info_field(c: &mut Conn, section: &str, name: &str) -> String {
    let (Frame::Bulk(b) | Frame::Verbatim(b)) = c.cmd(&format!("INFO {section}")) else {
        panic!("INFO is a string");
    };
    let text = String::from_utf8_lossy(&b).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .to_string()
}

#[test]
fn order_per_publisher_with_channel_and_pattern() {
    let srv = start_cinnabar(&[]);
    let mut sub = Conn::connect(srv.port);
    let mut publ = Conn::connect(srv.port);
    assert_eq!(
        sub.cmd("SUBSCRIBE news"),
        Frame::Array(vec![bulk("subscribe"), bulk("news"), Frame::Integer(1)])
    );
    assert_eq!(
        sub.cmd("PSUBSCRIBE n*"),
        Frame::Array(vec![bulk("psubscribe"), bulk("n*"), Frame::Integer(2)])
    );
    // Pipeline 1,000 publishes, then read the replies.
    let mut req = Vec::new();
    for i in 0..1000 {
        let m = format!("m{i}");
        req.extend_from_slice(
            format!(
                "*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n${}\r\n{m}\r\n",
                m.len()
            )
            .as_bytes(),
        );
    }
    publ.send_raw(&req);
    for _ in 0..1000 {
        assert_eq!(publ.read(), Some(Frame::Integer(2)));
    }
    for i in 0..1000 {
        let m = format!("m{i}");
        assert_eq!(
            sub.read(),
            Some(Frame::Array(vec![bulk("message"), bulk("news"), bulk(&m)]))
        );
        assert_eq!(
            sub.read(),
            Some(Frame::Array(vec![
                bulk("pmessage"),
                bulk("n*"),
                bulk("news"),
                bulk(&m)
            ]))
        );
    }
    // A channel the pattern does not match reaches nobody.
    assert_eq!(publ.cmd("PUBLISH other x"), Frame::Integer(0));
    assert_eq!(
        publ.cmd("PUBSUB NUMSUB news"),
        Frame::Array(vec![bulk("news"), Frame::Integer(1)])
    );
    // Disconnecting drops the subscriptions.
    drop(sub);
    let deadline = Instant::now() + Duration::from_secs(5);
    while publ.cmd("PUBSUB NUMPAT") != Frame::Integer(0) {
        assert!(
            Instant::now() < deadline,
            "subscriptions outlived the connection"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(publ.cmd("PUBLISH news x"), Frame::Integer(0));
}

#[test]
fn resp3_subscriber_gets_pushes_and_runs_commands() {
    let srv = start_cinnabar(&[]);
    let mut sub = Conn::connect(srv.port);
    let mut publ = Conn::connect(srv.port);
    sub.cmd("HELLO 3");
    assert_eq!(
        sub.cmd("SSUBSCRIBE sh"),
        Frame::Push(vec![bulk("ssubscribe"), bulk("sh"), Frame::Integer(1)])
    );
    assert_eq!(publ.cmd("SPUBLISH sh hi"), Frame::Integer(1));
    assert_eq!(publ.cmd("PUBLISH sh not-shard"), Frame::Integer(0));
    assert_eq!(
        sub.read(),
        Some(Frame::Push(vec![bulk("smessage"), bulk("sh"), bulk("hi")]))
    );
    assert_eq!(sub.cmd("SET k v"), Frame::Simple(b"OK".to_vec()));
}

#[test]
fn slow_subscriber_is_disconnected_and_memory_stays_bounded() {
    let srv = start_cinnabar(&[]);
    let mut publ = Conn::connect(srv.port);
    publ.cmd("CONFIG SET client-output-buffer-limit \"pubsub 1mb 512kb 60\"");
    let mut slow = Conn::connect(srv.port);
    slow.cmd("SUBSCRIBE flood");
    let mut fast = Conn::connect(srv.port);
    fast.cmd("SUBSCRIBE flood");

    const MSG: usize = 64 * 1024;
    const MAX_MSGS: usize = 4000;
    let reader = std::thread::spawn(move || {
        let mut got = 0usize;
        while let Some(f) = fast.read() {
            match f {
                Frame::Array(v) if v.len() == 3 && v[2] == Frame::Bulk(b"stop".to_vec()) => break,
                Frame::Array(v) if v.len() == 3 => got += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        got
    });
    let payload = "x".repeat(MSG);
    let start = Instant::now();
    let mut sent = 0;
    let mut killed = false;
    while sent < MAX_MSGS && start.elapsed() < Duration::from_secs(60) {
        publ.cmd(&format!("PUBLISH flood {payload}"));
        sent += 1;
        if sent % 20 == 0
            && publ.cmd("PUBSUB NUMSUB flood")
                == Frame::Array(vec![bulk("flood"), Frame::Integer(1)])
        {
            killed = true;
            break;
        }
    }
    assert!(
        killed,
        "slow subscriber still connected after {sent} messages"
    );
    let used: u64 = info_field(&mut publ, "memory", "used_memory")
        .parse()
        .unwrap();
    assert!(
        used < 64 * 1024 * 1024,
        "used_memory {used} after the flood"
    );
    assert_eq!(publ.cmd("PUBLISH flood stop"), Frame::Integer(1));
    assert_eq!(
        reader.join().unwrap(),
        sent,
        "the fast subscriber lost messages"
    );
    // The slow one sees its buffered data, then the end of the connection.
    let deadline = Instant::now() + Duration::from_secs(20);
    while slow.read().is_some() {
        assert!(
            Instant::now() < deadline,
            "slow subscriber never disconnected"
        );
    }
}
