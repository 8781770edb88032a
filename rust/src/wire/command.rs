//! Command bodies (RFC 37 §"Formal Grammar", spec §3): `name_len:u8 name data`.
//!
//! Names are matched exactly (case-sensitive), as libzmq does. Metadata property names are
//! case-insensitive (RFC 37 §"Connection Metadata"); [`Metadata`] leaves that to its reader.

use crate::error::{Error, InvalidFrame};
use crate::wire::frame;

/// The most context a PING may carry and a PONG echoes (RFC 37 §"Connection Heartbeating").
pub const MAX_PING_CONTEXT: usize = 16;

/// The longest RADIO/DISH group libzmq 4.3 accepts (`ZMQ_GROUP_MAX_LENGTH`).
pub const MAX_GROUP_LEN: usize = 255;

/// A command, borrowing its fields from the frame body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// `READY`: ends the NULL handshake, carrying the sender's metadata.
    Ready(Metadata<'a>),
    /// `ERROR`: the peer gives up; `reason` is at most 255 bytes.
    Error {
        /// Why, for logs (libzmq sends a ZAP status code such as `400`).
        reason: &'a [u8],
    },
    /// `PING`: a heartbeat asking for a PONG.
    Ping {
        /// Time-to-live hint in tenths of a second (0: none).
        ttl: u16,
        /// Context to echo, at most 16 bytes (longer contexts are cut when decoding).
        context: &'a [u8],
    },
    /// `PONG`: the answer to a PING.
    Pong {
        /// The PING's context, at most 16 bytes (longer contexts are cut when decoding, as
        /// for PING, so a decoded PONG encodes back to the same bytes).
        context: &'a [u8],
    },
    /// `SUBSCRIBE`: a ZMTP 3.1 subscriber wants messages starting with `topic`.
    Subscribe {
        /// The subscription prefix.
        topic: &'a [u8],
    },
    /// `CANCEL`: a ZMTP 3.1 subscriber drops one subscription to `topic`.
    Cancel {
        /// The subscription prefix.
        topic: &'a [u8],
    },
    /// `JOIN`: a DISH joins `group` (RFC 48; libzmq's dish session sends it for `zmq_join`).
    Join {
        /// The group, at most [`MAX_GROUP_LEN`] bytes.
        group: &'a [u8],
    },
    /// `LEAVE`: a DISH leaves `group` (RFC 48).
    Leave {
        /// The group, at most [`MAX_GROUP_LEN`] bytes.
        group: &'a [u8],
    },
    /// Any other command (mechanism commands such as HELLO, or future ones).
    Unknown {
        /// The command name.
        name: &'a [u8],
        /// Everything after the name.
        data: &'a [u8],
    },
}

impl<'a> Command<'a> {
    /// Splits a command frame's body into its name and data, checking only that the name
    /// fits (all libzmq checks of a command it does not act on).
    pub fn split_name(body: &'a [u8]) -> Result<(&'a [u8], &'a [u8]), Error> {
        let (&name_len, rest) = body.split_first().ok_or(InvalidFrame::MalformedCommand)?;
        rest.split_at_checked(usize::from(name_len))
            .ok_or_else(|| InvalidFrame::MalformedCommand.into())
    }

    /// Decodes a command frame's body.
    pub fn decode(body: &'a [u8]) -> Result<Command<'a>, Error> {
        let (name, data) = Self::split_name(body)?;
        Ok(match name {
            b"READY" => Command::Ready(Metadata::new(data)),
            b"ERROR" => {
                let (&len, reason) = data.split_first().ok_or(InvalidFrame::MalformedError)?;
                // Bytes after the reason are ignored, as libzmq does.
                let reason = reason
                    .get(..usize::from(len))
                    .ok_or(InvalidFrame::MalformedError)?;
                Command::Error { reason }
            }
            b"PING" => {
                let (ttl, context) = data
                    .split_first_chunk()
                    .ok_or(InvalidFrame::MalformedCommand)?;
                Command::Ping {
                    ttl: u16::from_be_bytes(*ttl),
                    context: cut_context(context),
                }
            }
            b"PONG" => Command::Pong {
                context: cut_context(data),
            },
            b"SUBSCRIBE" => Command::Subscribe { topic: data },
            b"CANCEL" => Command::Cancel { topic: data },
            // libzmq's radio session refuses a longer group as it would a bad message.
            b"JOIN" | b"LEAVE" if data.len() > MAX_GROUP_LEN => {
                return Err(InvalidFrame::MalformedCommand.into())
            }
            b"JOIN" => Command::Join { group: data },
            b"LEAVE" => Command::Leave { group: data },
            _ => Command::Unknown { name, data },
        })
    }

    /// The command name as it appears on the wire.
    pub fn name(&self) -> &'a [u8] {
        match *self {
            Command::Ready(_) => b"READY",
            Command::Error { .. } => b"ERROR",
            Command::Ping { .. } => b"PING",
            Command::Pong { .. } => b"PONG",
            Command::Subscribe { .. } => b"SUBSCRIBE",
            Command::Cancel { .. } => b"CANCEL",
            Command::Join { .. } => b"JOIN",
            Command::Leave { .. } => b"LEAVE",
            Command::Unknown { name, .. } => name,
        }
    }

    /// Appends the whole command frame (header included) to `out`. An ERROR reason is cut to
    /// 255 bytes, PING/PONG contexts to 16.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let ttl;
        let reason_len;
        let [first, second]: [&[u8]; 2] = match *self {
            Command::Ready(metadata) => [metadata.as_bytes(), b""],
            Command::Error { reason } => {
                let reason = &reason[..reason.len().min(usize::from(u8::MAX))];
                reason_len = [reason.len() as u8];
                [&reason_len, reason]
            }
            Command::Ping { ttl: hint, context } => {
                ttl = hint.to_be_bytes();
                [&ttl, cut_context(context)]
            }
            Command::Pong { context } => [cut_context(context), b""],
            Command::Subscribe { topic } | Command::Cancel { topic } => [topic, b""],
            Command::Join { group } | Command::Leave { group } => [group, b""],
            Command::Unknown { data, .. } => [data, b""],
        };
        let name = self.name();
        frame::encode(
            frame::COMMAND,
            &[&[name.len() as u8], name, first, second],
            out,
        );
    }
}

/// A PING/PONG context cut to the 16 bytes RFC 37 allows.
fn cut_context(context: &[u8]) -> &[u8] {
    &context[..context.len().min(MAX_PING_CONTEXT)]
}

/// Metadata properties as they appear on the wire (READY, and INITIATE in PLAIN/CURVE):
/// `name_len:u8 name value_len:u32be value`, repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metadata<'a>(&'a [u8]);

impl<'a> Metadata<'a> {
    /// Wraps encoded properties (checked only when iterated).
    pub fn new(encoded: &'a [u8]) -> Metadata<'a> {
        Metadata(encoded)
    }

    /// The encoded properties.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The properties as `(name, value)` pairs, in wire order. Yields an error (and then
    /// stops) at a truncated property, an empty name, or a stray trailing byte.
    pub fn properties(&self) -> Properties<'a> {
        Properties { rest: self.0 }
    }

    /// Appends one encoded property to `out`. `name` must be 1 to 255 bytes.
    pub fn encode_property(name: &str, value: &[u8], out: &mut Vec<u8>) {
        debug_assert!((1..=255).contains(&name.len()), "property name length");
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
        out.extend_from_slice(value);
    }
}

/// One property: `(name, value)`.
pub type Property<'a> = (&'a [u8], &'a [u8]);

/// Iterator over [`Metadata`] properties.
#[derive(Debug, Clone)]
pub struct Properties<'a> {
    rest: &'a [u8],
}

impl<'a> Properties<'a> {
    /// Splits one property off the front of `self.rest`.
    fn next_property(&mut self) -> Result<Property<'a>, InvalidFrame> {
        let truncated = InvalidFrame::InvalidMetadata("truncated property");
        let (&name_len, rest) = self.rest.split_first().ok_or(truncated.clone())?;
        if name_len == 0 {
            return Err(InvalidFrame::InvalidMetadata("empty property name"));
        }
        let (name, rest) = rest
            .split_at_checked(name_len.into())
            .ok_or(truncated.clone())?;
        let (value_len, rest) = rest.split_first_chunk::<4>().ok_or(truncated.clone())?;
        let value_len =
            usize::try_from(u32::from_be_bytes(*value_len)).map_err(|_| truncated.clone())?;
        let (value, rest) = rest.split_at_checked(value_len).ok_or(truncated)?;
        self.rest = rest;
        Ok((name, value))
    }
}

impl<'a> Iterator for Properties<'a> {
    type Item = Result<Property<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let property = self.next_property();
        if property.is_err() {
            // Nothing after a broken property can be trusted.
            self.rest = &[];
        }
        Some(property.map_err(Error::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(command: Command<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        command.encode(&mut out);
        let header_len = if out[0] & frame::LONG != 0 { 9 } else { 2 };
        out[header_len..].to_vec()
    }

    #[test]
    fn round_trips() {
        let mut props = Vec::new();
        Metadata::encode_property("Socket-Type", b"PUB", &mut props);
        for command in [
            Command::Ready(Metadata::new(&props)),
            Command::Error { reason: b"400" },
            Command::Ping {
                ttl: 15,
                context: b"ctx",
            },
            Command::Pong { context: b"ctx" },
            Command::Subscribe { topic: b"topic" },
            Command::Cancel { topic: b"" },
            Command::Join { group: b"weather" },
            Command::Leave { group: b"" },
            Command::Unknown {
                name: b"HELLO",
                data: b"\x01\x02",
            },
        ] {
            assert_eq!(Command::decode(&body(command)), Ok(command));
        }
    }

    #[test]
    fn encoding_cuts_long_fields() {
        let reason = [b'x'; 300];
        let encoded = body(Command::Error { reason: &reason });
        assert_eq!(encoded.len(), 6 + 1 + 255);
        let context = [1; 20];
        assert_eq!(
            Command::decode(&body(Command::Pong { context: &context })),
            Ok(Command::Pong {
                context: &context[..16]
            })
        );
        // Decoding cuts a PING context too.
        let mut ping = b"\x04PING\x00\x01".to_vec();
        ping.extend_from_slice(&context);
        assert_eq!(
            Command::decode(&ping),
            Ok(Command::Ping {
                ttl: 1,
                context: &context[..16]
            })
        );
    }

    #[test]
    fn join_matches_libzmq_and_limits_the_group() {
        // libzmq's dish session writes `\x04JOIN` + group as a command frame.
        assert_eq!(body(Command::Join { group: b"tv" }), b"\x04JOINtv");
        assert_eq!(body(Command::Leave { group: b"tv" }), b"\x05LEAVEtv");
        let mut join = b"\x04JOIN".to_vec();
        join.extend_from_slice(&[b'g'; MAX_GROUP_LEN]);
        assert!(matches!(Command::decode(&join), Ok(Command::Join { .. })));
        join.push(b'g');
        assert_eq!(
            Command::decode(&join),
            Err(InvalidFrame::MalformedCommand.into())
        );
    }

    #[test]
    fn malformed_bodies() {
        let malformed = Err(InvalidFrame::MalformedCommand.into());
        assert_eq!(Command::decode(b""), malformed);
        assert_eq!(Command::decode(b"\x05READ"), malformed);
        assert_eq!(Command::decode(b"\x04PING\x00"), malformed);
        let bad_error = Err(InvalidFrame::MalformedError.into());
        assert_eq!(Command::decode(b"\x05ERROR"), bad_error);
        assert_eq!(Command::decode(b"\x05ERROR\x04400"), bad_error);
        // Names are case-sensitive, as in libzmq; an empty name is just unknown.
        assert_eq!(
            Command::decode(b"\x04ping\x00\x00"),
            Ok(Command::Unknown {
                name: b"ping",
                data: b"\x00\x00"
            })
        );
        assert_eq!(
            Command::decode(b"\x00"),
            Ok(Command::Unknown {
                name: b"",
                data: b""
            })
        );
    }

    #[test]
    fn metadata_errors() {
        fn collect(raw: &[u8]) -> Result<Vec<Property<'_>>, Error> {
            Metadata::new(raw).properties().collect()
        }
        assert_eq!(
            collect(b"\x01a\x00\x00\x00\x01b"),
            Ok(vec![(&b"a"[..], &b"b"[..])])
        );
        assert_eq!(collect(b""), Ok(vec![]));
        for bad in [
            &b"\x01a\x00\x00\x00\x02b"[..], // value truncated
            b"\x01a\x00\x00",               // value length truncated
            b"\x05ab",                      // name truncated
            b"\x01a\x00\x00\x00\x00\x01",   // one stray byte left over
            b"\x00\x00\x00\x00\x00",        // empty name
        ] {
            let err = collect(bad).unwrap_err();
            assert_eq!(
                err.protocol_code(),
                Some(crate::error::code::INVALID_METADATA),
                "{bad:?}"
            );
        }
    }
}
