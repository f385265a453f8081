//! Statistics of scripts and blocking commands against redis-server: the `calls`,
//! `rejected_calls` and `failed_calls` of every INFO commandstats line (the usec fields and the
//! line order differ, so the differential runner cannot compare the section), and the Lua
//! heap staying flat over many EVALs.

use std::collections::BTreeSet;
use std::time::Duration;

use cinnabar_resp::Frame;

use super::harness::{show, start_cinnabar, start_redis, Conn};

fn send_line(c: &mut Conn, line: &str) {
    let argv = cinnabar_resp::parse::split_args(line.as_bytes()).expect("balanced quotes");
    c.send(&argv);
}

fn bulk_text(f: Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Verbatim(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("expected a bulk reply, got {}", show(&other)),
    }
}

/// The counters of INFO commandstats, without the timing fields: `cmdstat_x:calls=..,
/// rejected_calls=..,failed_calls=..`, as a set.
fn command_counters(c: &mut Conn) -> BTreeSet<String> {
    bulk_text(c.cmd("INFO commandstats"))
        .lines()
        .filter(|l| l.starts_with("cmdstat_") && !l.starts_with("cmdstat_info:"))
        .map(|l| {
            let (name, fields) = l.split_once(':').unwrap();
            let kept: Vec<&str> = fields
                .split(',')
                .filter(|f| !f.starts_with("usec"))
                .collect();
            format!("{name}:{}", kept.join(","))
        })
        .collect()
}

fn client_id(c: &mut Conn) -> i64 {
    match c.cmd("CLIENT ID") {
        Frame::Integer(i) => i,
        other => panic!("CLIENT ID: {}", show(&other)),
    }
}

/// Waits until `id` shows as blocked in CLIENT LIST (so CLIENT UNBLOCK cannot overtake it).
fn wait_blocked(c: &mut Conn, id: i64) {
    for _ in 0..500 {
        let list = bulk_text(c.cmd("CLIENT LIST"));
        if list
            .lines()
            .any(|l| l.contains(&format!("id={id} ")) && l.contains("flags=b"))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("client {id} never blocked");
}

/// Scripts failing in every way, then blocking commands ended by a timeout, by CLIENT
/// UNBLOCK (TIMEOUT and ERROR) and served with an error; returns both the commandstats
/// counters and INFO errorstats.
fn scenario(port: u16) -> (BTreeSet<String>, String) {
    let mut c = Conn::connect(port);
    let mut b = Conn::connect(port);
    c.cmd("FLUSHALL");
    c.cmd("FUNCTION FLUSH");
    c.cmd("CONFIG RESETSTAT");
    for line in [
        "SET str abc",
        "EVAL \"return redis.call('incr', 'str')\" 0",
        "EVAL \"return redis.pcall('incr', 'str')\" 0",
        "EVAL \"local r = redis.pcall('incr', 'str') return 1\" 0",
        "EVAL \"error('boom')\" 0",
        "EVAL \"error({err='BAD x'})\" 0",
        "EVAL \"return redis.error_reply('MY err')\" 0",
        "EVAL \"return {1, redis.error_reply('E1 x')}\" 0",
        "EVAL \"return {1, redis.pcall('nosuch')}\" 0",
        "EVAL \"return redis.call('nosuch')\" 0",
        "EVAL \"return redis.call('lpush')\" 0",
        "EVAL \"redis.pcall('lpush') return 1\" 0",
        "EVAL \"redis.pcall({}) return 1\" 0",
        "EVAL \"return redis.pcall({})\" 0",
        "EVAL \"return pcall(function() redis.call('nosuch') end)\" 0",
        "EVAL \"return redis.pcall('blpop', 'a', '0')\" 0",
        "EVAL \"return redis.call('config', 'get')\" 0",
        "EVAL \"#!lua flags=no-writes\\nreturn redis.pcall('set', 'a', 'b')\" 0",
        "EVAL_RO \"return redis.call('set', 'a', 'b')\" 0",
        "EVAL \"return redis.call('set', 'a')\" 0",
        "FUNCTION LOAD \"#!lua name=statlib\\nredis.register_function('fx', function() return redis.call('incr', 'str') end)\\nredis.register_function{function_name='fz', callback=function() return redis.call('set', 'x', 'y') end, flags={'no-writes'}}\"",
        "FCALL fx 0",
        "FCALL fz 0",
        "FCALL_RO fx 0",
        "FCALL nofn 0",
        "MULTI",
        "INCR str",
        "EVAL \"return {err='Q x'}\" 0",
        "EXEC",
    ] {
        c.cmd(line);
    }
    // Blocking commands.
    let id = client_id(&mut b);
    assert_eq!(b.cmd("BLPOP k 0.05"), Frame::NullArray);
    for (blocking, unblock) in [
        ("BLPOP k 0", "ERROR"),
        ("BZPOPMIN z 0", "TIMEOUT"),
        ("BLMOVE k k2 LEFT RIGHT 0", "error"),
    ] {
        send_line(&mut b, blocking);
        wait_blocked(&mut c, id);
        assert_eq!(
            c.cmd(&format!("CLIENT UNBLOCK {id} {unblock}")),
            Frame::Integer(1)
        );
        b.read().expect("reply to the unblocked client");
    }
    // Served later: one call each (the command blocked once), the WRONGTYPE one failed.
    c.cmd("SET dst str");
    send_line(&mut b, "BLMOVE src dst LEFT RIGHT 0");
    wait_blocked(&mut c, id);
    c.cmd("LPUSH src x");
    assert!(matches!(b.read(), Some(Frame::Error(_))));
    send_line(&mut b, "BLPOP l 0");
    wait_blocked(&mut c, id);
    c.cmd("LPUSH l x");
    b.read().expect("served BLPOP");
    let errorstats = bulk_text(c.cmd("INFO errorstats"));
    let mut counters = command_counters(&mut c);
    // CLIENT LIST polling (wait_blocked) runs as often as timing wants: leave it out.
    let polls = counters
        .iter()
        .find_map(|l| l.strip_prefix("cmdstat_client|list:calls="))
        .and_then(|v| v.split(',').next()?.parse::<u64>().ok())
        .unwrap_or(0);
    counters.retain(|l| !l.starts_with("cmdstat_client|list:"));
    let processed: u64 = bulk_text(c.cmd("INFO stats"))
        .lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    counters.insert(format!(
        "total_commands_processed (without CLIENT LIST):{}",
        processed - polls
    ));
    (counters, errorstats)
}

#[test]
fn script_and_blocking_stats_match_redis() {
    let ours = start_cinnabar(&[]);
    let theirs = start_redis(&[]);
    let (our_counters, our_errors) = scenario(ours.port);
    let (their_counters, their_errors) = scenario(theirs.port);
    assert!(their_counters
        .iter()
        .any(|l| l.starts_with("cmdstat_eval:")));
    assert!(their_errors.contains("errorstat_UNBLOCKED:count=2"));
    assert_eq!(our_errors, their_errors);
    let only_ours: Vec<_> = our_counters.difference(&their_counters).collect();
    let only_theirs: Vec<_> = their_counters.difference(&our_counters).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "commandstats differ:\n ours only:   {only_ours:?}\n redis only:  {only_theirs:?}"
    );
}

/// 10,000 EVALs keep the Lua heap flat (an incremental GC step every 50 scripts, as Redis),
/// and well under 100 kB.
#[test]
fn lua_memory_stays_flat_over_many_evals() {
    let s = start_cinnabar(&[]);
    let mut c = Conn::connect(s.port);
    let used = |c: &mut Conn| -> u64 {
        bulk_text(c.cmd("INFO memory"))
            .lines()
            .find_map(|l| l.strip_prefix("used_memory_lua:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("used_memory_lua")
    };
    let script = "return redis.call('incr',KEYS[1])";
    let mut peak = 0;
    for round in 0..10 {
        for batch in 0..10 {
            for i in 0..100 {
                let key = format!("k{}", (round * 1000 + batch * 100 + i) % 7);
                c.send(&[
                    b"EVAL".to_vec(),
                    script.as_bytes().to_vec(),
                    b"1".to_vec(),
                    key.into_bytes(),
                ]);
            }
            for _ in 0..100 {
                assert!(matches!(c.read(), Some(Frame::Integer(_))));
            }
        }
        peak = peak.max(used(&mut c));
    }
    assert!(peak < 100_000, "used_memory_lua reached {peak}");
}
