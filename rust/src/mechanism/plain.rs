//! The PLAIN mechanism (RFC 24, spec §4.2): a user name and password in the clear, for
//! trusted networks.
//!
//! | role | state | input | next | output |
//! |---|---|---|---|---|
//! | client | (start) | | `ExpectWelcome` | HELLO |
//! | client | `ExpectWelcome` | WELCOME (nothing after the name) | `ExpectReady` | INITIATE |
//! | client | `ExpectReady` | READY | done | |
//! | server | `ExpectHello` | HELLO (lengths exactly fill it) | `AwaitZap` | ZAP request |
//! | server | `AwaitZap` | [`Plain::zap_accepted`] | `ExpectInitiate` | WELCOME |
//! | server | `ExpectInitiate` | INITIATE | done | READY |
//!
//! A PLAIN server always asks ZAP (libzmq): without a handler nobody gets in, which the
//! trio layer decides. Anything else is an unexpected command; ERROR is the connection's.

use crate::error::{ApiMisuse, Error, InvalidFrame};
use crate::mechanism::{local_metadata, unexpected, PeerMetadata, Progress, ZapRequest};
use crate::socket_type::SocketType;
use crate::wire::command::{Command, Metadata};
use crate::wire::frame;
use crate::wire::greeting::{mechanism_name, MECHANISM_LEN};
use zeroize::Zeroizing;

/// Where the handshake is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ExpectWelcome,
    ExpectReady,
    ExpectHello,
    AwaitZap,
    ExpectInitiate,
    Over,
}

/// PLAIN mechanism state, client or server.
#[derive(Debug, Clone)]
pub struct Plain {
    socket_type: SocketType,
    routing_id: Vec<u8>,
    as_server: bool,
    /// The client's credentials (empty on a server); the password zeroised on drop.
    username: Vec<u8>,
    password: Zeroizing<Vec<u8>>,
    state: State,
}

impl Plain {
    /// The greeting's mechanism field.
    pub const NAME: [u8; MECHANISM_LEN] = mechanism_name("PLAIN");

    /// A client logging in as `username` with `password` (each at most 255 bytes).
    pub fn client(
        socket_type: SocketType,
        routing_id: &[u8],
        username: &[u8],
        password: &[u8],
    ) -> Result<Plain, Error> {
        if username.len() > 255 || password.len() > 255 {
            return Err(ApiMisuse::CredentialTooLong.into());
        }
        Ok(Plain {
            socket_type,
            routing_id: routing_id.to_vec(),
            as_server: false,
            username: username.to_vec(),
            password: Zeroizing::new(password.to_vec()),
            state: State::ExpectWelcome,
        })
    }

    /// A server (`PLAIN_SERVER`).
    pub fn server(socket_type: SocketType, routing_id: &[u8]) -> Plain {
        Plain {
            socket_type,
            routing_id: routing_id.to_vec(),
            as_server: true,
            username: Vec::new(),
            password: Zeroizing::default(),
            state: State::ExpectHello,
        }
    }

    /// Whether a server waits for the ZAP handler's verdict (no input is valid meanwhile).
    pub(super) fn awaits_zap(&self) -> bool {
        self.state == State::AwaitZap
    }

    /// Whether this is the server side.
    pub fn is_server(&self) -> bool {
        self.as_server
    }

    /// The client queues HELLO; the server waits for it.
    pub(super) fn start(&mut self, out: &mut Vec<u8>) {
        if self.state == State::ExpectWelcome {
            frame::encode(
                frame::COMMAND,
                &[
                    b"\x05HELLO",
                    &[self.username.len() as u8],
                    &self.username,
                    &[self.password.len() as u8],
                    &self.password,
                ],
                out,
            );
        }
    }

    pub(super) fn handle(
        &mut self,
        command: Command<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Progress, Error> {
        let state = std::mem::replace(&mut self.state, State::Over);
        match (state, command) {
            (
                State::ExpectWelcome,
                Command::Unknown {
                    name: b"WELCOME",
                    data,
                },
            ) => {
                if !data.is_empty() {
                    return Err(InvalidFrame::MalformedWelcome.into());
                }
                let metadata = local_metadata(self.socket_type, &self.routing_id);
                frame::encode(frame::COMMAND, &[b"\x08INITIATE", &metadata], out);
                self.state = State::ExpectReady;
                Ok(Progress::Continue)
            }
            (State::ExpectReady, Command::Ready(metadata)) => Ok(Progress::Done(
                PeerMetadata::parse(metadata, self.socket_type)?,
            )),
            (
                State::ExpectHello,
                Command::Unknown {
                    name: b"HELLO",
                    data,
                },
            ) => {
                let (username, rest) = split_short(data)?;
                let (password, rest) = split_short(rest)?;
                if !rest.is_empty() {
                    return Err(InvalidFrame::MalformedHello.into());
                }
                self.state = State::AwaitZap;
                Ok(Progress::AskZap(ZapRequest {
                    mechanism: "PLAIN",
                    credentials: vec![username.to_vec(), password.to_vec()],
                }))
            }
            (
                State::ExpectInitiate,
                Command::Unknown {
                    name: b"INITIATE",
                    data,
                },
            ) => {
                let peer = PeerMetadata::parse(Metadata::new(data), self.socket_type)?;
                let metadata = local_metadata(self.socket_type, &self.routing_id);
                Command::Ready(Metadata::new(&metadata)).encode(out);
                Ok(Progress::Done(peer))
            }
            (_, other) => Err(unexpected(other)),
        }
    }

    /// The ZAP handler accepted the client's credentials: send WELCOME.
    pub(super) fn zap_accepted(&mut self, out: &mut Vec<u8>) -> Result<Progress, Error> {
        if self.state != State::AwaitZap {
            return Err(ApiMisuse::NoZapRequest.into());
        }
        frame::encode(frame::COMMAND, &[b"\x07WELCOME"], out);
        self.state = State::ExpectInitiate;
        Ok(Progress::Continue)
    }
}

/// Splits `len:u8 bytes[len]` off the front of a PLAIN HELLO.
fn split_short(data: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let (&len, rest) = data.split_first().ok_or(InvalidFrame::MalformedHello)?;
    rest.split_at_checked(usize::from(len))
        .ok_or_else(|| InvalidFrame::MalformedHello.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::PeerMisbehaved;

    fn command(wire: &[u8]) -> Command<'_> {
        Command::decode(&wire[2..]).unwrap()
    }

    #[test]
    fn hello_matches_libzmq() {
        let mut client = Plain::client(SocketType::Req, b"", b"admin", b"secret").unwrap();
        let mut out = Vec::new();
        client.start(&mut out);
        // Captured from libzmq 4.3.5 (spec §4.2).
        assert_eq!(out, b"\x04\x13\x05HELLO\x05admin\x06secret");
    }

    #[test]
    fn full_exchange() {
        let mut client = Plain::client(SocketType::Dealer, b"me", b"u", b"p").unwrap();
        let mut server = Plain::server(SocketType::Router, b"");
        assert!(server.is_server() && !client.is_server());
        let mut hello = Vec::new();
        client.start(&mut hello);
        let mut out = Vec::new();
        let Progress::AskZap(request) = server.handle(command(&hello), &mut out).unwrap() else {
            panic!("no ZAP request");
        };
        assert_eq!(
            (request.mechanism, &request.credentials[..]),
            ("PLAIN", &[b"u".to_vec(), b"p".to_vec()][..])
        );
        assert!(out.is_empty());
        server.zap_accepted(&mut out).unwrap();
        assert_eq!(out, b"\x04\x08\x07WELCOME");
        let mut initiate = Vec::new();
        assert!(matches!(
            client.handle(command(&out), &mut initiate).unwrap(),
            Progress::Continue
        ));
        let mut ready = Vec::new();
        let Progress::Done(peer) = server.handle(command(&initiate), &mut ready).unwrap() else {
            panic!("server not done");
        };
        assert_eq!(peer.routing_id, b"me");
        let Progress::Done(peer) = client.handle(command(&ready), &mut Vec::new()).unwrap() else {
            panic!("client not done");
        };
        assert_eq!(peer.socket_type, Some(SocketType::Router));
    }

    #[test]
    fn malformed_and_unexpected_commands() {
        let mut server = Plain::server(SocketType::Pull, b"");
        let err = server
            .handle(command(b"\x04\x0a\x05HELLO\x01u\x02p"), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err, InvalidFrame::MalformedHello.into());
        let mut server = Plain::server(SocketType::Pull, b"");
        let err = server
            .handle(command(b"\x04\x0b\x05HELLO\x01u\x01pX"), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err, InvalidFrame::MalformedHello.into());
        let mut server = Plain::server(SocketType::Pull, b"");
        let err = server
            .handle(command(b"\x04\x09\x08INITIATE"), &mut Vec::new())
            .unwrap_err();
        assert_eq!(
            err,
            PeerMisbehaved::UnexpectedCommand("INITIATE".into()).into()
        );
        assert!(server.zap_accepted(&mut Vec::new()).is_err());

        let mut client = Plain::client(SocketType::Push, b"", b"", b"").unwrap();
        let err = client
            .handle(command(b"\x04\x09\x07WELCOMEx"), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err, InvalidFrame::MalformedWelcome.into());
        assert!(Plain::client(SocketType::Push, b"", &[0; 256], b"").is_err());
    }
}
