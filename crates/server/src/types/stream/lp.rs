//! The few Redis-listpack operations a stream node needs, on a plain `Vec<u8>` in Redis's
//! exact byte format (so a node is saved and DUMPed as it is, and Redis's node-size limits
//! count the same bytes).
//!
//! Layout: 4-byte little-endian total size, 2-byte element count (65535 = "unknown"),
//! entries, `0xFF`. Each entry is its encoding byte(s) and data, then a back-length (the
//! entry's size in 7-bit groups, readable right to left) so the list can be walked both ways.
//! Strings that are canonical integers are stored as integers, as Redis's `lpAppend` does.
//!
//! Offsets are byte positions of an entry's first byte. Every function here trusts the
//! buffer: nodes are built by `stream.rs` or checked whole by the RDB loader
//! (`persist::packed`) before they are adopted, and a malformed one yields a harmless value
//! (0 / empty) rather than a panic.

/// Bytes of the listpack header (total size + count).
pub const HDR: usize = 6;
/// The terminator byte.
pub const EOF: u8 = 0xFF;

/// One decoded element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ele<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Ele<'_> {
    /// The element as an integer (a string element is 0: never the case for the numeric
    /// fields of a well-formed stream node).
    pub fn int(self) -> i64 {
        match self {
            Ele::Int(i) => i,
            Ele::Str(s) => crate::util::parse_int(s).unwrap_or(0),
        }
    }

    /// True if the element reads as `b` (an integer element compares by its decimal form).
    pub fn eq_bytes(self, b: &[u8]) -> bool {
        match self {
            Ele::Str(s) => s == b,
            Ele::Int(i) => itoa::Buffer::new().format(i).as_bytes() == b,
        }
    }

    /// Calls `f` with the element's bytes (integers formatted on the stack).
    pub fn with<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Ele::Int(i) => f(itoa::Buffer::new().format(i).as_bytes()),
            Ele::Str(s) => f(s),
        }
    }

    pub fn to_vec(self) -> Vec<u8> {
        self.with(<[u8]>::to_vec)
    }
}

/// An empty listpack.
pub fn new() -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    v.extend_from_slice(&7u32.to_le_bytes());
    v.extend_from_slice(&[0, 0, EOF]);
    v
}

pub use crate::types::listpack::{encode_int, encode_str};

fn set_total(lp: &mut [u8]) {
    let total = lp.len() as u32;
    lp[0..4].copy_from_slice(&total.to_le_bytes());
}

fn bump_count(lp: &mut [u8], by: usize) {
    let c = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    if c != u16::MAX as usize {
        let n = (c + by).min(u16::MAX as usize) as u16;
        lp[4..6].copy_from_slice(&n.to_le_bytes());
    }
}

/// Appends already-encoded entries (`n` of them) before the terminator.
pub fn append_encoded(lp: &mut Vec<u8>, entries: &[u8], n: usize) {
    lp.pop();
    lp.extend_from_slice(entries);
    lp.push(EOF);
    set_total(lp);
    bump_count(lp, n);
}

/// Size of the encoding + data part of the entry at `p`.
fn data_size(lp: &[u8], p: usize) -> usize {
    let b = lp.get(p).copied().unwrap_or(EOF);
    let at = |i: usize| lp.get(p + i).copied().unwrap_or(0) as usize;
    if b & 0x80 == 0 {
        1
    } else if b & 0xC0 == 0x80 {
        1 + (b & 0x3f) as usize
    } else if b & 0xE0 == 0xC0 {
        2
    } else if b & 0xF0 == 0xE0 {
        2 + ((((b & 0x0f) as usize) << 8) | at(1))
    } else {
        match b {
            0xF0 => 5 + (at(1) | at(2) << 8 | at(3) << 16 | at(4) << 24),
            0xF1 => 3,
            0xF2 => 4,
            0xF3 => 5,
            0xF4 => 9,
            _ => 0,
        }
    }
}

/// True if `p` is the terminator (or past the end).
pub fn at_end(lp: &[u8], p: usize) -> bool {
    lp.get(p).is_none_or(|&b| b == EOF)
}

/// Offset of the entry after the one at `p`.
pub fn next(lp: &[u8], p: usize) -> usize {
    if at_end(lp, p) {
        return p;
    }
    let d = data_size(lp, p);
    (p + d + crate::types::listpack::backlen_len(d)).min(lp.len().saturating_sub(1))
}

/// Offset of the entry before the one at `p` (`p` may be the terminator). `None` at the first.
pub fn prev(lp: &[u8], p: usize) -> Option<usize> {
    if p <= HDR {
        return None;
    }
    // Read the back-length right to left: 7 bits per byte, the last byte read has no top bit.
    let mut size = 0usize;
    let mut shift = 0;
    let mut q = p;
    loop {
        q = q.checked_sub(1)?;
        if q < HDR || shift > 28 {
            return None;
        }
        let b = lp[q];
        size |= ((b & 0x7f) as usize) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    let start = q.checked_sub(size)?;
    (start >= HDR).then_some(start)
}

/// Decodes the entry at `p`.
pub fn get(lp: &[u8], p: usize) -> Ele<'_> {
    let b = lp.get(p).copied().unwrap_or(EOF);
    let bytes = |from: usize, n: usize| lp.get(p + from..p + from + n).unwrap_or(&[]);
    let le = |n: usize| {
        let s = bytes(1, n);
        let mut v = [0u8; 8];
        v[..s.len()].copy_from_slice(s);
        // Sign-extend from n bytes.
        let u = u64::from_le_bytes(v);
        let sh = 64 - 8 * n as u32;
        ((u << sh) as i64) >> sh
    };
    if b & 0x80 == 0 {
        Ele::Int(b as i64)
    } else if b & 0xC0 == 0x80 {
        Ele::Str(bytes(1, (b & 0x3f) as usize))
    } else if b & 0xE0 == 0xC0 {
        let u = (((b & 0x1f) as u16) << 8) | bytes(1, 1).first().copied().unwrap_or(0) as u16;
        Ele::Int(((u << 3) as i16 >> 3) as i64)
    } else if b & 0xF0 == 0xE0 {
        let n = (((b & 0x0f) as usize) << 8) | bytes(1, 1).first().copied().unwrap_or(0) as usize;
        Ele::Str(bytes(2, n))
    } else {
        match b {
            0xF0 => {
                let l = bytes(1, 4);
                let n = if l.len() == 4 {
                    u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize
                } else {
                    0
                };
                Ele::Str(bytes(5, n))
            }
            0xF1 => Ele::Int(le(2)),
            0xF2 => Ele::Int(le(3)),
            0xF3 => Ele::Int(le(4)),
            0xF4 => Ele::Int(le(8)),
            _ => Ele::Int(0),
        }
    }
}

/// Replaces the entry at `p` by the integer `v` (the entry may change size).
pub fn replace_int(lp: &mut Vec<u8>, p: usize, v: i64) {
    let end = next(lp, p);
    let mut enc = Vec::with_capacity(11);
    encode_int(&mut enc, v);
    lp.splice(p..end, enc);
    set_total(lp);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_both_ways() {
        let mut lp = new();
        let vals: Vec<Vec<u8>> = vec![
            b"1".to_vec(),
            b"-5000".to_vec(),
            b"hello".to_vec(),
            vec![b'x'; 100],
            vec![b'y'; 5000],
            b"9223372036854775807".to_vec(),
            b"-129".to_vec(),
            b"8388607".to_vec(),
            b"".to_vec(),
        ];
        let mut enc = Vec::new();
        for v in &vals {
            encode_str(&mut enc, v);
        }
        append_encoded(&mut lp, &enc, vals.len());
        assert_eq!(
            u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize,
            lp.len()
        );
        let mut p = HDR;
        let mut offs = Vec::new();
        for v in &vals {
            assert!(get(&lp, p).eq_bytes(v));
            offs.push(p);
            p = next(&lp, p);
        }
        assert!(at_end(&lp, p));
        for &o in offs.iter().rev() {
            p = prev(&lp, p).expect("prev");
            assert_eq!(p, o);
        }
        assert_eq!(prev(&lp, p), None);
        replace_int(&mut lp, offs[0], 100_000);
        assert_eq!(get(&lp, offs[0]), Ele::Int(100_000));
        assert!(get(&lp, next(&lp, offs[0])).eq_bytes(b"-5000"));
    }
}
