//! A bounded FIFO of messages between a socket and one peer (or two inproc sockets).
//!
//! Single-threaded by design: every pipe lives on the trio thread, next to both its
//! producer and its consumer, so it needs no lock and no atomics. Waking a task that waits
//! for room or for messages is the trio layer's job; the pipe only says "full" or "empty".

use std::collections::VecDeque;

/// A FIFO queue with a high-water mark `hwm` in items (0: unbounded).
///
/// ```
/// use _core::Pipe;
///
/// let mut pipe = Pipe::new(1);
/// assert_eq!(pipe.try_push("a"), Ok(1));
/// assert_eq!(pipe.try_push("b"), Err("b"));
/// assert_eq!(pipe.pop(), Some("a"));
/// ```
#[derive(Debug, Clone)]
pub struct Pipe<T> {
    queue: VecDeque<T>,
    hwm: usize,
    conflate: bool,
}

impl<T> Pipe<T> {
    /// An empty pipe holding at most `hwm` items through [`Pipe::try_push`] (0: unbounded).
    pub fn new(hwm: usize) -> Self {
        Pipe {
            queue: VecDeque::new(),
            hwm,
            conflate: false,
        }
    }

    /// A pipe that keeps only the newest item (libzmq's `ZMQ_CONFLATE`): every push
    /// replaces what is queued, so it is never full.
    pub fn conflating() -> Self {
        Pipe {
            queue: VecDeque::with_capacity(1),
            hwm: 1,
            conflate: true,
        }
    }

    /// The number of queued items.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether the pipe keeps only the newest item.
    pub fn is_conflating(&self) -> bool {
        self.conflate
    }

    /// The high-water mark (0: unbounded).
    pub fn hwm(&self) -> usize {
        self.hwm
    }

    /// Changes the high-water mark; items already queued stay, even above it.
    pub fn set_hwm(&mut self, hwm: usize) {
        self.hwm = hwm;
    }

    /// Whether [`Pipe::try_push`] would refuse now.
    pub fn is_full(&self) -> bool {
        !self.conflate && self.hwm > 0 && self.queue.len() >= self.hwm
    }

    /// Queues `item` unless the pipe is full (then hands it back); returns the new length.
    pub fn try_push(&mut self, item: T) -> Result<usize, T> {
        if self.is_full() {
            return Err(item);
        }
        Ok(self.push(item))
    }

    /// Queues `item` ignoring the high-water mark; returns the new length.
    pub fn push(&mut self, item: T) -> usize {
        if self.conflate {
            self.queue.clear();
        }
        self.queue.push_back(item);
        self.queue.len()
    }

    /// Queues items from the front of `items` while the pipe is not full and fewer than
    /// `limit` were taken; returns how many were queued. Items beyond are left in `items`.
    pub fn push_many(&mut self, items: impl IntoIterator<Item = T>, limit: usize) -> usize {
        let mut items = items.into_iter();
        let mut pushed = 0;
        // Check for room before taking an item, so no item is taken and then dropped.
        while pushed < limit && !self.is_full() {
            let Some(item) = items.next() else { break };
            self.push(item);
            pushed += 1;
        }
        pushed
    }

    /// Takes the oldest item.
    pub fn pop(&mut self) -> Option<T> {
        self.queue.pop_front()
    }

    /// Takes up to `max` of the oldest items, oldest first.
    pub fn pop_many(&mut self, max: usize) -> impl ExactSizeIterator<Item = T> + '_ {
        let count = max.min(self.queue.len());
        self.queue.drain(..count)
    }

    /// Drops everything queued; returns how many items were dropped.
    pub fn clear(&mut self) -> usize {
        let dropped = self.queue.len();
        self.queue.clear();
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_push_respects_hwm_and_push_ignores_it() {
        let mut pipe = Pipe::new(2);
        assert_eq!(pipe.try_push(1), Ok(1));
        assert_eq!(pipe.try_push(2), Ok(2));
        assert!(pipe.is_full());
        assert_eq!(pipe.try_push(3), Err(3));
        assert_eq!(pipe.push(3), 3);
        assert_eq!(pipe.len(), 3);
        pipe.set_hwm(0);
        assert!(!pipe.is_full());
        assert_eq!(pipe.try_push(4), Ok(4));
    }

    #[test]
    fn push_many_stops_at_hwm_or_limit_without_losing_items() {
        let mut pipe = Pipe::new(3);
        let mut items = vec![1, 2, 3, 4].into_iter();
        assert_eq!(pipe.push_many(&mut items, 10), 3);
        assert_eq!(items.next(), Some(4));
        let mut pipe = Pipe::new(0);
        assert_eq!(pipe.push_many([1, 2, 3], 2), 2);
        assert_eq!(pipe.push_many([9], 0), 0);
        assert_eq!(pipe.pop_many(10).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn conflating_pipe_keeps_only_the_newest_item_and_is_never_full() {
        let mut pipe = Pipe::conflating();
        assert_eq!(pipe.try_push(1), Ok(1));
        assert!(!pipe.is_full());
        assert_eq!(pipe.try_push(2), Ok(1));
        assert_eq!(pipe.push_many([3, 4, 5], 2), 2);
        assert_eq!(pipe.len(), 1);
        assert_eq!(pipe.pop(), Some(4));
        assert_eq!(pipe.pop(), None);
    }

    #[test]
    fn pops_in_order_and_clears() {
        let mut pipe = Pipe::new(0);
        for i in 0..5 {
            pipe.push(i);
        }
        assert_eq!(pipe.pop(), Some(0));
        assert_eq!(pipe.pop_many(2).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(pipe.clear(), 2);
        assert!(pipe.is_empty());
        assert_eq!(pipe.pop(), None);
        assert_eq!(pipe.pop_many(3).len(), 0);
    }
}
