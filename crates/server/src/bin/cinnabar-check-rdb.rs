//! `cinnabar-check-rdb <file>`: checks an RDB file as `redis-check-rdb` does (see
//! `persist::check`). Exit code 0 when the file is valid, 1 otherwise.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout().lock();
    std::process::exit(cinnabar_server::persist::check::check_rdb_main(
        &args, &mut out,
    ));
}
