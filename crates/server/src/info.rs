//! INFO: the report of server state, in Redis 7.0's sections, field names and order.
//!
//! Each section is a function that appends `name:value\r\n` lines to a string; [`render`]
//! picks sections the way Redis does (no argument = the default set, `all`, `everything`,
//! `default`, or several section names) and joins them with blank lines. Values are real where
//! Cinnabar tracks them (memory from jemalloc and /proc, CPU from getrusage, counters from
//! `Stats`); features not built yet (persistence, replication, cluster) report the values an
//! idle Redis master without them would report, so clients that parse INFO keep working.
//! Latency percentiles are approximated by each command's mean (no histograms yet).

use std::fmt::Write;

use crate::server::Server;

/// Section names in Redis's output order, and whether each is part of the default set.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// Bytes allocated by the process as jemalloc sees them (refreshes jemalloc's stats epoch).
pub fn used_memory() -> u64 {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    stats::allocated::read().unwrap_or(0) as u64
}

fn jemalloc_stat(which: &str) -> u64 {
    use tikv_jemalloc_ctl::stats;
    let v = match which {
        "active" => stats::active::read(),
        "resident" => stats::resident::read(),
        _ => stats::allocated::read(),
    };
    v.unwrap_or(0) as u64
}

/// jemalloc's (allocated, active, resident) bytes, after refreshing its stats epoch.
pub fn allocator_stats() -> (u64, u64, u64) {
    let _ = tikv_jemalloc_ctl::epoch::advance();
    (
        jemalloc_stat("allocated"),
        jemalloc_stat("active"),
        jemalloc_stat("resident"),
    )
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Resident set size from /proc/self/statm (0 where unavailable).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * page_size())
        .unwrap_or(0)
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size()
    } else {
        0
    }
}

/// Redis's bytesToHuman: "919.26K", "6.46M", "0B".
pub fn human_bytes(n: u64) -> String {
    let d = n as f64;
    let units = [
        (1u64 << 50, "P"),
        (1u64 << 40, "T"),
        (1u64 << 30, "G"),
        (1u64 << 20, "M"),
        (1u64 << 10, "K"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (size, unit) in units {
        if n >= size {
            return format!("{:.2}{unit}", d / size as f64);
        }
    }
    format!("{n}B")
}

fn uname() -> (String, String, String) {
    // SAFETY: utsname is plain data; uname fills it or fails.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return ("Linux".into(), String::new(), String::new());
        }
        let s = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        (s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: rusage is plain data; getrusage fills it or fails.
    unsafe {
        let mut r: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut r) != 0 {
            return ("0.000000".into(), "0.000000".into());
        }
        let f = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
        (f(r.ru_stime), f(r.ru_utime))
    }
}

fn line(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}:{value}\r\n");
}

fn server(srv: &Server, out: &mut String) {
    let (os, release, machine) = uname();
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    let uptime = srv.uptime_secs();
    line(out, "redis_version", crate::REDIS_VERSION);
    line(out, "cinnabar_version", crate::CINNABAR_VERSION);
    line(out, "redis_git_sha1", "00000000");
    line(out, "redis_git_dirty", 0);
    line(out, "redis_build_id", "0");
    line(out, "redis_mode", "standalone");
    line(out, "os", format!("{os} {release} {machine}"));
    line(out, "arch_bits", usize::BITS);
    line(out, "monotonic_clock", "POSIX clock_gettime");
    line(out, "multiplexing_api", "epoll");
    line(out, "atomicvar_api", "c11-builtin");
    line(out, "gcc_version", "0.0.0");
    line(out, "process_id", std::process::id());
    let supervised = match srv.config.get("supervised").unwrap_or("no") {
        "systemd" => "systemd",
        "upstart" => "upstart",
        "auto" if std::env::var_os("NOTIFY_SOCKET").is_some() => "systemd",
        "auto" if std::env::var_os("UPSTART_JOB").is_some() => "upstart",
        _ => "no",
    };
    line(out, "process_supervised", supervised);
    line(out, "run_id", &srv.run_id);
    line(out, "tcp_port", srv.port);
    line(out, "server_time_usec", now_us);
    line(out, "uptime_in_seconds", uptime);
    line(out, "uptime_in_days", uptime / 86400);
    line(out, "hz", srv.config.hz);
    line(out, "configured_hz", srv.config.get("hz").unwrap_or("10"));
    line(out, "lru_clock", crate::db::lru::lru_clock(srv.now_ms));
    line(out, "executable", &srv.executable);
    line(
        out,
        "config_file",
        srv.config.config_file.as_deref().unwrap_or(""),
    );
    line(out, "io_threads_active", 0);
}

fn clients(srv: &Server, out: &mut String) {
    line(out, "connected_clients", srv.clients.len());
    line(out, "cluster_connections", 0);
    line(out, "maxclients", srv.config.maxclients);
    let (mut max_in, mut max_out) = (0usize, 0usize);
    for c in srv.clients.values() {
        if let Ok(c) = c.try_borrow() {
            max_in = max_in.max(c.qbuf);
            max_out = max_out.max(c.reply.buf.len());
        }
    }
    line(out, "client_recent_max_input_buffer", max_in);
    line(out, "client_recent_max_output_buffer", max_out);
    line(out, "blocked_clients", srv.blocked_clients);
    line(out, "tracking_clients", srv.tracking.clients);
    line(out, "clients_in_timeout_table", 0);
}

fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        "0.00".into()
    } else {
        format!("{:.2}", a as f64 / b as f64)
    }
}

fn memory(srv: &Server, out: &mut String) {
    let used = used_memory();
    let peak = srv.mem_peak.max(used);
    let rss = rss_bytes();
    let active = jemalloc_stat("active");
    let resident = jemalloc_stat("resident");
    let allocated = jemalloc_stat("allocated");
    let total = total_system_memory();
    let maxmemory = srv.config.maxmemory.max(0) as u64;
    line(out, "used_memory", used);
    line(out, "used_memory_human", human_bytes(used));
    line(out, "used_memory_rss", rss);
    line(out, "used_memory_rss_human", human_bytes(rss));
    line(out, "used_memory_peak", peak);
    line(out, "used_memory_peak_human", human_bytes(peak));
    line(
        out,
        "used_memory_peak_perc",
        format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64),
    );
    // Overhead is approximated by what the server used before any data arrived.
    let startup = srv.mem_startup.min(used);
    let dataset = used - startup;
    line(out, "used_memory_overhead", startup);
    line(out, "used_memory_startup", startup);
    line(out, "used_memory_dataset", dataset);
    line(
        out,
        "used_memory_dataset_perc",
        format!("{:.2}%", dataset as f64 * 100.0 / dataset.max(1) as f64),
    );
    line(out, "allocator_allocated", allocated);
    line(out, "allocator_active", active);
    line(out, "allocator_resident", resident);
    line(out, "total_system_memory", total);
    line(out, "total_system_memory_human", human_bytes(total));
    let (lua_mem, scripts, script_bytes, fn_count, lib_count, fn_bytes) =
        crate::scripting::memory_stats(srv);
    let lua_mem = lua_mem as u64;
    let vm_total = lua_mem;
    for (k, v) in [
        ("used_memory_lua", lua_mem.to_string()),
        ("used_memory_vm_eval", lua_mem.to_string()),
        ("used_memory_lua_human", human_bytes(lua_mem)),
        ("used_memory_scripts_eval", script_bytes.to_string()),
        ("number_of_cached_scripts", scripts.to_string()),
        ("number_of_functions", fn_count.to_string()),
        ("number_of_libraries", lib_count.to_string()),
        ("used_memory_vm_functions", "0".to_string()),
        ("used_memory_vm_total", vm_total.to_string()),
        ("used_memory_vm_total_human", human_bytes(vm_total)),
        ("used_memory_functions", fn_bytes.to_string()),
        ("used_memory_scripts", (script_bytes + fn_bytes).to_string()),
        (
            "used_memory_scripts_human",
            human_bytes((script_bytes + fn_bytes) as u64),
        ),
    ] {
        line(out, k, v);
    }
    line(out, "maxmemory", maxmemory);
    line(out, "maxmemory_human", human_bytes(maxmemory));
    line(
        out,
        "maxmemory_policy",
        srv.config.get("maxmemory-policy").unwrap_or("noeviction"),
    );
    line(out, "allocator_frag_ratio", ratio(active, allocated));
    line(
        out,
        "allocator_frag_bytes",
        active.saturating_sub(allocated),
    );
    line(out, "allocator_rss_ratio", ratio(resident, active));
    line(out, "allocator_rss_bytes", resident.saturating_sub(active));
    line(out, "rss_overhead_ratio", ratio(rss, resident));
    line(out, "rss_overhead_bytes", rss as i64 - resident as i64);
    line(out, "mem_fragmentation_ratio", ratio(rss, used));
    line(out, "mem_fragmentation_bytes", rss as i64 - used as i64);
    for k in [
        "mem_not_counted_for_evict",
        "mem_replication_backlog",
        "mem_total_replication_buffers",
        "mem_clients_slaves",
        "mem_clients_normal",
        "mem_cluster_links",
        "mem_aof_buffer",
    ] {
        line(out, k, 0);
    }
    line(out, "mem_allocator", "jemalloc-5.3.0");
    line(out, "active_defrag_running", 0);
    use std::sync::atomic::Ordering::Relaxed;
    line(
        out,
        "lazyfree_pending_objects",
        crate::lazyfree::PENDING.load(Relaxed),
    );
    line(
        out,
        "lazyfreed_objects",
        crate::lazyfree::FREED.load(Relaxed),
    );
}

fn persistence(srv: &Server, out: &mut String) {
    for (k, v) in [
        (
            "loading",
            ["0", "1"][crate::persist::loading::is_loading() as usize],
        ),
        ("async_loading", "0"),
        ("current_cow_peak", "0"),
        ("current_cow_size", "0"),
        ("current_cow_size_age", "0"),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", "0"),
        ("current_save_keys_total", "0"),
    ] {
        line(out, k, v);
    }
    for (k, v) in crate::persist::info_fields(srv) {
        line(out, k, v);
    }
    let aof = crate::persist::aof::info_fields(srv);
    let known = [
        "aof_rewrites",
        "aof_last_rewrite_time_sec",
        "aof_last_write_status",
        "aof_rewrite_in_progress",
        "aof_current_rewrite_time_sec",
        "aof_last_bgrewrite_status",
    ];
    line(
        out,
        "aof_enabled",
        (srv.config.get("appendonly") == Some("yes")) as u8,
    );
    for (k, v) in [
        ("aof_rewrite_in_progress", "0"),
        ("aof_rewrite_scheduled", "0"),
        ("aof_last_rewrite_time_sec", "-1"),
        ("aof_current_rewrite_time_sec", "-1"),
        ("aof_last_bgrewrite_status", "ok"),
        ("aof_rewrites", "0"),
        ("aof_rewrites_consecutive_failures", "0"),
        ("aof_last_write_status", "ok"),
        ("aof_last_cow_size", "0"),
        ("module_fork_in_progress", "0"),
        ("module_fork_last_cow_size", "0"),
    ] {
        // Rewrite counters and the live aof_* sizes come from persist/aof.rs.
        match aof.iter().find(|(n, _)| *n == k) {
            Some((_, v)) => line(out, k, v),
            None => line(out, k, v),
        }
    }
    for (k, v) in aof
        .iter()
        .filter(|(n, _)| n.starts_with("aof_") && !known.contains(n))
    {
        line(out, k, v);
    }
    for (k, v) in crate::persist::loading::info_fields() {
        line(out, k, v);
    }
}

fn stats(srv: &Server, out: &mut String) {
    let s = &srv.stats;
    let expired: u64 = srv.dbs.iter().map(|d| d.expired_keys).sum();
    line(out, "total_connections_received", s.connections_received);
    line(out, "total_commands_processed", s.commands_processed);
    line(
        out,
        "instantaneous_ops_per_sec",
        s.inst_ops.mean().round() as u64,
    );
    line(out, "total_net_input_bytes", s.net_input_bytes);
    line(out, "total_net_output_bytes", s.net_output_bytes);
    line(out, "total_net_repl_input_bytes", 0);
    line(out, "total_net_repl_output_bytes", 0);
    line(
        out,
        "instantaneous_input_kbps",
        format!("{:.2}", s.inst_net_input.mean() / 1024.0),
    );
    line(
        out,
        "instantaneous_output_kbps",
        format!("{:.2}", s.inst_net_output.mean() / 1024.0),
    );
    line(out, "instantaneous_input_repl_kbps", "0.00");
    line(out, "instantaneous_output_repl_kbps", "0.00");
    line(out, "rejected_connections", s.rejected_connections);
    line(out, "sync_full", 0);
    line(out, "sync_partial_ok", 0);
    line(out, "sync_partial_err", 0);
    line(out, "expired_keys", expired);
    line(
        out,
        "expired_stale_perc",
        format!("{:.2}", s.expired_stale_perc),
    );
    line(out, "expired_time_cap_reached_count", 0);
    line(out, "expire_cycle_cpu_milliseconds", 0);
    line(out, "evicted_keys", 0);
    line(out, "evicted_clients", s.evicted_clients);
    line(out, "total_eviction_exceeded_time", 0);
    line(out, "current_eviction_exceeded_time", 0);
    line(out, "keyspace_hits", s.keyspace_hits);
    line(out, "keyspace_misses", s.keyspace_misses);
    line(out, "pubsub_channels", srv.pubsub.channels.len());
    line(out, "pubsub_patterns", srv.pubsub.patterns.len());
    line(out, "pubsubshard_channels", srv.pubsub.shard.len());
    for k in [
        "latest_fork_usec",
        "total_forks",
        "migrate_cached_sockets",
        "slave_expires_tracked_keys",
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
    ] {
        line(out, k, 0);
    }
    let (keys, items, prefixes) = srv.tracking.totals();
    line(out, "tracking_total_keys", keys);
    line(out, "tracking_total_items", items);
    line(out, "tracking_total_prefixes", prefixes);
    line(out, "unexpected_error_replies", s.unexpected_error_replies);
    line(out, "total_error_replies", s.total_error_replies);
    line(out, "dump_payload_sanitizations", 0);
    line(out, "total_reads_processed", 0);
    line(out, "total_writes_processed", 0);
    line(out, "io_threaded_reads_processed", 0);
    line(out, "io_threaded_writes_processed", 0);
    line(out, "reply_buffer_shrinks", 0);
    line(out, "reply_buffer_expands", 0);
}

fn replication(srv: &Server, out: &mut String) {
    line(out, "role", "master");
    line(out, "connected_slaves", 0);
    line(out, "master_failover_state", "no-failover");
    line(out, "master_replid", &srv.replid);
    line(out, "master_replid2", "0".repeat(40));
    line(out, "master_repl_offset", 0);
    line(out, "second_repl_offset", -1);
    line(out, "repl_backlog_active", 0);
    line(
        out,
        "repl_backlog_size",
        srv.config.get("repl-backlog-size").unwrap_or("1048576"),
    );
    line(out, "repl_backlog_first_byte_offset", 0);
    line(out, "repl_backlog_histlen", 0);
}

fn cpu(out: &mut String) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    let (tsys, tuser) = rusage(libc::RUSAGE_THREAD);
    line(out, "used_cpu_sys", sys);
    line(out, "used_cpu_user", user);
    line(out, "used_cpu_sys_children", csys);
    line(out, "used_cpu_user_children", cuser);
    line(out, "used_cpu_sys_main_thread", tsys);
    line(out, "used_cpu_user_main_thread", tuser);
}

fn commandstats(srv: &Server, out: &mut String) {
    for (name, c) in srv.stats.commands_by_name() {
        if c.calls == 0 && c.rejected_calls == 0 && c.failed_calls == 0 {
            continue;
        }
        let per = if c.calls == 0 {
            0.0
        } else {
            c.usec as f64 / c.calls as f64
        };
        let _ = write!(
            out,
            "cmdstat_{name}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
            c.calls, c.usec, c.rejected_calls, c.failed_calls
        );
    }
}

fn errorstats(srv: &Server, out: &mut String) {
    for (code, n) in &srv.stats.errors {
        let _ = write!(out, "errorstat_{code}:count={n}\r\n");
    }
}

fn latencystats(srv: &Server, out: &mut String) {
    if srv.config.get("latency-tracking") != Some("yes") {
        return;
    }
    let percentiles: Vec<&str> = srv
        .config
        .get("latency-tracking-info-percentiles")
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    for (name, c) in srv.stats.commands_by_name() {
        if c.calls == 0 {
            continue;
        }
        let mean = c.usec as f64 / c.calls as f64;
        let fields: Vec<String> = percentiles
            .iter()
            .map(|p| format!("p{p}={mean:.3}"))
            .collect();
        let _ = write!(
            out,
            "latency_percentiles_usec_{name}:{}\r\n",
            fields.join(",")
        );
    }
}

fn keyspace(srv: &Server, out: &mut String) {
    for db in &srv.dbs {
        if db.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "db{}:keys={},expires={},avg_ttl={}\r\n",
            db.id,
            db.len(),
            db.expires.len(),
            db.avg_ttl
        );
    }
}

/// Builds the INFO text for the given section arguments (empty = default sections).
pub fn render(srv: &Server, args: &[Vec<u8>]) -> String {
    let mut wanted: Vec<&str> = Vec::new();
    let add_default = |w: &mut Vec<&str>| {
        w.extend(SECTIONS.iter().filter(|(_, d)| *d).map(|(n, _)| *n));
    };
    if args.is_empty() {
        add_default(&mut wanted);
    }
    for a in args {
        let a = crate::util::lower(a);
        match a.as_str() {
            "default" => add_default(&mut wanted),
            "all" | "everything" => wanted.extend(SECTIONS.iter().map(|(n, _)| *n)),
            other => {
                if let Some((n, _)) = SECTIONS.iter().find(|(n, _)| *n == other) {
                    wanted.push(n);
                }
            }
        }
    }
    let mut out = String::new();
    let mut first = true;
    for (name, _) in SECTIONS {
        if !wanted.contains(name) {
            continue;
        }
        if !first {
            out.push_str("\r\n");
        }
        first = false;
        let title = match *name {
            "cpu" => "CPU".to_string(),
            n => {
                let mut t = n.to_string();
                t[..1].make_ascii_uppercase();
                t
            }
        };
        let _ = write!(out, "# {title}\r\n");
        match *name {
            "server" => server(srv, &mut out),
            "clients" => clients(srv, &mut out),
            "memory" => memory(srv, &mut out),
            "persistence" => persistence(srv, &mut out),
            "stats" => stats(srv, &mut out),
            "replication" => replication(srv, &mut out),
            "cpu" => cpu(&mut out),
            "commandstats" => commandstats(srv, &mut out),
            "errorstats" => errorstats(srv, &mut out),
            "latencystats" => latencystats(srv, &mut out),
            "cluster" => line(&mut out, "cluster_enabled", 0),
            "keyspace" => keyspace(srv, &mut out),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human() {
        assert_eq!(human_bytes(0), "0B");
        assert_eq!(human_bytes(1023), "1023B");
        assert_eq!(human_bytes(941320), "919.26K");
        assert_eq!(human_bytes(6778880), "6.46M");
    }
}
