//! `CompactBytes`: a 24-byte owned byte string with inline storage for short contents.
//!
//! Redis keys and small values are usually short ("user:1000", "42", "session:ab12"). A
//! `Vec<u8>` costs 24 bytes of header plus a heap block of at least 8 bytes (16 with jemalloc's
//! size classes) and a pointer chase. Here strings up to [`INLINE_CAP`] bytes live inside the
//! 24-byte value itself; longer ones use a boxed slice (16 bytes, one allocation). Hashing and
//! equality are those of `[u8]`, so a dict keyed by `CompactBytes` can be probed with `&[u8]`.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// Longest content stored without a heap allocation.
pub const INLINE_CAP: usize = 22;

#[derive(Clone)]
pub enum CompactBytes {
    Inline { len: u8, data: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
}

impl CompactBytes {
    pub fn new(s: &[u8]) -> Self {
        if s.len() <= INLINE_CAP {
            let mut data = [0u8; INLINE_CAP];
            data[..s.len()].copy_from_slice(s);
            CompactBytes::Inline {
                len: s.len() as u8,
                data,
            }
        } else {
            CompactBytes::Heap(s.into())
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, data } => &data[..*len as usize],
            CompactBytes::Heap(b) => b,
        }
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned beyond the 24-byte value itself (for memory accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            CompactBytes::Inline { .. } => 0,
            CompactBytes::Heap(b) => b.len(),
        }
    }
}

impl From<Vec<u8>> for CompactBytes {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAP {
            CompactBytes::new(&v)
        } else {
            CompactBytes::Heap(v.into_boxed_slice())
        }
    }
}

impl std::ops::Deref for CompactBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for CompactBytes {}

impl Hash for CompactBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl std::fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_roundtrip() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
        for n in [0, 1, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            assert_eq!(CompactBytes::new(&v).as_slice(), &v[..]);
            assert_eq!(CompactBytes::from(v.clone()).as_slice(), &v[..]);
        }
    }
}
