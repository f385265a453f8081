//! Hash values (placeholder: the hashes worker replaces this with listpack/hashtable encodings).

use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct Hash {
    pub map: HashMap<Vec<u8>, Vec<u8>>,
}

impl Hash {
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }
    pub fn heap_size(&self) -> usize {
        self.map
            .iter()
            .map(|(k, v)| k.capacity() + v.capacity() + 48)
            .sum()
    }
}
