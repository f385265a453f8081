//! `cinnabar-server [config-file] [--directive value ...]`, as `redis-server`.

// jemalloc: less fragmentation than glibc malloc for many small objects, and the stats INFO
// memory reports (as Redis, which also ships with jemalloc).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(cinnabar_server::run(args));
}
