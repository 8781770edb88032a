//! Frames (RFC 37 §"Framing", spec §2): `flags:u8`, size (`u8`, or `u64be` when LONG), body.
//!
//! Encoding always picks the shortest size form, as libzmq does (LONG iff the body is over
//! 255 bytes). Decoding is as lenient as libzmq's: reserved flag bits are ignored, LONG may
//! carry a small size, and MORE on a command is left for the caller to ignore.
//!
//! [`Deframer`] splits a byte stream into frames. It hands out frames borrowed straight from
//! the input when they arrived whole, and buffers only a trailing partial frame, so each byte
//! of a frame body is copied once by the caller (twice when a frame spans several reads).
//! With [`Deframer::feed_split`] it leaves the body of a large data frame that has not all
//! arrived to the caller, who can receive it straight into the frame's final buffer.

use std::ops::{ControlFlow, RangeInclusive};

use crate::error::{Error, InvalidFrame};

/// Flag bit: another frame of the same message follows.
pub const MORE: u8 = 0x01;
/// Flag bit: the size is a `u64be` instead of a `u8`.
pub const LONG: u8 = 0x02;
/// Flag bit: the frame is a command, not message data.
pub const COMMAND: u8 = 0x04;

/// Header length of a frame with a `u8` size.
const SHORT_HEADER_LEN: usize = 2;
/// Header length of a frame with a `u64be` size.
const LONG_HEADER_LEN: usize = 9;
/// The largest body a short frame can carry.
const MAX_SHORT_BODY: usize = u8::MAX as usize;

/// The largest body a frame can have when no other limit is set: no allocation in Rust can
/// exceed `isize::MAX` bytes, so a frame announcing more could never be held.
pub const MAX_HOLDABLE: u64 = isize::MAX as u64;

/// How far ahead of the bytes that actually arrived the deframer may reserve memory for a
/// frame whose size the peer announced: a peer lying about a huge size must not make us
/// allocate it. Also the buffer capacity kept around after a large frame was delivered.
pub const MAX_RESERVE_AHEAD: usize = 1 << 20;

/// A decoded frame, borrowing its body from the input or the deframer's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The flags byte as received (reserved bits included).
    pub flags: u8,
    /// The frame body.
    pub body: &'a [u8],
}

impl Frame<'_> {
    /// Whether more frames of the same message follow.
    pub fn more(&self) -> bool {
        self.flags & MORE != 0
    }

    /// Whether this frame is a command.
    pub fn is_command(&self) -> bool {
        self.flags & COMMAND != 0
    }
}

/// An encoded frame header (flags and size) in its shortest form.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    bytes: [u8; LONG_HEADER_LEN],
    len: usize,
}

impl Header {
    /// The header for a body of `body_len` bytes with `flags` (MORE and/or COMMAND; LONG is
    /// added when the body needs it, reserved bits must be 0).
    pub fn new(flags: u8, body_len: usize) -> Header {
        let mut bytes = [0; LONG_HEADER_LEN];
        if body_len > MAX_SHORT_BODY {
            bytes[0] = flags | LONG;
            // usize -> u64 never truncates on the platforms Rust supports.
            bytes[1..].copy_from_slice(&(body_len as u64).to_be_bytes());
            Header {
                bytes,
                len: LONG_HEADER_LEN,
            }
        } else {
            bytes[0] = flags;
            bytes[1] = body_len as u8;
            Header {
                bytes,
                len: SHORT_HEADER_LEN,
            }
        }
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The number of bytes a frame with a body of `body_len` bytes takes on the wire.
pub fn wire_len(body_len: usize) -> usize {
    let header = if body_len > MAX_SHORT_BODY {
        LONG_HEADER_LEN
    } else {
        SHORT_HEADER_LEN
    };
    header + body_len
}

/// Appends one frame to `out`, its body being `parts` one after the other (so callers need
/// not concatenate a command name and its fields first).
pub fn encode(flags: u8, parts: &[&[u8]], out: &mut Vec<u8>) {
    let body_len = parts.iter().map(|part| part.len()).sum();
    out.reserve(wire_len(body_len));
    out.extend_from_slice(Header::new(flags, body_len).as_bytes());
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// Writes one frame at the start of `out`, which must hold at least [`wire_len`] bytes;
/// returns the number of bytes written.
pub fn write(flags: u8, body: &[u8], out: &mut [u8]) -> usize {
    let header = Header::new(flags, body.len());
    let (head, rest) = out.split_at_mut(header.len);
    head.copy_from_slice(header.as_bytes());
    rest[..body.len()].copy_from_slice(body);
    header.len + body.len()
}

/// A parsed header: where the body starts and how long it is.
#[derive(Debug, Clone, Copy)]
struct Decoded {
    flags: u8,
    header_len: usize,
    body_len: usize,
}

impl Decoded {
    /// Header plus body length.
    fn total(&self) -> usize {
        self.header_len + self.body_len
    }
}

/// A data frame whose body [`Deframer::feed_split`] leaves to the caller: its header has
/// been read, and the deframer is between frames again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened {
    /// The flags byte as received.
    pub flags: u8,
    /// The body's length, checked against the deframer's limit.
    pub body_len: usize,
    /// Where the body starts in the bytes just fed (their length if none of it came).
    pub body_start: usize,
}

impl Opened {
    /// Whether more frames of the same message follow.
    pub fn more(&self) -> bool {
        self.flags & MORE != 0
    }
}

/// Whether a frame with this header, not all arrived, is left to the caller.
fn opens(header: &Decoded, split: Option<&RangeInclusive<usize>>) -> bool {
    header.flags & COMMAND == 0 && split.is_some_and(|split| split.contains(&header.body_len))
}

/// The header length announced by a flags byte.
pub fn header_len(flags: u8) -> usize {
    if flags & LONG != 0 {
        LONG_HEADER_LEN
    } else {
        SHORT_HEADER_LEN
    }
}

/// Decodes the header at the start of `buf` (`Ok(None)` when it is not all there), checking
/// the announced size against the 63-bit limit and `limit`.
fn decode_header(buf: &[u8], limit: u64) -> Result<Option<Decoded>, Error> {
    let Some(&flags) = buf.first() else {
        return Ok(None);
    };
    let header_len = header_len(flags);
    let Some(size_bytes) = buf.get(1..header_len) else {
        return Ok(None);
    };
    let size = match *size_bytes {
        [short] => u64::from(short),
        _ => {
            let size = u64::from_be_bytes(size_bytes.try_into().expect("8 size bytes"));
            if size > i64::MAX as u64 {
                return Err(InvalidFrame::SizeOverflow(size).into());
            }
            size
        }
    };
    // Refused as soon as the header is in: waiting for a body that can never be held would
    // leave the connection open forever (libzmq fails to allocate it and drops the peer).
    if size > limit {
        return Err(InvalidFrame::TooLarge { size, limit }.into());
    }
    // `limit` is at most `isize::MAX`, so the header fits too.
    let body_len = usize::try_from(size).expect("size <= isize::MAX");
    Ok(Some(Decoded {
        flags,
        header_len,
        body_len,
    }))
}

/// Splits a byte stream into frames, buffering only an incomplete trailing frame.
#[derive(Debug)]
pub struct Deframer {
    /// The start of a frame that has not fully arrived yet (empty between frames).
    partial: Vec<u8>,
    /// Frames with a larger body are an error.
    limit: u64,
}

impl Default for Deframer {
    fn default() -> Self {
        Deframer::new(None)
    }
}

impl Deframer {
    /// A deframer refusing frames whose body exceeds `max_size` bytes (`None`: libzmq's
    /// `MAXMSGSIZE = -1`), and always those above [`MAX_HOLDABLE`].
    pub fn new(max_size: Option<u64>) -> Deframer {
        Deframer {
            partial: Vec::new(),
            limit: max_size.map_or(MAX_HOLDABLE, |max| max.min(MAX_HOLDABLE)),
        }
    }

    /// Also refuses frames above `ceiling` bytes: what the process could ever hold (the
    /// machine's memory, say), which only the caller knows. A header announcing more is
    /// refused at once instead of waiting for a body that could never be held.
    pub fn with_ceiling(mut self, ceiling: u64) -> Deframer {
        self.limit = self.limit.min(ceiling);
        self
    }

    /// The largest frame body this deframer accepts.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The memory the deframer holds for a partial frame (bounded by what arrived plus a
    /// fixed reserve, whatever a header claims).
    pub fn buffered_capacity(&self) -> usize {
        self.partial.capacity()
    }

    /// Decodes every whole frame in the buffered bytes plus `data`, calling `on_frame` for
    /// each in order, and keeps an incomplete trailing frame for the next call.
    ///
    /// `on_frame` returns `ControlFlow::Break` to stop: the rest of `data` is then dropped
    /// (the caller has closed the connection). Errors from `on_frame` stop decoding too.
    pub fn feed<E: From<Error>>(
        &mut self,
        data: &[u8],
        on_frame: impl FnMut(Frame<'_>) -> Result<ControlFlow<()>, E>,
    ) -> Result<(), E> {
        self.feed_split(data, None, on_frame).map(|_| ())
    }

    /// As [`Deframer::feed`], except that a data frame whose body length is in `split` and
    /// has not all arrived is not buffered: decoding stops at its header and the frame
    /// is returned as [`Opened`], the rest of its body being the next bytes of the stream,
    /// for the caller to take (from `data[opened.body_start..]` and the bytes that follow)
    /// before it feeds the deframer again. Commands are never split, nor is a frame whose
    /// body the deframer had already begun to buffer.
    pub fn feed_split<E: From<Error>>(
        &mut self,
        mut data: &[u8],
        split: Option<RangeInclusive<usize>>,
        mut on_frame: impl FnMut(Frame<'_>) -> Result<ControlFlow<()>, E>,
    ) -> Result<Option<Opened>, E> {
        let input_len = data.len();
        if !self.partial.is_empty() {
            let Some(header) = self.top_up_header(&mut data)? else {
                return Ok(None);
            };
            if self.partial.len() == header.header_len && opens(&header, split.as_ref()) {
                self.partial.clear();
                return Ok(Some(Opened {
                    flags: header.flags,
                    body_len: header.body_len,
                    body_start: input_len - data.len(),
                }));
            }
            let missing = header.total() - self.partial.len();
            let take = missing.min(data.len());
            self.partial.reserve(missing.min(MAX_RESERVE_AHEAD));
            self.partial.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.partial.len() < header.total() {
                return Ok(None);
            }
            let body = &self.partial[header.header_len..];
            let flow = on_frame(Frame {
                flags: header.flags,
                body,
            })?;
            self.partial.clear();
            // Don't keep a huge buffer alive after one huge frame.
            self.partial.shrink_to(MAX_RESERVE_AHEAD);
            if flow.is_break() {
                return Ok(None);
            }
        }
        // The fast path: frames that arrived whole are handed out without any copy.
        while !data.is_empty() {
            match decode_header(data, self.limit)? {
                Some(header) if header.total() <= data.len() => {
                    let body = &data[header.header_len..header.total()];
                    data = &data[header.total()..];
                    if on_frame(Frame {
                        flags: header.flags,
                        body,
                    })?
                    .is_break()
                    {
                        return Ok(None);
                    }
                }
                Some(header) if opens(&header, split.as_ref()) => {
                    return Ok(Some(Opened {
                        flags: header.flags,
                        body_len: header.body_len,
                        body_start: input_len - data.len() + header.header_len,
                    }));
                }
                incomplete => {
                    // Reserve no more than what arrived plus a bounded amount ahead.
                    let total = incomplete.map_or(0, |h| h.total());
                    self.partial
                        .reserve(total.clamp(data.len(), data.len() + MAX_RESERVE_AHEAD));
                    self.partial.extend_from_slice(data);
                    return Ok(None);
                }
            }
        }
        Ok(None)
    }

    /// Moves bytes from `data` into the buffered partial frame until its header is complete,
    /// taking no byte beyond the header; `Ok(None)` if `data` ran out first.
    fn top_up_header(&mut self, data: &mut &[u8]) -> Result<Option<Decoded>, Error> {
        let needed = header_len(self.partial[0]).saturating_sub(self.partial.len());
        let take = needed.min(data.len());
        self.partial.extend_from_slice(&data[..take]);
        *data = &data[take..];
        decode_header(&self.partial, self.limit)
    }

    /// How many more bytes would complete the frame being buffered; 0 between frames or while
    /// its header is incomplete.
    pub fn bytes_wanted(&self) -> usize {
        match decode_header(&self.partial, self.limit) {
            Ok(Some(header)) => header.total() - self.partial.len(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` and collects (flags, body) of every frame.
    fn deframe(deframer: &mut Deframer, chunks: &[&[u8]]) -> Result<Vec<(u8, Vec<u8>)>, Error> {
        let mut frames = Vec::new();
        for chunk in chunks {
            deframer.feed(chunk, |f: Frame<'_>| -> Result<_, Error> {
                frames.push((f.flags, f.body.to_vec()));
                Ok(ControlFlow::Continue(()))
            })?;
        }
        Ok(frames)
    }

    #[test]
    fn header_uses_long_form_only_above_255() {
        assert_eq!(Header::new(0, 255).as_bytes(), [0x00, 0xff]);
        assert_eq!(
            Header::new(MORE, 256).as_bytes(),
            [0x03, 0, 0, 0, 0, 0, 0, 1, 0]
        );
        assert_eq!(Header::new(COMMAND, 0).as_bytes(), [0x04, 0x00]);
        assert_eq!(wire_len(255), 257);
        assert_eq!(wire_len(256), 265);
    }

    #[test]
    fn encode_and_write_agree() {
        for len in [0, 1, 255, 256, 1000] {
            let body = vec![0xab; len];
            let mut appended = Vec::new();
            encode(MORE, &[&body], &mut appended);
            let mut written = vec![0; wire_len(len)];
            assert_eq!(write(MORE, &body, &mut written), wire_len(len));
            assert_eq!(appended, written);
        }
    }

    #[test]
    fn decodes_lenient_forms() {
        // LONG with a small size, reserved bits set, MORE on a command.
        let mut d = Deframer::default();
        let frames = deframe(
            &mut d,
            &[&[0x02, 0, 0, 0, 0, 0, 0, 0, 1, b'x', 0xf8, 0x00, 0x05, 0x00]],
        )
        .unwrap();
        assert_eq!(
            frames,
            [(0x02, b"x".to_vec()), (0xf8, vec![]), (0x05, vec![])]
        );
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let mut stream = Vec::new();
        encode(MORE, &[], &mut stream);
        encode(0, &[&[7; 300]], &mut stream);
        encode(COMMAND, &[b"\x04PING", b"\x00\x00"], &mut stream);
        let whole = deframe(&mut Deframer::default(), &[&stream]).unwrap();
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let mut d = Deframer::default();
        assert_eq!(deframe(&mut d, &bytes).unwrap(), whole);
        assert_eq!(whole.len(), 3);
        assert_eq!(d.bytes_wanted(), 0);
    }

    #[test]
    fn bytes_wanted_counts_the_rest_of_the_frame() {
        let mut d = Deframer::default();
        deframe(&mut d, &[&[0x02, 0, 0, 0]]).unwrap();
        assert_eq!(d.bytes_wanted(), 0, "size not known yet");
        deframe(&mut d, &[&[0, 0, 0, 0x01, 0x2c, 1, 2]]).unwrap();
        assert_eq!(d.bytes_wanted(), 298);
    }

    #[test]
    fn refuses_oversized_and_overflowing_sizes() {
        let mut d = Deframer::new(Some(3));
        assert_eq!(
            deframe(&mut d, &[&[0x00, 0x04]]),
            Err(InvalidFrame::TooLarge { size: 4, limit: 3 }.into())
        );
        let mut d = Deframer::default();
        assert_eq!(
            deframe(&mut d, &[&[0x02, 0x80], &[0, 0, 0, 0, 0, 0, 0]]),
            Err(InvalidFrame::SizeOverflow(0x8000_0000_0000_0000).into())
        );
    }

    #[test]
    fn a_lying_size_reserves_only_a_bounded_amount() {
        let mut d = Deframer::default();
        let mut header = vec![0x02];
        header.extend_from_slice(&(i64::MAX as u64).to_be_bytes());
        deframe(&mut d, &[&header, &[0; 100]]).unwrap();
        assert!(d.partial.capacity() <= 2 * (109 + MAX_RESERVE_AHEAD));
        assert_eq!(d.bytes_wanted(), i64::MAX as usize + 9 - 109);
    }

    #[test]
    fn a_size_above_the_ceiling_is_refused_at_once() {
        let claim: u64 = (8 << 60) - 1; // just under 8 EiB: the largest 63-bit size
        let mut header = vec![0x02];
        header.extend_from_slice(&claim.to_be_bytes());
        for mut d in [
            Deframer::new(None).with_ceiling(1 << 30),
            Deframer::new(Some(1 << 40)).with_ceiling(1 << 30),
        ] {
            assert_eq!(d.limit(), 1 << 30);
            assert_eq!(
                deframe(&mut d, &[&header[..5], &header[5..]]),
                Err(InvalidFrame::TooLarge {
                    size: claim,
                    limit: 1 << 30
                }
                .into())
            );
        }
        // A smaller MAXMSGSIZE stays the limit.
        assert_eq!(Deframer::new(Some(10)).with_ceiling(1 << 30).limit(), 10);
        assert_eq!(Deframer::new(None).limit(), MAX_HOLDABLE);
    }

    #[test]
    fn memory_follows_what_arrived_not_what_was_claimed() {
        let mut d = Deframer::new(None).with_ceiling(1 << 40);
        let mut header = vec![0x02];
        header.extend_from_slice(&(1u64 << 39).to_be_bytes());
        deframe(&mut d, &[&header]).unwrap();
        let mut arrived = header.len();
        for _ in 0..50 {
            deframe(&mut d, &[&[0; 4096]]).unwrap();
            arrived += 4096;
            assert!(d.buffered_capacity() <= 2 * (arrived + MAX_RESERVE_AHEAD));
        }
    }

    #[test]
    fn break_drops_the_rest() {
        let mut d = Deframer::default();
        let mut seen = 0;
        d.feed(&[0, 0, 0, 0, 0, 1], |_: Frame<'_>| -> Result<_, Error> {
            seen += 1;
            Ok(ControlFlow::Break(()))
        })
        .unwrap();
        assert_eq!(seen, 1);
        assert_eq!(d.bytes_wanted(), 0);
    }
}
