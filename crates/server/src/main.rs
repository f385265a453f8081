//! `cinnabar-server [config-file] [--directive value ...]`, as `redis-server`.

// jemalloc: less fragmentation than glibc malloc for many small objects, and the stats INFO
// memory reports (as Redis, which also ships with jemalloc).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc options, read by jemalloc at start-up. `background_thread:true` moves the purging
/// of freed memory (e.g. the old bucket array after a rehash) to jemalloc's own thread, so it
/// never stalls a command; Redis enables the same (`jemalloc-bg-thread yes`).
#[export_name = "_rjem_malloc_conf"]
pub static MALLOC_CONF: &[u8] = b"background_thread:true\0";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(cinnabar_server::run(args));
}
