//! Feeds arbitrary bytes to the DUMP/RESTORE payload decoder. The CRC check
//! (`verify_payload`) is run but not required, so the fuzzer reaches the value parser; every
//! value type byte is reachable. Errors are expected; a panic, a hang or an allocation out of
//! proportion to the input is a bug.
#![no_main]
use cinnabar_server::persist::{rdb_load, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rdb_load::verify_payload(data);
    let _ = rdb_load::restore_value(data, &Limits::defaults());
});
