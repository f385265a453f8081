//! Readers for the packed blobs an RDB value may hold: listpacks (Redis 7.0), ziplists
//! (lists, hashes and zsets before 7.0), zipmaps (hashes before 2.6) and intsets.
//!
//! Each walker checks the whole structure as Redis's deep sanitizer (`sanitize-dump-payload
//! yes`) does, before or while it hands the entries over, and never indexes past the blob:
//! a damaged blob is an error, never a panic and never a half-trusted value. The loader
//! (`rdb_load`) turns these errors into Redis's per-type "integrity check failed" texts.

use super::rdb_load::LoadResult;

fn bad(what: &str) -> String {
    format!("Bad RDB data: {what}")
}

/// One decoded entry of a listpack or ziplist.
fn entry_bytes(e: LpEntry) -> Vec<u8> {
    match e {
        LpEntry::Int(i) => i.to_string().into_bytes(),
        LpEntry::Str(s) => s.to_vec(),
    }
}

pub enum LpEntry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

/// Decodes every entry of a Redis listpack blob, validating its framing.
pub fn listpack_entries(lp: &[u8]) -> LoadResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    listpack_each(lp, |e| {
        out.push(entry_bytes(e));
        Ok(())
    })?;
    Ok(out)
}

impl LpEntry<'_> {
    /// Calls `f` with the entry's bytes (integers formatted on the stack).
    pub(super) fn with<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            LpEntry::Int(i) => f(itoa::Buffer::new().format(*i).as_bytes()),
            LpEntry::Str(s) => f(s),
        }
    }
}

/// True if `bl` is the listpack back-length of an entry of `size` bytes: the size in 7-bit
/// groups, most significant first, every byte but the first with its top bit set (so it can
/// be read right to left).
fn backlen_ok(bl: &[u8], size: usize) -> bool {
    let n = bl.len();
    bl.iter().enumerate().all(|(i, &b)| {
        let group = ((size >> (7 * (n - 1 - i))) & 0x7f) as u8;
        b == if i == 0 { group } else { group | 0x80 }
    })
}

/// Walks the entries of a Redis listpack blob and hands each to `f` without copying it (an
/// `Err` from `f` stops the walk). The whole structure is checked as Redis's deep
/// `lpValidateIntegrity` does: total size and terminator, every entry's encoding and length
/// inside the blob, every back-length equal to its entry's size, the declared count (unless
/// 65535, "unknown"). Return value: the number of entries.
pub(super) fn listpack_each(
    lp: &[u8],
    mut f: impl FnMut(LpEntry<'_>) -> LoadResult<()>,
) -> LoadResult<usize> {
    let err = || bad("listpack");
    if lp.len() < 7 {
        return Err(err());
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() || lp[total - 1] != 0xFF {
        return Err(err());
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    let body = &lp[6..total - 1];
    let mut count = 0usize;
    let mut p = 0usize;
    while p < body.len() {
        let b = body[p];
        let need = |n: usize| -> LoadResult<&[u8]> { body.get(p + 1..p + 1 + n).ok_or_else(err) };
        let (e, size) = if b & 0x80 == 0 {
            (LpEntry::Int(b as i64), 1)
        } else if b & 0xC0 == 0x80 {
            let n = (b & 0x3f) as usize;
            (LpEntry::Str(need(n)?), 1 + n)
        } else if b & 0xE0 == 0xC0 {
            let lo = *need(1)?.first().ok_or_else(err)?;
            let u = (((b & 0x1f) as u16) << 8) | lo as u16;
            let v = ((u << 3) as i16 >> 3) as i64;
            (LpEntry::Int(v), 2)
        } else if b & 0xF0 == 0xE0 {
            let lo = *need(1)?.first().ok_or_else(err)?;
            let n = (((b & 0x0f) as usize) << 8) | lo as usize;
            let s = body.get(p + 2..p + 2 + n).ok_or_else(err)?;
            (LpEntry::Str(s), 2 + n)
        } else {
            match b {
                0xF0 => {
                    let l = need(4)?;
                    let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                    let s = body.get(p + 5..p + 5 + n).ok_or_else(err)?;
                    (LpEntry::Str(s), 5 + n)
                }
                0xF1 => {
                    let s = need(2)?;
                    (LpEntry::Int(i16::from_le_bytes([s[0], s[1]]) as i64), 3)
                }
                0xF2 => {
                    let s = need(3)?;
                    let v = (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as i64;
                    (LpEntry::Int(v), 4)
                }
                0xF3 => {
                    let s = need(4)?;
                    (
                        LpEntry::Int(i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as i64),
                        5,
                    )
                }
                0xF4 => {
                    let s = need(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(s);
                    (LpEntry::Int(i64::from_le_bytes(a)), 9)
                }
                _ => return Err(err()),
            }
        };
        let mut bl = 1;
        while size >> (7 * bl) > 0 {
            bl += 1;
        }
        let back = body.get(p + size..p + size + bl).ok_or_else(err)?;
        if !backlen_ok(back, size) {
            return Err(err());
        }
        f(e)?;
        count += 1;
        p += size + bl;
    }
    if declared != 65535 && declared != count {
        return Err(err());
    }
    Ok(count)
}

/// Decodes every entry of a (legacy) ziplist blob.
pub fn ziplist_entries(zl: &[u8]) -> LoadResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    ziplist_each(zl, |e| {
        out.push(entry_bytes(e));
        Ok(())
    })?;
    Ok(out)
}

/// Walks the entries of a ziplist blob (what Redis before 7.0 wrote for small lists, hashes
/// and zsets) and hands each to `f`. The layout: `zlbytes` u32, `zltail` u32 (offset of the
/// last entry), `zllen` u16 (65535: unknown), entries, 0xFF. An entry is `prevlen` (1 byte,
/// or 0xFE + u32: the previous entry's size), an encoding (`00llllll` / `01llllll llllllll` /
/// `10______` + u32 big-endian string lengths; 0xC0 int16, 0xD0 int32, 0xE0 int64, 0xF0
/// int24, 0xFE int8, 0xF1..0xFD the values 0..12) and the data. Everything is checked as
/// Redis's deep `ziplistValidateIntegrity` does: sizes and terminator, every entry inside the
/// blob, every prevlen equal to the previous entry's size, the tail offset, the count.
/// Return value: the number of entries.
pub(super) fn ziplist_each(
    zl: &[u8],
    mut f: impl FnMut(LpEntry<'_>) -> LoadResult<()>,
) -> LoadResult<usize> {
    let err = || bad("ziplist");
    if zl.len() < 11 {
        return Err(err());
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let declared = u16::from_le_bytes([zl[8], zl[9]]) as usize;
    if total != zl.len() || zl[total - 1] != 0xFF {
        return Err(err());
    }
    let end = total - 1;
    // Bytes `from..from + n`, all before the terminator.
    let get = |from: usize, n: usize| {
        from.checked_add(n)
            .filter(|&to| to <= end)
            .map(|to| &zl[from..to])
            .ok_or_else(err)
    };
    let (mut p, mut prev_size, mut count, mut last) = (10usize, 0usize, 0usize, 10usize);
    while zl[p] != 0xFF {
        let (prevlen, pl) = if zl[p] == 0xFE {
            let s = get(p + 1, 4)?;
            (u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize, 5)
        } else {
            (zl[p] as usize, 1)
        };
        if prevlen != prev_size {
            return Err(err());
        }
        let q = p + pl;
        let b = get(q, 1)?[0];
        let (e, size) = match b >> 6 {
            0 => {
                let n = (b & 0x3f) as usize;
                (LpEntry::Str(get(q + 1, n)?), 1 + n)
            }
            1 => {
                let n = (((b & 0x3f) as usize) << 8) | get(q + 1, 1)?[0] as usize;
                (LpEntry::Str(get(q + 2, n)?), 2 + n)
            }
            2 => {
                let s = get(q + 1, 4)?;
                let n = u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize;
                (LpEntry::Str(get(q + 5, n)?), 5 + n)
            }
            _ => {
                let (v, n) = match b {
                    0xC0 => {
                        let s = get(q + 1, 2)?;
                        (i16::from_le_bytes([s[0], s[1]]) as i64, 2)
                    }
                    0xD0 => {
                        let s = get(q + 1, 4)?;
                        (i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as i64, 4)
                    }
                    0xE0 => {
                        let s = get(q + 1, 8)?;
                        let mut a = [0u8; 8];
                        a.copy_from_slice(s);
                        (i64::from_le_bytes(a), 8)
                    }
                    0xF0 => {
                        let s = get(q + 1, 3)?;
                        ((i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as i64, 3)
                    }
                    0xFE => (get(q + 1, 1)?[0] as i8 as i64, 1),
                    0xF1..=0xFD => (((b & 0x0f) as i64) - 1, 0),
                    _ => return Err(err()),
                };
                (LpEntry::Int(v), 1 + n)
            }
        };
        f(e)?;
        count += 1;
        last = p;
        prev_size = pl + size;
        p = q + size;
    }
    if p != end || tail != last || (declared != 65535 && declared != count) {
        return Err(err());
    }
    Ok(count)
}

/// Walks a zipmap (the hash encoding of Redis before 2.6) and hands each field / value pair
/// to `f`. The layout: a count byte (254: unknown), then per pair a field length, the
/// field, a value length, a "free" byte, the value and that many unused bytes, then 0xFF.
/// Lengths are one byte below 254, else 0xFE + u32 little-endian. Checked as Redis's
/// `zipmapValidateIntegrity` does: everything inside the blob, at least one pair, the count.
/// Return value: the number of pairs.
pub(super) fn zipmap_each(
    zm: &[u8],
    mut f: impl FnMut(&[u8], &[u8]) -> LoadResult<()>,
) -> LoadResult<usize> {
    let err = || bad("zipmap");
    if zm.len() < 2 || zm[zm.len() - 1] != 0xFF {
        return Err(err());
    }
    let last = zm.len() - 1;
    let take = |p: &mut usize, n: usize| -> LoadResult<&[u8]> {
        let to = p.checked_add(n).filter(|&to| to <= last).ok_or_else(err)?;
        let s = &zm[*p..to];
        *p = to;
        Ok(s)
    };
    let len = |p: &mut usize| -> LoadResult<usize> {
        let b = take(p, 1)?[0];
        if b < 254 {
            return Ok(b as usize);
        }
        if b == 0xFF {
            return Err(err());
        }
        let s = take(p, 4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    };
    let (mut p, mut count) = (1usize, 0usize);
    while zm[p] != 0xFF {
        let n = len(&mut p)?;
        let field = take(&mut p, n)?;
        let n = len(&mut p)?;
        let free = take(&mut p, 1)?[0] as usize;
        let value = take(&mut p, n)?;
        take(&mut p, free)?;
        f(field, value)?;
        count += 1;
    }
    if count == 0 || p != last || (zm[0] != 254 && zm[0] as usize != count) {
        return Err(err());
    }
    Ok(count)
}

/// Decodes an intset blob: encoding width (2, 4 or 8), count, then the integers in strictly
/// increasing order. An empty intset is corrupt too, as in Redis's `intsetValidateIntegrity`.
pub(super) fn intset_entries(b: &[u8]) -> LoadResult<Vec<i64>> {
    let err = || bad("intset");
    if b.len() < 8 {
        return Err(err());
    }
    let width = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let n = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) || n == 0 || b.len() - 8 != width * n {
        return Err(err());
    }
    let mut out = Vec::with_capacity(n);
    for c in b[8..].chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                i64::from_le_bytes(a)
            }
        };
        if out.last().is_some_and(|&l| l >= v) {
            return Err(err());
        }
        out.push(v);
    }
    Ok(out)
}

/// The kind of a packed blob: a listpack (Redis 7.0) or a ziplist (before).
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Packed {
    Listpack,
    Ziplist,
}

/// Walks a packed blob of either kind.
pub(super) fn packed_each(
    kind: Packed,
    b: &[u8],
    f: impl FnMut(LpEntry<'_>) -> LoadResult<()>,
) -> LoadResult<usize> {
    match kind {
        Packed::Listpack => listpack_each(b, f),
        Packed::Ziplist => ziplist_each(b, f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist (what Redis 6 writes) with a string, a 4-bit int, an int16 and an int64.
    #[test]
    fn ziplist_decoding() {
        let mut body = Vec::new();
        body.extend_from_slice(&[0, 0x02, b'a', b'b']); // prevlen 0, 6-bit string
        body.extend_from_slice(&[4, 0xF6]); // 4-bit immediate 5
        body.extend_from_slice(&[2, 0xC0, 0x2C, 0x01]); // int16 300
        body.extend_from_slice(&[4, 0xE0]);
        body.extend_from_slice(&(-9_000_000_000i64).to_le_bytes());
        let total = 10 + body.len() + 1;
        let mut zl = Vec::new();
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&20u32.to_le_bytes()); // the last entry's offset
        zl.extend_from_slice(&4u16.to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xFF);
        let items = ziplist_entries(&zl).unwrap();
        assert_eq!(
            items,
            vec![
                b"ab".to_vec(),
                b"5".to_vec(),
                b"300".to_vec(),
                b"-9000000000".to_vec()
            ]
        );
        assert!(ziplist_entries(&zl[..zl.len() - 1]).is_err());
        let mut bad = zl.clone();
        bad[10 + 1] = 0x3F; // string length past the end
        assert!(ziplist_entries(&bad).is_err());
    }

    /// The ziplist walk checks what Redis's deep check does: each prevlen against the
    /// previous entry, the tail offset, the declared count; a large prevlen form is accepted.
    #[test]
    fn ziplist_structure_checks() {
        // Two entries "ab" (4 bytes) and 5 (2 bytes): tail at 14.
        let zl = |first_prev: &[u8], second_prev: &[u8], tail: u32, count: u16| {
            let mut body = first_prev.to_vec();
            body.extend_from_slice(&[0x02, b'a', b'b']);
            let tail_at = 10 + body.len() as u32;
            body.extend_from_slice(second_prev);
            body.push(0xF6);
            let mut v = ((10 + body.len() + 1) as u32).to_le_bytes().to_vec();
            v.extend_from_slice(&(if tail == 0 { tail_at } else { tail }).to_le_bytes());
            v.extend_from_slice(&count.to_le_bytes());
            v.extend_from_slice(&body);
            v.push(0xFF);
            v
        };
        let ok = zl(&[0], &[4], 0, 2);
        assert_eq!(
            ziplist_entries(&ok).unwrap(),
            vec![b"ab".to_vec(), b"5".to_vec()]
        );
        assert_eq!(ziplist_entries(&zl(&[0], &[4], 0, 65535)).unwrap().len(), 2);
        // The 5-byte prevlen form for a small size (left by a cascade update) is valid.
        assert!(ziplist_entries(&zl(&[0], &[0xFE, 4, 0, 0, 0], 0, 2)).is_ok());
        assert!(
            ziplist_entries(&zl(&[1], &[4], 0, 2)).is_err(),
            "first prevlen"
        );
        assert!(
            ziplist_entries(&zl(&[0], &[3], 0, 2)).is_err(),
            "second prevlen"
        );
        assert!(ziplist_entries(&zl(&[0], &[4], 10, 2)).is_err(), "tail");
        assert!(ziplist_entries(&zl(&[0], &[4], 0, 3)).is_err(), "count");
        let mut early_end = ok.clone();
        early_end[14] = 0xFF;
        assert!(ziplist_entries(&early_end).is_err(), "terminator inside");
    }

    /// Listpack back-lengths must encode their entry's size; intsets and zipmaps must not be
    /// empty; a zipmap's count and bounds are checked.
    #[test]
    fn backlen_intset_zipmap_checks() {
        let mut lp = crate::persist::rdb_save::LpBuilder::new();
        for s in ["a", &"y".repeat(200)] {
            lp.push(s.as_bytes());
        }
        let blob = lp.finish();
        assert!(listpack_entries(&blob).is_ok());
        let mut bad = blob.clone();
        bad[6 + 2] = 3; // "a" is 2 bytes: its back-length says 3
        assert!(listpack_entries(&bad).is_err());
        let mut bad = blob.clone();
        let n = bad.len();
        bad[n - 2] ^= 0x01; // the long entry's 2-byte back-length
        assert!(listpack_entries(&bad).is_err());
        assert!(
            intset_entries(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err(),
            "empty intset"
        );
        let zm = |count: u8, body: &[u8]| [&[count][..], body, &[0xFF]].concat();
        let mut pairs = Vec::new();
        zipmap_each(&zm(1, &[1, b'f', 2, 1, b'v', b'w', 0]), |f, v| {
            pairs.push((f.to_vec(), v.to_vec()));
            Ok(())
        })
        .unwrap();
        assert_eq!(pairs, vec![(b"f".to_vec(), b"vw".to_vec())]);
        let long: Vec<u8> = [&[0xFE, 0, 1, 0, 0][..], &[b'k'; 256][..], &[1, 0, b'v']].concat();
        assert_eq!(zipmap_each(&zm(1, &long), |_, _| Ok(())), Ok(1));
        assert_eq!(zipmap_each(&zm(254, &long), |_, _| Ok(())), Ok(1));
        for broken in [
            zm(0, &[]),                       // empty
            zm(2, &[1, b'f', 1, 0, b'v']),    // count
            zm(1, &[1, b'f', 5, 0, b'v']),    // value past the end
            zm(1, &[1, b'f', 1, 3, b'v', 0]), // free bytes past the end
            vec![0, 1, b'f'],                 // no terminator
        ] {
            assert!(zipmap_each(&broken, |_, _| Ok(())).is_err(), "{broken:?}");
        }
    }

    #[test]
    fn listpack_and_intset_validation() {
        let mut lp = crate::persist::rdb_save::LpBuilder::new();
        for s in ["a", "-1", "5000", "100000", "9000000000", &"x".repeat(5000)] {
            lp.push(s.as_bytes());
        }
        let blob = lp.finish();
        let items = listpack_entries(&blob).unwrap();
        assert_eq!(items[1], b"-1");
        assert_eq!(items[4], b"9000000000");
        assert_eq!(items[5].len(), 5000);
        for cut in [1, 7, 100] {
            assert!(listpack_entries(&blob[..blob.len() - cut]).is_err());
        }
        assert!(intset_entries(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0]).is_err());
        assert_eq!(
            intset_entries(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 5, 0]).unwrap(),
            vec![1, 5]
        );
    }
}
