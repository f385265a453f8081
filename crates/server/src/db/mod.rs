//! The keyspace: databases, expiry, and the one place where keys are read and written.
//!
//! A [`Db`] holds a main dict (key → [`Obj`]) and an expires dict (key → unix ms), as Redis
//! does: most keys have no TTL, so keeping expiry out of the entry saves 8 bytes per key and
//! lets the active expiry cycle sample only keys that can expire.
//!
//! Reads go through [`Db::lookup`], which deletes a key whose TTL has passed (lazy expiry);
//! [`expire::active_cycle`] removes expired keys nobody reads, bounded in time per cron tick.
//! Command code never touches the dicts directly, so notifications, dirty counters and WATCH
//! (later) hook in here once.

pub mod blocking;
pub mod expire;
pub mod lru;
pub mod notify;
pub mod watch;

use cinnabar_ds::{CompactBytes, Dict};

use crate::types::{Obj, Value};

pub type Key = CompactBytes;

/// Random draws RANDOMKEY makes before falling back to a walk (see [`Db::random_key`]).
pub const RANDOM_KEY_TRIES: usize = 100;

#[derive(Default)]
pub struct Db {
    pub id: usize,
    pub dict: Dict<Key, Obj>,
    pub expires: Dict<Key, i64>,
    /// Keys removed because their TTL passed (lazily or actively), for INFO's expired_keys.
    pub expired_keys: u64,
    /// Cursor of the active expiry cycle in `expires`.
    pub expire_cursor: u64,
    /// Running average TTL of sampled keys (INFO keyspace avg_ttl), in ms.
    pub avg_ttl: i64,
    /// Number of the active expiry cycle that last worked on this db; the cycle starts with
    /// the db served least recently, so one db full of expiring keys cannot starve the others.
    pub expire_epoch: u64,
    /// Keys expired lazily (on access) since the last command ended; their `expired`
    /// keyspace events are sent by db/notify.rs.
    pub lazy_expired: Vec<Vec<u8>>,
    /// Clients blocked on keys of this database (db/blocking.rs). They stay with the database
    /// id when SWAPDB exchanges contents, as in Redis.
    pub waiters: blocking::Waiters,
    /// Set while clients are paused (CLIENT PAUSE): a key whose TTL passed reads as missing
    /// but is not deleted, and the active cycle leaves it, as Redis suspends expiry.
    pub expiry_suspended: bool,
}

impl Db {
    pub fn new(id: usize) -> Self {
        Db {
            id,
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Absolute expiry time in unix ms, if the key has one.
    pub fn expire_at(&self, key: &[u8]) -> Option<i64> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    /// True if the key has a TTL that has passed. Same rule as Redis's `keyIsExpired`: a key
    /// is still alive during the very millisecond it expires at (`now > when`).
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        matches!(self.expire_at(key), Some(t) if now_ms > t)
    }

    /// Deletes the key if its TTL passed. Return value: true if it is logically gone (deleted,
    /// or left in place while expiry is suspended).
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> bool {
        if !self.is_expired(key, now_ms) {
            return false;
        }
        if self.expiry_suspended {
            return true;
        }
        self.remove(key);
        self.expired_keys += 1;
        self.lazy_expired.push(key.to_vec());
        true
    }

    /// Looks a key up for reading or writing, expiring it first if needed.
    pub fn lookup(&mut self, key: &[u8], now_ms: i64) -> Option<&mut Obj> {
        if self.expire_if_needed(key, now_ms) {
            return None;
        }
        self.dict.get_mut(key)
    }

    /// Looks a key up without expiring it or touching anything (for checks that must not
    /// modify, e.g. DEBUG OBJECT); returns `None` for logically expired keys.
    pub fn peek(&self, key: &[u8], now_ms: i64) -> Option<&Obj> {
        if self.is_expired(key, now_ms) {
            return None;
        }
        self.dict.get(key)
    }

    pub fn contains(&mut self, key: &[u8], now_ms: i64) -> bool {
        self.lookup(key, now_ms).is_some()
    }

    /// Sets a key's value, keeping its TTL if it has one (callers decide about TTLs: SET clears
    /// them with [`Db::persist`], KEEPTTL doesn't). The LRU clock is set to `lru`.
    pub fn set(&mut self, key: &[u8], val: Value, lru: u32) {
        // One probe whether the key is new or replaced (SET's hot path).
        if let Some(old) = self.dict.upsert(key, Key::new, Obj { val, lru }) {
            crate::lazyfree::drop_value(old.val);
        }
        self.waiters.signal(self.id, key);
    }

    /// Adds a key known to be absent.
    pub fn add(&mut self, key: &[u8], val: Value, lru: u32) {
        self.dict.insert_new(Key::new(key), Obj { val, lru });
        self.waiters.signal(self.id, key);
    }

    /// Adds a whole object (value and access clock) under a key known to be absent: RENAME and
    /// MOVE carry the object over unchanged, as Redis moves the same `robj`.
    pub fn add_obj(&mut self, key: &[u8], obj: Obj) {
        self.dict.insert_new(Key::new(key), obj);
        self.waiters.signal(self.id, key);
    }

    /// Sizes both dicts for a load that will add `keys` keys, `expires` of them with a TTL.
    pub fn reserve(&mut self, keys: usize, expires: usize) {
        self.dict.reserve(keys);
        self.expires.reserve(expires);
    }

    /// Adds a key read from a file, with its TTL: one probe finds a duplicate and inserts.
    /// Return value: `Err` with the key when it already exists (nothing is changed then).
    pub fn add_loaded(&mut self, key: Key, obj: Obj, expire: Option<i64>) -> Result<(), Key> {
        self.waiters.signal(self.id, &key);
        let ttl = expire.map(|at| (key.clone(), at));
        self.dict.try_insert(key, obj).map_err(|(k, _)| k)?;
        if let Some((k, at)) = ttl {
            self.expires.insert_new(k, at);
        }
        Ok(())
    }

    /// Deletes a key and its TTL (DEL, UNLINK). With `lazy`, a large value is freed on the
    /// lazyfree thread (Redis's `dbAsyncDelete`); otherwise it is freed here.
    /// Return value: true if the key existed (expired-but-present keys count: callers expire
    /// first when that matters).
    pub fn delete(&mut self, key: &[u8], lazy: bool) -> bool {
        match self.remove(key) {
            Some(obj) => {
                if lazy {
                    crate::lazyfree::drop_value(obj.val);
                }
                true
            }
            None => false,
        }
    }

    /// Removes a key and its TTL. Return value: the object, if the key existed.
    pub fn remove(&mut self, key: &[u8]) -> Option<Obj> {
        let obj = self.dict.remove(key)?;
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        Some(obj)
    }

    /// Sets an absolute expiry time (unix ms) on an existing key.
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) {
        match self.expires.get_mut(key) {
            Some(t) => *t = at_ms,
            None => self.expires.insert_new(Key::new(key), at_ms),
        }
    }

    /// Removes a key's TTL. Return value: true if it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        !self.expires.is_empty() && self.expires.remove(key).is_some()
    }

    /// Removes every key, returning the old dicts so the caller can free them elsewhere.
    pub fn take_all(&mut self) -> (Dict<Key, Obj>, Dict<Key, i64>) {
        self.expire_cursor = 0;
        self.avg_ttl = 0;
        (self.dict.take(), self.expires.take())
    }

    /// Empties the database (FLUSHDB, FLUSHALL). With `lazy` the old dicts are freed on the
    /// lazyfree thread, as Redis's `emptyDbAsync` does, so flushing millions of keys returns
    /// at once. Return value: the number of keys removed (logically expired ones included, as
    /// Redis counts them for `dirty`).
    pub fn flush(&mut self, lazy: bool) -> usize {
        let n = self.len();
        if n == 0 && self.expires.is_empty() {
            return 0;
        }
        let old = self.take_all();
        if lazy {
            crate::lazyfree::free_in_background_counted(old, n as u64);
        }
        n
    }

    /// Remaining time to live in ms (`Some(0)` at the expiry millisecond itself), or `None`
    /// when the key has no TTL. The caller checks that the key exists.
    pub fn ttl_ms(&self, key: &[u8], now_ms: i64) -> Option<i64> {
        self.expire_at(key).map(|t| (t - now_ms).max(0))
    }

    /// A random live key (RANDOMKEY), expiring the dead ones it meets, or `None` when the db
    /// holds no live key.
    ///
    /// Like Redis's `dbRandomKey`, a sampled key whose TTL passed is deleted and another one is
    /// drawn. Redis keeps drawing until it finds a live key; we draw at most
    /// [`RANDOM_KEY_TRIES`] times and then walk the dict with a SCAN cursor from a random
    /// point, deleting expired keys as we pass them. Each step either returns or removes a
    /// dead key, so the work is bounded by what active expiry would have done anyway, and
    /// a live key is never missed.
    pub fn random_key(&mut self, now_ms: i64, rnd: &mut impl FnMut() -> u64) -> Option<Key> {
        for _ in 0..RANDOM_KEY_TRIES {
            let key = self.dict.random_entry(rnd)?.0.clone();
            if !self.expire_if_needed(&key, now_ms) {
                return Some(key);
            }
        }
        // A walk from cursor 0 back to 0 sees every key (the suspended case below needs that).
        let mut cursor = if self.expiry_suspended { 0 } else { rnd() };
        loop {
            let mut seen: Vec<Key> = Vec::new();
            cursor = self.dict.scan(cursor, |k, _| seen.push(k.clone()));
            for k in seen {
                if !self.expire_if_needed(&k, now_ms) {
                    return Some(k);
                }
            }
            // With expiry suspended dead keys stay: one full pass (cursor back at 0) is enough.
            if self.expiry_suspended && cursor == 0 {
                return None;
            }
            // The walk goes on past a wrapped cursor: a full pass either meets a live key
            // (SCAN returns every key present throughout) or removes every dead one.
            if self.dict.is_empty() {
                return None;
            }
        }
    }

    /// Exchanges the contents of two databases (SWAPDB): keys, TTLs and expiry state move,
    /// the ids stay, as Redis's `dbSwapDatabases` keeps each db's id and its blocked keys;
    /// every waited key that exists after the swap is signalled (Redis's
    /// `scanDatabaseForReadyKeys`).
    pub fn swap_contents(&mut self, other: &mut Db) {
        std::mem::swap(&mut self.dict, &mut other.dict);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.avg_ttl, &mut other.avg_ttl);
        std::mem::swap(&mut self.expire_cursor, &mut other.expire_cursor);
        for db in [&*self, &*other] {
            db.waiters
                .signal_existing(db.id, |k| db.dict.contains_key(k));
        }
    }

    /// Starts shrinking sparse dicts and rehashes both for up to `budget` in total (cron; the
    /// keys dict first, the expires dict with what is left).
    /// Return value: true if there was rehashing work to do, so the cron can stop after the
    /// first db that needed it, as Redis's `databasesCron` does.
    /// While a fork child runs (resizing paused) the cron neither shrinks nor rehashes, as
    /// Redis's `databasesCron` skips both then: moving entries would copy their pages.
    pub fn rehash_for(&mut self, budget: std::time::Duration) -> bool {
        if cinnabar_ds::dict::resizing_paused() {
            return false;
        }
        self.dict.shrink_if_needed();
        self.expires.shrink_if_needed();
        let worked = self.dict.is_rehashing() || self.expires.is_rehashing();
        let start = std::time::Instant::now();
        if !self.dict.rehash_for(budget) {
            let left = budget.saturating_sub(start.elapsed());
            if !left.is_zero() {
                self.expires.rehash_for(left);
            }
        }
        worked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StrValue;

    const NOW: i64 = 1_700_000_000_000;

    fn s(v: &str) -> Value {
        Value::Str(StrValue::from_bytes(v.as_bytes()))
    }

    /// Every key in `expires` must exist in `dict`.
    fn consistent(db: &Db) -> bool {
        db.expires.iter().all(|(k, _)| db.dict.contains_key(&k[..]))
    }

    #[test]
    fn lazy_expiry_on_lookup() {
        let mut db = Db::new(0);
        db.add(b"k", s("v"), 0);
        db.set_expire(b"k", NOW + 100);
        assert!(db.lookup(b"k", NOW).is_some());
        // Alive during the expiry millisecond itself, gone right after (Redis: now > when).
        assert!(db.lookup(b"k", NOW + 100).is_some());
        assert_eq!(db.ttl_ms(b"k", NOW + 100), Some(0));
        assert!(db.peek(b"k", NOW + 101).is_none());
        assert_eq!(db.len(), 1, "peek must not delete");
        assert!(db.lookup(b"k", NOW + 101).is_none());
        assert_eq!(db.len(), 0);
        assert!(db.expires.is_empty());
        assert_eq!(db.expired_keys, 1);
        // expire_if_needed leaves live keys and keys without TTL alone.
        db.add(b"p", s("v"), 0);
        assert!(!db.expire_if_needed(b"p", i64::MAX));
        assert!(!db.expire_if_needed(b"missing", NOW));
    }

    #[test]
    fn set_and_remove_keep_expires_consistent() {
        let mut db = Db::new(0);
        for i in 0..1000 {
            let k = format!("k{i}");
            db.set(k.as_bytes(), s("v"), 0);
            if i % 2 == 0 {
                db.set_expire(k.as_bytes(), NOW + i);
            }
        }
        assert_eq!(db.expires.len(), 500);
        // Overwriting keeps the TTL (SET clears it explicitly with persist).
        db.set(b"k0", s("new"), 7);
        assert_eq!(db.expire_at(b"k0"), Some(NOW));
        assert_eq!(db.dict.get(&b"k0"[..]).map(|o| o.lru), Some(7));
        for i in (0..1000).step_by(3) {
            assert!(db.remove(format!("k{i}").as_bytes()).is_some());
        }
        assert!(db.remove(b"k0").is_none());
        assert!(consistent(&db));
        assert!(db.delete(b"k1", true));
        assert!(!db.delete(b"k1", false));
        assert!(consistent(&db));
        // Moving an object keeps its access clock; its TTL is the caller's business.
        let obj = db.remove(b"k2").expect("k2 exists");
        assert_eq!(db.expire_at(b"k2"), None);
        db.add_obj(b"moved", obj);
        assert!(db.expire_at(b"moved").is_none());
        assert!(consistent(&db));
    }

    #[test]
    fn persist_and_set_expire() {
        let mut db = Db::new(0);
        db.add(b"k", s("v"), 0);
        assert!(!db.persist(b"k"));
        db.set_expire(b"k", NOW + 5);
        db.set_expire(b"k", NOW + 10);
        assert_eq!(db.expires.len(), 1);
        assert_eq!(db.expire_at(b"k"), Some(NOW + 10));
        assert!(db.persist(b"k"));
        assert!(!db.persist(b"k"));
        assert_eq!(db.expire_at(b"k"), None);
        assert!(db.lookup(b"k", i64::MAX).is_some());
    }

    #[test]
    fn flush_swap_and_random_key() {
        let mut a = Db::new(0);
        let mut b = Db::new(1);
        for i in 0..10 {
            a.add(format!("a{i}").as_bytes(), s("v"), 0);
        }
        a.set_expire(b"a0", NOW);
        b.add(b"b", s("v"), 0);
        a.swap_contents(&mut b);
        assert_eq!((a.id, b.id), (0, 1));
        assert_eq!((a.len(), b.len()), (1, 10));
        assert_eq!(b.expire_at(b"a0"), Some(NOW));
        assert_eq!(b.flush(true), 10);
        assert!(b.is_empty() && b.expires.is_empty());
        assert_eq!(a.flush(false), 1);
        assert_eq!(a.flush(false), 0);

        // RANDOMKEY never returns a dead key and expires the dead ones it meets, even when
        // almost every key is dead (the bounded draws then fall back to a walk).
        let mut x = 99u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut db = Db::new(0);
        assert!(db.random_key(NOW, &mut rnd).is_none());
        for i in 0..5000 {
            let k = format!("dead{i}");
            db.add(k.as_bytes(), s("v"), 0);
            db.set_expire(k.as_bytes(), NOW - 1);
        }
        db.add(b"live", s("v"), 0);
        assert_eq!(db.random_key(NOW, &mut rnd).as_deref(), Some(&b"live"[..]));
        assert!(db.len() < 5001);
        db.remove(b"live");
        assert!(db.random_key(NOW, &mut rnd).is_none());
        assert!(db.is_empty() && db.expires.is_empty());
    }
}
