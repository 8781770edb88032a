//! The cross-thread ring under load: two OS threads, items in order, each one once, with
//! the wake protocol driven by real thread parking (a lost wake hangs, and the test fails
//! on its deadline).
//!
//! The default run moves 200 000 items; the full ten million run is ignored by default:
//! `cargo test --release --test ring_stress -- --ignored`.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use _core::ring::ring;

/// Wakes counted by each side, to show they come per burst, not per item.
#[derive(Debug, Default)]
struct Wakes {
    consumer: u64,
    producer: u64,
}

/// Moves `count` items through a ring of `limit` (pushes in batches of `batch`, pops in
/// batches of `batch`), parking each thread whenever the ring tells it to wait.
fn move_items(count: u64, limit: usize, batch: usize) -> Wakes {
    let (mut producer, mut consumer) = ring::<u64>(limit, limit);
    let main = thread::current();
    let (done_tx, done_rx) = mpsc::channel();
    let consumer_thread = thread::spawn(move || {
        let mut expected = 0;
        let mut producer_wakes = 0;
        let mut out = Vec::with_capacity(batch);
        loop {
            out.clear();
            if consumer.pop_many(batch, &mut out) {
                producer_wakes += 1;
                main.unpark();
            }
            for &item in &out {
                assert_eq!(item, expected, "items arrive in order, each once");
                expected += 1;
            }
            if out.is_empty() {
                if consumer.is_finished() {
                    break;
                }
                thread::park();
            }
        }
        done_tx.send(expected).expect("main waits");
        producer_wakes
    });
    let consumer_handle = consumer_thread.thread().clone();
    let mut consumer_wakes = 0;
    let mut next = 0;
    while next < count {
        let end = count.min(next + batch as u64);
        let mut items = next..end;
        let (taken, wake) = producer.push_many(&mut items, batch);
        next += taken as u64;
        if wake {
            consumer_wakes += 1;
            consumer_handle.unpark();
        }
        if taken == 0 {
            thread::park();
        }
    }
    if producer.close() {
        consumer_wakes += 1;
        consumer_handle.unpark();
    }
    let received = done_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the consumer finishes (a lost wake would hang it)");
    assert_eq!(received, count);
    let producer_wakes = consumer_thread.join().expect("consumer thread");
    Wakes {
        consumer: consumer_wakes,
        producer: producer_wakes,
    }
}

#[test]
fn items_cross_in_order_in_batches_and_one_by_one() {
    let wakes = move_items(200_000, 1000, 64);
    assert!(wakes.consumer < 200_000 / 64 + 2, "{wakes:?}");
    move_items(20_000, 4, 1);
}

#[test]
#[ignore = "ten million items: run with --release --ignored"]
fn ten_million_items_cross_in_order() {
    let started = std::time::Instant::now();
    let wakes = move_items(10_000_000, 1000, 256);
    eprintln!(
        "10M items in {:?}; wakes: {wakes:?} ({:.5} per item)",
        started.elapsed(),
        (wakes.consumer + wakes.producer) as f64 / 1e7
    );
    let wakes = move_items(10_000_000, 1000, 1);
    eprintln!(
        "10M items one by one in {:?}; wakes: {wakes:?}",
        started.elapsed()
    );
}
