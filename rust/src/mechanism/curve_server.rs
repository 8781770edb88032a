//! The CURVE server handshake (RFC 26 §"The CurveZMQ Protocol", spec §5.3, libzmq
//! `curve_server.cpp`).
//!
//! | state | input | next | output |
//! |---|---|---|---|
//! | `ExpectHello` | 200-byte HELLO, version 1.0, box opens with (C', s) | `ExpectInitiate` | WELCOME |
//! | `ExpectInitiate` | cookie ours, boxes open, vouch names C' and S | `AwaitZap` or done | READY unless ZAP is asked |
//! | `AwaitZap` | [`CurveServer::zap_accepted`] | done | READY |
//! | any | anything else, a box that does not open | failed | |
//!
//! The cookie key is made for this connection's WELCOME (as libzmq's `produce_welcome`)
//! and lives only until INITIATE arrives or [`COOKIE_KEY_LIFETIME`] has passed, whichever
//! comes first (RFC 26: "discard ... after a short interval, for example 60 seconds, or as
//! soon as the client sends a valid INITIATE"); the connection runs that timer. An INITIATE
//! after it finds no key and fails as a cookie that does not open. No ERROR is sent for a
//! broken handshake, as libzmq: only a ZAP refusal earns one, sent by the connection.

use crate::error::{Error, InvalidFrame, PeerMisbehaved};
use crate::mechanism::crypto::{nonce, random_bytes, same, BoxKey, SecretKey, KEY_LEN, TAG_LEN};
use crate::mechanism::curve::{
    Channel, Counter, COOKIE_LEN, COOKIE_PREFIX, HELLO_PREFIX, INITIATE_PREFIX, READY_PREFIX,
    VOUCH_PREFIX, WELCOME_PREFIX,
};
use crate::mechanism::{local_metadata, unexpected, PeerMetadata, Progress, ZapRequest};
use crate::socket_type::SocketType;
use crate::wire::command::{Command, Metadata};
use crate::wire::frame;

/// HELLO's exact size, name included.
const HELLO_LEN: usize = 200;
/// INITIATE's smallest size (no metadata), name included.
const MIN_INITIATE_LEN: usize = 257;
/// How long a cookie key outlives its WELCOME at most (RFC 26's example interval).
pub const COOKIE_KEY_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

/// Where the server handshake is.
#[derive(Debug)]
enum State {
    ExpectHello,
    /// WELCOME sent: the client's transient key C', the short nonce of its HELLO, and the
    /// key of the cookie we gave it (None once discarded).
    ExpectInitiate {
        client_transient: [u8; KEY_LEN],
        hello_nonce: u64,
        cookie_key: Option<BoxKey>,
    },
    /// Waiting for the ZAP handler's verdict on the client's key.
    AwaitZap {
        peer: PeerMetadata,
        channel: Channel,
    },
    /// The handshake ended (done or failed): nothing more is accepted.
    Over,
}

/// A CURVE server's handshake state.
#[derive(Debug)]
pub struct CurveServer {
    socket_type: SocketType,
    routing_id: Vec<u8>,
    /// Our permanent secret key s (S is derived where needed).
    secret: SecretKey,
    public: [u8; KEY_LEN],
    /// Our transient key pair for this connection (S', s'), made up front as libzmq does.
    transient: SecretKey,
    /// Whether the client's key goes to ZAP before READY.
    zap: bool,
    state: State,
    channel: Option<Channel>,
}

impl CurveServer {
    /// A server with permanent secret key `secret`, using `transient` as this connection's
    /// short-term key; `zap`: ask ZAP about each client key.
    pub fn new(
        socket_type: SocketType,
        routing_id: &[u8],
        secret: SecretKey,
        transient: SecretKey,
        zap: bool,
    ) -> CurveServer {
        CurveServer {
            socket_type,
            routing_id: routing_id.to_vec(),
            public: secret.public_key(),
            secret,
            transient,
            zap,
            state: State::ExpectHello,
            channel: None,
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
                State::ExpectHello,
                Command::Unknown {
                    name: b"HELLO",
                    data,
                },
            ) => {
                self.state = self.on_hello(data, out)?;
                Ok(Progress::Continue)
            }
            (
                State::ExpectInitiate {
                    client_transient,
                    hello_nonce,
                    cookie_key,
                },
                Command::Unknown {
                    name: b"INITIATE",
                    data,
                },
            ) => {
                // A discarded cookie key opens nothing: the cookie fails as a forged one would.
                let cookie_key =
                    cookie_key.ok_or(PeerMisbehaved::Cryptographic("INITIATE cookie"))?;
                let (client, peer, channel) =
                    self.on_initiate(data, &client_transient, hello_nonce, &cookie_key)?;
                // The cookie key dies here (zeroised on drop), before anything else happens.
                drop(cookie_key);
                if self.zap {
                    self.state = State::AwaitZap { peer, channel };
                    return Ok(Progress::AskZap(ZapRequest {
                        mechanism: "CURVE",
                        credentials: vec![client.to_vec()],
                    }));
                }
                Ok(self.ready(peer, channel, out))
            }
            (_, other) => Err(unexpected(other)),
        }
    }

    /// Whether the handshake waits for the ZAP handler's verdict (no input is valid meanwhile).
    pub(super) fn awaits_zap(&self) -> bool {
        matches!(self.state, State::AwaitZap { .. })
    }

    /// Whether a cookie key is held (WELCOME sent, INITIATE not yet in, key not expired).
    pub(super) fn holds_cookie_key(&self) -> bool {
        matches!(
            self.state,
            State::ExpectInitiate {
                cookie_key: Some(_),
                ..
            }
        )
    }

    /// Forgets the cookie key (zeroised as it drops): its lifetime is over.
    pub(super) fn discard_cookie_key(&mut self) {
        if let State::ExpectInitiate { cookie_key, .. } = &mut self.state {
            *cookie_key = None;
        }
    }

    /// The ZAP handler accepted the client: send READY.
    pub(super) fn zap_accepted(&mut self, out: &mut Vec<u8>) -> Result<Progress, Error> {
        match std::mem::replace(&mut self.state, State::Over) {
            State::AwaitZap { peer, channel } => Ok(self.ready(peer, channel, out)),
            _ => Err(crate::error::ApiMisuse::NoZapRequest.into()),
        }
    }

    /// HELLO = version(2) + padding(72) + C'(32) + short nonce(8) + `Box[64 zeros](C'->S)`;
    /// answer WELCOME = long nonce(16) + `Box[S' + cookie](S->C')`.
    fn on_hello(&self, data: &[u8], out: &mut Vec<u8>) -> Result<State, Error> {
        // `data` excludes the 6 bytes of the name.
        if data.len() != HELLO_LEN - 6 {
            return Err(InvalidFrame::MalformedHello.into());
        }
        if data[..2] != [1, 0] {
            return Err(PeerMisbehaved::UnsupportedCurveVersion(data[0], data[1]).into());
        }
        let client_transient: [u8; KEY_LEN] = data[74..106].try_into().expect("32 bytes");
        let short_nonce: [u8; 8] = data[106..114].try_into().expect("8 bytes");
        BoxKey::precompute(&client_transient, &self.secret)
            .open(&nonce(HELLO_PREFIX, &short_nonce), &data[114..])
            .map_err(|_| PeerMisbehaved::Cryptographic("HELLO"))?;

        let cookie_key = BoxKey::random();
        let mut cookie_nonce = [0u8; 16];
        random_bytes(&mut cookie_nonce);
        let mut cookie_plain = zeroize::Zeroizing::new([0u8; 2 * KEY_LEN]);
        cookie_plain[..KEY_LEN].copy_from_slice(&client_transient);
        cookie_plain[KEY_LEN..].copy_from_slice(self.transient.secret_bytes());
        let mut welcome_plain = zeroize::Zeroizing::new(Vec::with_capacity(KEY_LEN + COOKIE_LEN));
        welcome_plain.extend_from_slice(&self.transient.public_key());
        welcome_plain.extend_from_slice(&cookie_nonce);
        cookie_key.seal_to(
            &nonce(COOKIE_PREFIX, &cookie_nonce),
            cookie_plain.as_ref(),
            &mut welcome_plain,
        );

        let mut long_nonce = [0u8; 16];
        random_bytes(&mut long_nonce);
        let mut body = Vec::with_capacity(168);
        body.extend_from_slice(b"\x07WELCOME");
        body.extend_from_slice(&long_nonce);
        BoxKey::precompute(&client_transient, &self.secret).seal_to(
            &nonce(WELCOME_PREFIX, &long_nonce),
            &welcome_plain,
            &mut body,
        );
        frame::encode(frame::COMMAND, &[&body], out);
        Ok(State::ExpectInitiate {
            client_transient,
            hello_nonce: u64::from_be_bytes(short_nonce),
            cookie_key: Some(cookie_key),
        })
    }

    /// INITIATE = cookie(96) + short nonce(8) + `Box[C + vouch nonce + vouch + metadata]
    /// (C'->S')`. Returns the client's permanent key C, its metadata and the channel.
    fn on_initiate(
        &self,
        data: &[u8],
        client_transient: &[u8; KEY_LEN],
        hello_nonce: u64,
        cookie_key: &BoxKey,
    ) -> Result<([u8; KEY_LEN], PeerMetadata, Channel), Error> {
        // `data` excludes the 9 bytes of the name.
        if data.len() < MIN_INITIATE_LEN - 9 {
            return Err(InvalidFrame::MalformedInitiate.into());
        }
        let (cookie, rest) = data.split_at(COOKIE_LEN);
        let (cookie_nonce, cookie_box) = cookie.split_at(16);
        let cookie_plain = cookie_key
            .open(&nonce(COOKIE_PREFIX, cookie_nonce), cookie_box)
            .map_err(|_| PeerMisbehaved::Cryptographic("INITIATE cookie"))?;
        if !same(&cookie_plain[..KEY_LEN], client_transient)
            || !same(&cookie_plain[KEY_LEN..], self.transient.secret_bytes())
        {
            return Err(PeerMisbehaved::Cryptographic("INITIATE cookie").into());
        }

        let (short_nonce, boxed) = rest.split_at(8);
        let short_nonce: [u8; 8] = short_nonce.try_into().expect("8 bytes");
        let received = u64::from_be_bytes(short_nonce);
        if received <= hello_nonce {
            return Err(PeerMisbehaved::NonceNotIncreasing.into());
        }
        let session = BoxKey::precompute(client_transient, &self.transient);
        let plaintext = session
            .open(&nonce(INITIATE_PREFIX, &short_nonce), boxed)
            .map_err(|_| PeerMisbehaved::Cryptographic("INITIATE"))?;
        let (client, rest) = plaintext.split_at(KEY_LEN);
        let client: [u8; KEY_LEN] = client.try_into().expect("32 bytes");
        let (vouch_nonce, rest) = rest.split_at(16);
        let (vouch, metadata) = rest.split_at(TAG_LEN + 2 * KEY_LEN);
        let vouch = BoxKey::precompute(&client, &self.transient)
            .open(&nonce(VOUCH_PREFIX, vouch_nonce), vouch)
            .map_err(|_| PeerMisbehaved::Cryptographic("INITIATE vouch"))?;
        // The vouch proves the holder of C made C' for this server.
        if !same(&vouch[..KEY_LEN], client_transient) || !same(&vouch[KEY_LEN..], &self.public) {
            return Err(PeerMisbehaved::KeyExchange.into());
        }
        let peer = PeerMetadata::parse(Metadata::new(metadata), self.socket_type)?;
        Ok((
            client,
            peer,
            Channel::new(session, true, Counter::starting_at(1), received),
        ))
    }

    /// Queues READY = short nonce + `Box[metadata](S'->C')` and finishes.
    fn ready(&mut self, peer: PeerMetadata, mut channel: Channel, out: &mut Vec<u8>) -> Progress {
        let short_nonce = channel.next_nonce();
        let mut body = Vec::new();
        body.extend_from_slice(b"\x05READY");
        body.extend_from_slice(&short_nonce);
        channel.key().seal_to(
            &nonce(READY_PREFIX, &short_nonce),
            &local_metadata(self.socket_type, &self.routing_id),
            &mut body,
        );
        frame::encode(frame::COMMAND, &[&body], out);
        self.channel = Some(channel);
        Progress::Done(peer)
    }

    /// The encrypted channel, once the handshake is done.
    pub(super) fn take_channel(&mut self) -> Option<Channel> {
        self.channel.take()
    }
}
