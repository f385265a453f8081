//! WATCH bookkeeping: which clients watch which keys, and which of them saw a change.
//!
//! Optimistic locking as in Redis: `WATCH key` registers the client under `(db, key)`; any
//! write to that key (every write reports itself through `Ctx::notify`, flushes and SWAPDB
//! call [`touch_db`]) marks each watcher "dirty" and drops all its watches, and EXEC of a dirty
//! client replies a null array. The state lives in the server rather than in the clients, so a
//! write can flag another client without borrowing it (clients are `RefCell`s, and the writer
//! is borrowed while it runs). When nobody watches anything, [`touch_key`] costs one
//! empty-map check.
//!
//! Expiry follows Redis 7.0: a key that was already expired (but not yet deleted) when it was
//! watched is remembered as such; its later deletion is no change. A key alive at WATCH time
//! whose TTL passed by EXEC counts as modified, whether it is still present (checked by
//! [`expired_since_watch`]) or was silently removed by lazy or active expiry (it was alive at
//! WATCH time and is gone now: every other way to remove it would have touched it).

use std::collections::{HashMap, HashSet};

use crate::db::blocking::DbKey;
use crate::db::Db;

/// One client's watch on one key.
#[derive(Debug, Clone, Copy)]
struct Watcher {
    client: u64,
    /// The key was present but already expired when watched (Redis's `wk->expired`).
    expired: bool,
    /// The key was present and alive when watched.
    alive: bool,
}

#[derive(Default)]
pub struct Watches {
    /// Watchers per key, in WATCH order.
    keys: HashMap<DbKey, Vec<Watcher>>,
    /// Keys watched by each client.
    by_client: HashMap<u64, Vec<DbKey>>,
    /// Clients whose watched keys changed (Redis's CLIENT_DIRTY_CAS).
    dirty: HashSet<u64>,
}

impl Watches {
    /// True if `client` watches nothing and is not dirty.
    pub fn is_idle(&self, client: u64) -> bool {
        !self.by_client.contains_key(&client) && !self.dirty.contains(&client)
    }

    /// Number of keys `client` watches.
    pub fn count(&self, client: u64) -> usize {
        self.by_client.get(&client).map_or(0, Vec::len)
    }

    pub fn is_dirty(&self, client: u64) -> bool {
        !self.dirty.is_empty() && self.dirty.contains(&client)
    }

    /// Registers `client` as watching `key` in `db` (a repeated WATCH of the same key is a
    /// no-op, as in Redis).
    pub fn watch(&mut self, client: u64, db: &Db, key: &[u8], now_ms: i64) {
        let dk = (db.id, key.to_vec());
        let list = self.keys.entry(dk.clone()).or_default();
        if list.iter().any(|w| w.client == client) {
            return;
        }
        let present = db.dict.contains_key(key);
        let expired = present && db.is_expired(key, now_ms);
        list.push(Watcher {
            client,
            expired,
            alive: present && !expired,
        });
        self.by_client.entry(client).or_default().push(dk);
    }

    /// Drops every watch of `client` and its dirty flag (EXEC, DISCARD, UNWATCH, disconnect).
    pub fn unwatch_all(&mut self, client: u64) {
        if !self.dirty.is_empty() {
            self.dirty.remove(&client);
        }
        self.drop_watches(client);
    }

    fn drop_watches(&mut self, client: u64) {
        let Some(keys) = self.by_client.remove(&client) else {
            return;
        };
        for dk in keys {
            if let Some(list) = self.keys.get_mut(&dk) {
                list.retain(|w| w.client != client);
                if list.is_empty() {
                    self.keys.remove(&dk);
                }
            }
        }
    }

    /// Flags `client` dirty and stops watching its keys (nothing more can change the outcome).
    fn flag(&mut self, client: u64) {
        self.dirty.insert(client);
        self.drop_watches(client);
    }

    /// Redis's `touchWatchedKey`: `key` in `db` was (possibly) modified; `present` tells
    /// whether it is in the dict now.
    fn touch(&mut self, db: usize, key: &[u8], present: bool) {
        let dk = (db, key.to_vec());
        let Some(list) = self.keys.get_mut(&dk) else {
            return;
        };
        let mut victims = Vec::new();
        for w in list.iter_mut() {
            if w.expired && !present {
                // An already expired key got deleted: logically nothing changed.
                w.expired = false;
                continue;
            }
            victims.push(w.client);
        }
        for c in victims {
            self.flag(c);
        }
    }

    /// True if one of `client`'s keys that was alive when watched is now expired or gone
    /// (Redis's `isWatchedKeyExpired`, plus keys removed by expiry without a touch).
    pub fn expired_since_watch(&self, client: u64, dbs: &[Db], now_ms: i64) -> bool {
        let Some(keys) = self.by_client.get(&client) else {
            return false;
        };
        keys.iter().any(|dk| {
            let Some(w) = self
                .keys
                .get(dk)
                .and_then(|l| l.iter().find(|w| w.client == client))
            else {
                return false;
            };
            let Some(db) = dbs.get(dk.0) else {
                return false;
            };
            if w.expired {
                return false;
            }
            let present = db.dict.contains_key(&dk.1[..]);
            (present && db.is_expired(&dk.1, now_ms)) || (w.alive && !present)
        })
    }
}

/// A write to `key` in `db` (called by `Ctx::notify`): one branch when nobody watches.
#[inline]
pub fn touch_key(srv: &mut crate::server::Server, db: usize, key: &[u8]) {
    if srv.watches.keys.is_empty() {
        return;
    }
    let present = srv.dbs.get(db).is_some_and(|d| d.dict.contains_key(key));
    srv.watches.touch(db, key, present);
}

/// Redis's `touchAllWatchedKeysInDb`: db `emptied` is about to be flushed, or (with
/// `replaced_with`) about to receive the contents of that db (SWAPDB). Call it before the
/// change. A watched key changes if it exists in either side; an expired key that stays
/// expired, or disappears, is no change.
pub fn touch_db(srv: &mut crate::server::Server, emptied: usize, replaced_with: Option<usize>) {
    if srv.watches.keys.is_empty() {
        return;
    }
    let now = srv.now_ms;
    let watched: Vec<DbKey> = srv
        .watches
        .keys
        .keys()
        .filter(|dk| dk.0 == emptied)
        .cloned()
        .collect();
    for dk in watched {
        let key = &dk.1[..];
        let in_emptied = srv.dbs[emptied].dict.contains_key(key);
        let (in_new, new_expired) = match replaced_with.and_then(|r| srv.dbs.get(r)) {
            Some(d) => (d.dict.contains_key(key), d.is_expired(key, now)),
            None => (false, false),
        };
        if !in_emptied && !in_new {
            continue;
        }
        let Some(list) = srv.watches.keys.get_mut(&dk) else {
            continue;
        };
        let mut victims = Vec::new();
        for w in list.iter_mut() {
            if w.expired {
                if !in_new {
                    w.expired = false;
                    continue;
                } else if new_expired {
                    continue;
                }
            } else if !in_emptied && new_expired {
                w.expired = true;
                continue;
            }
            victims.push(w.client);
        }
        for c in victims {
            srv.watches.flag(c);
        }
    }
}
