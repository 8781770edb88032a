//! cargo-fuzz target: see `zmtrio_fuzz::command`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zmtrio_fuzz::command(data));
