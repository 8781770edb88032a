//! The NULL mechanism (RFC 37 §"The NULL Security Mechanism", spec §4.1).
//!
//! As libzmq does, both sides send READY right after the greeting without waiting for the
//! other's; the handshake is done when the peer's READY arrives. Anything but READY (or
//! ERROR, which the connection handles) during the handshake is a protocol error.
//!
//! With a ZAP domain set (spec §6), our READY waits for the ZAP handler's verdict: the
//! handshake is done once the verdict is in and the peer's READY has arrived, in either
//! order.

use crate::error::{ApiMisuse, Error};
use crate::mechanism::{local_metadata, unexpected, PeerMetadata, Progress, ZapRequest};
use crate::socket_type::SocketType;
use crate::wire::command::{Command, Metadata};
use crate::wire::greeting::{mechanism_name, MECHANISM_LEN};

/// NULL mechanism state: what our READY says, and the ZAP exchange if there is one.
#[derive(Debug, Clone)]
pub struct Null {
    socket_type: SocketType,
    routing_id: Vec<u8>,
    /// Whether ZAP must accept the peer before we send READY.
    zap: bool,
    /// Whether our READY was sent.
    ready_sent: bool,
    /// The peer's READY, once it arrived.
    peer: Option<PeerMetadata>,
}

impl Null {
    /// The greeting's mechanism field.
    pub const NAME: [u8; MECHANISM_LEN] = mechanism_name("NULL");

    /// NULL for a socket of `socket_type` whose READY carries `routing_id` (REQ, DEALER and
    /// ROUTER only).
    pub fn new(socket_type: SocketType, routing_id: &[u8]) -> Null {
        Null {
            socket_type,
            routing_id: routing_id.to_vec(),
            zap: false,
            ready_sent: false,
            peer: None,
        }
    }

    /// NULL that asks ZAP about each peer before answering it (a socket with a ZAP domain).
    pub fn with_zap(socket_type: SocketType, routing_id: &[u8]) -> Null {
        Null {
            zap: true,
            ..Null::new(socket_type, routing_id)
        }
    }

    /// Queues our READY, or asks ZAP first.
    pub(super) fn start(&mut self, out: &mut Vec<u8>) -> Progress {
        if self.zap {
            return Progress::AskZap(ZapRequest {
                mechanism: "NULL",
                credentials: Vec::new(),
            });
        }
        self.send_ready(out);
        Progress::Continue
    }

    fn send_ready(&mut self, out: &mut Vec<u8>) {
        let metadata = local_metadata(self.socket_type, &self.routing_id);
        Command::Ready(Metadata::new(&metadata)).encode(out);
        self.ready_sent = true;
    }

    /// The peer's READY completes the handshake (once ours is out); nothing else is allowed.
    pub(super) fn handle(&mut self, command: Command<'_>) -> Result<Progress, Error> {
        match command {
            Command::Ready(metadata) if self.peer.is_none() => {
                let peer = PeerMetadata::parse(metadata, self.socket_type)?;
                if self.ready_sent {
                    return Ok(Progress::Done(peer));
                }
                self.peer = Some(peer);
                Ok(Progress::Continue)
            }
            other => Err(unexpected(other)),
        }
    }

    /// ZAP accepted the peer: send READY, and finish if the peer's READY is already in.
    pub(super) fn zap_accepted(&mut self, out: &mut Vec<u8>) -> Result<Progress, Error> {
        if !self.zap || self.ready_sent {
            return Err(ApiMisuse::NoZapRequest.into());
        }
        self.send_ready(out);
        Ok(match self.peer.take() {
            Some(peer) => Progress::Done(peer),
            None => Progress::Continue,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PeerMisbehaved;

    #[test]
    fn ready_matches_libzmq_for_req() {
        let mut out = Vec::new();
        Null::new(SocketType::Req, b"").start(&mut out);
        // Captured from libzmq 4.3.5 (spec §3.2).
        let captured =
            b"\x04\x26\x05READY\x0bSocket-Type\x00\x00\x00\x03REQ\x08Identity\x00\x00\x00\x00";
        assert_eq!(out, captured);
    }

    #[test]
    fn only_ready_completes() {
        let mut null = Null::new(SocketType::Pull, b"");
        let err = null
            .clone()
            .handle(Command::Ping {
                ttl: 0,
                context: b"",
            })
            .unwrap_err();
        assert_eq!(err, PeerMisbehaved::UnexpectedCommand("PING".into()).into());
        let mut ready = Vec::new();
        Null::new(SocketType::Push, b"").start(&mut ready);
        let Command::Ready(metadata) = Command::decode(&ready[2..]).unwrap() else {
            panic!("not READY");
        };
        let mut out = Vec::new();
        null.start(&mut out);
        let Progress::Done(peer) = null.handle(Command::Ready(metadata)).unwrap() else {
            panic!("not done");
        };
        assert_eq!(peer.socket_type, Some(SocketType::Push));
    }

    #[test]
    fn zap_holds_our_ready_until_accepted() {
        let mut peer_ready = Vec::new();
        Null::new(SocketType::Push, b"").start(&mut peer_ready);
        let Command::Ready(metadata) = Command::decode(&peer_ready[2..]).unwrap() else {
            panic!("not READY");
        };
        // Verdict after the peer's READY.
        let mut null = Null::with_zap(SocketType::Pull, b"");
        let mut out = Vec::new();
        let Progress::AskZap(request) = null.start(&mut out) else {
            panic!("no ZAP request");
        };
        assert_eq!((request.mechanism, request.credentials.len()), ("NULL", 0));
        assert!(out.is_empty());
        assert!(matches!(
            null.handle(Command::Ready(metadata)).unwrap(),
            Progress::Continue
        ));
        assert!(
            null.handle(Command::Ready(metadata)).is_err(),
            "a second READY"
        );
        let mut null = Null::with_zap(SocketType::Pull, b"");
        null.start(&mut out);
        null.handle(Command::Ready(metadata)).unwrap();
        assert!(matches!(
            null.zap_accepted(&mut out).unwrap(),
            Progress::Done(_)
        ));
        assert_eq!(&out[2..8], b"\x05READY");
        // Verdict first.
        let mut null = Null::with_zap(SocketType::Pull, b"");
        null.start(&mut Vec::new());
        assert!(matches!(
            null.zap_accepted(&mut Vec::new()).unwrap(),
            Progress::Continue
        ));
        assert!(null.zap_accepted(&mut Vec::new()).is_err());
        assert!(matches!(
            null.handle(Command::Ready(metadata)).unwrap(),
            Progress::Done(_)
        ));
    }
}
