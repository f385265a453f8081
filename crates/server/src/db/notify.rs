//! Keyspace notifications: the one place every write command reports its event.
//!
//! Command handlers call `Ctx::notify(class, event, key)` after a change, with Redis's event
//! class (`b'g'` generic, `b'$'` string, `b'l'` list, `b's'` set, `b'h'` hash, `b'z'` zset,
//! `b'x'` expired, `b'e'` evicted, `b'n'` new key) and event name (`"lpush"`, `"hset"`, `"del"`).
//! Publishing to `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>` channels arrives with
//! the pub/sub issue; until then events are only counted, so the call sites are already right.

use crate::server::Server;

/// Records one keyspace event (see module docs).
pub fn keyspace_event(srv: &mut Server, _db: usize, _class: u8, _event: &str, _key: &[u8]) {
    srv.keyspace_events += 1;
}
