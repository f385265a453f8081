//! Sorted set values (placeholder: the zsets worker replaces this with listpack/skiplist encodings).

use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct ZSet {
    pub scores: HashMap<Vec<u8>, f64>,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.scores.len()
    }
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "skiplist"
    }
    pub fn heap_size(&self) -> usize {
        self.scores.keys().map(|m| m.capacity() + 40).sum()
    }
}
