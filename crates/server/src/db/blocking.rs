//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...): who waits for what, and which keys
//! just received data.
//!
//! A blocking command that finds no data registers the client here for each of its keys, in
//! arrival order (first come, first served), and stops replying. A write that may unblock
//! someone calls `Ctx::signal_ready(key)`, which queues the key in `ready` only if a client
//! waits on it (cheap when nobody blocks). After the top-level command completes (never inside
//! MULTI/EXEC or a script), `cmd::serve_ready_keys` runs each waiter's command again in the
//! waiter's own context until the key runs dry; a served command may push to another key and
//! make it ready in turn (BLMOVE chains), so serving loops until `ready` is empty.

use std::collections::{HashMap, VecDeque};

/// Key in a specific database.
pub type DbKey = (usize, Vec<u8>);

#[derive(Default)]
pub struct Blocking {
    /// Waiting client ids per key, oldest first.
    pub waiters: HashMap<DbKey, VecDeque<u64>>,
    /// Keys that received data while someone waited on them, in signal order (deduplicated).
    pub ready: Vec<DbKey>,
}

impl Blocking {
    pub fn has_waiters(&self, db: usize, key: &[u8]) -> bool {
        !self.waiters.is_empty() && self.waiters.contains_key(&(db, key.to_vec()))
    }

    /// Marks a key ready if someone waits on it.
    pub fn signal(&mut self, db: usize, key: &[u8]) {
        if self.waiters.is_empty() {
            return;
        }
        let k = (db, key.to_vec());
        if self.waiters.contains_key(&k) && !self.ready.contains(&k) {
            self.ready.push(k);
        }
    }

    /// Registers `client` as waiting on each of `keys` (in `db`).
    pub fn block(&mut self, client: u64, db: usize, keys: &[Vec<u8>]) {
        for k in keys {
            let q = self.waiters.entry((db, k.clone())).or_default();
            if !q.contains(&client) {
                q.push_back(client);
            }
        }
    }

    /// Removes `client` from the wait queues of `keys`.
    pub fn unblock(&mut self, client: u64, db: usize, keys: &[Vec<u8>]) {
        for k in keys {
            let dk = (db, k.clone());
            if let Some(q) = self.waiters.get_mut(&dk) {
                q.retain(|&c| c != client);
                if q.is_empty() {
                    self.waiters.remove(&dk);
                }
            }
        }
    }
}
