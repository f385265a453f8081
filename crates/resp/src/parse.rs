//! Request parser: multibulk and inline requests, with Redis's limits.
//!
//! The parser is incremental and keeps no state between calls except the offset of the first
//! unparsed byte: [`Parser::next`] looks at `buf[pos..]` and either returns one whole request,
//! says it needs more bytes, or reports a protocol error. A protocol error is final for the
//! connection: Redis replies with the error text and closes, and so do we.
//!
//! Rules follow Redis 7.0's `processMultibulkBuffer` / `processInlineBuffer`:
//! - a line that starts with `*` is a multibulk request; anything else is inline;
//! - the count and bulk-length lines may not exceed 64 KiB while incomplete;
//! - counts above `i32::MAX` and bulk lengths above `proto-max-bulk-len` are refused;
//! - an unauthenticated client may send at most 10 arguments of at most 16384 bytes each;
//! - `*0` / `*-1` requests and empty inline lines are skipped silently;
//! - the two bytes after a bulk are consumed without being checked, as Redis does.

/// Longest inline line, or count/length line, that may sit incomplete in the buffer.
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// One parsed request: the command name and its arguments, binary safe.
pub type Request = Vec<Vec<u8>>;

/// A protocol violation. `Display` gives Redis's exact error text (without `-ERR `).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    TooBigMbulkCount,
    InvalidMultibulkLength,
    UnauthenticatedMultibulkLength,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnauthenticatedBulkLength,
    TooBigInline,
    UnbalancedQuotes,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            ParseError::TooBigMbulkCount => "Protocol error: too big mbulk count string",
            ParseError::InvalidMultibulkLength => "Protocol error: invalid multibulk length",
            ParseError::UnauthenticatedMultibulkLength => {
                "Protocol error: unauthenticated multibulk length"
            }
            ParseError::TooBigBulkCount => "Protocol error: too big bulk count string",
            ParseError::ExpectedDollar(c) => {
                return write!(f, "Protocol error: expected '$', got '{}'", *c as char)
            }
            ParseError::InvalidBulkLength => "Protocol error: invalid bulk length",
            ParseError::UnauthenticatedBulkLength => "Protocol error: unauthenticated bulk length",
            ParseError::TooBigInline => "Protocol error: too big inline request",
            ParseError::UnbalancedQuotes => "Protocol error: unbalanced quotes in request",
        };
        f.write_str(text)
    }
}

/// Outcome of one parse step.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole request; the parser advanced past it.
    Request(Request),
    /// The buffer holds no whole request yet (the rest of `buf` is kept).
    Incomplete,
}

/// Limits and state for one connection's input.
#[derive(Debug, Clone)]
pub struct Parser {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: i64,
    /// True while the client still has to authenticate (tighter limits apply).
    pub unauthenticated: bool,
    /// Offset of the first unparsed byte in the caller's buffer.
    pub pos: usize,
    /// Bytes of the bulk currently being waited for, so the caller can reserve room for it.
    pub pending_bulk: usize,
    /// Argument buffers of earlier requests, reused so that steady-state parsing allocates
    /// nothing (see [`Parser::next_into`]).
    spare: Vec<Vec<u8>>,
}

/// Spare buffers kept per connection, and the largest buffer worth keeping.
const MAX_SPARE: usize = 256;
const MAX_SPARE_CAPACITY: usize = 16 * 1024;

impl Default for Parser {
    fn default() -> Self {
        Parser {
            max_bulk_len: 512 * 1024 * 1024,
            unauthenticated: false,
            pos: 0,
            pending_bulk: 0,
            spare: Vec::new(),
        }
    }
}

impl Parser {
    /// Parses the next request from `buf[self.pos..]`.
    ///
    /// Return value: `Ok(Parsed::Request)` and `pos` moved past it; `Ok(Parsed::Incomplete)` with
    /// `pos` unchanged (multibulk requests are re-parsed from their start when more bytes come,
    /// which costs little because the header lines are short); or the protocol error.
    pub fn next(&mut self, buf: &[u8]) -> Result<Parsed, ParseError> {
        let mut argv = Vec::new();
        Ok(if self.next_into(buf, &mut argv)? {
            Parsed::Request(argv)
        } else {
            Parsed::Incomplete
        })
    }

    /// Like [`Parser::next`], but fills `argv` (whose old buffers are recycled). Return value:
    /// `Ok(true)` with a whole request in `argv`, `Ok(false)` if more bytes are needed.
    pub fn next_into(&mut self, buf: &[u8], argv: &mut Vec<Vec<u8>>) -> Result<bool, ParseError> {
        self.recycle(argv);
        loop {
            let rest = &buf[self.pos..];
            if rest.is_empty() {
                return Ok(false);
            }
            let step = if rest[0] == b'*' {
                self.multibulk(rest, argv)?
            } else {
                inline(rest, argv)?
            };
            match step {
                Step::Incomplete => {
                    self.recycle(argv);
                    return Ok(false);
                }
                Step::Skip(n) => self.pos += n,
                Step::Done(n) => {
                    self.pos += n;
                    self.pending_bulk = 0;
                    return Ok(true);
                }
            }
        }
    }

    fn recycle(&mut self, argv: &mut Vec<Vec<u8>>) {
        for mut a in argv.drain(..) {
            if self.spare.len() < MAX_SPARE && a.capacity() <= MAX_SPARE_CAPACITY {
                a.clear();
                self.spare.push(a);
            }
        }
    }

    fn multibulk(&mut self, rest: &[u8], argv: &mut Vec<Vec<u8>>) -> Result<Step, ParseError> {
        let Some(cr) = find_cr(rest) else {
            if rest.len() > INLINE_MAX_SIZE {
                return Err(ParseError::TooBigMbulkCount);
            }
            return Ok(Step::Incomplete);
        };
        if cr + 2 > rest.len() {
            return Ok(Step::Incomplete);
        }
        let count = match parse_i64(&rest[1..cr]) {
            Some(n) if n <= i32::MAX as i64 => n,
            _ => return Err(ParseError::InvalidMultibulkLength),
        };
        if count > 10 && self.unauthenticated {
            return Err(ParseError::UnauthenticatedMultibulkLength);
        }
        let mut at = cr + 2;
        if count <= 0 {
            return Ok(Step::Skip(at));
        }
        // Cap the up-front reservation: a hostile count must not allocate before data arrives.
        argv.reserve((count as usize).min(1024));
        for _ in 0..count {
            let line = &rest[at..];
            let Some(cr) = find_cr(line) else {
                if line.len() > INLINE_MAX_SIZE {
                    return Err(ParseError::TooBigBulkCount);
                }
                return Ok(Step::Incomplete);
            };
            if cr + 2 > line.len() {
                return Ok(Step::Incomplete);
            }
            if line[0] != b'$' {
                return Err(ParseError::ExpectedDollar(line[0]));
            }
            let len = match parse_i64(&line[1..cr]) {
                Some(n) if n >= 0 && n <= self.max_bulk_len => n as usize,
                _ => return Err(ParseError::InvalidBulkLength),
            };
            if len > 16384 && self.unauthenticated {
                return Err(ParseError::UnauthenticatedBulkLength);
            }
            let start = at + cr + 2;
            if rest.len() - start < len + 2 {
                self.pending_bulk = len + 2 - (rest.len() - start);
                return Ok(Step::Incomplete);
            }
            let mut arg = self.spare.pop().unwrap_or_default();
            arg.extend_from_slice(&rest[start..start + len]);
            argv.push(arg);
            at = start + len + 2;
        }
        Ok(Step::Done(at))
    }
}

enum Step {
    Incomplete,
    Skip(usize),
    Done(usize),
}

/// Position of the first `\r`. Header lines (`*3`, `$5`) are a few bytes long, so a plain
/// loop over the first bytes beats `memchr`'s vector set-up; long scans still use `memchr`.
#[inline]
fn find_cr(s: &[u8]) -> Option<usize> {
    let head = &s[..s.len().min(24)];
    match head.iter().position(|&c| c == b'\r') {
        Some(i) => Some(i),
        None if s.len() > head.len() => {
            memchr::memchr(b'\r', &s[head.len()..]).map(|i| i + head.len())
        }
        None => None,
    }
}

fn inline(rest: &[u8], argv: &mut Vec<Vec<u8>>) -> Result<Step, ParseError> {
    let Some(nl) = memchr::memchr(b'\n', rest) else {
        if rest.len() > INLINE_MAX_SIZE {
            return Err(ParseError::TooBigInline);
        }
        return Ok(Step::Incomplete);
    };
    let line_end = if nl > 0 && rest[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let args = split_args(&rest[..line_end]).ok_or(ParseError::UnbalancedQuotes)?;
    if args.is_empty() {
        return Ok(Step::Skip(nl + 1));
    }
    argv.extend(args);
    Ok(Step::Done(nl + 1))
}

/// Parses a decimal integer the way Redis's `string2ll` does: optional `-`, no `+`, no leading
/// zeros (except "0" itself), no spaces, within i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits an inline line into arguments with the quoting rules of Redis's `sdssplitargs`:
/// `"..."` with `\n \r \t \b \a \xHH` escapes, `'...'` with only `\'`, a closing quote must be
/// followed by a space or the end. Returns `None` on unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // Redis splits a C string: a NUL byte ends the line.
    let line = &line[..memchr::memchr(0, line).unwrap_or(line.len())];
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut cur = Vec::new();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                if i >= line.len() {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 3 < line.len() && line[i + 1] == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(line[i + 2]), hex_val(line[i + 3])) {
                        cur.push(h * 16 + l);
                        i += 4;
                        continue;
                    }
                }
                if c == b'\\' && i + 1 < line.len() {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else if in_sq {
                if i >= line.len() {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < line.len() && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < line.len() && !is_space(line[i + 1]) {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else {
                if i >= line.len() {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
                i += 1;
            }
        }
        args.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Result<Vec<Request>, ParseError> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        while let Parsed::Request(r) = p.next(input)? {
            out.push(r);
        }
        Ok(out)
    }

    fn strs(v: &[&str]) -> Request {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn multibulk_and_pipeline() {
        let got = all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(got, vec![strs(&["GET", "k"]), strs(&["PING"])]);
    }

    #[test]
    fn incomplete_keeps_position() {
        let mut p = Parser::default();
        let buf = b"*2\r\n$3\r\nGET\r\n$1\r\n";
        assert_eq!(p.next(buf).unwrap(), Parsed::Incomplete);
        assert_eq!(p.pos, 0);
    }

    #[test]
    fn inline_quotes() {
        assert_eq!(
            all(b"set k \"a b\\x41\"\r\n").unwrap(),
            vec![strs(&["set", "k", "a bA"])]
        );
        assert_eq!(
            all(b"echo 'it\\'s'\n").unwrap(),
            vec![strs(&["echo", "it's"])]
        );
        assert_eq!(all(b"echo \"ab\"c\n"), Err(ParseError::UnbalancedQuotes));
        assert_eq!(all(b"echo \"ab\n"), Err(ParseError::UnbalancedQuotes));
        assert_eq!(all(b"\r\n\n  \nPING\n").unwrap(), vec![strs(&["PING"])]);
        assert_eq!(all(b"SET a\0b c\n").unwrap(), vec![strs(&["SET", "a"])]);
        assert_eq!(all(b"\0\n").unwrap(), Vec::<Request>::new());
    }

    #[test]
    fn limits() {
        assert_eq!(all(b"*x\r\n"), Err(ParseError::InvalidMultibulkLength));
        assert_eq!(
            all(b"*3000000000\r\n"),
            Err(ParseError::InvalidMultibulkLength)
        );
        assert_eq!(
            all(b"*1\r\n$4294967296\r\n"),
            Err(ParseError::InvalidBulkLength)
        );
        assert_eq!(all(b"*1\r\n$-1\r\n"), Err(ParseError::InvalidBulkLength));
        assert_eq!(all(b"*1\r\nx\r\n"), Err(ParseError::ExpectedDollar(b'x')));
        assert_eq!(
            all(&vec![b'a'; INLINE_MAX_SIZE + 1]),
            Err(ParseError::TooBigInline)
        );
        assert!(all(b"*0\r\n*-1\r\n").unwrap().is_empty());
    }

    #[test]
    fn integers_like_redis() {
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b" 1"), None);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn encode(reqs: &[Request]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in reqs {
            out.extend_from_slice(format!("*{}\r\n", r.len()).as_bytes());
            for a in r {
                out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                out.extend_from_slice(a);
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    fn parse_chunked(data: &[u8], chunk: usize) -> Result<Vec<Request>, ParseError> {
        let mut p = Parser::default();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for piece in data.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            while let Parsed::Request(r) = p.next(&buf)? {
                out.push(r);
            }
            buf.drain(..p.pos);
            p.pos = 0;
        }
        Ok(out)
    }

    proptest! {
        #[test]
        fn roundtrip_in_any_chunking(
            reqs in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..6), 0..8),
            chunk in 1usize..64,
        ) {
            let bytes = encode(&reqs);
            prop_assert_eq!(parse_chunked(&bytes, chunk).unwrap(), reqs);
        }

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512), chunk in 1usize..64) {
            let whole = parse_chunked(&data, data.len().max(1));
            let split = parse_chunked(&data, chunk);
            // Splitting may only change where an error is found, never the requests before it.
            if let (Ok(a), Ok(b)) = (&whole, &split) {
                prop_assert_eq!(a, b);
            }
        }
    }
}
