//! The AOF manifest (`<appendfilename>.manifest`): one line per file of the set,
//! `file <name> seq <n> type <b|h|i>`, read and written as Redis 7.0 does.
//!
//! Reading follows Redis's `aofLoadManifestFromFile` rule for rule, so a manifest Redis refuses
//! is refused here with the same message: lines are read like `fgets` with a 1024-byte buffer
//! (a longer line, or a last line without `\n`, is "too long"); lines starting with `#` are
//! comments; every other line is trimmed and must hold an even number (at least 6) of words,
//! split like `sdssplitargs` (double quotes with `\n`/`\xHH` escapes, single quotes); unknown
//! keys are ignored; `seq` is read like `atoll` and must not be 0; the type is the first
//! character of its word; one base at most; incr sequence numbers must increase.
//!
//! Writing quotes a name that needs it the way `sdscatrepr` does, so Redis reads it back.

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub seq: u64,
    /// 'b' base, 'h' history, 'i' incremental.
    pub kind: char,
}

/// Why a manifest was refused: Redis's message and, when a line was being read, its number
/// and (trimmed) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub line: Option<(usize, String)>,
    pub msg: &'static str,
}

impl ManifestError {
    /// The lines Redis logs (as separate warnings) before exiting.
    pub fn log_lines(&self) -> Vec<String> {
        let mut v = vec!["\n*** FATAL AOF MANIFEST FILE ERROR ***\n".to_string()];
        if let Some((n, text)) = &self.line {
            v.push(format!("Reading the manifest file, at line {n}\n"));
            v.push(format!(">>> '{text}'\n"));
        }
        v.push(format!("{}\n", self.msg));
        v
    }
}

const INVALID: &str = "Invalid AOF manifest file format";

/// `fgets(buf, 1025, fp)`: the next chunk of at most 1024 bytes, ending after a `\n` if one
/// comes first. None at the end of the data.
fn next_chunk(data: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    if pos >= data.len() {
        return None;
    }
    let rest = &data[pos..];
    let max = rest.len().min(1024);
    let end = rest[..max]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(max, |i| i + 1);
    Some((&rest[..end], pos + end))
}

/// `atoll`: optional whitespace and sign, then digits; anything else ends the number.
fn atoll(s: &[u8]) -> i64 {
    crate::util::strtol(s).0
}

/// Parses a manifest. Return value: its entries in file order, or Redis's reason to refuse it.
pub fn parse_manifest(data: &[u8]) -> Result<Vec<Entry>, ManifestError> {
    let mut out = Vec::new();
    let mut have_base = false;
    let mut max_incr: i64 = 0;
    let mut pos = 0;
    let mut linenum = 0usize;
    let err = |line: Option<(usize, String)>, msg| ManifestError { line, msg };
    loop {
        let Some((chunk, next)) = next_chunk(data, pos) else {
            if linenum == 0 {
                return Err(err(None, "Found an empty AOF manifest"));
            }
            break;
        };
        pos = next;
        linenum += 1;
        // C string functions stop at a NUL byte.
        let chunk = chunk.split(|&b| b == 0).next().unwrap_or(&[]);
        if chunk.first() == Some(&b'#') {
            continue;
        }
        if !chunk.contains(&b'\n') {
            return Err(err(None, "The AOF manifest file contains too long line"));
        }
        let trimmed = trim(chunk);
        let at = Some((linenum, String::from_utf8_lossy(trimmed).into_owned()));
        if trimmed.is_empty() {
            return Err(err(at, INVALID));
        }
        let words = match split_args(trimmed) {
            Some(w) if w.len() >= 6 && w.len() % 2 == 0 => w,
            _ => return Err(err(at, INVALID)),
        };
        let (mut name, mut seq, mut kind) = (None, 0i64, None);
        for kv in words.chunks(2) {
            match kv[0].as_slice() {
                b"file" => {
                    if kv[1].contains(&b'/') || kv[1].contains(&b'\\') {
                        return Err(err(at, "File can't be a path, just a filename"));
                    }
                    name = Some(String::from_utf8_lossy(&kv[1]).into_owned());
                }
                b"seq" => seq = atoll(&kv[1]),
                b"type" => kind = kv[1].first().map(|&c| c as char),
                _ => {}
            }
        }
        let (Some(name), Some(kind)) = (name, kind) else {
            return Err(err(at, INVALID));
        };
        if seq == 0 {
            return Err(err(at, INVALID));
        }
        match kind {
            'b' => {
                if have_base {
                    return Err(err(at, "Found duplicate base file information"));
                }
                have_base = true;
            }
            'h' => {}
            'i' => {
                if seq <= max_incr {
                    return Err(err(at, "Found a non-monotonic sequence number"));
                }
                max_incr = seq;
            }
            _ => return Err(err(at, "Unknown AOF file type")),
        }
        // Redis keeps the number as a long long; a negative one is kept as is and never
        // reused (new files count up from the highest).
        out.push(Entry {
            name,
            seq: seq.max(0) as u64,
            kind,
        });
    }
    Ok(out)
}

/// `sdstrim(s, " \t\r\n")`.
fn trim(s: &[u8]) -> &[u8] {
    let strip = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = s.iter().position(|c| !strip(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !strip(c)).map_or(start, |i| i + 1);
    &s[start..end]
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into words as `sdssplitargs` does. None: unbalanced quotes, or a closing
/// quote not followed by a space.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut w = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = line.get(i).copied();
            if inq {
                match c {
                    None => return None,
                    Some(b'\\')
                        if line.get(i + 1) == Some(&b'x')
                            && line.get(i + 2).copied().and_then(hex).is_some()
                            && line.get(i + 3).copied().and_then(hex).is_some() =>
                    {
                        let hi = hex(line[i + 2]).unwrap_or(0);
                        let lo = hex(line[i + 3]).unwrap_or(0);
                        w.push(hi * 16 + lo);
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < n => {
                        i += 1;
                        w.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            o => o,
                        });
                    }
                    Some(b'"') => {
                        if line.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(o) => w.push(o),
                }
            } else if insq {
                match c {
                    None => return None,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        w.push(b'\'');
                    }
                    Some(b'\'') => {
                        if line.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return None;
                        }
                        i += 1;
                        break;
                    }
                    Some(o) => w.push(o),
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t' | 0) => break,
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(o) => w.push(o),
                }
            }
            i += 1;
        }
        out.push(w);
    }
}

/// `sdscatrepr` for names that need quoting (spaces, quotes, control or non-ASCII bytes).
fn repr(name: &str) -> String {
    let needs = name
        .bytes()
        .any(|c| matches!(c, b'\\' | b'"') || !c.is_ascii_graphic());
    if !needs {
        return name.to_string();
    }
    crate::config::quote_repr(name)
}

/// The manifest text for `entries`, as Redis writes it.
pub fn manifest_text(entries: &[Entry]) -> String {
    let mut s = String::new();
    for e in entries {
        s.push_str(&format!(
            "file {} seq {} type {}\n",
            repr(&e.name),
            e.seq,
            e.kind
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(t: &str) -> &'static str {
        parse_manifest(t.as_bytes()).unwrap_err().msg
    }

    #[test]
    fn round_trip() {
        let t = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let e = parse_manifest(t.as_bytes()).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].kind, 'b');
        assert_eq!(manifest_text(&e), t);
        let odd = vec![Entry {
            name: "a b\"c\u{1}\té".into(),
            seq: 3,
            kind: 'i',
        }];
        assert_eq!(parse_manifest(manifest_text(&odd).as_bytes()).unwrap(), odd);
    }

    #[test]
    fn redis_refusals() {
        let b = "file a seq 1 type b\n";
        assert_eq!(msg(""), "Found an empty AOF manifest");
        assert_eq!(
            msg("file x seq 1 type b"),
            "The AOF manifest file contains too long line"
        );
        assert_eq!(
            msg(&format!("file {} seq 1 type b\n", "a".repeat(1020))),
            "The AOF manifest file contains too long line"
        );
        assert_eq!(msg(&format!("{b}\nfile c seq 1 type i\n")), INVALID);
        let e = parse_manifest(format!("{b}\n").as_bytes()).unwrap_err();
        assert_eq!(e.line, Some((2, String::new())));
        assert_eq!(msg("file x seq\n"), INVALID);
        assert_eq!(msg("file x seq 1 type\n"), INVALID);
        assert_eq!(msg("file x seq abc type b\n"), INVALID);
        assert_eq!(msg("file x seq 0 type b\n"), INVALID);
        assert_eq!(msg("file \"x seq 1 type b\n"), INVALID);
        assert_eq!(
            msg("file ../x seq 1 type i\n"),
            "File can't be a path, just a filename"
        );
        assert_eq!(msg("file x seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(
            msg("file x seq 1 type b\nfile y seq 2 type b\n"),
            "Found duplicate base file information"
        );
        assert_eq!(
            msg("file x seq 2 type i\nfile y seq 2 type i\n"),
            "Found a non-monotonic sequence number"
        );
        // Accepted as Redis accepts them.
        for ok in [
            "# c\nfile a seq 1 type b\n",
            "  file a seq 1 type b  \r\n",
            "file a seq 1 type base foo bar\n",
            "file a seq -1 type b\n",
            "# only a comment\n",
        ] {
            assert!(parse_manifest(ok.as_bytes()).is_ok(), "{ok:?}");
        }
    }
}
