//! Integration tests: one binary (fast to link) that starts the real `cinnabar-server` on free
//! loopback ports, and for differential tests a real `redis-server` beside it.
//!
//! - `differential`: runs every `tests/cases/*.txt` file against both servers and compares the
//!   replies byte for byte (see the file format in `differential.rs`).
//! - `protocol`: raw-bytes tests of framing, limits and error-then-close behaviour.
//! - `client_crate`: the `redis` crate over RESP2 and RESP3.

mod aof;
mod aof_damage;
mod aof_effects;
mod blocking;
mod check_tools;
mod client_crate;
mod clients;
mod differential;
mod harness;
mod lifecycle;
mod multi;
mod protocol;
mod pubsub;
mod rdb;
mod rdb_old;
mod sampling;
mod script_abuse;
mod script_stats;
mod scripting;
mod stream;
mod tracking;
