//! Reply writer: appends RESP2 or RESP3 replies to one output buffer.
//!
//! Every writer appends and never flushes; the connection writes the buffer once per batch of
//! requests. Where RESP3 has a richer type than RESP2 (null, map, set, double, boolean, verbatim
//! string, push), the RESP2 form is the one Redis uses for that protocol, so command code calls
//! one method and gets the right bytes for the client's protocol.

/// Protocol version negotiated with HELLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}

/// An output buffer plus the protocol to write it in.
#[derive(Debug, Default)]
pub struct ReplyBuf {
    pub buf: Vec<u8>,
    pub proto: Proto,
}

impl ReplyBuf {
    pub fn new(proto: Proto) -> Self {
        ReplyBuf {
            buf: Vec::new(),
            proto,
        }
    }

    pub fn is_resp3(&self) -> bool {
        self.proto == Proto::Resp3
    }

    fn line(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `+OK`-style status reply. Newlines in `s` would break the protocol; callers pass constants.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// Error reply. `msg` carries its own code (`ERR ...`, `WRONGTYPE ...`); as in Redis,
    /// newlines are replaced by spaces so a message can never break framing.
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        self.buf.extend(
            msg.bytes()
                .map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Bulk string of an integer's decimal form.
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// Null bulk string (RESP2 `$-1`, RESP3 `_`).
    pub fn null(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// Null array (RESP2 `*-1`, RESP3 `_`).
    pub fn null_array(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn array(&mut self, len: usize) {
        self.line(b'*', len as i64);
    }

    /// Map header: RESP3 `%n`, RESP2 a flat array of 2n elements.
    pub fn map(&mut self, pairs: usize) {
        match self.proto {
            Proto::Resp2 => self.line(b'*', 2 * pairs as i64),
            Proto::Resp3 => self.line(b'%', pairs as i64),
        }
    }

    /// Set header: RESP3 `~n`, RESP2 an array.
    pub fn set(&mut self, len: usize) {
        match self.proto {
            Proto::Resp2 => self.line(b'*', len as i64),
            Proto::Resp3 => self.line(b'~', len as i64),
        }
    }

    /// Push header: RESP3 `>n`, RESP2 an array.
    pub fn push(&mut self, len: usize) {
        match self.proto {
            Proto::Resp2 => self.line(b'*', len as i64),
            Proto::Resp3 => self.line(b'>', len as i64),
        }
    }

    /// Double already formatted by the caller (Redis's `%.17g` rules live in the server):
    /// RESP3 `,` type, RESP2 a bulk string.
    pub fn double_str(&mut self, formatted: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(formatted),
            Proto::Resp3 => {
                self.buf.push(b',');
                self.buf.extend_from_slice(formatted);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Boolean: RESP3 `#t`/`#f`, RESP2 `:1`/`:0`.
    pub fn boolean(&mut self, b: bool) {
        match self.proto {
            Proto::Resp2 => self.int(b as i64),
            Proto::Resp3 => self
                .buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" }),
        }
    }

    /// Verbatim string (`=len\r\ntxt:...`) in RESP3, bulk in RESP2.
    pub fn verbatim(&mut self, text: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => {
                self.line(b'=', text.len() as i64 + 4);
                self.buf.extend_from_slice(b"txt:");
                self.buf.extend_from_slice(text);
                self.buf.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Raw bytes already in protocol form.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_per_protocol() {
        let mut r2 = ReplyBuf::new(Proto::Resp2);
        let mut r3 = ReplyBuf::new(Proto::Resp3);
        for r in [&mut r2, &mut r3] {
            r.map(1);
            r.bulk(b"a");
            r.null();
            r.boolean(true);
            r.double_str(b"1.5");
            r.error("ERR x\ny");
        }
        assert_eq!(
            r2.buf,
            b"*2\r\n$1\r\na\r\n$-1\r\n:1\r\n$3\r\n1.5\r\n-ERR x y\r\n"
        );
        assert_eq!(r3.buf, b"%1\r\n$1\r\na\r\n_\r\n#t\r\n,1.5\r\n-ERR x y\r\n");
    }
}
