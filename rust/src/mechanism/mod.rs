//! Security mechanisms (RFC 37 §"Authentication and Confidentiality"): the handshake after
//! the greeting, and how data frames travel once it is done.
//!
//! [`Mechanism`] is an enum with one variant per mechanism; the connection only talks to it
//! through these seams:
//!
//! - [`Mechanism::name`] / [`Mechanism::as_server`]: what goes in our greeting;
//! - [`Mechanism::start`]: queue our first handshake commands once the peer's greeting is in;
//! - [`Mechanism::handle`]: each handshake command from the peer (ERROR excepted, which the
//!   connection handles for every mechanism), until it returns the peer's metadata;
//! - [`Mechanism::frame_wire_len`] / [`Mechanism::write_frame`]: encode outgoing data frames.
//!
//! PLAIN and CURVE slot in as new variants. CURVE will box every outgoing frame in
//! `write_frame` (its exact size is still known up front) and the connection's own
//! post-handshake output (PING, PONG, subscriptions) the same way, needs an `open` step for
//! incoming MESSAGE commands, and both will add a handshake outcome that pauses for a ZAP
//! reply. None of this changes the Python-facing API.

mod null;

pub use null::Null;

use crate::error::{Error, PeerMisbehaved};
use crate::socket_type::SocketType;
use crate::wire::command::{Command, Metadata};
use crate::wire::frame;
use crate::wire::greeting::MECHANISM_LEN;

/// The mechanism a connection runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Mechanism {
    /// No security (RFC 37 §"The NULL Security Mechanism").
    Null(Null),
}

impl Mechanism {
    /// The mechanism field of the greeting.
    pub fn name(&self) -> [u8; MECHANISM_LEN] {
        match self {
            Mechanism::Null(_) => Null::NAME,
        }
    }

    /// The greeting's as-server flag.
    pub fn as_server(&self) -> bool {
        match self {
            Mechanism::Null(_) => false,
        }
    }

    /// Queues our opening handshake commands in `out`; called once the peer's greeting has
    /// been accepted (never before: RFC 37 forbids commands ahead of the greeting).
    pub fn start(&mut self, out: &mut Vec<u8>) {
        match self {
            Mechanism::Null(null) => null.start(out),
        }
    }

    /// Handles a handshake command from the peer. Returns the peer's metadata once the
    /// handshake is complete. (PLAIN and CURVE will also need somewhere to queue replies.)
    pub fn handle(&mut self, command: Command<'_>) -> Result<Option<PeerMetadata>, Error> {
        match self {
            Mechanism::Null(null) => null.handle(command),
        }
    }

    /// The exact number of bytes [`Mechanism::write_frame`] writes for a `body_len`-byte body.
    pub fn frame_wire_len(&self, body_len: usize) -> usize {
        match self {
            Mechanism::Null(_) => frame::wire_len(body_len),
        }
    }

    /// Writes one data frame at the start of `out` (at least `frame_wire_len` bytes long);
    /// returns the number of bytes written.
    pub fn write_frame(&mut self, flags: u8, body: &[u8], out: &mut [u8]) -> usize {
        match self {
            Mechanism::Null(_) => frame::write(flags, body, out),
        }
    }
}

/// What the peer told us about itself in its handshake metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// The `Socket-Type` it announced (`None` if absent: libzmq does not require it).
    pub socket_type: Option<SocketType>,
    /// Its `Identity` property (empty if absent).
    pub routing_id: Vec<u8>,
    /// Every property, by name as sent (names that are not UTF-8 are decoded lossily).
    pub properties: Vec<(String, Vec<u8>)>,
}

/// The metadata property naming the sender's socket type.
const SOCKET_TYPE: &str = "Socket-Type";
/// The metadata property carrying the sender's routing id.
const IDENTITY: &str = "Identity";

impl PeerMetadata {
    /// Reads the peer's metadata and checks its socket type against ours (`local`).
    pub fn parse(metadata: Metadata<'_>, local: SocketType) -> Result<PeerMetadata, Error> {
        let mut peer = PeerMetadata::default();
        for property in metadata.properties() {
            let (name, value) = property?;
            if name.eq_ignore_ascii_case(SOCKET_TYPE.as_bytes()) {
                let socket_type = SocketType::from_name(value)
                    .filter(|&peer| local.is_compatible_with(peer))
                    .ok_or_else(|| PeerMisbehaved::IncompatibleSocketType {
                        ours: local.name(),
                        peer: String::from_utf8_lossy(value).into_owned(),
                    })?;
                peer.socket_type = Some(socket_type);
            } else if name.eq_ignore_ascii_case(IDENTITY.as_bytes()) {
                peer.routing_id = value.to_vec();
            }
            peer.properties
                .push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
        }
        Ok(peer)
    }
}

/// Encodes our own metadata as libzmq does (spec §3.2): `Socket-Type` always, then
/// `Identity` for the types a ROUTER addresses by routing id.
pub fn local_metadata(socket_type: SocketType, routing_id: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::new();
    Metadata::encode_property(SOCKET_TYPE, socket_type.name().as_bytes(), &mut encoded);
    if socket_type.sends_identity() {
        Metadata::encode_property(IDENTITY, routing_id, &mut encoded);
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    #[test]
    fn parses_and_checks_metadata() {
        let encoded = local_metadata(SocketType::Dealer, b"me");
        let peer = PeerMetadata::parse(Metadata::new(&encoded), SocketType::Router).unwrap();
        assert_eq!(peer.socket_type, Some(SocketType::Dealer));
        assert_eq!(peer.routing_id, b"me");
        assert_eq!(
            peer.properties,
            [
                ("Socket-Type".into(), b"DEALER".to_vec()),
                ("Identity".into(), b"me".to_vec())
            ]
        );
        let err = PeerMetadata::parse(Metadata::new(&encoded), SocketType::Pub).unwrap_err();
        assert_eq!(err.protocol_code(), Some(code::INVALID_METADATA));
    }

    #[test]
    fn names_are_case_insensitive_and_unknown_types_refused() {
        let mut encoded = Vec::new();
        Metadata::encode_property("socket-type", b"pub", &mut encoded);
        Metadata::encode_property("IDENTITY", b"x", &mut encoded);
        let peer = PeerMetadata::parse(Metadata::new(&encoded), SocketType::Sub).unwrap();
        assert_eq!(
            (peer.socket_type, peer.routing_id),
            (Some(SocketType::Pub), b"x".to_vec())
        );

        let mut encoded = Vec::new();
        Metadata::encode_property("Socket-Type", b"STREAM", &mut encoded);
        assert!(PeerMetadata::parse(Metadata::new(&encoded), SocketType::Sub).is_err());
    }

    #[test]
    fn socket_type_may_be_absent() {
        let peer = PeerMetadata::parse(Metadata::new(b""), SocketType::Pair).unwrap();
        assert_eq!(peer, PeerMetadata::default());
    }
}
