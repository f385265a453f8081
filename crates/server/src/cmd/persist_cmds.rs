//! Persistence commands: SAVE, BGSAVE, LASTSAVE, DUMP, RESTORE.
//!
//! SAVE serialises the dataset on the event loop and writes it atomically (persist/mod.rs).
//! BGSAVE forks (see `persist::bgsave_start`). DUMP / RESTORE use the RDB value
//! format with a version and CRC-64 footer, so payloads move between us and Redis 7.0.

use std::sync::atomic::Ordering;

use super::{CmdError, CmdResult, Ctx, Handler};
use crate::persist::{self, rdb_load, rdb_save, CHILD_PID};
use crate::types::Obj;
use crate::util::eq_ic;

fn in_progress() -> CmdError {
    CmdError::err("Background save already in progress")
}

fn save(ctx: &mut Ctx) -> CmdResult {
    if CHILD_PID.load(Ordering::Relaxed) != 0 {
        return Err(in_progress());
    }
    match persist::save(ctx.srv) {
        Ok(()) => {
            ctx.out().ok();
            Ok(())
        }
        Err(_) => Err(CmdError::Raw("ERR".into())),
    }
}

fn bgsave(ctx: &mut Ctx) -> CmdResult {
    let mut schedule = false;
    for a in &ctx.argv[1..] {
        if eq_ic(a, "schedule") {
            schedule = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if CHILD_PID.load(Ordering::Relaxed) != 0 {
        if schedule {
            persist::BGSAVE_SCHEDULED.store(true, Ordering::Relaxed);
            ctx.out().simple("Background saving scheduled");
            return Ok(());
        }
        return Err(in_progress());
    }
    persist::bgsave_start(ctx.srv).map_err(CmdError::err)?;
    ctx.out().simple("Background saving started");
    Ok(())
}

fn lastsave(ctx: &mut Ctx) -> CmdResult {
    let t = persist::last_save_unix(ctx.srv);
    ctx.out().int(t);
    Ok(())
}

fn dump(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let compress = persist::compression(ctx.srv);
    let (obj, out) = ctx.lookup_read_out(key);
    match obj {
        None => out.null(),
        Some(o) => {
            let p = rdb_save::dump_payload(&o.val, compress);
            out.bulk(&p);
        }
    }
    Ok(())
}

fn restore(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (i64, i64) = (-1, -1);
    let mut j = 4;
    while j < ctx.argv.len() {
        let a = ctx.arg(j);
        let more = j + 1 < ctx.argv.len();
        if eq_ic(a, "replace") {
            replace = true;
        } else if eq_ic(a, "absttl") {
            absttl = true;
        } else if eq_ic(a, "idletime") && more && freq == -1 {
            idle = crate::util::parse_int(ctx.arg(j + 1)).ok_or(CmdError::NotInteger)?;
            if idle < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            j += 1;
        } else if eq_ic(a, "freq") && more && idle == -1 {
            freq = crate::util::parse_int(ctx.arg(j + 1)).ok_or(CmdError::NotInteger)?;
            if !(0..=255).contains(&freq) {
                return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if !replace && ctx.lookup_write(key).is_some() {
        return Err(CmdError::Raw(
            "BUSYKEY Target key name already exists.".into(),
        ));
    }
    let mut ttl = crate::util::parse_int(ctx.arg(2)).ok_or(CmdError::NotInteger)?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    rdb_load::verify_payload(ctx.arg(3))
        .ok_or_else(|| CmdError::err("DUMP payload version or checksum are wrong"))?;
    let lim = persist::Limits::from_server(ctx.srv);
    // The whole value is checked before anything changes; a corrupt one is logged as Redis
    // logs it in a RESTORE (verbose level) and never installed.
    let val = rdb_load::restore_value(ctx.arg(3), &lim).map_err(|e| {
        if rdb_load::is_corruption(&e) {
            crate::verbose!("{e}");
        }
        CmdError::err("Bad data format")
    })?;
    let now = ctx.now();
    let deleted = replace && ctx.db().delete(key, true);
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    if ttl != 0 && ttl < now {
        if deleted {
            ctx.signal_ready(key);
            ctx.notify(b'g', "del", key);
            ctx.dirty(1);
        }
        ctx.out().ok();
        return Ok(());
    }
    let mut lru = ctx.new_lru();
    if ctx.srv.config.lfu_policy {
        if freq >= 0 {
            lru = (lru & !0xFF) | freq as u32;
        }
    } else if idle >= 0 {
        let clock = crate::db::lru::lru_clock(now) as i64;
        let mut v = clock - idle;
        if v < 0 {
            v += crate::db::lru::LRU_CLOCK_MAX as i64;
        }
        lru = (v.max(0) as u32) & crate::db::lru::LRU_CLOCK_MAX;
    }
    ctx.db().add_obj(key, Obj { val, lru });
    if ttl != 0 {
        ctx.db().set_expire(key, ttl);
    }
    ctx.signal_ready(key);
    ctx.notify(b'g', "restore", key);
    ctx.dirty(1);
    ctx.out().ok();
    Ok(())
}

/// BGREWRITEAOF: a forked child writes a new base; cron swaps the manifest when it is done
/// (see persist/aof.rs).
fn bgrewriteaof(ctx: &mut Ctx) -> CmdResult {
    persist::aof::bgrewrite_start(ctx.srv).map_err(CmdError::err)?;
    ctx.out()
        .simple("Background append only file rewriting started");
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[
    ("bgrewriteaof", bgrewriteaof),
    ("save", save),
    ("bgsave", bgsave),
    ("lastsave", lastsave),
    ("dump", dump),
    ("restore", restore),
    ("restore-asking", restore),
];

#[cfg(test)]
mod tests {
    use crate::testkit::TestServer;

    #[test]
    fn dump_restore_round_trip() {
        let mut t = TestServer::new();
        t.exec("SET s hello");
        t.exec("RPUSH l a b 1 2 300 -70000");
        t.exec("HSET h f v n 12");
        t.exec("SADD si 1 2 3");
        t.exec("SADD ss a b c");
        t.exec("ZADD z 1 a 2.5 b");
        for k in ["s", "l", "h", "si", "ss", "z"] {
            let argv = vec![b"DUMP".to_vec(), k.as_bytes().to_vec()];
            crate::cmd::call(&mut t.srv, &mut t.client, &argv);
            let r = std::mem::take(&mut t.client.reply.buf);
            assert_eq!(r[0], b'$');
            let start = r.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
            let payload = r[start..r.len() - 2].to_vec();
            let argv = vec![
                b"RESTORE".to_vec(),
                format!("{k}2").into_bytes(),
                b"0".to_vec(),
                payload.clone(),
            ];
            assert_eq!(t.exec_argv(&argv), "+OK\r\n", "{k}");
            assert!(t.exec_argv(&argv).starts_with("-BUSYKEY"));
            let d1 = t.exec(&format!("DEBUG DIGEST-VALUE {k}"));
            let d2 = t.exec(&format!("DEBUG DIGEST-VALUE {k}2"));
            assert_eq!(d1, d2, "{k}");
            let mut bad = payload.clone();
            let n = bad.len();
            bad[n - 1] ^= 1;
            let argv = vec![b"RESTORE".to_vec(), b"x".to_vec(), b"0".to_vec(), bad];
            assert_eq!(
                t.exec_argv(&argv),
                "-ERR DUMP payload version or checksum are wrong\r\n"
            );
        }
        assert_eq!(t.exec("DUMP nokey"), "$-1\r\n");
    }
}
