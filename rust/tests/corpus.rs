//! Replays every input of the fuzz seed corpus (`rust/fuzz/corpus/<target>/`) through the
//! same harness the fuzzer runs, under stable `cargo test`: CI checks each kept input,
//! crashers found by fuzzing included, without nightly.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::fs;
use std::path::Path;

/// Runs `target` on every file of its corpus folder; fails if the folder is empty.
fn replay(target: &str, harness: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rust/fuzz/corpus")
        .join(target);
    let mut count = 0;
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("corpus entry").path();
        let input = fs::read(&path).expect("corpus file");
        let outcome = std::panic::catch_unwind(|| harness(&input));
        assert!(outcome.is_ok(), "{} fails the harness", path.display());
        count += 1;
    }
    assert!(count > 0, "no corpus inputs in {}", dir.display());
}

#[test]
fn frame() {
    replay("frame", harness::frame);
}

#[test]
fn greeting() {
    replay("greeting", harness::greeting);
}

#[test]
fn command() {
    replay("command", harness::command);
}

#[test]
fn z85() {
    replay("z85", harness::z85);
}

#[test]
fn handshake_null() {
    replay("handshake_null", harness::handshake_null);
}

#[test]
fn handshake_plain_client() {
    replay("handshake_plain_client", harness::handshake_plain_client);
}

#[test]
fn handshake_plain_server() {
    replay("handshake_plain_server", harness::handshake_plain_server);
}

#[test]
fn handshake_curve_client() {
    replay("handshake_curve_client", harness::handshake_curve_client);
}

#[test]
fn handshake_curve_server() {
    replay("handshake_curve_server", harness::handshake_curve_server);
}
