//! RDB writer: length and string encodings, listpack and intset blobs, values, whole datasets.
//!
//! Values are written the way Redis 7.0 writes them, so that files and DUMP payloads are
//! byte-compatible: integers that round-trip as strings use the int encodings, strings longer
//! than 20 bytes are LZF-compressed when that saves at least 4 bytes (and `rdbcompression`
//! is on), small hashes and sorted sets are one listpack blob, lists are quicklist2 nodes
//! (one listpack per node, following our node split), intsets are the intset blob.

use super::*;
use crate::types::set::Member;
use crate::types::{Hash, List, Set, Stream, Value, ZSet};

/// An output buffer with the RDB primitives.
pub struct Writer {
    pub buf: Vec<u8>,
    pub compress: bool,
}

impl Writer {
    pub fn new(compress: bool) -> Self {
        Writer {
            buf: Vec::new(),
            compress,
        }
    }

    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    pub fn len(&mut self, n: u64) {
        if n < 1 << 6 {
            self.buf.push(n as u8);
        } else if n < 1 << 14 {
            self.buf.push(0x40 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else if n <= u32::MAX as u64 {
            self.buf.push(0x80);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.buf.push(0x81);
            self.buf.extend_from_slice(&n.to_be_bytes());
        }
    }

    /// Int encodings for values that fit 32 bits. Return value: false if it does not fit.
    fn int_enc(&mut self, v: i64) -> bool {
        if let Ok(b) = i8::try_from(v) {
            self.buf.push(0xC0);
            self.buf.push(b as u8);
        } else if let Ok(s) = i16::try_from(v) {
            self.buf.push(0xC1);
            self.buf.extend_from_slice(&s.to_le_bytes());
        } else if let Ok(w) = i32::try_from(v) {
            self.buf.push(0xC2);
            self.buf.extend_from_slice(&w.to_le_bytes());
        } else {
            return false;
        }
        true
    }

    /// A string: int-encoded if it is a canonical integer of at most 11 chars fitting 32 bits,
    /// LZF-compressed if long enough and worth it, else raw.
    pub fn string(&mut self, s: &[u8]) {
        if s.len() <= 11 {
            if let Some(v) = crate::util::parse_int(s) {
                if self.int_enc(v) {
                    return;
                }
            }
        }
        if self.compress && s.len() > 20 {
            if let Some(c) = lzf::compress(s, s.len() - 4) {
                self.buf.push(0xC3);
                self.len(c.len() as u64);
                self.len(s.len() as u64);
                self.buf.extend_from_slice(&c);
                return;
            }
        }
        self.len(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    /// An integer as a string object (Redis's `rdbSaveLongLongAsStringObject`).
    pub fn int_string(&mut self, v: i64) {
        if !self.int_enc(v) {
            let mut b = itoa::Buffer::new();
            let s = b.format(v).as_bytes();
            self.len(s.len() as u64);
            self.buf.extend_from_slice(s);
        }
    }

    /// The value type byte Redis writes for `v`.
    pub fn type_of(v: &Value) -> u8 {
        match v {
            Value::Str(_) => T_STRING,
            Value::List(_) => T_LIST_QUICKLIST_2,
            Value::Hash(h) if h.is_listpack() => T_HASH_LISTPACK,
            Value::Hash(_) => T_HASH,
            Value::Set(s) if matches!(**s, Set::Int(_)) => T_SET_INTSET,
            Value::Set(_) => T_SET,
            Value::ZSet(z) if matches!(**z, ZSet::Listpack(_)) => T_ZSET_LISTPACK,
            Value::ZSet(_) => T_ZSET_2,
            Value::Stream(_) => T_STREAM_LISTPACKS_2,
        }
    }

    /// A value's body (without its type byte).
    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Str(crate::types::StrValue::Int(n)) => self.int_string(*n),
            Value::Str(s) => s.with_bytes(|b| self.string(b)),
            Value::List(l) => self.list(l),
            Value::Hash(h) => self.hash(h),
            Value::Set(s) => self.set(s),
            Value::ZSet(z) => self.zset(z),
            Value::Stream(st) => self.stream(st),
        }
    }

    /// A stream as Redis 7.0's `rdbSaveObject` writes type 19: the node count, each node's
    /// 16-byte master ID and listpack as they are, then length, last ID, first ID, largest
    /// deleted ID, entries added, and the consumer groups (none yet).
    fn stream(&mut self, s: &Stream) {
        self.len(s.node_count() as u64);
        for (id, node) in s.nodes() {
            self.string(&id.to_key());
            self.string(node);
        }
        self.len(s.len());
        for id in [s.last_id, s.first_id, s.max_deleted_id] {
            self.len(id.ms);
            self.len(id.seq);
        }
        self.len(s.entries_added);
        self.len(s.groups.len() as u64);
    }

    fn list(&mut self, l: &List) {
        // One pass over the elements, cut into listpacks at our node boundaries.
        let counts: Vec<usize> = l.node_counts().filter(|&c| c > 0).collect();
        self.len(counts.len() as u64);
        let mut node = 0;
        let mut lp = LpBuilder::new();
        l.scan(false, |_, e| {
            match e {
                crate::types::list::Elem::Int(i) => lp.push_int(i),
                crate::types::list::Elem::Bytes(b) => lp.push(b),
            }
            if counts.get(node) == Some(&lp.count) {
                let blob = std::mem::take(&mut lp).finish();
                self.len(2); // packed container
                self.string(&blob);
                node += 1;
            }
            true
        });
    }

    fn hash(&mut self, h: &Hash) {
        if h.is_listpack() {
            let mut lp = LpBuilder::new();
            for (f, v) in h.iter() {
                f.with_bytes(|b| lp.push(b));
                v.with_bytes(|b| lp.push(b));
            }
            let blob = lp.finish();
            self.string(&blob);
        } else {
            self.len(h.len() as u64);
            for (f, v) in h.iter() {
                f.with_bytes(|b| self.string(b));
                v.with_bytes(|b| self.string(b));
            }
        }
    }

    fn set(&mut self, s: &Set) {
        match s {
            Set::Int(is) => {
                let width = is.width();
                let mut blob = Vec::with_capacity(8 + width * is.len());
                blob.extend_from_slice(&(width as u32).to_le_bytes());
                blob.extend_from_slice(&(is.len() as u32).to_le_bytes());
                for v in is.iter() {
                    blob.extend_from_slice(&v.to_le_bytes()[..width]);
                }
                self.string(&blob);
            }
            Set::Hash(_) => {
                self.len(s.len() as u64);
                for m in s.iter() {
                    match m {
                        Member::Int(v) => self.int_string(v),
                        Member::Str(b) => self.string(b),
                    }
                }
            }
        }
    }

    fn zset(&mut self, z: &ZSet) {
        match z {
            ZSet::Listpack(_) => {
                let mut lp = LpBuilder::new();
                z.visit(0, false, |m, s| {
                    lp.push(m);
                    lp.push(&score_str(s));
                    true
                });
                let blob = lp.finish();
                self.string(&blob);
            }
            ZSet::Skiplist(_) => {
                // Tail first, as Redis writes it (its loader then inserts at the head).
                self.len(z.len() as u64);
                if z.is_empty() {
                    return;
                }
                let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
                z.visit(z.len() - 1, true, |m, s| {
                    items.push((m.to_vec(), s));
                    true
                });
                for (m, s) in items {
                    self.string(&m);
                    self.buf.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
    }

    /// An AUX field with a string value.
    fn aux(&mut self, k: &str, v: &[u8]) {
        self.byte(OP_AUX);
        self.string(k.as_bytes());
        self.string(v);
    }

    /// An AUX field with an integer value.
    fn aux_int(&mut self, k: &str, v: i64) {
        self.byte(OP_AUX);
        self.string(k.as_bytes());
        self.int_string(v);
    }
}

/// A zset score as Redis stores it in a listpack (`d2string`): integers in the exact-double
/// range as integers, everything else with 17 significant digits.
pub fn score_str(s: f64) -> Vec<u8> {
    if s.is_nan() {
        return b"nan".to_vec();
    }
    if s.is_infinite() {
        return if s > 0.0 {
            b"inf".to_vec()
        } else {
            b"-inf".to_vec()
        };
    }
    if s == 0.0 {
        return if s.is_sign_negative() {
            b"-0".to_vec()
        } else {
            b"0".to_vec()
        };
    }
    if s > -4_503_599_627_370_495.0 && s < 4_503_599_627_370_496.0 && s == s.trunc() {
        return (s as i64).to_string().into_bytes();
    }
    g17(s).into_bytes()
}

/// printf's `%.17g`.
fn g17(v: f64) -> String {
    let e = format!("{:.16e}", v);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..17).contains(&exp) {
        let decimals = (16 - exp).max(0) as usize;
        let s = format!("{:.*}", decimals, v);
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        let m = if mant.contains('.') {
            mant.trim_end_matches('0').trim_end_matches('.')
        } else {
            mant
        };
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    }
}

/// Builds a Redis listpack: 4-byte total size, 2-byte count, entries, 0xFF.
pub struct LpBuilder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for LpBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LpBuilder {
    pub fn new() -> Self {
        LpBuilder {
            buf: vec![0; 6],
            count: 0,
        }
    }

    fn backlen(&mut self, size: usize) {
        let mut n = 1;
        while size >> (7 * n) > 0 {
            n += 1;
        }
        for k in (0..n).rev() {
            let part = ((size >> (7 * k)) & 0x7f) as u8;
            self.buf.push(if k == n - 1 { part } else { part | 0x80 });
        }
    }

    /// Appends an integer entry.
    pub fn push_int(&mut self, i: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&i) {
            self.buf.push(i as u8);
        } else if (-4096..4096).contains(&i) {
            let u = (i as u16) & 0x1fff;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else if let Ok(v) = i16::try_from(i) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&v.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&i) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(i as i32).to_le_bytes()[..3]);
        } else if let Ok(v) = i32::try_from(i) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&v.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&i.to_le_bytes());
        }
        let size = self.buf.len() - start;
        self.backlen(size);
        self.count += 1;
    }

    /// Appends a string entry (as an integer if it is a canonical one, as Redis does).
    pub fn push(&mut self, s: &[u8]) {
        if s.len() <= 20 {
            if let Some(i) = crate::util::parse_int(s) {
                return self.push_int(i);
            }
        }
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let size = self.buf.len() - start;
        self.backlen(size);
        self.count += 1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let c = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&c.to_le_bytes());
        self.buf
    }
}

/// A DUMP payload: type byte, value, RDB version (2 bytes LE), CRC-64 (8 bytes LE).
pub fn dump_payload(v: &Value, compress: bool) -> Vec<u8> {
    let mut w = Writer::new(compress);
    w.byte(Writer::type_of(v));
    w.value(v);
    w.buf.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64::crc64(&w.buf);
    w.buf.extend_from_slice(&crc.to_le_bytes());
    w.buf
}

/// The whole dataset as an RDB file image (tests, DEBUG RELOAD-sized data).
pub fn dataset(srv: &Server) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_dataset(srv, &mut out);
    out
}

/// Streams the dataset in RDB format to `out`, flushing every 64 KB so a save never holds a
/// second copy of the dataset in memory; the CRC-64 is computed on the way.
pub fn write_dataset(srv: &Server, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    const CHUNK: usize = 64 * 1024;
    let checksum = srv.config.get("rdbchecksum") != Some("no");
    let mut crc = 0u64;
    let mut flush = |w: &mut Writer, out: &mut dyn std::io::Write| -> std::io::Result<()> {
        if checksum {
            crc = crc64::update(crc, &w.buf);
        }
        out.write_all(&w.buf)?;
        w.buf.clear();
        Ok(())
    };
    let lfu = srv.config.lfu_policy;
    let lru = !lfu
        && srv
            .config
            .get("maxmemory-policy")
            .is_some_and(|p| p.contains("lru"));
    let now = srv.now_ms;
    let decay = srv
        .config
        .get("lfu-decay-time")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(1);
    // `rdb-key-save-delay` (hidden, for tests): microseconds to sleep after each key, as
    // Redis's debugDelay in rdbSaveKeyValuePair; it makes a save slow enough to interrupt.
    let key_delay = srv
        .config
        .get("rdb-key-save-delay")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0) as u64;
    let mut w = Writer::new(compression(srv));
    w.buf
        .extend_from_slice(format!("REDIS{:04}", RDB_VERSION).as_bytes());
    w.aux("redis-ver", crate::REDIS_VERSION.as_bytes());
    w.aux_int("redis-bits", 64);
    w.aux_int("ctime", crate::server::unix_ms() / 1000);
    w.aux_int("used-mem", crate::info::used_memory() as i64);
    w.aux_int("aof-base", 0);
    // FUNCTION libraries (scripting/functions.rs), before the databases as Redis writes them.
    if let Some(eng) = srv.scripting.as_ref() {
        for code in eng.functions.sources() {
            w.byte(OP_FUNCTION2);
            w.string(&code);
        }
    }
    for db in &srv.dbs {
        if db.is_empty() {
            continue;
        }
        w.byte(OP_SELECTDB);
        w.len(db.id as u64);
        w.byte(OP_RESIZEDB);
        w.len(db.len() as u64);
        w.len(db.expires.len() as u64);
        for (k, obj) in db.dict.iter() {
            if let Some(t) = db.expire_at(k) {
                w.byte(OP_EXPIRETIME_MS);
                w.buf.extend_from_slice(&t.to_le_bytes());
            }
            // Access clocks travel with the keys under LRU / LFU eviction, as in Redis.
            if lru {
                w.byte(OP_IDLE);
                w.len(crate::db::lru::idle_ms(obj.lru, now) / 1000);
            } else if lfu {
                w.byte(OP_FREQ);
                w.byte(crate::db::lru::lfu_decayed_counter(obj.lru, now, decay) as u8);
            }
            w.byte(Writer::type_of(&obj.val));
            w.string(k);
            w.value(&obj.val);
            if w.buf.len() >= CHUNK {
                flush(&mut w, out)?;
            }
            if key_delay > 0 {
                std::thread::sleep(std::time::Duration::from_micros(key_delay));
            }
        }
    }
    w.byte(OP_EOF);
    flush(&mut w, out)?;
    out.write_all(&crc.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_lengths() {
        assert_eq!(score_str(1.5), b"1.5");
        assert_eq!(score_str(3.0), b"3");
        assert_eq!(score_str(0.1), b"0.10000000000000001");
        assert_eq!(score_str(1e300), b"1.0000000000000001e+300");
        let mut w = Writer::new(false);
        w.len(63);
        w.len(64);
        w.len(20000);
        assert_eq!(w.buf, vec![63, 0x40, 64, 0x80, 0, 0, 0x4e, 0x20]);
        let mut w = Writer::new(false);
        w.string(b"-5");
        w.string(b"300");
        w.string(b"012");
        assert_eq!(
            w.buf,
            vec![0xC0, 0xFB, 0xC1, 0x2C, 0x01, 3, b'0', b'1', b'2']
        );
    }

    #[test]
    fn dataset_round_trip_in_process() {
        let mut a = crate::testkit::TestServer::new();
        a.exec("SET s hello");
        a.exec("SET n 42");
        a.exec("SET big 123456789012");
        a.exec(&format!("SET long {}", "xy".repeat(100)));
        a.exec("RPUSH l a b 1 2");
        a.exec("HSET h f v g 2");
        a.exec("SADD si 1 2 3");
        a.exec("SADD ss a b");
        a.exec("ZADD z 1 a 2.5 b");
        a.exec("PEXPIRE s 100000");
        a.exec("SELECT 3");
        a.exec("SET other 1");
        a.exec("SELECT 0");
        let img = dataset(&a.srv);
        assert_eq!(&img[..9], b"REDIS0010");
        let mut b = crate::testkit::TestServer::new();
        b.exec("PING"); // the test clock applies from the first command on
        assert_eq!(
            crate::persist::rdb_load::load_dataset(&mut b.srv, &img),
            Ok(10)
        );
        assert_eq!(a.exec("DEBUG DIGEST"), b.exec("DEBUG DIGEST"));
        assert_eq!(b.exec("PTTL s"), ":100000\r\n");
        // Every truncation is refused, never a panic.
        for cut in 1..img.len() {
            let mut c = crate::testkit::TestServer::new();
            assert!(crate::persist::rdb_load::load_dataset(&mut c.srv, &img[..cut]).is_err());
        }
    }
}
