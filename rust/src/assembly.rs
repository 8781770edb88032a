//! Frames to messages: the [`Sink`] that gathers each message's frames and queues whole
//! messages on the inbound [`Pipe`], generic over how the host represents them.
//!
//! The host (the Python binding, or a test) only converts: a frame body into its frame type,
//! a message's frames into its message type, an [`Event`] into whatever it reports. When a
//! message is complete and what belongs to which message is decided here, once, for every
//! host.
//!
//! A large body that arrives in parts ([`Sink::body_start`]) is built in place: the host
//! makes its frame at the declared size once, the parts are written into it (or the driver
//! receives straight into it, [`Assembly::open_body`]), and the finished frame joins its
//! message as it is, with no further copy.

use crate::connection::{Event, Sink};
use crate::error::Error;
use crate::pipe::Pipe;

/// How a host builds frames, messages and events out of what a connection decodes.
pub trait MessageBuilder {
    /// One frame, as the host keeps it (Python: `bytes`).
    type Frame;
    /// One whole message (Python: `list[bytes]`).
    type Message;
    /// What building may fail with; protocol errors convert into it.
    type Error: From<Error>;

    /// A frame with this body (copied: `body` borrows the received bytes).
    fn frame(&mut self, body: &[u8]) -> Result<Self::Frame, Self::Error>;

    /// A frame of `len` bytes whose contents are written afterwards ([`MessageBuilder::write`],
    /// or by the driver straight into it); until all are, it is the assembly's alone.
    fn frame_to_fill(&mut self, len: usize) -> Result<Self::Frame, Self::Error>;

    /// Copies `bytes` into `frame` (made by [`MessageBuilder::frame_to_fill`]) at `offset`.
    fn write(&mut self, frame: &mut Self::Frame, offset: usize, bytes: &[u8]);

    /// A message of these frames, in order (at least one).
    fn message(
        &mut self,
        frames: std::vec::Drain<'_, Self::Frame>,
    ) -> Result<Self::Message, Self::Error>;

    /// A message of one frame with this body (copied), the common case, which a host may
    /// build more directly than through [`MessageBuilder::frame`] and
    /// [`MessageBuilder::message`].
    fn single(&mut self, body: &[u8]) -> Result<Self::Message, Self::Error> {
        let frame = self.frame(body)?;
        self.message(vec![frame].drain(..))
    }

    /// Something other than message data happened.
    fn event(&mut self, event: Event<'_>) -> Result<(), Self::Error>;
}

/// The frames of a message whose last frame has not arrived yet, and the frame whose large
/// body is being filled, kept between feeds.
#[derive(Debug)]
pub struct Assembly<F> {
    partial: Vec<F>,
    body: Option<F>,
}

impl<F> Default for Assembly<F> {
    fn default() -> Self {
        Assembly {
            partial: Vec::new(),
            body: None,
        }
    }
}

impl<F> Assembly<F> {
    /// A sink for one feed: complete messages go onto `inbound`, built by `builder`.
    pub fn sink<'a, B>(
        &'a mut self,
        builder: B,
        inbound: &'a mut Pipe<B::Message>,
    ) -> Assembler<'a, B>
    where
        B: MessageBuilder<Frame = F>,
    {
        Assembler {
            builder,
            partial: &mut self.partial,
            body: &mut self.body,
            inbound,
        }
    }

    /// How many frames of an unfinished message are held (the one being filled included).
    pub fn pending_frames(&self) -> usize {
        self.partial.len() + usize::from(self.body.is_some())
    }

    /// Drops the frames of the unfinished message, the one being filled included (the
    /// connection is over: they can never be completed).
    pub fn discard(&mut self) {
        self.partial.clear();
        self.body = None;
    }

    /// The frame whose large body is being filled, if any: the driver may write the
    /// connection's [`crate::connection::OpenBody`] bytes straight into it.
    pub fn open_body(&mut self) -> Option<&mut F> {
        self.body.as_mut()
    }
}

/// The [`Sink`] of one feed (see [`Assembly::sink`]).
#[derive(Debug)]
pub struct Assembler<'a, B: MessageBuilder> {
    /// The host's converter (it may carry what the feed reports, such as events).
    pub builder: B,
    partial: &'a mut Vec<B::Frame>,
    body: &'a mut Option<B::Frame>,
    inbound: &'a mut Pipe<B::Message>,
}

impl<B: MessageBuilder> Assembler<'_, B> {
    /// Adds a finished frame to its message, and queues the message after its last frame.
    fn push(&mut self, frame: B::Frame, more: bool) -> Result<(), B::Error> {
        self.partial.push(frame);
        if !more {
            // Past the high-water mark if need be: the reader stops reading at it instead.
            let message = self.builder.message(self.partial.drain(..))?;
            self.inbound.push(message);
        }
        Ok(())
    }
}

impl<B: MessageBuilder> Sink for Assembler<'_, B> {
    type Error = B::Error;

    fn frame(&mut self, body: &[u8], more: bool) -> Result<(), B::Error> {
        if !more && self.partial.is_empty() {
            // A message of one frame: built at once, without a trip through `partial`.
            let message = self.builder.single(body)?;
            self.inbound.push(message);
            return Ok(());
        }
        let frame = self.builder.frame(body)?;
        self.push(frame, more)
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), B::Error> {
        self.builder.event(event)
    }

    fn body_start(&mut self, len: usize) -> Result<(), B::Error> {
        *self.body = Some(self.builder.frame_to_fill(len)?);
        Ok(())
    }

    fn body_part(&mut self, offset: usize, bytes: &[u8]) -> Result<(), B::Error> {
        let frame = self.body.as_mut().expect("body_part follows body_start");
        self.builder.write(frame, offset, bytes);
        Ok(())
    }

    fn body_end(&mut self, more: bool) -> Result<(), B::Error> {
        let frame = self.body.take().expect("body_end follows body_start");
        self.push(frame, more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames as byte vectors, messages as vectors of them, events counted.
    struct Owned {
        events: usize,
    }

    impl MessageBuilder for Owned {
        type Frame = Vec<u8>;
        type Message = Vec<Vec<u8>>;
        type Error = Error;

        fn frame(&mut self, body: &[u8]) -> Result<Vec<u8>, Error> {
            Ok(body.to_vec())
        }

        fn frame_to_fill(&mut self, len: usize) -> Result<Vec<u8>, Error> {
            Ok(vec![0; len])
        }

        fn write(&mut self, frame: &mut Vec<u8>, offset: usize, bytes: &[u8]) {
            frame[offset..offset + bytes.len()].copy_from_slice(bytes);
        }

        fn message(
            &mut self,
            frames: std::vec::Drain<'_, Vec<u8>>,
        ) -> Result<Self::Message, Error> {
            Ok(frames.collect())
        }

        fn event(&mut self, _: Event<'_>) -> Result<(), Error> {
            self.events += 1;
            Ok(())
        }
    }

    #[test]
    fn frames_become_whole_messages_across_sinks() {
        let mut assembly = Assembly::default();
        let mut inbound = Pipe::new(0);
        let mut sink = assembly.sink(Owned { events: 0 }, &mut inbound);
        sink.frame(b"one", false).unwrap();
        sink.frame(b"a", true).unwrap();
        sink.event(Event::Ping { ttl: 0 }).unwrap(); // commands between frames
        assert_eq!(sink.builder.events, 1);
        assert_eq!(assembly.pending_frames(), 1);
        // The next feed finishes the message.
        let mut sink = assembly.sink(Owned { events: 0 }, &mut inbound);
        sink.frame(b"b", false).unwrap();
        assert_eq!(assembly.pending_frames(), 0);
        assert_eq!(inbound.pop(), Some(vec![b"one".to_vec()]));
        assert_eq!(inbound.pop(), Some(vec![b"a".to_vec(), b"b".to_vec()]));
        assert_eq!(inbound.pop(), None);
    }

    #[test]
    fn a_body_filled_in_parts_joins_its_message_as_built() {
        let mut assembly = Assembly::default();
        let mut inbound = Pipe::new(0);
        let mut sink = assembly.sink(Owned { events: 0 }, &mut inbound);
        sink.frame(b"head", true).unwrap();
        sink.body_start(5).unwrap();
        sink.body_part(0, b"ab").unwrap();
        assert_eq!(assembly.pending_frames(), 2);
        // The driver writes straight into the open frame, between feeds.
        assembly.open_body().unwrap()[2..4].copy_from_slice(b"cd");
        let mut sink = assembly.sink(Owned { events: 0 }, &mut inbound);
        sink.body_part(4, b"e").unwrap();
        sink.body_end(true).unwrap();
        sink.frame(b"tail", false).unwrap();
        assert!(assembly.open_body().is_none());
        assert_eq!(
            inbound.pop(),
            Some(vec![b"head".to_vec(), b"abcde".to_vec(), b"tail".to_vec()])
        );
    }

    #[test]
    fn messages_queue_past_the_high_water_mark() {
        let mut assembly = Assembly::default();
        let mut inbound = Pipe::new(1);
        let mut sink = assembly.sink(Owned { events: 0 }, &mut inbound);
        for body in [b"1", b"2", b"3"] {
            sink.frame(body, false).unwrap();
        }
        assert_eq!(inbound.len(), 3);
    }
}
