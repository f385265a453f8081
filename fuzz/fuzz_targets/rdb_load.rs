//! Feeds arbitrary bytes to the RDB loader as a whole file: the walk every load path uses
//! (start-up, DEBUG RELOAD, AOF base, cinnabar-check-rdb) and, for inputs that pass it, a full
//! load into a server. Inputs without the signature get one prepended so the fuzzer spends its
//! time past the header. Errors are expected; a panic, a hang or an allocation out of
//! proportion to the input is a bug.
#![no_main]
use cinnabar_server::persist::{rdb_load, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut img;
    let input = if data.starts_with(b"REDIS") {
        data
    } else {
        img = b"REDIS0010".to_vec();
        img.extend_from_slice(data);
        &img[..]
    };
    let lim = Limits::defaults();
    let ok = rdb_load::walk(input, &lim, false, &mut |_, _| Ok(())).is_ok();
    let _ = rdb_load::walk(input, &lim, true, &mut |_, _| Ok(()));
    if ok {
        let mut t = cinnabar_server::testkit::TestServer::new();
        let _ = rdb_load::load_dataset(&mut t.srv, input);
    }
});
