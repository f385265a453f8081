//! Freeing large values off the data thread (UNLINK, FLUSHALL ASYNC), as Redis's lazyfree.
//!
//! Dropping a value with millions of elements takes time proportional to its size; doing that
//! on the data thread would stall every client. Values whose free effort exceeds
//! [`LAZYFREE_THRESHOLD`] allocations are handed to one background thread through a channel.
//! Whole databases (FLUSHALL ASYNC) go the same way; the counters then count their keys, as
//! Redis's `lazyfree_pending_objects` does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

use crate::types::Value;

/// Same threshold as Redis: values needing more than 64 frees go to the background.
pub const LAZYFREE_THRESHOLD: usize = 64;

/// Something to drop, and how many objects it stands for in the counters.
type Job = (Box<dyn Send>, u64);

static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
/// Objects handed to the background thread and not yet freed (INFO lazyfree_pending_objects).
pub static PENDING: AtomicU64 = AtomicU64::new(0);
/// Objects freed by the background thread (INFO lazyfreed_objects).
pub static FREED: AtomicU64 = AtomicU64::new(0);

fn sender() -> Sender<Job> {
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            std::thread::Builder::new()
                .name("lazyfree".into())
                .spawn(move || {
                    for (job, n) in rx {
                        drop(job);
                        PENDING.fetch_sub(n, Ordering::Relaxed);
                        FREED.fetch_add(n, Ordering::Relaxed);
                    }
                })
                .expect("spawn lazyfree thread");
            Mutex::new(tx)
        })
        .lock()
        .map(|s| s.clone())
        .unwrap_or_else(|e| e.into_inner().clone())
}

/// Frees `job` (one object) on the background thread.
pub fn free_in_background<T: Send + 'static>(job: T) {
    free_in_background_counted(job, 1);
}

/// Frees `job`, which holds `objects` objects (a whole keyspace for FLUSHALL ASYNC), on the
/// background thread.
pub fn free_in_background_counted<T: Send + 'static>(job: T, objects: u64) {
    PENDING.fetch_add(objects, Ordering::Relaxed);
    if let Err(e) = sender().send((Box::new(job), objects)) {
        // The thread is gone (only at exit): free here.
        PENDING.fetch_sub(objects, Ordering::Relaxed);
        drop(e.0);
    }
}

/// Cost of freeing a value, in allocations (Redis's `lazyfreeGetFreeEffort`).
pub fn free_effort(v: &Value) -> usize {
    v.elements()
}

/// Drops a replaced or deleted value, in the background if it is large.
pub fn drop_value(v: Value) {
    if free_effort(&v) > LAZYFREE_THRESHOLD {
        free_in_background(v);
    }
}
