//! RDB reader: parses versions 1 to 11 from a byte slice and rebuilds values.
//!
//! The file is parsed into fresh databases that replace the live ones only once the whole walk,
//! CRC-64 included, has succeeded, so a bad file never leaves a half-loaded dataset. Every length read from the file is checked
//! against the bytes left before anything is allocated, and listpack / ziplist / intset /
//! zipmap blobs are fully decoded and checked as Redis's deep sanitizer checks them (never
//! trusted, whatever `sanitize-dump-payload` says), so corrupt input yields an error, not a
//! panic and never an installed value. Those errors carry Redis's words ([`corrupt`]), which
//! RESTORE logs, the check tool prints and a start-up load reports before exiting.
//!
//! Values are rebuilt through the types' normal insert paths with the configured limits,
//! which gives the encodings Redis picks when it loads (and converts) the same data. The
//! encodings of Redis before 7.0 (zipmap, ziplist, quicklist of ziplists, zset-v1 text
//! scores) convert as Redis 7.0 converts them: a packed hash or zset changes encoding on
//! its count only (a long value stays packed until a write, as in Redis), a zipmap on count
//! and length, and a quicklist keeps the file's node split.
//!
//! Speed (a start-up load of 1 M keys is dominated by per-key costs): strings are borrowed
//! from the (mapped) image instead of copied into temporaries ([`RStr`]); RESIZEDB sizes the
//! new dicts once, so nothing grows or rehashes during the load; each key costs one dict probe
//! (duplicate check and insert together); listpacks are walked in place, and small hashes and
//! zsets are built in one allocation when the file's entries allow it.

use super::packed::{
    intset_entries, listpack_each, packed_each, ziplist_each, zipmap_each, LpEntry, Packed,
};
use super::*;
use crate::types::stream::{self, StreamId};
use crate::types::{Hash, List, Obj, Set, StrValue, Stream, Value, ZSet};

pub type LoadResult<T> = Result<T, String>;

/// Error of an empty collection: RESTORE refuses it, a file load skips the key (as Redis 7.0).
const EMPTY_KEY: &str = "Bad RDB data: empty key";

fn short() -> String {
    "Short read or OOM loading DB. Unrecoverable error, aborting now.".to_string()
}

fn bad(what: &str) -> String {
    format!("Bad RDB data: {what}")
}

/// A cursor over RDB bytes.
pub struct Reader<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

/// A string read from the file: borrowed from the image when it is stored plainly, so keys
/// and values are built straight from the file's bytes without a temporary buffer.
pub enum RStr<'a> {
    Slice(&'a [u8]),
    /// An integer-encoded string.
    Int(i64),
    /// An LZF-compressed string, decompressed.
    Owned(Vec<u8>),
}

impl RStr<'_> {
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            RStr::Slice(s) => s.to_vec(),
            RStr::Int(i) => itoa::Buffer::new().format(i).as_bytes().to_vec(),
            RStr::Owned(v) => v,
        }
    }

    /// Calls `f` with the bytes (integers are formatted on the stack).
    pub fn with<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            RStr::Slice(s) => f(s),
            RStr::Int(i) => f(itoa::Buffer::new().format(*i).as_bytes()),
            RStr::Owned(v) => f(v),
        }
    }

    pub fn into_key(self) -> crate::db::Key {
        match self {
            RStr::Owned(v) => v.into(),
            other => other.with(crate::db::Key::new),
        }
    }

    /// A string value, encoded as Redis encodes a loaded string (int, embstr or raw).
    fn into_str_value(self) -> StrValue {
        match self {
            RStr::Slice(s) => StrValue::from_bytes(s),
            RStr::Int(i) => StrValue::Int(i),
            RStr::Owned(v) => StrValue::from_vec(v),
        }
    }
}

/// A length or a special string encoding.
enum Len {
    Plain(u64),
    Enc(u8),
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn take(&mut self, n: usize) -> LoadResult<&'a [u8]> {
        if n > self.left() {
            return Err(short());
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn byte(&mut self) -> LoadResult<u8> {
        Ok(self.take(1)?[0])
    }

    fn len_or_enc(&mut self) -> LoadResult<Len> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain((((b & 0x3f) as u64) << 8) | self.byte()? as u64),
            2 => match b {
                0x80 => {
                    let s = self.take(4)?;
                    Len::Plain(u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as u64)
                }
                0x81 => {
                    let s = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    Len::Plain(u64::from_be_bytes(a))
                }
                _ => return Err(bad("unknown length encoding")),
            },
            _ => Len::Enc(b & 0x3f),
        })
    }

    /// A length. A string-encoding byte (`11xxxxxx`) where a length is expected reads as its
    /// low 6 bits, as Redis's `rdbLoadLen` takes it when the caller does not ask.
    pub fn length(&mut self) -> LoadResult<u64> {
        match self.len_or_enc()? {
            Len::Plain(n) => Ok(n),
            Len::Enc(n) => Ok(n as u64),
        }
    }

    /// A count of items that each take at least `min_bytes`: checked against what is left.
    pub fn count(&mut self, min_bytes: usize) -> LoadResult<usize> {
        let n = self.length()?;
        if n > (self.left() / min_bytes.max(1)) as u64 {
            return Err(short());
        }
        Ok(n as usize)
    }

    pub fn string(&mut self) -> LoadResult<Vec<u8>> {
        self.string_ref().map(RStr::into_vec)
    }

    /// A string, borrowed from the image unless it is compressed.
    pub fn string_ref(&mut self) -> LoadResult<RStr<'a>> {
        match self.len_or_enc()? {
            Len::Plain(n) => {
                if n > self.left() as u64 {
                    return Err(short());
                }
                Ok(RStr::Slice(self.take(n as usize)?))
            }
            Len::Enc(0) => Ok(RStr::Int(self.byte()? as i8 as i64)),
            Len::Enc(1) => {
                let s = self.take(2)?;
                Ok(RStr::Int(i16::from_le_bytes([s[0], s[1]]) as i64))
            }
            Len::Enc(2) => {
                let s = self.take(4)?;
                Ok(RStr::Int(
                    i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as i64
                ))
            }
            Len::Enc(3) => {
                let clen = self.length()?;
                let ulen = self.length()?;
                if clen > self.left() as u64 {
                    return Err(short());
                }
                // LZF expands at most ~264x per 3 bytes; refuse absurd claims before allocating.
                if ulen > clen.saturating_mul(300).saturating_add(64) {
                    return Err(bad("LZF length"));
                }
                let c = self.take(clen as usize)?;
                lzf::decompress(c, ulen as usize)
                    .map(RStr::Owned)
                    .ok_or_else(|| bad("invalid LZF compressed string"))
            }
            Len::Enc(_) => Err(bad("unknown string encoding")),
        }
    }

    fn f64_bin(&mut self) -> LoadResult<f64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(f64::from_le_bytes(a))
    }

    /// A zset v1 score: 1-byte length then ASCII (253 nan, 254 +inf, 255 -inf).
    fn f64_str(&mut self) -> LoadResult<f64> {
        let n = self.byte()?;
        Ok(match n {
            253 => f64::NAN,
            254 => f64::INFINITY,
            255 => f64::NEG_INFINITY,
            _ => {
                let s = self.take(n as usize)?;
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|t| t.parse::<f64>().ok())
                    .ok_or_else(|| bad("score"))?
            }
        })
    }

    fn u64_le(&mut self) -> LoadResult<u64> {
        let s = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
}

/// The corruption report of Redis 7.0.15's `rdbReportCorruptRDB`, word for word: logs, check
/// reports and start-up failures read the same as Redis's. `line` is where rdb.c (7.0.15)
/// detects that case (a fact about the text Redis prints, kept so logs can be compared). The
/// offset is Redis's load progress, which only moves every 2 MB: 0 for RESTORE and small files.
pub fn corrupt(line: u32, what: &str) -> String {
    format!("{CORRUPT_PREFIX}{line} -> {what}")
}

const CORRUPT_PREFIX: &str = "Internal error in RDB reading offset 0, function at rdb.c:";

/// True for a [`corrupt`] error (a value that failed its integrity check).
pub fn is_corruption(msg: &str) -> bool {
    msg.starts_with(CORRUPT_PREFIX)
}

// Where Redis 7.0.15's rdb.c reports each corruption (see [`corrupt`]).
const AT_SET_INTSET_DUP: u32 = 1809;
const AT_SET_DUP: u32 = 1829;
const AT_ZSET_NAN: u32 = 1882;
const AT_ZSET_DUP: u32 = 1894;
const AT_HASH_LP_DUP: u32 = 1951;
const AT_HASH_DUP: u32 = 2019;
const AT_QUICKLIST: u32 = 2048;
const AT_QL_LISTPACK: u32 = 2071;
const AT_QL_ZIPLIST: u32 = 2081;
const AT_ZIPMAP: u32 = 2130;
const AT_ZIPMAP_DUP: u32 = 2154;
const AT_LIST_ZIPLIST: u32 = 2188;
const AT_INTSET: u32 = 2213;
const AT_ZSET_ZIPLIST: u32 = 2228;
const AT_ZSET_LISTPACK: u32 = 2254;
const AT_HASH_ZIPLIST: u32 = 2274;
const AT_HASH_LISTPACK: u32 = 2300;
/// rdbLoad's reports for a short file and a bad checksum.
pub const AT_EOF: u32 = 3241;
pub const AT_CRC: u32 = 3217;

/// The entries of a packed blob copied into one buffer: (start, end) of each entry in
/// `bytes`, plus a parsed zset score for every second entry when `scores` is set.
struct Flat {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
    scores: Vec<f64>,
}

impl Flat {
    fn of(kind: Packed, blob: &[u8], scores: bool) -> LoadResult<Flat> {
        // Sized once: the entries' bytes are about the blob's, and the header declares the
        // count (65535 when it does not know; the capacity is then only a hint).
        let at = if kind == Packed::Listpack { 4 } else { 8 };
        let n = blob
            .get(at..at + 2)
            .map_or(0, |c| u16::from_le_bytes([c[0], c[1]]) as usize);
        let mut f = Flat {
            bytes: Vec::with_capacity(blob.len() + 16),
            spans: Vec::with_capacity(n.min(1024)),
            scores: Vec::with_capacity(if scores { n.min(1024) / 2 } else { 0 }),
        };
        packed_each(kind, blob, |e| {
            if scores && f.spans.len() % 2 == 1 {
                f.scores
                    .push(lp_score(&e).ok_or_else(|| bad("zset score"))?);
            }
            let start = f.bytes.len();
            e.with(|b| f.bytes.extend_from_slice(b));
            f.spans.push((start, f.bytes.len()));
            Ok(())
        })?;
        Ok(f)
    }

    fn get(&self, i: usize) -> &[u8] {
        let (a, b) = self.spans[i];
        &self.bytes[a..b]
    }
}

/// A hash from a packed blob of field / value entries. As Redis, only the number of pairs
/// decides the encoding (a long value stays in the listpack, "eventually everything will get
/// converted"). Built in one allocation when it stays a listpack, else field by field.
fn packed_to_hash(kind: Packed, blob: &[u8], lim: &Limits) -> LoadResult<Hash> {
    let flat = Flat::of(kind, blob, false)?;
    if !flat.spans.len().is_multiple_of(2) {
        return Err(bad("odd hash listpack"));
    }
    let lim = crate::types::hash::Limits {
        max_value: usize::MAX,
        ..lim.hash
    };
    let pairs: Vec<(&[u8], &[u8])> = (0..flat.spans.len() / 2)
        .map(|i| (flat.get(2 * i), flat.get(2 * i + 1)))
        .collect();
    if let Some(h) = Hash::from_pairs(&pairs, lim) {
        return Ok(h);
    }
    let mut h = Hash::new();
    for (f, v) in pairs {
        if !h.set(f, v, lim) {
            return Err(bad("duplicate hash field"));
        }
    }
    Ok(h)
}

/// A zset score from a listpack entry: integers convert exactly as strtod would round their
/// decimal form; plain decimal strings go through Rust's (correctly rounded) parser, anything
/// else (inf, hex, out-of-range) through `parse_f64`'s strtod rules.
fn lp_score(e: &LpEntry) -> Option<f64> {
    match e {
        LpEntry::Int(i) => Some(*i as f64),
        LpEntry::Str(s) => {
            let plain = !s.is_empty()
                && s.iter()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'));
            let fast = plain
                .then(|| std::str::from_utf8(s).ok()?.parse::<f64>().ok())
                .flatten()
                .filter(|v| v.is_finite() && *v != 0.0);
            fast.or_else(|| crate::util::parse_f64(s))
                .filter(|v| !v.is_nan())
        }
    }
}

/// A zset from a packed blob of member / score entries. As Redis, only the number of members
/// decides the encoding. Built in one allocation when they are in order and stay a listpack
/// (what Redis writes), else member by member.
fn packed_to_zset(kind: Packed, blob: &[u8], lim: &Limits) -> LoadResult<ZSet> {
    let flat = Flat::of(kind, blob, true)?;
    if !flat.spans.len().is_multiple_of(2) {
        return Err(bad("odd zset listpack"));
    }
    let lim = crate::types::zset::Limits {
        value: usize::MAX,
        ..lim.zset
    };
    let entries: Vec<(&[u8], f64)> = (0..flat.scores.len())
        .map(|i| (flat.get(2 * i), flat.scores[i]))
        .collect();
    if let Some(z) = ZSet::from_sorted(&entries, lim) {
        return Ok(z);
    }
    let mut z = ZSet::with_hint(entries.len(), 0, lim);
    for (m, s) in entries {
        if z.add(m, s, lim) != crate::types::zset::AddResult::Added {
            return Err(bad("duplicate zset member"));
        }
    }
    Ok(z)
}

/// A hash from a zipmap. Unlike the ziplist types, Redis converts it to a hash table when a
/// field or value is longer than `hash-max-listpack-value`, as well as by count.
fn zipmap_to_hash(zm: &[u8], lim: &Limits) -> LoadResult<Hash> {
    let mut h = Hash::new();
    zipmap_each(zm, |f, v| {
        if !h.set(f, v, lim.hash) {
            let what = format!("Hash zipmap with dup elements, or big length ({})", f.len());
            return Err(corrupt(AT_ZIPMAP_DUP, &what));
        }
        Ok(())
    })
    .map_err(|e| {
        if is_corruption(&e) {
            e
        } else {
            corrupt(AT_ZIPMAP, "Zipmap integrity check failed.")
        }
    })?;
    Ok(h)
}

fn add_set_member(s: &mut Option<Set>, m: &[u8], lim: &Limits) -> LoadResult<()> {
    let set = s.get_or_insert_with(|| Set::new_for(m));
    let intset = set.encoding() == "intset";
    if !set.add(m, lim.max_intset) {
        let at = if intset {
            AT_SET_INTSET_DUP
        } else {
            AT_SET_DUP
        };
        return Err(corrupt(at, "Duplicate set members detected"));
    }
    Ok(())
}

/// Reads one value of type `t`. Empty collections are an error, as in Redis. Every packed
/// blob (listpack, ziplist, intset, zipmap) is checked whole before its value is built,
/// whatever `sanitize-dump-payload` says: Redis skips the deep check when it is `no`, but a
/// value that did not validate is never installed here. Failures are [`corrupt`] errors
/// with Redis's text for the type.
pub fn read_value(r: &mut Reader, t: u8, lim: &Limits) -> LoadResult<Value> {
    // Any failure inside a blob is reported as that type's integrity failure.
    let blob_err = |line: u32, what: &'static str| move |_: String| corrupt(line, what);
    let v = match t {
        T_STRING => Value::Str(r.string_ref()?.into_str_value()),
        T_LIST => {
            let n = r.count(1)?;
            let mut l = List::new(lim.list_fill);
            for _ in 0..n {
                r.string_ref()?.with(|e| l.push_back(e));
            }
            Value::List(Box::new(l))
        }
        T_LIST_ZIPLIST => {
            let mut l = List::new(lim.list_fill);
            r.string_ref()?
                .with(|b| {
                    ziplist_each(b, |e| {
                        e.with(|v| l.push_back(v));
                        Ok(())
                    })
                })
                .map_err(blob_err(
                    AT_LIST_ZIPLIST,
                    "List ziplist integrity check failed.",
                ))?;
            Value::List(Box::new(l))
        }
        T_LIST_QUICKLIST | T_LIST_QUICKLIST_2 => {
            let n = r.count(1)?;
            let mut l = List::new(lim.list_fill);
            for _ in 0..n {
                let container = if t == T_LIST_QUICKLIST_2 {
                    r.length()?
                } else {
                    2
                };
                let blob = r.string_ref()?;
                match container {
                    1 => blob.with(|b| {
                        l.push_node(|push| {
                            push(b);
                            Ok::<(), String>(())
                        })
                    })?,
                    2 => {
                        let (kind, line, what) = if t == T_LIST_QUICKLIST_2 {
                            (
                                Packed::Listpack,
                                AT_QL_LISTPACK,
                                "Listpack integrity check failed.",
                            )
                        } else {
                            (
                                Packed::Ziplist,
                                AT_QL_ZIPLIST,
                                "Ziplist integrity check failed.",
                            )
                        };
                        blob.with(|b| {
                            l.push_node(|push| {
                                packed_each(kind, b, |e| {
                                    e.with(|v| push(v));
                                    Ok(())
                                })
                                .map(|_| ())
                            })
                        })
                        .map_err(blob_err(line, what))?;
                    }
                    _ => return Err(corrupt(AT_QUICKLIST, "Quicklist integrity check failed.")),
                }
            }
            Value::List(Box::new(l))
        }
        T_SET | T_SET_LISTPACK | T_SET_INTSET => {
            let mut s: Option<Set> = None;
            match t {
                T_SET => {
                    let n = r.count(1)?;
                    for _ in 0..n {
                        r.string_ref()?.with(|m| add_set_member(&mut s, m, lim))?;
                    }
                }
                T_SET_LISTPACK => {
                    r.string_ref()?.with(|b| {
                        listpack_each(b, |e| e.with(|m| add_set_member(&mut s, m, lim)))
                    })?;
                }
                _ => {
                    let blob = r.string_ref()?;
                    let (width, values) = blob
                        .with(|b| intset_entries(b).map(|v| (b[0] as usize, v)))
                        .map_err(|_| corrupt(AT_INTSET, "Intset integrity check failed."))?;
                    let mut set = Set::new_intset_width(width);
                    for v in values {
                        set.add_member(crate::types::set::Member::Int(v), lim.max_intset);
                    }
                    s = Some(set);
                }
            }
            Value::Set(Box::new(s.unwrap_or_default()))
        }
        T_ZSET | T_ZSET_2 => {
            let n = r.count(2)?;
            let mut z = ZSet::with_hint(n, 0, lim.zset);
            for _ in 0..n {
                let m = r.string_ref()?;
                let s = if t == T_ZSET_2 {
                    r.f64_bin()?
                } else {
                    r.f64_str()?
                };
                if s.is_nan() {
                    return Err(corrupt(AT_ZSET_NAN, "Zset with NAN score detected"));
                }
                if m.with(|m| z.add(m, s, lim.zset)) != crate::types::zset::AddResult::Added {
                    return Err(corrupt(AT_ZSET_DUP, "Duplicate zset fields detected"));
                }
            }
            Value::ZSet(Box::new(z))
        }
        T_ZSET_LISTPACK | T_ZSET_ZIPLIST => {
            let (kind, line, what) = if t == T_ZSET_LISTPACK {
                (
                    Packed::Listpack,
                    AT_ZSET_LISTPACK,
                    "Zset listpack integrity check failed.",
                )
            } else {
                (
                    Packed::Ziplist,
                    AT_ZSET_ZIPLIST,
                    "Zset ziplist integrity check failed.",
                )
            };
            let z = r
                .string_ref()?
                .with(|b| packed_to_zset(kind, b, lim))
                .map_err(blob_err(line, what))?;
            Value::ZSet(Box::new(z))
        }
        T_HASH => {
            let n = r.count(2)?;
            let mut h = Hash::new();
            for _ in 0..n {
                let f = r.string_ref()?;
                let v = r.string_ref()?;
                // Redis checks duplicates against a side table while the hash is a listpack,
                // and by the dict insert once it is a table (or was one from the start).
                let in_listpack = n <= lim.hash.max_entries && h.is_listpack();
                if !f.with(|f| v.with(|v| h.set(f, v, lim.hash))) {
                    return Err(if in_listpack {
                        corrupt(AT_HASH_LP_DUP, "Hash with dup elements")
                    } else {
                        corrupt(AT_HASH_DUP, "Duplicate hash fields detected")
                    });
                }
            }
            Value::Hash(Box::new(h))
        }
        T_HASH_LISTPACK | T_HASH_ZIPLIST => {
            let (kind, line, what) = if t == T_HASH_LISTPACK {
                (
                    Packed::Listpack,
                    AT_HASH_LISTPACK,
                    "Hash listpack integrity check failed.",
                )
            } else {
                (
                    Packed::Ziplist,
                    AT_HASH_ZIPLIST,
                    "Hash ziplist integrity check failed.",
                )
            };
            let h = r
                .string_ref()?
                .with(|b| packed_to_hash(kind, b, lim))
                .map_err(blob_err(line, what))?;
            Value::Hash(Box::new(h))
        }
        T_HASH_ZIPMAP => Value::Hash(Box::new(r.string_ref()?.with(|b| zipmap_to_hash(b, lim))?)),
        T_STREAM_LISTPACKS | T_STREAM_LISTPACKS_2 | T_STREAM_LISTPACKS_3 => {
            // Streams may be empty (XDEL of every entry keeps the key), so no empty-key check.
            return Ok(Value::Stream(Box::new(read_stream(r, t)?)));
        }
        6 | 7 => return Err(bad("module values are not supported")),
        _ => return Err(bad(&format!("unknown value type {t}"))),
    };
    if v.elements() == 0 && !matches!(v, Value::Str(_)) {
        return Err(EMPTY_KEY.to_string());
    }
    Ok(v)
}

const AT_STREAM_KEY: u32 = 2342;
const AT_STREAM_LP: u32 = 2361;

/// A stream of type 15, 19 or 21 (Redis's `rdbLoadObject`): the nodes (16-byte master ID,
/// listpack), length, last ID, and from type 19 on the first ID, largest deleted ID and
/// entries added (type 15 derives them as Redis does). Every node is checked whole: its
/// listpack framing and its stream structure (`stream::check_node`), nodes in ID order, the
/// live entries adding up to the length. Consumer groups are refused for now.
fn read_stream(r: &mut Reader, t: u8) -> LoadResult<Stream> {
    let lp_err = || corrupt(AT_STREAM_LP, "Stream listpack integrity check failed.");
    let n = r.count(2)?;
    let mut nodes = std::collections::BTreeMap::new();
    let mut prev_last: Option<StreamId> = None;
    let mut live = 0u64;
    let mut last_entry = None;
    for _ in 0..n {
        let key = r.string()?;
        let key: [u8; 16] = key.as_slice().try_into().map_err(|_| {
            corrupt(
                AT_STREAM_KEY,
                "Stream node key entry is not the size of a stream ID",
            )
        })?;
        let master = StreamId::from_key(&key);
        let lp = r.string()?;
        listpack_each(&lp, |_| Ok(())).map_err(|_| lp_err())?;
        let (count, ids) = stream::check_node(master, &lp).ok_or_else(lp_err)?;
        if let Some((first, last)) = ids {
            if prev_last.is_some_and(|p| first <= p) {
                return Err(lp_err());
            }
            prev_last = Some(last);
            last_entry = Some(last);
        }
        if nodes.insert(master, lp).is_some() {
            return Err(lp_err());
        }
        live += count;
    }
    let length = r.length()?;
    let last_id = StreamId::new(r.length()?, r.length()?);
    if length != live || last_entry.is_some_and(|l| l > last_id) {
        return Err(lp_err());
    }
    let mut s = Stream::from_parts(nodes, length, last_id, StreamId::MIN, StreamId::MIN, length);
    if t >= T_STREAM_LISTPACKS_2 {
        s.first_id = StreamId::new(r.length()?, r.length()?);
        s.max_deleted_id = StreamId::new(r.length()?, r.length()?);
        s.entries_added = r.length()?;
    } else {
        s.first_id = s.edge_live(true).unwrap_or(StreamId::MIN);
    }
    if r.length()? != 0 {
        return Err(bad("stream consumer groups are not supported yet"));
    }
    Ok(s)
}

/// Skips a module value / module AUX body (typed opcodes up to EOF).
fn skip_module(r: &mut Reader) -> LoadResult<()> {
    loop {
        match r.length()? {
            0 => return Ok(()),
            1 | 2 => {
                r.length()?;
            }
            3 => {
                r.take(4)?;
            }
            4 => {
                r.take(8)?;
            }
            5 => {
                r.string()?;
            }
            _ => return Err(bad("module opcode")),
        }
    }
}

/// Checks the header. Return value: the version.
fn check_file(data: &[u8]) -> LoadResult<u16> {
    if data.len() < 9 || &data[..5] != b"REDIS" {
        return Err("Wrong signature trying to load DB from file".into());
    }
    let ver: u16 = std::str::from_utf8(&data[5..9])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("Wrong signature trying to load DB from file")?;
    if !(1..=RDB_VERSION_MAX_LOAD).contains(&ver) {
        return Err(format!("Can't handle RDB format version {ver}"));
    }
    Ok(ver)
}

/// One item of an RDB file, reported by [`walk`] in file order.
pub enum Event {
    Aux(Vec<u8>, Vec<u8>),
    SelectDb(u64),
    /// RESIZEDB: the number of keys and of keys with a TTL in the db just selected (each
    /// capped by what the rest of the file can hold, so a corrupt file cannot claim more).
    ResizeDb {
        keys: u64,
        expires: u64,
    },
    /// A key with its value; `idle` / `freq` come from OP_IDLE / OP_FREQ before it.
    Key {
        key: crate::db::Key,
        val: Value,
        expire: Option<i64>,
        idle: Option<u64>,
        freq: Option<u8>,
    },
    /// An empty collection (skipped by a load, as Redis 7.0 does).
    EmptyKey(Vec<u8>),
    /// A function library: its source code (loaded after the keys, as FUNCTION LOAD).
    Function(Vec<u8>),
}

/// Where and why a walk stopped.
#[derive(Debug)]
pub struct WalkError {
    /// Byte offset reached when the error was found.
    pub offset: usize,
    pub msg: String,
    /// What the reader was doing (redis-check-rdb's names: "read-object-value", ...).
    pub doing: &'static str,
    /// The last key read (the one being read when the error is in its value).
    pub key: Option<Vec<u8>>,
    /// The last value type read.
    pub typ: Option<u8>,
}

/// Totals of a successful walk.
#[derive(Debug)]
pub struct WalkEnd {
    pub version: u16,
    /// Offset of the end (after the checksum).
    pub offset: usize,
    /// False when the file has no checksum (version < 5, or a stored 0: checksums disabled).
    pub checksummed: bool,
}

/// The short-read error text (the check tool reports it as an unexpected EOF).
pub fn is_short_read(msg: &str) -> bool {
    msg == short()
}

/// Parses a whole RDB image, calling `on(offset, event)` for each aux field, db switch and key
/// (offset: where the item ends). An `Err` from `on` stops the walk. The trailing CRC-64 is
/// checked at the end. This is the only RDB file parser: start-up loads, DEBUG RELOAD, the AOF
/// base and `cinnabar-check-rdb` all go through it. `allow_tail`: bytes may follow the RDB (an
/// AOF with an RDB preamble); otherwise they are an error.
pub fn walk(
    data: &[u8],
    lim: &Limits,
    allow_tail: bool,
    on: &mut dyn FnMut(usize, Event) -> LoadResult<()>,
) -> Result<WalkEnd, WalkError> {
    let mut st = WalkError {
        offset: 0,
        msg: String::new(),
        doing: "start",
        key: None,
        typ: None,
    };
    // Where the last key read starts: its bytes are copied into the error only on failure,
    // so a successful walk does not clone every key.
    let mut key_at: Option<usize> = None;
    let fail = |mut st: WalkError, pos: usize, msg: String, key_at: Option<usize>| {
        st.offset = pos;
        st.msg = msg;
        st.key = key_at.and_then(|p| Reader { data, pos: p }.string().ok());
        st
    };
    let ver = match check_file(data) {
        Ok(v) => v,
        Err(e) => return Err(fail(st, data.len().min(9), e, None)),
    };
    let mut r = Reader::new(data);
    r.pos = 9;
    let mut expire: Option<i64> = None;
    let mut idle: Option<u64> = None;
    let mut freq: Option<u8> = None;
    macro_rules! tryr {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(m) => return Err(fail(st, r.pos, m, key_at)),
            }
        };
    }
    loop {
        st.doing = "read-type";
        let op = tryr!(r.byte());
        match op {
            OP_EOF => break,
            OP_SELECTDB => {
                st.doing = "read-len";
                let id = tryr!(r.length());
                tryr!(on(r.pos, Event::SelectDb(id)));
            }
            OP_RESIZEDB => {
                st.doing = "read-len";
                let keys = tryr!(r.length());
                let expires = tryr!(r.length());
                // A key takes at least 3 bytes (type, key length, value).
                let cap = (r.left() / 3) as u64;
                let ev = Event::ResizeDb {
                    keys: keys.min(cap),
                    expires: expires.min(cap),
                };
                tryr!(on(r.pos, ev));
            }
            OP_AUX => {
                st.doing = "read-auxiliary-field";
                let k = tryr!(r.string());
                let v = tryr!(r.string());
                tryr!(on(r.pos, Event::Aux(k, v)));
            }
            OP_EXPIRETIME_MS => {
                st.doing = "read-expire";
                expire = Some(tryr!(r.u64_le()) as i64);
            }
            OP_EXPIRETIME => {
                st.doing = "read-expire";
                let s = tryr!(r.take(4));
                expire = Some(i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as i64 * 1000);
            }
            OP_IDLE => {
                st.doing = "read-len";
                idle = Some(tryr!(r.length()));
            }
            OP_FREQ => {
                st.doing = "read-len";
                freq = Some(tryr!(r.byte()));
            }
            OP_MODULE_AUX => {
                st.doing = "read-module-aux";
                tryr!(r.length()); // module id
                tryr!(r.length()); // when opcode
                tryr!(r.length()); // when
                tryr!(skip_module(&mut r));
            }
            OP_FUNCTION2 => {
                st.doing = "read-functions";
                let code = tryr!(r.string());
                tryr!(on(r.pos, Event::Function(code)));
            }
            OP_FUNCTION => {
                st.doing = "read-functions";
                return Err(fail(st, r.pos, bad("pre-GA function format"), key_at));
            }
            t => {
                st.typ = Some(t);
                st.doing = "read-key";
                let at = r.pos;
                let key = tryr!(r.string_ref()).into_key();
                key_at = Some(at);
                st.doing = "read-object-value";
                let ev = match read_value(&mut r, t, lim) {
                    Ok(val) => Event::Key {
                        key,
                        val,
                        expire: expire.take(),
                        idle: idle.take(),
                        freq: freq.take(),
                    },
                    Err(e) if e == EMPTY_KEY => {
                        (expire, idle, freq) = (None, None, None);
                        Event::EmptyKey(key.to_vec())
                    }
                    Err(e) => return Err(fail(st, r.pos, e, key_at)),
                };
                tryr!(on(r.pos, ev));
            }
        }
    }
    let mut checksummed = false;
    if ver >= 5 {
        st.doing = "check-sum";
        let stored = tryr!(r.u64_le());
        checksummed = stored != 0;
        if checksummed && !SKIP_CHECKSUM.load(std::sync::atomic::Ordering::Relaxed) {
            let crc = crc64::crc64(&data[..r.pos - 8]);
            if crc != stored {
                return Err(fail(
                    st,
                    r.pos,
                    format!(
                        "Wrong RDB checksum expected: ({crc:x}) but got ({stored:x}). Aborting now."
                    ),
                    key_at,
                ));
            }
        }
    }
    if r.left() != 0 && !allow_tail {
        st.doing = "check-sum";
        return Err(fail(
            st,
            r.pos,
            "Unexpected data after the end of the RDB file".into(),
            key_at,
        ));
    }
    Ok(WalkEnd {
        version: ver,
        offset: r.pos,
        checksummed,
    })
}

/// Parses a whole RDB image into fresh databases and installs them only on success.
/// Return value: the number of keys loaded.
pub fn load_dataset(srv: &mut Server, data: &[u8]) -> LoadResult<usize> {
    load_dataset_with(srv, data, false).map(|(n, _)| n)
}

/// [`load_dataset`]; `allow_tail`: the RDB may be followed by other bytes (an AOF preamble).
/// Every few keys it calls `loading::tick_n`, which serves clients (-LOADING) during a
/// start-up load. Return value: keys loaded and the offset where the RDB ends.
pub fn load_dataset_with(
    srv: &mut Server,
    data: &[u8],
    allow_tail: bool,
) -> LoadResult<(usize, usize)> {
    let lim = Limits::from_server(srv);
    let now = srv.now_ms;
    let lfu = srv.config.lfu_policy;
    let base_lru = if lfu {
        crate::db::lru::lfu_init(now)
    } else {
        crate::db::lru::lru_clock(now)
    };
    let mut dbs: Vec<crate::db::Db> = (0..srv.dbs.len()).map(crate::db::Db::new).collect();
    let mut db = 0usize;
    let mut loaded = 0usize;
    let mut expired = 0u64;
    let mut libraries: Vec<Vec<u8>> = Vec::new();
    let stride = super::loading::keys_per_tick();
    let mut since_tick = 0u32;
    let res = walk(data, &lim, allow_tail, &mut |off, ev| {
        match ev {
            Event::SelectDb(id) => {
                if id >= dbs.len() as u64 {
                    return Err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting\n",
                        dbs.len()
                    ));
                }
                db = id as usize;
            }
            // Size the dicts once, as Redis's dictExpand does: no growing or rehashing while
            // the keys go in.
            Event::ResizeDb { keys, expires } => dbs[db].reserve(keys as usize, expires as usize),
            Event::Aux(k, v) => {
                if k == b"redis-ver" {
                    crate::notice!(
                        "Loading RDB produced by version {}",
                        String::from_utf8_lossy(&v)
                    );
                }
            }
            Event::Function(code) => libraries.push(code),
            Event::EmptyKey(key) => crate::warning!(
                "rdbLoadObject skipping empty key: {}",
                String::from_utf8_lossy(&key)
            ),
            Event::Key {
                key,
                val,
                expire,
                idle,
                freq,
            } => {
                since_tick += 1;
                if since_tick >= stride {
                    super::loading::tick_n(srv, off as u64, since_tick);
                    since_tick = 0;
                }
                let lru = match (lfu, idle, freq) {
                    (false, Some(idle), _) => {
                        let clock = base_lru as i64;
                        let max = crate::db::lru::LRU_CLOCK_MAX as i64;
                        (clock - (idle.min(max as u64) as i64)).rem_euclid(max) as u32
                    }
                    (true, _, Some(f)) => (base_lru & !0xFF) | f as u32,
                    _ => base_lru,
                };
                if expire.is_some_and(|e| e < now) {
                    expired += 1;
                    return Ok(());
                }
                if let Err(key) = dbs[db].add_loaded(key, Obj { val, lru }, expire) {
                    return Err(format!(
                        "Duplicate key '{}' found in RDB file",
                        String::from_utf8_lossy(&key)
                    ));
                }
                loaded += 1;
            }
        }
        Ok(())
    });
    let end = match res {
        Ok(end) => {
            if !end.checksummed && end.version >= 5 {
                crate::warning!("RDB file was saved with checksum disabled: no check performed.");
            }
            end.offset
        }
        Err(e) => return Err(e.msg),
    };
    for (i, mut d) in dbs.into_iter().enumerate() {
        // Blocked clients stay with their database.
        std::mem::swap(&mut d.waiters, &mut srv.dbs[i].waiters);
        let old = std::mem::replace(&mut srv.dbs[i], d);
        srv.dbs[i].id = i;
        drop(old);
    }
    for code in libraries {
        if let Err(e) = crate::scripting::engine(srv).function_load(&code, true) {
            crate::warning!("Failed loading a function library from the RDB file: {e}");
        }
    }
    LOAD_KEYS_LOADED.store(loaded as u64, std::sync::atomic::Ordering::Relaxed);
    LOAD_KEYS_EXPIRED.store(expired, std::sync::atomic::Ordering::Relaxed);
    crate::notice!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.");
    Ok((loaded, end))
}

/// Parses a DUMP payload (already verified) into a value. Like Redis, the value is read from
/// the whole payload: a value may run into the footer and trailing bytes are ignored.
pub fn restore_value(payload: &[u8], lim: &Limits) -> LoadResult<Value> {
    let mut r = Reader::new(payload);
    let t = r.byte()?;
    read_value(&mut r, t, lim)
}

/// Checks a DUMP payload's version and checksum. Return value: the body (type + value).
pub fn verify_payload(p: &[u8]) -> Option<&[u8]> {
    if p.len() < 10 {
        return None;
    }
    let (body, footer) = p.split_at(p.len() - 10);
    let ver = u16::from_le_bytes([footer[0], footer[1]]);
    if ver > RDB_VERSION {
        return None;
    }
    if SKIP_CHECKSUM.load(std::sync::atomic::Ordering::Relaxed) {
        return Some(body);
    }
    let mut a = [0u8; 8];
    a.copy_from_slice(&footer[2..]);
    let crc = crc64::crc64(&p[..p.len() - 8]);
    (crc == u64::from_le_bytes(a)).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A string-encoding byte where a count is expected is read as its low 6 bits, as Redis
    /// reads it (a payload Redis restores is restored here too).
    #[test]
    fn encoded_byte_as_length() {
        let lim = Limits::defaults();
        let v = restore_value(&[T_HASH, 0xC1, 1, b'f', 1, b'v'], &lim).unwrap();
        assert!(matches!(&v, Value::Hash(h) if h.len() == 1));
    }

    /// A quicklist's packed nodes are kept as the file has them (Redis's node split), not
    /// refilled, and empty nodes are dropped.
    #[test]
    fn quicklist_nodes_kept() {
        let lim = Limits::defaults();
        let mut p = vec![T_LIST_QUICKLIST_2, 3];
        for items in [&["a", "b", "c"][..], &[][..], &["d"][..]] {
            let mut lp = crate::persist::rdb_save::LpBuilder::new();
            for i in items {
                lp.push(i.as_bytes());
            }
            let blob = lp.finish();
            p.extend_from_slice(&[2, blob.len() as u8]);
            p.extend_from_slice(&blob);
        }
        let Value::List(l) = restore_value(&p, &lim).unwrap() else {
            panic!("list")
        };
        assert_eq!(l.node_counts().collect::<Vec<_>>(), vec![3, 1]);
        assert_eq!(l.len(), 4);
    }

    /// Streams: type 19 round-trips; a type 15 body (Redis 5/6: no first ID, largest deleted
    /// ID or entries added) derives them as Redis does; groups, short node keys, damaged
    /// nodes and a length that does not match the nodes are refused.
    #[test]
    fn stream_types_load() {
        use crate::persist::rdb_save::Writer;
        use crate::types::stream::{Limits as NodeLimits, Stream, StreamId};
        let lim = Limits::defaults();
        let mut st = Stream::new();
        let small = NodeLimits {
            node_max_bytes: 4096,
            node_max_entries: 2,
        };
        for i in 1..=5u64 {
            st.append(StreamId::new(i, 0), &[b"f".to_vec(), b"v".to_vec()], small)
                .unwrap();
        }
        st.delete(&[StreamId::new(1, 0), StreamId::new(4, 0)]);
        let v = Value::Stream(Box::new(st.clone()));
        let p = crate::persist::rdb_save::dump_payload(&v, true);
        let Value::Stream(back) = restore_value(&p, &lim).unwrap() else {
            panic!("stream")
        };
        assert_eq!(back.len(), 3);
        assert_eq!(back.first_id, StreamId::new(2, 0));
        assert_eq!(back.max_deleted_id, StreamId::new(4, 0));
        let body = |t: u8, length: u64, groups: u64, key_len: usize, damage: bool| {
            let mut w = Writer::new(false);
            w.byte(t);
            w.len(st.node_count() as u64);
            for (id, node) in st.nodes() {
                w.string(&id.to_key()[..key_len]);
                let mut n = node.to_vec();
                if damage {
                    n[7] = 0x7f;
                }
                w.string(&n);
            }
            w.len(length);
            w.len(5);
            w.len(0);
            if t >= 19 {
                for x in [2, 0, 4, 0, 5] {
                    w.len(x);
                }
            }
            w.len(groups);
            w.buf
        };
        let Value::Stream(old) = restore_value(&body(15, 3, 0, 16, false), &lim).unwrap() else {
            panic!("stream")
        };
        assert_eq!(old.first_id, StreamId::new(2, 0));
        assert_eq!(old.max_deleted_id, StreamId::MIN);
        assert_eq!(old.entries_added, 3);
        assert!(restore_value(&body(19, 3, 0, 16, false), &lim).is_ok());
        assert!(restore_value(&body(21, 3, 0, 16, false), &lim).is_ok());
        assert!(restore_value(&body(19, 3, 1, 16, false), &lim).is_err());
        assert!(restore_value(&body(19, 4, 0, 16, false), &lim).is_err());
        let e = restore_value(&body(19, 3, 0, 15, false), &lim).unwrap_err();
        assert!(
            e.ends_with("Stream node key entry is not the size of a stream ID"),
            "{e}"
        );
        let e = restore_value(&body(19, 3, 0, 16, true), &lim).unwrap_err();
        assert!(
            e.ends_with("Stream listpack integrity check failed."),
            "{e}"
        );
    }

    /// The one-allocation listpack paths for zsets and hashes give exactly what inserting
    /// entry by entry gives, and fall back to it for unordered, oversized or repeated entries.
    #[test]
    fn listpack_fast_paths_match_insertion() {
        use crate::types::{Hash, ZSet};
        let lim = Limits::defaults();
        let payload = |t: u8, items: &[String]| {
            let mut lp = crate::persist::rdb_save::LpBuilder::new();
            for i in items {
                lp.push(i.as_bytes());
            }
            let blob = lp.finish();
            let mut p = vec![t];
            assert!(blob.len() < 1 << 14);
            p.extend_from_slice(&[0x40 | (blob.len() >> 8) as u8, blob.len() as u8]);
            p.extend_from_slice(&blob);
            p
        };
        let strs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let dump = |v: &Value| crate::persist::rdb_save::dump_payload(v, false);
        let mut want = ZSet::default();
        for (m, s) in [
            ("c", f64::NEG_INFINITY),
            ("a", 1.0),
            ("b", 2.5),
            ("d", 3.0),
            ("e", 3.0),
        ] {
            want.add(m.as_bytes(), s, lim.zset);
        }
        let want = dump(&Value::ZSet(Box::new(want)));
        let sorted = strs(&["c", "-inf", "a", "1", "b", "2.5", "d", "3", "e", "3"]);
        let unsorted = strs(&["e", "3", "b", "2.5", "c", "-inf", "d", "3.0", "a", "1"]);
        for items in [&sorted, &unsorted] {
            let v = restore_value(&payload(T_ZSET_LISTPACK, items), &lim).unwrap();
            assert_eq!(dump(&v), want);
        }
        let dup = strs(&["a", "1", "a", "2"]);
        assert!(restore_value(&payload(T_ZSET_LISTPACK, &dup), &lim).is_err());
        let odd = strs(&["a", "1", "b"]);
        assert!(restore_value(&payload(T_ZSET_LISTPACK, &odd), &lim).is_err());
        let big: Vec<String> = (0..200)
            .flat_map(|i| [format!("m{i:03}"), i.to_string()])
            .collect();
        let v = restore_value(&payload(T_ZSET_LISTPACK, &big), &lim).unwrap();
        assert!(matches!(&v, Value::ZSet(z) if z.encoding() == "skiplist" && z.len() == 200));

        let pairs = strs(&["f", "v", "n", "12", "g", "", "x", "-7"]);
        let mut h = Hash::new();
        for p in pairs.chunks(2) {
            h.set(p[0].as_bytes(), p[1].as_bytes(), lim.hash);
        }
        let v = restore_value(&payload(T_HASH_LISTPACK, &pairs), &lim).unwrap();
        assert_eq!(dump(&v), dump(&Value::Hash(Box::new(h))));
        let dup = strs(&["f", "1", "g", "2", "f", "3"]);
        assert!(restore_value(&payload(T_HASH_LISTPACK, &dup), &lim).is_err());
        let big: Vec<String> = (0..600)
            .flat_map(|i| [format!("f{i}"), "v".into()])
            .collect();
        let v = restore_value(&payload(T_HASH_LISTPACK, &big), &lim).unwrap();
        assert!(matches!(&v, Value::Hash(h) if !h.is_listpack() && h.len() == 600));
    }

    /// Empty collections in a file are skipped with a log line; RESTORE refuses them.
    #[test]
    fn empty_keys_skipped_on_load() {
        let mut img = b"REDIS0010".to_vec();
        img.extend_from_slice(&[OP_SELECTDB, 0, T_LIST, 1, b'e', 0]);
        img.extend_from_slice(&[T_STRING, 1, b'k', 1, b'v', OP_EOF]);
        let crc = crc64::crc64(&img);
        img.extend_from_slice(&crc.to_le_bytes());
        let mut t = crate::testkit::TestServer::new();
        assert_eq!(load_dataset(&mut t.srv, &img), Ok(1));
        assert_eq!(t.exec("GET k"), "$1\r\nv\r\n");
        let lim = Limits::from_server(&t.srv);
        assert!(restore_value(&[T_LIST, 0], &lim).is_err());
    }

    /// Corrupted files and payloads are refused or loaded, never a panic.
    #[test]
    fn corruption_never_panics() {
        let mut a = crate::testkit::TestServer::new();
        a.exec("SET s hello");
        a.exec(&format!("SET long {}", "ab".repeat(60)));
        a.exec("RPUSH l a b 1 2 300 70000");
        a.exec("HSET h f v g 2");
        a.exec("SADD si 1 2 3");
        a.exec("SADD ss a b");
        a.exec("ZADD z 1 a 2.5 b");
        a.exec("PEXPIRE s 100000");
        let img = crate::persist::rdb_save::dataset(&a.srv);
        let lim = Limits::from_server(&a.srv);
        let mut x = 0x9E37_79B9u64;
        for i in 0..img.len() {
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let mut bad = img.clone();
                bad[i] ^= (x as u8) | 1;
                let mut b = crate::testkit::TestServer::new();
                let _ = load_dataset(&mut b.srv, &bad);
                // The same bytes as a value body (what RESTORE parses after the CRC check).
                let _ = restore_value(&bad[i..], &lim);
            }
        }
        // Random bodies behind every type byte, including blob types (listpack, ziplist,
        // intset) whose blob is a random string.
        for t in 0..=21u8 {
            for n in 0..300usize {
                let mut body = vec![t];
                for _ in 0..(n % 40) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    body.push(x as u8);
                }
                let _ = restore_value(&body, &lim);
                let mut blob = vec![t, (n % 40) as u8];
                blob.extend_from_slice(&body[1..]);
                let _ = restore_value(&blob, &lim);
            }
        }
    }

    /// xorshift64: a small seeded generator, so every run feeds the same inputs.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    /// Applies 1 to 4 random mutations: bit flips, random bytes, huge length prefixes (6-bit,
    /// 14-bit, 32-bit and 64-bit forms), insertions, deletions, truncation, duplication of a
    /// slice (which repeats keys and listpack entries).
    fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
        let mut v = seed.to_vec();
        for _ in 0..1 + rng.below(4) {
            if v.is_empty() {
                v.push(rng.next() as u8);
            }
            let at = rng.below(v.len());
            match rng.below(8) {
                0 => v[at] ^= 1 << rng.below(8),
                1 => v[at] = rng.next() as u8,
                2 => {
                    let big: &[u8] = match rng.below(4) {
                        0 => &[0x80, 0xFF, 0xFF, 0xFF, 0xF0],
                        1 => &[0x81, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
                        2 => &[0x7F, 0xFF],
                        _ => &[0xC3, 0x80, 0xFF, 0xFF, 0xFF, 0x7F, 0x01],
                    };
                    let end = (at + big.len()).min(v.len());
                    v.splice(at..end, big.iter().copied());
                }
                3 => {
                    let n = 1 + rng.below(8);
                    for _ in 0..n {
                        v.insert(at, rng.next() as u8);
                    }
                }
                4 => {
                    let end = (at + 1 + rng.below(16)).min(v.len());
                    v.drain(at..end);
                }
                5 => v.truncate(at),
                6 => {
                    let end = (at + 1 + rng.below(32)).min(v.len());
                    let piece = v[at..end].to_vec();
                    let to = rng.below(v.len());
                    v.splice(to..to, piece);
                }
                _ => {
                    // A listpack / intset / ziplist header field (first bytes of a blob).
                    let end = (at + 4).min(v.len());
                    let n = (rng.next() as u32).to_le_bytes();
                    for (i, b) in (at..end).zip(n) {
                        v[i] = b;
                    }
                }
            }
        }
        v
    }

    /// 20,000 mutated RDB images and DUMP payloads through the loader (the same code start-up,
    /// DEBUG RELOAD, the AOF base, RESTORE and the check tool use): errors are fine, a panic or
    /// an allocation out of proportion to the input is not. Seeds cover every encoding we
    /// write (listpack, quicklist, intset, hash table, skiplist, LZF strings, integers, TTLs).
    #[test]
    fn random_mutations_never_panic() {
        let mut a = crate::testkit::TestServer::new();
        a.exec("CONFIG SET list-max-listpack-size 4");
        a.exec("SET s hello");
        a.exec("SET i 12345");
        a.exec("SET neg -70000");
        a.exec(&format!("SET lzf {}", "abcabcabc".repeat(20)));
        a.exec("RPUSH l a b 1 2 300 70000 x y z w");
        a.exec("HSET h f v g 2");
        a.exec(&format!(
            "HSET big {}",
            (0..200).map(|i| format!("f{i} v{i} ")).collect::<String>()
        ));
        a.exec("SADD si 1 2 3 -5 100000");
        a.exec("SADD ss a b c");
        a.exec(&format!(
            "SADD sbig {}",
            (0..600).map(|i| format!("{i} ")).collect::<String>()
        ));
        a.exec("ZADD z 1 a 2.5 b -inf c");
        a.exec(&format!(
            "ZADD zbig {}",
            (0..200).map(|i| format!("{i} m{i} ")).collect::<String>()
        ));
        a.exec("XADD st 1-1 a 1 b 2");
        a.exec("XADD st 1-2 a 3 b 4");
        a.exec("XADD st 2-0 c 5");
        a.exec("XADD st 3-0 a -70000 b xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        a.exec("XDEL st 1-2");
        a.exec("PEXPIRE s 100000000");
        a.exec("SELECT 3");
        a.exec("SET other db");
        let img = crate::persist::rdb_save::dataset(&a.srv);
        let lim = Limits::from_server(&a.srv);
        let mut seeds: Vec<Vec<u8>> = vec![img.clone()];
        for k in [
            "s", "i", "lzf", "l", "h", "big", "si", "ss", "sbig", "z", "zbig", "st",
        ] {
            a.exec("SELECT 0");
            let v = crate::db::Db::peek(&a.srv.dbs[0], k.as_bytes(), i64::MIN)
                .map(|o| crate::persist::rdb_save::dump_payload(&o.val, true));
            if let Some(p) = v {
                seeds.push(p);
            }
        }
        // Pre-7.0 encodings (ziplist, zipmap, intset, quicklist v1) as value bodies.
        let ziplist = |items: &[&[u8]]| {
            let (mut body, mut prev, mut tail) = (Vec::new(), 0usize, 10usize);
            for it in items {
                tail = 10 + body.len();
                let start = body.len();
                body.extend_from_slice(&[prev as u8, it.len() as u8]);
                body.extend_from_slice(it);
                prev = body.len() - start;
            }
            let mut zl = ((10 + body.len() + 1) as u32).to_le_bytes().to_vec();
            zl.extend_from_slice(&(tail as u32).to_le_bytes());
            zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
            zl.extend(body);
            zl.push(0xFF);
            zl
        };
        let blob = |t: u8, b: &[u8]| [&[t, b.len() as u8][..], b].concat();
        let zl = ziplist(&[b"f", b"1", b"g", b"1.5", b"h", b"2"]);
        for t in [T_LIST_ZIPLIST, T_ZSET_ZIPLIST, T_HASH_ZIPLIST] {
            seeds.push(blob(t, &zl));
        }
        seeds.push(
            [
                &[T_LIST_QUICKLIST, 2][..],
                &blob(0, &zl)[1..],
                &blob(0, &zl)[1..],
            ]
            .concat(),
        );
        seeds.push(blob(
            T_HASH_ZIPMAP,
            &[2, 1, b'a', 1, 2, b'v', 0, 0, 1, b'b', 1, 0, b'w', 0xFF],
        ));
        seeds.push(blob(
            T_SET_INTSET,
            &[4, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0],
        ));
        for old in &seeds[seeds.len() - 6..] {
            restore_value(old, &lim).unwrap();
        }
        assert!(seeds.len() > 10);
        let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
        let start = std::time::Instant::now();
        let mut b = crate::testkit::TestServer::new();
        for i in 0..20_000 {
            let seed = &seeds[rng.below(seeds.len())];
            let input = mutate(&mut rng, seed);
            if seed.starts_with(b"REDIS") {
                let _ = walk(&input, &lim, false, &mut |_, _| Ok(()));
                if i % 16 == 0 {
                    let _ = load_dataset(&mut b.srv, &input);
                }
            } else {
                let _ = verify_payload(&input);
                let _ = restore_value(&input, &lim);
            }
            // Bounded time: a slow machine still finishes (and still ran thousands).
            if start.elapsed() > std::time::Duration::from_secs(60) {
                assert!(i > 2000, "only {i} inputs in 60 s");
                break;
            }
        }
    }
}
