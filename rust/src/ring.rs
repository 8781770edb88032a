//! A bounded single-producer/single-consumer ring whose two ends live on different threads:
//! the pipe of an inproc link between two trio loops.
//!
//! No lock on either side: each end owns one index word and reads the other's. Each word
//! also carries two flag bits, so that "publish an item" and "declare that I am waiting"
//! meet in one read-modify-write on one atomic and can never miss each other:
//!
//! ```text
//!  tail word (producer advances)   index << 2 | CONSUMER PARKED | PRODUCER CLOSED
//!  head word (consumer advances)   index << 2 | PRODUCER PARKED | CONSUMER CLOSED
//! ```
//!
//! A consumer that finds the ring empty sets PARKED in the tail word; the producer's next
//! publish clears it and is told to wake the consumer: one wake per empty-to-non-empty edge
//! the consumer actually waited on, none for the rest of a burst. A producer that finds the
//! ring at its limit sets PARKED in the head word; the consumer wakes it once, when the ring
//! has drained to the low-water mark (libzmq's hysteresis). Waking is the caller's job (a
//! trio token's `run_sync_soon`): every call here answers whether one is due.
//!
//! Items past the physical capacity (forced pushes past the limit, or a ring with no limit)
//! wait in the producer's own spill queue, which only the producer touches, and move into
//! the ring as room appears; the producer stays parked meanwhile so the consumer wakes it.
//! A producer that closes with items still spilled hands them over under a lock (once, at
//! close: never on the fast path), so the consumer takes them after the ring's own.

#![allow(unsafe_code)] // the slots: see the SAFETY notes; checked with loom (rust/tests/ring_loom.rs)

use std::collections::VecDeque;
use std::mem::MaybeUninit;

use sync::{Arc, AtomicUsize, Mutex, Ordering, UnsafeCell};

#[cfg(not(loom))]
mod sync {
    pub(super) use std::sync::atomic::{AtomicUsize, Ordering};
    pub(super) use std::sync::{Arc, Mutex, MutexGuard};

    /// `std`'s cell with loom's access API, so the ring is written once for both.
    #[derive(Debug)]
    pub(super) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(super) fn new(value: T) -> Self {
            UnsafeCell(std::cell::UnsafeCell::new(value))
        }

        pub(super) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }
}

#[cfg(loom)]
mod sync {
    pub(super) use loom::cell::UnsafeCell;
    pub(super) use loom::sync::atomic::{AtomicUsize, Ordering};
    pub(super) use loom::sync::{Arc, Mutex, MutexGuard};
}

/// In the tail word: the consumer waits for an item. In the head word: the producer waits
/// for room.
const PARKED: usize = 1;
/// In the tail word: the producer is gone. In the head word: the consumer is gone.
const CLOSED: usize = 2;
const FLAGS: usize = PARKED | CLOSED;
/// One step of an index, as stored in a word.
const STEP: usize = 4;

/// The number of items between a head word and a tail word.
fn distance(head: usize, tail: usize) -> usize {
    (tail & !FLAGS).wrapping_sub(head & !FLAGS) / STEP
}

/// Keeps each index word on its own cache line, so the two threads don't share one.
#[repr(align(64))]
struct Padded(AtomicUsize);

struct Shared<T> {
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    /// `slots.len() - 1`; the length is a power of two, so indices may wrap freely.
    mask: usize,
    head: Padded,
    tail: Padded,
    /// The producer's spill at its close, for the consumer to take after the ring's items
    /// (written before CLOSED is published in the tail word, read only after it is seen).
    leftover: Mutex<VecDeque<T>>,
}

// SAFETY: a slot is written only by the producer while it lies outside [head, tail), and
// read only by the consumer once inside it; the Release/Acquire pairs on the index words
// order those accesses, so an item moves between threads exactly once (hence T: Send).
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; `&Shared` only gives out slot access through the index protocol.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    fn slot(&self, word: usize) -> &UnsafeCell<MaybeUninit<T>> {
        &self.slots[(word / STEP) & self.mask]
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both ends are gone (this is the last Arc): drop what was published and not taken.
        let mut head = self.head.0.load(Ordering::Acquire) & !FLAGS;
        let tail = self.tail.0.load(Ordering::Acquire) & !FLAGS;
        while head != tail {
            // SAFETY: [head, tail) holds initialised items nobody else can reach any more.
            self.slot(head)
                .with_mut(|slot| unsafe { (*slot).assume_init_drop() });
            head = head.wrapping_add(STEP);
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// Items queued now, spill included.
    pub len: usize,
    /// The consumer was waiting for this item: wake it.
    pub wake_consumer: bool,
}

/// What a pop did.
#[derive(Debug, PartialEq, Eq)]
pub struct Popped<T> {
    /// The oldest item, or `None` if the ring is empty (the consumer is now parked: the
    /// next push will ask for a wake).
    pub item: Option<T>,
    /// The producer was waiting for room and the ring is at its low-water mark: wake it.
    pub wake_producer: bool,
}

/// A new ring taking `limit` items through [`Producer::try_push`] (0: no limit), with room
/// for `capacity` items in the ring itself (rounded up to a power of two, at least
/// `limit`); the producer's end wakes once the ring drains to `(limit + 1) / 2` (half the
/// capacity without a limit). The consumer starts parked: the first push asks for a wake.
///
/// ```
/// use _core::ring::ring;
///
/// let (mut producer, mut consumer) = ring(4, 4);
/// assert!(producer.try_push("a").unwrap().wake_consumer, "the consumer waits");
/// assert!(!producer.try_push("b").unwrap().wake_consumer, "a wake is on its way");
/// assert_eq!(consumer.pop().item, Some("a"));
/// assert_eq!(consumer.pop().item, Some("b"));
/// assert_eq!(consumer.pop().item, None);
/// assert!(producer.try_push("c").unwrap().wake_consumer, "it found the ring empty");
/// ```
pub fn ring<T>(capacity: usize, limit: usize) -> (Producer<T>, Consumer<T>) {
    let size = capacity.max(limit).max(1).next_power_of_two();
    let slots = (0..size)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let shared = Arc::new(Shared {
        slots,
        mask: size - 1,
        head: Padded(AtomicUsize::new(0)),
        tail: Padded(AtomicUsize::new(PARKED)),
        leftover: Mutex::new(VecDeque::new()),
    });
    let low_water_mark = if limit > 0 {
        limit.div_ceil(2)
    } else {
        size / 2
    };
    let producer = Producer {
        shared: Arc::clone(&shared),
        tail: 0,
        limit,
        spill: VecDeque::new(),
    };
    let consumer = Consumer {
        shared,
        head: 0,
        low_water_mark,
    };
    (producer, consumer)
}

/// The pushing end of a [`ring`]; only its owner's thread uses it.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// The tail index word as this end last published it (no flags).
    tail: usize,
    limit: usize,
    spill: VecDeque<T>,
}

impl<T> Producer<T> {
    /// Items queued: in the ring (as far as this thread can tell) and in the spill.
    pub fn len(&self) -> usize {
        distance(self.shared.head.0.load(Ordering::Acquire), self.tail) + self.spill.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Items waiting in the spill for room in the ring.
    pub fn spilled(&self) -> usize {
        self.spill.len()
    }

    /// The limit [`Producer::try_push`] keeps to (0: none).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether the consumer closed its end. Pushes then stay in the spill, where nobody
    /// reads them, up to the limit: as a pipe to a socket that closed.
    pub fn is_consumer_closed(&self) -> bool {
        self.shared.head.0.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Whether [`Producer::try_push`] would refuse now; if so the producer is parked, and
    /// a later pop asks for a wake once the ring drains to its low-water mark.
    pub fn is_full(&mut self) -> bool {
        if self.limit == 0 || self.len() < self.limit {
            return false;
        }
        let head = self.shared.head.0.fetch_or(PARKED, Ordering::AcqRel);
        // Room that appeared while parking needs no wait; the flag stays and costs at
        // most one spurious wake.
        distance(head, self.tail) + self.spill.len() >= self.limit
    }

    /// Queues `item` unless the ring is at its limit (then hands it back and parks).
    pub fn try_push(&mut self, item: T) -> Result<Pushed, T> {
        if self.is_full() {
            return Err(item);
        }
        Ok(self.push(item))
    }

    /// Queues `item` past the limit (into the spill if the ring itself is full).
    pub fn push(&mut self, item: T) -> Pushed {
        let head = self.shared.head.0.load(Ordering::Acquire);
        if self.spill.is_empty()
            && head & CLOSED == 0
            && distance(head, self.tail) <= self.shared.mask
        {
            self.write(item);
            let wake_consumer = self.publish();
            return Pushed {
                len: distance(head, self.tail),
                wake_consumer,
            };
        }
        self.spill.push_back(item);
        let wake_consumer = self.flush();
        Pushed {
            len: self.len(),
            wake_consumer,
        }
    }

    /// Queues items from `items` while below the limit (`max` at most), publishing them
    /// once; returns how many were taken and whether to wake the consumer. Items beyond
    /// stay in the iterator; if any are left, the producer is parked.
    pub fn push_many(&mut self, items: &mut impl Iterator<Item = T>, max: usize) -> (usize, bool) {
        let head = self.shared.head.0.load(Ordering::Acquire);
        let queued = distance(head, self.tail) + self.spill.len();
        let room = if self.limit == 0 {
            usize::MAX
        } else {
            self.limit.saturating_sub(queued)
        };
        let mut taken = 0;
        let mut wake_consumer = false;
        for item in items.by_ref().take(max.min(room)) {
            if self.spill.is_empty()
                && head & CLOSED == 0
                && distance(head, self.tail) <= self.shared.mask
            {
                self.write(item);
            } else {
                self.spill.push_back(item);
            }
            taken += 1;
        }
        if taken > 0 {
            wake_consumer = self.publish() | self.flush();
        }
        // At the limit: park, as a refused try_push would (a caller with nothing more to
        // push gets at most one spurious wake).
        self.is_full();
        (taken, wake_consumer)
    }

    /// Moves spilled items into the ring while it has room; whether to wake the consumer.
    /// Call when woken for room. Leaves the producer parked while items still spill.
    pub fn flush(&mut self) -> bool {
        if self.spill.is_empty() {
            return false;
        }
        let head = self.shared.head.0.load(Ordering::Acquire);
        if head & CLOSED != 0 {
            return false;
        }
        let room = self.shared.mask + 1 - distance(head, self.tail);
        let moved = room.min(self.spill.len());
        for _ in 0..moved {
            let item = self.spill.pop_front().expect("counted above");
            self.write(item);
        }
        let wake_consumer = moved > 0 && self.publish();
        if !self.spill.is_empty() {
            let head = self.shared.head.0.fetch_or(PARKED, Ordering::AcqRel);
            if head & CLOSED == 0 && distance(head, self.tail) <= self.shared.mask {
                // Room appeared while parking: take it now rather than wait for a wake.
                return self.flush() | wake_consumer;
            }
        }
        wake_consumer
    }

    /// Closes this end: the consumer takes what was published, then what was still in
    /// the spill, and then sees the end (a closed consumer's items are dropped). Returns
    /// whether to wake the consumer.
    pub fn close(&mut self) -> bool {
        if !self.spill.is_empty() && !self.is_consumer_closed() {
            let spill = std::mem::take(&mut self.spill);
            *lock(&self.shared.leftover) = spill;
        }
        self.spill.clear();
        let tail = self.shared.tail.0.fetch_or(CLOSED, Ordering::AcqRel);
        tail & PARKED != 0
    }

    /// Writes `item` into the slot at the unpublished tail and steps the local tail.
    fn write(&mut self, item: T) {
        // SAFETY: the caller checked the ring has room, so the slot at `tail` is outside
        // [head, tail): the consumer will not read it before `publish`, and what it held
        // was moved out by the consumer (head's Acquire load orders that read before now).
        self.shared
            .slot(self.tail)
            .with_mut(|slot| unsafe { (*slot).write(item) });
        self.tail = self.tail.wrapping_add(STEP);
    }

    /// Makes every written item visible; whether the consumer was parked (wake it).
    fn publish(&mut self) -> bool {
        // The swap clears PARKED in the same step that publishes, so a consumer that parks
        // concurrently either sees the items or has its flag seen here.
        let previous = self.shared.tail.0.swap(self.tail, Ordering::AcqRel);
        previous & PARKED != 0
    }
}

/// The guarded value, even if a thread panicked while holding the lock (the queue stays
/// whole: it is only ever replaced or drained).
fn lock<T>(mutex: &Mutex<T>) -> sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The popping end of a [`ring`]; only its owner's thread uses it.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// The head index word as this end last advanced it (no flags).
    head: usize,
    low_water_mark: usize,
}

impl<T> Consumer<T> {
    /// Items published and not yet taken (a closed producer's leftover spill included).
    pub fn len(&self) -> usize {
        let tail = self.shared.tail.0.load(Ordering::Acquire);
        let published = distance(self.head, tail);
        if tail & CLOSED == 0 {
            return published;
        }
        published + lock(&self.shared.leftover).len()
    }

    /// Whether nothing is waiting to be taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the producer closed its end and everything it published was taken.
    pub fn is_finished(&self) -> bool {
        let tail = self.shared.tail.0.load(Ordering::Acquire);
        tail & CLOSED != 0
            && distance(self.head, tail) == 0
            && lock(&self.shared.leftover).is_empty()
    }

    /// Takes the oldest item; when there is none, parks the consumer (see [`Popped`]).
    pub fn pop(&mut self) -> Popped<T> {
        if self.available() == 0 {
            let mut leftover = Vec::new();
            self.take_leftover(1, &mut leftover);
            return Popped {
                item: leftover.pop(),
                wake_producer: false,
            };
        }
        let item = self.read();
        Popped {
            item: Some(item),
            wake_producer: self.release(1),
        }
    }

    /// Takes up to `max` of the oldest items into `out`, releasing their slots at once;
    /// returns whether to wake the producer. Parks the consumer if none was there.
    pub fn pop_many(&mut self, max: usize, out: &mut impl Extend<T>) -> bool {
        let count = self.available().min(max);
        if count == 0 {
            self.take_leftover(max, out);
            return false;
        }
        out.extend((0..count).map(|_| self.read()));
        let wake_producer = self.release(count);
        if count < max {
            self.take_leftover(max - count, out);
        }
        wake_producer
    }

    /// Takes up to `max` items of a closed producer's leftover spill into `out`, once the
    /// ring itself is drained (they come after its items); how many were taken.
    fn take_leftover(&mut self, max: usize, out: &mut impl Extend<T>) -> usize {
        let tail = self.shared.tail.0.load(Ordering::Acquire);
        if max == 0 || tail & CLOSED == 0 || distance(self.head, tail) != 0 {
            return 0;
        }
        let mut leftover = lock(&self.shared.leftover);
        let count = leftover.len().min(max);
        out.extend(leftover.drain(..count));
        count
    }

    /// Closes this end and drops what is queued; the producer's pushes stay in its spill
    /// from then on. Returns whether to wake the producer (it was waiting for room).
    pub fn close(&mut self) -> bool {
        let head = self.shared.head.0.fetch_or(CLOSED, Ordering::AcqRel);
        lock(&self.shared.leftover).clear();
        loop {
            let count = self.available();
            if count == 0 {
                break;
            }
            for _ in 0..count {
                drop(self.read());
            }
            self.shared.head.0.fetch_add(count * STEP, Ordering::AcqRel);
        }
        head & PARKED != 0
    }

    /// Items ready to read; if none, parks (sets PARKED in the tail word) and looks again.
    fn available(&mut self) -> usize {
        let tail = self.shared.tail.0.load(Ordering::Acquire);
        let count = distance(self.head, tail);
        if count > 0 {
            return count;
        }
        let tail = self.shared.tail.0.fetch_or(PARKED, Ordering::AcqRel);
        let count = distance(self.head, tail);
        if count > 0 {
            // Published while parking: take it, and withdraw the flag unless the producer
            // already claimed it (then its wake arrives later, spurious and harmless).
            self.shared.tail.0.fetch_and(!PARKED, Ordering::AcqRel);
        }
        count
    }

    /// Moves the item at the local head out and steps the local head.
    fn read(&mut self) -> T {
        // SAFETY: `available` saw the producer's Release of a tail beyond this slot, so
        // the slot holds an initialised item that only this thread may take, once.
        let item = self
            .shared
            .slot(self.head)
            .with_mut(|slot| unsafe { (*slot).assume_init_read() });
        self.head = self.head.wrapping_add(STEP);
        item
    }

    /// Gives `count` read slots back to the producer; whether to wake it.
    fn release(&mut self, count: usize) -> bool {
        let head = self.shared.head.0.fetch_add(count * STEP, Ordering::AcqRel);
        if head & PARKED == 0 || self.len() > self.low_water_mark {
            return false;
        }
        // Only one side clears the flag successfully: who does owns the wake.
        self.shared.head.0.fetch_and(!PARKED, Ordering::AcqRel) & PARKED != 0
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn try_push_keeps_to_the_limit_and_push_spills_past_capacity() {
        let (mut producer, mut consumer) = ring(2, 2);
        assert_eq!(
            producer.try_push(1),
            Ok(Pushed {
                len: 1,
                wake_consumer: true
            })
        );
        assert_eq!(producer.try_push(2).map(|p| p.len), Ok(2));
        assert_eq!(producer.try_push(3), Err(3));
        // Forced: past the limit and past the two slots, into the spill.
        assert_eq!(producer.push(3).len, 3);
        assert_eq!(producer.len(), 3);
        assert_eq!(consumer.len(), 2);
        let mut out = Vec::new();
        assert!(consumer.pop_many(10, &mut out), "parked producer woken");
        assert_eq!(out, [1, 2]);
        assert_eq!(consumer.pop().item, None);
        assert!(producer.flush(), "the consumer found the ring empty");
        assert_eq!(consumer.pop().item, Some(3));
        assert_eq!(consumer.pop().item, None);
    }

    #[test]
    fn wakes_only_on_edges_a_waiter_saw() {
        let (mut producer, mut consumer) = ring::<u32>(8, 8);
        let wakes: Vec<bool> = (0..4).map(|i| producer.push(i).wake_consumer).collect();
        assert_eq!(wakes, [true, false, false, false], "one wake per burst");
        assert_eq!(consumer.pop().item, Some(0));
        assert!(!producer.push(4).wake_consumer, "consumer is not waiting");
        let mut out = Vec::new();
        consumer.pop_many(10, &mut out);
        assert_eq!(out, [1, 2, 3, 4]);
        assert!(!producer.push(5).wake_consumer, "it has not looked yet");
        assert_eq!(consumer.pop().item, Some(5));
        assert_eq!(consumer.pop().item, None);
        assert!(
            producer.push(6).wake_consumer,
            "it looked and found nothing"
        );
    }

    #[test]
    fn producer_wakes_at_the_low_water_mark_once() {
        let (mut producer, mut consumer) = ring(4, 4);
        let (taken, _) = producer.push_many(&mut (0..10), 10);
        assert_eq!(taken, 4);
        assert!(producer.is_full());
        assert!(!consumer.pop().wake_producer, "3 left, above the mark of 2");
        assert!(consumer.pop().wake_producer, "2 left: at the mark");
        assert!(!consumer.pop().wake_producer, "woken once");
    }

    #[test]
    fn unlimited_ring_spills_and_keeps_order() {
        let (mut producer, mut consumer) = ring(2, 0);
        for i in 0..5 {
            assert!(producer.try_push(i).is_ok());
        }
        let mut out = Vec::new();
        while out.len() < 5 {
            if consumer.pop_many(usize::MAX, &mut out) {
                producer.flush();
            }
        }
        assert_eq!(out, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn closing_either_end() {
        let (mut producer, mut consumer) = ring(4, 4);
        producer.push("a");
        assert_eq!(consumer.pop().item, Some("a"));
        assert_eq!(consumer.pop().item, None);
        producer.push("b");
        assert!(
            !producer.close(),
            "consumer was woken by the push, not parked"
        );
        assert!(!consumer.is_finished());
        assert_eq!(consumer.pop().item, Some("b"));
        assert!(consumer.is_finished());

        let (mut producer, mut consumer) = ring(1, 1);
        producer.push(std::sync::Arc::new(()));
        let item = std::sync::Arc::new(());
        assert!(producer.try_push(item.clone()).is_err());
        assert!(consumer.close(), "producer was parked on the full ring");
        assert!(producer.is_consumer_closed());
        assert_eq!(
            producer.push(item.clone()).len,
            1,
            "kept in the spill, unread"
        );
        assert!(
            producer.is_full(),
            "nobody reads: full at the limit from now on"
        );
        assert!(!producer.flush());
        producer.close();
        assert_eq!(std::sync::Arc::strong_count(&item), 1, "every copy dropped");
    }

    #[test]
    fn a_closing_producer_hands_its_spill_over_in_order() {
        let (mut producer, mut consumer) = ring(2, 0);
        for i in 0..5 {
            producer.push(i);
        }
        assert_eq!(producer.spilled(), 3);
        assert!(!producer.close(), "the consumer has not looked yet");
        assert_eq!(consumer.len(), 5);
        assert!(!consumer.is_finished());
        assert_eq!(consumer.pop().item, Some(0));
        let mut out = Vec::new();
        consumer.pop_many(2, &mut out);
        assert_eq!(out, [1, 2], "the ring's items first");
        consumer.pop_many(10, &mut out);
        assert_eq!(out, [1, 2, 3, 4], "then the spill's");
        assert!(consumer.is_finished());
        assert_eq!(consumer.pop().item, None);
    }

    #[test]
    fn dropping_both_ends_drops_every_queued_item_once() {
        let item = std::sync::Arc::new(());
        let (mut producer, consumer) = ring(2, 0);
        for _ in 0..5 {
            producer.push(item.clone());
        }
        drop(consumer);
        drop(producer);
        assert_eq!(std::sync::Arc::strong_count(&item), 1);
    }
}
