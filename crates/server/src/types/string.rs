//! String values with Redis's three encodings: `int`, `embstr`, `raw`.
//!
//! - `int`: the value is a decimal integer Redis would accept (`string2l` rules, at most 20
//!   chars), stored as an i64.
//! - `embstr`: up to 44 bytes, immutable; stored in a `CompactBytes` (inline up to 22 bytes).
//! - `raw`: longer strings, and any string that was modified in place (APPEND, SETRANGE), as
//!   Redis turns such strings raw; stored as a growable `Vec`.
//!
//! Encoding choice follows Redis's `tryObjectEncoding`, so OBJECT ENCODING matches.

use cinnabar_ds::CompactBytes;

/// Longest string Redis stores as embstr.
pub const EMBSTR_MAX: usize = 44;

#[derive(Debug, Clone)]
pub enum StrValue {
    Int(i64),
    Emb(CompactBytes),
    Raw(Box<Vec<u8>>),
}

impl StrValue {
    /// Encodes a value as SET does (int if possible, else embstr/raw by length).
    pub fn from_bytes(b: &[u8]) -> Self {
        if b.len() <= 20 {
            if let Some(n) = crate::util::parse_int(b) {
                return StrValue::Int(n);
            }
        }
        Self::from_bytes_no_int(b)
    }

    /// Encodes without trying the int form (Redis's `createStringObject`).
    pub fn from_bytes_no_int(b: &[u8]) -> Self {
        if b.len() <= EMBSTR_MAX {
            StrValue::Emb(CompactBytes::new(b))
        } else {
            StrValue::Raw(Box::new(b.to_vec()))
        }
    }

    /// Takes ownership of a buffer, encoding as SET does.
    pub fn from_vec(v: Vec<u8>) -> Self {
        if v.len() <= EMBSTR_MAX {
            return Self::from_bytes(&v);
        }
        StrValue::Raw(Box::new(v))
    }

    /// A `raw` string owning `v`, whatever its length or content: Redis's `createObject` with
    /// an sds, as SETRANGE does when it creates a key.
    pub fn raw(v: Vec<u8>) -> Self {
        StrValue::Raw(Box::new(v))
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Emb(_) => "embstr",
            StrValue::Raw(_) => "raw",
        }
    }

    /// The string's bytes (integers are formatted).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            StrValue::Int(n) => itoa::Buffer::new().format(*n).as_bytes().to_vec(),
            StrValue::Emb(b) => b.to_vec(),
            StrValue::Raw(v) => v.to_vec(),
        }
    }

    /// The string's bytes, borrowed unless the value is an integer.
    pub fn bytes(&self) -> std::borrow::Cow<'_, [u8]> {
        match self {
            StrValue::Int(_) => std::borrow::Cow::Owned(self.to_vec()),
            StrValue::Emb(b) => std::borrow::Cow::Borrowed(b),
            StrValue::Raw(v) => std::borrow::Cow::Borrowed(v),
        }
    }

    /// Calls `f` with the bytes, formatting integers on the stack (no allocation).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrValue::Int(n) => f(itoa::Buffer::new().format(*n).as_bytes()),
            StrValue::Emb(b) => f(b),
            StrValue::Raw(v) => f(v),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => itoa::Buffer::new().format(*n).len(),
            StrValue::Emb(b) => b.len(),
            StrValue::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer value, if the string is one (used by INCR and friends).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            StrValue::Int(n) => Some(*n),
            other => other.with_bytes(crate::util::parse_int),
        }
    }

    /// Turns the value raw and returns its buffer for in-place modification (APPEND, SETRANGE),
    /// as Redis's `dbUnshareStringValue` does.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            *self = StrValue::Raw(Box::new(self.to_vec()));
        }
        match self {
            StrValue::Raw(v) => v,
            _ => unreachable!("just made raw"),
        }
    }

    /// Appends in place (the value turns raw, as in Redis). Return value: the new length.
    pub fn append(&mut self, b: &[u8]) -> usize {
        let v = self.make_raw();
        v.extend_from_slice(b);
        v.len()
    }

    /// Overwrites the bytes at `offset` with `b`, zero-padding the string if it is shorter
    /// (SETRANGE). The value turns raw. Return value: the new length.
    pub fn set_range(&mut self, offset: usize, b: &[u8]) -> usize {
        let v = self.make_raw();
        let end = offset + b.len();
        if v.len() < end {
            v.resize(end, 0);
        }
        v[offset..end].copy_from_slice(b);
        v.len()
    }

    pub fn heap_size(&self) -> usize {
        match self {
            StrValue::Int(_) => 0,
            StrValue::Emb(b) => b.heap_size(),
            StrValue::Raw(v) => v.capacity() + 24,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_like_redis() {
        assert_eq!(StrValue::from_bytes(b"123").encoding(), "int");
        assert_eq!(
            StrValue::from_bytes(b"-9223372036854775808").encoding(),
            "int"
        );
        assert_eq!(StrValue::from_bytes(b"01").encoding(), "embstr");
        assert_eq!(StrValue::from_bytes(b"+1").encoding(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 45]).encoding(), "raw");
        let mut s = StrValue::from_bytes(b"12");
        s.make_raw().push(b'3');
        assert_eq!(s.encoding(), "raw");
        assert_eq!(s.to_vec(), b"123");
    }

    #[test]
    fn in_place_edits() {
        let mut s = StrValue::from_bytes(b"hello");
        assert_eq!(s.append(b" world"), 11);
        assert_eq!(s.encoding(), "raw");
        assert_eq!(s.set_range(6, b"W"), 11);
        assert_eq!(s.to_vec(), b"hello World");
        assert_eq!(s.set_range(13, b"!"), 14);
        assert_eq!(s.to_vec(), b"hello World\0\0!");
        let mut n = StrValue::from_bytes(b"-12");
        assert_eq!(n.len(), 3);
        assert_eq!(n.append(b"3"), 4);
        assert_eq!(n.as_int(), Some(-123));
        assert_eq!(n.encoding(), "raw");
        assert_eq!(StrValue::raw(b"12".to_vec()).encoding(), "raw");
        assert_eq!(StrValue::from_bytes_no_int(b"12").encoding(), "embstr");
        assert_eq!(StrValue::from_vec(b"12".to_vec()).encoding(), "int");
        assert_eq!(StrValue::from_vec(vec![b'x'; 45]).encoding(), "raw");
    }
}
