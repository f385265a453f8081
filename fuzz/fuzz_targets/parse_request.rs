//! Feeds arbitrary bytes to the request parser, whole and split at every read boundary a
//! server could see, with tight limits. The parser must never panic, loop forever, or report a
//! different request sequence depending on how the bytes were split.
#![no_main]
use cinnabar_resp::parse::{Parsed, Parser};
use libfuzzer_sys::fuzz_target;

fn parse_all(chunks: &[&[u8]]) -> (Vec<Vec<Vec<u8>>>, bool) {
    let mut p = Parser::default();
    p.max_bulk_len = 1 << 20;
    let mut buf = Vec::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match p.next(&buf) {
                Ok(Parsed::Request(r)) => out.push(r),
                Ok(Parsed::Incomplete) => break,
                Err(_) => return (out, true),
            }
        }
        buf.drain(..p.pos);
        p.pos = 0;
    }
    (out, false)
}

fuzz_target!(|data: &[u8]| {
    let whole = parse_all(&[data]);
    if data.len() > 1 {
        let mid = data.len() / 2;
        let split = parse_all(&[&data[..mid], &data[mid..]]);
        assert_eq!(whole, split);
    }
});
