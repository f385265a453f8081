//! Stream values: entries keyed by 128-bit IDs (`ms-seq`), kept as Redis 7.0 keeps them.
//!
//! How it works:
//! - The stream is an ordered map (`BTreeMap`, where Redis uses a radix tree) from a node's
//!   **master ID** (the ID of the first entry ever added to it) to a **node**: one listpack in
//!   Redis's exact byte format (`lp.rs`). A node starts with a master entry
//!   `count, deleted, n, field1..fieldn, 0` (live entries, tombstones, the master fields) and
//!   then holds entries `flags, ms-delta, seq-delta, [n, field, value ...] | [value ...],
//!   lp-count`: IDs are stored as deltas from the master ID, and an entry whose fields are the
//!   master fields (flag `SAMEFIELDS`) stores only its values, so a stream of uniform records
//!   costs little more than its values. `lp-count` (the entry's element count) lets the node
//!   be walked backwards for XREVRANGE.
//! - New entries go to the last node until it reaches `stream-node-max-bytes` (counting the
//!   listpack bytes plus the new field/value bytes, as Redis's `streamAppendItem`) or
//!   `stream-node-max-entries` (live + deleted); then a new node starts. Deleting marks the
//!   entry's flags `DELETED` and updates the master counts; a node whose last live entry goes
//!   is dropped whole. Trimming drops whole nodes from the front and, for exact trims, marks
//!   entries inside the first remaining node, as Redis's `streamTrim`.
//! - Because nodes are Redis's own bytes split at Redis's points, an RDB or DUMP payload is the
//!   nodes as they are, byte-identical to what redis-server writes for the same commands.
//! - Besides the nodes: length, last generated ID, first live ID, the largest deleted ID, and
//!   the count of entries ever added (XINFO STREAM, XSETID, RDB type 21). `groups` is the
//!   place for consumer groups, which this slice does not build yet.
//!
//! Memory, measured against redis-server 7.0.15 (one stream of 1M entries
//! `XADD s <n>-0 f1 <8 bytes> f2 <8 bytes>`, loaded with redis-cli): `used_memory` 31.8 MB
//! vs 32.4 MB, RSS 44.0 MB vs 44.1 MB (both from ~12 MB empty), ~20 bytes per entry. The node
//! bytes are Redis's own; a closed node is shrunk to fit as Redis does (without it the
//! `Vec` growth slack cost 10 MB more), and a `BTreeMap` slot per 100 entries costs about
//! what Redis's rax path per node does.

pub mod lp;

use std::collections::BTreeMap;
use std::fmt;

use lp::Ele;

/// An entry ID: milliseconds and sequence number, ordered as the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next ID (Redis's `streamIncrID`); `None` after the maximum.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID (Redis's `streamDecrID`); `None` before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// The 16-byte big-endian key Redis uses in its radix tree and RDB files.
    pub fn to_key(self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }

    pub fn from_key(k: &[u8; 16]) -> Self {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&k[..8]);
        seq.copy_from_slice(&k[8..]);
        StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq))
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Entry flags (Redis's `STREAM_ITEM_FLAG_*`).
const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// Node size limits, read from the config by the command layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `stream-node-max-bytes` (0: no limit but Redis's 1 GiB listpack cap).
    pub node_max_bytes: usize,
    /// `stream-node-max-entries` (0: no limit).
    pub node_max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            node_max_bytes: 4096,
            node_max_entries: 100,
        }
    }
}

/// A listpack never grows past this (Redis's `STREAM_LISTPACK_MAX_SIZE`).
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// A trimming rule (XADD MAXLEN/MINID, XTRIM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// Why an append was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddError {
    /// The ID is not greater than the last one (Redis's `EDOM`).
    IdTooSmall,
    /// The fields and values exceed what a listpack can hold (Redis's `ERANGE`).
    TooLarge,
}

/// A consumer group (not built in this slice: the field keeps the layout's place).
#[derive(Debug, Clone)]
pub struct ConsumerGroup;

/// The master entry of a node, decoded.
struct Master {
    count: i64,
    deleted: i64,
    nfields: usize,
    /// Offset of the first master field.
    fields_at: usize,
    /// Offset of the first entry (after the master terminator).
    entries_at: usize,
}

fn master(node: &[u8]) -> Master {
    let p = lp::HDR;
    let count = lp::get(node, p).int();
    let p = lp::next(node, p);
    let deleted = lp::get(node, p).int();
    let p = lp::next(node, p);
    let nfields = lp::get(node, p).int().max(0) as usize;
    let fields_at = lp::next(node, p);
    let mut q = fields_at;
    for _ in 0..nfields {
        if lp::at_end(node, q) {
            break;
        }
        q = lp::next(node, q);
    }
    Master {
        count,
        deleted,
        nfields,
        fields_at,
        entries_at: lp::next(node, q),
    }
}

/// One entry as found in a node.
pub struct Entry<'a> {
    pub id: StreamId,
    node: &'a [u8],
    flags: i64,
    nfields: usize,
    /// Offset of the first master field (used with SAMEFIELDS).
    master_fields: usize,
    /// Offset of the first field (or value, with SAMEFIELDS).
    data: usize,
    /// Offset of the flags element.
    start: usize,
    /// Offset after the lp-count element.
    end: usize,
}

impl<'a> Entry<'a> {
    pub fn deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }

    /// Number of field/value pairs.
    pub fn len(&self) -> usize {
        self.nfields
    }

    pub fn is_empty(&self) -> bool {
        self.nfields == 0
    }

    /// The field/value pairs in order.
    pub fn pairs(&self) -> impl Iterator<Item = (Ele<'a>, Ele<'a>)> + '_ {
        let node = self.node;
        let same = self.flags & FLAG_SAMEFIELDS != 0;
        let mut f = if same { self.master_fields } else { self.data };
        let mut v = self.data;
        (0..self.nfields).map(move |_| {
            if same {
                let pair = (lp::get(node, f), lp::get(node, v));
                f = lp::next(node, f);
                v = lp::next(node, v);
                pair
            } else {
                let fv = lp::next(node, v);
                let pair = (lp::get(node, v), lp::get(node, fv));
                v = lp::next(node, fv);
                pair
            }
        })
    }
}

/// Decodes the entry whose flags element is at `p`.
fn entry_at<'a>(node: &'a [u8], m: &Master, master_id: StreamId, p: usize) -> Entry<'a> {
    let flags = lp::get(node, p).int();
    let q = lp::next(node, p);
    let ms = master_id.ms.wrapping_add(lp::get(node, q).int() as u64);
    let q = lp::next(node, q);
    let seq = master_id.seq.wrapping_add(lp::get(node, q).int() as u64);
    let mut q = lp::next(node, q);
    let (nfields, elems) = if flags & FLAG_SAMEFIELDS != 0 {
        (m.nfields, m.nfields)
    } else {
        let n = lp::get(node, q).int().max(0) as usize;
        q = lp::next(node, q);
        (n, n.saturating_mul(2))
    };
    let data = q;
    for _ in 0..elems {
        if lp::at_end(node, q) {
            break;
        }
        q = lp::next(node, q);
    }
    Entry {
        id: StreamId::new(ms, seq),
        node,
        flags,
        nfields,
        master_fields: m.fields_at,
        data,
        start: p,
        end: lp::next(node, q),
    }
}

/// Offset of the flags element of the entry that ends at `end` (where its lp-count element
/// ends), walking back over `lp-count + 1` elements. `None` if that leaves the node.
fn entry_start_before(node: &[u8], end: usize, floor: usize) -> Option<usize> {
    let lpc = lp::prev(node, end)?;
    if lpc < floor {
        return None;
    }
    let n = lp::get(node, lpc).int();
    let mut p = lpc;
    for _ in 0..n.max(0) {
        p = lp::prev(node, p)?;
        if p < floor {
            return None;
        }
    }
    Some(p)
}

/// A stream value.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Vec<u8>>,
    length: u64,
    pub last_id: StreamId,
    /// First live entry (0-0 when empty).
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: Vec<ConsumerGroup>,
}

impl Stream {
    pub fn new() -> Self {
        Stream::default()
    }

    /// Live entries.
    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    /// Number of nodes (XINFO STREAM `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes in ID order: master ID and listpack bytes (RDB save).
    pub fn nodes(&self) -> impl Iterator<Item = (StreamId, &[u8])> {
        self.nodes.iter().map(|(k, v)| (*k, v.as_slice()))
    }

    pub fn heap_size(&self) -> usize {
        // A B-tree slot (key + Vec header, with the tree's own slack) per node.
        self.nodes
            .values()
            .map(|n| n.capacity() + 64)
            .sum::<usize>()
            + 48
    }

    /// Nodes of a radix tree holding the 16-byte master IDs, as Redis's rax would have
    /// (XINFO STREAM `radix-tree-nodes`): a chain of single-child bytes is one compressed
    /// node, a branching point one node, each key one leaf; the empty tree is one node.
    pub fn rax_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.to_key()).collect();
        if keys.is_empty() {
            return 1;
        }
        fn count(keys: &[[u8; 16]], depth: usize) -> usize {
            if depth == 16 {
                return 1;
            }
            if keys.len() == 1 {
                return 2;
            }
            // Common prefix from `depth`.
            let (a, b) = (&keys[0], &keys[keys.len() - 1]);
            let mut d = depth;
            while d < 16 && a[d] == b[d] {
                d += 1;
            }
            if d > depth {
                return 1 + count(keys, d);
            }
            let mut n = 1;
            let mut i = 0;
            while i < keys.len() {
                let c = keys[i][depth];
                let mut j = i;
                while j < keys.len() && keys[j][depth] == c {
                    j += 1;
                }
                n += count(&keys[i..j], depth + 1);
                i = j;
            }
            n
        }
        count(&keys, 0)
    }

    /// The ID an append would get (Redis's `streamAppendItem` rules): `given` is an explicit
    /// ID, with `seq_given` false for the `ms-*` form; `None` generates one from `now_ms`.
    pub fn next_id(
        &self,
        given: Option<StreamId>,
        seq_given: bool,
        now_ms: u64,
    ) -> Result<StreamId, AddError> {
        let id = match given {
            Some(g) if seq_given => g,
            Some(g) if g.ms == self.last_id.ms => {
                // Redis 7.0.15 fails this case without setting errno to EDOM, so XADD
                // reports it as "Elements are too large to be stored"; so do we.
                if self.last_id.seq == u64::MAX {
                    return Err(AddError::TooLarge);
                }
                StreamId::new(g.ms, self.last_id.seq + 1)
            }
            Some(g) => StreamId::new(g.ms, 0),
            None if now_ms > self.last_id.ms => StreamId::new(now_ms, 0),
            None => self.last_id.incr().ok_or(AddError::IdTooSmall)?,
        };
        if id <= self.last_id {
            return Err(AddError::IdTooSmall);
        }
        Ok(id)
    }

    /// Appends an entry with `id` (which must be greater than `last_id`, see
    /// [`Stream::next_id`]) and the flat `field, value, ...` list (non-empty, even length).
    pub fn append(&mut self, id: StreamId, fv: &[Vec<u8>], lim: Limits) -> Result<(), AddError> {
        if id <= self.last_id {
            return Err(AddError::IdTooSmall);
        }
        let tot: usize = fv.iter().map(Vec::len).sum();
        if tot > LISTPACK_MAX_SIZE {
            return Err(AddError::TooLarge);
        }
        let nfields = fv.len() / 2;
        let max_bytes = match lim.node_max_bytes {
            0 => LISTPACK_MAX_SIZE,
            n => n.min(LISTPACK_MAX_SIZE),
        };
        // Does the tail node take it?
        let mut tail = self.nodes.last_key_value().map(|(k, _)| *k);
        if let Some(k) = tail {
            let node = self.nodes.get_mut(&k).expect("tail node");
            let m = master(node);
            let full = node.len() + tot >= max_bytes
                || (lim.node_max_entries > 0
                    && (m.count + m.deleted) as u64 >= lim.node_max_entries as u64);
            if full {
                // A closed node never grows again: give back the growth slack (Redis's
                // lpShrinkToFit at the same point).
                node.shrink_to_fit();
                tail = None;
            }
        }
        let mut enc = Vec::with_capacity(tot + 16 + fv.len() * 2);
        let (master_id, same) = match tail {
            None => {
                let mut node = lp::new();
                let mut m = Vec::new();
                lp::encode_int(&mut m, 1);
                lp::encode_int(&mut m, 0);
                lp::encode_int(&mut m, nfields as i64);
                for f in fv.iter().step_by(2) {
                    lp::encode_str(&mut m, f);
                }
                lp::encode_int(&mut m, 0);
                lp::append_encoded(&mut node, &m, nfields + 4);
                self.nodes.insert(id, node);
                (id, true)
            }
            Some(k) => {
                let node = self.nodes.get_mut(&k).expect("tail node");
                let m = master(node);
                lp::replace_int(node, lp::HDR, m.count + 1);
                let m = master(node);
                let mut same = m.nfields == nfields;
                if same {
                    let mut p = m.fields_at;
                    for f in fv.iter().step_by(2) {
                        if !lp::get(node, p).eq_bytes(f) {
                            same = false;
                            break;
                        }
                        p = lp::next(node, p);
                    }
                }
                (k, same)
            }
        };
        lp::encode_int(&mut enc, if same { FLAG_SAMEFIELDS } else { 0 });
        lp::encode_int(&mut enc, id.ms.wrapping_sub(master_id.ms) as i64);
        lp::encode_int(&mut enc, id.seq.wrapping_sub(master_id.seq) as i64);
        let mut elems = 3;
        if same {
            for v in fv.iter().skip(1).step_by(2) {
                lp::encode_str(&mut enc, v);
            }
            elems += nfields;
        } else {
            lp::encode_int(&mut enc, nfields as i64);
            for x in fv {
                lp::encode_str(&mut enc, x);
            }
            elems += 1 + 2 * nfields;
        }
        lp::encode_int(&mut enc, elems as i64);
        let node = self.nodes.get_mut(&master_id).expect("node");
        lp::append_encoded(node, &enc, elems + 1);
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// Visits live entries with `start <= id <= end`, ascending (or descending with `rev`),
    /// until `f` returns false.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(&Entry<'_>) -> bool,
    ) {
        if start > end {
            return;
        }
        if !rev {
            let from = self
                .nodes
                .range(..=start)
                .next_back()
                .map_or(StreamId::MIN, |(k, _)| *k);
            for (mid, node) in self.nodes.range(from..=end) {
                let m = master(node);
                let mut p = m.entries_at;
                while !lp::at_end(node, p) {
                    let e = entry_at(node, &m, *mid, p);
                    if e.end <= p {
                        break;
                    }
                    p = e.end;
                    if e.id > end {
                        return;
                    }
                    if e.id >= start && !e.deleted() && !f(&e) {
                        return;
                    }
                }
            }
        } else {
            for (mid, node) in self.nodes.range(..=end).rev() {
                let m = master(node);
                let mut endp = node.len() - 1;
                while let Some(p) = entry_start_before(node, endp, m.entries_at) {
                    let e = entry_at(node, &m, *mid, p);
                    endp = p;
                    if e.id < start {
                        return;
                    }
                    if e.id <= end && !e.deleted() && !f(&e) {
                        return;
                    }
                }
            }
        }
    }

    /// First (or last) live entry ID, Redis's `streamGetEdgeID(.., skip_tombstones=1)`.
    pub fn edge_live(&self, first: bool) -> Option<StreamId> {
        let mut out = None;
        self.range(StreamId::MIN, StreamId::MAX, !first, |e| {
            out = Some(e.id);
            false
        });
        out
    }

    /// First entry ID including tombstones (`streamGetEdgeID(.., 1, 0)`), as the trim rewrite
    /// for the AOF uses it; `MAX` when there is none.
    pub fn first_with_tombstones(&self) -> StreamId {
        let Some((mid, node)) = self.nodes.first_key_value() else {
            return StreamId::MAX;
        };
        let m = master(node);
        if lp::at_end(node, m.entries_at) {
            return StreamId::MAX;
        }
        entry_at(node, &m, *mid, m.entries_at).id
    }

    /// Marks entry `id` deleted. Return value: whether a live entry was deleted.
    fn delete_one(&mut self, id: StreamId) -> bool {
        let Some((&mid, _)) = self.nodes.range(..=id).next_back() else {
            return false;
        };
        let node = self.nodes.get_mut(&mid).expect("node");
        let m = master(node);
        let mut p = m.entries_at;
        let mut found = None;
        while !lp::at_end(node, p) {
            let e = entry_at(node, &m, mid, p);
            if e.end <= p || e.id > id {
                break;
            }
            if e.id == id {
                if !e.deleted() {
                    found = Some((e.start, e.flags));
                }
                break;
            }
            p = e.end;
        }
        let Some((at, flags)) = found else {
            return false;
        };
        if m.count <= 1 {
            self.nodes.remove(&mid);
        } else {
            lp::replace_int(node, at, flags | FLAG_DELETED);
            lp::replace_int(node, lp::HDR, m.count - 1);
            let d = lp::next(node, lp::HDR);
            lp::replace_int(node, d, m.deleted + 1);
        }
        self.length = self.length.saturating_sub(1);
        true
    }

    /// XDEL: deletes the given IDs, updating the largest deleted ID and the first ID as
    /// Redis's `xdelCommand`. Return value: entries deleted.
    pub fn delete(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_gone = false;
        for &id in ids {
            if self.delete_one(id) {
                deleted += 1;
                if id > self.max_deleted_id {
                    self.max_deleted_id = id;
                }
                if id == self.first_id {
                    first_gone = true;
                }
            }
        }
        if first_gone {
            self.first_id = self.edge_live(true).unwrap_or(StreamId::MIN);
        }
        deleted
    }

    /// Trims as Redis's `streamTrim`: whole nodes from the front while the rule allows, then
    /// (exact trims only) entries inside the first remaining node. `limit` (0 = none) bounds
    /// the entries removed through whole nodes. Return value: entries removed.
    pub fn trim(&mut self, rule: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some((&mid, node)) = self.nodes.first_key_value() {
            if let Trim::MaxLen(max) = rule {
                if self.length <= max {
                    break;
                }
            }
            let m = master(node);
            let entries = m.count.max(0) as u64;
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove = match rule {
                Trim::MaxLen(max) => self.length.saturating_sub(entries) >= max,
                Trim::MinId(min) => {
                    let mut last = None;
                    if let Some(p) = entry_start_before(node, node.len() - 1, m.entries_at) {
                        last = Some(entry_at(node, &m, mid, p).id);
                    }
                    last.is_none_or(|l| l < min)
                }
            };
            if remove {
                self.nodes.remove(&mid);
                self.length = self.length.saturating_sub(entries);
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let node = self.nodes.get_mut(&mid).expect("node");
            let mut marks = Vec::new();
            let mut p = m.entries_at;
            while !lp::at_end(node, p) {
                let e = entry_at(node, &m, mid, p);
                if e.end <= p {
                    break;
                }
                let stop = match rule {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if !e.deleted() {
                    marks.push((e.start, e.flags));
                    self.length -= 1;
                }
                p = e.end;
            }
            // Flags are one-byte integers before and after: marking never moves offsets.
            for &(at, flags) in &marks {
                lp::replace_int(node, at, flags | FLAG_DELETED);
            }
            let n = marks.len() as i64;
            lp::replace_int(node, lp::HDR, m.count - n);
            let d = lp::next(node, lp::HDR);
            lp::replace_int(node, d, m.deleted + n);
            deleted += n as u64;
            break;
        }
        self.first_id = if self.length == 0 {
            StreamId::MIN
        } else {
            self.edge_live(true).unwrap_or(StreamId::MIN)
        };
        deleted
    }

    /// Builds a stream from loaded parts (RDB). `nodes` must have passed [`check_node`].
    pub fn from_parts(
        nodes: BTreeMap<StreamId, Vec<u8>>,
        length: u64,
        last_id: StreamId,
        first_id: StreamId,
        max_deleted_id: StreamId,
        entries_added: u64,
    ) -> Self {
        Stream {
            nodes,
            length,
            last_id,
            first_id,
            max_deleted_id,
            entries_added,
            groups: Vec::new(),
        }
    }
}

/// Checks the stream structure of a node's listpack (its framing must already be valid):
/// integer counters, the master terminator, every entry's shape and lp-count, IDs ascending
/// from the master ID. Return value: (live entries, first and last ID) or `None`.
pub fn check_node(master_id: StreamId, node: &[u8]) -> Option<(u64, Option<(StreamId, StreamId)>)> {
    let is_int = |p: usize| matches!(lp::get(node, p), Ele::Int(_)) && !lp::at_end(node, p);
    let mut p = lp::HDR;
    for _ in 0..3 {
        if !is_int(p) {
            return None;
        }
        p = lp::next(node, p);
    }
    let m = master(node);
    if m.count < 0 || m.deleted < 0 || m.nfields == 0 {
        return None;
    }
    let mut q = m.fields_at;
    for _ in 0..m.nfields {
        if lp::at_end(node, q) {
            return None;
        }
        q = lp::next(node, q);
    }
    if !is_int(q) || lp::get(node, q).int() != 0 {
        return None;
    }
    let (mut live, mut dead) = (0i64, 0i64);
    let mut p = m.entries_at;
    let mut prev: Option<StreamId> = None;
    let mut first = None;
    while !lp::at_end(node, p) {
        // flags, ms, seq must be integers.
        let mut q = p;
        for _ in 0..3 {
            if !is_int(q) {
                return None;
            }
            q = lp::next(node, q);
        }
        let e = entry_at(node, &m, master_id, p);
        if e.flags & FLAG_SAMEFIELDS == 0 && !is_int(q) {
            return None;
        }
        let lpc = lp::prev(node, e.end)?;
        if lpc < p || !is_int(lpc) || e.end <= p {
            return None;
        }
        let elems = if e.flags & FLAG_SAMEFIELDS != 0 {
            3 + m.nfields
        } else {
            4 + 2 * e.nfields
        };
        if lp::get(node, lpc).int() != elems as i64 {
            return None;
        }
        if entry_start_before(node, e.end, m.entries_at) != Some(p) {
            return None;
        }
        if e.id < master_id || prev.is_some_and(|x| e.id <= x) {
            return None;
        }
        prev = Some(e.id);
        first.get_or_insert(e.id);
        if e.deleted() {
            dead += 1;
        } else {
            live += 1;
        }
        p = e.end;
    }
    if live != m.count || dead != m.deleted || live == 0 {
        return None;
    }
    Some((live as u64, first.zip(prev)))
}

#[cfg(test)]
mod tests;
