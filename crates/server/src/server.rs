//! The server object: every database, the client table, configuration and statistics.
//!
//! One `Server` lives on the data thread inside an `Rc<RefCell<_>>`. Connection tasks borrow it
//! for the duration of a batch of commands and never across an `.await`, so each command runs
//! to completion with exclusive access: no locks on the data path, Redis's atomicity for free.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::client::Client;
use crate::config::Config;
use crate::db::Db;

/// Counters reported by INFO stats (reset by CONFIG RESETSTAT where Redis resets them).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub rejected_connections: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_stale_perc: f64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub unexpected_error_replies: u64,
    pub total_error_replies: u64,
    pub client_qbuf_limit_disconnections: u64,
    pub evicted_clients: u64,
    /// Per command full name: (calls, usec, rejected_calls, failed_calls).
    /// Indexed by `CommandEntry::id` (no allocation or map lookup per command).
    pub commands: Vec<CommandStats>,
    /// Per error prefix ("ERR", "WRONGTYPE"): count.
    pub errors: BTreeMap<String, u64>,
    /// `total_error_replies` when the running command's handler started or its last nested
    /// command (redis.call, EXEC's queue) ended: errors counted after it make the command
    /// fail in commandstats, as Redis's `incrCommandStatsOnError` baseline.
    pub err_mark: u64,
    /// The running command replied an error errorstats must not count (a script returning
    /// a command's error, already counted): it still fails, as Redis's
    /// `ERR_REPLY_FLAG_NO_STATS_UPDATE` path in `afterErrorReply`.
    pub failed_uncounted: bool,
    pub inst_ops: InstMetric,
    pub inst_net_input: InstMetric,
    pub inst_net_output: InstMetric,
}

/// Redis's "instantaneous" metrics: a ring of per-second rates sampled every 100 ms by cron;
/// INFO reports their mean (instantaneous_ops_per_sec and the kbps figures).
#[derive(Debug, Default, Clone)]
pub struct InstMetric {
    samples: [f64; 16],
    next: usize,
    last_value: u64,
    last_ms: i64,
}

impl InstMetric {
    /// Records the rate of `value` since the previous sample.
    pub fn sample(&mut self, value: u64, now_ms: i64) {
        if self.last_ms > 0 && now_ms > self.last_ms {
            let rate = value.saturating_sub(self.last_value) as f64 * 1000.0
                / (now_ms - self.last_ms) as f64;
            self.samples[self.next] = rate;
            self.next = (self.next + 1) % self.samples.len();
        }
        self.last_value = value;
        self.last_ms = now_ms;
    }

    /// Mean per-second rate over the ring.
    pub fn mean(&self) -> f64 {
        self.samples.iter().sum::<f64>() / self.samples.len() as f64
    }
}

impl Stats {
    /// The counters of command `id`, growing the table on first use.
    #[inline]
    pub fn command(&mut self, id: usize) -> &mut CommandStats {
        if id >= self.commands.len() {
            self.commands.resize_with(id + 1, Default::default);
        }
        &mut self.commands[id]
    }

    /// (full name, counters) of every command, sorted by name (INFO commandstats).
    pub fn commands_by_name(&self) -> Vec<(&'static str, &CommandStats)> {
        let names = &crate::cmd::table().names;
        let mut v: Vec<_> = self
            .commands
            .iter()
            .enumerate()
            .map(|(i, c)| (names[i].as_str(), c))
            .collect();
        v.sort_by_key(|(n, _)| *n);
        v
    }
}

#[derive(Debug, Default, Clone)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// Why the event loop should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    Requested,
}

pub struct Server {
    /// Clients blocked on keys, and keys that became ready (db/blocking.rs).
    pub blocking: crate::db::blocking::Blocking,
    /// WATCHed keys and clients whose watched keys changed (db/watch.rs).
    pub watches: crate::db::watch::Watches,
    /// Keyspace events reported by commands (db/notify.rs).
    pub keyspace_events: u64,
    /// Client-side caching tables (tracking.rs).
    pub tracking: crate::tracking::Tracking,
    /// Pub/Sub subscriber lists (pubsub.rs).
    pub pubsub: crate::pubsub::Registry,
    /// notify-keyspace-events as last parsed, and its flag bits (db/notify.rs).
    pub notify_flags: (String, u32),
    /// Clients currently blocked (INFO blocked_clients).
    pub blocked_clients: u64,
    /// CLIENT PAUSE state and the clients it holds.
    pub pause: crate::cmd::pause::Pause,
    /// Nesting of `cmd::call` (EXEC, scripts and blocked-client serving run commands inside
    /// another); blocked clients are served only when it is back to 0.
    pub call_depth: u32,
    /// The next `cmd::call` re-runs a blocked client's command to serve it: Redis counts the
    /// command once, when it blocked, so this run adds no `calls` and no
    /// `total_commands_processed` (its errors still fail it).
    pub rerun_blocked: bool,
    /// The key whose blocked clients are being served (set around each re-run): XREAD then
    /// replies that stream only, as Redis serves a stream waiter per signalled key.
    pub serving_key: Option<Vec<u8>>,
    /// The last active expiry cycle used its whole budget (fast cycles run until it doesn't).
    pub expire_backlog: bool,
    pub config: Config,
    pub dbs: Vec<Db>,
    pub clients: BTreeMap<u64, Rc<RefCell<Client>>>,
    pub next_client_id: u64,
    pub stats: Stats,
    pub started: Instant,
    pub started_unix_ms: i64,
    /// Writes since the last save (INFO rdb_changes_since_last_save).
    pub dirty: u64,
    /// Set by a command that must reach the AOF even though it changed nothing (FLUSHDB on an
    /// empty db: Redis's `forceCommandPropagation`); `cmd::call` takes it.
    pub force_propagate: bool,
    /// Set by a command whose replay must differ from what the client sent (XADD `*` logs
    /// the ID it generated, an approximate trim logs the exact one it did, as Redis's
    /// `rewriteClientCommandArgument`); `cmd::call` takes it and logs it instead of the argv.
    pub propagate_as: Option<Vec<Vec<u8>>>,
    /// The open append-only file while appendonly is on (persist/aof.rs).
    pub aof: Option<Box<crate::persist::aof::Aof>>,
    pub run_id: String,
    /// The TCP port listened on (INFO tcp_port; 0: no TCP listener).
    pub port: u16,
    pub shutdown: Option<Shutdown>,
    /// Unix ms used by the command being run (cached once per command, as Redis's mstime).
    pub now_ms: i64,
    /// Test hook: a fixed clock for in-process tests.
    pub clock_override: Option<i64>,
    pub active_expire_enabled: bool,
    rng: u64,
    pub executable: String,
    pub cron_loops: u64,
    /// Replication ID (INFO master_replid), fixed for the process until replication exists.
    pub replid: String,
    /// Unix seconds of the last successful save (LASTSAVE); start time until persistence exists.
    pub lastsave_unix: i64,
    /// Highest `used_memory` seen (INFO used_memory_peak), sampled by cron and INFO.
    pub mem_peak: u64,
    /// `used_memory` right after start-up (INFO used_memory_startup).
    pub mem_startup: u64,
    last_inst_sample_ms: i64,
    /// DEBUG PAUSE-CRON: skip cron ticks (tests freeze background work with it).
    pub cron_paused: bool,
    /// The Lua engine and script cache (scripting/), created on first use.
    pub scripting: Option<Box<crate::scripting::Engine>>,
    /// Listening TCP sockets (a busy script's hook accepts connections itself:
    /// net/while_busy.rs); kept equal to the fds of `tcp_listeners`.
    pub listener_fds: Vec<i32>,
    /// The TCP listeners and their accept tasks (replaced by CONFIG SET port / bind).
    pub tcp_listeners: Vec<crate::net::listener::TcpSlot>,
    /// Files the shutdown removes (shutdown.rs): the pid file we wrote, the Unix socket.
    pub pidfile: Option<String>,
    pub unix_socket_path: Option<String>,
    /// The `Rc` this server lives in, to start connection tasks from inside a command.
    pub self_ref: Option<std::rc::Weak<RefCell<Server>>>,
}

/// Current unix time in milliseconds.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Server {
    pub fn new(config: Config) -> Self {
        let blocking = crate::db::blocking::Blocking::default();
        let dbs = (0..config.databases)
            .map(|id| {
                let mut db = Db::new(id);
                db.waiters.ready = blocking.ready.clone();
                db
            })
            .collect();
        let seed = unix_ms() as u64 ^ ((std::process::id() as u64) << 32) ^ 0x9E37_79B9_7F4A_7C15;
        let mut s = Server {
            blocking,
            watches: Default::default(),
            keyspace_events: 0,
            tracking: Default::default(),
            pubsub: Default::default(),
            notify_flags: (String::new(), 0),
            blocked_clients: 0,
            pause: Default::default(),
            call_depth: 0,
            rerun_blocked: false,
            serving_key: None,
            expire_backlog: false,
            port: config.port,
            config,
            dbs,
            clients: BTreeMap::new(),
            next_client_id: 1,
            stats: Stats::default(),
            started: Instant::now(),
            started_unix_ms: unix_ms(),
            dirty: 0,
            force_propagate: false,
            propagate_as: None,
            aof: None,
            run_id: String::new(),
            shutdown: None,
            now_ms: unix_ms(),
            clock_override: None,
            active_expire_enabled: true,
            rng: seed | 1,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            cron_loops: 0,
            replid: String::new(),
            lastsave_unix: unix_ms() / 1000,
            mem_peak: 0,
            mem_startup: crate::info::used_memory(),
            last_inst_sample_ms: 0,
            cron_paused: false,
            scripting: None,
            listener_fds: Vec::new(),
            tcp_listeners: Vec::new(),
            pidfile: None,
            unix_socket_path: None,
            self_ref: None,
        };
        s.run_id = (0..40).map(|_| format!("{:x}", s.random() % 16)).collect();
        s.replid = (0..40).map(|_| format!("{:x}", s.random() % 16)).collect();
        s
    }

    /// xorshift64*: fast, good enough for sampling and RANDOMKEY (not for secrets).
    pub fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Refreshes the cached command clock.
    pub fn update_clock(&mut self) {
        self.now_ms = self.clock_override.unwrap_or_else(unix_ms);
    }

    pub fn auth_required(&self) -> bool {
        self.config.requirepass.is_some()
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Runs the active expiry cycle within `budget`, reports `expired` events, and records
    /// whether the budget ran out (`expire_backlog`: more expired keys are likely waiting).
    pub fn expire_cycle(&mut self, budget: Duration) {
        if self.pause.active(self.now_ms) {
            return;
        }
        let start = std::time::Instant::now();
        let removed = crate::db::expire::active_cycle(&mut self.dbs, self.now_ms, budget);
        self.expire_backlog = start.elapsed() >= budget;
        let mut stand_in = None;
        for (db, keys) in removed {
            for key in keys {
                crate::persist::aof::log_del(self, db, &key);
                crate::db::notify::keyspace_event(self, db, b'x', "expired", &key);
                crate::tracking::expired_by_cron(self, &mut stand_in, &key);
            }
        }
    }

    /// A fast expiry cycle between cron ticks (Redis's ACTIVE_EXPIRE_CYCLE_FAST): 1 ms, run
    /// by the event loop every 2 ms while the previous cycle ran out of time.
    pub fn fast_expire_cycle(&mut self) {
        if !self.active_expire_enabled {
            self.expire_backlog = false;
            return;
        }
        self.update_clock();
        self.expire_cycle(Duration::from_millis(1));
    }

    /// One cron tick (called `hz` times per second): active expiry, rehashing, client timeouts.
    pub fn cron(&mut self) {
        if self.cron_paused {
            return;
        }
        self.cron_loops += 1;
        crate::persist::cron(self);
        if self.cron_loops.is_multiple_of(10) {
            let used = crate::info::used_memory();
            self.mem_peak = self.mem_peak.max(used);
        }
        if self.now_ms - self.last_inst_sample_ms >= 100 {
            self.last_inst_sample_ms = self.now_ms;
            let (now, st) = (self.now_ms, &mut self.stats);
            st.inst_ops.sample(st.commands_processed, now);
            st.inst_net_input.sample(st.net_input_bytes, now);
            st.inst_net_output.sample(st.net_output_bytes, now);
        }
        self.update_clock();
        crate::cmd::pause::end_if_over(self);
        if !self.pause.held.is_empty() {
            crate::cmd::pause::release(self, &mut Client::detached(0));
        }
        let tick = Duration::from_micros(1_000_000 / self.config.hz as u64);
        if self.active_expire_enabled {
            // Redis spends up to 25% of a tick on active expiry.
            self.expire_cycle(tick / 4);
        }
        if self.tracking.clients > 0 {
            crate::tracking::before_sleep(self, &mut Client::detached(0));
        }
        // Rehash at most one database per tick for 1 ms, like Redis's databasesCron, so a
        // tick never spends 1 ms per database.
        for db in &mut self.dbs {
            if db.rehash_for(Duration::from_millis(1)) {
                break;
            }
        }
        if self.config.timeout_secs > 0 {
            let limit = self.config.timeout_secs * 1000;
            for c in self.clients.values() {
                if let Ok(mut c) = c.try_borrow_mut() {
                    if self.now_ms - c.last_interaction_ms > limit {
                        crate::verbose!("Closing idle client");
                        c.kill();
                    }
                }
            }
        }
    }
}
