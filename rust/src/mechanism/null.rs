//! The NULL mechanism (RFC 37 §"The NULL Security Mechanism", spec §4.1).
//!
//! As libzmq does, both sides send READY right after the greeting without waiting for the
//! other's; the handshake is done when the peer's READY arrives. Anything but READY (or
//! ERROR, which the connection handles) during the handshake is a protocol error.

use crate::error::{Error, PeerMisbehaved};
use crate::mechanism::{local_metadata, PeerMetadata};
use crate::socket_type::SocketType;
use crate::wire::command::{Command, Metadata};
use crate::wire::greeting::{mechanism_name, MECHANISM_LEN};

/// NULL mechanism state: just what our READY says.
#[derive(Debug, Clone)]
pub struct Null {
    socket_type: SocketType,
    routing_id: Vec<u8>,
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
        }
    }

    /// Queues our READY.
    pub(super) fn start(&mut self, out: &mut Vec<u8>) {
        let metadata = local_metadata(self.socket_type, &self.routing_id);
        Command::Ready(Metadata::new(&metadata)).encode(out);
    }

    /// The peer's READY completes the handshake; nothing else is allowed.
    pub(super) fn handle(&mut self, command: Command<'_>) -> Result<Option<PeerMetadata>, Error> {
        match command {
            Command::Ready(metadata) => PeerMetadata::parse(metadata, self.socket_type).map(Some),
            other => {
                let name = String::from_utf8_lossy(other.name()).into_owned();
                Err(PeerMisbehaved::UnexpectedCommand(name).into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let peer = null.handle(Command::Ready(metadata)).unwrap().unwrap();
        assert_eq!(peer.socket_type, Some(SocketType::Push));
    }
}
