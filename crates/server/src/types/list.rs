//! List values: a quicklist-like deque of packed nodes (what Redis 7.0 calls "quicklist").
//!
//! A [`List`] is a `VecDeque` of [`Node`]s; each node is one `Vec<u8>` holding entries packed
//! back to back, bounded by `list-max-listpack-size` (negative: a byte limit, -2 = 8 KB;
//! positive: an entry count). An entry is `tag | payload | backlen`:
//! - `0xxxxxxx`            integer 0..127 in the tag itself;
//! - `10llllll`            string of up to 63 bytes;
//! - `110iiiii iiiiiiii`   13-bit signed integer;
//! - `1110llll llllllll`   string of up to 4095 bytes;
//! - `0xF0` + u32 len      longer strings (`0xF5` + u64 len beyond 4 GB);
//! - `0xF1..0xF4`          16/24/32/64-bit signed integers.
//!
//! Strings that are canonical decimal integers are stored as integers, so "12345" takes 3
//! bytes. `backlen` is the size of tag + payload as a varint read right to left, so a node can
//! be walked in both directions (RPOP, LRANGE from the tail, LPOS with a negative rank) without
//! decoding it from the start. Each node knows its entry count, so indexing skips whole nodes
//! from the nearer end and only decodes inside one node (at most 8 KB).
//!
//! Why this layout: a `VecDeque<Vec<u8>>` costs 24 bytes of header plus an allocation (16+
//! bytes with jemalloc) per element; packed nodes cost 2 bytes of framing for short elements.
//! Node buffers grow by 1/8 at most and are shrunk to fit when a new node is started next to
//! them, so the slack stays small. The node structs live inline in the deque (no per-node
//! allocation besides the packed buffer).

use super::listpack::{backlen_len, canonical_int, encode_str};
use std::collections::VecDeque;

/// Redis's `SIZE_SAFETY_LIMIT`: a count-limited node never grows past this many bytes.
const SIZE_SAFETY_LIMIT: usize = 8192;

/// Byte limit of a node for a negative `list-max-listpack-size`.
fn byte_limit(fill: i32) -> usize {
    match fill {
        -1 => 4096,
        -2 => 8192,
        -3 => 16384,
        -4 => 32768,
        f if f <= -5 => 65536,
        _ => SIZE_SAFETY_LIMIT,
    }
}

/// One element as stored: raw bytes or an integer (decimal string on the way out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    /// The element as an owned byte string.
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Elem::Bytes(b) => b.to_vec(),
            Elem::Int(i) => itoa::Buffer::new().format(i).as_bytes().to_vec(),
        }
    }

    /// Writes the element as a bulk reply.
    pub fn write(self, out: &mut cinnabar_resp::ReplyBuf) {
        match self {
            Elem::Bytes(b) => out.bulk(b),
            Elem::Int(i) => out.bulk_int(i),
        }
    }

    /// True if the element equals `needle`.
    pub fn matches(self, needle: &Needle) -> bool {
        match self {
            Elem::Bytes(b) => needle.int.is_none() && b == needle.bytes.as_slice(),
            Elem::Int(i) => needle.int == Some(i),
        }
    }
}

/// A value searched for (LREM, LPOS, LINSERT's pivot), pre-classified like stored entries.
pub struct Needle {
    bytes: Vec<u8>,
    int: Option<i64>,
}

impl Needle {
    pub fn new(v: &[u8]) -> Self {
        Needle {
            bytes: v.to_vec(),
            int: canonical_int(v),
        }
    }
}

/// Encodes one entry (tag, payload, backlen) at the end of `out`.
fn encode(v: &[u8], out: &mut Vec<u8>) {
    encode_str(out, v);
}

/// Bytes `encode` would append for `v` (an upper bound is enough; this is exact).
fn encoded_len(v: &[u8]) -> usize {
    let size = match canonical_int(v) {
        Some(i) if (0..=127).contains(&i) => 1,
        Some(i) if (-4096..4096).contains(&i) => 2,
        Some(i) if i16::try_from(i).is_ok() => 3,
        Some(i) if (-(1 << 23)..(1 << 23)).contains(&i) => 4,
        Some(i) if i32::try_from(i).is_ok() => 5,
        Some(_) => 9,
        None => {
            let n = v.len();
            n + match n {
                0..=63 => 1,
                64..=4095 => 2,
                _ if u32::try_from(n).is_ok() => 5,
                _ => 9,
            }
        }
    };
    size + backlen_len(size)
}

/// Decodes the entry starting at `off`. Return value: the element and the entry's total size.
fn decode(buf: &[u8], off: usize) -> (Elem<'_>, usize) {
    let tag = buf[off];
    let rd = |from: usize, n: usize| -> u64 {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&buf[from..from + n]);
        u64::from_le_bytes(b)
    };
    let (elem, size) = match tag {
        0x00..=0x7F => (Elem::Int(tag as i64), 1),
        0x80..=0xBF => {
            let n = (tag & 0x3f) as usize;
            (Elem::Bytes(&buf[off + 1..off + 1 + n]), 1 + n)
        }
        0xC0..=0xDF => {
            let u = (((tag & 0x1f) as u16) << 8) | buf[off + 1] as u16;
            // Sign-extend 13 bits.
            let i = ((u << 3) as i16 >> 3) as i64;
            (Elem::Int(i), 2)
        }
        0xE0..=0xEF => {
            let n = (((tag & 0x0f) as usize) << 8) | buf[off + 1] as usize;
            (Elem::Bytes(&buf[off + 2..off + 2 + n]), 2 + n)
        }
        0xF0 => {
            let n = rd(off + 1, 4) as usize;
            (Elem::Bytes(&buf[off + 5..off + 5 + n]), 5 + n)
        }
        0xF5 => {
            let n = rd(off + 1, 8) as usize;
            (Elem::Bytes(&buf[off + 9..off + 9 + n]), 9 + n)
        }
        0xF1 => (Elem::Int(rd(off + 1, 2) as u16 as i16 as i64), 3),
        0xF2 => {
            let u = rd(off + 1, 3) as u32;
            (Elem::Int(((u << 8) as i32 >> 8) as i64), 4)
        }
        0xF3 => (Elem::Int(rd(off + 1, 4) as u32 as i32 as i64), 5),
        _ => (Elem::Int(rd(off + 1, 8) as i64), 9),
    };
    (elem, size + backlen_len(size))
}

/// Start offset of the entry that ends at `end`.
fn prev_start(buf: &[u8], end: usize) -> usize {
    let mut size = 0usize;
    let mut shift = 0;
    let mut p = end;
    loop {
        p -= 1;
        let b = buf[p];
        size |= ((b & 0x7f) as usize) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    p - size
}

/// One packed node.
#[derive(Debug, Clone, Default)]
struct Node {
    buf: Vec<u8>,
    count: u32,
}

impl Node {
    /// Makes room for `extra` bytes, growing by at most 1/8 beyond what is needed.
    fn reserve(&mut self, extra: usize) {
        let need = self.buf.len() + extra;
        if need <= self.buf.capacity() {
            return;
        }
        let cap = self.buf.capacity();
        let target = need.max(cap + cap / 8).next_multiple_of(16);
        self.buf.reserve_exact(target - self.buf.len());
    }

    fn push_back(&mut self, v: &[u8]) {
        self.reserve(encoded_len(v));
        encode(v, &mut self.buf);
        self.count += 1;
    }

    fn push_front(&mut self, v: &[u8]) {
        self.insert_at_offset(0, v);
    }

    /// Inserts an entry at byte offset `off`: encoded at the end, then rotated into place
    /// (one memmove, no temporary buffer).
    fn insert_at_offset(&mut self, off: usize, v: &[u8]) {
        let n = encoded_len(v);
        self.reserve(n);
        encode(v, &mut self.buf);
        self.buf[off..].rotate_right(n);
        self.count += 1;
    }

    /// Byte offset of the entry at position `i` (< count), walking from the nearer end.
    fn offset_of(&self, i: usize) -> usize {
        let n = self.count as usize;
        if i <= n / 2 {
            let mut off = 0;
            for _ in 0..i {
                off += decode(&self.buf, off).1;
            }
            off
        } else {
            let mut off = self.buf.len();
            for _ in 0..n - i {
                off = prev_start(&self.buf, off);
            }
            off
        }
    }

    fn get(&self, i: usize) -> Elem<'_> {
        decode(&self.buf, self.offset_of(i)).0
    }

    /// Removes `n` entries starting at position `i`.
    fn remove_range(&mut self, i: usize, n: usize) {
        if n == 0 {
            return;
        }
        if i == 0 && n == self.count as usize {
            self.buf = Vec::new();
            self.count = 0;
            return;
        }
        let start = self.offset_of(i);
        let mut end = start;
        for _ in 0..n {
            end += decode(&self.buf, end).1;
        }
        self.buf.drain(start..end);
        self.count -= n as u32;
    }

    /// Offsets of every entry, in order.
    fn offsets(&self) -> Vec<usize> {
        let mut v = Vec::with_capacity(self.count as usize);
        let mut off = 0;
        while off < self.buf.len() {
            v.push(off);
            off += decode(&self.buf, off).1;
        }
        v
    }

    /// Splits off the entries from position `i` on into a new node.
    fn split_off(&mut self, i: usize) -> Node {
        let off = self.offset_of(i);
        let tail = self.buf[off..].to_vec();
        self.buf.truncate(off);
        self.buf.shrink_to_fit();
        let moved = self.count - i as u32;
        self.count = i as u32;
        Node {
            buf: tail,
            count: moved,
        }
    }
}

/// Where `List::locate` found a position: node index and position inside the node.
#[derive(Clone, Copy)]
struct Pos {
    node: usize,
    at: usize,
}

/// A list value.
#[derive(Debug, Clone)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    /// `list-max-listpack-size` when the list was created (as Redis keeps it per quicklist).
    fill: i32,
}

impl Default for List {
    fn default() -> Self {
        List::new(-2)
    }
}

impl List {
    /// An empty list whose nodes follow `list-max-listpack-size` = `fill`.
    pub fn new(fill: i32) -> Self {
        List {
            nodes: VecDeque::new(),
            len: 0,
            fill: if fill == 0 { 1 } else { fill },
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Redis 7.0 reports every list as a quicklist.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.buf.capacity()).sum::<usize>()
    }

    /// Entry count of each packed node, head first (RDB saving keeps Redis's node split).
    pub fn node_counts(&self) -> impl Iterator<Item = usize> + '_ {
        self.nodes.iter().map(|n| n.count as usize)
    }

    /// Number of packed nodes (for tests and DEBUG-style introspection).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// True if `node` may take one more entry of `extra` encoded bytes.
    fn allows(&self, node: &Node, extra: usize) -> bool {
        if node.count == 0 {
            return true;
        }
        let size = node.buf.len() + extra;
        if self.fill > 0 {
            (node.count as i64) < self.fill as i64 && size <= SIZE_SAFETY_LIMIT
        } else {
            size <= byte_limit(self.fill)
        }
    }

    /// True if `node` holds more than a node should (after an insert or replace in the middle).
    fn over(&self, node: &Node) -> bool {
        if node.count <= 1 {
            return false;
        }
        if self.fill > 0 {
            node.count as i64 > self.fill as i64 || node.buf.len() > SIZE_SAFETY_LIMIT
        } else {
            node.buf.len() > byte_limit(self.fill)
        }
    }

    /// Adds an empty node at one end; a list's first node gets an exact-size deque buffer
    /// (most lists are small), later ones let the deque double.
    fn new_node(&mut self, front: bool) {
        if self.nodes.capacity() == 0 {
            self.nodes.reserve_exact(1);
        }
        if front {
            self.nodes.push_front(Node::default());
        } else {
            self.nodes.push_back(Node::default());
        }
    }

    pub fn push_back(&mut self, v: &[u8]) {
        let extra = encoded_len(v);
        let fits = self.nodes.back().is_some_and(|n| self.allows(n, extra));
        if !fits {
            if let Some(last) = self.nodes.back_mut() {
                last.buf.shrink_to_fit();
            }
            self.new_node(false);
        }
        if let Some(n) = self.nodes.back_mut() {
            n.push_back(v);
        }
        self.len += 1;
    }

    /// Appends the entries `fill` hands over as one new node at the tail, whatever the node
    /// size limit, as Redis's `quicklistAppendListpack` does when it loads a quicklist: the
    /// file's node split is kept (so DUMP and SAVE write the same nodes back). An empty node
    /// is not kept, and nothing is kept when `fill` fails. Return value: what `fill` returned.
    pub fn push_node<E>(
        &mut self,
        fill: impl FnOnce(&mut dyn FnMut(&[u8])) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut node = Node::default();
        fill(&mut |v| node.push_back(v))?;
        if node.count > 0 {
            if let Some(last) = self.nodes.back_mut() {
                last.buf.shrink_to_fit();
            }
            node.buf.shrink_to_fit();
            self.len += node.count as usize;
            self.nodes.push_back(node);
        }
        Ok(())
    }

    pub fn push_front(&mut self, v: &[u8]) {
        let extra = encoded_len(v);
        let fits = self.nodes.front().is_some_and(|n| self.allows(n, extra));
        if !fits {
            if let Some(first) = self.nodes.front_mut() {
                first.buf.shrink_to_fit();
            }
            self.new_node(true);
        }
        if let Some(n) = self.nodes.front_mut() {
            n.push_front(v);
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.front_mut()?;
        let (e, size) = decode(&node.buf, 0);
        let v = e.to_vec();
        if node.count == 1 {
            self.nodes.pop_front();
        } else {
            node.buf.drain(..size);
            node.count -= 1;
        }
        self.len -= 1;
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let node = self.nodes.back_mut()?;
        let start = prev_start(&node.buf, node.buf.len());
        let v = decode(&node.buf, start).0.to_vec();
        if node.count == 1 {
            self.nodes.pop_back();
        } else {
            node.buf.truncate(start);
            node.count -= 1;
        }
        self.len -= 1;
        Some(v)
    }

    /// Finds the node holding position `i` (< len), skipping nodes from the nearer end.
    fn locate(&self, i: usize) -> Pos {
        if i < self.len / 2 {
            let mut rest = i;
            for (k, n) in self.nodes.iter().enumerate() {
                if rest < n.count as usize {
                    return Pos { node: k, at: rest };
                }
                rest -= n.count as usize;
            }
        } else {
            let mut end = self.len;
            for (k, n) in self.nodes.iter().enumerate().rev() {
                let start = end - n.count as usize;
                if i >= start {
                    return Pos {
                        node: k,
                        at: i - start,
                    };
                }
                end = start;
            }
        }
        Pos { node: 0, at: 0 }
    }

    /// Resolves a Redis index (negative from the end) to a position, if in range.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let len = self.len as i64;
        let i = if index < 0 { len + index } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// Element at position `i`.
    pub fn get(&self, i: usize) -> Option<Elem<'_>> {
        if i >= self.len {
            return None;
        }
        let p = self.locate(i);
        Some(self.nodes[p.node].get(p.at))
    }

    /// Replaces the element at position `i`. Return value: false if out of range.
    pub fn set(&mut self, i: usize, v: &[u8]) -> bool {
        if i >= self.len {
            return false;
        }
        let p = self.locate(i);
        let node = &mut self.nodes[p.node];
        let off = node.offset_of(p.at);
        let old = decode(&node.buf, off).1;
        let mut e = Vec::with_capacity(encoded_len(v));
        encode(v, &mut e);
        node.buf.splice(off..off + old, e);
        self.fix_over(p.node);
        true
    }

    /// Inserts `v` so that it becomes position `i` (0..=len).
    pub fn insert(&mut self, i: usize, v: &[u8]) {
        if i == 0 {
            return self.push_front(v);
        }
        if i >= self.len {
            return self.push_back(v);
        }
        let p = self.locate(i);
        let extra = encoded_len(v);
        // At a node boundary, prefer appending to the previous node if it has room.
        if p.at == 0 && p.node > 0 && self.allows(&self.nodes[p.node - 1], extra) {
            self.nodes[p.node - 1].push_back(v);
        } else {
            let node = &mut self.nodes[p.node];
            let off = node.offset_of(p.at);
            node.insert_at_offset(off, v);
            self.fix_over(p.node);
        }
        self.len += 1;
    }

    /// Splits node `k` in halves, recursively, while it outgrows its limit (a node holding a
    /// single entry never does).
    fn fix_over(&mut self, k: usize) {
        if self.over(&self.nodes[k]) {
            let half = self.nodes[k].count as usize / 2;
            let tail = self.nodes[k].split_off(half);
            self.nodes.insert(k + 1, tail);
            self.fix_over(k + 1);
            self.fix_over(k);
        }
    }

    /// Removes `n` elements starting at position `start` (clamped to the list).
    pub fn remove_range(&mut self, start: usize, n: usize) {
        if start >= self.len || n == 0 {
            return;
        }
        let mut left = n.min(self.len - start);
        let p = self.locate(start);
        self.len -= left;
        let mut k = p.node;
        if p.at > 0 {
            // Part of the first node (never all of it: it keeps position `at - 1`).
            let take = left.min(self.nodes[k].count as usize - p.at);
            self.nodes[k].remove_range(p.at, take);
            left -= take;
            k += 1;
        }
        // Whole nodes go in one drain, then the head of the last node.
        let mut end = k;
        while left > 0 && end < self.nodes.len() && self.nodes[end].count as usize <= left {
            left -= self.nodes[end].count as usize;
            end += 1;
        }
        self.nodes.drain(k..end);
        if left > 0 {
            self.nodes[k].remove_range(0, left);
        }
    }

    /// Keeps only positions `start..start+n` (LTRIM).
    pub fn keep_range(&mut self, start: usize, n: usize) {
        if start >= self.len {
            self.nodes.clear();
            self.len = 0;
            return;
        }
        let n = n.min(self.len - start);
        let after = self.len - start - n;
        self.remove_range(start + n, after);
        self.remove_range(0, start);
    }

    /// Calls `f` for the elements at positions `start..start+n` (clamped), in order.
    pub fn for_range(&self, start: usize, n: usize, mut f: impl FnMut(Elem<'_>)) {
        if start >= self.len {
            return;
        }
        let mut left = n.min(self.len - start);
        let p = self.locate(start);
        let mut off = self.nodes[p.node].offset_of(p.at);
        for node in self.nodes.range(p.node..) {
            while left > 0 && off < node.buf.len() {
                let (e, sz) = decode(&node.buf, off);
                f(e);
                off += sz;
                left -= 1;
            }
            if left == 0 {
                break;
            }
            off = 0;
        }
    }

    /// Iterates elements from the head (or from the tail with `reverse`) with their positions;
    /// `f` returns false to stop.
    pub fn scan(&self, reverse: bool, mut f: impl FnMut(usize, Elem<'_>) -> bool) {
        if !reverse {
            let mut i = 0;
            for node in &self.nodes {
                let mut off = 0;
                while off < node.buf.len() {
                    let (e, sz) = decode(&node.buf, off);
                    if !f(i, e) {
                        return;
                    }
                    off += sz;
                    i += 1;
                }
            }
        } else {
            let mut i = self.len;
            for node in self.nodes.iter().rev() {
                let mut end = node.buf.len();
                while end > 0 {
                    let start = prev_start(&node.buf, end);
                    i -= 1;
                    if !f(i, decode(&node.buf, start).0) {
                        return;
                    }
                    end = start;
                }
            }
        }
    }

    /// Removes up to `limit` elements equal to `needle` (0 = all), from the tail with
    /// `reverse`. Return value: how many were removed.
    pub fn remove_matching(&mut self, needle: &Needle, limit: usize, reverse: bool) -> usize {
        let mut removed = 0;
        let order: Vec<usize> = if reverse {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        let mut emptied = false;
        for k in order {
            if limit != 0 && removed >= limit {
                break;
            }
            let node = &mut self.nodes[k];
            let offs = node.offsets();
            let mut hits: Vec<usize> = Vec::new();
            let idx: Box<dyn Iterator<Item = usize>> = if reverse {
                Box::new((0..offs.len()).rev())
            } else {
                Box::new(0..offs.len())
            };
            for j in idx {
                if limit != 0 && removed + hits.len() >= limit {
                    break;
                }
                if decode(&node.buf, offs[j]).0.matches(needle) {
                    hits.push(j);
                }
            }
            if hits.is_empty() {
                continue;
            }
            removed += hits.len();
            hits.sort_unstable();
            let mut out = Vec::with_capacity(node.buf.len());
            let mut h = 0;
            for (j, &o) in offs.iter().enumerate() {
                let end = offs.get(j + 1).copied().unwrap_or(node.buf.len());
                if h < hits.len() && hits[h] == j {
                    h += 1;
                    continue;
                }
                out.extend_from_slice(&node.buf[o..end]);
            }
            node.count -= hits.len() as u32;
            out.shrink_to_fit();
            node.buf = out;
            emptied |= node.count == 0;
        }
        if emptied {
            self.nodes.retain(|n| n.count > 0);
        }
        self.len -= removed;
        removed
    }

    /// All elements, head first (tests, conversions).
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        let mut v = Vec::with_capacity(self.len);
        self.for_range(0, self.len, |e| v.push(e.to_vec()));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[test]
    fn encodings_round_trip() {
        let vals: Vec<Vec<u8>> = [
            "0",
            "1",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-4097",
            "32767",
            "-32768",
            "32768",
            "8388607",
            "-8388608",
            "8388608",
            "2147483647",
            "-2147483648",
            "2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-0",
            "01",
            "+1",
            "",
            "abc",
            " 1",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![7u8; 4095],
            vec![0u8; 4096],
        ])
        .chain([vec![b'z'; 100_000]])
        .collect();
        for v in &vals {
            let mut buf = Vec::new();
            encode(v, &mut buf);
            assert_eq!(buf.len(), encoded_len(v), "{v:?}");
            let (e, sz) = decode(&buf, 0);
            assert_eq!(sz, buf.len());
            assert_eq!(&e.to_vec(), v);
            assert_eq!(prev_start(&buf, buf.len()), 0);
            assert!(e.matches(&Needle::new(v)));
        }
    }

    #[test]
    fn nodes_stay_bounded() {
        let mut l = List::default();
        for i in 0..100_000 {
            l.push_back(format!("element:{i}").as_bytes());
        }
        assert_eq!(l.len(), 100_000);
        assert!(l.node_count() > 100);
        assert!(l.nodes.iter().all(|n| n.buf.len() <= 8192));
        assert_eq!(
            l.get(54_321).map(|e| e.to_vec()),
            Some(b"element:54321".to_vec())
        );
        let per_elem = l.heap_size() as f64 / 100_000.0;
        assert!(per_elem < 16.0, "{per_elem}");
        // Big elements inserted in the middle end up split into bounded nodes.
        let mut m = List::default();
        for i in 0..50 {
            m.push_back(format!("{i}").as_bytes());
        }
        for i in 0..20 {
            m.insert(10 + i * 2, &vec![b'q'; 5000]);
            m.set(5, &vec![b's'; 7000]);
        }
        assert!(m.nodes.iter().all(|n| n.count == 1 || n.buf.len() <= 8192));
        assert_eq!(m.len(), 70);
        let mut c = List::new(3);
        for i in 0..10 {
            c.push_front(i.to_string().as_bytes());
        }
        assert_eq!(c.node_count(), 4);
    }

    #[derive(Debug, Clone)]
    enum Op {
        PushL(Vec<u8>),
        PushR(Vec<u8>),
        PopL,
        PopR,
        Insert(usize, Vec<u8>),
        Set(usize, Vec<u8>),
        Trim(usize, usize),
        Rem(Vec<u8>, usize, bool),
        RemoveRange(usize, usize),
        Range(usize, usize),
    }

    fn val() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (0i64..200).prop_map(|i| i.to_string().into_bytes()),
            any::<i64>().prop_map(|i| i.to_string().into_bytes()),
            prop::collection::vec(any::<u8>(), 0..8),
            prop::collection::vec(any::<u8>(), 60..300),
            Just(vec![b'a']),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => val().prop_map(Op::PushL),
            4 => val().prop_map(Op::PushR),
            1 => Just(Op::PopL),
            1 => Just(Op::PopR),
            2 => (0usize..400, val()).prop_map(|(i, v)| Op::Insert(i, v)),
            2 => (0usize..400, val()).prop_map(|(i, v)| Op::Set(i, v)),
            1 => (0usize..50, 0usize..400).prop_map(|(s, n)| Op::Trim(s, n)),
            1 => (val(), 0usize..4, any::<bool>()).prop_map(|(v, n, r)| Op::Rem(v, n, r)),
            1 => (0usize..400, 0usize..40).prop_map(|(s, n)| Op::RemoveRange(s, n)),
            1 => (0usize..400, 0usize..100).prop_map(|(s, n)| Op::Range(s, n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn matches_vecdeque(fill in prop_oneof![Just(-2i32), Just(-1), Just(2), Just(5)],
                            ops in prop::collection::vec(op(), 0..400)) {
            let mut l = List::new(fill);
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for o in ops {
                match o {
                    Op::PushL(v) => { l.push_front(&v); m.push_front(v); }
                    Op::PushR(v) => { l.push_back(&v); m.push_back(v); }
                    Op::PopL => prop_assert_eq!(l.pop_front(), m.pop_front()),
                    Op::PopR => prop_assert_eq!(l.pop_back(), m.pop_back()),
                    Op::Insert(i, v) => {
                        let i = i.min(m.len());
                        l.insert(i, &v);
                        m.insert(i, v);
                    }
                    Op::Set(i, v) => {
                        let ok = l.set(i, &v);
                        prop_assert_eq!(ok, i < m.len());
                        if ok { m[i] = v; }
                    }
                    Op::Trim(s, n) => {
                        l.keep_range(s, n);
                        let v: Vec<_> = m.iter().skip(s).take(n).cloned().collect();
                        m = v.into();
                    }
                    Op::Rem(v, n, rev) => {
                        let got = l.remove_matching(&Needle::new(&v), n, rev);
                        let mut removed = 0;
                        let idx: Vec<usize> = if rev { (0..m.len()).rev().collect() } else { (0..m.len()).collect() };
                        let mut del = Vec::new();
                        for j in idx {
                            if n != 0 && removed == n { break; }
                            if m[j] == v { del.push(j); removed += 1; }
                        }
                        del.sort_unstable();
                        for j in del.into_iter().rev() { m.remove(j); }
                        prop_assert_eq!(got, removed);
                    }
                    Op::RemoveRange(s, n) => {
                        l.remove_range(s, n);
                        if s < m.len() {
                            let e = (s + n).min(m.len());
                            m.drain(s..e);
                        }
                    }
                    Op::Range(s, n) => {
                        let mut got = Vec::new();
                        l.for_range(s, n, |e| got.push(e.to_vec()));
                        let want: Vec<_> = m.iter().skip(s).take(n).cloned().collect();
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert_eq!(l.len(), m.len());
                prop_assert!(l.nodes.iter().all(|n| n.count > 0));
                prop_assert_eq!(l.nodes.iter().map(|n| n.count as usize).sum::<usize>(), m.len());
            }
            let want: Vec<_> = m.iter().cloned().collect();
            prop_assert_eq!(l.to_vec(), want.clone());
            let mut rev = Vec::new();
            l.scan(true, |i, e| { rev.push((i, e.to_vec())); true });
            rev.reverse();
            let want_rev: Vec<_> = want.into_iter().enumerate().collect();
            prop_assert_eq!(rev, want_rev);
            for (i, v) in m.iter().enumerate() {
                prop_assert_eq!(l.get(i).map(|e| e.to_vec()), Some(v.clone()));
            }
        }
    }
}
