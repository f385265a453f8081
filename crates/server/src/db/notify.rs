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

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    /// Events reported by each command line, counted by the hook.
    fn events(t: &mut TestServer, line: &str) -> u64 {
        let before = t.srv.keyspace_events;
        t.exec(line);
        t.srv.keyspace_events - before
    }

    #[test]
    fn writes_report_their_events() {
        let mut t = TestServer::new();
        assert_eq!(events(&mut t, "SET k v"), 1);
        assert_eq!(events(&mut t, "SET k v EX 100"), 2); // set + expire
        assert_eq!(events(&mut t, "MSET a 1 b 2"), 2);
        assert_eq!(events(&mut t, "INCR a"), 1);
        assert_eq!(events(&mut t, "APPEND b x"), 1);
        assert_eq!(events(&mut t, "RENAME a c"), 2); // rename_from + rename_to
        assert_eq!(events(&mut t, "DEL b c nosuch"), 2);
        assert_eq!(events(&mut t, "RPUSH l x y"), 1);
        assert_eq!(events(&mut t, "HSET h f v"), 1);
        assert_eq!(events(&mut t, "SADD s m"), 1);
        assert_eq!(events(&mut t, "ZADD z 1 m"), 1);
        // Reads report nothing.
        assert_eq!(events(&mut t, "GET k"), 0);
        assert_eq!(events(&mut t, "LRANGE l 0 -1"), 0);
    }
}
