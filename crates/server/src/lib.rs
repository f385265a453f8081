//! Cinnabar: a Redis-compatible in-memory data store.
//!
//! How a request travels: `net::listener` accepts a connection and spawns `net::conn::serve`
//! on the data thread. That task reads bytes, parses whole requests with `cinnabar_resp`, and
//! hands each to `cmd::call`, which looks the command up in the table built from the specs,
//! checks arity and authentication, and runs the handler of the command's family file
//! (`cmd/string.rs`, `cmd/keys.rs`, ...). Handlers read and write the keyspace through `db`
//! (databases, lazy and active expiry) and `types` (values and their encodings) and append
//! replies to the client's buffer; the task writes that buffer once per batch.
//!
//! Everything runs on one thread with a tokio current-thread runtime, as Redis runs on one
//! event loop: each command is atomic with no locks. Background threads only free memory
//! (`lazyfree`). See docs/architecture.md.

pub mod client;
pub mod cmd;
pub mod config;
pub mod db;
pub mod info;
pub mod lazyfree;
pub mod log;
pub mod net;
pub mod persist;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod shutdown;
pub mod testkit;
pub mod tracking;
pub mod types;
pub mod util;

mod runtime;

pub use runtime::run;

/// The Redis version whose behaviour we match (reported as redis_version, HELLO version).
pub const REDIS_VERSION: &str = "7.0.15";
/// Cinnabar's own version.
pub const CINNABAR_VERSION: &str = env!("CARGO_PKG_VERSION");
