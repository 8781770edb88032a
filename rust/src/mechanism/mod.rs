//! Security mechanisms (RFC 37 §"Authentication and Confidentiality"): the handshake after
//! the greeting, and how data frames travel once it is done.
//!
//! [`Mechanism`] is an enum with one variant per mechanism and role; the connection only
//! talks to it through these seams:
//!
//! - [`Mechanism::name`] / [`Mechanism::as_server`]: what goes in our greeting;
//! - [`Mechanism::start`]: queue our first handshake commands once the peer's greeting is in;
//! - [`Mechanism::handle`]: each handshake command from the peer (ERROR excepted, which the
//!   connection handles for every mechanism), until it reports [`Progress::Done`];
//! - [`Progress::AskZap`] / [`Mechanism::zap_accepted`]: a server pauses its handshake for
//!   the ZAP handler's verdict (RFC 27), which the trio layer obtains; a refusal closes
//!   the connection there (with ERROR for 400/500);
//! - [`Mechanism::channel`]: after a CURVE handshake, the [`Channel`] that boxes every
//!   outgoing frame and opens every incoming MESSAGE; NULL and PLAIN frames travel as they are.
//!
//! Files: `null.rs`, `plain.rs`, `curve_client.rs` and `curve_server.rs` (the handshakes),
//! `curve.rs` (the MESSAGE channel), `crypto.rs` (libsodium).

pub mod crypto;
pub mod curve;
mod curve_client;
mod curve_server;
mod null;
mod plain;

pub use curve::Channel;
pub use curve_client::CurveClient;
pub use curve_server::{CurveServer, COOKIE_KEY_LIFETIME};
pub use null::Null;
pub use plain::Plain;

use crate::error::{Error, PeerMisbehaved};
use crate::socket_type::SocketType;
use crate::wire::command::{Command, Metadata};
use crate::wire::frame;
use crate::wire::greeting::{mechanism_name, MECHANISM_LEN};
use zeroize::Zeroize;

/// What a handshake step led to.
#[derive(Debug)]
pub enum Progress {
    /// Keep going (any reply is queued).
    Continue,
    /// Ask the ZAP handler before going on; then [`Mechanism::zap_accepted`] or close.
    AskZap(ZapRequest),
    /// The handshake is complete: the peer's metadata.
    Done(PeerMetadata),
}

/// What a server asks its ZAP handler (RFC 27): the mechanism and the client's
/// credentials (PLAIN: user name and password; CURVE: the client's public key; NULL: none).
/// The credentials are zeroised on drop (a PLAIN password is among them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapRequest {
    /// `NULL`, `PLAIN` or `CURVE`.
    pub mechanism: &'static str,
    /// The credential frames.
    pub credentials: Vec<Vec<u8>>,
}

impl Drop for ZapRequest {
    fn drop(&mut self) {
        self.credentials.iter_mut().for_each(Zeroize::zeroize);
    }
}

/// The mechanism a connection runs.
#[derive(Debug)]
#[non_exhaustive]
pub enum Mechanism {
    /// No security (RFC 37 §"The NULL Security Mechanism").
    Null(Null),
    /// PLAIN (RFC 24), client or server.
    Plain(Plain),
    /// The CURVE client handshake (RFC 26).
    CurveClient(Box<CurveClient>),
    /// The CURVE server handshake (RFC 26).
    CurveServer(Box<CurveServer>),
    /// A finished CURVE handshake: every frame is boxed.
    Curve(Box<Channel>),
}

/// The error for a command a handshake did not expect at this point.
pub(crate) fn unexpected(command: Command<'_>) -> Error {
    let name = String::from_utf8_lossy(command.name()).into_owned();
    PeerMisbehaved::UnexpectedCommand(name).into()
}

/// The greeting's CURVE mechanism field.
const CURVE_NAME: [u8; MECHANISM_LEN] = mechanism_name("CURVE");

impl Mechanism {
    /// The mechanism field of the greeting.
    pub fn name(&self) -> [u8; MECHANISM_LEN] {
        match self {
            Mechanism::Null(_) => Null::NAME,
            Mechanism::Plain(_) => Plain::NAME,
            Mechanism::CurveClient(_) | Mechanism::CurveServer(_) | Mechanism::Curve(_) => {
                CURVE_NAME
            }
        }
    }

    /// The greeting's as-server flag (libzmq ignores what it receives there).
    pub fn as_server(&self) -> bool {
        match self {
            Mechanism::Null(_) | Mechanism::CurveClient(_) | Mechanism::Curve(_) => false,
            Mechanism::Plain(plain) => plain.is_server(),
            Mechanism::CurveServer(_) => true,
        }
    }

    /// Queues our opening handshake commands in `out`; called once the peer's greeting has
    /// been accepted (never before: RFC 37 forbids commands ahead of the greeting). A NULL
    /// socket with a ZAP domain asks ZAP before it sends anything.
    pub fn start(&mut self, out: &mut Vec<u8>) -> Progress {
        match self {
            Mechanism::Null(null) => null.start(out),
            Mechanism::Plain(plain) => {
                plain.start(out);
                Progress::Continue
            }
            Mechanism::CurveClient(client) => {
                client.start(out);
                Progress::Continue
            }
            Mechanism::CurveServer(_) | Mechanism::Curve(_) => Progress::Continue,
        }
    }

    /// Handles a handshake command from the peer, queueing any reply in `out`.
    pub fn handle(&mut self, command: Command<'_>, out: &mut Vec<u8>) -> Result<Progress, Error> {
        let progress = match self {
            Mechanism::Null(null) => null.handle(command)?,
            Mechanism::Plain(plain) => plain.handle(command, out)?,
            Mechanism::CurveClient(client) => client.handle(command, out)?,
            Mechanism::CurveServer(server) => server.handle(command, out)?,
            Mechanism::Curve(_) => return Err(unexpected(command)),
        };
        self.finish_if_done(&progress);
        Ok(progress)
    }

    /// The ZAP handler accepted the peer: go on with the handshake.
    pub fn zap_accepted(&mut self, out: &mut Vec<u8>) -> Result<Progress, Error> {
        let progress = match self {
            Mechanism::Null(null) => null.zap_accepted(out)?,
            Mechanism::Plain(plain) => plain.zap_accepted(out)?,
            Mechanism::CurveServer(server) => server.zap_accepted(out)?,
            Mechanism::CurveClient(_) | Mechanism::Curve(_) => {
                return Err(crate::error::ApiMisuse::NoZapRequest.into());
            }
        };
        self.finish_if_done(&progress);
        Ok(progress)
    }

    /// A CURVE handshake that is done hands over to its channel.
    fn finish_if_done(&mut self, progress: &Progress) {
        if !matches!(progress, Progress::Done(_)) {
            return;
        }
        let channel = match self {
            Mechanism::CurveClient(client) => client.take_channel(),
            Mechanism::CurveServer(server) => server.take_channel(),
            _ => None,
        };
        if let Some(channel) = channel {
            *self = Mechanism::Curve(Box::new(channel));
        }
    }

    /// Whether a CURVE or PLAIN server waits for its ZAP verdict, when libzmq fails any
    /// input (a NULL server with a ZAP request pending still takes the peer's READY).
    pub fn refuses_input_awaiting_zap(&self) -> bool {
        match self {
            Mechanism::Plain(plain) => plain.awaits_zap(),
            Mechanism::CurveServer(server) => server.awaits_zap(),
            _ => false,
        }
    }

    /// Whether a CURVE server holds a cookie key (between its WELCOME and the INITIATE).
    pub fn holds_cookie_key(&self) -> bool {
        match self {
            Mechanism::CurveServer(server) => server.holds_cookie_key(),
            _ => false,
        }
    }

    /// Forgets a CURVE server's cookie key: [`COOKIE_KEY_LIFETIME`] has passed.
    pub fn discard_cookie_key(&mut self) {
        if let Mechanism::CurveServer(server) = self {
            server.discard_cookie_key();
        }
    }

    /// The encrypted channel, after a CURVE handshake.
    pub fn channel(&mut self) -> Option<&mut Channel> {
        match self {
            Mechanism::Curve(channel) => Some(channel),
            _ => None,
        }
    }

    /// The exact number of bytes [`Mechanism::write_frame`] writes for a `body_len`-byte body.
    pub fn frame_wire_len(&self, body_len: usize) -> usize {
        match self {
            Mechanism::Curve(_) => Channel::frame_wire_len(body_len),
            _ => frame::wire_len(body_len),
        }
    }

    /// Whether data frames go out as plain ZMTP frames (NULL, PLAIN), so a message encoded
    /// once can be copied to this connection as it is; CURVE encrypts each frame.
    pub fn frames_in_clear(&self) -> bool {
        !matches!(self, Mechanism::Curve(_))
    }

    /// Writes one data frame at the start of `out` (at least `frame_wire_len` bytes long);
    /// returns the number of bytes written.
    pub fn write_frame(&mut self, flags: u8, body: &[u8], out: &mut [u8]) -> usize {
        match self {
            Mechanism::Curve(channel) => channel.write_frame(flags, body, out),
            _ => frame::write(flags, body, out),
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
