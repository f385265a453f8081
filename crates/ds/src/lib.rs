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

/// splitmix64, a small generator whose every output bit is good, which
/// `Dict::random_entry`'s rejection sampling and `rnd() % n` draws both rely on (a plain
/// xorshift links the low bits of consecutive draws).
pub fn splitmix64(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
