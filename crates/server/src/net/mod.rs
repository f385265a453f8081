//! Networking: listeners, and one task per connection.
//!
//! Request path: read socket → parse every whole request in the buffer → `cmd::call` each
//! (replies appended to the client's buffer) → one write. A pipeline of N commands thus costs
//! one read and one write. Parsing and writing are the only parts that touch bytes on the
//! wire, so I/O threads can take them over later without changing command code.

pub mod conn;
pub mod listener;
pub mod while_busy;
