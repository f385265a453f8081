//! Starting servers on free loopback ports, and a minimal raw RESP connection.
//!
//! Every process started here is killed when its guard drops; every wait is bounded. A
//! watchdog ([`watchdog`]) ends the whole test binary, and every server it started, if the run
//! passes its deadline, so a server that stops answering fails CI instead of hanging it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cinnabar_resp::Frame;

/// A server process that is killed on drop.
pub struct ServerProc {
    pub child: Child,
    pub port: u16,
    pub dir: std::path::PathBuf,
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let pid = self.child.id();
        LIVE_PIDS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|&p| p != pid);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port that was free a moment ago (bind to :0, read, release), and that this test process
/// has never handed out before. Tests run in parallel threads and some restart a server on the
/// same port (kill -9 tests); without the registry, another test could be given that port in
/// the gap and talk to the wrong server.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    for _ in 0..1000 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut used = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if !used.contains(&port) {
            used.push(port);
            return port;
        }
    }
    panic!("no unused loopback port found");
}

/// A new empty directory for one test's files, unique within this process (pid + counter).
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("cinnabar-it-{}-{tag}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Waits up to `within` for `child` to exit; kills it (and returns None) when it does not.
/// Return value: its exit code (None also when a signal ended it).
pub fn exit_code_within(child: &mut Child, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return st.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_ready(port: u16, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited during start-up: {status}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Something answers; make sure it is our child (a server that failed to bind would
            // exit, and the answer came from someone else's server).
            std::thread::sleep(Duration::from_millis(30));
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{what} exited during start-up (port {port} taken?): {status}");
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not start listening on port {port} within 20 s");
}

/// PIDs of the servers this test process started and has not yet stopped.
static LIVE_PIDS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// How long the whole integration binary may run (`IT_DEADLINE_SECS`, default 20 minutes).
fn run_deadline() -> Duration {
    let secs = std::env::var("IT_DEADLINE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20 * 60);
    Duration::from_secs(secs)
}

/// Starts (once) a thread that, when the run passes its deadline, kills every server still
/// running (by PID) and exits with a failure: a hung server or a lost wake-up can't hang CI.
pub fn watchdog() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let deadline = run_deadline();
        std::thread::spawn(move || {
            std::thread::sleep(deadline);
            eprintln!("integration tests passed their deadline of {deadline:?}: killing servers");
            for pid in LIVE_PIDS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                // SAFETY: kill(2) on a PID this process started; no memory is involved.
                unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
            }
            std::process::exit(101);
        });
    });
}

fn spawn(program: &str, args: &[String], tag: &str, port: u16) -> ServerProc {
    watchdog();
    let dir = temp_dir(tag);
    let mut child = Command::new(program)
        .args(args)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {program}: {e} (install redis-server: apt-get install -y redis-server redis-tools)")
        });
    LIVE_PIDS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(child.id());
    wait_ready(port, &mut child, program);
    ServerProc { child, port, dir }
}

fn base_args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Starts Cinnabar with `--port P --bind 127.0.0.1 --save '' --appendonly no` plus `extra`.
pub fn start_cinnabar(extra: &[&str]) -> ServerProc {
    let port = free_port();
    spawn(
        env!("CARGO_BIN_EXE_cinnabar-server"),
        &base_args(port, extra),
        "cinnabar",
        port,
    )
}

/// Starts the oracle, Debian's redis-server, with the same arguments.
/// Starts a server (`start_cinnabar` or `start_redis`) with `args` and `--dir` set to a fresh
/// temporary directory named after `tag`. Return value: the server and its directory.
pub fn start_in_dir(
    start: fn(&[&str]) -> ServerProc,
    tag: &str,
    args: &[&str],
) -> (ServerProc, std::path::PathBuf) {
    let d = temp_dir(tag);
    let ds = d.to_str().unwrap().to_string();
    let mut all = args.to_vec();
    all.extend(["--dir", &ds]);
    (start(&all), d)
}

pub fn start_redis(extra: &[&str]) -> ServerProc {
    let port = free_port();
    spawn("redis-server", &base_args(port, extra), "redis", port)
}

/// What one timed read saw (multi-connection differential cases compare it).
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    Frame(Frame),
    /// Nothing arrived within the wait.
    Nothing,
    /// The server closed the connection.
    Closed,
}

/// A raw RESP connection for tests.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends one command as a multibulk request.
    pub fn send(&mut self, argv: &[Vec<u8>]) {
        let mut req = format!("*{}\r\n", argv.len()).into_bytes();
        for a in argv {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.send_raw(&req);
    }

    /// Reads one reply (None if the server closed the connection or timed out).
    pub fn read(&mut self) -> Option<Frame> {
        loop {
            if let Some((f, n)) = Frame::parse(&self.buf).expect("valid RESP from server") {
                self.buf.drain(..n);
                return Some(f);
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads one reply, waiting at most `wait`: a frame, nothing yet, or a closed connection.
    /// A frame that starts arriving within the wait is read to its end (within 10 s).
    pub fn read_within(&mut self, wait: Duration) -> Got {
        let deadline = Instant::now() + wait;
        loop {
            if let Some((f, n)) = Frame::parse(&self.buf).expect("valid RESP from server") {
                self.buf.drain(..n);
                return Got::Frame(f);
            }
            let left = if self.buf.is_empty() {
                deadline.saturating_duration_since(Instant::now())
            } else {
                Duration::from_secs(10)
            };
            if left.is_zero() {
                return Got::Nothing;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut chunk = [0u8; 64 * 1024];
            let r = self.stream.read(&mut chunk);
            self.stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            match r {
                Ok(0) => return Got::Closed,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if self.buf.is_empty() {
                        return Got::Nothing;
                    }
                    panic!("a partial reply stalled for 10 s");
                }
                Err(_) => return Got::Closed,
            }
        }
    }

    /// Sends a command line (inline quoting rules) and reads its reply.
    pub fn cmd(&mut self, line: &str) -> Frame {
        let argv = cinnabar_resp::parse::split_args(line.as_bytes()).expect("balanced quotes");
        self.send(&argv);
        self.read()
            .unwrap_or_else(|| panic!("no reply to {line:?}"))
    }

    /// True if the server closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0))
    }
}

/// Renders a frame in wire form for readable diffs.
pub fn show(f: &Frame) -> String {
    let mut out = Vec::new();
    f.encode(&mut out);
    String::from_utf8_lossy(&out).replace("\r\n", "\\r\\n")
}
