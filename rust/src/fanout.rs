//! A publisher's fan-out (libzmq's `dist_t` with the `mtrie_t` of `xpub_t`): each message
//! goes to every peer subscribed to a prefix of its first frame, in one call for all peers.
//!
//! Per message the caller crosses into the core once; the core matches the topic, frames the
//! message once for the peers that take a shared encoding, queues it on each matching
//! peer's outbox that has room and reports only the peers whose outbox went from empty to
//! non-empty (whose writer must be woken). A peer whose outbox was full loses the message
//! and, as in libzmq, keeps losing them until its consumer has drained it to the low-water
//! mark (libzmq takes such a pipe out of the active set until the reader says so): the
//! fan-out remembers the drop and asks the outbox, only for such peers, whether it has
//! resumed. Without `lossy` (XPUB_NODROP) a message goes to all matching peers or, if one is
//! full, to none.

use crate::subscriptions::{PeerId, Removed, Subscriptions};

/// A peer's outbound queue as the fan-out drives it. `C` is whatever the implementation
/// needs for each operation (the Python binding: the interpreter token), `Copy`-passed.
pub trait Outbox<C: Copy> {
    /// What is queued: the message's frames, or its shared encoding.
    type Message: Clone;
    /// What an operation on the outbox may fail with.
    type Error;

    /// Queues `msg` unless the outbox is full: `Some(new length)`, or `None` if full.
    fn offer(&mut self, cx: C, msg: Self::Message) -> Result<Option<usize>, Self::Error>;
    /// Whether `offer` would refuse now.
    fn is_full(&self, cx: C) -> Result<bool, Self::Error>;
    /// Marks the outbox blocked: its consumer reports when it has drained to the low-water
    /// mark (after which `resumed` is true).
    fn block(&mut self, cx: C) -> Result<(), Self::Error>;
    /// Whether the consumer has drained the outbox to the low-water mark since `block`.
    fn resumed(&self, cx: C) -> Result<bool, Self::Error>;
}

/// One peer of the fan-out.
#[derive(Debug, Clone)]
pub struct Slot<O> {
    /// Where its messages go.
    pub outbox: O,
    /// Whether its outbox takes a message's shared encoding instead of its frames.
    pub shares_encoding: bool,
    /// Whether it lost a message to a full outbox and has not resumed since.
    dropping: bool,
}

/// The peers of a publisher, what each subscribes to, and the sending of one message to
/// the matching ones.
#[derive(Debug, Clone)]
pub struct FanOut<O> {
    subscriptions: Subscriptions,
    slots: Vec<Option<Slot<O>>>,
    free: Vec<PeerId>,
    /// The peers the message being sent matched (kept to reuse its allocation).
    matched: Vec<PeerId>,
    /// False (XPUB_NODROP): refuse a message some matching peer has no room for.
    pub lossy: bool,
}

impl<O> Default for FanOut<O> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O> FanOut<O> {
    /// A fan-out to nobody, dropping for full peers.
    pub fn new() -> Self {
        FanOut {
            subscriptions: Subscriptions::new(),
            slots: Vec::new(),
            free: Vec::new(),
            matched: Vec::new(),
            lossy: true,
        }
    }

    /// Adds a peer (subscribed to nothing yet); returns its id.
    pub fn add_peer(&mut self, outbox: O, shares_encoding: bool) -> PeerId {
        let slot = Slot {
            outbox,
            shares_encoding,
            dropping: false,
        };
        if let Some(id) = self.free.pop() {
            self.slots[id as usize] = Some(slot);
            return id;
        }
        self.slots.push(Some(slot));
        PeerId::try_from(self.slots.len() - 1).expect("fewer than 2^32 peers")
    }

    /// The peer `id`, if it is one.
    pub fn peer(&self, id: PeerId) -> Option<&Slot<O>> {
        self.slots.get(id as usize)?.as_ref()
    }

    /// The peer `id`, to change how its messages go (a reconnect), if it is one.
    pub fn peer_mut(&mut self, id: PeerId) -> Option<&mut Slot<O>> {
        self.slots.get_mut(id as usize)?.as_mut()
    }

    /// Removes peer `id` and all its subscriptions; returns its topics in trie order, all
    /// of them or, with `only_last`, those nobody else subscribes to any more.
    pub fn remove_peer(&mut self, id: PeerId, only_last: bool) -> Vec<Vec<u8>> {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return Vec::new();
        };
        if slot.take().is_none() {
            return Vec::new();
        }
        self.free.push(id);
        self.subscriptions.remove_peer(id, only_last)
    }

    /// The subscription index (read-only).
    pub fn subscriptions(&self) -> &Subscriptions {
        &self.subscriptions
    }

    /// Subscribes peer `id` to `topic`; true if nobody subscribed to it before.
    pub fn subscribe(&mut self, id: PeerId, topic: &[u8]) -> bool {
        debug_assert!(self.peer(id).is_some(), "subscribing an unknown peer");
        self.subscriptions.add(topic, id)
    }

    /// Cancels peer `id`'s subscription to `topic`.
    pub fn unsubscribe(&mut self, id: PeerId, topic: &[u8]) -> Removed {
        self.subscriptions.remove(topic, id)
    }

    /// Sends a message whose first frame is `topic` to every matching peer: `frames` to
    /// those that take frames, and to those that share encodings (when several peers match)
    /// what `encode` makes, called at most once. Appends to `woken` the peers whose outbox
    /// was empty before. Returns false only without `lossy`, when a
    /// matching peer is full: then nothing was queued, and that peer is blocked.
    pub fn send<C: Copy>(
        &mut self,
        cx: C,
        topic: &[u8],
        frames: &O::Message,
        encode: impl FnOnce() -> Result<O::Message, O::Error>,
        woken: &mut Vec<PeerId>,
    ) -> Result<bool, O::Error>
    where
        O: Outbox<C>,
    {
        // hot path (PUB send)
        self.subscriptions.matching(topic, &mut self.matched);
        if self.matched.is_empty() {
            return Ok(true);
        }
        if !self.lossy {
            for &id in &self.matched {
                let slot = self.slots[id as usize]
                    .as_mut()
                    .expect("matched peers exist");
                if slot.outbox.is_full(cx)? {
                    slot.outbox.block(cx)?;
                    slot.dropping = true;
                    return Ok(false);
                }
            }
        }
        let shared = self.matched.len() > 1;
        let mut encode = Some(encode);
        let mut encoded: Option<O::Message> = None;
        for &id in &self.matched {
            let slot = self.slots[id as usize]
                .as_mut()
                .expect("matched peers exist");
            if slot.dropping && self.lossy {
                if !slot.outbox.resumed(cx)? {
                    continue; // still draining after a drop: libzmq keeps dropping
                }
                slot.dropping = false;
            }
            let msg = if shared && slot.shares_encoding {
                if encoded.is_none() {
                    let encode = encode.take().expect("encoded once");
                    encoded = Some(encode()?);
                }
                encoded.clone().expect("just encoded")
            } else {
                frames.clone()
            };
            match slot.outbox.offer(cx, msg)? {
                Some(1) => woken.push(id),
                Some(_) => {}
                None => {
                    slot.outbox.block(cx)?;
                    slot.dropping = true;
                }
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::Pipe;
    use std::rc::Rc;

    /// A message in the tests: its frames, or a shared encoding (counted by `Rc`).
    #[derive(Debug, Clone, PartialEq)]
    enum Msg {
        Frames(&'static str),
        Encoded(Rc<String>),
    }

    /// A pipe with the `writer_blocked` flag of the Python layer's pipes, cleared by the
    /// consumer at the low-water mark.
    struct TestOutbox {
        pipe: Pipe<Msg>,
        blocked: bool,
    }

    impl TestOutbox {
        fn new(hwm: usize) -> Self {
            TestOutbox {
                pipe: Pipe::new(hwm),
                blocked: false,
            }
        }

        /// The consumer takes everything and, having drained it, clears the flag.
        fn drain(&mut self) -> Vec<Msg> {
            let taken = self.pipe.pop_many(usize::MAX).collect();
            self.blocked = false;
            taken
        }
    }

    impl Outbox<()> for TestOutbox {
        type Message = Msg;
        type Error = ();

        fn offer(&mut self, _: (), msg: Msg) -> Result<Option<usize>, ()> {
            Ok(self.pipe.try_push(msg).ok())
        }
        fn is_full(&self, _: ()) -> Result<bool, ()> {
            Ok(self.pipe.is_full())
        }
        fn block(&mut self, _: ()) -> Result<(), ()> {
            self.blocked = true;
            Ok(())
        }
        fn resumed(&self, _: ()) -> Result<bool, ()> {
            Ok(!self.blocked)
        }
    }

    fn send(fan: &mut FanOut<TestOutbox>, topic: &'static str) -> (bool, Vec<PeerId>, usize) {
        let mut woken = Vec::new();
        let mut encodings = 0;
        let sent = fan
            .send(
                (),
                topic.as_bytes(),
                &Msg::Frames(topic),
                || {
                    encodings += 1;
                    Ok(Msg::Encoded(Rc::new(format!("encoded {topic}"))))
                },
                &mut woken,
            )
            .unwrap();
        (sent, woken, encodings)
    }

    fn outbox(fan: &mut FanOut<TestOutbox>, id: PeerId) -> &mut TestOutbox {
        &mut fan.peer_mut(id).unwrap().outbox
    }

    #[test]
    fn a_message_goes_to_matching_peers_encoded_once_and_wakes_only_empty_outboxes() {
        let mut fan = FanOut::new();
        let a = fan.add_peer(TestOutbox::new(10), true);
        let b = fan.add_peer(TestOutbox::new(10), true);
        let c = fan.add_peer(TestOutbox::new(10), false); // CURVE or inproc: frames
        let d = fan.add_peer(TestOutbox::new(10), true);
        for id in [a, b, c] {
            fan.subscribe(id, b"");
        }
        fan.subscribe(d, b"other");
        assert_eq!(send(&mut fan, "topic"), (true, vec![a, b, c], 1));
        // Nothing was empty any more: no wakes.
        assert_eq!(send(&mut fan, "topic"), (true, vec![], 1));
        let at_a = outbox(&mut fan, a).drain();
        let at_b = outbox(&mut fan, b).drain();
        assert_eq!(at_a, at_b);
        let (Msg::Encoded(first_a), Msg::Encoded(first_b)) = (&at_a[0], &at_b[0]) else {
            panic!("shared encodings expected, got {at_a:?}");
        };
        assert!(Rc::ptr_eq(first_a, first_b), "one encoding, shared");
        assert_eq!(
            outbox(&mut fan, c).drain(),
            [Msg::Frames("topic"), Msg::Frames("topic")]
        );
        assert!(outbox(&mut fan, d).drain().is_empty());
        assert_eq!(send(&mut fan, "topic"), (true, vec![a, b, c], 1));
    }

    #[test]
    fn a_single_matching_peer_gets_the_frames_unencoded() {
        let mut fan = FanOut::new();
        let a = fan.add_peer(TestOutbox::new(10), true);
        fan.add_peer(TestOutbox::new(10), true);
        fan.subscribe(a, b"t");
        assert_eq!(send(&mut fan, "t"), (true, vec![a], 0));
        assert_eq!(outbox(&mut fan, a).drain(), [Msg::Frames("t")]);
        assert_eq!(send(&mut fan, "x"), (true, vec![], 0)); // nobody matches
    }

    #[test]
    fn a_full_peer_drops_until_its_consumer_has_drained() {
        let mut fan = FanOut::new();
        let slow = fan.add_peer(TestOutbox::new(2), true);
        let fast = fan.add_peer(TestOutbox::new(100), true);
        fan.subscribe(slow, b"");
        fan.subscribe(fast, b"");
        send(&mut fan, "1");
        send(&mut fan, "2");
        send(&mut fan, "3"); // dropped for `slow`, which is now blocked
        assert!(outbox(&mut fan, slow).blocked);
        outbox(&mut fan, slow).pipe.pop(); // room again, but not drained to the LWM yet
        send(&mut fan, "4");
        assert_eq!(outbox(&mut fan, slow).pipe.len(), 1, "kept dropping");
        assert_eq!(outbox(&mut fan, slow).drain().len(), 1);
        assert_eq!(send(&mut fan, "5"), (true, vec![slow], 1));
        assert_eq!(outbox(&mut fan, slow).pipe.len(), 1);
        assert_eq!(
            outbox(&mut fan, fast).pipe.len(),
            5,
            "the others lost nothing"
        );
    }

    #[test]
    fn without_lossy_a_full_peer_refuses_the_message_for_everyone() {
        let mut fan = FanOut::new();
        fan.lossy = false;
        let full = fan.add_peer(TestOutbox::new(1), true);
        let other = fan.add_peer(TestOutbox::new(10), true);
        fan.subscribe(full, b"");
        fan.subscribe(other, b"");
        assert!(send(&mut fan, "1").0);
        assert_eq!(send(&mut fan, "2"), (false, vec![], 0));
        assert!(outbox(&mut fan, full).blocked);
        assert_eq!(outbox(&mut fan, other).pipe.len(), 1, "nothing queued");
        outbox(&mut fan, full).drain();
        assert!(send(&mut fan, "2").0);
        assert_eq!(outbox(&mut fan, other).pipe.len(), 2);
    }

    #[test]
    fn a_removed_peer_loses_its_subscriptions_and_its_id_is_reused() {
        let mut fan = FanOut::new();
        let a = fan.add_peer(TestOutbox::new(10), true);
        let b = fan.add_peer(TestOutbox::new(10), true);
        fan.subscribe(a, b"x");
        fan.subscribe(a, b"y");
        fan.subscribe(b, b"y");
        assert_eq!(fan.remove_peer(a, true), [b"x".to_vec()]);
        assert!(fan.peer(a).is_none());
        assert!(fan.remove_peer(a, false).is_empty());
        let c = fan.add_peer(TestOutbox::new(10), false);
        assert_eq!(c, a);
        assert_eq!(send(&mut fan, "x"), (true, vec![], 0));
        assert_eq!(send(&mut fan, "y"), (true, vec![b], 0));
        assert_eq!(fan.subscriptions().len(), 1);
    }
}
