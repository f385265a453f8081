//! Arbitrary bytes to the client-side reply decoder: errors are fine, panics are not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cinnabar_resp::Frame::parse(data);
});
