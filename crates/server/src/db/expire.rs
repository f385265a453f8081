//! Active expiry: removes expired keys that nobody reads, bounded in time per cron tick.
//!
//! Same idea as Redis's `activeExpireCycle`: for each database, look at up to 20 keys of the
//! expires dict (walking it with a SCAN cursor, so every key is visited over time), delete the
//! expired ones, and repeat while more than 10% of the looked-at keys had expired — but stop
//! when the time budget of this tick is spent. A million keys expiring in the same second are
//! thus removed over several ticks, and clients are served between them.

use std::time::{Duration, Instant};

use super::{Db, Key};

const KEYS_PER_LOOP: usize = 20;
const ACCEPTABLE_STALE_PERCENT: usize = 10;

/// Runs one active expiry cycle over `dbs` within `budget`.
/// Return value: the keys removed, per db index (so the caller can emit events and stats).
pub fn active_cycle(dbs: &mut [Db], now_ms: i64, budget: Duration) -> Vec<(usize, Vec<Key>)> {
    let start = Instant::now();
    let mut removed = Vec::new();
    for db in dbs.iter_mut() {
        if db.expires.is_empty() {
            continue;
        }
        let mut gone = Vec::new();
        loop {
            let mut sampled = 0usize;
            let mut expired = Vec::new();
            let mut ttl_sum = 0i64;
            let mut ttl_n = 0i64;
            let mut buckets = 0;
            // Walk buckets until enough keys were seen (empty buckets are cheap but bounded).
            while sampled < KEYS_PER_LOOP && buckets < KEYS_PER_LOOP * 20 {
                db.expire_cursor = db.expires.scan(db.expire_cursor, |k, &at| {
                    sampled += 1;
                    if at <= now_ms {
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
                db.remove(&k);
                db.expired_keys += 1;
                gone.push(k);
            }
            if sampled == 0
                || n_expired * 100 / sampled <= ACCEPTABLE_STALE_PERCENT
                || start.elapsed() >= budget
                || db.expire_cursor == 0
            {
                break;
            }
        }
        if !gone.is_empty() {
            removed.push((db.id, gone));
        }
        if start.elapsed() >= budget {
            break;
        }
    }
    removed
}
