//! Bit-level helpers for the bitmap commands (SETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD),
//! working on a string's bytes. No RESP here: `cmd/bitmap.rs` parses and replies.
//!
//! Bits are numbered as Redis numbers them: bit 0 is the most significant bit of byte 0.
//! Ranges are inclusive bit positions, so BYTE and BIT ranges share one code path.
//!
//! Counting and searching look at 8 bytes at a time (`u64::count_ones`, `leading_zeros`), with
//! the partial first and last bytes masked, so BITCOUNT and BITPOS over a 512 MB string are one
//! linear pass (Redis's `redisPopcount` / `redisBitpos` do the same with their own tables).
//!
//! BITFIELD values are read and written MSB first, one bit at a time (at most 64 bits per
//! operation). The overflow checks reproduce Redis's `checkUnsignedBitfieldOverflow` and
//! `checkSignedBitfieldOverflow` arithmetic exactly, wrap-arounds included, because their
//! results are visible: `SET i63 0 -9223372036854775808` with `OVERFLOW SAT` stores the
//! maximum, as in Redis.

/// Number of set bits in `b`, 8 bytes at a time.
pub fn popcount(b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let w = u64::from_ne_bytes(c.try_into().expect("chunk of 8"));
        n += u64::from(w.count_ones());
    }
    for &x in chunks.remainder() {
        n += u64::from(x.count_ones());
    }
    n
}

/// Mask of the bits of a byte at positions `from..=7` (MSB first numbering).
fn mask_from(from: u64) -> u8 {
    0xFFu8 >> (from & 7)
}

/// Mask of the bits of a byte at positions `0..=to` (MSB first numbering).
fn mask_to(to: u64) -> u8 {
    0xFFu8 << (7 - (to & 7))
}

/// Number of set bits at bit positions `start..=end` of `b`.
/// Requires `start <= end < b.len() * 8`.
pub fn count_range(b: &[u8], start: u64, end: u64) -> u64 {
    let (sb, eb) = ((start >> 3) as usize, (end >> 3) as usize);
    if sb == eb {
        return u64::from((b[sb] & mask_from(start) & mask_to(end)).count_ones());
    }
    u64::from((b[sb] & mask_from(start)).count_ones())
        + popcount(&b[sb + 1..eb])
        + u64::from((b[eb] & mask_to(end)).count_ones())
}

/// Offset of the first bit of `b` (whole bytes) whose value, XORed with `flip` per byte, is
/// 1; 8 bytes at a time.
fn first_one(b: &[u8], flip: u8) -> Option<u64> {
    let wflip = u64::from_ne_bytes([flip; 8]);
    let mut chunks = b.chunks_exact(8);
    let mut base: u64 = 0;
    for c in &mut chunks {
        let w = u64::from_be_bytes(c.try_into().expect("chunk of 8")) ^ wflip;
        if w != 0 {
            return Some(base + u64::from(w.leading_zeros()));
        }
        base += 64;
    }
    for &x in chunks.remainder() {
        let x = x ^ flip;
        if x != 0 {
            return Some(base + u64::from(x.leading_zeros()));
        }
        base += 8;
    }
    None
}

/// Position of the first bit equal to `bit` at positions `start..=end` of `b`, if any.
/// Requires `start <= end < b.len() * 8`.
pub fn find_bit(b: &[u8], start: u64, end: u64, bit: bool) -> Option<u64> {
    let flip = if bit { 0 } else { 0xFF };
    let (sb, eb) = ((start >> 3) as usize, (end >> 3) as usize);
    let at = |i: usize, x: u8| (x != 0).then(|| i as u64 * 8 + u64::from(x.leading_zeros()));
    if sb == eb {
        return at(sb, (b[sb] ^ flip) & mask_from(start) & mask_to(end));
    }
    if let Some(p) = at(sb, (b[sb] ^ flip) & mask_from(start)) {
        return Some(p);
    }
    if let Some(p) = first_one(&b[sb + 1..eb], flip) {
        return Some((sb as u64 + 1) * 8 + p);
    }
    at(eb, (b[eb] ^ flip) & mask_to(end))
}

/// The bit operations of BITOP.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP's result over `srcs` (NOT takes one): as long as the longest source, shorter
/// sources (and missing keys, given as empty) read as zero bytes.
pub fn bitop(op: BitOp, srcs: &[&[u8]]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![0u8; maxlen];
    let Some((first, rest)) = srcs.split_first() else {
        return out;
    };
    out[..first.len()].copy_from_slice(first);
    match op {
        BitOp::Not => out.iter_mut().for_each(|x| *x = !*x),
        BitOp::And => {
            for s in rest {
                for (o, x) in out.iter_mut().zip(s.iter()) {
                    *o &= *x;
                }
                // Past the end of `s` it reads as zeros.
                out[s.len().min(maxlen)..].fill(0);
            }
        }
        BitOp::Or | BitOp::Xor => {
            for s in rest {
                for (o, x) in out.iter_mut().zip(s.iter()) {
                    if op == BitOp::Or {
                        *o |= *x;
                    } else {
                        *o ^= *x;
                    }
                }
            }
        }
    }
    out
}

/// The unsigned value of `bits` (1..=64) bits at bit `offset` of `b`, MSB first; bytes past
/// the end of `b` read as zero (Redis's `getUnsignedBitfield` on a zero-padded copy).
pub fn get_unsigned(b: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v: u64 = 0;
    for j in 0..u64::from(bits) {
        let pos = offset + j;
        let byte = (pos >> 3) as usize;
        let bit = b.get(byte).map_or(0, |x| (x >> (7 - (pos & 7))) & 1);
        v = (v << 1) | u64::from(bit);
    }
    v
}

/// The signed (two's complement) value of `bits` bits at `offset` (`getSignedBitfield`).
pub fn get_signed(b: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(b, offset, bits);
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`, MSB first. `b` must be long enough.
pub fn set_unsigned(b: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let on = (value >> (u64::from(bits) - 1 - j)) & 1;
        let pos = offset + j;
        let byte = (pos >> 3) as usize;
        let shift = 7 - (pos & 7);
        b[byte] = (b[byte] & !(1 << shift)) | ((on as u8) << shift);
    }
}

/// BITFIELD's OVERFLOW behaviours.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Redis's `checkUnsignedBitfieldOverflow`: does `value + incr` fit `bits` (1..=63) unsigned
/// bits? Return value: `None` if it fits, else the value to store (`None` inside for FAIL).
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<u64>> {
    let max: u64 = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || {
        let mask = if bits >= 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    let limit = if value > max || (incr > 0 && incr > maxincr) {
        max
    } else if incr < 0 && incr < minincr {
        0
    } else {
        return None;
    };
    Some(match ow {
        Overflow::Wrap => Some(wrap()),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    })
}

/// Redis's `checkSignedBitfieldOverflow` for `bits` (1..=64) signed bits, same contract as
/// [`unsigned_overflow`]. The arithmetic wraps where Redis's does.
pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<i64>> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    let limit = if value > max
        || (bits != 64 && incr > maxincr)
        || (value >= 0 && incr > 0 && incr > maxincr)
    {
        max
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        min
    } else {
        return None;
    };
    Some(match ow {
        Overflow::Wrap => Some(wrap()),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive_bit(b: &[u8], i: u64) -> bool {
        b[(i / 8) as usize] & (0x80 >> (i % 8)) != 0
    }

    /// A string and an inclusive bit range inside it.
    fn with_range() -> impl Strategy<Value = (Vec<u8>, u64, u64)> {
        prop::collection::vec(prop_oneof![Just(0u8), Just(0xFF), any::<u8>()], 1..80)
            .prop_flat_map(|v| {
                let n = v.len() as u64 * 8;
                (Just(v), 0..n, 0..n)
            })
            .prop_map(|(v, a, b)| (v, a.min(b), a.max(b)))
    }

    proptest! {
        #[test]
        fn count_matches_naive((b, s, e) in with_range()) {
            let naive = (s..=e).filter(|&i| naive_bit(&b, i)).count() as u64;
            prop_assert_eq!(count_range(&b, s, e), naive);
            let all = (0..b.len() as u64 * 8).filter(|&i| naive_bit(&b, i)).count() as u64;
            prop_assert_eq!(popcount(&b), all);
        }

        #[test]
        fn find_matches_naive((b, s, e) in with_range(), bit in any::<bool>()) {
            let naive = (s..=e).find(|&i| naive_bit(&b, i) == bit);
            prop_assert_eq!(find_bit(&b, s, e, bit), naive);
        }

        #[test]
        fn fields_match_naive(
            mut b in prop::collection::vec(any::<u8>(), 0..12),
            off in 0u64..100,
            bits in 1u32..=64,
            v in any::<u64>(),
        ) {
            let naive: u64 = (0..u64::from(bits)).fold(0, |acc, j| {
                let i = off + j;
                let on = (i / 8) < b.len() as u64 && naive_bit(&b, i);
                (acc << 1) | u64::from(on)
            });
            prop_assert_eq!(get_unsigned(&b, off, bits), naive);
            let shift = 64 - bits;
            prop_assert_eq!(get_signed(&b, off, bits), ((naive << shift) as i64) >> shift);
            let need = ((off + u64::from(bits) - 1) / 8 + 1) as usize;
            if b.len() < need {
                b.resize(need, 0);
            }
            let before = b.clone();
            set_unsigned(&mut b, off, bits, v);
            let low = if bits == 64 { v } else { v & ((1u64 << bits) - 1) };
            prop_assert_eq!(get_unsigned(&b, off, bits), low);
            // Bits outside the field are untouched.
            for i in 0..b.len() as u64 * 8 {
                if i < off || i >= off + u64::from(bits) {
                    prop_assert_eq!(naive_bit(&b, i), naive_bit(&before, i));
                }
            }
        }

        #[test]
        fn overflow_matches_wide_arithmetic(v in any::<i64>(), incr in any::<i64>(), bits in 1u32..=63) {
            // Signed: a value in range plus incr, checked with i128.
            let max = (1i128 << (bits - 1)) - 1;
            let min = -max - 1;
            let val = (i128::from(v) % (max + 1)).max(min);
            let sum = val + i128::from(incr);
            let got = signed_overflow(val as i64, incr, bits, Overflow::Sat);
            if sum > max {
                prop_assert_eq!(got, Some(Some(max as i64)));
            } else if sum < min {
                prop_assert_eq!(got, Some(Some(min as i64)));
            } else {
                prop_assert_eq!(got, None);
            }
            if let Some(Some(w)) = signed_overflow(val as i64, incr, bits, Overflow::Wrap) {
                let m = 1i128 << bits;
                let mut r = sum.rem_euclid(m);
                if r > max {
                    r -= m;
                }
                prop_assert_eq!(i128::from(w), r);
            }
            // Unsigned.
            let umax = (1u128 << bits) - 1;
            let uval = (v as u64 as u128) & umax;
            let usum = uval as i128 + i128::from(incr);
            let got = unsigned_overflow(uval as u64, incr, bits, Overflow::Sat);
            if usum > umax as i128 {
                prop_assert_eq!(got, Some(Some(umax as u64)));
            } else if usum < 0 {
                prop_assert_eq!(got, Some(Some(0)));
            } else {
                prop_assert_eq!(got, None);
            }
            if let Some(Some(w)) = unsigned_overflow(uval as u64, incr, bits, Overflow::Wrap) {
                prop_assert_eq!(i128::from(w), usum.rem_euclid(umax as i128 + 1));
            }
            prop_assert_eq!(unsigned_overflow(uval as u64, incr, bits, Overflow::Fail).map(|x| x.is_none()), got.map(|_| true));
        }
    }

    #[test]
    fn bitop_lengths() {
        let a: &[u8] = b"\xff\x0f";
        let b: &[u8] = b"\xf0";
        assert_eq!(bitop(BitOp::And, &[a, b]), b"\xf0\x00");
        assert_eq!(bitop(BitOp::Or, &[b, a]), b"\xff\x0f");
        assert_eq!(bitop(BitOp::Xor, &[a, b]), b"\x0f\x0f");
        assert_eq!(bitop(BitOp::Not, &[b]), b"\x0f");
        assert_eq!(bitop(BitOp::And, &[a, b"", b]), b"\x00\x00");
        assert!(bitop(BitOp::Or, &[b"", b""]).is_empty());
    }

    #[test]
    fn signed_quirks_like_redis() {
        // Redis's maxincr wraps for a value below the minimum: SAT picks the maximum.
        assert_eq!(
            signed_overflow(i64::MIN, 0, 63, Overflow::Sat),
            Some(Some((1i64 << 62) - 1))
        );
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(Some(i64::MIN))
        );
        assert_eq!(
            signed_overflow(i64::MIN, -1, 64, Overflow::Sat),
            Some(Some(i64::MIN))
        );
        assert_eq!(signed_overflow(5, -3, 64, Overflow::Sat), None);
    }
}
