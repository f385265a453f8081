//! Set values and their two encodings, as Redis 7.0 has them (OBJECT ENCODING names):
//!
//! - `intset`: while every member is an integer (Redis's `string2ll` rules: canonical decimal,
//!   within i64) and the set holds at most `set-max-intset-entries` members. The members are a
//!   sorted array of little-endian integers packed at one width for the whole set — 2, 4 or 8
//!   bytes, the smallest that holds every member; adding a wider value upgrades the whole array
//!   (Redis's intset upgrade; like Redis we never downgrade). Membership is a binary search,
//!   iteration is in ascending order (which is what SMEMBERS of an intset replies in Redis), and
//!   a random member is a random index. Arrays of up to [`INLINE_BYTES`] bytes live inside the
//!   `Set` value itself, so a small integer set is one 32-byte allocation; bigger ones are one
//!   exact-size boxed slice (no capacity slack: an insert into a sorted array moves O(n) bytes
//!   anyway, so reallocating to the exact size costs nothing asymptotically, as in Redis).
//! - `hashtable`: a [`Dict`] of [`CompactBytes`] members with no values: one 32-byte node per
//!   member (members up to 22 bytes are stored inline in the node) plus 8 bytes of bucket, and
//!   the dict's SCAN cursor and random sampling serve SSCAN, SPOP and SRANDMEMBER.
//!
//! Measured against redis-server 7.0.15 (RSS growth, release build, members loaded with
//! `redis-cli --pipe`): one set of 1M integers 47.9 MB vs 57.1 MB, of 1M 14-byte strings
//! 47.9 MB vs 64.8 MB; 100k sets of 5 integers (intset) 11.3 MB vs 11.7 MB, of 5 strings
//! 46.1 MB vs 48.9 MB.
//!
//! A set converts to `hashtable` when a non-integer member is added or the intset would grow
//! past the limit, and never converts back (as Redis). The conversion rules follow Redis's
//! `setTypeCreate`/`setTypeAdd`: a new set starts as an intset if its first member is an
//! integer, so callers create sets through [`Set::new_for`] or [`Set::new_intset`].

use cinnabar_ds::{CompactBytes, Dict};

/// Redis's default `set-max-intset-entries`.
pub const DEFAULT_MAX_INTSET_ENTRIES: usize = 512;

/// Bytes of packed integers kept inline in the value before moving to the heap.
pub const INLINE_BYTES: usize = 22;

/// The members' hash table (the `hashtable` encoding).
pub type MemberDict = Dict<CompactBytes, ()>;

/// A set value.
pub enum Set {
    Int(IntSet),
    Hash(Box<MemberDict>),
}

/// One member, borrowed from a set: intsets hand out integers (formatted only when needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Member<'_> {
    /// Runs `f` on the member's bytes (an integer's canonical decimal form).
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(v) => f(itoa::Buffer::new().format(v).as_bytes()),
            Member::Str(s) => f(s),
        }
    }

    /// The member as an integer, if it is one by `string2ll` rules.
    pub fn as_int(self) -> Option<i64> {
        match self {
            Member::Int(v) => Some(v),
            Member::Str(s) => crate::util::parse_int(s),
        }
    }

    pub fn to_vec(self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }

    pub fn to_owned(self) -> OwnedMember {
        match self {
            Member::Int(v) => OwnedMember::Int(v),
            Member::Str(s) => OwnedMember::Str(CompactBytes::new(s)),
        }
    }
}

/// A member copied out of a set (SPOP takes one before removing it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedMember {
    Int(i64),
    Str(CompactBytes),
}

impl OwnedMember {
    pub fn as_member(&self) -> Member<'_> {
        match self {
            OwnedMember::Int(v) => Member::Int(*v),
            OwnedMember::Str(s) => Member::Str(s),
        }
    }
}

impl Set {
    /// An empty intset (Redis's `createIntsetObject`): the set ops build results this way.
    pub fn new_intset() -> Set {
        Set::Int(IntSet::new())
    }

    /// An empty intset storing members `width` bytes wide (2, 4 or 8): a loaded intset keeps
    /// the width it was saved with, since neither Redis nor we narrow an intset when its wide
    /// members are removed (so DUMP gives the same bytes back).
    pub fn new_intset_width(width: usize) -> Set {
        let mut i = IntSet::new();
        if matches!(width, 4 | 8) {
            i.upgrade(width as u8);
        }
        Set::Int(i)
    }

    /// An empty set of the encoding that can hold `first` (Redis's `setTypeCreate`): an intset
    /// if it is an integer, else a hash table.
    pub fn new_for(first: &[u8]) -> Set {
        if crate::util::parse_int(first).is_some() {
            Set::new_intset()
        } else {
            Set::Hash(Box::default())
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Int(i) => i.len(),
            Set::Hash(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Int(_) => "intset",
            Set::Hash(_) => "hashtable",
        }
    }

    /// Heap bytes owned by the set. For hash tables the member strings' heap is estimated from
    /// a sample (as Redis's MEMORY USAGE samples), so this stays O(1)-ish on huge sets.
    pub fn heap_size(&self) -> usize {
        match self {
            Set::Int(i) => i.heap_size(),
            Set::Hash(d) => {
                const SAMPLE: usize = 32;
                let (mut n, mut bytes) = (0usize, 0usize);
                for (k, _) in d.iter().take(SAMPLE) {
                    n += 1;
                    bytes += k.heap_size();
                }
                let strings = (bytes * d.len()).checked_div(n).unwrap_or(0);
                std::mem::size_of::<MemberDict>()
                    + d.buckets() * std::mem::size_of::<usize>()
                    + d.len() * (std::mem::size_of::<CompactBytes>() + std::mem::size_of::<usize>())
                    + strings
            }
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.contains_member(Member::Str(m))
    }

    /// Membership test; an integer member of an intset needs no formatting.
    pub fn contains_member(&self, m: Member) -> bool {
        match self {
            Set::Int(i) => m.as_int().is_some_and(|v| i.contains(v)),
            Set::Hash(d) => m.with_bytes(|b| d.contains_key(b)),
        }
    }

    /// Adds a member (Redis's `setTypeAdd`), converting an intset to a hash table when `m` is
    /// not an integer or the intset grows past `max_intset` entries.
    /// Return value: true if the member was new.
    pub fn add(&mut self, m: &[u8], max_intset: usize) -> bool {
        self.add_member(Member::Str(m), max_intset)
    }

    /// [`Set::add`] for a member that may already be an integer.
    pub fn add_member(&mut self, m: Member, max_intset: usize) -> bool {
        match self {
            Set::Int(i) => match m.as_int() {
                Some(v) => {
                    if !i.insert(v) {
                        return false;
                    }
                    if i.len() > max_intset {
                        self.convert_to_hash();
                    }
                    true
                }
                None => {
                    self.convert_to_hash();
                    if let Set::Hash(d) = self {
                        m.with_bytes(|b| d.insert_new(CompactBytes::new(b), ()));
                    }
                    true
                }
            },
            Set::Hash(d) => m.with_bytes(|b| {
                if d.contains_key(b) {
                    false
                } else {
                    d.insert_new(CompactBytes::new(b), ());
                    true
                }
            }),
        }
    }

    /// Removes a member. Return value: true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.remove_member(Member::Str(m))
    }

    /// [`Set::remove`] for a member that may already be an integer. A hash table is shrunk
    /// when it falls under 10% full (Redis's `htNeedsResize` after a delete), so random
    /// sampling keeps finding members quickly after mass removals.
    pub fn remove_member(&mut self, m: Member) -> bool {
        match self {
            Set::Int(i) => m.as_int().is_some_and(|v| i.remove(v)),
            Set::Hash(d) => {
                let removed = m.with_bytes(|b| d.remove(b).is_some());
                if removed {
                    d.shrink_if_needed();
                }
                removed
            }
        }
    }

    /// Moves an intset's members into a hash table (Redis's `setTypeConvert`).
    fn convert_to_hash(&mut self) {
        if let Set::Int(i) = self {
            let mut d = MemberDict::new();
            for v in i.iter() {
                d.insert_new(
                    CompactBytes::new(itoa::Buffer::new().format(v).as_bytes()),
                    (),
                );
            }
            *self = Set::Hash(Box::new(d));
        }
    }

    /// Every member: ascending for an intset, table order for a hash table.
    pub fn iter(&self) -> SetIter<'_> {
        match self {
            Set::Int(i) => SetIter::Int(i, 0),
            Set::Hash(d) => SetIter::Hash(Box::new(d.iter())),
        }
    }

    /// A uniformly random member (see `Dict::random_entry` for hash tables), or `None` when
    /// empty.
    pub fn random(&self, rnd: &mut impl FnMut() -> u64) -> Option<Member<'_>> {
        match self {
            Set::Int(i) if i.is_empty() => None,
            Set::Int(i) => Some(Member::Int(i.get((rnd() % i.len() as u64) as usize))),
            Set::Hash(d) => d.random_entry(rnd).map(|(k, _)| Member::Str(k)),
        }
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self, rnd: &mut impl FnMut() -> u64) -> Option<OwnedMember> {
        match self {
            Set::Int(i) if i.is_empty() => None,
            Set::Int(i) => {
                let idx = (rnd() % i.len() as u64) as usize;
                let v = i.get(idx);
                i.remove_at(idx);
                Some(OwnedMember::Int(v))
            }
            Set::Hash(d) => {
                let key = d.random_entry(rnd)?.0.clone();
                d.remove(key.as_slice());
                d.shrink_if_needed();
                Some(OwnedMember::Str(key))
            }
        }
    }

    /// One SSCAN step: an intset is returned whole (next cursor 0, whatever the cursor), a
    /// hash table visits the buckets at `cursor` with the dict's resize-proof cursor.
    /// Return value: the next cursor.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(Member)) -> u64 {
        match self {
            Set::Int(i) => {
                i.iter().for_each(|v| f(Member::Int(v)));
                0
            }
            Set::Hash(d) => d.scan(cursor, |k, _| f(Member::Str(k))),
        }
    }
}

impl Default for Set {
    fn default() -> Self {
        Set::new_intset()
    }
}

impl Clone for Set {
    fn clone(&self) -> Self {
        match self {
            Set::Int(i) => Set::Int(i.clone()),
            Set::Hash(d) => {
                let mut copy = MemberDict::new();
                for (k, _) in d.iter() {
                    copy.insert_new(k.clone(), ());
                }
                Set::Hash(Box::new(copy))
            }
        }
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Set({}, {} members)", self.encoding(), self.len())
    }
}

/// Iterator over a set's members (see [`Set::iter`]).
pub enum SetIter<'a> {
    Int(&'a IntSet, usize),
    Hash(Box<dyn Iterator<Item = (&'a CompactBytes, &'a ())> + 'a>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            SetIter::Int(i, pos) => {
                if *pos >= i.len() {
                    return None;
                }
                *pos += 1;
                Some(Member::Int(i.get(*pos - 1)))
            }
            SetIter::Hash(it) => it.next().map(|(k, _)| Member::Str(k)),
        }
    }
}

/// Sorted packed integers of one width (2, 4 or 8 bytes each, little-endian).
#[derive(Clone)]
pub struct IntSet {
    width: u8,
    bytes: Packed,
}

/// A byte array stored inline up to [`INLINE_BYTES`], else in an exact-size heap slice.
#[derive(Clone)]
enum Packed {
    Inline { len: u8, data: [u8; INLINE_BYTES] },
    Heap(Box<[u8]>),
}

impl Packed {
    fn as_slice(&self) -> &[u8] {
        match self {
            Packed::Inline { len, data } => &data[..*len as usize],
            Packed::Heap(b) => b,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            Packed::Inline { len, data } => &mut data[..*len as usize],
            Packed::Heap(b) => b,
        }
    }

    /// Resizes to `new_len` bytes, keeping the common prefix (new bytes are zero).
    fn resize(&mut self, new_len: usize) {
        let old = self.as_slice();
        let keep = old.len().min(new_len);
        if new_len <= INLINE_BYTES {
            let mut data = [0u8; INLINE_BYTES];
            data[..keep].copy_from_slice(&old[..keep]);
            *self = Packed::Inline {
                len: new_len as u8,
                data,
            };
        } else {
            let mut v = Vec::with_capacity(new_len);
            v.extend_from_slice(&old[..keep]);
            v.resize(new_len, 0);
            *self = Packed::Heap(v.into_boxed_slice());
        }
    }
}

/// The smallest width (bytes) that holds `v`.
fn width_for(v: i64) -> u8 {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

impl Default for IntSet {
    fn default() -> Self {
        Self::new()
    }
}

impl IntSet {
    pub fn new() -> Self {
        IntSet {
            width: 2,
            bytes: Packed::Inline {
                len: 0,
                data: [0; INLINE_BYTES],
            },
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.as_slice().len() / self.width as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per member (2, 4 or 8).
    pub fn width(&self) -> usize {
        self.width as usize
    }

    pub fn heap_size(&self) -> usize {
        match &self.bytes {
            Packed::Inline { .. } => 0,
            Packed::Heap(b) => b.len(),
        }
    }

    /// The member at index `i` (ascending order); the caller checks `i < len`.
    pub fn get(&self, i: usize) -> i64 {
        let w = self.width as usize;
        let b = &self.bytes.as_slice()[i * w..i * w + w];
        match w {
            2 => i16::from_le_bytes([b[0], b[1]]) as i64,
            4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            _ => i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        }
    }

    fn put(&mut self, i: usize, v: i64) {
        let w = self.width as usize;
        let dst = &mut self.bytes.as_mut_slice()[i * w..i * w + w];
        dst.copy_from_slice(&v.to_le_bytes()[..w]);
    }

    /// Binary search: `Ok(index)` if present, else `Err(insertion index)`.
    fn find(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid).cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        width_for(v) <= self.width && self.find(v).is_ok()
    }

    /// Adds `v`. Return value: true if it was not there.
    pub fn insert(&mut self, v: i64) -> bool {
        let need = width_for(v);
        if need > self.width {
            self.upgrade(need);
        }
        let pos = match self.find(v) {
            Ok(_) => return false,
            Err(p) => p,
        };
        let (w, n) = (self.width as usize, self.len());
        self.bytes.resize((n + 1) * w);
        self.bytes
            .as_mut_slice()
            .copy_within(pos * w..n * w, (pos + 1) * w);
        self.put(pos, v);
        true
    }

    /// Re-packs every member at a wider width.
    fn upgrade(&mut self, width: u8) {
        let old: Vec<i64> = self.iter().collect();
        self.width = width;
        self.bytes.resize(0);
        self.bytes.resize(old.len() * width as usize);
        for (i, v) in old.into_iter().enumerate() {
            self.put(i, v);
        }
    }

    /// Removes `v`. Return value: true if it was there.
    pub fn remove(&mut self, v: i64) -> bool {
        if width_for(v) > self.width {
            return false;
        }
        match self.find(v) {
            Ok(i) => {
                self.remove_at(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Removes the member at index `i` (< len).
    pub fn remove_at(&mut self, i: usize) {
        let (w, n) = (self.width as usize, self.len());
        self.bytes
            .as_mut_slice()
            .copy_within((i + 1) * w..n * w, i * w);
        self.bytes.resize((n - 1) * w);
    }

    /// Members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn members(s: &Set) -> HashSet<Vec<u8>> {
        s.iter().map(Member::to_vec).collect()
    }

    #[test]
    fn sizes() {
        assert!(
            std::mem::size_of::<Set>() <= 32,
            "{}",
            std::mem::size_of::<Set>()
        );
        assert!(std::mem::size_of::<IntSet>() <= 32);
    }

    #[test]
    fn intset_upgrades_and_stays_sorted() {
        let mut i = IntSet::new();
        for v in [5, -3, 1000, 7] {
            assert!(i.insert(v));
        }
        assert!(!i.insert(7));
        assert_eq!(i.width(), 2);
        assert_eq!(i.heap_size(), 0, "8 bytes stay inline");
        assert!(i.insert(100_000));
        assert_eq!(i.width(), 4);
        assert!(i.insert(i64::MIN));
        assert_eq!(i.width(), 8);
        assert!(i.insert(i64::MAX));
        assert_eq!(
            i.iter().collect::<Vec<_>>(),
            vec![i64::MIN, -3, 5, 7, 1000, 100_000, i64::MAX]
        );
        assert_eq!(i.heap_size(), 7 * 8);
        assert!(i.contains(i64::MIN) && !i.contains(6));
        assert!(i.remove(i64::MIN) && !i.remove(i64::MIN));
        assert!(i.remove(5) && i.remove(i64::MAX));
        // No downgrade, as Redis.
        assert_eq!(i.width(), 8);
        assert_eq!(i.iter().collect::<Vec<_>>(), vec![-3, 7, 1000, 100_000]);
        // Values wider than the current width are never members.
        let mut small = IntSet::new();
        small.insert(1);
        assert!(!small.contains(1 << 40) && !small.remove(1 << 40));
    }

    #[test]
    fn encodings_follow_redis_rules() {
        assert_eq!(Set::new_for(b"12").encoding(), "intset");
        for not_int in [
            &b"a"[..],
            b"01",
            b"-0",
            b"+1",
            b" 1",
            b"1.0",
            b"",
            b"9223372036854775808",
        ] {
            assert_eq!(Set::new_for(not_int).encoding(), "hashtable", "{not_int:?}");
        }
        let mut s = Set::new_for(b"1");
        for v in 0..4 {
            assert!(s.add(v.to_string().as_bytes(), 4));
        }
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"4", 4));
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 5);
        let mut s = Set::new_for(b"1");
        s.add(b"1", 512);
        s.add(b"x", 512);
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"1") && s.contains(b"x"));
        // Never back to intset.
        s.remove(b"x");
        assert_eq!(s.encoding(), "hashtable");
    }

    #[test]
    fn pop_random_drains_both_encodings() {
        let mut x = 7u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for max in [0usize, 512] {
            let mut s = Set::new_intset();
            for v in 0..300 {
                s.add(v.to_string().as_bytes(), max);
            }
            let mut seen = HashSet::new();
            while let Some(m) = s.pop_random(&mut rnd) {
                assert!(seen.insert(m.as_member().to_vec()));
            }
            assert_eq!(seen.len(), 300);
            assert!(s.is_empty() && s.random(&mut rnd).is_none());
        }
    }

    /// Hash-table draws are uniform, including while the table is rehashing (20 members
    /// leave a 16 → 32 bucket rehash in flight) and with long chains.
    #[test]
    fn hash_table_draws_are_uniform() {
        let mut x = 12345u64;
        let mut rnd = move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for n in [1usize, 3, 20, 100] {
            let mut s = Set::new_intset();
            for v in 0..n {
                s.add(format!("m{v}").as_bytes(), 0);
            }
            let draws = 2000 * n;
            let mut counts = std::collections::HashMap::new();
            for _ in 0..draws {
                let m = s.random(&mut rnd).map(Member::to_vec);
                *counts.entry(m.expect("non-empty")).or_insert(0usize) += 1;
            }
            assert_eq!(counts.len(), n);
            for (m, c) in counts {
                assert!(
                    (1700..2300).contains(&c),
                    "n={n} {:?}: {c}",
                    String::from_utf8_lossy(&m)
                );
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(Vec<u8>),
        Remove(Vec<u8>),
        Pop,
        Check(Vec<u8>),
    }

    fn member() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            (-40i64..40).prop_map(|v| v.to_string().into_bytes()),
            prop_oneof![
                Just(i64::MIN),
                Just(i64::MAX),
                Just(32768i64),
                Just(-32769i64),
                Just(1i64 << 33)
            ]
            .prop_map(|v| v.to_string().into_bytes()),
            "[a-c0-9-]{0,3}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..30),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => member().prop_map(Op::Add),
            2 => member().prop_map(Op::Remove),
            1 => Just(Op::Pop),
            1 => member().prop_map(Op::Check),
        ]
    }

    proptest! {
        /// The set behaves like a HashSet of byte strings under any sequence of operations,
        /// across the intset → hashtable conversion, and its encoding is the one Redis picks.
        #[test]
        fn behaves_like_hashset(ops in proptest::collection::vec(op(), 0..400), max in 0usize..20) {
            let mut s: Option<Set> = None;
            let mut model: HashSet<Vec<u8>> = HashSet::new();
            let mut all_ints_so_far = true;
            let mut x = 99u64;
            let mut rnd = move || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x };
            for op in ops {
                match op {
                    Op::Add(m) => {
                        let set = s.get_or_insert_with(|| Set::new_for(&m));
                        prop_assert_eq!(set.add(&m, max), model.insert(m.clone()));
                        all_ints_so_far &= crate::util::parse_int(&m).is_some()
                            && model.len() <= max;
                    }
                    Op::Remove(m) => {
                        let had = s.as_mut().is_some_and(|set| set.remove(&m));
                        prop_assert_eq!(had, model.remove(&m));
                    }
                    Op::Pop => {
                        let popped = s.as_mut().and_then(|set| set.pop_random(&mut rnd));
                        match popped {
                            Some(p) => prop_assert!(model.remove(&p.as_member().to_vec())),
                            None => prop_assert!(model.is_empty()),
                        }
                    }
                    Op::Check(m) => {
                        let has = s.as_ref().is_some_and(|set| set.contains(&m));
                        prop_assert_eq!(has, model.contains(&m));
                    }
                }
                if let Some(set) = &s {
                    prop_assert_eq!(set.len(), model.len());
                    let want = if all_ints_so_far { "intset" } else { "hashtable" };
                    prop_assert_eq!(set.encoding(), want);
                    if let Some(r) = set.random(&mut rnd) {
                        prop_assert!(model.contains(&r.to_vec()));
                    }
                }
            }
            if let Some(set) = &s {
                prop_assert_eq!(members(set), model.clone());
                let mut scanned = HashSet::new();
                let mut cursor = 0;
                loop {
                    cursor = set.scan(cursor, |m| { scanned.insert(m.to_vec()); });
                    if cursor == 0 { break; }
                }
                prop_assert_eq!(scanned, model.clone());
                prop_assert_eq!(members(&set.clone()), model);
                if let Set::Int(i) = set {
                    let v: Vec<i64> = i.iter().collect();
                    prop_assert!(v.windows(2).all(|w| w[0] < w[1]));
                }
            }
        }
    }
}
