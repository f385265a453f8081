//! Binding the configured addresses and accepting connections.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use tokio::net::TcpListener;

use crate::server::Server;

/// Binds every address of the `bind` directive (a leading `-` marks an optional address, as
/// in Redis: failing to bind it is not fatal). Return value: the listeners, or an error text.
pub fn bind_all(bind: &str, port: u16) -> Result<Vec<std::net::TcpListener>, String> {
    let mut out = Vec::new();
    for word in bind.split_whitespace() {
        let (optional, addr) = match word.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, word),
        };
        let host = match addr {
            "*" => "0.0.0.0",
            "::*" => "::",
            a => a,
        };
        let sa: SocketAddr = match format!("{host}:{port}")
            .parse()
            .or_else(|_| format!("[{host}]:{port}").parse())
        {
            Ok(sa) => sa,
            Err(_) => return Err(format!("Invalid bind address '{addr}'")),
        };
        match bind_one(sa) {
            Ok(l) => out.push(l),
            Err(e) if optional => {
                crate::verbose!("Skipping optional bind address {addr}: {e}");
            }
            Err(e) => {
                return Err(format!(
                    "Warning: Could not create server TCP listening socket {addr}:{port}: {e}"
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(
            "Failed listening on port {port} (tcp), aborting.".replace("{port}", &port.to_string())
        );
    }
    Ok(out)
}

fn bind_one(sa: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::for_address(sa), Type::STREAM, None)?;
    if sa.is_ipv6() {
        // So that `0.0.0.0` and `::` can both be bound on the same port.
        sock.set_only_v6(true)?;
    }
    sock.set_reuse_address(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&sa.into())?;
    sock.listen(511)?;
    Ok(sock.into())
}

/// Accepts connections forever, spawning a task per client.
pub async fn accept_loop(server: Rc<RefCell<Server>>, listener: std::net::TcpListener) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            crate::warning!("Listener error: {e}");
            return;
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let srv = server.clone();
                tokio::task::spawn_local(super::conn::serve(srv, stream, peer));
            }
            Err(e) => {
                crate::warning!("Accepting client connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}
