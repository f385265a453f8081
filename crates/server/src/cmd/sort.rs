//! SORT and SORT_RO, as Redis 7.0's `sort.c`.
//!
//! How it works: the options are parsed first (a syntax error or a bad LIMIT number wins over
//! a wrong type), then the source key (list, set or sorted set; missing = empty) is copied into
//! a vector of elements. Unless sorting is off (`BY` with a pattern that has no `*`), each
//! element gets its weight: the element itself or the value found through the `BY` pattern,
//! read as a double with `strtod`'s rules (whole string, no NaN, no overflow) or kept as bytes
//! with ALPHA. The vector is sorted with a stable sort (glibc's `qsort` is a merge sort, so
//! Redis's order for equal weights is the load order too), then LIMIT picks the output range
//! and each output element is replied or stored with its `GET` patterns applied.
//!
//! Redis's rules kept because they are observable:
//! - numeric ties are broken by comparing the elements' bytes, so the result is deterministic;
//! - without sorting, lists and sorted sets keep their own order (reversed by DESC, LIMIT
//!   applied to it); a set is forced to ALPHA order when the result is stored or the command
//!   runs in a script, so replicas and the AOF see the same list;
//! - a sorted set is converted to its skiplist encoding first (Redis's `zsetConvert`), so
//!   OBJECT ENCODING changes after a SORT;
//! - patterns are read as C strings (`strchr`/`strstr`): the `*` and `->` searches stop at a
//!   NUL byte; `#` returns the element; a pattern without `*` finds nothing (nil); `key->field`
//!   reads a hash field; a missing key, a wrong type or a missing field is nil (empty string
//!   when stored);
//! - STORE replaces the destination (any type, TTL dropped) with a list, or deletes it when
//!   the result is empty; `sortstore` / `del` events; dirty counts the stored elements.
//!
//! Known difference: with `BY` and a LIMIT that does not cover everything, Redis uses its own
//! partial quicksort (`pqsort`), which is not stable: elements with equal ALPHA `BY` weights
//! may come out in another order there. Sorted sets are read in rank order where Redis reads
//! its dict, which matters only for such ties too.

use std::cmp::Ordering;

use super::{int_arg, CmdError, CmdResult, Ctx, Handler};
use crate::types::{List, Value};
use crate::util::eq_ic;

/// One element to sort: its bytes and its weight.
struct Item {
    val: Vec<u8>,
    score: f64,
    /// ALPHA with BY: the value found through the pattern (None when nothing was found).
    cmp: Option<Vec<u8>>,
}

/// The parsed options of one SORT.
struct Opts<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    sortby: Option<&'a [u8]>,
    dontsort: bool,
    store: Option<&'a [u8]>,
    gets: Vec<&'a [u8]>,
}

/// The bytes of `b` up to its first NUL, as C string functions see them.
fn cstr(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// Parses SORT's options from argv[2], as Redis's loop does: the first bad option ends it.
fn parse<'a>(argv: &'a [Vec<u8>], readonly: bool) -> Result<Opts<'a>, CmdError> {
    let mut o = Opts {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        sortby: None,
        dontsort: false,
        store: None,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j][..];
        if eq_ic(a, "asc") {
            o.desc = false;
        } else if eq_ic(a, "desc") {
            o.desc = true;
        } else if eq_ic(a, "alpha") {
            o.alpha = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            o.limit_start = int_arg(&argv[j + 1])?;
            o.limit_count = int_arg(&argv[j + 2])?;
            j += 2;
        } else if !readonly && eq_ic(a, "store") && left >= 1 {
            o.store = Some(&argv[j + 1]);
            j += 1;
        } else if eq_ic(a, "by") && left >= 1 {
            let p = &argv[j + 1][..];
            o.sortby = Some(p);
            // No `*`: nothing to look up, so nothing to sort by (Redis's optimisation).
            o.dontsort = !cstr(p).contains(&b'*');
            j += 1;
        } else if eq_ic(a, "get") && left >= 1 {
            o.gets.push(&argv[j + 1]);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the first `*` is
/// replaced by the element and the key read (a string, or with `->field` a hash field).
/// Return value: the bytes found, None for nothing.
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    let c = cstr(pattern);
    if c == b"#" {
        return Some(subst.to_vec());
    }
    let star = c.iter().position(|&b| b == b'*')?;
    // `->` after the star, followed by at least one (non-NUL) byte, names a hash field.
    let field = c[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&f| f + 2 < c.len());
    let post_end = field.unwrap_or(pattern.len());
    let mut key = Vec::with_capacity(pattern.len() + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..post_end]);
    let obj = ctx.lookup_read(&key)?;
    match (&obj.val, field) {
        (Value::Str(s), None) => Some(s.to_vec()),
        (Value::Hash(h), Some(f)) => h.get(&pattern[f + 2..]).map(|v| v.to_vec()),
        _ => None,
    }
}

/// The weight of `b` for numeric sorting, with the checks Redis applies after `strtod`: the
/// whole C string must be read, no overflow/underflow (ERANGE), no NaN. An empty string is 0.
fn sort_score(b: &[u8]) -> Option<f64> {
    let c = std::ffi::CString::new(cstr(b)).ok()?;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; strtod sets `end`
    // to point inside it. errno is thread-local.
    let (v, consumed, erange) = unsafe {
        *libc::__errno_location() = 0;
        let v = libc::strtod(c.as_ptr(), &mut end);
        (
            v,
            end.offset_from(c.as_ptr()) as usize,
            *libc::__errno_location() == libc::ERANGE,
        )
    };
    if consumed != c.as_bytes().len() || erange || v.is_nan() {
        return None;
    }
    Some(v)
}

/// Byte comparison, either binary (`compareStringObjects`, used when storing) or as C
/// strings (`strcoll` in the C.UTF-8 locale: byte order up to the first NUL).
fn compare_bytes(a: &[u8], b: &[u8], binary: bool) -> Ordering {
    if binary {
        a.cmp(b)
    } else {
        cstr(a).cmp(cstr(b))
    }
}

/// SORT and SORT_RO.
fn sort_generic(ctx: &mut Ctx, readonly: bool) -> CmdResult {
    let mut o = parse(ctx.argv, readonly)?;
    let key = ctx.arg(1);
    let in_script = crate::scripting::running();
    let obj = if o.store.is_some() {
        ctx.lookup_write(key)
    } else {
        ctx.lookup_read(key)
    };
    let mut is_set = false;
    // Elements are copied out: the pattern lookups below need the keyspace again.
    let mut items: Vec<Item> = Vec::new();
    let mut direct = false;
    let mut len = 0i64;
    let mk = |val: Vec<u8>| Item {
        val,
        score: 0.0,
        cmp: None,
    };
    match obj.map(|o| &mut o.val) {
        None => {}
        Some(Value::List(l)) => len = l.len() as i64,
        Some(Value::Set(s)) => {
            is_set = true;
            len = s.len() as i64;
        }
        Some(Value::ZSet(z)) => {
            z.convert_to_skiplist();
            len = z.len() as i64;
        }
        Some(_) => return Err(CmdError::WrongType),
    }
    if o.dontsort && is_set && (o.store.is_some() || in_script) {
        o.dontsort = false;
        o.alpha = true;
        o.sortby = None;
    }
    // LIMIT sanity checks, as Redis's (in i128: start + count cannot overflow).
    let mut start = o.limit_start.max(0) as i128;
    let mut end = if o.limit_count < 0 {
        len as i128 - 1
    } else {
        start + o.limit_count as i128 - 1
    };
    if start >= len as i128 {
        start = len as i128 - 1;
        end = len as i128 - 2;
    }
    if end >= len as i128 {
        end = len as i128 - 1;
    }
    let db = ctx.client.db;
    if let Some(obj) = ctx.srv.dbs[db].dict.get(key).filter(|_| len > 0) {
        match &obj.val {
            Value::List(l) if o.dontsort => {
                // Only the LIMIT range, in list order (reversed by DESC).
                if end >= start {
                    let n = (end - start + 1) as usize;
                    let first = if o.desc {
                        (len as i128 - 1 - end) as usize
                    } else {
                        start as usize
                    };
                    l.for_range(first, n, |e| items.push(mk(e.to_vec())));
                    if o.desc {
                        items.reverse();
                    }
                }
                direct = true;
            }
            Value::List(l) => l.for_range(0, l.len(), |e| items.push(mk(e.to_vec()))),
            Value::Set(s) => {
                for m in s.iter() {
                    items.push(mk(m.to_vec()));
                }
            }
            Value::ZSet(z) if o.dontsort => {
                if end >= start {
                    let mut n = (end - start + 1) as usize;
                    let first = if o.desc {
                        (len as i128 - 1 - start) as usize
                    } else {
                        start as usize
                    };
                    z.visit(first, o.desc, |m, _| {
                        items.push(mk(m.to_vec()));
                        n -= 1;
                        n > 0
                    });
                }
                direct = true;
            }
            Value::ZSet(z) => z.visit(0, false, |m, _| {
                items.push(mk(m.to_vec()));
                true
            }),
            _ => {}
        }
    }
    if direct {
        // The vector holds exactly the output range.
        end = items.len() as i128 - 1;
        start = 0;
    }
    let mut conversion_error = false;
    if !o.dontsort {
        for it in items.iter_mut() {
            let by = match o.sortby {
                Some(p) => match lookup_by_pattern(ctx, p, &it.val) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.val.clone(),
            };
            if o.alpha {
                if o.sortby.is_some() {
                    it.cmp = Some(by);
                }
            } else {
                match sort_score(&by) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        let binary = o.store.is_some();
        let by_pattern = o.sortby.is_some();
        let (alpha, desc) = (o.alpha, o.desc);
        items.sort_by(|a, b| {
            let c = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.val.cmp(&b.val))
            } else if by_pattern {
                match (&a.cmp, &b.cmp) {
                    (Some(x), Some(y)) => compare_bytes(x, y, binary),
                    (x, y) => x.is_some().cmp(&y.is_some()),
                }
            } else {
                compare_bytes(&a.val, &b.val, binary)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }
    if conversion_error {
        return Err(CmdError::err(
            "One or more scores can't be converted into double",
        ));
    }
    let range: &[Item] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let per = if o.gets.is_empty() { 1 } else { o.gets.len() };
    let outputlen = range.len() * per;
    let gets = std::mem::take(&mut o.gets);
    match o.store {
        None => {
            ctx.out().array(outputlen);
            for it in range {
                if gets.is_empty() {
                    ctx.out().bulk(&it.val);
                }
                for g in &gets {
                    match lookup_by_pattern(ctx, g, &it.val) {
                        Some(v) => ctx.out().bulk(&v),
                        None => ctx.out().null(),
                    }
                }
            }
        }
        Some(dst) => {
            let mut list = List::new(ctx.srv.config.enc.list_fill);
            for it in range {
                if gets.is_empty() {
                    list.push_back(&it.val);
                }
                for g in &gets {
                    let v = lookup_by_pattern(ctx, g, &it.val).unwrap_or_default();
                    list.push_back(&v);
                }
            }
            let deleted = ctx.db().delete(dst, true);
            if outputlen > 0 {
                let lru = ctx.new_lru();
                ctx.db().add(dst, Value::List(Box::new(list)), lru);
                ctx.notify(b'l', "sortstore", dst);
                ctx.dirty(outputlen as u64);
            } else if deleted {
                ctx.notify(b'g', "del", dst);
                ctx.dirty(1);
            }
            ctx.out().int(outputlen as i64);
        }
    }
    Ok(())
}

fn sort(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, false)
}

fn sort_ro(ctx: &mut Ctx) -> CmdResult {
    sort_generic(ctx, true)
}

pub const COMMANDS: &[(&str, Handler)] = &[("sort", sort), ("sort_ro", sort_ro)];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    #[test]
    fn numeric_alpha_limit_store() {
        let mut t = TestServer::new();
        t.exec("RPUSH l 3 1 2 10");
        assert_eq!(
            t.exec("SORT l"),
            "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n"
        );
        assert_eq!(
            t.exec("SORT l ALPHA DESC LIMIT 0 2"),
            "*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
        );
        assert_eq!(t.exec("SORT l STORE d"), ":4\r\n");
        assert_eq!(t.exec("LLEN d"), ":4\r\n");
        assert_eq!(t.exec("SORT l LIMIT 9 1 STORE d"), ":0\r\n");
        assert_eq!(t.exec("EXISTS d"), ":0\r\n");
        assert_eq!(t.exec("SORT_RO l STORE d"), "-ERR syntax error\r\n");
        t.exec("RPUSH bad x");
        assert_eq!(
            t.exec("SORT bad"),
            "-ERR One or more scores can't be converted into double\r\n"
        );
    }
}
