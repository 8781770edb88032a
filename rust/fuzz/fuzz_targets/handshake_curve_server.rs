//! cargo-fuzz target: see `zmtrio_fuzz::handshake_curve_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zmtrio_fuzz::handshake_curve_server(data));
