//! `Dict`: a chained hash table with incremental rehashing and a resize-proof SCAN cursor.
//!
//! How it works (the same scheme as Redis's `dict.c`, written from its description):
//! - Two tables. Normally only `tables[0]` is used. When it must grow (more entries than
//!   buckets) or shrink (under 10% full), a second table of the new power-of-two size is
//!   allocated and `rehash_idx` marks the next bucket of the old table to move.
//! - Every lookup, insert and delete first moves one bucket ([`Dict::rehash_step`]); the cron
//!   also calls [`Dict::rehash_for`] with a time budget. So growing from 0 to millions of
//!   entries never stops the world: the cost of a resize is spread over many operations.
//! - While rehashing, lookups probe both tables and inserts go to the new one.
//! - [`Dict::scan`] walks buckets in reverse-binary order of the cursor. Because table sizes
//!   are powers of two, a bucket's entries in a larger or smaller table sit at indexes that
//!   share the cursor's low bits, so every entry present for the whole scan is returned at
//!   least once even when the table is resized between calls (entries may repeat).
//!
//! Entries are boxed nodes in singly linked bucket chains: one allocation per entry and no
//! moving of entries on resize (only their bucket pointers are relinked).
//!
//! While a fork child (BGSAVE, AOF rewrite) shares the parent's pages, a resize would relink
//! every node and copy nearly every page of the dataset. [`pause_resizing`] (Redis's
//! `dict_can_resize = 0`) stops growth until a table holds more than [`FORCE_RESIZE_RATIO`]
//! entries per bucket, and stops shrinking; the flag is per thread (the data thread's).

use std::borrow::Borrow;
use std::cell::Cell;
use std::hash::{BuildHasher, Hash};

/// Entries per bucket past which a dict grows even while resizing is paused (as Redis's
/// `dict_force_resize_ratio`).
pub const FORCE_RESIZE_RATIO: usize = 5;

thread_local! {
    static RESIZE_PAUSED: Cell<bool> = const { Cell::new(false) };
}

/// Pauses (or resumes) growing and shrinking of this thread's dicts, for as long as a fork
/// child shares memory with the process. Lookups keep moving buckets of a resize already
/// under way, as in Redis.
pub fn pause_resizing(paused: bool) {
    RESIZE_PAUSED.with(|p| p.set(paused));
}

/// True while [`pause_resizing`] is in effect on this thread.
pub fn resizing_paused() -> bool {
    RESIZE_PAUSED.with(|p| p.get())
}

type Link<K, V> = Option<Box<Node<K, V>>>;

struct Node<K, V> {
    next: Link<K, V>,
    key: K,
    val: V,
}

struct Table<K, V> {
    buckets: Vec<Link<K, V>>,
    used: usize,
}

impl<K, V> Table<K, V> {
    /// A table of `size` empty buckets. Large tables come from zeroed memory (calloc), so the
    /// kernel hands out untouched zero pages: allocating 16 M buckets costs no 128 MB write and
    /// therefore no stall, the same reason Redis uses calloc for its tables.
    fn with_size(size: usize) -> Self {
        if size == 0 {
            return Table {
                buckets: Vec::new(),
                used: 0,
            };
        }
        let layout = std::alloc::Layout::array::<Link<K, V>>(size).expect("table size overflow");
        // SAFETY: `Option<Box<T>>` is guaranteed to have the representation of a nullable
        // pointer, with `None` as null, so zeroed memory is `size` valid `None`s. The memory is
        // allocated with the global allocator and the layout of `[Link; size]`, which is what
        // `Vec::from_raw_parts` requires; length and capacity are both `size`.
        let buckets = unsafe {
            let ptr = std::alloc::alloc_zeroed(layout) as *mut Link<K, V>;
            if ptr.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            Vec::from_raw_parts(ptr, size, size)
        };
        Table { buckets, used: 0 }
    }
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

/// Initial number of buckets of a non-empty table.
const INITIAL_SIZE: usize = 4;
/// A table with fewer than this percentage of entries per bucket is shrunk.
const MIN_FILL_PERCENT: usize = 10;

pub struct Dict<K, V, S = foldhash::fast::RandomState> {
    tables: [Table<K, V>; 2],
    /// Next bucket of `tables[0]` to move into `tables[1]`, while rehashing.
    rehash_idx: Option<usize>,
    hasher: S,
}

impl<K: Hash + Eq, V> Default for Dict<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq, V> Dict<K, V> {
    pub fn new() -> Self {
        Dict {
            tables: [Table::with_size(0), Table::with_size(0)],
            rehash_idx: None,
            hasher: foldhash::fast::RandomState::default(),
        }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> Dict<K, V, S> {
    pub fn len(&self) -> usize {
        self.tables[0].used + self.tables[1].used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total buckets of both tables (for INFO / DEBUG HTSTATS-style reporting and memory).
    pub fn buckets(&self) -> usize {
        self.tables[0].buckets.len() + self.tables[1].buckets.len()
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        self.hasher.hash_one(key) as usize
    }

    /// Moves up to `n` buckets from the old table to the new one, visiting at most `10 * n`
    /// empty buckets so a sparse old table cannot make one step slow.
    /// Return value: true while rehashing still has work left.
    pub fn rehash_step(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        let mut empty_visits = n * 10;
        let mut moved = 0;
        while moved < n && self.tables[0].used > 0 {
            while self.tables[0].buckets[idx].is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut chain = self.tables[0].buckets[idx].take();
            while let Some(mut node) = chain {
                chain = node.next.take();
                let h = self.hash(&node.key) & self.tables[1].mask();
                node.next = self.tables[1].buckets[h].take();
                self.tables[1].buckets[h] = Some(node);
                self.tables[0].used -= 1;
                self.tables[1].used += 1;
            }
            idx += 1;
            moved += 1;
        }
        if self.tables[0].used == 0 {
            self.tables.swap(0, 1);
            self.tables[1] = Table::with_size(0);
            self.rehash_idx = None;
            return false;
        }
        self.rehash_idx = Some(idx);
        true
    }

    /// Rehashes in steps of 100 buckets until done or `budget` has elapsed.
    /// Return value: true while rehashing still has work left.
    pub fn rehash_for(&mut self, budget: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        while self.rehash_step(100) {
            if start.elapsed() >= budget {
                return true;
            }
        }
        false
    }

    /// Starts a resize to the smallest power of two holding `size` entries.
    fn resize_to(&mut self, size: usize) {
        if self.is_rehashing() {
            return;
        }
        let new_size = size.max(INITIAL_SIZE).next_power_of_two();
        if new_size == self.tables[0].buckets.len() {
            return;
        }
        if self.tables[0].buckets.is_empty() || self.tables[0].used == 0 {
            self.tables[0] = Table::with_size(new_size);
            return;
        }
        self.tables[1] = Table::with_size(new_size);
        self.rehash_idx = Some(0);
    }

    fn grow_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let t = &self.tables[0];
        if t.buckets.is_empty() {
            self.resize_to(INITIAL_SIZE);
        } else if t.used >= t.buckets.len()
            && (t.used / t.buckets.len() > FORCE_RESIZE_RATIO || !resizing_paused())
        {
            self.resize_to(t.used + 1);
        }
    }

    /// Starts shrinking when the table is under 10% full (the cron calls this, as Redis's
    /// `tryResizeHashTables` does, so deletes stay cheap).
    pub fn shrink_if_needed(&mut self) {
        let t = &self.tables[0];
        if !self.is_rehashing()
            && t.buckets.len() > INITIAL_SIZE
            && t.used * 100 / t.buckets.len() < MIN_FILL_PERCENT
            && !resizing_paused()
        {
            self.resize_to(t.used);
        }
    }

    fn find_in<Q>(&self, table: usize, h: usize, key: &Q) -> Option<&Node<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let t = &self.tables[table];
        if t.buckets.is_empty() {
            return None;
        }
        let mut cur = t.buckets[h & t.mask()].as_deref();
        while let Some(node) = cur {
            if node.key.borrow() == key {
                return Some(node);
            }
            cur = node.next.as_deref();
        }
        None
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_key_value(key).map(|(_, v)| v)
    }

    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        self.find_in(0, h, key)
            .or_else(|| {
                if self.is_rehashing() {
                    self.find_in(1, h, key)
                } else {
                    None
                }
            })
            .map(|n| (&n.key, &n.val))
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() {
            return None;
        }
        if self.is_rehashing() {
            self.rehash_step(1);
        }
        let h = self.hash(key);
        let rehashing = self.is_rehashing();
        let [t0, t1] = &mut self.tables;
        if let Some(v) = find_mut(t0, h, key) {
            return Some(v);
        }
        if rehashing {
            return find_mut(t1, h, key);
        }
        None
    }

    /// Inserts or replaces. Return value: the previous value, if the key was present (the
    /// stored key is kept in that case, as Redis keeps the existing key object).
    pub fn insert(&mut self, key: K, val: V) -> Option<V> {
        if let Some(slot) = self.get_mut(&key) {
            return Some(std::mem::replace(slot, val));
        }
        self.insert_new(key, val);
        None
    }

    /// Inserts or replaces with one hash computation and one probe, building the owned key only
    /// when it is new. Return value: the previous value, if the key was present.
    pub fn upsert<Q>(&mut self, key: &Q, make_key: impl FnOnce(&Q) -> K, val: V) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.grow_if_needed();
        if self.is_rehashing() {
            self.rehash_step(1);
        }
        let h = self.hash(key);
        let rehashing = self.is_rehashing();
        let [t0, t1] = &mut self.tables;
        if let Some(slot) = find_mut(t0, h, key) {
            return Some(std::mem::replace(slot, val));
        }
        if rehashing {
            if let Some(slot) = find_mut(t1, h, key) {
                return Some(std::mem::replace(slot, val));
            }
        }
        let t = if rehashing { t1 } else { t0 };
        let b = h & t.mask();
        let node = Box::new(Node {
            next: t.buckets[b].take(),
            key: make_key(key),
            val,
        });
        t.buckets[b] = Some(node);
        t.used += 1;
        None
    }

    /// Inserts a key known to be absent (the caller just looked it up).
    pub fn insert_new(&mut self, key: K, val: V) {
        self.grow_if_needed();
        if self.is_rehashing() {
            self.rehash_step(1);
        }
        let table = if self.is_rehashing() { 1 } else { 0 };
        let h = self.hash(&key);
        let t = &mut self.tables[table];
        let b = h & t.mask();
        let node = Box::new(Node {
            next: t.buckets[b].take(),
            key,
            val,
        });
        t.buckets[b] = Some(node);
        t.used += 1;
    }

    /// Makes room for `n` entries: an empty dict gets its final table at once, so filling it
    /// never grows or rehashes (Redis's `dictExpand` before loading a file whose RESIZEDB
    /// gives the key count). A non-empty dict starts an ordinary incremental resize.
    pub fn reserve(&mut self, n: usize) {
        if !self.is_rehashing() && n > self.tables[0].buckets.len() {
            self.resize_to(n);
        }
    }

    /// Inserts a key unless it is present, with one hash computation and one probe.
    /// Return value: `Err` with the key and value given back when the key was already there
    /// (the dict is unchanged then).
    pub fn try_insert(&mut self, key: K, val: V) -> Result<(), (K, V)> {
        self.grow_if_needed();
        if self.is_rehashing() {
            self.rehash_step(1);
        }
        let h = self.hash(&key);
        let rehashing = self.is_rehashing();
        if self.find_in(0, h, &key).is_some() || (rehashing && self.find_in(1, h, &key).is_some()) {
            return Err((key, val));
        }
        let t = &mut self.tables[usize::from(rehashing)];
        let b = h & t.mask();
        let node = Box::new(Node {
            next: t.buckets[b].take(),
            key,
            val,
        });
        t.buckets[b] = Some(node);
        t.used += 1;
        Ok(())
    }

    /// Removes a key. Return value: the stored key and value.
    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() {
            return None;
        }
        if self.is_rehashing() {
            self.rehash_step(1);
        }
        let h = self.hash(key);
        for table in 0..2 {
            let t = &mut self.tables[table];
            if t.buckets.is_empty() {
                continue;
            }
            let b = h & t.mask();
            let mut link = &mut t.buckets[b];
            loop {
                match link {
                    None => break,
                    Some(node) if node.key.borrow() == key => {
                        let mut node = link.take().unwrap();
                        *link = node.next.take();
                        t.used -= 1;
                        return Some((node.key, node.val));
                    }
                    Some(node) => link = &mut node.next,
                }
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes everything, returning the old contents as a dict of their own (so a caller can
    /// drop a huge dataset on another thread).
    pub fn take(&mut self) -> Self
    where
        S: Clone,
    {
        let hasher = self.hasher.clone();
        std::mem::replace(
            self,
            Dict {
                tables: [Table::with_size(0), Table::with_size(0)],
                rehash_idx: None,
                hasher,
            },
        )
    }

    /// Visits the buckets at `cursor` and returns the next cursor (0 when the scan is complete).
    /// See the module comment for the guarantee.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&K, &V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let emit = |t: &Table<K, V>, idx: usize, f: &mut dyn FnMut(&K, &V)| {
            let mut cur = t.buckets[idx].as_deref();
            while let Some(n) = cur {
                f(&n.key, &n.val);
                cur = n.next.as_deref();
            }
        };
        let mut v = cursor;
        if !self.is_rehashing() {
            let t = &self.tables[0];
            let m0 = t.mask() as u64;
            emit(t, (v & m0) as usize, &mut f);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, big) = if self.tables[0].buckets.len() <= self.tables[1].buckets.len() {
                (&self.tables[0], &self.tables[1])
            } else {
                (&self.tables[1], &self.tables[0])
            };
            let (m0, m1) = (small.mask() as u64, big.mask() as u64);
            emit(small, (v & m0) as usize, &mut f);
            loop {
                emit(big, (v & m1) as usize, &mut f);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }

    /// A uniformly random entry, or `None` when empty. `rnd` supplies random numbers (all 64
    /// bits are used, so it should be good in every bit, e.g. splitmix64).
    ///
    /// Why not Redis's `dictGetRandomKey` (a random non-empty bucket, then a random node of
    /// its chain): it favours entries alone in their bucket over entries sharing one (with 10
    /// entries in 16 buckets, a chi-square of ~100 over 9 degrees of freedom), and Redis's
    /// `dictGetFairRandomKey` (choose among a window of neighbouring entries) still favours
    /// entries after runs of empty buckets. Here, rejection sampling: draw a live bucket
    /// uniformly (while rehashing, the old table's buckets from `rehash_idx` on and all of the
    /// new table's) holding `len` entries, draw `j` in `[0, max(len, cap))`, and return entry
    /// `j` of the chain if it exists, else draw again. Every entry of a chain of at most `cap`
    /// entries is returned with the same probability `1 / (buckets * cap)` per draw. `cap` is
    /// 8 plus twice the load factor, far above the longest chain a random hash gives at the
    /// dict's fills (even at 5 entries per bucket, while resizing is paused); entries of a
    /// longer chain would come out slightly less often.
    ///
    /// Cost: `buckets * cap / len` draws on average, each a bucket read and, for a non-empty
    /// bucket, one walk of its chain: about 8-16 at the usual fill, 80 at 10% (below which the
    /// table is shrunk). A table made sparse by deletes and not yet shrunk costs more; after
    /// [`FAIR_MAX_DRAWS`] draws the plain bucket draw is used instead.
    pub fn random_entry(&self, rnd: &mut impl FnMut() -> u64) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let start = self.rehash_idx.unwrap_or(0);
        let live = (self.tables[0].buckets.len() + self.tables[1].buckets.len() - start) as u64;
        let cap = 8 + 2 * (self.len() as u64 / live);
        for _ in 0..FAIR_MAX_DRAWS {
            let bucket = self.live_bucket(start, below(rnd(), live));
            let Some(head) = bucket else { continue };
            let len = chain_len(head);
            let j = below(rnd(), len.max(cap));
            if j < len {
                return chain_nth(head, j).map(|n| (&n.key, &n.val));
            }
        }
        self.plain_random_entry(rnd)
    }

    /// Bucket `i` of the live buckets: `tables[0][start..]` followed by `tables[1]`.
    fn live_bucket(&self, start: usize, i: u64) -> Option<&Node<K, V>> {
        let i = start + i as usize;
        let t0 = &self.tables[0].buckets;
        if i < t0.len() {
            t0[i].as_deref()
        } else {
            self.tables[1].buckets[i - t0.len()].as_deref()
        }
    }

    /// Redis's `dictGetRandomKey`: a random non-empty bucket, then a random node of its chain
    /// (biased towards entries alone in their bucket; only the fallback of [`random_entry`]).
    ///
    /// [`random_entry`]: Dict::random_entry
    fn plain_random_entry(&self, rnd: &mut impl FnMut() -> u64) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let start = self.rehash_idx.unwrap_or(0);
        let live = (self.tables[0].buckets.len() + self.tables[1].buckets.len() - start) as u64;
        loop {
            if let Some(head) = self.live_bucket(start, below(rnd(), live)) {
                let j = below(rnd(), chain_len(head));
                return chain_nth(head, j).map(|n| (&n.key, &n.val));
            }
        }
    }

    /// Iterates every entry (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.tables
            .iter()
            .flat_map(|t| t.buckets.iter())
            .flat_map(|b| {
                let mut cur = b.as_deref();
                std::iter::from_fn(move || {
                    let n = cur?;
                    cur = n.next.as_deref();
                    Some((&n.key, &n.val))
                })
            })
    }
}

/// Draws after which [`Dict::random_entry`] gives up on fairness and takes the plain bucket
/// draw (only reached for a table far sparser than the 10% at which it shrinks).
pub const FAIR_MAX_DRAWS: usize = 100_000;

/// A number in `[0, n)` from a 64-bit random `r`, by multiply-shift (Lemire's reduction): uses
/// the high bits of `r` and has no modulo bias worth the name for `n` far below 2^64.
fn below(r: u64, n: u64) -> u64 {
    ((r as u128 * n as u128) >> 64) as u64
}

/// Number of nodes of the chain starting at `head`.
fn chain_len<K, V>(head: &Node<K, V>) -> u64 {
    let mut len = 1;
    let mut cur = head.next.as_deref();
    while let Some(n) = cur {
        len += 1;
        cur = n.next.as_deref();
    }
    len
}

/// Node `j` of the chain starting at `head`.
fn chain_nth<K, V>(head: &Node<K, V>, j: u64) -> Option<&Node<K, V>> {
    let mut cur = Some(head);
    for _ in 0..j {
        cur = cur?.next.as_deref();
    }
    cur
}

fn find_mut<'a, K, V, Q>(t: &'a mut Table<K, V>, h: usize, key: &Q) -> Option<&'a mut V>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    if t.buckets.is_empty() {
        return None;
    }
    let mask = t.mask();
    let mut cur = t.buckets[h & mask].as_deref_mut();
    while let Some(node) = cur {
        if node.key.borrow() == key {
            return Some(&mut node.val);
        }
        cur = node.next.as_deref_mut();
    }
    None
}

impl<K, V, S> Drop for Dict<K, V, S> {
    fn drop(&mut self) {
        // Unlink chains iteratively: a long chain dropped recursively could overflow the stack.
        for t in &mut self.tables {
            for b in &mut t.buckets {
                let mut cur = b.take();
                while let Some(mut n) = cur {
                    cur = n.next.take();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    #[test]
    fn grows_and_shrinks_incrementally() {
        let mut d: Dict<u64, u64> = Dict::new();
        for i in 0..10_000 {
            d.insert(i, i * 2);
        }
        assert_eq!(d.len(), 10_000);
        for i in 0..10_000 {
            assert_eq!(d.get(&i), Some(&(i * 2)));
        }
        for i in 0..9_990 {
            assert_eq!(d.remove(&i), Some(i * 2));
        }
        d.shrink_if_needed();
        while d.rehash_step(100) {}
        assert!(d.buckets() <= 16);
        assert_eq!(d.iter().count(), 10);
    }

    #[test]
    fn scan_survives_resizes() {
        let mut d: Dict<u64, ()> = Dict::new();
        for i in 0..1000 {
            d.insert(i, ());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut rounds = 0;
        loop {
            cursor = d.scan(cursor, |k, _| {
                seen.insert(*k);
            });
            // Grow the table while the scan is in flight.
            if rounds < 200 {
                for j in 0..50 {
                    d.insert(10_000 + rounds * 50 + j, ());
                }
            }
            rounds += 1;
            if cursor == 0 || rounds > 100_000 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&i), "missing {i}");
        }
    }

    proptest! {
        #[test]
        fn behaves_like_hashmap(ops in proptest::collection::vec((0u8..3, 0u16..300), 0..2000)) {
            let mut d: Dict<u16, u16> = Dict::new();
            let mut m: HashMap<u16, u16> = HashMap::new();
            for (op, k) in ops {
                match op {
                    0 if k % 2 == 0 => prop_assert_eq!(d.insert(k, k ^ 7), m.insert(k, k ^ 7)),
                    0 => prop_assert_eq!(d.upsert(&k, |k| *k, k ^ 7), m.insert(k, k ^ 7)),
                    1 => prop_assert_eq!(d.remove(&k), m.remove(&k)),
                    _ => { d.shrink_if_needed(); d.rehash_step(1); }
                }
                prop_assert_eq!(d.len(), m.len());
            }
            for (k, v) in &m {
                prop_assert_eq!(d.get(k), Some(v));
            }
            prop_assert_eq!(d.iter().count(), m.len());
        }

        #[test]
        fn scan_returns_every_stable_key(n in 0u32..2000, shrink in any::<bool>()) {
            let mut d: Dict<u32, ()> = Dict::new();
            for i in 0..n { d.insert(i, ()); }
            let stable: Vec<u32> = (0..n).filter(|i| i % 3 == 0).collect();
            let mut seen = HashSet::new();
            let mut cursor = 0;
            let mut step = 0u32;
            loop {
                cursor = d.scan(cursor, |k, _| { seen.insert(*k); });
                // Remove unstable keys (and optionally shrink) or add new ones mid-scan.
                if shrink {
                    for i in (step * 30..step * 30 + 30).filter(|i| i % 3 != 0) { d.remove(&i); }
                    d.shrink_if_needed();
                } else if step < 100 {
                    for i in 0..30 { d.insert(n + step * 30 + i, ()); }
                }
                d.rehash_step(1);
                step += 1;
                if cursor == 0 || step > 100_000 { break; }
            }
            for k in stable { prop_assert!(seen.contains(&k)); }
        }
    }

    #[test]
    fn paused_resizing_waits_for_the_force_ratio() {
        let mut d: Dict<u32, ()> = Dict::new();
        for i in 0..64 {
            d.insert(i, ());
        }
        while d.rehash_step(100) {}
        let b = d.buckets();
        pause_resizing(true);
        for i in 64..(b * FORCE_RESIZE_RATIO) as u32 {
            d.insert(i, ());
        }
        assert_eq!(d.buckets(), b, "no growth up to the force ratio");
        for i in 0..(b * FORCE_RESIZE_RATIO) as u32 {
            d.remove(&i);
        }
        d.shrink_if_needed();
        assert_eq!(d.buckets(), b, "no shrinking while paused");
        for i in 0..(b * (FORCE_RESIZE_RATIO + 1) + 1) as u32 {
            d.insert(i, ());
        }
        assert!(d.buckets() > b, "past the force ratio it grows anyway");
        pause_resizing(false);
        assert!(!resizing_paused());
    }

    #[test]
    fn reserve_and_try_insert() {
        let mut d: Dict<u32, u32> = Dict::new();
        d.reserve(1000);
        assert_eq!(d.buckets(), 1024);
        for i in 0..1000 {
            assert!(d.try_insert(i, i).is_ok());
            assert!(
                !d.is_rehashing(),
                "a reserved dict never rehashes while filling"
            );
        }
        assert_eq!(d.buckets(), 1024);
        assert_eq!(d.try_insert(7, 70), Err((7, 70)));
        assert_eq!(d.get(&7), Some(&7));
        // Past the reservation it grows as usual, and duplicates are found in both tables.
        for i in 1000..3000 {
            assert!(d.try_insert(i, i).is_ok());
            assert!(d.try_insert(i / 2, 0).is_err());
        }
        assert_eq!(d.len(), 3000);
        d.reserve(10);
        assert_eq!(d.len(), 3000);
    }

    #[test]
    fn random_entry_covers_keys() {
        let mut d: Dict<u32, ()> = Dict::new();
        for i in 0..8 {
            d.insert(i, ());
        }
        let mut x = 12345u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            seen.insert(*d.random_entry(&mut rnd).unwrap().0);
        }
        assert_eq!(seen.len(), 8);
    }

    /// Pearson's chi-square of `draws` samples of `d` against the uniform distribution.
    fn chi_square(d: &Dict<u32, ()>, draws: usize, seed: u64) -> f64 {
        let mut rnd = crate::splitmix64(seed);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..draws {
            *counts
                .entry(*d.random_entry(&mut rnd).unwrap().0)
                .or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), d.len());
        let expected = draws as f64 / d.len() as f64;
        counts
            .values()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum()
    }

    #[test]
    fn random_entry_is_uniform() {
        // 10 entries in 16 buckets: the plain bucket draw gives a chi-square near 100 here.
        let mut d: Dict<u32, ()> = Dict::new();
        for i in 0..10 {
            d.insert(i, ());
        }
        while d.is_rehashing() {
            d.rehash_step(1);
        }
        assert_eq!(d.buckets(), 16);
        // df 9: the 99.99th percentile is 33.7.
        let chi = chi_square(&d, 100_000, 7);
        assert!(chi < 40.0, "chi-square {chi}");
        // Mid-rehash: entries spread over both tables.
        let mut d: Dict<u32, ()> = Dict::new();
        let mut i = 0;
        while !(d.is_rehashing() && d.len() > 40) {
            d.insert(i, ());
            i += 1;
        }
        assert!(d.is_rehashing());
        let df = d.len() as f64 - 1.0;
        let chi = chi_square(&d, 200_000, 11);
        // Mean df, standard deviation sqrt(2 df): allow far more than 5 deviations.
        assert!(
            chi < df + 8.0 * (2.0 * df).sqrt(),
            "chi-square {chi} at df {df}"
        );
        // Sparse (deletes without shrinking) and dense (resizing paused) tables.
        let mut d: Dict<u32, ()> = Dict::new();
        for i in 0..1000 {
            d.insert(i, ());
        }
        for i in 10..1000 {
            d.remove(&i);
        }
        while d.is_rehashing() {
            d.rehash_step(1);
        }
        assert!(d.buckets() >= 1024);
        let chi = chi_square(&d, 20_000, 13);
        assert!(chi < 40.0, "sparse: chi-square {chi}");
        pause_resizing(true);
        let mut d: Dict<u32, ()> = Dict::new();
        for i in 0..40 {
            d.insert(i, ());
        }
        pause_resizing(false);
        let df = d.len() as f64 - 1.0;
        let chi = chi_square(&d, 200_000, 17);
        assert!(
            chi < df + 8.0 * (2.0 * df).sqrt(),
            "dense: chi-square {chi} at df {df}"
        );
    }
}
