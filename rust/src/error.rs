//! Errors, split by who is at fault (as rustls and h11 do).
//!
//! - [`InvalidFrame`]: the peer's bytes cannot be decoded at all (framing, command bodies,
//!   metadata).
//! - [`PeerMisbehaved`]: the bytes decode, but break a protocol rule (one variant per rule).
//! - [`ApiMisuse`]: the local caller used the engine wrongly.
//! - [`Z85Error`]: Z85 text or data handed in by the caller is not valid.
//!
//! Peer faults carry libzmq's `ZMQ_PROTOCOL_ERROR_*` code ([`Error::protocol_code`]) so the
//! Python layer can report the same monitor value as libzmq would.

use thiserror::Error;

/// libzmq's `ZMQ_PROTOCOL_ERROR_*` codes, as posted with `HANDSHAKE_FAILED_PROTOCOL`
/// (spec §10). Only the ones this engine can raise are named.
pub mod code {
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED`.
    pub const ZMTP_UNSPECIFIED: u32 = 0x1000_0000;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`.
    pub const UNEXPECTED_COMMAND: u32 = 0x1000_0001;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE`.
    pub const INVALID_SEQUENCE: u32 = 0x1000_0002;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE`.
    pub const KEY_EXCHANGE: u32 = 0x1000_0003;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE`.
    pub const MALFORMED_COMMAND_MESSAGE: u32 = 0x1000_0012;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO`.
    pub const MALFORMED_COMMAND_HELLO: u32 = 0x1000_0013;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE`.
    pub const MALFORMED_COMMAND_INITIATE: u32 = 0x1000_0014;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY`.
    pub const MALFORMED_COMMAND_READY: u32 = 0x1000_0016;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME`.
    pub const MALFORMED_COMMAND_WELCOME: u32 = 0x1000_0017;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC`.
    pub const CRYPTOGRAPHIC: u32 = 0x1100_0001;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED`.
    pub const MALFORMED_COMMAND_UNSPECIFIED: u32 = 0x1000_0011;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR`.
    pub const MALFORMED_COMMAND_ERROR: u32 = 0x1000_0015;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA`.
    pub const INVALID_METADATA: u32 = 0x1000_0018;
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`.
    pub const MECHANISM_MISMATCH: u32 = 0x1100_0002;
}

/// Everything the engine can fail with.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer sent bytes that do not decode.
    #[error(transparent)]
    InvalidFrame(#[from] InvalidFrame),
    /// The peer sent well-formed bytes that break a protocol rule.
    #[error(transparent)]
    PeerMisbehaved(#[from] PeerMisbehaved),
    /// Input was fed to a connection that is already closed (by an earlier protocol error or
    /// an ERROR command). Reported like a peer fault, so the driver sees one exception type
    /// for "this connection is dead".
    #[error("the connection is closed")]
    Closed,
    /// The local caller misused the API.
    #[error(transparent)]
    ApiMisuse(#[from] ApiMisuse),
    /// Z85 input handed in by the caller is invalid.
    #[error(transparent)]
    InvalidZ85(#[from] Z85Error),
}

impl Error {
    /// libzmq's protocol error code for faults that end the connection (peer faults and
    /// [`Error::Closed`]); `None` for local misuse and Z85 input errors.
    pub fn protocol_code(&self) -> Option<u32> {
        match self {
            Error::InvalidFrame(e) => Some(e.code()),
            Error::PeerMisbehaved(e) => Some(e.code()),
            Error::Closed => Some(code::ZMTP_UNSPECIFIED),
            Error::ApiMisuse(_) | Error::InvalidZ85(_) => None,
        }
    }
}

/// Bytes from the peer that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum InvalidFrame {
    /// RFC 37 §"Framing": "a long frame has a body of 0 to 2^63-1 octets"; a size with the top
    /// bit set is invalid.
    #[error("frame size {0:#x} does not fit in 63 bits")]
    SizeOverflow(u64),
    /// A frame above the configured `max_msg_size` (no RFC rule: libzmq's `ZMQ_MAXMSGSIZE`,
    /// spec §2, which applies to commands as well as message frames).
    #[error("frame of {size} bytes exceeds max_msg_size {limit}")]
    TooLarge {
        /// The size the peer announced.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// RFC 37 §"Formal Grammar": a command body is `name_len:u8 name data`; this one is
    /// empty or its name runs past the end. Also a PING without its 2-byte TTL
    /// (§"Connection Heartbeating").
    #[error("malformed command")]
    MalformedCommand,
    /// RFC 37 §"The NULL Security Mechanism": `error-reason = short-size 0*255VCHAR`; the
    /// reason length byte is missing or runs past the end.
    #[error("malformed ERROR command")]
    MalformedError,
    /// RFC 37 §"The NULL Security Mechanism": each property is `name_len:u8 name
    /// value_len:u32be value`, and "zero-sized names are not valid"; a truncated property or
    /// bytes left over are invalid (libzmq `parse_metadata`).
    #[error("invalid metadata: {0}")]
    InvalidMetadata(&'static str),
    /// RFC 24 §"The HELLO Command" (`hello = command-size %d5 "HELLO" username password`,
    /// each a short string filling the body exactly); RFC 26: a CURVE HELLO is 200 bytes.
    #[error("malformed HELLO command")]
    MalformedHello,
    /// RFC 24: WELCOME carries nothing after its name; RFC 26: a CURVE WELCOME is a
    /// 16-byte nonce and a 144-byte box.
    #[error("malformed WELCOME command")]
    MalformedWelcome,
    /// RFC 26 §"The INITIATE Command": cookie, short nonce and a box of at least 144 bytes.
    #[error("malformed INITIATE command")]
    MalformedInitiate,
    /// RFC 26 §"The READY Command": a short nonce and a box of at least 16 bytes.
    #[error("malformed READY command")]
    MalformedReady,
    /// RFC 26 §"The MESSAGE Command": a short nonce and a box of at least 17 bytes.
    #[error("malformed MESSAGE command")]
    MalformedMessage,
}

impl InvalidFrame {
    /// libzmq's protocol error code for this fault.
    pub fn code(&self) -> u32 {
        match self {
            InvalidFrame::SizeOverflow(_) | InvalidFrame::TooLarge { .. } => code::ZMTP_UNSPECIFIED,
            InvalidFrame::MalformedCommand => code::MALFORMED_COMMAND_UNSPECIFIED,
            InvalidFrame::MalformedError => code::MALFORMED_COMMAND_ERROR,
            InvalidFrame::InvalidMetadata(_) => code::INVALID_METADATA,
            InvalidFrame::MalformedHello => code::MALFORMED_COMMAND_HELLO,
            InvalidFrame::MalformedWelcome => code::MALFORMED_COMMAND_WELCOME,
            InvalidFrame::MalformedInitiate => code::MALFORMED_COMMAND_INITIATE,
            InvalidFrame::MalformedReady => code::MALFORMED_COMMAND_READY,
            InvalidFrame::MalformedMessage => code::MALFORMED_COMMAND_MESSAGE,
        }
    }
}

/// Well-formed bytes from the peer that break a protocol rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// RFC 37 §"Formal Grammar" (`signature = %xFF padding %x7F`): anything else is an
    /// unversioned ZMTP 1.0 peer (§"Backwards Interoperability"), which we refuse.
    #[error("greeting does not start with 0xFF (ZMTP 1.0 peer?)")]
    BadSignature,
    /// RFC 37 §"Backwards Interoperability": a clear bit 0 in signature byte 9 marks a
    /// ZMTP 1.0 peer (as libzmq reads it), which we refuse.
    #[error("greeting byte 9 has bit 0 clear (ZMTP 1.0 peer?)")]
    UnversionedPeer,
    /// RFC 37 §"Version Negotiation": "if a peer cannot downgrade its protocol to match its
    /// peer, it MUST close the connection"; we speak ZMTP 3.x only.
    #[error("peer speaks ZMTP major version {0}, 3 or later is required")]
    UnsupportedVersion(u8),
    /// RFC 37 §"Authentication and Confidentiality": "if the mechanism that the peer received
    /// does not exactly match the mechanism it sent, it MUST close the connection" (libzmq
    /// compares all 20 bytes).
    #[error("peer's security mechanism {0:?} differs from ours")]
    MechanismMismatch(String),
    /// RFC 37 §"The Socket-Type Property": the peer's socket type may not talk to ours, or is
    /// unknown (libzmq closes without sending ERROR).
    #[error("peer socket type {peer:?} cannot talk to {ours}")]
    IncompatibleSocketType {
        /// Our socket type name.
        ours: &'static str,
        /// The `Socket-Type` value the peer sent.
        peer: String,
    },
    /// RFC 37 §"The NULL Security Mechanism": "a peer MAY start to send messages immediately
    /// after completing its handshake", not before.
    #[error("message frame before the handshake finished")]
    DataBeforeReady,
    /// RFC 37 §"The NULL Security Mechanism" (`null = ready *message | error`): only READY or
    /// ERROR may arrive during the handshake.
    #[error("unexpected command {0:?} during the handshake")]
    UnexpectedCommand(String),
    /// RFC 27 leaves the server's handshake waiting for its ZAP handler, when the client has
    /// nothing to send; libzmq's CURVE and PLAIN servers fail anything that arrives then
    /// (`process_handshake_command` in `waiting_for_zap_reply`, ZMTP_UNSPECIFIED).
    #[error("the peer sent a frame while its ZAP request was pending")]
    InputAwaitingZap,
    /// RFC 26 §"The HELLO Command": "the server MUST reject HELLO commands with an unknown
    /// version" (1.0 is the only one).
    #[error("CURVE version {0}.{1} is not 1.0")]
    UnsupportedCurveVersion(u8, u8),
    /// RFC 26: every box must open with the keys and nonce the protocol names; this one did
    /// not (wrong keys, a forged or corrupted box, or a cookie that is not ours).
    #[error("a CURVE {0} box did not open")]
    Cryptographic(&'static str),
    /// RFC 26 §"The MESSAGE Command": nonces must increase; this one repeats or goes back
    /// (a replayed or reordered command).
    #[error("CURVE short nonce not above the last one received")]
    NonceNotIncreasing,
    /// RFC 26 §"The INITIATE Command": the vouch must name the client's transient key and
    /// the server's permanent key.
    #[error("CURVE vouch does not match the handshake's keys")]
    KeyExchange,
    /// RFC 26: after the handshake every frame is a MESSAGE command (libzmq treats anything
    /// else as an unexpected command).
    #[error("frame after a CURVE handshake is not a MESSAGE")]
    NotAMessage,
}

impl PeerMisbehaved {
    /// libzmq's protocol error code for this fault.
    pub fn code(&self) -> u32 {
        match self {
            PeerMisbehaved::BadSignature
            | PeerMisbehaved::UnversionedPeer
            | PeerMisbehaved::UnsupportedVersion(_)
            | PeerMisbehaved::InputAwaitingZap => code::ZMTP_UNSPECIFIED,
            PeerMisbehaved::MechanismMismatch(_) => code::MECHANISM_MISMATCH,
            PeerMisbehaved::IncompatibleSocketType { .. } => code::INVALID_METADATA,
            PeerMisbehaved::DataBeforeReady
            | PeerMisbehaved::UnexpectedCommand(_)
            | PeerMisbehaved::NotAMessage => code::UNEXPECTED_COMMAND,
            PeerMisbehaved::UnsupportedCurveVersion(..) => code::MALFORMED_COMMAND_HELLO,
            PeerMisbehaved::Cryptographic(_) => code::CRYPTOGRAPHIC,
            PeerMisbehaved::NonceNotIncreasing => code::INVALID_SEQUENCE,
            PeerMisbehaved::KeyExchange => code::KEY_EXCHANGE,
        }
    }
}

/// libzmq's `EFSM` errno ("operation cannot be accomplished in current state").
pub const EFSM: i32 = 156_384_712 + 51;
/// `EINVAL` (Linux's number, as libzmq reports it there).
pub const EINVAL: i32 = 22;

/// The local caller used the engine wrongly.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// PING and subscriptions may only be sent once the handshake finished.
    #[error("the handshake has not finished yet")]
    NotReady,
    /// Nothing can be sent on a closed connection.
    #[error("the connection is closed")]
    Closed,
    /// A message needs at least one frame.
    #[error("a message needs at least one frame")]
    EmptyMessage,
    /// A ZAP verdict was given to a connection that did not ask for one.
    #[error("no ZAP request is pending")]
    NoZapRequest,
    /// PLAIN user names and passwords are at most 255 bytes (RFC 24).
    #[error("PLAIN user name or password longer than 255 bytes")]
    CredentialTooLong,
    /// Body bytes were reported written with no large body open, or more than it wants.
    #[error("no open body wants that many bytes")]
    NoOpenBody,
    /// A frame body cannot go out apart from its header on a connection that encrypts.
    #[error("frames are encrypted on this connection: no body goes out apart")]
    ApartWhileEncrypting,
}

impl ApiMisuse {
    /// The libzmq errno the binding raises `ZMQError` with: an operation the connection's
    /// current state does not allow, or an invalid argument.
    pub fn errno(&self) -> i32 {
        match self {
            ApiMisuse::NotReady
            | ApiMisuse::Closed
            | ApiMisuse::NoZapRequest
            | ApiMisuse::NoOpenBody
            | ApiMisuse::ApartWhileEncrypting => EFSM,
            ApiMisuse::EmptyMessage | ApiMisuse::CredentialTooLong => EINVAL,
        }
    }
}

/// Invalid Z85 input (RFC 32, with libzmq's extra checks).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Z85Error {
    /// Data to encode must be a multiple of 4 bytes long.
    #[error("Z85 data length {0} is not a multiple of 4")]
    DataLength(usize),
    /// Text to decode must be a non-empty multiple of 5 characters (libzmq rejects empty text).
    #[error("Z85 text length {0} is not a positive multiple of 5")]
    TextLength(usize),
    /// A character outside the Z85 alphabet.
    #[error("invalid Z85 character {0:#04x}")]
    Character(u8),
    /// A 5-character group whose value exceeds `u32::MAX`.
    #[error("Z85 group exceeds 32 bits")]
    Overflow,
}
