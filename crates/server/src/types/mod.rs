//! Value types stored in the keyspace, and their encodings. No RESP here.
//!
//! Each key maps to an [`Obj`]: a [`Value`] plus the LRU/LFU clock Redis keeps in its object
//! header (for OBJECT IDLETIME/FREQ and, later, eviction). Every variant is at most 24 bytes so
//! that a keyspace entry (next pointer + key + object) fits a 64-byte allocation; large types
//! live behind a `Box`.

pub mod string;

pub use string::StrValue;

/// A stored value.
#[derive(Debug, Clone)]
pub enum Value {
    Str(StrValue),
}

impl Value {
    /// Name reported by TYPE.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// Name reported by OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
        }
    }

    /// Rough heap bytes owned by the value (MEMORY USAGE, lazy-free decisions).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
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
