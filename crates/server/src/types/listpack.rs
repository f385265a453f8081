//! Listpack entries in Redis's byte format (`listpack.c`'s encoding): the tag and payload of an
//! integer or string entry followed by its back-length. Shared by the list's packed nodes and
//! the stream's nodes, so both write the bytes Redis writes (DUMP and RDB are byte-identical).

/// The integer a string is the canonical decimal form of (what gets stored as an integer).
pub fn canonical_int(v: &[u8]) -> Option<i64> {
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    let i = crate::util::parse_int(v)?;
    (itoa::Buffer::new().format(i).as_bytes() == v).then_some(i)
}

/// Size of the backlen varint for an entry of `size` bytes (tag + payload).
pub fn backlen_len(size: usize) -> usize {
    let mut n = 1;
    let mut s = size >> 7;
    while s > 0 {
        n += 1;
        s >>= 7;
    }
    n
}

pub fn push_backlen(out: &mut Vec<u8>, size: usize) {
    let n = backlen_len(size);
    for k in (0..n).rev() {
        let group = ((size >> (7 * k)) & 0x7f) as u8;
        // Every byte but the leftmost says "more to the left".
        out.push(if k == n - 1 { group } else { group | 0x80 });
    }
}

/// Encodes an integer entry (tag, payload, back-length) at the end of `out`, in the smallest
/// of Redis's integer encodings.
pub fn encode_int(out: &mut Vec<u8>, i: i64) {
    let start = out.len();
    if (0..=127).contains(&i) {
        out.push(i as u8);
    } else if (-4096..4096).contains(&i) {
        let u = (i as u16) & 0x1fff;
        out.push(0xC0 | (u >> 8) as u8);
        out.push(u as u8);
    } else if let Ok(v) = i16::try_from(i) {
        out.push(0xF1);
        out.extend_from_slice(&v.to_le_bytes());
    } else if (-(1 << 23)..(1 << 23)).contains(&i) {
        out.push(0xF2);
        out.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
    } else if let Ok(v) = i32::try_from(i) {
        out.push(0xF3);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&i.to_le_bytes());
    }
    let size = out.len() - start;
    push_backlen(out, size);
}

/// Encodes a string entry at the end of `out`: as an integer when it is the canonical form of
/// one (Redis's `lpStringToInt64`), else as a string with the shortest length tag.
pub fn encode_str(out: &mut Vec<u8>, v: &[u8]) {
    if let Some(i) = canonical_int(v) {
        return encode_int(out, i);
    }
    let start = out.len();
    let n = v.len();
    if n < 64 {
        out.push(0x80 | n as u8);
    } else if n < 4096 {
        out.push(0xE0 | (n >> 8) as u8);
        out.push(n as u8);
    } else if let Ok(n32) = u32::try_from(n) {
        out.push(0xF0);
        out.extend_from_slice(&n32.to_le_bytes());
    } else {
        out.push(0xF5);
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    out.extend_from_slice(v);
    let size = out.len() - start;
    push_backlen(out, size);
}
