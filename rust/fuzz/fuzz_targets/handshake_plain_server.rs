//! cargo-fuzz target: see `zmtrio_fuzz::handshake_plain_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zmtrio_fuzz::handshake_plain_server(data));
