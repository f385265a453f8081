//! Binding the configured addresses and accepting connections (TCP and the Unix socket).
//!
//! The TCP listeners can be replaced at run time (CONFIG SET port / bind). Redis closes the
//! old sockets, binds the new ones and, if that fails, binds the old ones again; we do the
//! same, because binding `127.0.0.1:P` while `0.0.0.0:P` is still open fails on Linux. Closing
//! must therefore be synchronous: each accept task reads its listener through a shared slot
//! ([`TcpSlot`]) that the server empties to close the socket at once; the task is aborted too.
//!
//! The Unix socket (`unixsocket`, immutable) is bound once at start-up and its file removed on
//! shutdown, as Redis does.

use std::cell::RefCell;
use std::rc::Rc;

use tokio::net::{TcpListener, UnixListener};

use crate::server::Server;

/// One open TCP listener and its accept task.
pub struct TcpSlot {
    listener: Rc<RefCell<Option<TcpListener>>>,
    task: tokio::task::JoinHandle<()>,
    pub fd: i32,
}

impl TcpSlot {
    /// Closes the socket now (the port is free when this returns) and stops the task.
    fn close(self) {
        self.listener.borrow_mut().take();
        self.task.abort();
    }
}

/// Errors after which an optional (`-addr`) bind address is skipped, as in Redis: the address
/// or its protocol family does not exist on this host.
fn skippable(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EADDRNOTAVAIL
                | libc::ENOPROTOOPT
                | libc::EPROTONOSUPPORT
                | libc::ESOCKTNOSUPPORT
                | libc::EPFNOSUPPORT
                | libc::EAFNOSUPPORT
        )
    )
}

/// Binds every address of the `bind` directive on `port` (a leading `-` marks an optional
/// address, as in Redis). Each failure is logged with Redis's line ("Warning: Could not create
/// server TCP listening socket addr:port: bind: reason"). Return value: the listeners (none
/// for an empty `bind`), or None if a required address could not be bound (the ones already
/// bound are closed).
pub fn bind_all(bind: &str, port: u16) -> Option<Vec<std::net::TcpListener>> {
    let mut out = Vec::new();
    for word in bind.split_whitespace() {
        let (optional, addr) = match word.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, word),
        };
        match bind_one(addr, port) {
            Ok(l) => out.push(l),
            Err((e, text)) => {
                crate::warning!(
                    "Warning: Could not create server TCP listening socket {addr}:{port}: {text}"
                );
                if optional && e.is_some_and(|e| skippable(&e)) {
                    continue;
                }
                return None;
            }
        }
    }
    Some(out)
}

/// Binds one address. Err: the OS error (None for a name that did not resolve) and the text
/// Redis logs for it ("bind: Address already in use", "Name or service not known").
fn bind_one(
    addr: &str,
    port: u16,
) -> Result<std::net::TcpListener, (Option<std::io::Error>, String)> {
    use socket2::{Domain, Socket, Type};
    use std::net::ToSocketAddrs;
    let host = match addr {
        "*" => "0.0.0.0",
        "::*" => "::",
        a => a,
    };
    let sa = match (host, port).to_socket_addrs() {
        Ok(mut it) => match it.next() {
            Some(sa) => sa,
            None => return Err((None, "Name or service not known".into())),
        },
        Err(e) => {
            // std words getaddrinfo failures as "failed to lookup address information: X".
            let s = e.to_string();
            let text = s
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&s)
                .to_string();
            return Err((
                e.raw_os_error().map(std::io::Error::from_raw_os_error),
                text,
            ));
        }
    };
    let fail = |what: &str, e: std::io::Error| {
        let text = format!("{what}: {}", crate::config::strerror(&e));
        (Some(e), text)
    };
    let sock =
        Socket::new(Domain::for_address(sa), Type::STREAM, None).map_err(|e| fail("socket", e))?;
    if sa.is_ipv6() {
        // So that `0.0.0.0` and `::` can both be bound on the same port.
        sock.set_only_v6(true).map_err(|e| fail("setsockopt", e))?;
    }
    sock.set_reuse_address(true)
        .map_err(|e| fail("setsockopt", e))?;
    sock.set_nonblocking(true).map_err(|e| fail("fcntl", e))?;
    sock.bind(&sa.into()).map_err(|e| fail("bind", e))?;
    sock.listen(511).map_err(|e| fail("listen", e))?;
    Ok(sock.into())
}

/// Binds the Unix socket `path` (an old file there is removed first, as Redis does) and sets
/// its mode to `perm` when not 0. Err: Redis's text ("bind: No such file or directory").
pub fn bind_unix(path: &str, perm: u32) -> Result<std::os::unix::net::UnixListener, String> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(path);
    let l = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| format!("bind: {}", crate::config::strerror(&e)))?;
    if perm != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))
            .map_err(|e| format!("chmod: {}", crate::config::strerror(&e)))?;
    }
    l.set_nonblocking(true)
        .map_err(|e| format!("fcntl: {}", crate::config::strerror(&e)))?;
    Ok(l)
}

/// Starts accept tasks for `listeners` (must run inside the LocalSet) and records them in
/// the server, replacing nothing: call [`close_tcp`] first to replace.
pub fn start_tcp(
    srv: &mut Server,
    server: &Rc<RefCell<Server>>,
    listeners: Vec<std::net::TcpListener>,
) {
    use std::os::fd::AsRawFd;
    for l in listeners {
        let fd = l.as_raw_fd();
        let l = match TcpListener::from_std(l) {
            Ok(l) => l,
            Err(e) => {
                crate::warning!("Listener error: {e}");
                continue;
            }
        };
        let slot = Rc::new(RefCell::new(Some(l)));
        let task = tokio::task::spawn_local(accept_loop(server.clone(), slot.clone()));
        srv.tcp_listeners.push(TcpSlot {
            listener: slot,
            task,
            fd,
        });
    }
    srv.listener_fds = srv.tcp_listeners.iter().map(|s| s.fd).collect();
}

/// Closes every TCP listener now.
pub fn close_tcp(srv: &mut Server) {
    for s in std::mem::take(&mut srv.tcp_listeners) {
        s.close();
    }
    srv.listener_fds.clear();
}

/// CONFIG SET port / bind: replaces the TCP listeners with ones for the current config
/// (`port` 0 or an empty `bind`: none), as Redis's changeListener. Return value: false if the
/// new addresses could not be bound; the listeners are then closed and the caller restores
/// the old config and calls this again.
pub fn rebind(srv: &mut Server) -> bool {
    let Some(server) = srv.self_ref.as_ref().and_then(|w| w.upgrade()) else {
        // In-process tests: no event loop, nothing is listening.
        return true;
    };
    close_tcp(srv);
    let port = srv.config.port;
    if port == 0 {
        srv.port = 0;
        return true;
    }
    let bind = srv.config.get("bind").unwrap_or("").to_string();
    match bind_all(&bind, port) {
        Some(ls) => {
            start_tcp(srv, &server, ls);
            srv.port = port;
            true
        }
        None => false,
    }
}

/// Accepts TCP connections until the slot is emptied, spawning a task per client.
async fn accept_loop(server: Rc<RefCell<Server>>, slot: Rc<RefCell<Option<TcpListener>>>) {
    loop {
        // The slot is borrowed only inside poll, never across an await, so the server can
        // empty it (close the socket) at any time.
        let r = std::future::poll_fn(|cx| match slot.borrow().as_ref() {
            Some(l) => l.poll_accept(cx).map(Some),
            None => std::task::Poll::Ready(None),
        })
        .await;
        match r {
            None => return,
            Some(Ok((stream, peer))) => {
                let srv = server.clone();
                tokio::task::spawn_local(super::conn::serve(srv, stream, peer));
            }
            Some(Err(e)) => {
                crate::warning!("Accepting client connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

/// Accepts Unix socket connections forever.
pub async fn accept_unix(
    server: Rc<RefCell<Server>>,
    listener: std::os::unix::net::UnixListener,
    path: String,
) {
    let listener = match UnixListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            crate::warning!("Listener error: {e}");
            return;
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let srv = server.clone();
                tokio::task::spawn_local(super::conn::serve_unix(srv, stream, path.clone()));
            }
            Err(e) => {
                crate::warning!("Accepting client connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}
