//! `cinnabar-check-aof [--fix|--truncate-to-timestamp ts] <file.manifest|file.aof>`: checks
//! (and optionally repairs) an AOF set or file as `redis-check-aof` does (see
//! `persist::check`). Exit code 0 when valid or repaired, 1 otherwise.

fn main() {
    let mut argv = std::env::args();
    let program = argv.next().unwrap_or_else(|| "cinnabar-check-aof".into());
    let args: Vec<String> = argv.collect();
    let mut out = std::io::stdout().lock();
    let mut input = std::io::stdin().lock();
    std::process::exit(cinnabar_server::persist::check::check_aof_main(
        &program, &args, &mut out, &mut input,
    ));
}
