//! The directive table: every configuration directive Redis 7.0 knows, one row each, with its
//! kind (type and bounds), default and flags (immutable, protected, hidden). Aliases (slaveof,
//! hash-max-ziplist-*, ...) live in the row of their main name, so both spellings share one
//! value, as in Redis. Defaults are what `redis-server` 7.0.15 reports with no config file.

use super::{Directive, Kind, Special};

const fn d(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable: true,
        protected: false,
        hidden: false,
    }
}
const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable: false,
        protected: false,
        hidden: false,
    }
}
const fn aliased(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Directive {
    Directive {
        name,
        alias: Some(alias),
        kind,
        default,
        mutable: true,
        protected: false,
        hidden: false,
    }
}

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

const fn al(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Directive {
    aliased(name, alias, kind, default)
}
const fn hidden(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable: true,
        protected: false,
        hidden: true,
    }
}
const fn protected(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable: true,
        protected: true,
        hidden: false,
    }
}
const fn fixed_al(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Directive {
    Directive {
        name,
        alias: Some(alias),
        kind,
        default,
        mutable: false,
        protected: false,
        hidden: false,
    }
}

const B: Kind = Kind::Bool;
const STR: Kind = Kind::Str;
const NUM: Kind = Kind::Int(0, INT_MAX);
const PORT: Kind = Kind::Int(0, 65535);
const LNUM: Kind = Kind::Int(0, LONG_MAX);
const MEM: Kind = Kind::Memory(0, LONG_MAX);
const TLS_AUTH: Kind = Kind::Enum(&["no", "yes", "optional"]);
const YES_NO_LOCAL: Kind = Kind::Enum(&["no", "yes", "local"]);
const SHUTDOWN_FLAGS: Kind = Kind::Flags(&["default", "save", "nosave", "now", "force"]);

/// Every directive Redis 7.0 knows, one row each (aliases in the row of their main name).
pub static DIRECTIVES: &[Directive] = &[
    // Network and process.
    d("port", PORT, "6379"),
    d("bind", Kind::Special(Special::Bind), "* -::*"),
    d("bind-source-addr", STR, ""),
    d("protected-mode", B, "yes"),
    fixed("tcp-backlog", NUM, "511"),
    d("tcp-keepalive", NUM, "300"),
    fixed("unixsocket", STR, ""),
    fixed("unixsocketperm", Kind::Octal, "0"),
    fixed("socket-mark-id", Kind::Int(0, UINT_MAX), "0"),
    d("timeout", NUM, "0"),
    d("maxclients", Kind::Int(1, UINT_MAX), "10000"),
    fixed("daemonize", B, "no"),
    fixed(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    ),
    fixed("pidfile", STR, ""),
    d(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
        "notice",
    ),
    fixed("logfile", STR, ""),
    fixed("syslog-enabled", B, "no"),
    fixed("syslog-ident", STR, "redis"),
    fixed(
        "syslog-facility",
        Kind::Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]),
        "local0",
    ),
    fixed("databases", Kind::Int(1, INT_MAX), "16"),
    fixed("always-show-logo", B, "no"),
    fixed("set-proc-title", B, "yes"),
    d(
        "proc-title-template",
        STR,
        "{title} {listen-addr} {server-mode}",
    ),
    fixed("enable-protected-configs", YES_NO_LOCAL, "no"),
    fixed("enable-debug-command", YES_NO_LOCAL, "no"),
    fixed("enable-module-command", YES_NO_LOCAL, "no"),
    fixed("io-threads", Kind::Int(1, 128), "1"),
    fixed("io-threads-do-reads", B, "no"),
    fixed("server_cpulist", STR, ""),
    fixed("bio_cpulist", STR, ""),
    fixed("aof_rewrite_cpulist", STR, ""),
    fixed("bgsave_cpulist", STR, ""),
    d("ignore-warnings", STR, ""),
    fixed("disable-thp", B, "yes"),
    d(
        "oom-score-adj",
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
        "no",
    ),
    d(
        "oom-score-adj-values",
        Kind::Special(Special::OomScoreAdj),
        "0 200 800",
    ),
    d("shutdown-on-sigint", SHUTDOWN_FLAGS, "default"),
    d("shutdown-on-sigterm", SHUTDOWN_FLAGS, "default"),
    d("shutdown-timeout", NUM, "10"),
    d("crash-log-enabled", B, "yes"),
    d("crash-memcheck-enabled", B, "yes"),
    fixed("use-exit-on-panic", B, "no").hide(),
    hidden("watchdog-period", NUM, "0"),
    // Security.
    d("requirepass", STR, ""),
    fixed("aclfile", STR, ""),
    d("acllog-max-len", LNUM, "128"),
    d(
        "acl-pubsub-default",
        Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
    ),
    // Snapshotting and AOF.
    d(
        "save",
        Kind::Special(Special::Save),
        "3600 1 300 100 60 10000",
    ),
    d("stop-writes-on-bgsave-error", B, "yes"),
    d("rdbcompression", B, "yes"),
    fixed("rdbchecksum", B, "yes"),
    d(
        "sanitize-dump-payload",
        Kind::Enum(&["no", "yes", "clients"]),
        "no",
    ),
    protected("dbfilename", STR, "dump.rdb"),
    d("rdb-del-sync-files", B, "no"),
    protected("dir", Kind::Special(Special::Dir), ""),
    d("rdb-save-incremental-fsync", B, "yes"),
    hidden("rdb-key-save-delay", Kind::Int(INT_MIN, INT_MAX), "0"),
    hidden("key-load-delay", Kind::Int(INT_MIN, INT_MAX), "0"),
    hidden(
        "loading-process-events-interval-bytes",
        Kind::Int(1024, INT_MAX),
        "2097152",
    ),
    d("appendonly", B, "no"),
    fixed("appendfilename", STR, "appendonly.aof"),
    fixed("appenddirname", STR, "appendonlydir"),
    d(
        "appendfsync",
        Kind::Enum(&["everysec", "always", "no"]),
        "everysec",
    ),
    d("no-appendfsync-on-rewrite", B, "no"),
    d("auto-aof-rewrite-percentage", NUM, "100"),
    d("auto-aof-rewrite-min-size", MEM, "67108864"),
    d("aof-load-truncated", B, "yes"),
    d("aof-use-rdb-preamble", B, "yes"),
    d("aof-timestamp-enabled", B, "no"),
    d("aof-rewrite-incremental-fsync", B, "yes"),
    d("aof-disable-auto-gc", B, "no"),
    // Replication.
    fixed_al(
        "replicaof",
        "slaveof",
        Kind::Special(Special::ReplicaOf),
        "",
    ),
    d("masterauth", STR, ""),
    d("masteruser", STR, ""),
    al(
        "replica-serve-stale-data",
        "slave-serve-stale-data",
        B,
        "yes",
    ),
    al("replica-read-only", "slave-read-only", B, "yes"),
    al(
        "replica-ignore-maxmemory",
        "slave-ignore-maxmemory",
        B,
        "yes",
    ),
    al("replica-lazy-flush", "slave-lazy-flush", B, "no"),
    al("replica-priority", "slave-priority", NUM, "100"),
    al("replica-announce-ip", "slave-announce-ip", STR, ""),
    al("replica-announce-port", "slave-announce-port", PORT, "0"),
    d("replica-announced", B, "yes"),
    d("replica-ignore-disk-write-errors", B, "no"),
    d("repl-diskless-sync", B, "yes"),
    d("repl-diskless-sync-delay", NUM, "5"),
    d("repl-diskless-sync-max-replicas", NUM, "0"),
    d(
        "repl-diskless-load",
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
    ),
    al(
        "repl-ping-replica-period",
        "repl-ping-slave-period",
        Kind::Int(1, INT_MAX),
        "10",
    ),
    d("repl-timeout", Kind::Int(1, INT_MAX), "60"),
    d("repl-disable-tcp-nodelay", B, "no"),
    d("repl-backlog-size", Kind::Memory(1, LONG_MAX), "1048576"),
    d("repl-backlog-ttl", LNUM, "3600"),
    al("min-replicas-to-write", "min-slaves-to-write", NUM, "0"),
    al("min-replicas-max-lag", "min-slaves-max-lag", NUM, "10"),
    d(
        "propagation-error-behavior",
        Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
    ),
    // Memory and eviction.
    d("maxmemory", Kind::UMemory, "0"),
    d(
        "maxmemory-policy",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
    ),
    d("maxmemory-samples", Kind::Int(1, INT_MAX), "5"),
    d("maxmemory-eviction-tenacity", Kind::Int(0, 100), "10"),
    d(
        "maxmemory-clients",
        Kind::Special(Special::MemoryOrPercent),
        "0",
    ),
    d("lfu-log-factor", NUM, "10"),
    d("lfu-decay-time", NUM, "1"),
    d("active-expire-effort", Kind::Int(1, 10), "1"),
    d("lazyfree-lazy-eviction", B, "no"),
    d("lazyfree-lazy-expire", B, "no"),
    d("lazyfree-lazy-server-del", B, "no"),
    d("lazyfree-lazy-user-del", B, "no"),
    d("lazyfree-lazy-user-flush", B, "no"),
    d("activedefrag", B, "no"),
    d(
        "active-defrag-ignore-bytes",
        Kind::Memory(1, LONG_MAX),
        "104857600",
    ),
    d("active-defrag-threshold-lower", Kind::Int(0, 1000), "10"),
    d("active-defrag-threshold-upper", Kind::Int(0, 1000), "100"),
    d("active-defrag-cycle-min", Kind::Int(1, 99), "1"),
    d("active-defrag-cycle-max", Kind::Int(1, 99), "25"),
    d(
        "active-defrag-max-scan-fields",
        Kind::Int(1, LONG_MAX),
        "1000",
    ),
    d("jemalloc-bg-thread", B, "yes"),
    d("activerehashing", B, "yes"),
    // Limits and encodings.
    d(
        "proto-max-bulk-len",
        Kind::Memory(1024 * 1024, LONG_MAX),
        "536870912",
    ),
    d(
        "client-query-buffer-limit",
        Kind::Memory(1024 * 1024, LONG_MAX),
        "1073741824",
    ),
    d(
        "client-output-buffer-limit",
        Kind::Special(Special::ClientOutputBufferLimit),
        "",
    ),
    d("hz", NUM, "10"),
    d("dynamic-hz", B, "yes"),
    al(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        LNUM,
        "512",
    ),
    al(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        MEM,
        "64",
    ),
    al(
        "list-max-listpack-size",
        "list-max-ziplist-size",
        Kind::Int(INT_MIN, INT_MAX),
        "-2",
    ),
    d("list-compress-depth", NUM, "0"),
    d("set-max-intset-entries", LNUM, "512"),
    al(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        LNUM,
        "128",
    ),
    al(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        MEM,
        "64",
    ),
    d("hll-sparse-max-bytes", MEM, "3000"),
    d("stream-node-max-bytes", MEM, "4096"),
    d("stream-node-max-entries", LNUM, "100"),
    d("tracking-table-max-keys", LNUM, "1000000"),
    // Monitoring.
    d(
        "notify-keyspace-events",
        Kind::Special(Special::NotifyKeyspaceEvents),
        "",
    ),
    d("slowlog-log-slower-than", Kind::Int(-1, LONG_MAX), "10000"),
    d("slowlog-max-len", LNUM, "128"),
    d("latency-monitor-threshold", LNUM, "0"),
    d("latency-tracking", B, "yes"),
    d(
        "latency-tracking-info-percentiles",
        Kind::Special(Special::Percentiles),
        "50 99 99.9",
    ),
    al("busy-reply-threshold", "lua-time-limit", LNUM, "5000"),
    // Cluster.
    fixed("cluster-enabled", B, "no"),
    fixed("cluster-config-file", STR, "nodes.conf"),
    d("cluster-node-timeout", LNUM, "15000"),
    fixed("cluster-port", PORT, "0"),
    d("cluster-announce-ip", STR, ""),
    d("cluster-announce-hostname", STR, ""),
    d("cluster-announce-port", PORT, "0"),
    d("cluster-announce-bus-port", PORT, "0"),
    d("cluster-announce-tls-port", PORT, "0"),
    al(
        "cluster-replica-validity-factor",
        "cluster-slave-validity-factor",
        NUM,
        "10",
    ),
    d("cluster-migration-barrier", NUM, "1"),
    d("cluster-allow-replica-migration", B, "yes"),
    d("cluster-require-full-coverage", B, "yes"),
    al(
        "cluster-replica-no-failover",
        "cluster-slave-no-failover",
        B,
        "no",
    ),
    d("cluster-allow-reads-when-down", B, "no"),
    d("cluster-allow-pubsubshard-when-down", B, "yes"),
    d("cluster-link-sendbuf-limit", Kind::UMemory, "0"),
    d(
        "cluster-preferred-endpoint-type",
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
    ),
    // TLS (accepted and stored; TLS itself is not implemented).
    d("tls-port", PORT, "0"),
    d("tls-cert-file", STR, ""),
    d("tls-key-file", STR, ""),
    d("tls-key-file-pass", STR, ""),
    d("tls-client-cert-file", STR, ""),
    d("tls-client-key-file", STR, ""),
    d("tls-client-key-file-pass", STR, ""),
    d("tls-dh-params-file", STR, ""),
    d("tls-ca-cert-file", STR, ""),
    d("tls-ca-cert-dir", STR, ""),
    d("tls-protocols", STR, ""),
    d("tls-ciphers", STR, ""),
    d("tls-ciphersuites", STR, ""),
    d("tls-prefer-server-ciphers", B, "no"),
    d("tls-session-caching", B, "yes"),
    d("tls-session-cache-size", NUM, "20480"),
    d("tls-session-cache-timeout", NUM, "300"),
    d("tls-cluster", B, "no"),
    d("tls-replication", B, "no"),
    d("tls-auth-clients", TLS_AUTH, "yes"),
];
