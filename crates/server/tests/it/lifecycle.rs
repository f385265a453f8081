//! Listeners and the server's life cycle: the Unix socket, CONFIG SET port / bind at run time,
//! signals and SHUTDOWN (7.0 rules: shutdown-on-sigterm / -sigint flags, a failed final save
//! aborting the shutdown, temp RDB files removed when a save is interrupted).
//!
//! Where the behaviour is observable from outside (replies, files, exit codes, log lines) the
//! same steps run against redis-server and the results are compared.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cinnabar_resp::Frame;

use super::harness::{free_port, show, start_cinnabar, start_redis, Conn, ServerProc};

/// A raw RESP connection over a Unix socket.
struct UConn {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl UConn {
    fn connect(path: &Path) -> UConn {
        let stream = UnixStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        UConn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends a command line and reads its reply (None: closed).
    fn cmd(&mut self, line: &str) -> Option<Frame> {
        let argv = cinnabar_resp::parse::split_args(line.as_bytes()).unwrap();
        let mut req = format!("*{}\r\n", argv.len()).into_bytes();
        for a in &argv {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        // A server that refused the client may have closed already: read what it sent.
        let _ = self.stream.write_all(&req);
        loop {
            if let Some((f, n)) = Frame::parse(&self.buf).unwrap() {
                self.buf.drain(..n);
                return Some(f);
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

fn text(f: Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Verbatim(b) | Frame::Simple(b) | Frame::Error(b) => {
            String::from_utf8_lossy(&b).into_owned()
        }
        other => panic!("expected a string reply, got {other:?}"),
    }
}

/// The `name=` field of a CLIENT LIST / CLIENT INFO line.
fn field(line: &str, name: &str) -> String {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Waits (bounded) for the server process to exit. Return value: its exit code.
fn wait_exit(srv: &mut ServerProc, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(st)) = srv.child.try_wait() {
            return st.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Splits a signal handler's line from a record glued to its end: Redis writes a handler's
/// message and its newline with two writes, so another process's line can land in between.
fn unglue(line: &str) -> Vec<&str> {
    let Some(start) = line.find(":signal-handler (") else {
        return vec![line];
    };
    let b = line.as_bytes();
    for i in start + 1..b.len() {
        let rest = &line[i..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let glued = digits > 0
            && !b[i - 1].is_ascii_digit()
            && (rest[digits..].starts_with(":M ") || rest[digits..].starts_with(":C "));
        if glued {
            return vec![&line[..i], &line[i..]];
        }
    }
    vec![line]
}

/// The server's log lines without their `pid:role date time level` prefix.
fn log_messages(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    // A glued handler line leaves its newline behind as an empty line: not a message.
    text.lines()
        .flat_map(unglue)
        .filter(|l| !l.is_empty())
        .map(|l| {
            // "pid:M 07 Dec 2026 23:10:54.277 # msg" or "pid:signal-handler (ts) msg".
            if let Some(rest) = l.split_once(":signal-handler (").map(|(_, r)| r) {
                return rest.split_once(") ").map_or("", |(_, m)| m).to_string();
            }
            l.splitn(7, ' ').nth(6).unwrap_or("").to_string()
        })
        .collect()
}

/// Waits (bounded) until the log has a line equal to `msg`.
fn wait_log(dir: &Path, msg: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if log_messages(dir).iter().any(|m| m == msg) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn signal(srv: &ServerProc, sig: i32) {
    // SAFETY: kill(2) on the PID of a server this test started.
    unsafe { libc::kill(srv.child.id() as libc::pid_t, sig) };
}

fn both(extra: &[&str]) -> [ServerProc; 2] {
    [start_cinnabar(extra), start_redis(extra)]
}

#[test]
fn unix_socket_serves_lists_and_is_removed() {
    for mut srv in both(&[
        "--unixsocket",
        "s.sock",
        "--unixsocketperm",
        "700",
        "--logfile",
        "log",
    ]) {
        let path: PathBuf = srv.dir.join("s.sock");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let mut u = UConn::connect(&path);
        assert_eq!(text(u.cmd("PING").unwrap()), "PONG");
        let info = text(u.cmd("CLIENT INFO").unwrap());
        assert_eq!(field(&info, "addr"), "s.sock:0", "{info}");
        assert_eq!(field(&info, "laddr"), "s.sock:0", "{info}");
        assert_eq!(field(&info, "flags"), "U", "{info}");
        let list = text(u.cmd("CLIENT LIST").unwrap());
        assert!(list.contains("addr=s.sock:0 laddr=s.sock:0"), "{list}");
        // maxclients counts Unix clients too.
        let mut t = Conn::connect(srv.port);
        assert_eq!(show(&t.cmd("CONFIG SET maxclients 2")), "+OK\\r\\n");
        let mut third = UConn::connect(&path);
        assert_eq!(
            third.cmd("PING").map(|f| show(&f)),
            Some("-ERR max number of clients reached\\r\\n".to_string())
        );
        assert_eq!(show(&t.cmd("CONFIG SET maxclients 10")), "+OK\\r\\n");
        assert!(u.cmd("SHUTDOWN NOSAVE").is_none());
        assert_eq!(wait_exit(&mut srv, Duration::from_secs(10)), Some(0));
        assert!(!path.exists(), "socket file left behind");
        let log = log_messages(&srv.dir);
        assert!(
            log.iter()
                .any(|m| m == "The server is now ready to accept connections at s.sock"),
            "{log:?}"
        );
        assert!(
            log.iter().any(|m| m == "Removing the unix socket file."),
            "{log:?}"
        );
    }
}

#[test]
fn port_zero_listens_only_on_the_unix_socket() {
    let srv = start_cinnabar(&["--unixsocket", "s.sock"]);
    let path = srv.dir.join("s.sock");
    let mut u = UConn::connect(&path);
    assert_eq!(show(&u.cmd("CONFIG SET port 0").unwrap()), "+OK\\r\\n");
    assert!(std::net::TcpStream::connect(("127.0.0.1", srv.port)).is_err());
    assert_eq!(text(u.cmd("PING").unwrap()), "PONG");
    let p = free_port();
    assert_eq!(
        show(&u.cmd(&format!("CONFIG SET port {p}")).unwrap()),
        "+OK\\r\\n"
    );
    let mut c = Conn::connect(p);
    assert_eq!(show(&c.cmd("PING")), "+PONG\\r\\n");
}

#[test]
fn config_set_port_rebinds_or_keeps_the_old_port() {
    for srv in both(&["--logfile", "log"]) {
        let old = srv.port;
        let mut c = Conn::connect(old);
        // A port someone else holds: Redis's error, and the old port still listens.
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy_port = busy.local_addr().unwrap().port();
        assert_eq!(
            show(&c.cmd(&format!("CONFIG SET port {busy_port}"))),
            "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\\r\\n"
        );
        assert_eq!(
            show(&c.cmd("CONFIG GET port")),
            format!(
                "*2\\r\\n$4\\r\\nport\\r\\n${}\\r\\n{old}\\r\\n",
                old.to_string().len()
            )
        );
        assert_eq!(show(&Conn::connect(old).cmd("PING")), "+PONG\\r\\n");
        let log = log_messages(&srv.dir);
        assert!(
            log.iter().any(|m| m
                == &format!("Warning: Could not create server TCP listening socket 127.0.0.1:{busy_port}: bind: Address already in use")),
            "{log:?}"
        );
        assert!(
            log.iter().any(|m| m
                == "Failed applying new configuration. Possibly related to new port setting. Restoring previous settings."),
            "{log:?}"
        );
        drop(busy);
        // A free port: the new one listens, the old one is closed, clients stay connected.
        let p2 = free_port();
        assert_eq!(show(&c.cmd(&format!("CONFIG SET port {p2}"))), "+OK\\r\\n");
        assert_eq!(show(&Conn::connect(p2).cmd("PING")), "+PONG\\r\\n");
        assert!(std::net::TcpStream::connect(("127.0.0.1", old)).is_err());
        assert_eq!(show(&c.cmd("PING")), "+PONG\\r\\n");
        // Setting the same value again changes nothing.
        assert_eq!(show(&c.cmd(&format!("CONFIG SET port {p2}"))), "+OK\\r\\n");
        assert_eq!(show(&Conn::connect(p2).cmd("PING")), "+PONG\\r\\n");
    }
}

#[test]
fn config_set_bind_rebinds_or_restores() {
    // 203.0.113.7 (TEST-NET-3) is not configured on any host: binding it fails, nothing is
    // ever bound outside loopback.
    for srv in both(&["--logfile", "log", "--unixsocket", "s.sock"]) {
        let port = srv.port;
        let mut c = Conn::connect(port);
        assert_eq!(
            show(&c.cmd("CONFIG SET bind 203.0.113.7")),
            "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\\r\\n"
        );
        assert_eq!(show(&Conn::connect(port).cmd("PING")), "+PONG\\r\\n");
        let log = log_messages(&srv.dir);
        let warn = format!("Warning: Could not create server TCP listening socket 203.0.113.7:{port}: bind: Cannot assign requested address");
        let i = log.iter().position(|m| *m == warn).expect("bind warning");
        assert_eq!(log[i + 1], "Failed to bind");
        assert_eq!(
            log[i + 2],
            "Failed applying new configuration. Possibly related to new bind setting. Restoring previous settings."
        );
        // An optional address that does not exist is skipped.
        assert_eq!(
            show(&c.cmd("CONFIG SET bind \"127.0.0.1 -203.0.113.7\"")),
            "+OK\\r\\n"
        );
        assert_eq!(show(&Conn::connect(port).cmd("PING")), "+PONG\\r\\n");
        // No address at all: only the Unix socket still serves, and brings TCP back.
        assert_eq!(show(&c.cmd("CONFIG SET bind \"\"")), "+OK\\r\\n");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        assert_eq!(show(&c.cmd("PING")), "+PONG\\r\\n");
        let mut u = UConn::connect(&srv.dir.join("s.sock"));
        assert_eq!(
            show(&u.cmd("CONFIG SET bind 127.0.0.1").unwrap()),
            "+OK\\r\\n"
        );
        assert_eq!(show(&Conn::connect(port).cmd("PING")), "+PONG\\r\\n");
        // bind-source-addr only names the source of outgoing connections.
        assert_eq!(
            show(&c.cmd("CONFIG SET bind-source-addr 1.2.3.4")),
            "+OK\\r\\n"
        );
    }
}

/// The log from the first "User requested shutdown..." on, with what legitimately differs
/// between the two servers made equal (pids, the server's name).
fn shutdown_log(srv: &ServerProc, log_dir: &Path) -> Vec<String> {
    let pid = srv.child.id().to_string();
    let msgs = log_messages(log_dir);
    let start = msgs
        .iter()
        .position(|m| m == "User requested shutdown...")
        .unwrap_or(msgs.len());
    msgs[start..]
        .iter()
        .map(|m| {
            m.replace(&pid, "PID")
                .replace("Cinnabar is now ready", "Redis is now ready")
        })
        .collect()
}

fn is_temp_rdb(name: &str) -> bool {
    name.starts_with("temp-") && name.ends_with(".rdb")
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_temp_rdb(n))
        .collect()
}

#[test]
fn failed_final_save_cancels_the_shutdown() {
    let mut logs = Vec::new();
    for redis in [false, true] {
        let base = super::harness::temp_dir("failsave");
        let gone = base.join("gone");
        std::fs::create_dir_all(&gone).unwrap();
        let log = base.join("log");
        let args = [
            "--dir",
            gone.to_str().unwrap(),
            "--save",
            "3600 1",
            "--logfile",
            log.to_str().unwrap(),
        ];
        let mut srv = if redis {
            start_redis(&args)
        } else {
            start_cinnabar(&args)
        };
        let mut c = Conn::connect(srv.port);
        assert_eq!(show(&c.cmd("SET a 1")), "+OK\\r\\n");
        std::fs::remove_dir_all(&gone).unwrap();
        assert_eq!(
            show(&c.cmd("SHUTDOWN")),
            "-ERR Errors trying to SHUTDOWN. Check logs.\\r\\n"
        );
        // Still serving, and a failed final save does not stop writes (no MISCONF).
        assert_eq!(show(&c.cmd("PING")), "+PONG\\r\\n");
        assert_eq!(show(&c.cmd("SET b 2")), "+OK\\r\\n");
        // A signal's shutdown is cancelled the same way.
        signal(&srv, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while log_messages(&base)
            .iter()
            .filter(|m| {
                *m == "Errors trying to shut down the server. Check the logs for more information."
            })
            .count()
            < 2
        {
            assert!(Instant::now() < deadline, "{:?}", log_messages(&base));
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(show(&c.cmd("PING")), "+PONG\\r\\n");
        // FORCE exits anyway.
        assert_eq!(
            show(&c.cmd("CONFIG SET shutdown-on-sigterm \"save force\"")),
            "+OK\\r\\n"
        );
        signal(&srv, libc::SIGTERM);
        assert_eq!(wait_exit(&mut srv, Duration::from_secs(10)), Some(0));
        logs.push(shutdown_log(&srv, &base));
        let _ = std::fs::remove_dir_all(&base);
    }
    assert_eq!(logs[0], logs[1]);
    assert!(
        logs[0].contains(&"Error trying to save the DB. Exit anyway.".to_string()),
        "{:?}",
        logs[0]
    );
}

#[test]
fn signal_flags_choose_the_final_save() {
    for mut srv in both(&["--logfile", "log"]) {
        // save on SIGTERM although no save point is configured.
        let mut c = Conn::connect(srv.port);
        c.cmd("SET k v");
        assert_eq!(
            show(&c.cmd("CONFIG SET shutdown-on-sigterm save")),
            "+OK\\r\\n"
        );
        signal(&srv, libc::SIGTERM);
        assert_eq!(wait_exit(&mut srv, Duration::from_secs(10)), Some(0));
        assert!(srv.dir.join("dump.rdb").exists());
        let log = log_messages(&srv.dir);
        assert!(log.contains(&"Received SIGTERM scheduling shutdown...".to_string()));
        assert!(log.contains(&"Saving the final RDB snapshot before exiting.".to_string()));
    }
    for mut srv in both(&["--logfile", "log", "--save", "3600 1"]) {
        // nosave on SIGINT although a save point is configured.
        let mut c = Conn::connect(srv.port);
        c.cmd("SET k v");
        assert_eq!(
            show(&c.cmd("CONFIG SET shutdown-on-sigint \"nosave now\"")),
            "+OK\\r\\n"
        );
        signal(&srv, libc::SIGINT);
        assert_eq!(wait_exit(&mut srv, Duration::from_secs(10)), Some(0));
        assert!(!srv.dir.join("dump.rdb").exists());
        let log = log_messages(&srv.dir);
        assert!(log.contains(&"Received SIGINT scheduling shutdown...".to_string()));
        assert!(!log.contains(&"Saving the final RDB snapshot before exiting.".to_string()));
    }
}

#[test]
fn shutdown_kills_a_bgsave_child_and_removes_its_temp_file() {
    let mut logs = Vec::new();
    for mut srv in both(&["--logfile", "log", "--enable-debug-command", "yes"]) {
        let mut c = Conn::connect(srv.port);
        assert_eq!(show(&c.cmd("DEBUG POPULATE 100")), "+OK\\r\\n");
        // 100 keys at 0.1 s each: the child is still writing when SHUTDOWN comes.
        c.cmd("CONFIG SET rdb-key-save-delay 100000");
        assert_eq!(show(&c.cmd("BGSAVE")), "+Background saving started\\r\\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        while temp_files(&srv.dir).is_empty() {
            assert!(Instant::now() < deadline, "no temp file");
            std::thread::sleep(Duration::from_millis(10));
        }
        c.send(&[b"SHUTDOWN".to_vec(), b"NOSAVE".to_vec()]);
        assert_eq!(wait_exit(&mut srv, Duration::from_secs(10)), Some(0));
        assert_eq!(temp_files(&srv.dir), Vec::<String>::new());
        assert!(!srv.dir.join("dump.rdb").exists());
        // The child's line and the parent's last ones race: compare them as sets.
        assert!(
            wait_log(&srv.dir, "Received SIGUSR1 in child, exiting now."),
            "{:?}",
            std::fs::read_to_string(srv.dir.join("log"))
        );
        let mut log = shutdown_log(&srv, &srv.dir);
        log.sort();
        logs.push(log);
    }
    assert_eq!(logs[0], logs[1]);
    assert!(logs[0].contains(&"There is a child saving an .rdb. Killing it!".to_string()));
    assert!(logs[0].contains(&"Received SIGUSR1 in child, exiting now.".to_string()));
}

#[test]
fn second_sigint_during_the_final_save_exits_at_once() {
    for mut srv in both(&[
        "--logfile",
        "log",
        "--enable-debug-command",
        "yes",
        "--save",
        "3600 1",
    ]) {
        let mut c = Conn::connect(srv.port);
        assert_eq!(show(&c.cmd("DEBUG POPULATE 100")), "+OK\\r\\n");
        c.cmd("CONFIG SET rdb-key-save-delay 100000");
        signal(&srv, libc::SIGTERM);
        assert!(wait_log(
            &srv.dir,
            "Saving the final RDB snapshot before exiting."
        ));
        let deadline = Instant::now() + Duration::from_secs(10);
        while temp_files(&srv.dir).is_empty() {
            assert!(Instant::now() < deadline, "no temp file");
            std::thread::sleep(Duration::from_millis(10));
        }
        signal(&srv, libc::SIGINT);
        assert_eq!(wait_exit(&mut srv, Duration::from_secs(10)), Some(1));
        assert_eq!(temp_files(&srv.dir), Vec::<String>::new());
        assert!(!srv.dir.join("dump.rdb").exists());
        assert!(log_messages(&srv.dir).contains(&"You insist... exiting now.".to_string()));
    }
}

#[test]
fn signal_during_the_load_shuts_down_after_it() {
    let mut logs = Vec::new();
    for redis in [false, true] {
        let base = super::harness::temp_dir("loadsig");
        let start = |args: &[&str]| {
            if redis {
                start_redis(args)
            } else {
                start_cinnabar(args)
            }
        };
        let dir = base.to_str().unwrap().to_string();
        {
            let mut srv = start(&["--dir", &dir, "--enable-debug-command", "yes"]);
            let mut c = Conn::connect(srv.port);
            assert_eq!(show(&c.cmd("DEBUG POPULATE 2000")), "+OK\\r\\n");
            assert_eq!(show(&c.cmd("SAVE")), "+OK\\r\\n");
            c.send(&[b"SHUTDOWN".to_vec(), b"NOSAVE".to_vec()]);
            assert_eq!(wait_exit(&mut srv, Duration::from_secs(10)), Some(0));
        }
        let log = base.join("log");
        // 2000 keys at 0.5 ms each: the load takes about a second.
        let mut srv = start(&[
            "--dir",
            &dir,
            "--save",
            "3600 1",
            "--key-load-delay",
            "500",
            "--logfile",
            log.to_str().unwrap(),
        ]);
        signal(&srv, libc::SIGTERM);
        assert!(wait_log(
            &base,
            "Received shutdown signal during loading, scheduling shutdown."
        ));
        // Redis 7.0.15 finishes the load, then shuts down with the usual rules (a save here).
        assert_eq!(wait_exit(&mut srv, Duration::from_secs(20)), Some(0));
        logs.push(shutdown_log(&srv, &base));
        let _ = std::fs::remove_dir_all(&base);
    }
    assert_eq!(logs[0], logs[1]);
    assert!(logs[0].contains(&"Saving the final RDB snapshot before exiting.".to_string()));
}
