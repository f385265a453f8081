//! Random sampling is uniform: a chi-square test over 10 elements (df 9) for every sampling
//! path of HRANDFIELD, SRANDMEMBER, SPOP, ZRANDMEMBER and RANDOMKEY, in both encodings of
//! each type (listpack / hashtable, intset / hashtable, listpack / skiplist) and with no count,
//! negative counts (repetitions) and positive counts (distinct members, both strategies).
//!
//! The expected chi-square at df 9 is 9 (99.99th percentile 33.7); Redis 7.0.15 stays under
//! 40. The threshold is 50 and each case gets three tries, so a fair sampler fails with
//! probability ~1e-20 while the plain "random bucket, then random chain entry" draw (a
//! chi-square near 100 on a 10-entry hash table) fails every try.
//!
//! For positive counts the members of one reply are distinct, so counts are less spread than
//! a multinomial's and the statistic is smaller still: the same threshold is conservative.

use std::collections::HashMap;

use cinnabar_resp::Frame;

use super::harness::{show, start_cinnabar, Conn};

/// Members of every tested collection (and the keys for RANDOMKEY).
const N: usize = 10;
/// Samples per try: 1,000 expected per member.
const SAMPLES: usize = 10_000;
const THRESHOLD: f64 = 50.0;
const TRIES: usize = 3;

/// Sends `cmds` pipelined (in batches, so neither side's socket buffer fills up) and returns
/// the replies in order.
fn pipeline(c: &mut Conn, cmds: &[String]) -> Vec<Frame> {
    let mut replies = Vec::with_capacity(cmds.len());
    for batch in cmds.chunks(500) {
        for line in batch {
            let argv = cinnabar_resp::parse::split_args(line.as_bytes()).expect("balanced");
            c.send(&argv);
        }
        for line in batch {
            replies.push(c.read().unwrap_or_else(|| panic!("no reply to {line:?}")));
        }
    }
    replies
}

/// Every bulk string in a reply (nested arrays included).
fn members(f: &Frame, out: &mut Vec<Vec<u8>>) {
    match f {
        Frame::Bulk(b) => out.push(b.clone()),
        Frame::Array(items) | Frame::Set(items) => items.iter().for_each(|i| members(i, out)),
        Frame::Integer(_) | Frame::Simple(_) => {}
        other => panic!("unexpected reply {}", show(other)),
    }
}

/// Pearson's chi-square of the observed members against a uniform distribution over
/// `expected_members`; panics if a member outside them shows up.
fn chi_square(seen: &[Vec<u8>], expected_members: &[String]) -> f64 {
    let mut counts: HashMap<&[u8], usize> =
        expected_members.iter().map(|m| (m.as_bytes(), 0)).collect();
    for m in seen {
        *counts
            .get_mut(m.as_slice())
            .unwrap_or_else(|| panic!("unexpected member {:?}", String::from_utf8_lossy(m))) += 1;
    }
    let e = seen.len() as f64 / expected_members.len() as f64;
    counts.values().map(|&c| (c as f64 - e).powi(2) / e).sum()
}

/// Runs `draw` (which returns the sampled members of one try) up to [`TRIES`] times and
/// passes as soon as one try is under the threshold.
fn assert_uniform(what: &str, names: &[String], mut draw: impl FnMut() -> Vec<Vec<u8>>) {
    let mut results = Vec::new();
    for _ in 0..TRIES {
        let seen = draw();
        assert!(seen.len() >= SAMPLES, "{what}: only {} samples", seen.len());
        let chi = chi_square(&seen, names);
        if chi < THRESHOLD {
            return;
        }
        results.push(chi);
    }
    panic!(
        "{what}: chi-square {results:?} (threshold {THRESHOLD}, df {})",
        names.len() - 1
    );
}

/// `cmd` repeated until it has produced at least [`SAMPLES`] members; `per_call` is how many
/// members one reply holds.
fn repeated(c: &mut Conn, cmd: &str, per_call: usize) -> Vec<Vec<u8>> {
    let calls = SAMPLES.div_ceil(per_call);
    let cmds = vec![cmd.to_string(); calls];
    let mut seen = Vec::new();
    for r in pipeline(c, &cmds) {
        members(&r, &mut seen);
    }
    seen
}

fn names(prefix: &str) -> Vec<String> {
    (0..N).map(|i| format!("{prefix}{i}")).collect()
}

fn encoding(c: &mut Conn, key: &str) -> String {
    match c.cmd(&format!("OBJECT ENCODING {key}")) {
        Frame::Bulk(b) => String::from_utf8(b).unwrap(),
        other => panic!("OBJECT ENCODING {key}: {}", show(&other)),
    }
}

/// The read-only sampling forms of one command on one key: no count, a large negative count,
/// a small positive count (draws until distinct) and a larger one (copy and remove).
fn read_paths(c: &mut Conn, cmd: &str, key: &str, names: &[String], enc: &str) {
    for (args, per_call) in [("", 1), (" -1000", 1000), (" 3", 3), (" 5", 5), (" -1", 1)] {
        let line = format!("{cmd} {key}{args}");
        assert_uniform(&format!("{line} ({enc})"), names, || {
            repeated(c, &line, per_call)
        });
    }
}

#[test]
fn hrandfield_is_uniform() {
    let s = start_cinnabar(&[]);
    let mut c = Conn::connect(s.port);
    let fields = names("f");
    let pairs: String = fields.iter().map(|f| format!(" {f} v")).collect();
    c.cmd(&format!("HSET small{pairs}"));
    assert_eq!(encoding(&mut c, "small"), "listpack");
    read_paths(&mut c, "HRANDFIELD", "small", &fields, "listpack");
    c.cmd("CONFIG SET hash-max-listpack-entries 0");
    c.cmd(&format!("HSET big{pairs}"));
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    read_paths(&mut c, "HRANDFIELD", "big", &fields, "hashtable");
    // WITHVALUES draws the same way (every value is "v": dropped before counting).
    for key in ["small", "big"] {
        let line = format!("HRANDFIELD {key} -1000 WITHVALUES");
        assert_uniform(&line, &fields, || {
            let mut seen = repeated(&mut c, &line, 1000);
            seen.retain(|m| m != b"v");
            seen
        });
    }
}

#[test]
fn srandmember_is_uniform() {
    let s = start_cinnabar(&[]);
    let mut c = Conn::connect(s.port);
    let ints: Vec<String> = (0..N).map(|i| (i * 7).to_string()).collect();
    c.cmd(&format!("SADD ints {}", ints.join(" ")));
    assert_eq!(encoding(&mut c, "ints"), "intset");
    read_paths(&mut c, "SRANDMEMBER", "ints", &ints, "intset");
    let strs = names("m");
    c.cmd(&format!("SADD strs {}", strs.join(" ")));
    assert_eq!(encoding(&mut c, "strs"), "hashtable");
    read_paths(&mut c, "SRANDMEMBER", "strs", &strs, "hashtable");
}

#[test]
fn spop_is_uniform() {
    let s = start_cinnabar(&[]);
    let mut c = Conn::connect(s.port);
    let ints: Vec<String> = (0..N).map(|i| (i * 7).to_string()).collect();
    let strs = names("m");
    // SPOP with no count, popping a few (one by one) and popping nearly all (the members kept
    // are moved to a new set): each try rebuilds the set before every pop.
    for (set, enc) in [(&ints, "intset"), (&strs, "hashtable")] {
        c.cmd("DEL s");
        c.cmd(&format!("SADD s {}", set.join(" ")));
        assert_eq!(encoding(&mut c, "s"), enc);
        for (args, per_call) in [("", 1usize), (" 3", 3), (" 9", 9)] {
            let what = format!("SPOP s{args} ({enc})");
            assert_uniform(&what, set, || {
                let calls = SAMPLES.div_ceil(per_call);
                let mut cmds = Vec::with_capacity(calls * 3);
                for _ in 0..calls {
                    cmds.push("DEL s".to_string());
                    cmds.push(format!("SADD s {}", set.join(" ")));
                    cmds.push(format!("SPOP s{args}"));
                }
                let mut seen = Vec::new();
                for r in pipeline(&mut c, &cmds).iter().skip(2).step_by(3) {
                    members(r, &mut seen);
                }
                seen
            });
        }
    }
}

#[test]
fn zrandmember_is_uniform() {
    let s = start_cinnabar(&[]);
    let mut c = Conn::connect(s.port);
    let ms = names("z");
    let pairs: String = ms
        .iter()
        .enumerate()
        .map(|(i, m)| format!(" {i} {m}"))
        .collect();
    c.cmd(&format!("ZADD small{pairs}"));
    assert_eq!(encoding(&mut c, "small"), "listpack");
    read_paths(&mut c, "ZRANDMEMBER", "small", &ms, "listpack");
    c.cmd("CONFIG SET zset-max-listpack-entries 0");
    c.cmd(&format!("ZADD big{pairs}"));
    assert_eq!(encoding(&mut c, "big"), "skiplist");
    read_paths(&mut c, "ZRANDMEMBER", "big", &ms, "skiplist");
}

#[test]
fn randomkey_is_uniform() {
    let s = start_cinnabar(&[]);
    let mut c = Conn::connect(s.port);
    let keys = names("key:");
    for k in &keys {
        c.cmd(&format!("SET {k} 1"));
    }
    assert_uniform("RANDOMKEY", &keys, || repeated(&mut c, "RANDOMKEY", 1));
    // The same after the table grew and was emptied back down to 10 keys (sparse until the
    // cron shrinks it, then rehashing): still uniform.
    let cmds: Vec<String> = (0..2000).map(|i| format!("SET tmp:{i} 1")).collect();
    pipeline(&mut c, &cmds);
    let cmds: Vec<String> = (0..2000).map(|i| format!("DEL tmp:{i}")).collect();
    pipeline(&mut c, &cmds);
    assert_uniform("RANDOMKEY (after deletes)", &keys, || {
        repeated(&mut c, "RANDOMKEY", 1)
    });
}

/// Server-side time of one command (INFO commandstats `usec` after a CONFIG RESETSTAT).
fn server_usec(c: &mut Conn, line: &str, name: &str) -> u64 {
    c.cmd("CONFIG RESETSTAT");
    match c.cmd(line) {
        Frame::Array(items) => assert!(!items.is_empty()),
        other => panic!("{line}: {}", show(&other)),
    }
    let info = match c.cmd("INFO commandstats") {
        Frame::Bulk(b) => String::from_utf8(b).unwrap(),
        other => panic!("INFO: {}", show(&other)),
    };
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=1,usec=")))
        .and_then(|v| v.split(',').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no usec for {name} in {info}"))
}

/// Draws cost the same whatever the collection's size: 50,000 draws from a 1,000-entry
/// listpack (which a walk per draw would make ~100 times dearer) take about as long as from
/// a 10-entry one; the same for hash tables.
#[test]
fn draws_do_not_scale_with_size() {
    let s = start_cinnabar(&[]);
    let mut c = Conn::connect(s.port);
    c.cmd("CONFIG SET zset-max-listpack-entries 2000");
    c.cmd("CONFIG SET hash-max-listpack-entries 0");
    for (key, n) in [("small", 10), ("big", 1000)] {
        let pairs: String = (0..n).map(|i| format!(" {i} m{i}")).collect();
        c.cmd(&format!("ZADD z{key}{pairs}"));
        c.cmd(&format!("HSET h{key}{pairs}"));
        c.cmd(&format!("SADD s{key}{pairs}"));
    }
    assert_eq!(encoding(&mut c, "zbig"), "listpack");
    for (cmd, name, key) in [
        ("ZRANDMEMBER", "zrandmember", "z"),
        ("HRANDFIELD", "hrandfield", "h"),
        ("SRANDMEMBER", "srandmember", "s"),
    ] {
        // Best of three against scheduling noise.
        let best = |c: &mut Conn, k: &str| {
            (0..3)
                .map(|_| server_usec(c, &format!("{cmd} {key}{k} -50000"), name))
                .min()
                .unwrap()
        };
        let small = best(&mut c, "small");
        let big = best(&mut c, "big");
        assert!(
            big < small * 5 + 20_000,
            "{cmd}: {big} us on 1000 entries vs {small} us on 10"
        );
    }
}
