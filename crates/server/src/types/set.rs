//! Set values (placeholder: the sets worker replaces this with intset/listpack/hashtable encodings).

use std::collections::HashSet;

#[derive(Debug, Clone, Default)]
pub struct Set {
    pub members: HashSet<Vec<u8>>,
}

impl Set {
    pub fn len(&self) -> usize {
        self.members.len()
    }
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }
    pub fn heap_size(&self) -> usize {
        self.members.iter().map(|m| m.capacity() + 32).sum()
    }
}
