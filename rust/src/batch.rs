//! Messages to bytes: how much one write takes from the outbound [`Pipe`] and the exact size
//! of the buffer it needs, generic over how the host represents messages.
//!
//! The policy: pending protocol output first (greeting, handshake, PONG, PING), then, once
//! the connection may send messages, whole messages until the bytes reach the caller's
//! budget, but always at least one message so a message larger than the budget still goes.
//! The host only converts: a message into its frames, a frame into its body bytes. A message
//! may also come already framed (a publisher's shared encoding, [`crate::wire::encoded`]):
//! it is then one piece, copied as it is or, on an encrypting connection, re-framed. So may
//! a run of many small messages framed back to back ([`write_run`]: a batch sent at once is
//! encoded once, queued as one piece, and written with no copy when it is all a write takes,
//! [`Batch::sole_encoded`]).
//!
//! Large bodies and encodings ([`Connection::sends_apart`]) are not copied: only a frame's
//! header is written, and [`Batch::apart`] says where in the written bytes the host's own
//! buffer goes, for one gathered write of both.

use crate::connection::{Connection, Outgoing};
use crate::error::Error;
use crate::pipe::Pipe;
use crate::wire::frame;

/// The largest frame body a run takes: a batch with a larger frame is queued message by
/// message instead, so a large body is never copied into a run only to be copied again.
pub const RUN_MAX_FRAME: usize = 8 * 1024;

/// Writes frames, each `(body, more)`, back to back at the start of `out`, which must hold
/// the sum of their [`frame::wire_len`]; returns the bytes written. Whole messages written
/// so (MORE on every frame of a message but its last) are a run: one encoded piece.
pub fn write_run<'f>(frames: impl IntoIterator<Item = (&'f [u8], bool)>, out: &mut [u8]) -> usize {
    let mut written = 0;
    for (body, more) in frames {
        let flags = if more { frame::MORE } else { 0 };
        written += frame::write(flags, body, &mut out[written..]);
    }
    written
}

/// The most bytes an [`OpenRun`] grows to: a message that would take it past this starts a
/// new run (a write takes a run whole, so this bounds one write's piece as `SEND_SIZE` does).
pub const OPEN_RUN_MAX: usize = 256 * 1024;

/// What an [`OpenRun`] reserves when it starts: a writer's wake-up usually finds some
/// dozens of small messages queued, so most runs never grow (a reallocation copies it all).
const OPEN_RUN_START: usize = 16 * 1024;

/// Small messages framed back to back as they are queued one by one: a run, as
/// [`write_run`] writes it, that grows at the back of a connection's outbound pipe until a
/// write takes it or something else is queued behind it. A write then copies no message
/// and frees none (a run is one piece, [`Batch::sole_encoded`]).
#[derive(Debug)]
pub struct OpenRun {
    encoded: Vec<u8>,
    messages: usize,
}

impl Default for OpenRun {
    fn default() -> Self {
        OpenRun {
            encoded: Vec::with_capacity(OPEN_RUN_START),
            messages: 0,
        }
    }
}

impl OpenRun {
    /// Whether a message of `wire_len` encoded bytes still goes in (a run takes at least
    /// one message, whatever its size).
    pub fn has_room(&self, wire_len: usize) -> bool {
        self.messages == 0 || self.encoded.len() + wire_len <= OPEN_RUN_MAX
    }

    /// Appends one frame of the message being added; `last`: the frame ends it.
    pub fn push_frame(&mut self, body: &[u8], last: bool) {
        let flags = if last { 0 } else { frame::MORE };
        self.encoded
            .extend_from_slice(frame::Header::new(flags, body.len()).as_bytes());
        self.encoded.extend_from_slice(body);
        if last {
            self.messages += 1;
        }
    }

    /// How many whole messages the run holds.
    pub fn messages(&self) -> usize {
        self.messages
    }

    /// The frames of its messages, back to back.
    pub fn encoded(&self) -> &[u8] {
        &self.encoded
    }
}

/// How a host takes messages apart for writing.
pub trait MessageFrames {
    /// One whole message as queued (Python: `list[bytes]`).
    type Message;
    /// One frame of it (Python: `bytes`).
    type Frame;
    /// What taking a message apart may fail with (a message that is not one).
    type Error: From<Error>;

    /// Appends the frames of `message` to `frames`, in order; or, for a message already
    /// encoded as a whole, appends that one piece and returns true.
    fn split(
        &mut self,
        message: Self::Message,
        frames: &mut Vec<Self::Frame>,
    ) -> Result<bool, Self::Error>;

    /// The body bytes of a frame.
    fn body<'f>(&self, frame: &'f Self::Frame) -> &'f [u8];
}

/// What one piece of a batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// A frame that more frames of its message follow.
    More,
    /// The last frame of a message.
    Last,
    /// A whole message, already encoded.
    Encoded,
    /// A frame whose body goes out from its own buffer after its header; whether more
    /// frames of its message follow.
    Apart {
        /// More frames of the message follow.
        more: bool,
    },
    /// A whole message, already encoded, going out from its own buffer.
    EncodedApart,
}

impl Piece {
    /// Whether this piece ends a message.
    fn ends_message(self) -> bool {
        !matches!(self, Piece::More | Piece::Apart { more: true })
    }
}

/// What one write takes: frames of whole messages and the output's exact length.
#[derive(Debug)]
pub struct Batch<F> {
    frames: Vec<F>,
    /// For each frame, what it is.
    pieces: Vec<Piece>,
    len: usize,
    /// The pieces going out from their own buffers: where each goes in the written bytes,
    /// and its frame's index.
    apart: Vec<(usize, usize)>,
    /// Their bytes, part of `len` but not written.
    apart_len: usize,
}

impl<F> Batch<F> {
    /// The exact number of bytes the batch puts on the wire (0: nothing to write).
    pub fn len(&self) -> usize {
        self.len
    }

    /// The exact number of bytes [`Batch::write`] writes: all but the pieces that go out
    /// from their own buffers.
    pub fn written_len(&self) -> usize {
        self.len - self.apart_len
    }

    /// The pieces that go out from their own buffers, in order: for each, the offset in
    /// what [`Batch::write`] wrote where its bytes go, and the frame holding them.
    pub fn apart(&self) -> impl Iterator<Item = (usize, &F)> {
        self.apart
            .iter()
            .map(|&(at, frame)| (at, &self.frames[frame]))
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many messages the batch took.
    pub fn messages(&self) -> usize {
        self.pieces
            .iter()
            .filter(|piece| piece.ends_message())
            .count()
    }

    /// The one piece that is the whole output, if it is so: an encoded message or run, with
    /// no protocol output before it, on a connection that writes frames in clear. Its bytes
    /// can then be written as they are, with no copy.
    pub fn sole_encoded(&self, conn: &Connection) -> Option<&F> {
        match (&self.frames[..], &self.pieces[..]) {
            ([piece], [Piece::Encoded | Piece::EncodedApart])
                if conn.pending_output().is_empty() && conn.frames_in_clear() =>
            {
                Some(piece)
            }
            _ => None,
        }
    }

    /// Writes the batch into `out`, which must be [`Batch::written_len`] bytes long: a piece
    /// that goes out from its own buffer is left out, a frame's header written for it.
    pub fn write<M>(
        &self,
        conn: &mut Connection,
        frames_of: &M,
        out: &mut [u8],
    ) -> Result<usize, Error>
    where
        M: MessageFrames<Frame = F>,
    {
        let frames =
            self.frames
                .iter()
                .zip(&self.pieces)
                .filter_map(|(frame, &piece)| match piece {
                    Piece::Encoded => Some(Outgoing::Encoded(frames_of.body(frame))),
                    Piece::EncodedApart => None,
                    Piece::Apart { more } => {
                        Some(Outgoing::Header(frames_of.body(frame).len(), more))
                    }
                    piece => Some(Outgoing::Frame(frames_of.body(frame), piece == Piece::More)),
                });
        conn.write_output(out, frames)
    }
}

/// The most frames `take_batch` reserves room for ahead (more are still taken, growing).
const MAX_RESERVED_FRAMES: usize = 1024;

/// Takes the next batch: the connection's pending output, then (when `outbound` is given
/// and the connection may send messages) whole messages until `max_bytes` is reached, at
/// least one. Messages that fail to split are lost with the error (the host only queues
/// valid ones).
pub fn take_batch<M: MessageFrames>(
    conn: &Connection,
    frames_of: &mut M,
    outbound: Option<&mut Pipe<M::Message>>,
    max_bytes: usize,
) -> Result<Batch<M::Frame>, M::Error> {
    let mut batch = Batch {
        frames: Vec::new(),
        pieces: Vec::new(),
        len: conn.pending_output().len(),
        apart: Vec::new(),
        apart_len: 0,
    };
    let Some(outbound) = outbound.filter(|_| conn.can_send_messages()) else {
        return Ok(batch);
    };
    // A frame (and its piece) per queued message, up to what one batch can take: the
    // vectors start at that size instead of doubling from empty on every take (a PUB's
    // writer takes about a hundred messages a wake-up; the regrowth cost 1,500 instructions
    // per message sent to 10 subscribers).
    let expected = outbound.len().min(MAX_RESERVED_FRAMES);
    batch.frames.reserve(expected);
    batch.pieces.reserve(expected);
    let mut taken = false;
    while !taken || batch.len < max_bytes {
        let Some(message) = outbound.pop() else {
            break;
        };
        let first = batch.frames.len();
        let encoded = frames_of.split(message, &mut batch.frames)?;
        if batch.frames.len() == first {
            return Err(Error::from(crate::error::ApiMisuse::EmptyMessage).into());
        }
        if encoded {
            let encoding = frames_of.body(&batch.frames[first]).len();
            if conn.sends_apart(encoding) {
                batch.apart.push((batch.len - batch.apart_len, first));
                batch.apart_len += encoding;
                batch.len += encoding;
                batch.pieces.push(Piece::EncodedApart);
            } else {
                batch.len += conn.encoded_wire_len(frames_of.body(&batch.frames[first]));
                batch.pieces.push(Piece::Encoded);
            }
        } else {
            for (index, frame) in batch.frames.iter().enumerate().skip(first) {
                let body_len = frames_of.body(frame).len();
                batch.len += conn.frame_wire_len(body_len);
                if conn.sends_apart(body_len) {
                    // The frame's header is written, its body goes right after.
                    batch.apart_len += body_len;
                    batch.apart.push((batch.len - batch.apart_len, index));
                    batch.pieces.push(Piece::Apart { more: true });
                } else {
                    batch.pieces.push(Piece::More);
                }
            }
            match batch.pieces.last_mut() {
                Some(last @ Piece::More) => *last = Piece::Last,
                Some(Piece::Apart { more }) => *more = false,
                _ => {}
            }
        }
        taken = true;
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_run_frames_messages_as_write_run_does_and_stops_at_its_limit() {
        let mut run = OpenRun::default();
        assert!(run.has_room(OPEN_RUN_MAX + 1)); // an empty run takes any one message
        run.push_frame(b"ab", false);
        run.push_frame(b"", true);
        run.push_frame(&[7; 300], true);
        assert_eq!(run.messages(), 2);
        let frames: [(&[u8], bool); 3] = [(b"ab", true), (b"", false), (&[7; 300], false)];
        let mut expected = vec![0; 2 + 2 + 2 + 9 + 300];
        assert_eq!(write_run(frames, &mut expected), expected.len());
        assert_eq!(run.encoded(), &expected[..]);
        let used = run.encoded().len();
        assert!(run.has_room(OPEN_RUN_MAX - used));
        assert!(!run.has_room(OPEN_RUN_MAX - used + 1));
    }
    use crate::connection::Event;
    use crate::wire::encoded;
    use crate::SocketType;
    use std::time::Duration;

    struct Owned;

    /// A queued message: its frames, or its shared encoding.
    enum Message {
        Frames(Vec<Vec<u8>>),
        Encoded(Vec<u8>),
    }

    impl MessageFrames for Owned {
        type Message = Message;
        type Frame = Vec<u8>;
        type Error = Error;

        fn split(&mut self, message: Message, frames: &mut Vec<Vec<u8>>) -> Result<bool, Error> {
            match message {
                Message::Frames(message) => {
                    frames.extend(message);
                    Ok(false)
                }
                Message::Encoded(encoded) => {
                    frames.push(encoded);
                    Ok(true)
                }
            }
        }

        fn body<'f>(&self, frame: &'f Vec<u8>) -> &'f [u8] {
            frame
        }
    }

    struct Quiet;

    impl crate::connection::Sink for Quiet {
        type Error = Error;
        fn frame(&mut self, _: &[u8], _: bool) -> Result<(), Error> {
            Ok(())
        }
        fn event(&mut self, _: Event<'_>) -> Result<(), Error> {
            Ok(())
        }
        fn body_start(&mut self, _: usize) -> Result<(), Error> {
            Ok(())
        }
        fn body_part(&mut self, _: usize, _: &[u8]) -> Result<(), Error> {
            Ok(())
        }
        fn body_end(&mut self, _: bool) -> Result<(), Error> {
            Ok(())
        }
    }

    /// A PUSH connection whose handshake with a PULL is done, its output taken.
    fn ready() -> Connection {
        let mut conn = Connection::new(SocketType::Push, b"", None);
        let mut peer = Connection::new(SocketType::Pull, b"", None);
        for _ in 0..2 {
            let mut out = vec![0; conn.pending_output().len()];
            conn.write_output(&mut out, []).unwrap();
            peer.feed(&out, Duration::ZERO, &mut Quiet).unwrap();
            let mut back = vec![0; peer.pending_output().len()];
            peer.write_output(&mut back, []).unwrap();
            conn.feed(&back, Duration::ZERO, &mut Quiet).unwrap();
        }
        assert!(conn.can_send_messages());
        conn
    }

    fn queue(messages: &[&[&[u8]]]) -> Pipe<Message> {
        let mut pipe = Pipe::new(0);
        for message in messages {
            pipe.push(Message::Frames(
                message.iter().map(|frame| frame.to_vec()).collect(),
            ));
        }
        pipe
    }

    fn encode(bodies: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![0; encoded::len(bodies.iter().map(|body| body.len()))];
        encoded::write(bodies.iter().copied(), &mut out);
        out
    }

    /// What `conn` writes for `pipe`'s messages.
    fn written(conn: &mut Connection, pipe: &mut Pipe<Message>) -> Vec<u8> {
        let batch = take_batch(conn, &mut Owned, Some(pipe), 1 << 16).unwrap();
        let mut out = vec![0; batch.len()];
        assert_eq!(batch.write(conn, &Owned, &mut out).unwrap(), out.len());
        out
    }

    #[test]
    fn an_encoded_message_is_copied_as_it_is() {
        let mut conn = ready();
        let mut pipe = queue(&[&[b"x"]]);
        pipe.push(Message::Encoded(encode(&[b"a", b"bc"])));
        let mut framed = queue(&[&[b"x"], &[b"a", b"bc"]]);
        let mut reference = ready();
        assert_eq!(
            written(&mut conn, &mut pipe),
            written(&mut reference, &mut framed)
        );
    }

    #[test]
    fn a_run_is_its_messages_framed_back_to_back() {
        let mut run = vec![0; 3 + 3 + 4];
        let frames: [(&[u8], bool); 3] = [(b"a", true), (b"b", false), (b"cd", false)];
        assert_eq!(write_run(frames, &mut run), run.len());
        let mut conn = ready();
        let mut pipe = queue(&[]);
        pipe.push(Message::Encoded(run));
        let mut framed = queue(&[&[b"a", b"b"], &[b"cd"]]);
        let mut reference = ready();
        assert_eq!(
            written(&mut conn, &mut pipe),
            written(&mut reference, &mut framed)
        );
    }

    #[test]
    fn a_sole_encoded_piece_is_the_whole_output() {
        let mut conn = ready();
        let mut pipe = queue(&[]);
        pipe.push(Message::Encoded(encode(&[b"a"])));
        let batch = take_batch(&conn, &mut Owned, Some(&mut pipe), 1 << 16).unwrap();
        assert_eq!(batch.sole_encoded(&conn), Some(&encode(&[b"a"])));
        // Not with protocol output ahead of it, nor with a second piece.
        conn.send_ping(0).unwrap();
        let mut pipe = queue(&[]);
        pipe.push(Message::Encoded(encode(&[b"a"])));
        let batch = take_batch(&conn, &mut Owned, Some(&mut pipe), 1 << 16).unwrap();
        assert_eq!(batch.sole_encoded(&conn), None);
        let conn = ready();
        let mut pipe = queue(&[&[b"x"]]);
        pipe.push(Message::Encoded(encode(&[b"a"])));
        let batch = take_batch(&conn, &mut Owned, Some(&mut pipe), 1 << 16).unwrap();
        assert_eq!(batch.sole_encoded(&conn), None);
    }

    #[test]
    fn whole_messages_up_to_the_budget() {
        let conn = ready();
        let mut pipe = queue(&[&[b"aaaa"], &[b"b", b"cc"], &[b"dddd"]]);
        // 6 bytes on the wire for the first, 3 + 4 for the second: the budget of 8 is
        // reached after the second message.
        let batch = take_batch(&conn, &mut Owned, Some(&mut pipe), 8).unwrap();
        assert_eq!(batch.messages(), 2);
        assert_eq!(batch.len(), 13);
        assert_eq!(pipe.len(), 1);
    }

    #[test]
    fn at_least_one_message_however_large() {
        let conn = ready();
        let big = vec![7u8; 1000];
        let mut pipe = queue(&[&[&big], &[b"x"]]);
        let batch = take_batch(&conn, &mut Owned, Some(&mut pipe), 10).unwrap();
        assert_eq!(batch.messages(), 1);
        assert_eq!(batch.len(), 9 + 1000);
    }

    #[test]
    fn written_bytes_are_the_frames_with_more_flags() {
        let mut conn = ready();
        let mut pipe = queue(&[&[b"a", b"bc"]]);
        let batch = take_batch(&conn, &mut Owned, Some(&mut pipe), 1 << 16).unwrap();
        let mut out = vec![0; batch.len()];
        assert_eq!(batch.write(&mut conn, &Owned, &mut out).unwrap(), 7);
        assert_eq!(out, [0x01, 1, b'a', 0x00, 2, b'b', b'c']);
    }

    #[test]
    fn no_messages_before_the_handshake() {
        let conn = Connection::new(SocketType::Push, b"", None);
        let mut pipe = queue(&[&[b"early"]]);
        let batch = take_batch(&conn, &mut Owned, Some(&mut pipe), 100).unwrap();
        assert_eq!(batch.len(), 64, "the greeting only");
        assert_eq!(batch.messages(), 0);
        assert_eq!(pipe.len(), 1);
    }

    #[test]
    fn nothing_to_write_is_empty() {
        let conn = ready();
        let batch = take_batch(&conn, &mut Owned, Some(&mut Pipe::new(0)), 100).unwrap();
        assert!(batch.is_empty());
    }

    /// The bytes on the wire for a batch: what it wrote, with each piece that goes out
    /// apart put where it belongs.
    fn gathered(batch: &Batch<Vec<u8>>, written: &[u8]) -> Vec<u8> {
        let mut wire = Vec::new();
        let mut start = 0;
        for (at, body) in batch.apart() {
            wire.extend_from_slice(&written[start..at]);
            wire.extend_from_slice(body);
            start = at;
        }
        wire.extend_from_slice(&written[start..]);
        wire
    }

    #[test]
    fn large_bodies_and_encodings_go_out_apart_with_the_same_bytes() {
        let big = vec![7u8; 300];
        let bigger = vec![9u8; 1000];
        let messages: &[&[&[u8]]] = &[&[b"a", &big, b"b"], &[&bigger], &[b"small"], &[&big]];
        let mut reference = ready();
        let mut expected = written(&mut reference, &mut queue(messages));
        let mut shared = queue(&[]);
        shared.push(Message::Encoded(encode(&[b"x", &bigger])));
        expected.extend(written(&mut ready(), &mut shared));
        let mut conn = ready().with_bodies_apart(300);
        let mut pipe = queue(messages);
        pipe.push(Message::Encoded(encode(&[b"x", &bigger])));
        let batch = take_batch(&conn, &mut Owned, Some(&mut pipe), 1 << 16).unwrap();
        assert_eq!(batch.messages(), 5);
        assert_eq!(batch.apart().count(), 4, "three bodies and the encoding");
        assert_eq!(batch.len(), expected.len());
        let mut out = vec![0; batch.written_len()];
        assert_eq!(batch.write(&mut conn, &Owned, &mut out).unwrap(), out.len());
        let encoding = encode(&[b"x", &bigger]).len();
        assert_eq!(out.len(), expected.len() - 300 - 1000 - 300 - encoding);
        assert_eq!(gathered(&batch, &out), expected);
    }

    #[test]
    fn bodies_below_the_size_are_copied() {
        let mut conn = ready().with_bodies_apart(301);
        let mut pipe = queue(&[&[&[7u8; 300]]]);
        let batch = take_batch(&conn, &mut Owned, Some(&mut pipe), 1 << 16).unwrap();
        assert_eq!(batch.apart().count(), 0);
        let mut out = vec![0; batch.written_len()];
        batch.write(&mut conn, &Owned, &mut out).unwrap();
        assert_eq!(out.len(), 309);
    }

    #[test]
    fn an_empty_message_is_refused() {
        let conn = ready();
        let mut pipe = queue(&[&[]]);
        assert!(take_batch(&conn, &mut Owned, Some(&mut pipe), 100).is_err());
    }
}
