//! Process start-up and the event loop: config, logging, listeners, cron, signals, shutdown.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::server::Server;
use crate::{notice, warning};

fn usage() {
    eprintln!(
        "Usage: ./cinnabar-server [/path/to/redis.conf] [options] [-]\n       ./cinnabar-server - (read config from stdin)\n       ./cinnabar-server -v or --version\n       ./cinnabar-server -h or --help\n\nExamples:\n       ./cinnabar-server (run the server with default conf)\n       ./cinnabar-server /etc/redis/6379.conf\n       ./cinnabar-server --port 7777\n       ./cinnabar-server /etc/myredis.conf --loglevel verbose -"
    );
}

/// Detaches from the terminal (`daemonize yes`): fork, the parent exits, the child starts a
/// session and sends stdio to /dev/null. Runs before any thread exists.
fn daemonize() {
    // SAFETY: called before any other thread is started; the child continues single-threaded.
    unsafe {
        match libc::fork() {
            -1 => return,
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd >= 0 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}

/// Sends a state line to systemd (sd_notify protocol) when supervised by it: a datagram to the
/// unix socket named in $NOTIFY_SOCKET ('@' = abstract namespace). Silent if not supervised.
fn sd_notify(supervised: &str, state: &str) {
    use std::os::unix::net::UnixDatagram;
    if supervised != "systemd" && supervised != "auto" {
        return;
    }
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        if supervised == "systemd" {
            warning!("systemd supervision requested or auto-detected, but NOTIFY_SOCKET environment variable is not set");
        }
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let path = path.to_string_lossy().into_owned();
    let sent = match path.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                .and_then(|addr| sock.send_to_addr(state.as_bytes(), &addr))
        }
        None => sock.send_to(state.as_bytes(), &path),
    };
    if let Err(e) = sent {
        warning!("Can't send notification to systemd: {e}");
    }
}

/// Runs the server. Return value: the process exit code.
pub fn run(args: Vec<String>) -> i32 {
    if let Some(a) = args.first() {
        match a.as_str() {
            "-v" | "--version" => {
                println!(
                    "Redis server v={} sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=cinnabar-{}",
                    crate::REDIS_VERSION,
                    crate::CINNABAR_VERSION
                );
                return 0;
            }
            "-h" | "--help" => {
                usage();
                return 0;
            }
            _ => {}
        }
    }
    let mut config = match crate::config::load(&args) {
        Ok(c) => c,
        Err(msg) => {
            // The message carries its own final newline (Redis's fatal block format).
            eprint!("{msg}");
            return 1;
        }
    };
    crate::log::set_level(config.loglevel);
    let tls_wanted = config.get("tls-port").is_some_and(|p| p != "0")
        || config.get("tls-replication") == Some("yes")
        || config.get("tls-cluster") == Some("yes");
    if tls_wanted {
        warning!("Failed to configure TLS: this server does not support TLS yet.");
        return 1;
    }
    if let Err(e) = crate::log::set_file(config.get("logfile").unwrap_or("")) {
        eprint!(
            "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nCan't open the log file: {}\n",
            crate::REDIS_VERSION,
            crate::config::strerror(&e)
        );
        return 1;
    }
    // As Redis: lower maxclients to what the open-files limit allows (32 fds kept in reserve).
    let fd_limit = crate::config::open_files_limit();
    if config.maxclients as u64 + 32 > fd_limit {
        let reduced = fd_limit.saturating_sub(32).max(1);
        warning!(
            "You requested maxclients of {} requiring at least {} max file descriptors. Current maximum open files is {fd_limit}. maxclients has been reduced to {reduced} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.",
            config.maxclients,
            config.maxclients + 32
        );
        let _ = config.set("maxclients", &[reduced.to_string()], true);
    }
    let daemon = config.get("daemonize") == Some("yes");
    if daemon {
        daemonize();
    }
    notice!("oO0OoO0OoO0Oo Cinnabar is starting oO0OoO0OoO0Oo");
    notice!(
        "Cinnabar version={}, Redis compatibility={}, bits=64, pid={}, just started",
        crate::CINNABAR_VERSION,
        crate::REDIS_VERSION,
        std::process::id()
    );
    for (old, new) in &config.renamed_commands {
        warning!("rename-command {old} {new}: accepted but not applied (command renaming is not supported yet)");
    }
    match &config.config_file {
        Some(_) => notice!("Configuration loaded"),
        None => warning!(
            "Warning: no config file specified, using the default config. In order to specify a config file use cinnabar-server /path/to/redis.conf"
        ),
    }
    let pidfile = match config.get("pidfile") {
        Some(p) if !p.is_empty() => Some(p.to_string()),
        _ if daemon => Some("/var/run/redis.pid".to_string()),
        _ => None,
    };
    if let Some(p) = &pidfile {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            warning!("Failed to write PID file: {e}");
        }
    }
    let bind = config.get("bind").unwrap_or("").to_string();
    let listeners = match crate::net::listener::bind_all(&bind, config.port) {
        Ok(l) => l,
        Err(e) => {
            warning!("{e}");
            warning!("Failed listening on port {} (tcp), aborting.", config.port);
            return 1;
        }
    };
    let port = listeners
        .first()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port())
        .unwrap_or(config.port);
    let supervised = config.get("supervised").unwrap_or("no").to_string();
    let mut server = Server::new(config);
    server.port = port;
    // The listeners are bound: clients connecting during the load get -LOADING (persist::loading).
    crate::persist::loading::begin(&server, &listeners);
    let loaded = crate::persist::load_at_startup(&mut server);
    let handoffs = crate::persist::loading::end();
    if let Err(e) = loaded {
        // Some loaders log their own (multi-line) reasons and return an empty text.
        if !e.is_empty() {
            warning!("{e}");
        }
        return 1;
    }
    {
        use std::os::fd::AsRawFd;
        server.listener_fds = listeners.iter().map(|l| l.as_raw_fd()).collect();
    }
    let server = Rc::new(RefCell::new(server));
    server.borrow_mut().self_ref = Some(Rc::downgrade(&server));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            warning!("Can't start the event loop: {e}");
            return 1;
        }
    };
    let local = tokio::task::LocalSet::new();
    let code = local.block_on(&rt, async move {
        notice!("Server initialized");
        for l in listeners {
            tokio::task::spawn_local(crate::net::listener::accept_loop(server.clone(), l));
        }
        for h in handoffs {
            match tokio::net::TcpStream::from_std(h.stream) {
                Ok(stream) => {
                    tokio::task::spawn_local(crate::net::conn::serve_admitted(
                        server.clone(),
                        stream,
                        h.client,
                        h.inbuf,
                    ));
                }
                Err(_) => {
                    let id = h.client.borrow().id;
                    server.borrow_mut().clients.remove(&id);
                }
            }
        }
        tokio::task::spawn_local(cron_loop(server.clone()));
        notice!("Ready to accept connections");
        sd_notify(&supervised, "STATUS=Ready to accept connections\nREADY=1\n");
        wait_for_shutdown(server.clone()).await;
        sd_notify(&supervised, "STOPPING=1\n");
        crate::persist::save_on_shutdown(&mut server.borrow_mut());
        0
    });
    if let Some(p) = &pidfile {
        notice!("Removing the pid file.");
        let _ = std::fs::remove_file(p);
    }
    warning!("Cinnabar is now ready to exit, bye bye...");
    code
}

async fn cron_loop(server: Rc<RefCell<Server>>) {
    loop {
        let hz = server.borrow().config.hz.max(1);
        let next = tokio::time::Instant::now() + Duration::from_micros(1_000_000 / hz as u64);
        // While expired keys pile up faster than the tick's cycle removes them, run 1 ms fast
        // cycles every 2 ms until the next tick: clients keep at least half of the time.
        while server.borrow().expire_backlog
            && tokio::time::Instant::now() + Duration::from_millis(2) < next
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
            server.borrow_mut().fast_expire_cycle();
        }
        tokio::time::sleep_until(next).await;
        server.borrow_mut().cron();
    }
}

/// Resolves when SIGTERM/SIGINT arrives or SHUTDOWN was called.
async fn wait_for_shutdown(server: Rc<RefCell<Server>>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    loop {
        tokio::select! {
            _ = async { match term.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                warning!("Received SIGTERM scheduling shutdown...");
                break;
            }
            _ = async { match int.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {
                warning!("Received SIGINT scheduling shutdown...");
                break;
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {
                if server.borrow().shutdown.is_some() {
                    break;
                }
            }
        }
    }
    warning!("User requested shutdown...");
}

#[cfg(test)]
mod tests {
    #[test]
    fn fatal_config_exits_with_1() {
        assert_eq!(super::run(vec!["--foo".into(), "bar".into()]), 1);
        assert_eq!(super::run(vec!["--port".into(), "abc".into()]), 1);
        assert_eq!(super::run(vec!["/nonexistent/redis.conf".into()]), 1);
        assert_eq!(super::run(vec!["--version".into()]), 0);
    }
}
