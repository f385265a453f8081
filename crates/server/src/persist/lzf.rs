//! LZF compression (the format of Marc Lehmann's liblzf, which RDB uses for long strings).
//!
//! Format: a sequence of runs. A control byte `000lllll` is followed by `lllll + 1` literal
//! bytes; `LLLooooo oooooooo` (L != 0) copies `L + 2` bytes from `o + 1` bytes back, and
//! `111ooooo nnnnnnnn oooooooo` copies `n + 9` bytes. The compressor hashes every 3-byte
//! prefix into a 64K-slot table of last positions and extends matches greedily, the same
//! strategy as liblzf's "very fast" mode, so our output is what Redis writes for the same
//! input.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// Compresses `input`; `None` if the result would not fit in `max_out` bytes (or input is
/// empty).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    if n == 0 || max_out == 0 {
        return None;
    }
    HTAB.with(|t| {
        let mut t = t.borrow_mut();
        let (htab, touched) = &mut *t;
        if htab.is_empty() {
            htab.resize(HSIZE, 0);
        }
        let out = compress_with(input, max_out, htab, touched);
        // Reset only the slots this call wrote: a fresh table for the next call without
        // clearing 256 KB each time (most compressed strings are short).
        for &i in touched.iter() {
            htab[i] = 0;
        }
        touched.clear();
        out
    })
}

thread_local! {
    /// The hash table (positions + 1, 0 = empty) and the slots written by the current call.
    static HTAB: std::cell::RefCell<(Vec<u32>, Vec<usize>)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new()))
    };
}

fn compress_with(
    input: &[u8],
    max_out: usize,
    htab: &mut [u32],
    touched: &mut Vec<usize>,
) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out: Vec<u8> = Vec::with_capacity(max_out + 1);
    let mut lit = 0usize;
    out.push(0); // start of a literal run
    let mut ip = 0usize;
    let mut hval: u32 = if n >= 2 {
        ((input[0] as u32) << 8) | input[1] as u32
    } else {
        0
    };
    while n >= 3 && ip < n - 2 {
        hval = (hval << 8) | input[ip + 2] as u32;
        let slot = idx(hval);
        let r = htab[slot] as usize;
        htab[slot] = ip as u32 + 1;
        touched.push(slot);
        let matched = r > 1 && {
            let rf = r - 1;
            rf < ip
                && ip - rf - 1 < MAX_OFF
                && input[rf + 2] == input[ip + 2]
                && input[rf] == input[ip]
                && input[rf + 1] == input[ip + 1]
        };
        if matched {
            let rf = r - 1;
            let off = ip - rf - 1;
            let maxlen = (n - ip - 2).min(MAX_REF);
            if out.len() + 3 + 1 >= max_out && out.len() - usize::from(lit == 0) + 3 + 1 >= max_out
            {
                return None;
            }
            let pos = out.len() - lit - 1;
            out[pos] = (lit as u8).wrapping_sub(1);
            if lit == 0 {
                out.pop();
            }
            // Extend the match. Like liblzf, when more than 16 bytes may match the first 16
            // steps are taken without the length bound (they stay inside the input), so a
            // match can end up to 2 bytes past `maxlen`, at the very end of the input.
            let mut len = 2;
            let mut done = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[rf + len] != input[ip + len] {
                        done = true;
                        break;
                    }
                }
            }
            if !done {
                loop {
                    len += 1;
                    if len >= maxlen || input[rf + len] != input[ip + len] {
                        break;
                    }
                }
            }
            let len = len - 2;
            ip += 1;
            if len < 7 {
                out.push(((off >> 8) + (len << 5)) as u8);
            } else {
                out.push(((off >> 8) + (7 << 5)) as u8);
                out.push((len - 7) as u8);
            }
            out.push(off as u8);
            lit = 0;
            out.push(0);
            ip += len + 1;
            if ip >= n - 2 {
                break;
            }
            ip -= 2;
            hval = ((input[ip] as u32) << 8) | input[ip + 1] as u32;
            hval = (hval << 8) | input[ip + 2] as u32;
            htab[idx(hval)] = ip as u32 + 1;
            touched.push(idx(hval));
            ip += 1;
            hval = (hval << 8) | input[ip + 2] as u32;
            htab[idx(hval)] = ip as u32 + 1;
            touched.push(idx(hval));
            ip += 1;
        } else {
            if out.len() >= max_out {
                return None;
            }
            lit += 1;
            out.push(input[ip]);
            ip += 1;
            if lit == MAX_LIT {
                let pos = out.len() - lit - 1;
                out[pos] = (lit - 1) as u8;
                lit = 0;
                out.push(0);
            }
        }
    }
    if out.len() + 3 > max_out {
        return None;
    }
    while ip < n {
        lit += 1;
        out.push(input[ip]);
        ip += 1;
        if lit == MAX_LIT {
            let pos = out.len() - lit - 1;
            out[pos] = (lit - 1) as u8;
            lit = 0;
            out.push(0);
        }
    }
    let pos = out.len() - lit - 1;
    out[pos] = (lit as u8).wrapping_sub(1);
    if lit == 0 {
        out.pop();
    }
    if out.len() > max_out {
        return None;
    }
    Some(out)
}

/// Decompresses `input` into exactly `out_len` bytes; `None` on any malformed run.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut i = 0usize;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let len = ctrl + 1;
            if i + len > input.len() || out.len() + len > out_len {
                return None;
            }
            out.extend_from_slice(&input[i..i + len]);
            i += len;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let len = len + 2;
            if back > out.len() || out.len() + len > out_len {
                return None;
            }
            let start = out.len() - back;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let samples: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello world hello world hello world hello world".to_vec(),
            (0..5000u32).map(|i| (i * 7 % 13) as u8).collect(),
            (0..70u8).collect(),
        ];
        for s in samples {
            if let Some(c) = compress(&s, s.len() - 4) {
                assert_eq!(decompress(&c, s.len()).as_deref(), Some(&s[..]));
            }
        }
        assert!(compress(&(0..70u8).collect::<Vec<_>>(), 66).is_none());
        // Checked against liblzf 3.6: same length, and the last match runs to the very end
        // of the input (the unbounded first 16 steps of match extension).
        let input: Vec<u8> = (0..3000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let c = compress(&input, 2996).expect("compressible");
        assert_eq!(c.len(), 1221);
        assert_eq!(&c[c.len() - 3..], &[232, 10, 162]);
        assert!(decompress(&[0x20, 0x00], 3).is_none());
    }
}
