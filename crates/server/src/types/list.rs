//! List values (placeholder: the lists worker replaces this with listpack/quicklist encodings).

use std::collections::VecDeque;

#[derive(Debug, Clone, Default)]
pub struct List {
    pub items: VecDeque<Vec<u8>>,
}

impl List {
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }
    pub fn heap_size(&self) -> usize {
        self.items.iter().map(|i| i.capacity() + 24).sum()
    }
}
