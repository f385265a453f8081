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

pub mod expire;
pub mod lru;

use cinnabar_ds::{CompactBytes, Dict};

use crate::types::{Obj, Value};

pub type Key = CompactBytes;

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

    /// True if the key has a TTL that has passed.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        matches!(self.expire_at(key), Some(t) if t <= now_ms)
    }

    /// Deletes the key if its TTL passed. Return value: true if it was deleted.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> bool {
        if !self.is_expired(key, now_ms) {
            return false;
        }
        self.remove(key);
        self.expired_keys += 1;
        true
    }

    /// Looks a key up for reading or writing, expiring it first if needed.
    pub fn lookup(&mut self, key: &[u8], now_ms: i64) -> Option<&mut Obj> {
        self.expire_if_needed(key, now_ms);
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
        match self.dict.get_mut(key) {
            Some(obj) => {
                let old = std::mem::replace(&mut obj.val, val);
                obj.lru = lru;
                crate::lazyfree::drop_value(old);
            }
            None => self.dict.insert_new(Key::new(key), Obj { val, lru }),
        }
    }

    /// Adds a key known to be absent.
    pub fn add(&mut self, key: &[u8], val: Value, lru: u32) {
        self.dict.insert_new(Key::new(key), Obj { val, lru });
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
        (self.dict.take(), self.expires.take())
    }

    /// Rehashes both dicts for up to `budget` (cron).
    pub fn rehash_for(&mut self, budget: std::time::Duration) {
        self.dict.shrink_if_needed();
        self.expires.shrink_if_needed();
        if !self.dict.rehash_for(budget) {
            self.expires.rehash_for(budget);
        }
    }
}
