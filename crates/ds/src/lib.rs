//! Data structures that know nothing about Redis commands or the wire protocol.
//!
//! - [`dict::Dict`]: the keyspace hash table. Chained buckets in power-of-two tables, grown and
//!   shrunk by *incremental rehashing* (a bucket at a time, spread over later operations and a
//!   time-bounded cron step) so no single command pays for a resize, and a SCAN cursor that keeps
//!   Redis's guarantee across resizes.
//! - [`compact::CompactBytes`]: an owned byte string of 24 bytes that keeps up to 22 bytes
//!   inline, so typical keys and small values need no second allocation.

pub mod compact;
pub mod dict;

pub use compact::CompactBytes;
pub use dict::Dict;
