//! The stream against a `BTreeMap<(ms, seq), fields>` model, with small node limits so that
//! every operation crosses node boundaries; after each step every node must pass
//! [`check_node`] and the live entries must read back as the model's, both ways.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

type Model = BTreeMap<(u64, u64), Vec<(Vec<u8>, Vec<u8>)>>;

#[derive(Debug, Clone)]
enum Op {
    /// Append with an ID this far (ms, seq) past the last one, and these fields.
    Add(u64, u64, Vec<(Vec<u8>, Vec<u8>)>),
    /// Delete the n-th model entry (modulo), or an ID that was never there.
    Del(usize, bool),
    MaxLen(u64, bool),
    /// MINID at the n-th model entry (modulo).
    MinId(usize, bool),
    Range(u64, u64, bool, u64),
}

fn field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"f".to_vec()),
        Just(b"g".to_vec()),
        Just(b"12".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..6),
        proptest::collection::vec(b'a'..b'c', 60..70),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u64..3, 0u64..3, proptest::collection::vec((field(), field()), 1..4))
            .prop_map(|(a, b, f)| Op::Add(a, b, f)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(i, m)| Op::Del(i, m)),
        1 => (0u64..30, any::<bool>()).prop_map(|(n, a)| Op::MaxLen(n, a)),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, a)| Op::MinId(i, a)),
        2 => (0u64..40, 0u64..40, any::<bool>(), 0u64..5)
            .prop_map(|(a, b, r, c)| Op::Range(a, b, r, c)),
    ]
}

fn read(s: &Stream, start: StreamId, end: StreamId, rev: bool, count: u64) -> Model {
    let mut out = Model::new();
    let mut n = 0;
    s.range(start, end, rev, |e| {
        let fv = e.pairs().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        out.insert((e.id.ms, e.id.seq), fv);
        n += 1;
        count == 0 || n < count
    });
    out
}

fn expect(m: &Model, start: StreamId, end: StreamId, rev: bool, count: u64) -> Model {
    if start > end {
        return Model::new();
    }
    let r = m.range((start.ms, start.seq)..=(end.ms, end.seq));
    let take = if count == 0 {
        usize::MAX
    } else {
        count as usize
    };
    if rev {
        r.rev().take(take).map(|(k, v)| (*k, v.clone())).collect()
    } else {
        r.take(take).map(|(k, v)| (*k, v.clone())).collect()
    }
}

fn check(s: &Stream, m: &Model) {
    assert_eq!(s.len(), m.len() as u64);
    let mut live = 0;
    for (mid, node) in s.nodes() {
        let (n, _) = check_node(mid, node).expect("node passes its check");
        live += n;
        assert_eq!(
            u32::from_le_bytes([node[0], node[1], node[2], node[3]]) as usize,
            node.len()
        );
    }
    assert_eq!(live, s.len());
    assert_eq!(&read(s, StreamId::MIN, StreamId::MAX, false, 0), m);
    assert_eq!(&read(s, StreamId::MIN, StreamId::MAX, true, 0), m);
    let first = m
        .keys()
        .next()
        .map_or(StreamId::MIN, |&(a, b)| StreamId::new(a, b));
    assert_eq!(s.first_id, first);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn stream_matches_btreemap(
        ops in proptest::collection::vec(op(), 1..120),
        max_bytes in 40usize..400,
        max_entries in 0usize..6,
    ) {
        let lim = Limits { node_max_bytes: max_bytes, node_max_entries: max_entries };
        let mut s = Stream::new();
        let mut m = Model::new();
        for op in ops {
            match op {
                Op::Add(dms, dseq, fields) => {
                    let last = s.last_id;
                    let id = StreamId::new(last.ms + dms, if dms == 0 { last.seq + 1 + dseq } else { dseq });
                    let flat: Vec<Vec<u8>> =
                        fields.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect();
                    s.append(id, &flat, lim).expect("id above the last");
                    // Later equal fields are kept as sent: XRANGE replies them as stored.
                    m.insert((id.ms, id.seq), fields);
                    prop_assert_eq!(s.append(id, &flat, lim), Err(AddError::IdTooSmall));
                }
                Op::Del(i, missing) => {
                    let id = if missing || m.is_empty() {
                        StreamId::new(s.last_id.ms + 1, 0)
                    } else {
                        let &(a, b) = m.keys().nth(i % m.len()).unwrap();
                        StreamId::new(a, b)
                    };
                    let want = m.remove(&(id.ms, id.seq)).is_some();
                    prop_assert_eq!(s.delete(&[id, id]), want as u64);
                }
                Op::MaxLen(n, approx) => {
                    let before = m.len() as u64;
                    let d = s.trim(Trim::MaxLen(n), approx, 0);
                    if approx {
                        prop_assert!(d <= before.saturating_sub(n));
                    } else {
                        prop_assert_eq!(d, before.saturating_sub(n));
                    }
                    for _ in 0..d {
                        m.pop_first();
                    }
                }
                Op::MinId(i, approx) => {
                    if m.is_empty() {
                        continue;
                    }
                    let &(a, b) = m.keys().nth(i % m.len()).unwrap();
                    let below = m.range(..(a, b)).count() as u64;
                    let d = s.trim(Trim::MinId(StreamId::new(a, b)), approx, 0);
                    if approx {
                        prop_assert!(d <= below);
                    } else {
                        prop_assert_eq!(d, below);
                    }
                    for _ in 0..d {
                        m.pop_first();
                    }
                }
                Op::Range(a, b, rev, count) => {
                    let (x, y) = (StreamId::new(a / 4, a % 4), StreamId::new(b / 4, b % 4));
                    prop_assert_eq!(read(&s, x, y, rev, count), expect(&m, x, y, rev, count));
                }
            }
            check(&s, &m);
        }
    }
}

#[test]
fn node_limits_split_as_redis() {
    let lim = Limits {
        node_max_bytes: 4096,
        node_max_entries: 100,
    };
    let mut s = Stream::new();
    for i in 1..=250u64 {
        s.append(StreamId::new(i, 0), &[b"f".to_vec(), b"v".to_vec()], lim)
            .unwrap();
    }
    assert_eq!(s.node_count(), 3);
    // Bytes: a new node once the listpack plus the new field/value bytes reach the limit.
    let lim = Limits {
        node_max_bytes: 100,
        node_max_entries: 0,
    };
    let mut s = Stream::new();
    for i in 1..=10u64 {
        s.append(StreamId::new(i, 0), &[b"f".to_vec(), vec![b'x'; 30]], lim)
            .unwrap();
    }
    for (_, node) in s.nodes() {
        assert!(node.len() < 100 + 40);
    }
    assert!(s.node_count() > 1);
}
