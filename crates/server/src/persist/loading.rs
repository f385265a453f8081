//! Serving clients while the dataset loads at start-up (`-LOADING`).
//!
//! Redis binds its listeners before loading and, every couple of milliseconds of loading,
//! runs its event loop for a moment (processEventsWhileBlocked): clients connect, and every
//! command without the `loading` flag gets `-LOADING Redis is loading the dataset in memory`,
//! while INFO (loading:1, loading_* progress), PING-like housekeeping commands, CONFIG, etc.
//! work. We do the same, synchronously, on the data thread:
//!
//! - `runtime` binds the listeners first, then calls [`begin`] with clones of them;
//! - the loaders (`rdb_load::load_dataset_with` every [`keys_per_tick`] keys, the AOF replay
//!   per command) call [`tick`]; every 64 keys it looks at the clock, and after 2 ms it
//!   [`pump`]s: accepts
//!   pending connections (non-blocking std sockets), reads what they sent, runs each whole
//!   request through `cmd::call` (which refuses commands without the `loading` flag while
//!   [`refuse_now`] is set) and writes the replies;
//! - [`end`] hands the connections (socket, registered `Client`, unparsed input) to the
//!   runtime, which continues them as ordinary connection tasks (`net::conn::serve_admitted`).
//!
//! Why not load on another thread and keep the event loop running: the AOF part of a load runs
//! commands through `cmd::call`, which needs the `Server`, and the server is single-threaded
//! (`Rc<RefCell<Server>>`, not `Send`). Pumping from inside the load keeps one thread, one
//! owner of the data, no locks, and works the same for RDB files and AOF replays. The loaders
//! build the new dataset in their own `Db`s (RDB) or replay into the server (AOF); either way
//! nothing served during the load can see a half-built keyspace, because every data command
//! is refused until [`end`].

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cinnabar_resp::parse::Parser;

use crate::client::Client;
use crate::server::Server;

/// A start-up load is running (INFO loading:1).
static LOADING: AtomicBool = AtomicBool::new(false);
/// Commands now come from clients served during the load (not from the AOF being replayed).
static SERVING: AtomicBool = AtomicBool::new(false);
/// [`SERVING`] from inside a busy script being replayed ([`serve_from_script`]).
static SCRIPT_BUSY: AtomicBool = AtomicBool::new(false);
static START_UNIX: AtomicI64 = AtomicI64::new(0);
static TOTAL_BYTES: AtomicU64 = AtomicU64::new(0);
static LOADED_BASE: AtomicU64 = AtomicU64::new(0);
static LOADED_BYTES: AtomicU64 = AtomicU64::new(0);

/// The `-LOADING` error text.
pub const LOADING_ERR: &str = "LOADING Redis is loading the dataset in memory";

/// How often the load stops to serve clients.
const PUMP_EVERY: Duration = Duration::from_millis(2);

/// True while a start-up load runs.
pub fn is_loading() -> bool {
    LOADING.load(Ordering::Relaxed)
}

/// True while running requests of clients served during the load: `cmd::call` then refuses
/// every command without the `loading` flag with [`LOADING_ERR`].
pub fn refuse_now() -> bool {
    SERVING.load(Ordering::Relaxed)
}

/// One connection accepted during the load.
struct LoadConn {
    stream: std::net::TcpStream,
    client: Rc<RefCell<Client>>,
    inbuf: Vec<u8>,
    parser: Parser,
    argv: Vec<Vec<u8>>,
    out: Vec<u8>,
    closed: bool,
}

struct Service {
    listeners: Vec<std::net::TcpListener>,
    conns: Vec<LoadConn>,
    last: Instant,
    calls: u32,
    /// `key-load-delay`: microseconds to sleep per key (a testing aid, as in Redis).
    delay_us: u64,
}

thread_local! {
    static SERVICE: RefCell<Option<Service>> = const { RefCell::new(None) };
}

/// A connection to continue on the event loop after the load.
pub struct Handoff {
    pub stream: std::net::TcpStream,
    pub client: Rc<RefCell<Client>>,
    /// Input read but not yet parsed (an unfinished request).
    pub inbuf: Vec<u8>,
}

/// Marks the start of a start-up load and serves `listeners` while it runs.
pub fn begin(srv: &Server, listeners: &[std::net::TcpListener]) {
    LOADING.store(true, Ordering::Relaxed);
    START_UNIX.store(crate::server::unix_ms() / 1000, Ordering::Relaxed);
    TOTAL_BYTES.store(0, Ordering::Relaxed);
    LOADED_BASE.store(0, Ordering::Relaxed);
    LOADED_BYTES.store(0, Ordering::Relaxed);
    let delay_us = srv
        .config
        .get("key-load-delay")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0) as u64;
    let listeners = listeners
        .iter()
        .filter_map(|l| l.try_clone().ok())
        .collect();
    SERVICE.with(|s| {
        *s.borrow_mut() = Some(Service {
            listeners,
            conns: Vec::new(),
            last: Instant::now(),
            calls: 0,
            delay_us,
        })
    });
}

/// The size of everything the load will read (INFO loading_total_bytes).
pub fn set_total(bytes: u64) {
    TOTAL_BYTES.store(bytes, Ordering::Relaxed);
}

/// One file of the load is done (`bytes` long): later offsets count after it.
pub fn file_done(bytes: u64) {
    let base = LOADED_BASE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    LOADED_BYTES.store(base, Ordering::Relaxed);
}

/// Called by the loaders after each key or command, `offset` bytes into the current file.
/// Cheap when no start-up load runs (DEBUG RELOAD, tests).
pub fn tick(srv: &mut Server, offset: u64) {
    tick_n(srv, offset, 1);
}

/// How many keys the RDB loader reads between two calls to [`tick_n`]: one with
/// `key-load-delay` (it sleeps per key), otherwise a batch, so the per-key cost of serving
/// clients is a counter increment (the clock is still read about every 64 keys).
pub fn keys_per_tick() -> u32 {
    SERVICE.with(|s| match s.try_borrow() {
        Ok(g) if g.as_ref().is_some_and(|svc| svc.delay_us > 0) => 1,
        _ => 16,
    })
}

/// [`tick`] after `n` keys or commands.
pub fn tick_n(srv: &mut Server, offset: u64, n: u32) {
    if !LOADING.load(Ordering::Relaxed) {
        return;
    }
    LOADED_BYTES.store(
        LOADED_BASE.load(Ordering::Relaxed) + offset,
        Ordering::Relaxed,
    );
    SERVICE.with(|s| {
        // A command served during the load that loads again (DEBUG RELOAD) finds it borrowed.
        let Ok(mut guard) = s.try_borrow_mut() else {
            return;
        };
        let Some(svc) = guard.as_mut() else {
            return;
        };
        if svc.delay_us > 0 {
            std::thread::sleep(Duration::from_micros(svc.delay_us * n as u64));
        }
        svc.calls += n;
        if svc.calls >= 64 {
            svc.calls = 0;
            if svc.last.elapsed() >= PUMP_EVERY {
                svc.pump(srv);
                svc.last = Instant::now();
            }
        }
    });
}

/// Called from the hook of a script the AOF replay runs, once it is past busy-reply-threshold
/// (Redis's script hook runs its event loop then): clients are served as between commands,
/// so they get -LOADING and INFO shows `loading:1` while the script runs.
pub fn serve_from_script(srv: &mut Server) {
    if !LOADING.load(Ordering::Relaxed) {
        return;
    }
    SERVICE.with(|s| {
        let Ok(mut guard) = s.try_borrow_mut() else {
            return;
        };
        let Some(svc) = guard.as_mut() else {
            return;
        };
        if svc.last.elapsed() >= PUMP_EVERY {
            SCRIPT_BUSY.store(true, Ordering::Relaxed);
            svc.pump(srv);
            SCRIPT_BUSY.store(false, Ordering::Relaxed);
            svc.last = Instant::now();
        }
    });
}

/// Clients are served from inside a busy script of the load: as in Redis, a command allowed
/// while loading but not while busy (INFO, CONFIG, ...) gets -BUSY.
pub fn script_busy() -> bool {
    SCRIPT_BUSY.load(Ordering::Relaxed)
}

/// Ends the load. Return value: the connections to continue on the event loop.
pub fn end() -> Vec<Handoff> {
    let svc = SERVICE.with(|s| s.borrow_mut().take());
    LOADING.store(false, Ordering::Relaxed);
    let Some(svc) = svc else {
        return Vec::new();
    };
    // No last pump: what arrived since the last one (requests, pending connections) is left
    // in the kernel for the event loop, which serves it normally.
    let mut out = Vec::new();
    for mut c in svc.conns {
        if c.closed {
            continue;
        }
        if !c.out.is_empty() {
            let _ = c.stream.set_nonblocking(false);
            let _ = c.stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = c.stream.write_all(&c.out);
            let _ = c.stream.set_nonblocking(true);
        }
        out.push(Handoff {
            stream: c.stream,
            client: c.client,
            inbuf: c.inbuf,
        });
    }
    out
}

impl Service {
    fn pump(&mut self, srv: &mut Server) {
        SERVING.store(true, Ordering::Relaxed);
        for l in &self.listeners {
            while let Ok((stream, peer)) = l.accept() {
                let _ = stream.set_nonblocking(true);
                let _ = stream.set_nodelay(true);
                let laddr = stream
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                match crate::net::conn::admit(
                    srv,
                    peer.to_string(),
                    laddr,
                    stream.as_raw_fd(),
                    peer.ip().is_loopback(),
                    None,
                ) {
                    Ok(client) => self.conns.push(LoadConn {
                        stream,
                        client,
                        inbuf: Vec::new(),
                        parser: Parser::default(),
                        argv: Vec::new(),
                        out: Vec::new(),
                        closed: false,
                    }),
                    Err(msg) => {
                        let _ = (&stream).write(msg);
                    }
                }
            }
        }
        for c in &mut self.conns {
            if !c.closed {
                c.serve(srv);
            }
        }
        SERVING.store(false, Ordering::Relaxed);
        for c in self.conns.iter().filter(|c| c.closed) {
            let mut cl = c.client.borrow_mut();
            crate::cmd::multi::reset_client(srv, &mut cl);
            crate::cmd::pubsub::forget_client(srv, &mut cl);
            srv.clients.remove(&cl.id);
        }
        self.conns.retain(|c| !c.closed);
    }
}

impl LoadConn {
    /// Reads what arrived, runs every whole request, writes the replies (never blocks).
    fn serve(&mut self, srv: &mut Server) {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.closed = true;
                    return;
                }
                Ok(n) => {
                    self.inbuf.extend_from_slice(&buf[..n]);
                    srv.stats.net_input_bytes += n as u64;
                    if self.inbuf.len() > srv.config.query_buffer_limit {
                        self.closed = true;
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.closed = true;
                    return;
                }
            }
        }
        let mut cl = self.client.borrow_mut();
        self.parser.max_bulk_len = srv.config.proto_max_bulk_len;
        while !cl.close_after_reply && !cl.killed {
            self.parser.unauthenticated = srv.auth_required() && !cl.authenticated;
            match self.parser.next_into(&self.inbuf, &mut self.argv) {
                Ok(true) => crate::cmd::call(srv, &mut cl, &self.argv),
                Ok(false) => break,
                Err(e) => {
                    cl.reply.error(&format!("ERR {e}"));
                    cl.close_after_reply = true;
                }
            }
        }
        self.inbuf.drain(..self.parser.pos);
        self.parser.pos = 0;
        self.out.append(&mut cl.reply.buf);
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => {
                    self.closed = true;
                    break;
                }
                Ok(n) => {
                    srv.stats.net_output_bytes += n as u64;
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    self.closed = true;
                    break;
                }
            }
        }
        if cl.killed || (cl.close_after_reply && self.out.is_empty()) {
            self.closed = true;
        }
    }
}

/// The loading_* lines of INFO persistence (present only while loading, as in Redis).
pub fn info_fields() -> Vec<(&'static str, String)> {
    if !is_loading() {
        return Vec::new();
    }
    let start = START_UNIX.load(Ordering::Relaxed);
    let total = TOTAL_BYTES.load(Ordering::Relaxed);
    let loaded = LOADED_BYTES.load(Ordering::Relaxed).min(total);
    let perc = if total == 0 {
        0.0
    } else {
        loaded as f64 * 100.0 / total as f64
    };
    let elapsed = (crate::server::unix_ms() / 1000 - start).max(0) as u64;
    let eta = if loaded == 0 {
        1
    } else {
        (total.saturating_sub(loaded) as f64 / (loaded as f64 / elapsed.max(1) as f64)) as u64
    };
    vec![
        ("loading_start_time", start.to_string()),
        ("loading_total_bytes", total.to_string()),
        ("loading_rdb_used_mem", "0".to_string()),
        ("loading_loaded_bytes", loaded.to_string()),
        ("loading_loaded_perc", format!("{perc:.2}")),
        ("loading_eta_seconds", eta.to_string()),
    ]
}
