//! Per-connection client state, as the command layer sees it.
//!
//! A `Client` lives in an `Rc<RefCell<_>>` shared by its connection task (which owns the
//! socket) and the server's client table (so CLIENT LIST/KILL and, later, pub/sub can reach it).
//! Commands append replies to `reply`; the connection task writes it out once per batch.
//! Nothing here touches the socket.

use std::rc::Rc;

use cinnabar_resp::ReplyBuf;
use tokio::sync::Notify;

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Suppress the reply of the next command only (set by CLIENT REPLY SKIP, armed after it).
    SkipNext,
    Skip,
}

/// What a blocked client waits for (cmd/blocking.rs).
#[derive(Debug, Clone)]
pub struct BlockedOn {
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    /// The type of value that serves it.
    pub want: crate::cmd::blocking::Want,
    /// Absolute unix ms, 0 = forever.
    pub deadline_ms: i64,
    /// The command to run again when a key is signalled.
    pub argv: Vec<Vec<u8>>,
}

/// The id of the client that replays the AOF at start-up and for DEBUG LOADAOF.
pub const AOF_CLIENT_ID: u64 = u64::MAX;

pub struct Client {
    /// Set while the client waits in a blocking command.
    pub blocked: Option<BlockedOn>,
    /// True while commands run inside EXEC (or a script): blocking commands must not block.
    pub in_exec: bool,
    /// Set between MULTI and EXEC/DISCARD: the queued transaction (cmd/multi.rs).
    pub multi: Option<crate::cmd::multi::MultiState>,
    pub id: u64,
    pub db: usize,
    pub reply: ReplyBuf,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created_ms: i64,
    pub last_interaction_ms: i64,
    pub authenticated: bool,
    pub user: String,
    /// Send what is buffered, then close (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Close as soon as possible without sending more (CLIENT KILL, timeout, limits).
    pub killed: bool,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Full name of the last command run ("client|list"), for CLIENT LIST's `cmd=`.
    pub last_cmd: String,
    /// Wakes the connection task when another client changed this one (kill, pushes).
    pub wake: Rc<Notify>,
    /// Query buffer bytes, as of the last read (CLIENT LIST qbuf=).
    pub qbuf: usize,
    pub qbuf_free: usize,
    /// Bytes received and sent, for INFO and CLIENT LIST tot-net-in/out.
    pub net_in: u64,
    pub net_out: u64,
    pub commands_processed: u64,
    /// Pub/Sub subscriptions (pubsub.rs).
    pub subs: crate::pubsub::ClientSubs,
    /// When pending output first passed the pubsub soft limit (unix ms; 0 = under it).
    pub obuf_soft_since: i64,
    /// Where this client's own pub/sub messages go during the running command (pubsub.rs):
    /// Redis writes some commands' replies before their keyspace events.
    pub self_push_defer: crate::pubsub::Defer,
    /// Own messages held back until the command's reply is written.
    pub self_push_held: Vec<u8>,
    /// Set for the length of a top-level command whose replies CLIENT REPLY OFF/SKIP drops.
    /// Pushes to this client written meanwhile go to `kept_pushes` and survive the drop.
    pub replies_dropped: bool,
    /// A command held by CLIENT PAUSE (cmd/pause.rs), run when the pause ends.
    pub postponed: Option<Vec<Vec<u8>>>,
    pub kept_pushes: Vec<u8>,
    /// Length of `reply` when the running top-level command started.
    pub cmd_reply_start: usize,
    /// CLIENT TRACKING state (tracking.rs).
    pub tracking: crate::tracking::ClientTracking,
    /// Set by the connection task while it waits for input with nothing unprocessed, so a
    /// busy script's hook may read this client's socket itself (net/while_busy.rs).
    pub idle_read: bool,
    /// Bytes read by net/while_busy.rs that the task must process first.
    pub pending_input: Vec<u8>,
    /// Connected through the Unix socket (CLIENT LIST flag `U`).
    pub unix_socket: bool,
}

impl Client {
    /// Writes a push (pub/sub confirmation or message, tracking invalidation) to this client
    /// itself. Pushes are not replies: while CLIENT REPLY OFF/SKIP drops the running command's
    /// replies, they are set aside and appended after the drop (`cmd::finish_reply`).
    pub fn write_push<R>(&mut self, f: impl FnOnce(&mut Client) -> R) -> R {
        if !self.replies_dropped {
            return f(self);
        }
        std::mem::swap(&mut self.reply.buf, &mut self.kept_pushes);
        let r = f(self);
        std::mem::swap(&mut self.reply.buf, &mut self.kept_pushes);
        r
    }

    /// Redis's `mustObeyClient`: the AOF loading client (no replication yet), whose commands
    /// are applied even past limits a user's would hit (`proto-max-bulk-len` bit offsets,
    /// XADD/XTRIM LIMIT with an exact trim, as Redis's AOF holds).
    pub fn must_obey(&self) -> bool {
        self.id == AOF_CLIENT_ID
    }

    pub fn new(id: u64, addr: String, laddr: String, fd: i32, now_ms: i64) -> Self {
        Client {
            blocked: None,
            in_exec: false,
            multi: None,
            id,
            db: 0,
            reply: ReplyBuf::default(),
            name: None,
            lib_name: None,
            lib_ver: None,
            addr,
            laddr,
            fd,
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            authenticated: false,
            user: "default".into(),
            close_after_reply: false,
            killed: false,
            reply_mode: ReplyMode::On,
            no_evict: false,
            no_touch: false,
            last_cmd: "NULL".into(),
            wake: Rc::new(Notify::new()),
            qbuf: 0,
            qbuf_free: 0,
            net_in: 0,
            net_out: 0,
            commands_processed: 0,
            subs: Default::default(),
            obuf_soft_since: 0,
            self_push_defer: crate::pubsub::Defer::No,
            self_push_held: Vec::new(),
            replies_dropped: false,
            postponed: None,
            kept_pushes: Vec::new(),
            cmd_reply_start: 0,
            tracking: Default::default(),
            idle_read: false,
            pending_input: Vec::new(),
            unix_socket: false,
        }
    }

    /// A client that is not connected to anything (in-process tests, scripts later).
    pub fn detached(id: u64) -> Self {
        Client::new(id, "127.0.0.1:0".into(), "127.0.0.1:0".into(), -1, 0)
    }

    /// Asks the connection task to close this client.
    pub fn kill(&mut self) {
        self.killed = true;
        self.wake.notify_one();
    }
}
