//! CURVE (RFC 26 CurveZMQ, RFC 25 for the ZMTP binding; spec §5): what client and server
//! share once the handshake is done, the boxing of every data frame into a MESSAGE command.
//!
//! The handshakes are in [`super::curve_client`] and [`super::curve_server`]; each ends
//! with a [`Channel`]: the precomputed key of the two transient key pairs and the two
//! short-nonce counters. Both counters are libzmq's: ours counts up from wherever the
//! handshake left it (client: 3, server: 2), and every MESSAGE from the peer must carry a
//! nonce strictly greater than the last one seen, so a replayed or reordered MESSAGE
//! closes the connection before anything is delivered.

use crate::error::{Error, InvalidFrame, PeerMisbehaved};
use crate::mechanism::crypto::{BoxKey, PrefixKey, SCRATCH_LEN, TAG_LEN};
use crate::wire::frame::{self, Header};

/// `MESSAGE` command name with its length byte.
pub(super) const MESSAGE: &[u8] = b"\x07MESSAGE";
/// Nonce prefixes (spec §5.2).
pub(super) const HELLO_PREFIX: &[u8; 16] = b"CurveZMQHELLO---";
pub(super) const WELCOME_PREFIX: &[u8; 8] = b"WELCOME-";
pub(super) const COOKIE_PREFIX: &[u8; 8] = b"COOKIE--";
pub(super) const INITIATE_PREFIX: &[u8; 16] = b"CurveZMQINITIATE";
pub(super) const VOUCH_PREFIX: &[u8; 8] = b"VOUCH---";
pub(super) const READY_PREFIX: &[u8; 16] = b"CurveZMQREADY---";
const MESSAGE_FROM_CLIENT: &[u8; 16] = b"CurveZMQMESSAGEC";
const MESSAGE_FROM_SERVER: &[u8; 16] = b"CurveZMQMESSAGES";

/// A cookie: 16-byte nonce + `SecretBox[C' + s']` (80 bytes), opaque to the client.
pub(super) const COOKIE_LEN: usize = 16 + TAG_LEN + 64;

/// Flags inside a MESSAGE box (spec §5.6): libzmq's own message flags, not the frame's.
const INNER_MORE: u8 = 0x01;
const INNER_COMMAND: u8 = 0x02;

/// Short nonce (8 bytes) + tag + the inner flags byte: what a MESSAGE adds to a frame body
/// besides the command name.
const MESSAGE_OVERHEAD: usize = MESSAGE.len() + 8 + TAG_LEN + 1;

/// Name, short nonce and tag fill exactly the scratch block a box is sealed with, so a
/// MESSAGE is sealed where it is written, with no copy.
const _: () = assert!(MESSAGE.len() + 8 + TAG_LEN == SCRATCH_LEN);

/// A short-nonce counter that never repeats: it refuses to wrap (RFC 26: "a peer MUST NOT
/// send more than 2^64-1 commands").
#[derive(Debug, Clone, Copy)]
pub(super) struct Counter(u64);

impl Counter {
    /// A counter whose next value is `first`.
    pub(super) fn starting_at(first: u64) -> Counter {
        Counter(first)
    }

    /// The next nonce value, as the 8 bytes sent on the wire.
    pub(super) fn next(&mut self) -> [u8; 8] {
        let value = self.0;
        // After u64::MAX the connection can only fail: a repeated nonce would leak plaintext.
        self.0 = value
            .checked_add(1)
            .expect("2^64 CURVE commands on one connection");
        value.to_be_bytes()
    }
}

/// The encrypted channel a finished CURVE handshake leaves behind.
#[derive(Debug, Clone)]
pub struct Channel {
    key: BoxKey,
    sent: Counter,
    /// The last short nonce received (MESSAGE nonces must exceed it).
    received: u64,
    /// The session key bound to the nonce prefix of what we send and of what we receive
    /// (the per-box HSalsa20 done once per connection).
    ours: PrefixKey,
    theirs: PrefixKey,
}

impl Channel {
    /// The channel of a client (`as_server` false) or server whose next outgoing short
    /// nonce is `sent` and whose last received one was `received`.
    pub(super) fn new(key: BoxKey, as_server: bool, sent: Counter, received: u64) -> Channel {
        let (ours, theirs) = if as_server {
            (MESSAGE_FROM_SERVER, MESSAGE_FROM_CLIENT)
        } else {
            (MESSAGE_FROM_CLIENT, MESSAGE_FROM_SERVER)
        };
        Channel {
            ours: PrefixKey::derive(&key, ours),
            theirs: PrefixKey::derive(&key, theirs),
            key,
            sent,
            received,
        }
    }

    /// The next short nonce we send (the server's READY takes the first).
    pub(super) fn next_nonce(&mut self) -> [u8; 8] {
        self.sent.next()
    }

    /// The session key (READY is boxed with it).
    pub(super) fn key(&self) -> &BoxKey {
        &self.key
    }

    /// The body length of the MESSAGE carrying a `body_len`-byte frame.
    fn message_len(body_len: usize) -> usize {
        MESSAGE_OVERHEAD + body_len
    }

    /// The exact bytes [`Channel::write_frame`] writes for a `body_len`-byte body.
    pub fn frame_wire_len(body_len: usize) -> usize {
        frame::wire_len(Self::message_len(body_len))
    }

    /// Writes one data frame (`flags` holding MORE or not) as a MESSAGE at the start of
    /// `out`, encrypting in place; returns the bytes written.
    ///
    /// libzmq sends MESSAGE as a plain message frame (outer flags 0, LONG when needed),
    /// never flagged COMMAND or MORE: the inner flags byte carries MORE (spec §5.6).
    pub fn write_frame(&mut self, flags: u8, body: &[u8], out: &mut [u8]) -> usize {
        let inner = if flags & frame::MORE != 0 {
            INNER_MORE
        } else {
            0
        };
        self.write_boxed(inner, body, out)
    }

    /// Appends a command (its body, name included) boxed as a MESSAGE with the COMMAND flag,
    /// as libzmq sends PING, PONG, SUBSCRIBE and CANCEL after a CURVE handshake.
    pub fn push_command(&mut self, body: &[u8], out: &mut Vec<u8>) {
        self.push_boxed(INNER_COMMAND, body, out);
    }

    /// Appends a data frame boxed as a MESSAGE (a ZMTP 3.0 subscription message).
    pub fn push_frame(&mut self, flags: u8, body: &[u8], out: &mut Vec<u8>) {
        let inner = if flags & frame::MORE != 0 {
            INNER_MORE
        } else {
            0
        };
        self.push_boxed(inner, body, out);
    }

    fn push_boxed(&mut self, inner: u8, body: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + Self::frame_wire_len(body.len()), 0);
        let written = self.write_boxed(inner, body, &mut out[start..]);
        debug_assert_eq!(start + written, out.len());
    }

    fn write_boxed(&mut self, inner: u8, body: &[u8], out: &mut [u8]) -> usize {
        let message_len = Self::message_len(body.len());
        let header = Header::new(0, message_len);
        let header = header.as_bytes();
        let total = header.len() + message_len;
        let out = &mut out[..total];
        let (head, sealed) = out.split_at_mut(header.len());
        head.copy_from_slice(header);
        sealed[SCRATCH_LEN] = inner;
        sealed[SCRATCH_LEN + 1..].copy_from_slice(body);
        let short_nonce = self.sent.next();
        // The box is sealed in place; name, nonce and tag then go where its scratch was.
        let tag = self.ours.seal_in_place(&short_nonce, sealed);
        let (name, rest) = sealed.split_at_mut(MESSAGE.len());
        name.copy_from_slice(MESSAGE);
        let (nonce, rest) = rest.split_at_mut(8);
        nonce.copy_from_slice(&short_nonce);
        rest[..TAG_LEN].copy_from_slice(&tag);
        total
    }

    /// Opens one MESSAGE (the frame body as received, whatever its outer flags) into
    /// `plaintext`, replacing what was there. Returns `(is_command, more, data)`: the data
    /// (a frame body, or a command body when `is_command`) lies in `plaintext`.
    pub fn open_frame<'p>(
        &mut self,
        body: &[u8],
        plaintext: &'p mut Vec<u8>,
    ) -> Result<(bool, bool, &'p [u8]), Error> {
        if body.len() < MESSAGE.len() || &body[..MESSAGE.len()] != MESSAGE {
            // libzmq: anything but MESSAGE after a CURVE handshake is an unexpected command.
            return Err(PeerMisbehaved::NotAMessage.into());
        }
        if body.len() < MESSAGE_OVERHEAD {
            return Err(InvalidFrame::MalformedMessage.into());
        }
        let short_nonce: [u8; 8] = body[MESSAGE.len()..MESSAGE.len() + 8]
            .try_into()
            .expect("8 bytes");
        let value = u64::from_be_bytes(short_nonce);
        if value <= self.received {
            return Err(PeerMisbehaved::NonceNotIncreasing.into());
        }
        let (tag, ciphertext) = body[MESSAGE.len() + 8..]
            .split_first_chunk::<TAG_LEN>()
            .expect("length checked above");
        self.theirs
            .open_into(&short_nonce, ciphertext, tag, plaintext)
            .map_err(|_| PeerMisbehaved::Cryptographic("MESSAGE"))?;
        // Only an authentic MESSAGE moves the counter: forged ones cannot push it ahead.
        self.received = value;
        let flags = plaintext[SCRATCH_LEN];
        Ok((
            flags & INNER_COMMAND != 0,
            flags & INNER_MORE != 0,
            &plaintext[SCRATCH_LEN + 1..],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::crypto::SecretKey;

    fn pair() -> (Channel, Channel) {
        let client = SecretKey::generate();
        let server = SecretKey::generate();
        let c = BoxKey::precompute(&server.public_key(), &client);
        let s = BoxKey::precompute(&client.public_key(), &server);
        (
            Channel::new(c, false, Counter::starting_at(3), 1),
            Channel::new(s, true, Counter::starting_at(2), 2),
        )
    }

    /// Splits one frame off `wire`: (outer flags, body, rest).
    fn split(wire: &[u8]) -> (u8, &[u8], &[u8]) {
        let (header, len) = if wire[0] & frame::LONG != 0 {
            (
                9,
                u64::from_be_bytes(wire[1..9].try_into().unwrap()) as usize,
            )
        } else {
            (2, usize::from(wire[1]))
        };
        (wire[0], &wire[header..header + len], &wire[header + len..])
    }

    #[test]
    fn frames_round_trip_with_libzmq_flags() {
        let (mut client, mut server) = pair();
        let mut wire = Vec::new();
        client.push_frame(frame::MORE, b"A", &mut wire);
        let big = vec![b'B'; 300];
        client.push_frame(0, &big, &mut wire);
        client.push_command(b"\x04PING\x00\x00", &mut wire);
        let mut plain = Vec::new();
        let (flags, body, rest) = split(&wire);
        assert_eq!(flags, 0, "outer flags never COMMAND or MORE");
        assert_eq!(
            server.open_frame(body, &mut plain).unwrap(),
            (false, true, &b"A"[..])
        );
        let (flags, body, rest) = split(rest);
        assert_eq!(flags, frame::LONG);
        assert_eq!(
            server.open_frame(body, &mut plain).unwrap(),
            (false, false, &big[..])
        );
        let (_, body, rest) = split(rest);
        assert_eq!(
            server.open_frame(body, &mut plain).unwrap(),
            (true, false, &b"\x04PING\x00\x00"[..])
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn write_frame_fills_exactly_its_wire_len() {
        let (mut client, _) = pair();
        for len in [0, 1, 200, 222, 223, 5000] {
            let body = vec![1; len];
            let mut out = vec![0; Channel::frame_wire_len(len)];
            assert_eq!(client.write_frame(0, &body, &mut out), out.len());
        }
    }

    #[test]
    fn replay_reorder_tamper_and_garbage_are_refused() {
        let (mut client, mut server) = pair();
        let mut first = Vec::new();
        client.push_frame(0, b"one", &mut first);
        let mut second = Vec::new();
        client.push_frame(0, b"two", &mut second);
        let mut plain = Vec::new();
        // Out of order: the second first, then the first is a step back.
        server.open_frame(split(&second).1, &mut plain).unwrap();
        let err = server.open_frame(split(&first).1, &mut plain).unwrap_err();
        assert_eq!(err, PeerMisbehaved::NonceNotIncreasing.into());
        // Replayed.
        let err = server.open_frame(split(&second).1, &mut plain).unwrap_err();
        assert_eq!(err, PeerMisbehaved::NonceNotIncreasing.into());

        let mut third = Vec::new();
        client.push_frame(0, b"three", &mut third);
        let mut flipped = third.clone();
        *flipped.last_mut().unwrap() ^= 0x10;
        let err = server
            .open_frame(split(&flipped).1, &mut plain)
            .unwrap_err();
        assert_eq!(err, PeerMisbehaved::Cryptographic("MESSAGE").into());
        // The forgery did not advance the counter: the genuine one still opens.
        let (_, _, data) = server.open_frame(split(&third).1, &mut plain).unwrap();
        assert_eq!(data, b"three");

        let err = server
            .open_frame(b"\x07MESSAGE\x00", &mut plain)
            .unwrap_err();
        assert_eq!(err, InvalidFrame::MalformedMessage.into());
        let err = server.open_frame(b"plain data", &mut plain).unwrap_err();
        assert_eq!(err, PeerMisbehaved::NotAMessage.into());
        // A server's own MESSAGE is not accepted back by a server (prefix differs).
        let (_, mut other_server) = pair();
        let mut own = Vec::new();
        other_server.push_frame(0, b"x", &mut own);
        assert!(server.open_frame(split(&own).1, &mut plain).is_err());
    }
}
