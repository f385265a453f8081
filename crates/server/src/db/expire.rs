//! Active expiry: removes expired keys that nobody reads, bounded in time per cron tick.
//!
//! Same idea as Redis's `activeExpireCycle`: for each database, look at about 20 keys of the
//! expires dict (walking it with a SCAN cursor, so every key is visited over time), delete the
//! expired ones, and repeat while more than 10% of the looked-at keys had expired — but stop
//! when the time budget of this tick is spent. A million keys expiring in the same second are
//! thus removed over several ticks, and clients are served between them.
//!
//! Why a tick cannot stall:
//! - the clock is checked after every batch of 20 keys, and a batch is bounded: at most 20
//!   keys, at most 400 buckets walked (an expires dict left sparse by mass deletion costs
//!   empty-bucket visits, not unbounded time);
//! - values of removed keys go through [`crate::lazyfree::drop_value`], so a huge collection
//!   that expires is freed on the lazyfree thread instead of inside the budget;
//! - databases are visited starting with the one served least recently (`Db::expire_epoch`),
//!   as Redis rotates its `current_db`, so one db full of expiring keys that eats every
//!   budget cannot starve the others.

use std::time::{Duration, Instant};

use super::{Db, Key};

/// Keys looked at per batch (Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
const KEYS_PER_LOOP: usize = 20;
/// Empty buckets a batch may walk, per key it wants (bounds work on sparse tables).
const BUCKETS_PER_KEY: usize = 20;
/// Keep going in a db while more than this percentage of a batch had expired.
const ACCEPTABLE_STALE_PERCENT: usize = 10;

/// Runs one active expiry cycle over `dbs` within `budget`. A key expires when
/// `now_ms > expire_at` (Redis's rule).
/// Return value: the keys removed, per db index (so the caller can emit events and stats).
pub fn active_cycle(dbs: &mut [Db], now_ms: i64, budget: Duration) -> Vec<(usize, Vec<Key>)> {
    let start = Instant::now();
    let mut removed = Vec::new();
    if dbs.is_empty() {
        return removed;
    }
    // Start with the db served least recently; ties go to the lowest index.
    let epoch = dbs.iter().map(|d| d.expire_epoch).max().unwrap_or(0) + 1;
    let first = (0..dbs.len())
        .min_by_key(|&i| dbs[i].expire_epoch)
        .unwrap_or(0);
    let n = dbs.len();
    for (k, i) in (0..n).map(|k| (k, (first + k) % n)) {
        // The first db is always served (one batch at least), so every call makes progress.
        if k > 0 && start.elapsed() >= budget {
            break;
        }
        let db = &mut dbs[i];
        db.expire_epoch = epoch;
        if db.expires.is_empty() {
            continue;
        }
        let gone = expire_db(db, now_ms, start, budget);
        if !gone.is_empty() {
            removed.push((db.id, gone));
        }
    }
    removed
}

/// Expires keys of one db until few sampled keys are stale, a full pass of its expires dict
/// ended, or the budget (counted from `start`) is spent. Return value: the keys removed.
fn expire_db(db: &mut Db, now_ms: i64, start: Instant, budget: Duration) -> Vec<Key> {
    let mut gone = Vec::new();
    loop {
        let mut sampled = 0usize;
        let mut expired = Vec::new();
        let mut ttl_sum = 0i64;
        let mut ttl_n = 0i64;
        let mut buckets = 0;
        // Walk buckets until enough keys were seen (empty buckets are cheap but bounded).
        while sampled < KEYS_PER_LOOP && buckets < KEYS_PER_LOOP * BUCKETS_PER_KEY {
            db.expire_cursor = db.expires.scan(db.expire_cursor, |k, &at| {
                sampled += 1;
                if now_ms > at {
                    expired.push(k.clone());
                } else {
                    ttl_sum += at - now_ms;
                    ttl_n += 1;
                }
            });
            buckets += 1;
            if db.expire_cursor == 0 {
                break;
            }
        }
        if ttl_n > 0 {
            let avg = ttl_sum / ttl_n;
            db.avg_ttl = if db.avg_ttl == 0 {
                avg
            } else {
                (db.avg_ttl / 50) * 49 + avg / 50
            };
        }
        let n_expired = expired.len();
        for k in expired {
            if let Some(obj) = db.remove(&k) {
                crate::lazyfree::drop_value(obj.val);
                db.expired_keys += 1;
                gone.push(k);
            }
        }
        if sampled == 0
            || n_expired * 100 / sampled <= ACCEPTABLE_STALE_PERCENT
            || db.expire_cursor == 0
            || start.elapsed() >= budget
        {
            return gone;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{StrValue, Value};

    fn fill(db: &mut Db, n: usize, at: i64) {
        for i in 0..n {
            let k = format!("key:{i}");
            db.add(k.as_bytes(), Value::Str(StrValue::from_bytes(b"v")), 0);
            db.set_expire(k.as_bytes(), at);
        }
    }

    #[test]
    fn mass_expiry_respects_the_budget() {
        let now = 1_700_000_000_000i64;
        let mut dbs: Vec<Db> = (0..16).map(Db::new).collect();
        fill(&mut dbs[0], 200_000, now + 1);
        // The clock moves past every TTL at once.
        let later = now + 10;
        let t = Instant::now();
        let removed = active_cycle(&mut dbs, later, Duration::from_millis(5));
        let took = t.elapsed();
        // 5 ms budget; typically 5-6 ms. The proof that the budget stops the cycle is that
        // keys are left (below); the wall-clock bound is only a sanity check, generous because
        // tests run in parallel and a thread can be preempted.
        assert!(took < Duration::from_secs(2), "one cycle took {took:?}");
        let first: usize = removed.iter().map(|(_, v)| v.len()).sum();
        assert!(first > 0, "a cycle must make progress");
        assert!(!dbs[0].is_empty(), "200k keys should not all go in 5 ms");
        let mut calls = 1;
        while !dbs[0].is_empty() {
            active_cycle(&mut dbs, later, Duration::from_millis(5));
            // The cron also shrinks the dicts between cycles.
            dbs[0].rehash_for(Duration::from_millis(1));
            calls += 1;
            assert!(calls < 20_000, "active expiry does not converge");
        }
        assert!(dbs[0].expires.is_empty());
        assert_eq!(dbs[0].expired_keys, 200_000);
    }

    #[test]
    fn live_keys_stay_and_other_dbs_are_not_starved() {
        let now = 1_700_000_000_000i64;
        let mut dbs: Vec<Db> = (0..3).map(Db::new).collect();
        fill(&mut dbs[0], 50_000, now);
        fill(&mut dbs[2], 10, now);
        dbs[1].add(b"live", Value::Str(StrValue::from_bytes(b"v")), 0);
        dbs[1].set_expire(b"live", now + 60_000);
        // A zero budget still lets each call serve one db, in rotation.
        for _ in 0..6 {
            active_cycle(&mut dbs, now + 1, Duration::ZERO);
        }
        assert!(dbs[2].is_empty(), "db 2 was starved by db 0");
        assert_eq!(dbs[1].len(), 1);
        // At the expiry millisecond itself the key is still alive (Redis: now > when).
        active_cycle(&mut dbs, now + 60_000, Duration::from_millis(5));
        assert_eq!(dbs[1].len(), 1);
        active_cycle(&mut dbs, now + 60_001, Duration::from_millis(5));
        assert!(dbs[1].is_empty());
    }
}
