//! cargo-fuzz target: see `zmtrio_fuzz::z85`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zmtrio_fuzz::z85(data));
