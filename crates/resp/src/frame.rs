//! Client-side decoder: whole RESP2/RESP3 values, as a client sees them.
//!
//! Used by the CLI, the benchmark and tests. [`Frame::parse`] returns `Ok(None)` when the
//! buffer does not yet hold a whole value.

/// One decoded reply value.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Integer(i64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<Frame>),
    NullArray,
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Double(Vec<u8>),
    Boolean(bool),
    BigNumber(Vec<u8>),
    Verbatim(Vec<u8>),
    Attribute(Vec<(Frame, Frame)>),
}

/// Malformed reply bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError(pub String);

fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at..)?;
    let cr = memchr::memmem::find(rest, b"\r\n")?;
    Some((&rest[..cr], at + cr + 2))
}

fn num(s: &[u8]) -> Result<i64, FrameError> {
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| FrameError(format!("bad number {:?}", String::from_utf8_lossy(s))))
}

impl Frame {
    /// Decodes one value from `buf`. Return value: `Ok(Some((frame, bytes_used)))`, `Ok(None)`
    /// when incomplete, or an error for bytes that are not RESP.
    pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
        Self::parse_at(buf, 0)
    }

    fn parse_at(buf: &[u8], at: usize) -> Result<Option<(Frame, usize)>, FrameError> {
        let Some(&kind) = buf.get(at) else {
            return Ok(None);
        };
        let Some((body, next)) = line(buf, at + 1) else {
            return Ok(None);
        };
        let frame = match kind {
            b'+' => Frame::Simple(body.to_vec()),
            b'-' => Frame::Error(body.to_vec()),
            b':' => Frame::Integer(num(body)?),
            b',' => Frame::Double(body.to_vec()),
            b'(' => Frame::BigNumber(body.to_vec()),
            b'_' => Frame::Null,
            b'#' => Frame::Boolean(body == b"t"),
            b'$' | b'=' | b'!' => {
                let n = num(body)?;
                if n < 0 {
                    return Ok(Some((Frame::Null, next)));
                }
                let end = next + n as usize;
                if buf.len() < end + 2 {
                    return Ok(None);
                }
                let data = buf[next..end].to_vec();
                let f = match kind {
                    b'$' => Frame::Bulk(data),
                    b'=' => Frame::Verbatim(data),
                    _ => Frame::Error(data),
                };
                return Ok(Some((f, end + 2)));
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = num(body)?;
                if n < 0 {
                    return Ok(Some((Frame::NullArray, next)));
                }
                let items = if kind == b'%' || kind == b'|' {
                    2 * n
                } else {
                    n
                };
                let mut pos = next;
                let mut elems = Vec::with_capacity((items as usize).min(4096));
                for _ in 0..items {
                    match Self::parse_at(buf, pos)? {
                        Some((f, p)) => {
                            elems.push(f);
                            pos = p;
                        }
                        None => return Ok(None),
                    }
                }
                let pairs = |v: Vec<Frame>| {
                    let mut it = v.into_iter();
                    let mut out = Vec::new();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        out.push((k, v));
                    }
                    out
                };
                let f = match kind {
                    b'*' => Frame::Array(elems),
                    b'~' => Frame::Set(elems),
                    b'>' => Frame::Push(elems),
                    b'%' => Frame::Map(pairs(elems)),
                    _ => {
                        // An attribute precedes the real reply; return the reply.
                        return match Self::parse_at(buf, pos)? {
                            Some((f, p)) => Ok(Some((f, p))),
                            None => Ok(None),
                        };
                    }
                };
                return Ok(Some((f, pos)));
            }
            other => return Err(FrameError(format!("unknown reply type byte {other:#x}"))),
        };
        Ok(Some((frame, next)))
    }

    /// Writes the frame back in wire form (RESP3 types kept), e.g. to compare replies.
    pub fn encode(&self, out: &mut Vec<u8>) {
        fn agg(out: &mut Vec<u8>, c: u8, items: &[Frame]) {
            out.push(c);
            out.extend_from_slice(format!("{}\r\n", items.len()).as_bytes());
            items.iter().for_each(|f| f.encode(out));
        }
        fn simple(out: &mut Vec<u8>, c: u8, s: &[u8]) {
            out.push(c);
            out.extend_from_slice(s);
            out.extend_from_slice(b"\r\n");
        }
        match self {
            Frame::Simple(s) => simple(out, b'+', s),
            Frame::Error(s) => simple(out, b'-', s),
            Frame::Integer(n) => simple(out, b':', n.to_string().as_bytes()),
            Frame::Double(s) => simple(out, b',', s),
            Frame::BigNumber(s) => simple(out, b'(', s),
            Frame::Boolean(b) => simple(out, b'#', if *b { b"t" } else { b"f" }),
            Frame::Null => out.extend_from_slice(b"_\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Bulk(d) | Frame::Verbatim(d) => {
                out.push(if matches!(self, Frame::Bulk(_)) {
                    b'$'
                } else {
                    b'='
                });
                out.extend_from_slice(format!("{}\r\n", d.len()).as_bytes());
                out.extend_from_slice(d);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Array(v) => agg(out, b'*', v),
            Frame::Set(v) => agg(out, b'~', v),
            Frame::Push(v) => agg(out, b'>', v),
            Frame::Map(kv) | Frame::Attribute(kv) => {
                out.push(b'%');
                out.extend_from_slice(format!("{}\r\n", kv.len()).as_bytes());
                for (k, v) in kv {
                    k.encode(out);
                    v.encode(out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_nested_and_incomplete() {
        let buf = b"*2\r\n$1\r\na\r\n%1\r\n+k\r\n:5\r\n";
        let (f, n) = Frame::parse(buf).unwrap().unwrap();
        assert_eq!(n, buf.len());
        assert_eq!(
            f,
            Frame::Array(vec![
                Frame::Bulk(b"a".to_vec()),
                Frame::Map(vec![(Frame::Simple(b"k".to_vec()), Frame::Integer(5))])
            ])
        );
        assert_eq!(Frame::parse(&buf[..buf.len() - 1]).unwrap(), None);
    }
}
