//! The Redis wire protocol, and nothing else.
//!
//! - [`parse`] turns the bytes a client sent into requests (argument vectors). It understands
//!   both multibulk requests (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline commands (`GET k\n`),
//!   enforces Redis's protocol limits and reports violations with Redis's exact error texts.
//!   "Incomplete" is an expected outcome: the caller reads more and calls again.
//! - [`reply`] appends replies to an output buffer in RESP2 or RESP3. Writers never flush; the
//!   connection writes the whole buffer once per batch, which is what makes pipelining cheap.
//! - [`frame`] decodes whole RESP2/RESP3 values, for clients: the CLI, the benchmark, tests.
//!
//! No I/O happens here, so the server can later move parsing and reply writing to I/O threads
//! without touching this crate.

pub mod frame;
pub mod parse;
pub mod reply;

pub use frame::Frame;
pub use parse::{ParseError, Parser, Request};
pub use reply::{Proto, ReplyBuf};
