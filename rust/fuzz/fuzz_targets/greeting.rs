//! cargo-fuzz target: see `zmtrio_fuzz::greeting`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zmtrio_fuzz::greeting(data));
