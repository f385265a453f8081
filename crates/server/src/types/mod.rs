//! Value types stored in the keyspace, and their encodings. No RESP here.
//!
//! Each key maps to an [`Obj`]: a [`Value`] plus the LRU/LFU clock Redis keeps in its object
//! header (for OBJECT IDLETIME/FREQ and, later, eviction). Every variant is at most 24 bytes so
//! that a keyspace entry (next pointer + key + object) fits a 64-byte allocation; large types
//! live behind a `Box`.

pub mod bits;
pub mod hash;
pub mod list;
pub mod listpack;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use stream::Stream;
pub use string::StrValue;
pub use zset::ZSet;

/// A stored value.
#[derive(Debug, Clone)]
pub enum Value {
    Str(StrValue),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

impl Value {
    /// Name reported by TYPE.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// Name reported by OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(s) => s.encoding(),
        }
    }

    /// Rough heap bytes owned by the value (MEMORY USAGE, lazy-free decisions).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(s) => s.heap_size(),
        }
    }

    /// Number of elements for collections (1 for strings): Redis's free-effort estimate.
    pub fn elements(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(l) => l.len(),
            Value::Hash(h) => h.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
            // Redis's free effort for a stream counts its nodes (plus groups), not entries.
            Value::Stream(s) => s.node_count() + s.groups.len(),
        }
    }
}

/// A keyspace object: value plus the 24-bit LRU clock (minutes-ish resolution as in Redis) or
/// the LFU counter, depending on the eviction policy.
#[derive(Debug, Clone)]
pub struct Obj {
    pub val: Value,
    /// Last access time in seconds since the server's clock origin (truncated to u32), or, with
    /// an LFU policy, `(minutes << 8) | counter`.
    pub lru: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_sizes() {
        // A keyspace node is next (8) + key (24) + Obj; keep Obj at 32 so nodes stay 64 bytes.
        assert_eq!(std::mem::size_of::<StrValue>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Obj>(), 32);
    }
}
