//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK, ...): who waits for what,
//! and which keys just received data.
//!
//! A blocking command that finds no data registers the client in its database's
//! [`Waiters`] for each of its keys, in arrival order (first come, first served), and stops
//! replying. A key becomes *ready* when a write may let a waiter proceed:
//! - a push into an existing key (`Ctx::signal_ready`), and
//! - **any** way a key with waiters is created or replaced — `Db::add`, `Db::set`,
//!   `Db::add_obj` and `Db::add_loaded` signal it themselves, so RENAME, MOVE, COPY, RESTORE,
//!   the `*STORE` commands, a re-created key after FLUSHALL, scripts and transactions need no
//!   code of their own (Redis signals in `dbAdd` for the same reason). SWAPDB signals every
//!   waited key that exists after the swap ([`Waiters::signal_existing`]).
//!
//! Signalling is cheap when nobody blocks (one empty-map check). Over-signalling is harmless:
//! after the top-level command completes (never inside MULTI/EXEC or a script), the command
//! layer serves each ready key only to waiters whose wanted type ([`Want`]) matches the key's
//! type *then*, so a key that became a list and then a string inside one transaction wakes
//! nobody. The ready list is shared by every database (one `Rc`), so keys are served in the
//! order they were signalled, across databases too.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

/// Key in a specific database.
pub type DbKey = (usize, Vec<u8>);

/// The value type a blocked command waits for: it is served only by a key of that type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    List,
    ZSet,
    /// XREAD BLOCK: served by any stream key (the re-run decides whether it has new entries).
    Stream,
}

/// Keys that may serve a waiter, in signal order, without duplicates.
#[derive(Default)]
pub struct ReadyList {
    order: Vec<DbKey>,
    seen: HashSet<DbKey>,
}

impl ReadyList {
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn push(&mut self, db: usize, key: &[u8]) {
        let k = (db, key.to_vec());
        if self.seen.insert(k.clone()) {
            self.order.push(k);
        }
    }

    /// Takes every ready key, oldest first.
    pub fn take(&mut self) -> Vec<DbKey> {
        self.seen.clear();
        std::mem::take(&mut self.order)
    }
}

/// The ready list shared by the server and every database.
pub type ReadyQueue = Rc<RefCell<ReadyList>>;

/// The server's side: the ready list every database signals into.
#[derive(Default)]
pub struct Blocking {
    pub ready: ReadyQueue,
}

impl Blocking {
    /// True if some key was signalled since the last serving (checked after every command).
    #[inline]
    pub fn has_ready(&self) -> bool {
        !self.ready.borrow().is_empty()
    }
}

/// One database's blocked clients: waiting client ids per key, oldest first.
#[derive(Default)]
pub struct Waiters {
    by_key: HashMap<Vec<u8>, VecDeque<u64>>,
    /// Where signalled keys go (shared with the server and the other databases).
    pub ready: ReadyQueue,
}

impl Waiters {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The clients waiting on `key`, oldest first.
    pub fn queue(&self, key: &[u8]) -> Option<&VecDeque<u64>> {
        self.by_key.get(key)
    }

    pub fn has_waiters(&self, key: &[u8]) -> bool {
        !self.by_key.is_empty() && self.by_key.contains_key(key)
    }

    /// Marks `key` of database `db` ready if someone waits on it.
    #[inline]
    pub fn signal(&self, db: usize, key: &[u8]) {
        if self.has_waiters(key) {
            self.ready.borrow_mut().push(db, key);
        }
    }

    /// Registers `client` as waiting on each of `keys` (a client already queued on a key keeps
    /// its place).
    pub fn block(&mut self, client: u64, keys: &[Vec<u8>]) {
        for k in keys {
            let q = self.by_key.entry(k.clone()).or_default();
            if !q.contains(&client) {
                q.push_back(client);
            }
        }
    }

    /// Removes `client` from the wait queues of `keys`.
    pub fn unblock(&mut self, client: u64, keys: &[Vec<u8>]) {
        for k in keys {
            if let Some(q) = self.by_key.get_mut(&k[..]) {
                q.retain(|&c| c != client);
                if q.is_empty() {
                    self.by_key.remove(&k[..]);
                }
            }
        }
    }

    /// Signals every waited key for which `exists` holds (SWAPDB brought new contents).
    pub fn signal_existing(&self, db: usize, mut exists: impl FnMut(&[u8]) -> bool) {
        for k in self.by_key.keys() {
            if exists(k) {
                self.ready.borrow_mut().push(db, k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_only_waited_keys_once_in_order() {
        let ready: ReadyQueue = Default::default();
        let mut w = Waiters {
            ready: ready.clone(),
            ..Default::default()
        };
        w.signal(0, b"a");
        assert!(ready.borrow().is_empty(), "nobody waits: nothing is ready");
        w.block(7, &[b"a".to_vec(), b"b".to_vec()]);
        w.block(8, &[b"a".to_vec()]);
        w.block(7, &[b"a".to_vec()]);
        assert_eq!(w.queue(b"a").unwrap(), &VecDeque::from([7, 8]));
        w.signal(0, b"b");
        w.signal(0, b"a");
        w.signal(0, b"b");
        assert_eq!(
            ready.borrow_mut().take(),
            vec![(0, b"b".to_vec()), (0, b"a".to_vec())]
        );
        w.unblock(7, &[b"a".to_vec(), b"b".to_vec()]);
        assert!(!w.has_waiters(b"b"));
        assert_eq!(w.queue(b"a").unwrap(), &VecDeque::from([8]));
        w.signal_existing(3, |k| k == b"a");
        assert_eq!(ready.borrow_mut().take(), vec![(3, b"a".to_vec())]);
    }
}
