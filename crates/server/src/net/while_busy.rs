//! Serving other clients while a script runs past busy-reply-threshold.
//!
//! Everything runs on one thread, so while a script runs no connection task can. Redis keeps
//! its event loop turning from the script's hook instead; so do we: the Lua hook
//! (scripting/mod.rs) calls [`serve`], which, for every other client whose task is idle in
//! its read wait with nothing unprocessed (`Client::idle_read`), reads the socket itself
//! (non-blocking `recv`), parses whole requests, and answers them with a direct non-blocking
//! `send`: `-BUSY ...` for most commands; SCRIPT KILL / FUNCTION KILL stop the script (or
//! reply `-UNKILLABLE` once it wrote); SHUTDOWN NOSAVE stops the script and the server;
//! commands Redis allows while busy (`allow_busy`: AUTH, HELLO, MULTI, FUNCTION STATS, ...)
//! run normally. A partial request stays in `Client::pending_input`, which the task
//! processes first when it wakes. tokio tolerates reads it did not make: it sees WouldBlock
//! and re-arms.
//!
//! New connections are accepted from the listening sockets too (so `redis-cli script kill`
//! works), served the same way without a `Client`, and handed to normal connection tasks,
//! with their unprocessed bytes, once the script is over ([`after_script`]).

use std::cell::RefCell;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};

use cinnabar_resp::parse::Parser;

use crate::client::Client;
use crate::cmd::error::CmdError;
use crate::scripting;
use crate::server::Server;

/// Most bytes read from one client per hook call.
const READ_LIMIT: usize = 64 * 1024;
/// Most connections accepted per hook call and listener.
const ACCEPT_LIMIT: usize = 16;
/// Most connections waiting for the script to end.
const MAX_NEW: usize = 1024;

struct NewConn {
    /// Stand-in client for the commands allowed while busy (FUNCTION STATS, HELLO, ...).
    client: Box<Client>,
    stream: TcpStream,
    peer: SocketAddr,
    buf: Vec<u8>,
    closed: bool,
}

/// Least time between two passes over the clients (each pass is a `recv` per idle client).
const PASS_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);

thread_local! {
    static LAST_PASS: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
    static NEW_CONNS: RefCell<Vec<NewConn>> = const { RefCell::new(Vec::new()) };
    /// Clients served during the current busy period (to wake afterwards).
    static TOUCHED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

const UNKILLABLE: &[u8] = b"-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n";

fn busy_error(is_fn: bool) -> CmdError {
    let which = if is_fn { "FUNCTION" } else { "SCRIPT" };
    CmdError::Raw(format!(
        "BUSY Redis is busy running a script. You can only call {which} KILL or SHUTDOWN NOSAVE."
    ))
}

/// Reads what is available on `fd` into `buf` (bounded). Return value: false on EOF/error.
fn read_some(fd: i32, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    let mut total = 0;
    while total < READ_LIMIT {
        // SAFETY: recv into a live stack buffer of the given length.
        let n = unsafe {
            libc::recv(
                fd,
                chunk.as_mut_ptr() as *mut libc::c_void,
                chunk.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n == 0 {
            return false;
        }
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
            );
        }
        buf.extend_from_slice(&chunk[..n as usize]);
        total += n as usize;
    }
    true
}

/// Sends as much of `data` as the socket takes now. Return value: bytes sent.
fn send_some(fd: i32, data: &[u8]) -> usize {
    let mut sent = 0;
    while sent < data.len() {
        // SAFETY: send from a live slice.
        let n = unsafe {
            libc::send(
                fd,
                data[sent..].as_ptr() as *const libc::c_void,
                data.len() - sent,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n <= 0 {
            break;
        }
        sent += n as usize;
    }
    sent
}

/// Answers one request during the busy period. `client` is None for connections accepted
/// during it.
fn answer(srv: &mut Server, mut client: Option<&mut Client>, argv: &[Vec<u8>]) -> Vec<u8> {
    let is_fn = scripting::with_run(|r| r.is_some_and(|r| r.is_function));
    let entry = crate::cmd::table().resolve(argv);
    // Authentication comes first, as in Redis's command processing.
    let authed = client.as_ref().is_none_or(|c| c.authenticated) || !srv.auth_required();
    if !authed && !entry.is_some_and(|e| e.has_flag("no_auth")) {
        return b"-NOAUTH Authentication required.\r\n".to_vec();
    }
    let name = crate::util::lower(&argv[0]);
    let sub = argv
        .get(1)
        .map(|a| crate::util::lower(a))
        .unwrap_or_default();
    let kill = |srv: &mut Server| -> Vec<u8> {
        let _ = srv;
        scripting::with_run(|r| match r {
            Some(r) if r.writes > 0 => UNKILLABLE.to_vec(),
            Some(r) => {
                r.killed = true;
                b"+OK\r\n".to_vec()
            }
            None => b"-NOTBUSY No scripts in execution right now.\r\n".to_vec(),
        })
    };
    match (name.as_str(), sub.as_str(), argv.len()) {
        ("script", "kill", 2) if !is_fn => return kill(srv),
        ("function", "kill", 2) if is_fn => return kill(srv),
        ("shutdown", s, 2) if s.starts_with('n') => {
            let nosave = crate::shutdown::Flags {
                nosave: true,
                ..Default::default()
            };
            let _ = crate::shutdown::prepare(srv, nosave);
            srv.shutdown = Some(crate::server::Shutdown::Requested);
            scripting::with_run(|r| {
                if let Some(r) = r {
                    r.killed = true;
                }
            });
            return Vec::new();
        }
        _ => {}
    }
    let allowed = entry.is_some_and(|e| {
        e.has_flag("allow_busy")
            && !matches!(
                e.full_name.as_str(),
                "script|kill" | "function|kill" | "shutdown"
            )
    });
    if let (Some(c), true) = (client.as_deref_mut(), allowed) {
        let start = c.reply.buf.len();
        crate::cmd::call(srv, c, argv);
        return c.reply.buf.split_off(start);
    }
    // Rejected like any refused command: counted, the transaction flagged, and an EXEC
    // (even without MULTI) answered -EXECABORT with the transaction discarded.
    if let Some(e) = entry {
        srv.stats.command(e.id).rejected_calls += 1;
    }
    let err = match client {
        Some(c) => crate::cmd::multi::on_reject(srv, c, entry, busy_error(is_fn)),
        None if entry.is_some_and(|e| e.full_name == "exec") => CmdError::Raw(format!(
            "EXECABORT Transaction discarded because of: {}",
            busy_error(is_fn)
        )),
        None => busy_error(is_fn),
    };
    let text = err.to_string();
    crate::cmd::count_error(srv, &text);
    format!("-{text}\r\n").into_bytes()
}

/// Parses and answers every whole request at the start of `buf`; drops what was answered.
fn answer_all(srv: &mut Server, mut client: Option<&mut Client>, buf: &mut Vec<u8>) -> Vec<u8> {
    let mut parser = Parser::default();
    let mut argv = Vec::new();
    let mut out = Vec::new();
    let mut consumed = 0;
    loop {
        match parser.next_into(buf, &mut argv) {
            Ok(true) => {
                consumed = parser.pos;
                if argv.is_empty() {
                    continue;
                }
                let r = answer(srv, client.as_deref_mut(), &argv);
                out.extend_from_slice(&r);
            }
            Ok(false) => break,
            Err(e) => {
                out.extend_from_slice(format!("-ERR {e}\r\n").as_bytes());
                consumed = buf.len();
                break;
            }
        }
    }
    buf.drain(..consumed);
    out
}

fn accept_new(srv: &mut Server) {
    for &lfd in &srv.listener_fds {
        for _ in 0..ACCEPT_LIMIT {
            if NEW_CONNS.with(|n| n.borrow().len()) >= MAX_NEW {
                return;
            }
            // SAFETY: accept4 on our listening socket; null address pointers are allowed.
            let fd = unsafe {
                libc::accept4(
                    lfd,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                )
            };
            if fd < 0 {
                break;
            }
            // SAFETY: `fd` is a freshly accepted socket we own.
            let stream = unsafe { TcpStream::from_raw_fd(fd) };
            let _ = stream.set_nodelay(true);
            let Ok(peer) = stream.peer_addr() else {
                continue;
            };
            // The id is the connection's from now on (HELLO shows it; the task keeps it).
            let mut client = Client::detached(srv.next_client_id);
            srv.next_client_id += 1;
            client.authenticated = !srv.auth_required();
            NEW_CONNS.with(|n| {
                n.borrow_mut().push(NewConn {
                    client: Box::new(client),
                    stream,
                    peer,
                    buf: Vec::new(),
                    closed: false,
                })
            });
        }
    }
}

/// Called from the script hook past busy-reply-threshold: serves everyone but `caller`.
pub fn serve(srv: &mut Server, caller: u64) {
    let now = std::time::Instant::now();
    if LAST_PASS.with(|l| {
        l.get()
            .is_some_and(|t| now.duration_since(t) < PASS_INTERVAL)
    }) {
        return;
    }
    LAST_PASS.with(|l| l.set(Some(now)));
    accept_new(srv);
    let ids: Vec<u64> = srv
        .clients
        .keys()
        .copied()
        .filter(|&id| id != caller)
        .collect();
    for id in ids {
        let Some(rc) = srv.clients.get(&id).cloned() else {
            continue;
        };
        let Ok(mut c) = rc.try_borrow_mut() else {
            continue;
        };
        if !c.idle_read
            || c.blocked.is_some()
            || c.postponed.is_some()
            || c.killed
            || c.close_after_reply
            || c.fd < 0
        {
            continue;
        }
        let mut buf = std::mem::take(&mut c.pending_input);
        let before = buf.len();
        if !read_some(c.fd, &mut buf) {
            // The task sees the EOF itself once the script is over.
            c.pending_input = buf;
            continue;
        }
        if buf.len() == before {
            c.pending_input = buf;
            continue;
        }
        TOUCHED.with(|t| t.borrow_mut().push(id));
        let out = answer_all(srv, Some(&mut c), &mut buf);
        c.pending_input = buf;
        let sent = send_some(c.fd, &out);
        if sent < out.len() {
            c.reply.buf.extend_from_slice(&out[sent..]);
        }
    }
    let mut conns = NEW_CONNS.with(|n| std::mem::take(&mut *n.borrow_mut()));
    for nc in conns.iter_mut().filter(|n| !n.closed) {
        let fd = nc.stream.as_raw_fd();
        if !read_some(fd, &mut nc.buf) {
            nc.closed = true;
            continue;
        }
        let out = answer_all(srv, Some(&mut nc.client), &mut nc.buf);
        send_some(fd, &out);
    }
    NEW_CONNS.with(|n| {
        let mut n = n.borrow_mut();
        conns.append(&mut n);
        *n = conns;
    });
}

/// After a script that went busy: wakes the clients served meanwhile (their tasks process
/// leftover input and output) and starts tasks for the connections accepted meanwhile.
pub fn after_script(srv: &mut Server) {
    LAST_PASS.with(|l| l.set(None));
    let touched = TOUCHED.with(|t| std::mem::take(&mut *t.borrow_mut()));
    for id in touched {
        if let Some(rc) = srv.clients.get(&id) {
            if let Ok(c) = rc.try_borrow() {
                c.wake.notify_one();
            }
        }
    }
    let conns = NEW_CONNS.with(|n| std::mem::take(&mut *n.borrow_mut()));
    if conns.is_empty() {
        return;
    }
    let Some(server) = srv.self_ref.as_ref().and_then(|w| w.upgrade()) else {
        return;
    };
    for nc in conns {
        if nc.closed {
            continue;
        }
        let _ = nc.stream.set_nonblocking(true);
        if let Ok(ts) = tokio::net::TcpStream::from_std(nc.stream) {
            tokio::task::spawn_local(super::conn::serve_with_input(
                server.clone(),
                ts,
                nc.peer,
                nc.buf,
                Some(nc.client),
            ));
        }
    }
}
