//! Number parsing and formatting with Redis's rules, written once and used by every command.
//!
//! Rust's parsers accept things Redis rejects (`+1`, ` 1`) and reject things Redis accepts
//! (`0x10` as a float, via C's `strtod`), so integers use Redis's `string2ll` rules and floats
//! go through libc's `strtod`/`strtold` with Redis's extra checks.

pub use cinnabar_resp::parse::parse_i64;

/// A private random generator for sampling (SRANDMEMBER, SPOP, HRANDFIELD, ZRANDMEMBER,
/// RANDOMKEY), seeded from the server's so a value can stay borrowed while it draws.
pub fn sampler(seed: u64) -> impl FnMut() -> u64 {
    cinnabar_ds::splitmix64(seed)
}

/// Redis `string2ll` on an argument.
pub fn parse_int(s: &[u8]) -> Option<i64> {
    parse_i64(s)
}

/// Unsigned variant used for cursors (`string2ull`-like: digits only, within u64).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Parses a double like Redis's `string2d`: the whole string, no leading space, no NaN;
/// "inf", "-inf", "1e5" and hex floats ("0x10") are accepted, as `strtod` does.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() >= 5120 || s[0].is_ascii_whitespace() || s.contains(&0) {
        return None;
    }
    let c = std::ffi::CString::new(s).ok()?;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; `end` is written by
    // strtod to point inside it. errno is thread-local.
    let (v, consumed, erange) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(c.as_ptr(), &mut end);
        (
            v,
            end.offset_from(c.as_ptr()) as usize,
            *libc::__errno_location() == libc::ERANGE,
        )
    };
    if consumed != s.len() || v.is_nan() {
        return None;
    }
    if erange && (v.is_infinite() || v == 0.0) {
        return None;
    }
    Some(v)
}

/// Formats a double as Redis 7.0's `%.17g` replies do (ZSCORE 1.1 → "1.1000000000000001").
pub fn fmt_double(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is 64 bytes and snprintf writes at most that many, NUL included.
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%.17g".as_ptr(),
            v,
        )
    };
    String::from_utf8_lossy(&buf[..n.clamp(0, 63) as usize]).into_owned()
}

extern "C" {
    fn cnb_ld_add(
        cur: *const u8,
        curlen: usize,
        incr: *const u8,
        incrlen: usize,
        out: *mut u8,
        outlen: usize,
    ) -> libc::c_int;
    fn cnb_ld_valid(s: *const u8, len: usize) -> libc::c_int;
}

/// Why a long double increment failed.
#[derive(Debug, PartialEq, Eq)]
pub enum LdError {
    NotFloat,
    NanOrInf,
}

/// `cur + incr` in C `long double`, formatted as Redis's INCRBYFLOAT prints it.
pub fn long_double_add(cur: &[u8], incr: &[u8]) -> Result<Vec<u8>, LdError> {
    let mut out = vec![0u8; 5200];
    // SAFETY: pointers and lengths describe live slices; the C side writes at most `out.len()`.
    let n = unsafe {
        cnb_ld_add(
            cur.as_ptr(),
            cur.len(),
            incr.as_ptr(),
            incr.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    };
    match n {
        -1 => Err(LdError::NotFloat),
        -2 => Err(LdError::NanOrInf),
        n if n < 0 => Err(LdError::NotFloat),
        n => {
            out.truncate(n as usize);
            Ok(out)
        }
    }
}

/// True if `s` parses as a Redis long double.
pub fn is_long_double(s: &[u8]) -> bool {
    // SAFETY: pointer and length describe a live slice.
    unsafe { cnb_ld_valid(s.as_ptr(), s.len()) == 1 }
}

/// C's `isspace` run and an optional sign, as `strtol` / `strtoull` read them before the
/// digits. Return value: the index after them and whether the sign was a minus.
pub fn c_space_and_sign(s: &[u8]) -> (usize, bool) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    match s.get(i) {
        Some(b'-') => (i + 1, true),
        Some(b'+') => (i + 1, false),
        _ => (i, false),
    }
}

/// `strtol` base 10 on `s`: the value (saturated) and where the number ends (the start of
/// `s` when there is no number).
pub fn strtol(s: &[u8]) -> (i64, usize, bool) {
    let (mut i, neg) = c_space_and_sign(s);
    let digits_start = i;
    let mut v: i64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        match v
            .checked_mul(10)
            .and_then(|x| x.checked_add((d - b'0') as i64))
        {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == digits_start {
        return (0, 0, false);
    }
    if overflow {
        v = i64::MAX;
    }
    (if neg { -v } else { v }, i, overflow)
}

/// ASCII-lowercase copy (command names and options are case-insensitive).
pub fn lower(s: &[u8]) -> String {
    String::from_utf8_lossy(s).to_ascii_lowercase()
}

/// Case-insensitive compare of an argument with an option name.
pub fn eq_ic(arg: &[u8], opt: &str) -> bool {
    arg.eq_ignore_ascii_case(opt.as_bytes())
}

/// Redis's glob matcher (`stringmatchlen`): `*`, `?`, `[...]` with ranges and `^`, `\\` escapes.
///
/// Backtracking on `*` alone is exponential (`a*a*a*...b` against `aaaa...`). Two rules keep
/// it polynomial, as Redis 7.0.15 does: when the rest of the pattern after a `*` fails at every
/// position of the rest of the string, no earlier `*` can do better by swallowing more (the rest
/// would have to match even later), so the whole match gives up at once; and recursion stops
/// at 1000 nested stars. Cost is O(pattern x string) at worst.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut give_up = false;
    glob_rec(pattern, s, nocase, 0, &mut give_up)
}

fn glob_rec(mut p: &[u8], mut s: &[u8], nocase: bool, depth: u32, give_up: &mut bool) -> bool {
    if depth > 1000 {
        return false;
    }
    let fold = |c: u8| if nocase { c.to_ascii_lowercase() } else { c };
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if glob_rec(&p[1..], s, nocase, depth + 1, give_up) {
                        return true;
                    }
                    if *give_up {
                        return false;
                    }
                    s = &s[1..];
                }
                // The rest failed from every position: no longer match of an earlier star helps.
                *give_up = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                let (after, matched) = match_class(&p[1..], s[0], fold);
                if !matched {
                    return false;
                }
                p = after;
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if fold(p[0]) != fold(s[0]) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if fold(c) != fold(s[0]) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while !p.is_empty() && p[0] == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// Matches one byte against the class whose body starts at `p` (just after `[`). Returns the
/// pattern positioned on the class's closing `]` (or on a virtual one when the class runs to the
/// end of the pattern, which Redis accepts) and whether `c` is in the class.
fn match_class(mut p: &[u8], c: u8, fold: impl Fn(u8) -> u8) -> (&[u8], bool) {
    let negate = p.first() == Some(&b'^');
    if negate {
        p = &p[1..];
    }
    let mut matched = false;
    loop {
        match p {
            [] => {
                p = b"]";
                break;
            }
            // An escaped byte is compared as is, even under `nocase` (as Redis does).
            [b'\\', e, ..] => {
                matched |= *e == c;
                p = &p[1..];
            }
            [b']', ..] => break,
            [lo, b'-', hi, ..] => {
                let (lo, hi) = (fold(*lo).min(fold(*hi)), fold(*lo).max(fold(*hi)));
                matched |= (lo..=hi).contains(&fold(c));
                p = &p[2..];
            }
            [b, ..] => matched |= fold(*b) == fold(c),
        }
        p = &p[1..];
    }
    (p, matched != negate)
}

/// Splits a config line with the same quoting rules as inline commands.
pub fn split_args_line(line: &str) -> Option<Vec<String>> {
    cinnabar_resp::parse::split_args(line.as_bytes()).map(|v| {
        v.into_iter()
            .map(|w| String::from_utf8_lossy(&w).into_owned())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1 "), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(fmt_double(1.1), "1.1000000000000001");
        assert_eq!(fmt_double(3.0), "3");
    }

    #[test]
    fn long_double_like_redis() {
        assert_eq!(long_double_add(b"0.1", b"0.1").unwrap(), b"0.2");
        assert_eq!(long_double_add(b"10.5", b"0.1").unwrap(), b"10.6");
        assert_eq!(long_double_add(b"5", b"-5").unwrap(), b"0");
        assert_eq!(long_double_add(b"abc", b"1"), Err(LdError::NotFloat));
        assert_eq!(long_double_add(b"1\0x", b"1"), Err(LdError::NotFloat));
        assert_eq!(long_double_add(b"1", b"1\0"), Err(LdError::NotFloat));
        assert_eq!(long_double_add(b"1", b"inf"), Err(LdError::NanOrInf));
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h*llo", b"heeeello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        // Like Redis stringmatchlen: the loop never runs for an empty string (KEYS special-cases "*").
        assert!(!glob_match(b"*", b"", false));
        assert!(glob_match(b"a\\*", b"a*", false));
        assert!(!glob_match(b"a", b"ab", false));
        assert!(glob_match(b"HELLO", b"hello", true));
        assert!(
            glob_match(b"[a-]x]", b"x", false),
            "a range may swallow the closing bracket"
        );
        assert!(
            glob_match(b"a[bc", b"ab", false),
            "an unterminated class ends the pattern"
        );
    }

    /// The patterns that made the backtracking matcher exponential answer at once.
    #[test]
    fn globs_worst_case_is_polynomial() {
        let s = [b'a'; 40];
        let p = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(p, &s, false));
        let long_s = vec![b'a'; 10_000];
        let long_p: Vec<u8> = b"*a".repeat(500).into_iter().chain(*b"b").collect();
        assert!(!glob_match(&long_p, &long_s, false));
        assert!(glob_match(&b"*a".repeat(500), &long_s, false));
    }

    /// One pattern element, as the reference matcher sees it.
    enum Tok {
        Star,
        Any,
        Byte(u8),
        Class(Box<dyn Fn(u8) -> bool>),
    }

    /// Splits a pattern into elements by Redis's parsing rules, reusing `match_class` to parse
    /// (and answer) classes so the two matchers only differ in how they search.
    fn tokens(mut p: &[u8], nocase: bool) -> Vec<Tok> {
        let fold = move |c: u8| if nocase { c.to_ascii_lowercase() } else { c };
        let mut out = Vec::new();
        while !p.is_empty() {
            match p[0] {
                b'*' => out.push(Tok::Star),
                b'?' => out.push(Tok::Any),
                b'[' => {
                    let body = &p[1..];
                    let (rest, _) = match_class(body, 0, fold);
                    let closed = body.as_ptr_range().contains(&rest.as_ptr());
                    let owned = body.to_vec();
                    out.push(Tok::Class(Box::new(move |c| {
                        match_class(&owned, c, fold).1
                    })));
                    p = if closed { &rest[1..] } else { &[] };
                    continue;
                }
                b'\\' if p.len() >= 2 => {
                    p = &p[1..];
                    out.push(Tok::Byte(fold(p[0])));
                }
                c => out.push(Tok::Byte(fold(c))),
            }
            p = &p[1..];
        }
        out
    }

    /// Plain dynamic programming over (pattern element, string position): obviously correct,
    /// quadratic, used as the property test's oracle.
    fn reference_match(p: &[u8], s: &[u8], nocase: bool) -> bool {
        if s.is_empty() {
            return p.is_empty();
        }
        let fold = |c: u8| if nocase { c.to_ascii_lowercase() } else { c };
        let toks = tokens(p, nocase);
        // can[j]: the elements so far can match s[..j].
        let mut can = vec![false; s.len() + 1];
        can[0] = true;
        for t in &toks {
            let mut next = vec![false; s.len() + 1];
            for j in 0..=s.len() {
                match t {
                    Tok::Star => next[j] = can[j] || (j > 0 && next[j - 1]),
                    _ if j == 0 => {}
                    Tok::Any => next[j] = can[j - 1],
                    Tok::Byte(b) => next[j] = can[j - 1] && fold(s[j - 1]) == *b,
                    Tok::Class(f) => next[j] = can[j - 1] && f(s[j - 1]),
                }
            }
            can = next;
        }
        can[s.len()]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn glob_agrees_with_reference(
            p in proptest::collection::vec(proptest::sample::select(b"ab*?[]^-\\A".to_vec()), 0..12),
            s in proptest::collection::vec(proptest::sample::select(b"ab-]^A*".to_vec()), 0..12),
            nocase in proptest::bool::ANY,
        ) {
            proptest::prop_assert_eq!(glob_match(&p, &s, nocase), reference_match(&p, &s, nocase),
                "pattern {:?} string {:?}", String::from_utf8_lossy(&p), String::from_utf8_lossy(&s));
        }
    }
}
