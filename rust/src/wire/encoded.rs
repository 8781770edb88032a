//! A whole message framed once, for fan-out: a publisher encodes a message it sends to many
//! connections a single time, and every connection that writes frames in clear (NULL, PLAIN)
//! copies those bytes as they are. A connection that encrypts each frame (CURVE) takes the
//! frames back out with [`frames`] and writes them itself.

use super::frame;

/// The number of bytes [`write`] writes for a message whose frames have these body lengths.
pub fn len(body_lens: impl IntoIterator<Item = usize>) -> usize {
    body_lens.into_iter().map(frame::wire_len).sum()
}

/// Writes `bodies` as one message (MORE on every frame but the last) at the start of `out`,
/// which must hold at least [`len`] bytes; returns the number of bytes written.
pub fn write<'f>(bodies: impl ExactSizeIterator<Item = &'f [u8]>, out: &mut [u8]) -> usize {
    let last = bodies.len().saturating_sub(1);
    let mut written = 0;
    for (position, body) in bodies.enumerate() {
        let flags = if position < last { frame::MORE } else { 0 };
        written += frame::write(flags, body, &mut out[written..]);
    }
    written
}

/// The frames of a message [`write`] wrote, as `(body, more)`. The bytes are our own
/// encoding, never a peer's, so they are trusted to be whole frames.
pub fn frames(encoded: &[u8]) -> Frames<'_> {
    Frames { rest: encoded }
}

/// Iterator returned by [`frames`].
#[derive(Debug, Clone)]
pub struct Frames<'e> {
    rest: &'e [u8],
}

impl<'e> Iterator for Frames<'e> {
    type Item = (&'e [u8], bool);

    fn next(&mut self) -> Option<Self::Item> {
        let (&flags, after_flags) = self.rest.split_first()?;
        let (body_len, after_header) = if flags & frame::LONG != 0 {
            let (size, after) = after_flags.split_at(8);
            let size = u64::from_be_bytes(size.try_into().expect("8 bytes"));
            (
                usize::try_from(size).expect("our own frame fits in memory"),
                after,
            )
        } else {
            let (&size, after) = after_flags.split_first()?;
            (usize::from(size), after)
        };
        let (body, rest) = after_header.split_at(body_len);
        self.rest = rest;
        Some((body, flags & frame::MORE != 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(bodies: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![0; len(bodies.iter().map(|body| body.len()))];
        assert_eq!(write(bodies.iter().copied(), &mut out), out.len());
        out
    }

    #[test]
    fn frames_carry_more_except_the_last() {
        assert_eq!(encode(&[b"ab", b"c"]), [0x01, 2, b'a', b'b', 0x00, 1, b'c']);
    }

    #[test]
    fn long_frames_have_eight_byte_sizes() {
        let big = vec![9u8; 300];
        let out = encode(&[&big]);
        assert_eq!(out[..9], [0x02, 0, 0, 0, 0, 0, 0, 1, 44]);
        assert_eq!(out.len(), 9 + 300);
    }

    #[test]
    fn frames_reads_back_what_write_wrote() {
        let big = vec![5u8; 256];
        let bodies: [&[u8]; 4] = [b"topic", b"", &big, b"end"];
        let out = encode(&bodies);
        let back: Vec<(&[u8], bool)> = frames(&out).collect();
        let expected: Vec<(&[u8], bool)> =
            vec![(b"topic", true), (b"", true), (&big, true), (b"end", false)];
        assert_eq!(back, expected);
    }
}
