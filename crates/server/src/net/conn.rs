//! One connection: read, parse, execute, write — until the client leaves or is killed.
//!
//! The task owns the socket and the input buffer. The `Client` (reply buffer and state) is
//! shared with the server's client table. Both the server and the client are borrowed only
//! between awaits, for one batch of requests, so commands never interleave.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use cinnabar_resp::parse::Parser;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use crate::client::Client;
use crate::server::Server;

/// Smallest free room kept in the input buffer before each read.
const READ_CHUNK: usize = 16 * 1024;
/// Reply buffers above this are released after being written, so an idle client that once
/// fetched a huge value does not keep its memory.
const KEEP_OUTPUT_CAPACITY: usize = 64 * 1024;

const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

fn set_keepalive(stream: &TcpStream, secs: i64) {
    use std::os::fd::AsRawFd;
    if secs <= 0 {
        return;
    }
    let fd = stream.as_raw_fd();
    let on: libc::c_int = 1;
    let idle = secs as libc::c_int;
    let intvl = (secs / 3).max(1) as libc::c_int;
    let cnt: libc::c_int = 3;
    let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: setsockopt on a valid, open socket fd with pointers to live ints.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &on as *const _ as *const _,
            size,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            &idle as *const _ as *const _,
            size,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            &intvl as *const _ as *const _,
            size,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPCNT,
            &cnt as *const _ as *const _,
            size,
        );
    }
}

/// Admits a new connection. Return value: the client, or the bytes to send before closing.
/// `addr`, `laddr` and `fd`: the peer and local addresses and the descriptor (CLIENT LIST);
/// `local`: the peer is on this host (loopback or the Unix socket), so protected mode lets
/// it in, as Redis's connIsLocal. `id`: the id given at accept time to a connection accepted
/// during a busy script (a new one otherwise).
pub(crate) fn admit(
    srv: &mut Server,
    addr: String,
    laddr: String,
    fd: i32,
    local: bool,
    id: Option<u64>,
) -> Result<Rc<RefCell<Client>>, &'static [u8]> {
    srv.stats.connections_received += 1;
    if srv.clients.len() >= srv.config.maxclients {
        srv.stats.rejected_connections += 1;
        return Err(b"-ERR max number of clients reached\r\n");
    }
    if srv.config.protected_mode && srv.config.requirepass.is_none() && !local {
        srv.stats.rejected_connections += 1;
        return Err(PROTECTED_MODE_DENIED);
    }
    srv.update_clock();
    let id = id.unwrap_or_else(|| {
        srv.next_client_id += 1;
        srv.next_client_id - 1
    });
    let mut client = Client::new(id, addr, laddr, fd, srv.now_ms);
    client.authenticated = !srv.auth_required();
    let rc = Rc::new(RefCell::new(client));
    srv.clients.insert(id, rc.clone());
    Ok(rc)
}

/// Serves one connection until it closes.
pub async fn serve(server: Rc<RefCell<Server>>, stream: TcpStream, peer: SocketAddr) {
    serve_with_input(server, stream, peer, Vec::new(), None).await
}

/// [`serve`] for a connection whose first bytes were already read (accepted while a script
/// was busy: net/while_busy.rs), with the state its stand-in client got meanwhile (AUTH,
/// HELLO, SELECT, CLIENT SETNAME).
pub async fn serve_with_input(
    server: Rc<RefCell<Server>>,
    mut stream: TcpStream,
    peer: SocketAddr,
    input: Vec<u8>,
    carry: Option<Box<Client>>,
) {
    let _ = stream.set_nodelay(true);
    let admitted = {
        let mut srv = server.borrow_mut();
        set_keepalive(
            &stream,
            srv.config
                .get("tcp-keepalive")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        );
        use std::os::fd::AsRawFd;
        let laddr = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        admit(
            &mut srv,
            peer.to_string(),
            laddr,
            stream.as_raw_fd(),
            peer.ip().is_loopback(),
            carry.as_ref().map(|c| c.id).filter(|&id| id != 0),
        )
    };
    let client = match admitted {
        Ok(c) => c,
        Err(msg) => {
            let _ = stream.write_all(msg).await;
            return;
        }
    };
    {
        let mut c = client.borrow_mut();
        if let Some(prev) = carry {
            c.authenticated = prev.authenticated;
            c.user = prev.user;
            c.reply.proto = prev.reply.proto;
            c.db = prev.db;
            c.name = prev.name;
        }
        if !input.is_empty() {
            c.pending_input = input;
            c.wake.notify_one();
        }
    }
    serve_admitted(server, stream, client, Vec::with_capacity(READ_CHUNK)).await;
}

/// Serves one connection accepted on the Unix socket `path` until it closes. Redis shows
/// such clients as `addr=<path>:0 laddr=<path>:0` with the `U` flag.
pub async fn serve_unix(server: Rc<RefCell<Server>>, mut stream: UnixStream, path: String) {
    use std::os::fd::AsRawFd;
    let name = format!("{path}:0");
    let admitted = {
        let mut srv = server.borrow_mut();
        admit(&mut srv, name.clone(), name, stream.as_raw_fd(), true, None)
    };
    let client = match admitted {
        Ok(c) => c,
        Err(msg) => {
            let _ = stream.write_all(msg).await;
            return;
        }
    };
    client.borrow_mut().unix_socket = true;
    serve_admitted(server, stream, client, Vec::with_capacity(READ_CHUNK)).await;
}

/// Serves an admitted client until it closes. `inbuf`: input already read (an unfinished
/// request from a connection served during the start-up load, `persist::loading`). The
/// stream is a TCP or a Unix socket.
pub async fn serve_admitted<S: AsyncRead + AsyncWrite + Unpin>(
    server: Rc<RefCell<Server>>,
    mut stream: S,
    client: Rc<RefCell<Client>>,
    mut inbuf: Vec<u8>,
) {
    let (id, wake) = {
        let c = client.borrow();
        (c.id, c.wake.clone())
    };
    let mut parser = Parser::default();
    // Arguments of the request being run; its buffers are recycled by the parser.
    let mut argv: Vec<Vec<u8>> = Vec::new();
    let mut outbuf: Vec<u8> = Vec::new();
    loop {
        let room = READ_CHUNK.max(parser.pending_bulk);
        if inbuf.capacity() - inbuf.len() < room {
            inbuf.reserve(room);
        }
        // A blocked client waits for data on its keys (a wake-up) or its deadline; its input is
        // still read (and buffered unprocessed) so a disconnect is noticed.
        let deadline = {
            let c = client.borrow();
            match (&c.blocked, &c.postponed) {
                (Some(b), _) => b.deadline_ms,
                // Held by CLIENT PAUSE: wake at its end to release the held commands.
                (None, Some(_)) => server.borrow().pause.end_ms,
                (None, None) => 0,
            }
        };
        let timer = async {
            if deadline == 0 {
                std::future::pending::<()>().await;
            }
            let wait = deadline - crate::server::unix_ms();
            tokio::time::sleep(std::time::Duration::from_millis(wait.max(0) as u64)).await;
        };
        let mut timed_out = false;
        {
            let mut c = client.borrow_mut();
            c.idle_read = inbuf.is_empty();
        }
        tokio::select! {
            r = stream.read_buf(&mut inbuf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => client.borrow_mut().net_in += n as u64,
            },
            _ = wake.notified() => {}
            _ = timer => timed_out = true,
        }
        let close = {
            let mut srv = server.borrow_mut();
            let mut c = client.borrow_mut();
            c.idle_read = false;
            if c.killed {
                break;
            }
            if !c.pending_input.is_empty() {
                // Bytes a busy script's hook read from our socket come before ours.
                let mut p = std::mem::take(&mut c.pending_input);
                p.extend_from_slice(&inbuf);
                inbuf.clear();
                inbuf.extend_from_slice(&p);
            }
            if timed_out {
                crate::cmd::blocking::expire_if_timed_out(&mut srv, &mut c);
                if c.postponed.is_some() {
                    srv.update_clock();
                    crate::cmd::pause::release(&mut srv, &mut c);
                }
            }
            process_input(&mut srv, &mut c, &mut parser, &mut inbuf, &mut argv);
            crate::tracking::before_sleep(&mut srv, &mut c);
            // AOF: written before any reply of the batch leaves (fsynced below for
            // appendfsync always, so an acknowledged write is on disk).
            crate::persist::aof::flush(&mut srv);
            if c.killed {
                break;
            }
            std::mem::swap(&mut outbuf, &mut c.reply.buf);
            c.close_after_reply
        };
        if !outbuf.is_empty() && crate::persist::aof::sync_pending(&server.borrow()) {
            // Group commit: let other ready connections write their batches, then one fsync.
            // Keep yielding while others still append (bounded), so connections that became
            // ready during the turn join this group instead of paying a second fsync.
            for _ in 0..8 {
                let before = crate::persist::aof::written(&server.borrow());
                tokio::task::yield_now().await;
                let srv = server.borrow();
                if crate::persist::aof::written(&srv) == before
                    || !crate::persist::aof::sync_pending(&srv)
                {
                    break;
                }
            }
            crate::persist::aof::sync_now(&mut server.borrow_mut());
        }
        if !outbuf.is_empty() {
            // A kill (e.g. output buffer limits) must end the write to a client that stopped
            // reading; other wake-ups seen meanwhile are re-armed for the next loop.
            let mut sent = 0;
            let mut woken = false;
            let mut failed = false;
            while sent < outbuf.len() {
                tokio::select! {
                    r = stream.write(&outbuf[sent..]) => match r {
                        Ok(0) | Err(_) => { failed = true; break; }
                        Ok(n) => sent += n,
                    },
                    _ = wake.notified() => {
                        if client.borrow().killed { failed = true; break; }
                        woken = true;
                    }
                }
            }
            if woken {
                wake.notify_one();
            }
            if failed {
                break;
            }
            let n = outbuf.len() as u64;
            client.borrow_mut().net_out += n;
            server.borrow_mut().stats.net_output_bytes += n;
            outbuf.clear();
            if outbuf.capacity() > KEEP_OUTPUT_CAPACITY {
                outbuf = Vec::new();
            }
        }
        if close {
            break;
        }
    }
    // The client leaves every registry before the socket closes (as Redis's freeClient), so a
    // peer that saw the close never finds it still subscribed, blocked or listed.
    {
        let mut srv = server.borrow_mut();
        crate::cmd::blocking::unblock(&mut srv, &mut client.borrow_mut());
        crate::cmd::pause::forget(&mut srv, &mut client.borrow_mut());
        crate::cmd::multi::reset_client(&mut srv, &mut client.borrow_mut());
        crate::cmd::pubsub::forget_client(&mut srv, &mut client.borrow_mut());
        crate::tracking::forget_client(&mut srv, &mut client.borrow_mut());
        srv.clients.remove(&id);
    }
    let _ = stream.shutdown().await;
}

/// Parses and runs every whole request in `inbuf`, then drops the consumed bytes.
fn process_input(
    srv: &mut Server,
    c: &mut Client,
    parser: &mut Parser,
    inbuf: &mut Vec<u8>,
    argv: &mut Vec<Vec<u8>>,
) {
    srv.stats.net_input_bytes += inbuf.len().saturating_sub(c.qbuf) as u64;
    // While the batch runs, CLIENT LIST / INFO show the whole buffer as the caller's qbuf (Redis
    // trims its query buffer after the batch).
    c.qbuf = inbuf.len();
    parser.max_bulk_len = srv.config.proto_max_bulk_len;
    while !c.close_after_reply && !c.killed && c.blocked.is_none() && c.postponed.is_none() {
        parser.unauthenticated = srv.auth_required() && !c.authenticated;
        match parser.next_into(inbuf, argv) {
            Ok(true) => crate::cmd::call(srv, c, argv),
            Ok(false) => break,
            Err(e) => {
                crate::verbose!(
                    "Protocol error ({e}) from client: id={} addr={}",
                    c.id,
                    c.addr
                );
                c.reply.error(&format!("ERR {e}"));
                c.close_after_reply = true;
                break;
            }
        }
    }
    inbuf.drain(..parser.pos);
    parser.pos = 0;
    c.qbuf = inbuf.len();
    if c.postponed.is_some() && !inbuf.is_empty() {
        // Held by CLIENT PAUSE: the rest of the input waits with the client, so the release
        // runs it right after the held command, before other held clients (cmd/pause.rs).
        c.pending_input.append(inbuf);
    }
    c.qbuf_free = inbuf.capacity() - inbuf.len();
    if inbuf.len() > srv.config.query_buffer_limit {
        crate::warning!(
            "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: {:?})",
            c.id,
            c.addr,
            String::from_utf8_lossy(&inbuf[..inbuf.len().min(64)])
        );
        srv.stats.client_qbuf_limit_disconnections += 1;
        c.killed = true;
    }
}
