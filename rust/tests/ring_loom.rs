//! Every interleaving of the cross-thread ring's push, pop, close and wake, for small
//! bounds, checked with loom. A wake is a [`Signal`] (a wake that comes before the wait is
//! kept, as a trio token's queued callback is), so a lost wake is a deadlock loom reports,
//! and a torn or duplicated item fails an assertion.
//!
//! `scripts/loom` runs it (`RUSTFLAGS="--cfg loom" cargo test --release --test ring_loom`).
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use _core::ring::{ring, Producer};

/// A wake for one waiting thread that is remembered until waited for. (Loom's own
/// park/unpark can't be used: an unpark reaching a thread blocked in `join` aborts the
/// model, tokio-rs/loom#249.)
#[derive(Default)]
struct Signal {
    woken: Mutex<bool>,
    condvar: Condvar,
}

impl Signal {
    fn wake(&self) {
        *self.woken.lock().unwrap() = true;
        self.condvar.notify_one();
    }

    fn wait(&self) {
        let mut woken = self.woken.lock().unwrap();
        while !*woken {
            woken = self.condvar.wait(woken).unwrap();
        }
        *woken = false;
    }
}

/// The producer's and the consumer's wakes.
fn signals() -> (Arc<Signal>, Arc<Signal>) {
    (Arc::new(Signal::default()), Arc::new(Signal::default()))
}

/// An item that counts its drops, to prove each item is dropped exactly once.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Pushes `item`, waiting for a wake while the ring refuses it; false (the item dropped)
/// if the consumer closed, as nobody would wake the producer again.
fn push_or_wait<T>(
    producer: &mut Producer<T>,
    mut item: T,
    producer_signal: &Signal,
    consumer_signal: &Signal,
) -> bool {
    loop {
        match producer.try_push(item) {
            Ok(pushed) => {
                if pushed.wake_consumer {
                    consumer_signal.wake();
                }
                return true;
            }
            Err(_) if producer.is_consumer_closed() => return false,
            Err(refused) => {
                item = refused;
                // Parked on the full ring: the consumer wakes us at its pop or its close.
                producer_signal.wait();
            }
        }
    }
}

/// The producer pushes `count` items one by one into a ring of `limit`, parking when
/// refused; the consumer pops them, parking when empty, until the producer's close.
fn one_by_one(count: usize, limit: usize) {
    loom::model(move || {
        let (mut producer, mut consumer) = ring::<usize>(limit, limit);
        let (producer_signal, consumer_signal) = signals();
        let (wake_producer, wait_consumer) = (producer_signal.clone(), consumer_signal.clone());
        let consumer_thread = thread::spawn(move || {
            let mut expected = 0;
            loop {
                let popped = consumer.pop();
                if popped.wake_producer {
                    wake_producer.wake();
                }
                match popped.item {
                    Some(item) => {
                        assert_eq!(item, expected);
                        expected += 1;
                    }
                    None if consumer.is_finished() => break,
                    None => wait_consumer.wait(),
                }
            }
            expected
        });
        for item in 0..count {
            assert!(push_or_wait(
                &mut producer,
                item,
                &producer_signal,
                &consumer_signal
            ));
        }
        if producer.close() {
            consumer_signal.wake();
        }
        assert_eq!(consumer_thread.join().unwrap(), count);
    });
}

#[test]
fn push_pop_and_wake_one_item_at_a_time() {
    one_by_one(3, 1);
}

#[test]
fn push_pop_and_wake_with_room_for_two() {
    one_by_one(3, 2);
}

/// Capacity 2 without a limit: of three items pushed at once the third spills. It moves
/// into the ring on a wake if `wait_for_room`; else the producer closes at once and hands
/// it over. Either way the consumer gets all three, in order.
fn spill_then_close(wait_for_room: bool) {
    loom::model(move || {
        let (mut producer, mut consumer) = ring::<usize>(2, 0);
        let (producer_signal, consumer_signal) = signals();
        let (wake_producer, wait_consumer) = (producer_signal.clone(), consumer_signal.clone());
        let consumer_thread = thread::spawn(move || {
            let mut out = Vec::new();
            loop {
                let before = out.len();
                if consumer.pop_many(8, &mut out) {
                    wake_producer.wake();
                }
                if out.len() == before {
                    if consumer.is_finished() {
                        break;
                    }
                    wait_consumer.wait();
                }
            }
            out
        });
        let (taken, wake) = producer.push_many(&mut (0..3), 3);
        assert_eq!(taken, 3);
        if wake {
            consumer_signal.wake();
        }
        while wait_for_room && producer.spilled() > 0 {
            // Parked by the spill: the consumer wakes us once it drained the ring.
            producer_signal.wait();
            if producer.flush() {
                consumer_signal.wake();
            }
        }
        if producer.close() {
            consumer_signal.wake();
        }
        assert_eq!(consumer_thread.join().unwrap(), [0, 1, 2]);
    });
}

#[test]
fn batches_and_spill_keep_order() {
    spill_then_close(true);
}

#[test]
fn a_producer_closing_with_items_spilled_loses_none() {
    spill_then_close(false);
}

#[test]
fn consumer_closing_mid_stream_frees_the_producer_and_every_item() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut producer, mut consumer) = ring::<Counted>(1, 1);
        let (producer_signal, consumer_signal) = signals();
        let (wake_producer, wait_consumer) = (producer_signal.clone(), consumer_signal.clone());
        let consumer_thread = thread::spawn(move || {
            loop {
                let popped = consumer.pop();
                if popped.wake_producer {
                    wake_producer.wake();
                }
                if popped.item.is_some() {
                    break;
                }
                wait_consumer.wait();
            }
            if consumer.close() {
                wake_producer.wake();
            }
        });
        let mut made = 0;
        for _ in 0..3 {
            made += 1;
            let item = Counted(drops.clone());
            if !push_or_wait(&mut producer, item, &producer_signal, &consumer_signal) {
                break;
            }
        }
        drop(producer);
        consumer_thread.join().unwrap();
        assert_eq!(
            drops.load(Ordering::Relaxed),
            made,
            "each item dropped once"
        );
    });
}
