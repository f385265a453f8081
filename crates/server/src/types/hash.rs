//! Hash values with Redis's two encodings: `listpack` (small) and `hashtable` (large).
//!
//! How it works:
//! - **listpack**: while a hash has at most `hash-max-listpack-entries` fields and every field
//!   and value is at most `hash-max-listpack-value` bytes, it is one packed byte buffer of
//!   alternating field and value entries, in insertion order (an update rewrites the value in
//!   place, a delete closes the gap), exactly the order Redis's listpack keeps, so HGETALL
//!   and friends reply in Redis's order. Lookups are a linear walk over at most a few hundred
//!   pairs (512 by default), which costs no per-entry memory.
//! - **hashtable**: past either limit the hash converts once to a [`Dict`] of 16-byte
//!   [`SmallStr`] fields and values and never goes back (as Redis). A dict node is then
//!   next + field + value = 40 bytes (one 48-byte allocation), and strings up to 14 bytes need
//!   no other allocation; Redis spends a 24-byte dictEntry (32 with jemalloc) plus two sds
//!   strings (16 bytes each at least).
//!
//! The packed format is ours, not Redis's (nothing outside this file sees it). The buffer is a
//! [`ThinBuf`] (one allocation holding a 4-byte length, then the payload) whose payload is a
//! 2-byte pair count (saturating: `u16::MAX` means "count by walking", as Redis's listpack
//! header) followed by entries. An entry is a header byte, then data:
//!
//! | header            | entry                                              |
//! |-------------------|----------------------------------------------------|
//! | `0xxxxxxx`        | integer 0..=127 in the header itself                |
//! | `10llllll`        | string of 0..=63 bytes, bytes follow                |
//! | `110xxxxx` + 1    | 13-bit signed integer (-4096..=4095)                |
//! | `1110llll` + 1    | string of up to 4095 bytes (12-bit length)          |
//! | `0xF0` + 4        | string with a 32-bit little-endian length           |
//! | `0xF1..=0xF4`     | 16, 24, 32 or 64-bit little-endian signed integer   |
//!
//! A string is stored as an integer only when it is the canonical decimal form of an i64
//! (Redis's `string2ll` accepts it and formatting gives the same bytes back), so the encoding
//! of a string is unique and a field is found by comparing encoded bytes. Unlike Redis's
//! listpack there is no per-entry back-length (we never walk backwards), which saves a byte
//! per field and per value.
//!
//! Measured against redis-server 7.0.15 (RSS growth after loading with `redis-cli --pipe`):
//! 100k hashes of 10 string fields 31.2 MB vs 34.3 MB; 100k hashes of 10 integer fields
//! 17.0 MB vs 18.2 MB; one hash of 1M fields 63.1 MB vs 81.0 MB.

use std::alloc::{self, Layout};
use std::borrow::Borrow;
use std::ptr::NonNull;

use cinnabar_ds::Dict;

/// Redis 7.0's built-in defaults for `hash-max-listpack-entries` (512; the sample redis.conf
/// sets 128) and `hash-max-listpack-value`.
pub const DEFAULT_MAX_ENTRIES: usize = 512;
pub const DEFAULT_MAX_VALUE: usize = 64;

/// A listpack never grows past this many bytes; a write that would cross it converts the hash
/// to a hashtable first (Redis's `lpSafeToAdd` limit, 1 GiB).
const LISTPACK_MAX_BYTES: usize = 1 << 30;

/// Conversion thresholds, read from the config by the command layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: DEFAULT_MAX_ENTRIES,
            max_value: DEFAULT_MAX_VALUE,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ThinBuf: one allocation holding its own length.
// ---------------------------------------------------------------------------------------------

/// An owned byte string behind a single thin pointer: the allocation holds a `u32` length and
/// then the bytes. Eight bytes where a `Box<[u8]>` takes sixteen, which keeps [`Hash`] and
/// [`SmallStr`] small. Lengths are limited to `u32::MAX` (callers check).
struct ThinBuf {
    ptr: NonNull<u8>,
}

const THIN_HDR: usize = 4;

// SAFETY: a ThinBuf uniquely owns its allocation (no sharing, no interior mutability), like a
// Box<[u8]>.
unsafe impl Send for ThinBuf {}
// SAFETY: shared references only read the bytes.
unsafe impl Sync for ThinBuf {}

impl ThinBuf {
    fn layout(len: usize) -> Layout {
        // Cannot fail: len <= u32::MAX, far below isize::MAX.
        Layout::from_size_align(THIN_HDR + len, 4).expect("ThinBuf layout")
    }

    fn from_slice(s: &[u8]) -> Self {
        assert!(s.len() <= u32::MAX as usize, "ThinBuf longer than u32::MAX");
        let layout = Self::layout(s.len());
        // SAFETY: the layout has a non-zero size (header included).
        let raw = unsafe { alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::handle_alloc_error(layout)
        };
        // SAFETY: the allocation is THIN_HDR + len bytes, aligned to 4 for the u32 header.
        unsafe {
            (raw as *mut u32).write(s.len() as u32);
            std::ptr::copy_nonoverlapping(s.as_ptr(), raw.add(THIN_HDR), s.len());
        }
        ThinBuf { ptr }
    }

    fn len(&self) -> usize {
        // SAFETY: the header is always initialised and 4-aligned.
        unsafe { (self.ptr.as_ptr() as *const u32).read() as usize }
    }

    fn as_slice(&self) -> &[u8] {
        // SAFETY: the allocation holds `len` initialised bytes after the header.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(THIN_HDR), self.len()) }
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(THIN_HDR), self.len()) }
    }

    /// Replaces the bytes `start..end` with `repl`, resizing the allocation (like
    /// `Vec::splice`, but the buffer is always exactly as long as its contents).
    fn splice(&mut self, start: usize, end: usize, repl: &[u8]) {
        let old_len = self.len();
        assert!(
            start <= end && end <= old_len,
            "ThinBuf splice out of bounds"
        );
        let new_len = old_len - (end - start) + repl.len();
        assert!(new_len <= u32::MAX as usize, "ThinBuf longer than u32::MAX");
        let tail = old_len - end;
        // SAFETY: every copy stays inside the allocation as sized at that moment: the tail is
        // moved left before shrinking and right after growing; `realloc` keeps the contents.
        unsafe {
            let mut base = self.ptr.as_ptr();
            if new_len < old_len {
                let data = base.add(THIN_HDR);
                std::ptr::copy(data.add(end), data.add(start + repl.len()), tail);
            }
            if new_len != old_len {
                base = alloc::realloc(base, Self::layout(old_len), THIN_HDR + new_len);
                match NonNull::new(base) {
                    Some(p) => self.ptr = p,
                    None => alloc::handle_alloc_error(Self::layout(new_len)),
                }
            }
            let data = base.add(THIN_HDR);
            if new_len > old_len {
                std::ptr::copy(data.add(end), data.add(start + repl.len()), tail);
            }
            std::ptr::copy_nonoverlapping(repl.as_ptr(), data.add(start), repl.len());
            (base as *mut u32).write(new_len as u32);
        }
    }

    /// Bytes of the allocation.
    fn alloc_size(&self) -> usize {
        THIN_HDR + self.len()
    }
}

impl Drop for ThinBuf {
    fn drop(&mut self) {
        // SAFETY: allocated with exactly this layout (the header records the current length).
        unsafe { alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.len())) }
    }
}

impl Clone for ThinBuf {
    fn clone(&self) -> Self {
        ThinBuf::from_slice(self.as_slice())
    }
}

// ---------------------------------------------------------------------------------------------
// SmallStr: the hashtable's 16-byte strings.
// ---------------------------------------------------------------------------------------------

/// Longest string a [`SmallStr`] keeps inline.
pub const SMALL_INLINE: usize = 14;

/// A 16-byte owned byte string: inline up to [`SMALL_INLINE`] bytes, else one thin heap
/// allocation (strings over 4 GiB, which only a raised proto-max-bulk-len allows, get a
/// boxed slice). Hashing and equality are those of `[u8]`, so the dict is probed with `&[u8]`.
#[derive(Clone)]
enum SmallStr {
    Inline { len: u8, data: [u8; SMALL_INLINE] },
    Heap(ThinBuf),
    Huge(Box<Box<[u8]>>),
}

impl SmallStr {
    fn new(s: &[u8]) -> Self {
        if s.len() <= SMALL_INLINE {
            let mut data = [0u8; SMALL_INLINE];
            data[..s.len()].copy_from_slice(s);
            SmallStr::Inline {
                len: s.len() as u8,
                data,
            }
        } else if s.len() <= u32::MAX as usize {
            SmallStr::Heap(ThinBuf::from_slice(s))
        } else {
            SmallStr::Huge(Box::new(s.into()))
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            SmallStr::Inline { len, data } => &data[..*len as usize],
            SmallStr::Heap(b) => b.as_slice(),
            SmallStr::Huge(b) => b,
        }
    }

    /// Heap bytes owned beyond the 16 bytes of the value itself.
    fn heap_size(&self) -> usize {
        match self {
            SmallStr::Inline { .. } => 0,
            SmallStr::Heap(b) => b.alloc_size(),
            SmallStr::Huge(b) => b.len() + 16,
        }
    }
}

impl std::ops::Deref for SmallStr {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for SmallStr {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for SmallStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for SmallStr {}

impl std::hash::Hash for SmallStr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl std::fmt::Debug for SmallStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

// ---------------------------------------------------------------------------------------------
// Val: a field or value as read from either encoding.
// ---------------------------------------------------------------------------------------------

/// A field or value read from a hash: listpack integers come out as integers (formatted only
/// when a reply needs the bytes), everything else as borrowed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Val<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Val<'_> {
    /// Calls `f` with the bytes, formatting integers on the stack.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Val::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
            Val::Bytes(b) => f(b),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Length of the string form (HSTRLEN).
    pub fn len(&self) -> usize {
        self.with_bytes(|b| b.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// ---------------------------------------------------------------------------------------------
// The packed entry codec.
// ---------------------------------------------------------------------------------------------

/// An encoded entry ready to be compared or written: header (and integer payload) plus the
/// string bytes, if any. Built on the stack; nothing is allocated to look a field up.
struct Encoded<'a> {
    head: [u8; 9],
    head_len: usize,
    body: &'a [u8],
}

impl<'a> Encoded<'a> {
    fn new(s: &'a [u8]) -> Self {
        let mut head = [0u8; 9];
        if let Some(n) = canonical_int(s) {
            let head_len = encode_int(n, &mut head);
            return Encoded {
                head,
                head_len,
                body: &[],
            };
        }
        let len = s.len();
        let head_len = if len < 64 {
            head[0] = 0x80 | len as u8;
            1
        } else if len < 4096 {
            head[0] = 0xE0 | (len >> 8) as u8;
            head[1] = (len & 0xFF) as u8;
            2
        } else {
            head[0] = 0xF0;
            head[1..5].copy_from_slice(&(len as u32).to_le_bytes());
            5
        };
        Encoded {
            head,
            head_len,
            body: s,
        }
    }

    fn len(&self) -> usize {
        self.head_len + self.body.len()
    }

    fn head(&self) -> &[u8] {
        &self.head[..self.head_len]
    }

    /// True if the entry at the start of `at` is this one.
    fn matches(&self, at: &[u8]) -> bool {
        let h = self.head();
        at.len() >= self.len() && &at[..h.len()] == h && &at[h.len()..self.len()] == self.body
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.head());
        out.extend_from_slice(self.body);
    }
}

/// The i64 a string stands for, if it is that integer's canonical decimal form.
fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let n = crate::util::parse_int(s)?;
    (itoa::Buffer::new().format(n).as_bytes() == s).then_some(n)
}

/// Writes the smallest integer entry for `n` into `out`. Return value: its length.
fn encode_int(n: i64, out: &mut [u8; 9]) -> usize {
    if (0..=127).contains(&n) {
        out[0] = n as u8;
        1
    } else if (-4096..=4095).contains(&n) {
        let raw = (n as u16) & 0x1FFF;
        out[0] = 0xC0 | (raw >> 8) as u8;
        out[1] = (raw & 0xFF) as u8;
        2
    } else {
        let (tag, width) = if i16::try_from(n).is_ok() {
            (0xF1, 2)
        } else if (-(1 << 23)..(1 << 23)).contains(&n) {
            (0xF2, 3)
        } else if i32::try_from(n).is_ok() {
            (0xF3, 4)
        } else {
            (0xF4, 8)
        };
        out[0] = tag;
        out[1..1 + width].copy_from_slice(&n.to_le_bytes()[..width]);
        1 + width
    }
}

/// Sign-extends the low `width` bytes (little-endian) of an integer entry.
fn read_int(b: &[u8], width: usize) -> i64 {
    let mut raw = [0u8; 8];
    raw[..width].copy_from_slice(&b[..width]);
    let shift = 64 - 8 * width as u32;
    (i64::from_le_bytes(raw) << shift) >> shift
}

/// Decodes the entry at the start of `b`. Return value: the entry and its encoded length.
/// The buffer is only ever written by this module, so it is well formed.
fn decode(b: &[u8]) -> (Val<'_>, usize) {
    let h = b[0];
    match h {
        0x00..=0x7F => (Val::Int(i64::from(h)), 1),
        0x80..=0xBF => {
            let len = (h & 0x3F) as usize;
            (Val::Bytes(&b[1..1 + len]), 1 + len)
        }
        0xC0..=0xDF => {
            let raw = (u16::from(h & 0x1F) << 8) | u16::from(b[1]);
            // Sign-extend 13 bits.
            let n = ((raw << 3) as i16 >> 3) as i64;
            (Val::Int(n), 2)
        }
        0xE0..=0xEF => {
            let len = (((h & 0x0F) as usize) << 8) | b[1] as usize;
            (Val::Bytes(&b[2..2 + len]), 2 + len)
        }
        0xF0 => {
            let len = u32::from_le_bytes([b[1], b[2], b[3], b[4]]) as usize;
            (Val::Bytes(&b[5..5 + len]), 5 + len)
        }
        _ => {
            let width = match h {
                0xF1 => 2,
                0xF2 => 3,
                0xF3 => 4,
                _ => 8,
            };
            (Val::Int(read_int(&b[1..], width)), 1 + width)
        }
    }
}

/// Encoded length of the entry at the start of `b`, without building the value.
fn entry_len(b: &[u8]) -> usize {
    decode(b).1
}

// ---------------------------------------------------------------------------------------------
// Listpack
// ---------------------------------------------------------------------------------------------

/// The packed small encoding (see the module docs): `[count: u16][field value field value...]`.
#[derive(Clone)]
struct Listpack {
    buf: ThinBuf,
}

const LP_HDR: usize = 2;

/// Where a pair sits in the entries: field start, value start, pair end.
#[derive(Clone, Copy)]
struct PairPos {
    field: usize,
    value: usize,
    end: usize,
}

impl Listpack {
    fn new() -> Self {
        Listpack {
            buf: ThinBuf::from_slice(&[0, 0]),
        }
    }

    fn entries(&self) -> &[u8] {
        &self.buf.as_slice()[LP_HDR..]
    }

    /// Total bytes of the payload (header and entries).
    fn bytes(&self) -> usize {
        self.buf.len()
    }

    fn stored_count(&self) -> u16 {
        let s = self.buf.as_slice();
        u16::from_le_bytes([s[0], s[1]])
    }

    fn set_count(&mut self, n: usize) {
        let c = u16::try_from(n).unwrap_or(u16::MAX);
        self.buf.as_mut_slice()[..LP_HDR].copy_from_slice(&c.to_le_bytes());
    }

    fn len(&self) -> usize {
        match self.stored_count() {
            u16::MAX => self.pairs().count(),
            n => n as usize,
        }
    }

    /// Iterates the pairs' positions.
    fn pairs(&self) -> impl Iterator<Item = PairPos> + '_ {
        let e = self.entries();
        let mut pos = 0;
        std::iter::from_fn(move || {
            if pos >= e.len() {
                return None;
            }
            let field = pos;
            let value = field + entry_len(&e[field..]);
            let end = value + entry_len(&e[value..]);
            pos = end;
            Some(PairPos { field, value, end })
        })
    }

    fn pair_at(&self, p: PairPos) -> (Val<'_>, Val<'_>) {
        let e = self.entries();
        (decode(&e[p.field..]).0, decode(&e[p.value..]).0)
    }

    fn find(&self, field: &Encoded) -> Option<PairPos> {
        let e = self.entries();
        self.pairs().find(|p| field.matches(&e[p.field..p.value]))
    }

    /// Sets a field (appends a new pair, or rewrites the value in place).
    /// Return value: true if the field was added.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let f = Encoded::new(field);
        let v = Encoded::new(value);
        let mut repl = Vec::with_capacity(f.len() + v.len());
        match self.find(&f) {
            Some(p) => {
                v.write_to(&mut repl);
                self.buf.splice(LP_HDR + p.value, LP_HDR + p.end, &repl);
                false
            }
            None => {
                f.write_to(&mut repl);
                v.write_to(&mut repl);
                let end = self.buf.len();
                // A saturated count stays saturated: no need to walk.
                let n = match self.stored_count() {
                    u16::MAX => usize::from(u16::MAX),
                    c => usize::from(c) + 1,
                };
                self.buf.splice(end, end, &repl);
                self.set_count(n);
                true
            }
        }
    }

    /// Removes a field. Return value: true if it was there.
    fn remove(&mut self, field: &[u8]) -> bool {
        let f = Encoded::new(field);
        match self.find(&f) {
            Some(p) => {
                let n = self.len() - 1;
                self.buf.splice(LP_HDR + p.field, LP_HDR + p.end, &[]);
                self.set_count(n);
                true
            }
            None => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hash
// ---------------------------------------------------------------------------------------------

type Table = Dict<SmallStr, SmallStr>;

/// A hash value (see the module docs for the encodings).
#[derive(Clone)]
pub struct Hash {
    repr: Repr,
}

enum Repr {
    Listpack(Listpack),
    Table(Box<Table>),
}

impl Clone for Repr {
    fn clone(&self) -> Self {
        match self {
            Repr::Listpack(lp) => Repr::Listpack(lp.clone()),
            Repr::Table(src) => {
                let mut t = Table::new();
                for (k, v) in src.iter() {
                    t.insert_new(k.clone(), v.clone());
                }
                Repr::Table(Box::new(t))
            }
        }
    }
}

impl Default for Hash {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hash")
            .field("encoding", &self.encoding())
            .field("len", &self.len())
            .finish()
    }
}

/// Iterator over a hash's (field, value) pairs.
pub struct Iter<'a> {
    inner: IterInner<'a>,
}

enum IterInner<'a> {
    Listpack(&'a [u8]),
    Table(Box<dyn Iterator<Item = (&'a SmallStr, &'a SmallStr)> + 'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (Val<'a>, Val<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            IterInner::Listpack(rest) => {
                if rest.is_empty() {
                    return None;
                }
                let r: &'a [u8] = rest;
                let (f, n1) = decode(r);
                let (v, n2) = decode(&r[n1..]);
                *rest = &r[n1 + n2..];
                Some((f, v))
            }
            IterInner::Table(it) => it
                .next()
                .map(|(k, v)| (Val::Bytes(k.as_slice()), Val::Bytes(v.as_slice()))),
        }
    }
}

impl Hash {
    /// An empty hash in the listpack encoding.
    pub fn new() -> Self {
        Hash {
            repr: Repr::Listpack(Listpack::new()),
        }
    }

    /// A listpack hash built in one allocation from pairs with distinct fields, in their
    /// order (the RDB loader's fast path; `set` resizes the buffer once per pair). Return
    /// value: `None` when a field repeats or the pairs do not fit the listpack limits; the
    /// caller then sets them one by one.
    pub fn from_pairs(pairs: &[(&[u8], &[u8])], lim: Limits) -> Option<Hash> {
        if pairs.len() > lim.max_entries {
            return None;
        }
        let mut out = Vec::with_capacity(
            LP_HDR
                + pairs
                    .iter()
                    .map(|(f, v)| f.len() + v.len() + 4)
                    .sum::<usize>(),
        );
        out.extend_from_slice(&u16::try_from(pairs.len()).unwrap_or(u16::MAX).to_le_bytes());
        for (i, &(f, v)) in pairs.iter().enumerate() {
            if f.len() > lim.max_value || v.len() > lim.max_value {
                return None;
            }
            if pairs[..i].iter().any(|&(o, _)| o == f) {
                return None;
            }
            Encoded::new(f).write_to(&mut out);
            Encoded::new(v).write_to(&mut out);
        }
        if out.len() > LISTPACK_MAX_BYTES {
            return None;
        }
        Some(Hash {
            repr: Repr::Listpack(Listpack {
                buf: ThinBuf::from_slice(&out),
            }),
        })
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.len(),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Name reported by OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// True while the hash is in the listpack encoding.
    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Listpack(_))
    }

    /// Heap bytes owned by the hash (allocator size classes not counted). For a hashtable the
    /// out-of-line string bytes are estimated from a sample of entries, as Redis's MEMORY
    /// USAGE samples, so this stays cheap for huge hashes.
    pub fn heap_size(&self) -> usize {
        const SAMPLES: usize = 64;
        match &self.repr {
            Repr::Listpack(lp) => lp.buf.alloc_size(),
            Repr::Table(t) => {
                let node = 8 + 2 * std::mem::size_of::<SmallStr>();
                let (n, sampled) = t.iter().take(SAMPLES).fold((0, 0), |(n, s), (k, v)| {
                    (n + 1, s + k.heap_size() + v.heap_size())
                });
                let strings = (sampled * t.len()).checked_div(n).unwrap_or(0);
                std::mem::size_of::<Table>() + t.buckets() * 8 + t.len() * node + strings
            }
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<Val<'_>> {
        match &self.repr {
            Repr::Listpack(lp) => {
                let p = lp.find(&Encoded::new(field))?;
                Some(lp.pair_at(p).1)
            }
            Repr::Table(t) => t.get(field).map(|v| Val::Bytes(v.as_slice())),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Converts to the hashtable encoding if any of `items` (fields and values about to be
    /// written) is longer than `max_value`, or if the listpack could pass its byte limit:
    /// Redis's `hashTypeTryConversion`, called before a write so that a command converts once.
    pub fn convert_for<'a>(&mut self, items: impl IntoIterator<Item = &'a [u8]>, lim: Limits) {
        let Repr::Listpack(lp) = &self.repr else {
            return;
        };
        let mut sum = 0usize;
        for it in items {
            if it.len() > lim.max_value {
                self.convert();
                return;
            }
            sum += it.len();
        }
        if lp.bytes() + sum > LISTPACK_MAX_BYTES {
            self.convert();
        }
    }

    /// Sets `field` to `value`, converting to the hashtable first if either is longer than
    /// `lim.max_value` and afterwards if the listpack holds more than `lim.max_entries`
    /// pairs (Redis's `hashTypeSet`). Return value: true if the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        if let Repr::Listpack(lp) = &self.repr {
            let too_long = field.len() > lim.max_value || value.len() > lim.max_value;
            // Entries take at most 5 header bytes each.
            let too_big = lp.bytes() + field.len() + value.len() + 10 > LISTPACK_MAX_BYTES;
            if too_long || too_big {
                self.convert();
            }
        }
        match &mut self.repr {
            Repr::Listpack(lp) => {
                let added = lp.set(field, value);
                if added && lp.len() > lim.max_entries {
                    self.convert();
                }
                added
            }
            // One hash computation and one probe, new field or not.
            Repr::Table(t) => t
                .upsert(field, SmallStr::new, SmallStr::new(value))
                .is_none(),
        }
    }

    /// Removes a field. Return value: true if it was there. A hashtable that became sparse
    /// starts shrinking, as Redis resizes the dict after every hash delete.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(lp) => lp.remove(field),
            Repr::Table(t) => {
                let removed = t.remove(field).is_some();
                if removed {
                    t.shrink_if_needed();
                }
                removed
            }
        }
    }

    /// Converts to the hashtable encoding (no-op if already there). One way only.
    pub fn convert(&mut self) {
        let Repr::Listpack(lp) = &self.repr else {
            return;
        };
        let mut t = Table::new();
        for p in lp.pairs() {
            let (f, v) = lp.pair_at(p);
            let f = f.with_bytes(SmallStr::new);
            let v = v.with_bytes(SmallStr::new);
            t.insert(f, v);
        }
        self.repr = Repr::Table(Box::new(t));
    }

    /// Iterates (field, value) pairs: insertion order for a listpack, table order otherwise.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: match &self.repr {
                Repr::Listpack(lp) => IterInner::Listpack(lp.entries()),
                Repr::Table(t) => IterInner::Table(Box::new(t.iter())),
            },
        }
    }

    /// One HSCAN step: a listpack returns everything and cursor 0 (as Redis, which does not
    /// iterate compact encodings); a hashtable visits the buckets at `cursor` with the dict's
    /// resize-proof cursor. Return value: the next cursor.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(Val<'_>, Val<'_>)) -> u64 {
        match &self.repr {
            Repr::Listpack(_) => {
                for (k, v) in self.iter() {
                    f(k, v);
                }
                0
            }
            Repr::Table(t) => t.scan(cursor, |k, v| {
                f(Val::Bytes(k.as_slice()), Val::Bytes(v.as_slice()))
            }),
        }
    }

    /// A random pair, or None if the hash is empty. `rnd` supplies random numbers.
    pub fn random_pair(&self, rnd: &mut impl FnMut() -> u64) -> Option<(Val<'_>, Val<'_>)> {
        match &self.repr {
            Repr::Listpack(lp) => {
                let n = lp.len();
                if n == 0 {
                    return None;
                }
                let i = (rnd() % n as u64) as usize;
                let p = lp.pairs().nth(i)?;
                Some(lp.pair_at(p))
            }
            Repr::Table(t) => t
                .random_entry(rnd)
                .map(|(k, v)| (Val::Bytes(k.as_slice()), Val::Bytes(v.as_slice()))),
        }
    }

    /// Every pair, in iteration order (for random sampling of small hashes; the vector is as
    /// long as the hash, never longer).
    pub fn pairs(&self) -> Vec<(Val<'_>, Val<'_>)> {
        let mut v = Vec::with_capacity(self.len());
        v.extend(self.iter());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<SmallStr>(), 16);
        assert_eq!(std::mem::size_of::<Hash>(), 16);
        assert_eq!(std::mem::size_of::<ThinBuf>(), 8);
    }

    #[test]
    fn codec_roundtrip() {
        let ints = [
            0i64,
            1,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            (1 << 23) - 1,
            -(1 << 23),
            1 << 23,
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MAX,
            i64::MIN,
        ];
        for n in ints {
            let s = n.to_string();
            let e = Encoded::new(s.as_bytes());
            assert!(e.body.is_empty(), "{n} stored as int");
            let mut buf = Vec::new();
            e.write_to(&mut buf);
            assert_eq!(decode(&buf), (Val::Int(n), buf.len()), "{n}");
        }
        for s in [
            &b""[..],
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"abc",
            b"99999999999999999999",
            &[b'x'; 63],
            &[b'x'; 64],
            &[b'y'; 4095],
            &[b'z'; 4096],
            &[0u8; 70000],
        ] {
            let e = Encoded::new(s);
            let mut buf = Vec::new();
            e.write_to(&mut buf);
            assert_eq!(decode(&buf), (Val::Bytes(s), buf.len()));
            assert!(e.matches(&buf));
        }
    }

    #[test]
    fn thinbuf_splice() {
        let mut b = ThinBuf::from_slice(b"hello world");
        b.splice(5, 11, b"");
        assert_eq!(b.as_slice(), b"hello");
        b.splice(0, 0, b">> ");
        assert_eq!(b.as_slice(), b">> hello");
        b.splice(3, 8, b"bye, long string");
        assert_eq!(b.as_slice(), b">> bye, long string");
        let c = b.clone();
        b.splice(0, b.len(), b"");
        assert_eq!(b.as_slice(), b"");
        assert_eq!(c.as_slice(), b">> bye, long string");
    }

    #[test]
    fn listpack_order_and_conversion() {
        let lim = Limits {
            max_entries: 3,
            max_value: 8,
        };
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", lim));
        assert!(h.set(b"b", b"xx", lim));
        assert!(!h.set(b"a", b"-5000", lim));
        assert!(h.set(b"c", b"", lim));
        assert_eq!(h.encoding(), "listpack");
        let pairs: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(
            pairs,
            vec![
                (b"a".to_vec(), b"-5000".to_vec()),
                (b"b".to_vec(), b"xx".to_vec()),
                (b"c".to_vec(), b"".to_vec())
            ]
        );
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.len(), 2);
        assert!(h.set(b"d", b"1", lim));
        assert!(h.set(b"e", b"1", lim));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 4);
        assert_eq!(h.get(b"a"), Some(Val::Bytes(b"-5000")));
        let mut h = Hash::new();
        h.set(b"f", b"123456789", lim);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::new();
        h.set(b"f", b"1", lim);
        h.convert_for([&b"f"[..], &b"123456789"[..]], lim);
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn saturated_count() {
        let lim = Limits {
            max_entries: 100_000,
            max_value: 64,
        };
        // Build a listpack of 65,540 pairs directly (set() would search each time).
        let mut lp = Listpack::new();
        let mut bytes = Vec::new();
        for i in 0..65_540u32 {
            Encoded::new(&i.to_le_bytes()).write_to(&mut bytes);
            Encoded::new(b"v").write_to(&mut bytes);
        }
        let end = lp.buf.len();
        lp.buf.splice(end, end, &bytes);
        lp.set_count(65_540);
        assert_eq!(lp.stored_count(), u16::MAX);
        let mut h = Hash {
            repr: Repr::Listpack(lp),
        };
        assert_eq!(h.len(), 65_540);
        assert!(h.set(b"new", b"v", lim));
        assert_eq!(h.len(), 65_541);
        for i in 0..6u32 {
            assert!(h.remove(&i.to_le_bytes()));
        }
        assert_eq!(h.len(), 65_535);
        assert!(h.remove(b"new"));
        assert_eq!(h.len(), 65_534);
        let Repr::Listpack(lp) = &h.repr else {
            panic!("still a listpack")
        };
        assert_eq!(lp.stored_count(), 65_534);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(Vec<u8>, Vec<u8>),
        Del(Vec<u8>),
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // Small field space, so sets overwrite and deletes hit.
            (0u8..12).prop_map(|b| vec![b'a' + b]),
            (-5000i64..5000).prop_map(|n| n.to_string().into_bytes()),
            any::<i64>().prop_map(|n| n.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..20),
            proptest::collection::vec(any::<u8>(), 60..70),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (bytes(), bytes()).prop_map(|(f, v)| Op::Set(f, v)),
            1 => bytes().prop_map(Op::Del),
        ]
    }

    fn check_against_model(ops: &[Op], lim: Limits) {
        let mut h = Hash::new();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut was_table = false;
        for op in ops {
            match op {
                Op::Set(f, v) => {
                    let added = h.set(f, v, lim);
                    assert_eq!(added, model.insert(f.clone(), v.clone()).is_none());
                }
                Op::Del(f) => assert_eq!(h.remove(f), model.remove(f).is_some()),
            }
            assert_eq!(h.len(), model.len());
            // Never back to listpack; listpack only within the limits.
            if was_table {
                assert_eq!(h.encoding(), "hashtable");
            }
            was_table = !h.is_listpack();
            if h.is_listpack() {
                assert!(h.len() <= lim.max_entries);
                assert!(h
                    .iter()
                    .all(|(f, v)| f.len() <= lim.max_value && v.len() <= lim.max_value));
            }
        }
        let got: HashMap<Vec<u8>, Vec<u8>> =
            h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(got, model);
        for (f, v) in &model {
            assert_eq!(h.get(f).map(|x| x.to_vec()).as_ref(), Some(v));
        }
        // A full scan sees every field.
        let mut seen = HashMap::new();
        let mut cursor = 0;
        loop {
            cursor = h.scan(cursor, |f, v| {
                seen.insert(f.to_vec(), v.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, model);
        let c = h.clone();
        assert_eq!(c.len(), h.len());
        assert_eq!(c.encoding(), h.encoding());
    }

    proptest! {
        #[test]
        fn listpack_matches_hashmap(ops in proptest::collection::vec(op(), 0..200)) {
            // Limits high enough that most runs stay in the listpack encoding.
            check_against_model(&ops, Limits { max_entries: 1000, max_value: 1000 });
        }

        #[test]
        fn conversion_matches_hashmap(ops in proptest::collection::vec(op(), 0..200)) {
            // Small limits force conversion part-way through.
            check_against_model(&ops, Limits { max_entries: 6, max_value: 16 });
        }

        #[test]
        fn hashtable_matches_hashmap(ops in proptest::collection::vec(op(), 0..200)) {
            check_against_model(&ops, Limits { max_entries: 0, max_value: 0 });
        }
    }
}
