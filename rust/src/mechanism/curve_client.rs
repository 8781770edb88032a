//! The CURVE client handshake (RFC 26 §"The CurveZMQ Protocol", spec §5.3).
//!
//! | state | input | next | output |
//! |---|---|---|---|
//! | (start) | | `ExpectWelcome` | HELLO |
//! | `ExpectWelcome` | WELCOME that opens with (S, c') | `ExpectReady` | INITIATE |
//! | `ExpectReady` | READY that opens with the session key | done | |
//! | any | anything else, a box that does not open | failed | |
//!
//! ERROR is handled by the connection for every mechanism.

use crate::error::{Error, InvalidFrame, PeerMisbehaved};
use crate::mechanism::crypto::{nonce, random_bytes, BoxKey, SecretKey, KEY_LEN, TAG_LEN};
use crate::mechanism::curve::{
    Channel, Counter, COOKIE_LEN, HELLO_PREFIX, INITIATE_PREFIX, READY_PREFIX, VOUCH_PREFIX,
    WELCOME_PREFIX,
};
use crate::mechanism::{local_metadata, unexpected, PeerMetadata, Progress};
use crate::socket_type::SocketType;
use crate::wire::command::{Command, Metadata};
use crate::wire::frame;

/// Where the client handshake is.
#[derive(Debug)]
enum State {
    ExpectWelcome,
    /// INITIATE sent; READY is boxed with the session key.
    ExpectReady(BoxKey),
    /// The handshake ended (done or failed): nothing more is accepted.
    Over,
}

/// A CURVE client's handshake state.
#[derive(Debug)]
pub struct CurveClient {
    socket_type: SocketType,
    routing_id: Vec<u8>,
    /// Our permanent key pair (C, c) and the server's permanent public key S.
    public: [u8; KEY_LEN],
    secret: SecretKey,
    server: [u8; KEY_LEN],
    /// Our transient key pair for this connection (C', c').
    transient: SecretKey,
    sent: Counter,
    state: State,
    /// The channel, once READY opened.
    channel: Option<Channel>,
}

impl CurveClient {
    /// A client with key pair (`public`, `secret`) for the server whose public key is
    /// `server`, using `transient` as this connection's short-term secret key.
    pub fn new(
        socket_type: SocketType,
        routing_id: &[u8],
        secret: SecretKey,
        server: [u8; KEY_LEN],
        transient: SecretKey,
    ) -> CurveClient {
        CurveClient {
            socket_type,
            routing_id: routing_id.to_vec(),
            public: secret.public_key(),
            secret,
            server,
            transient,
            sent: Counter::starting_at(1),
            state: State::ExpectWelcome,
            channel: None,
        }
    }

    /// Queues HELLO: version 1.0, 72 bytes of padding, C', a short nonce and
    /// `Box[64 zero bytes](C'->S)` (200 bytes, so a server never answers more than it got).
    pub(super) fn start(&mut self, out: &mut Vec<u8>) {
        let short_nonce = self.sent.next();
        let mut body = Vec::with_capacity(200);
        body.extend_from_slice(b"\x05HELLO\x01\x00");
        body.extend_from_slice(&[0; 72]);
        body.extend_from_slice(&self.transient.public_key());
        body.extend_from_slice(&short_nonce);
        BoxKey::precompute(&self.server, &self.transient).seal_to(
            &nonce(HELLO_PREFIX, &short_nonce),
            &[0; 64],
            &mut body,
        );
        frame::encode(frame::COMMAND, &[&body], out);
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
                self.state = State::ExpectReady(self.on_welcome(data, out)?);
                Ok(Progress::Continue)
            }
            (State::ExpectReady(key), Command::Ready(metadata)) => {
                let (peer, received) = self.on_ready(&key, metadata.as_bytes())?;
                self.channel = Some(Channel::new(key, false, self.sent, received));
                Ok(Progress::Done(peer))
            }
            (_, other) => Err(unexpected(other)),
        }
    }

    /// WELCOME = long nonce(16) + `Box[S'(32) + cookie(96)](S->C')`: answer with INITIATE
    /// = cookie + short nonce + `Box[C + vouch nonce + vouch + metadata](C'->S')`, where
    /// vouch = `Box[C' + S](C->S')`. Returns the session key `beforenm(S', c')`.
    fn on_welcome(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<BoxKey, Error> {
        let Some((long_nonce, boxed)) = data.split_first_chunk::<16>() else {
            return Err(InvalidFrame::MalformedWelcome.into());
        };
        if boxed.len() != TAG_LEN + KEY_LEN + COOKIE_LEN {
            return Err(InvalidFrame::MalformedWelcome.into());
        }
        let welcome = BoxKey::precompute(&self.server, &self.transient)
            .open(&nonce(WELCOME_PREFIX, long_nonce), boxed)
            .map_err(|_| PeerMisbehaved::Cryptographic("WELCOME"))?;
        let (server_transient, cookie) = welcome.split_at(KEY_LEN);
        let server_transient: [u8; KEY_LEN] = server_transient.try_into().expect("32 bytes");
        let session = BoxKey::precompute(&server_transient, &self.transient);

        let mut vouch_nonce = [0u8; 16];
        random_bytes(&mut vouch_nonce);
        let mut vouch_plain = [0u8; 2 * KEY_LEN];
        vouch_plain[..KEY_LEN].copy_from_slice(&self.transient.public_key());
        vouch_plain[KEY_LEN..].copy_from_slice(&self.server);
        let mut plaintext = Vec::new();
        plaintext.extend_from_slice(&self.public);
        plaintext.extend_from_slice(&vouch_nonce);
        BoxKey::precompute(&server_transient, &self.secret).seal_to(
            &nonce(VOUCH_PREFIX, &vouch_nonce),
            &vouch_plain,
            &mut plaintext,
        );
        plaintext.extend_from_slice(&local_metadata(self.socket_type, &self.routing_id));

        let short_nonce = self.sent.next();
        let mut body = Vec::with_capacity(9 + COOKIE_LEN + 8 + TAG_LEN + plaintext.len());
        body.extend_from_slice(b"\x08INITIATE");
        body.extend_from_slice(cookie);
        body.extend_from_slice(&short_nonce);
        session.seal_to(&nonce(INITIATE_PREFIX, &short_nonce), &plaintext, &mut body);
        frame::encode(frame::COMMAND, &[&body], out);
        Ok(session)
    }

    /// READY = short nonce + `Box[metadata](S'->C')`.
    fn on_ready(&self, key: &BoxKey, data: &[u8]) -> Result<(PeerMetadata, u64), Error> {
        let Some((short_nonce, boxed)) = data.split_first_chunk::<8>() else {
            return Err(InvalidFrame::MalformedReady.into());
        };
        if boxed.len() < TAG_LEN {
            return Err(InvalidFrame::MalformedReady.into());
        }
        let metadata = key
            .open(&nonce(READY_PREFIX, short_nonce), boxed)
            .map_err(|_| PeerMisbehaved::Cryptographic("READY"))?;
        let peer = PeerMetadata::parse(Metadata::new(&metadata), self.socket_type)?;
        Ok((peer, u64::from_be_bytes(*short_nonce)))
    }

    /// The encrypted channel, once the handshake is done.
    pub(super) fn take_channel(&mut self) -> Option<Channel> {
        self.channel.take()
    }
}
