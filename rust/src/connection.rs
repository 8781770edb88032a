//! One ZMTP 3.x connection's protocol state, sans-IO.
//!
//! # Lifecycle
//!
//! 1. [`Connection::new`] queues our whole greeting ([`Connection::with_timers`] adds the
//!    handshake deadline and heartbeats). Call [`Connection::write_output`] (sized with
//!    [`Connection::pending_output`]) and write the bytes; do so again after every other
//!    call, since each may queue protocol output (READY, PONG, PING, ...).
//! 2. Each time bytes arrive, call [`Connection::feed`] with the time and a [`Sink`]: it gets
//!    every data frame of every message, in order, and every [`Event`].
//! 3. Sleep until [`Connection::next_deadline`] (ask again after every call), then call
//!    [`Connection::on_timeout`]: it queues a PING when one is due and reports an
//!    [`Expired`] timer (handshake too slow, silent peer), after which the connection is
//!    closed. Time is a [`Duration`] since any epoch; the connection never reads a clock.
//!    When a large data frame's body has not all arrived ([`Connection::with_direct_bodies`]),
//!    the sink gets [`Sink::body_start`] and the driver may receive the rest of it straight
//!    into the sink's buffer for that frame (as long as [`Connection::open_body`] says so),
//!    reporting each read with [`Connection::body_written`]; bytes given to `feed` meanwhile
//!    reach that buffer through [`Sink::body_part`].
//! 4. Once [`Connection::can_send_messages`], pass message frames to
//!    [`Connection::write_output`] (sized with [`Connection::frame_wire_len`]). A body that
//!    [`Connection::sends_apart`] may go as [`Outgoing::Header`] only: the driver then
//!    writes the body from its own buffer right after those bytes (a gathered write).
//! 5. A server that authenticates its peers pauses its handshake with [`Event::ZapRequest`]:
//!    ask the ZAP handler, then call [`Connection::zap_accepted`], or
//!    [`Connection::send_error`] (ZAP 400/500) or drop the connection (300).
//! 6. A protocol error from `feed`, an ERROR from the peer during the handshake
//!    ([`Event::Error`]) or [`Connection::send_error`] closes the connection: `feed` then fails with
//!    [`Error::Closed`]. Output queued before still comes out once.
//!
//! # States (named for what they await)
//!
//! | state | input | next | output / event |
//! |---|---|---|---|
//! | `ExpectGreeting` | bad signature, version < 3, other mechanism | `Closed` | protocol error |
//! | `ExpectGreeting` | valid 64-byte greeting | `ExpectHandshake` | our first handshake command (NULL: READY) queued, or [`Event::ZapRequest`] |
//! | `ExpectHandshake` | the mechanism's next command | `ExpectHandshake` | its reply queued, or [`Event::ZapRequest`] |
//! | `ExpectHandshake` | the command that completes the handshake | `Ready` | [`Event::Ready`] |
//! | `ExpectHandshake` | [`Connection::zap_accepted`] | `ExpectHandshake` or `Ready` | the mechanism's reply queued |
//! | `ExpectHandshake` | data frame, unexpected command, a box that does not open | `Closed` | protocol error |
//! | `ExpectHandshake` | ERROR | `Closed` | [`Event::Error`] |
//! | `ExpectHandshake` (CURVE/PLAIN server awaiting ZAP) | any frame, ERROR included | `Closed` | protocol error (libzmq's) |
//! | `Ready` | data frame (CURVE: a MESSAGE, opened first) | `Ready` | [`Sink::frame`] |
//! | `Ready` (frames in clear) | the header of a data frame of at least the direct-body size, its body not all there | `Ready`, body open | [`Sink::body_start`], [`Sink::body_part`] |
//! | `Ready`, body open | body bytes (fed, or [`Connection::body_written`]) | `Ready`, body open or not | [`Sink::body_part`] (fed only), [`Sink::body_end`] once complete |
//! | `Ready` | PING | `Ready` | PONG queued, [`Event::Ping`] |
//! | `Ready` | SUBSCRIBE / CANCEL | `Ready` | [`Event::Subscribe`] / [`Event::Cancel`] |
//! | `Ready` (RADIO) | JOIN / LEAVE | `Ready` | [`Event::Join`] / [`Event::Leave`] |
//! | `Ready` (RADIO) | JOIN / LEAVE with a group over 255 bytes | `Closed` | protocol error |
//! | `Ready` | PONG, READY, ERROR, unknown command | `Ready` | nothing (libzmq discards them) |
//! | `Ready` | malformed command, oversized frame, CURVE MESSAGE that fails | `Closed` | protocol error |
//! | any but `Closed` | [`Connection::send_error`] | `Closed` | ERROR queued |
//! | `Closed` | [`Connection::feed`] | `Closed` | [`Error::Closed`] |
//! | any but `Closed` | [`Connection::on_timeout`] finds a timer expired | `Closed` | [`Expired`] |
//! | `ExpectHandshake` (CURVE server) | [`Connection::on_timeout`] 60 s after WELCOME | `ExpectHandshake` | cookie key discarded: a later INITIATE fails |
//!
//! The timers themselves (handshake deadline, heartbeat, TTL) are in [`crate::timers`].

use std::mem;
use std::ops::ControlFlow;
use std::time::Duration;

use crate::error::{ApiMisuse, Error, PeerMisbehaved};
use crate::mechanism::crypto::{SecretKey, KEY_LEN};
use crate::mechanism::{
    CurveClient, CurveServer, Mechanism, Null, PeerMetadata, Plain, Progress, ZapRequest,
    COOKIE_KEY_LIFETIME,
};
use crate::socket_type::SocketType;
use crate::timers::{Due, Expired, TimerSettings, Timers};
use crate::wire::command::Command;
use crate::wire::encoded;
use crate::wire::frame::{self, Deframer, Frame};
use crate::wire::greeting::{Greeting, GREETING_LEN};
use zeroize::Zeroizing;

/// Bytes to ask of the kernel per read.
pub const READ_SIZE: usize = 64 * 1024;
/// The most one read may ask for, to finish a big frame at once.
pub const MAX_READ_SIZE: usize = 4 * 1024 * 1024;
/// Bytes to ask of the kernel right after a body received in place: the next frame is
/// likely as large, and whatever of its body this read takes is copied once more. The
/// driver may read them together with the rest of the open body (a scattered read, the
/// Python layer's spill buffer), then feed them.
pub const AFTER_BODY_READ_SIZE: usize = 4 * 1024;
/// The smallest body the driver receives straight into its frame's buffer (see
/// [`Connection::with_direct_bodies`]): a body at least one read long takes a read of its
/// own anyway, and in place it is copied once (by the kernel) instead of three times
/// (kernel to read buffer, to the partial frame, to the frame's buffer). Measured at
/// 64 KiB with the rest of the body and the next header read together: callgrind's
/// receiver count went from 147.5k to 22.2k instructions per message (a PULL's `recv`).
pub const DIRECT_BODY_MIN: usize = READ_SIZE;
/// The largest body received in place that the driver reads together with what follows
/// it ([`AFTER_BODY_READ_SIZE`] bytes: the next header, mostly), which may open the next
/// body before the application took this one. A larger body is read alone, so that the
/// driver can let the application take it before the next is made: glibc hands the top
/// of its heap back to the kernel once more than two bodies of 64 KiB lie free there (its
/// 128 KiB top pad), or two above 1 MiB (its trim threshold then), and the pages of every
/// body made after that are faulted in afresh.
pub const SPILLED_BODY_MAX: usize = 128 * 1024 - 1;
/// The smallest body the driver sends from its own buffer, after its header (see
/// [`Connection::with_bodies_apart`]): below it, copying it into the output costs less.
pub const APART_BODY_MIN: usize = 32 * 1024;
/// The largest body whose buffer is made at its declared size as soon as its header is in
/// (see [`Connection::with_direct_bodies`]); a larger one is buffered as it arrives, so a
/// peer announcing a huge frame and sending little makes us hold little.
pub const DIRECT_BODY_MAX: usize = 64 * 1024 * 1024;

/// Something that happened on the connection, other than message data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// The handshake finished: the peer's metadata is readable and messages may flow.
    Ready,
    /// The peer pinged us (the PONG is already queued).
    Ping {
        /// The peer's time-to-live hint, in tenths of a second (0: none).
        ttl: u16,
    },
    /// A ZMTP 3.1 SUBSCRIBE command.
    Subscribe(&'a [u8]),
    /// A ZMTP 3.1 CANCEL command.
    Cancel(&'a [u8]),
    /// A JOIN command from a DISH (reported to RADIO connections only).
    Join(&'a [u8]),
    /// A LEAVE command from a DISH (reported to RADIO connections only).
    Leave(&'a [u8]),
    /// The peer sent ERROR with this reason; the connection is now closed.
    Error(&'a [u8]),
    /// The handshake waits for the ZAP handler's verdict on these credentials (RFC 27):
    /// answer with [`Connection::zap_accepted`], or refuse.
    ZapRequest {
        /// `NULL`, `PLAIN` or `CURVE`.
        mechanism: &'static str,
        /// PLAIN: user name and password; CURVE: the client's public key; NULL: none.
        credentials: &'a [Vec<u8>],
    },
}

/// One piece of message output for [`Connection::write_output`].
#[derive(Debug, Clone, Copy)]
pub enum Outgoing<'f> {
    /// A frame's body, and whether more frames of its message follow.
    Frame(&'f [u8], bool),
    /// A whole message framed once by [`crate::wire::encoded`] for many connections.
    Encoded(&'f [u8]),
    /// Only the header of a frame whose body of this length the driver writes itself,
    /// right after it ([`Connection::sends_apart`]), and whether more frames follow.
    Header(usize, bool),
}

/// How a connection secures itself: the mechanism, its role and its keys (spec §4, §5).
#[derive(Debug)]
pub enum Security {
    /// NULL; `zap`: ask ZAP about the peer first (a socket with a ZAP domain).
    Null {
        /// Whether the handshake asks ZAP.
        zap: bool,
    },
    /// A PLAIN client.
    PlainClient {
        /// The user name (at most 255 bytes).
        username: Vec<u8>,
        /// The password (at most 255 bytes), zeroised on drop.
        password: Zeroizing<Vec<u8>>,
    },
    /// A PLAIN server (it always asks ZAP, as libzmq).
    PlainServer,
    /// A CURVE client.
    CurveClient {
        /// Our permanent secret key (zeroised on drop).
        secret: SecretKey,
        /// The server's permanent public key.
        server: [u8; KEY_LEN],
    },
    /// A CURVE server.
    CurveServer {
        /// Our permanent secret key (zeroised on drop).
        secret: SecretKey,
        /// Whether each client's key goes to ZAP.
        zap: bool,
    },
}

/// Receives what [`Connection::feed`] decodes, in arrival order.
///
/// Borrowed slices point into the fed bytes when possible, so a sink copies each body once.
pub trait Sink {
    /// What the sink may fail with; protocol errors are converted into it.
    type Error: From<Error>;

    /// A data frame. `more` is true when further frames of the same message follow; a message
    /// is complete at its first frame with `more == false`. Commands arriving between two
    /// frames of a message do not interrupt it.
    fn frame(&mut self, body: &[u8], more: bool) -> Result<(), Self::Error>;

    /// An event.
    fn event(&mut self, event: Event<'_>) -> Result<(), Self::Error>;

    /// A data frame with a `len`-byte body starts, its body still arriving: make its buffer.
    /// The body comes through [`Sink::body_part`], or the driver writes it into that buffer
    /// itself (see [`Connection::body_written`]); [`Sink::body_end`] follows once all of it
    /// is there. Only with [`Connection::with_direct_bodies`].
    fn body_start(&mut self, len: usize) -> Result<(), Self::Error>;

    /// Bytes of the open body, to copy to `offset` in its buffer.
    fn body_part(&mut self, offset: usize, bytes: &[u8]) -> Result<(), Self::Error>;

    /// The open body is complete: its frame is as [`Sink::frame`]'s, `more` included.
    fn body_end(&mut self, more: bool) -> Result<(), Self::Error>;
}

/// A large data frame whose body arrives into the sink's buffer for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenBody {
    /// The body's length.
    pub len: usize,
    /// How many of its bytes arrived so far (the offset of the next).
    pub filled: usize,
    /// Whether more frames of the same message follow.
    more: bool,
}

impl OpenBody {
    /// How many bytes of the body are still to come.
    pub fn wanted(&self) -> usize {
        self.len - self.filled
    }
}

/// Where the connection is in its life (see the module doc's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ExpectGreeting,
    ExpectHandshake,
    Ready,
    Closed,
}

/// One ZMTP 3.x connection: greeting, mechanism handshake, framing and commands.
///
/// ```
/// use _core::{Connection, SocketType};
///
/// let mut push = Connection::new(SocketType::Push, b"", None);
/// let mut greeting = vec![0; push.pending_output().len()];
/// push.write_output(&mut greeting, []).unwrap();
/// assert_eq!(greeting.len(), 64);
/// ```
#[derive(Debug)]
pub struct Connection {
    state: State,
    /// Our socket's type (none for a connection made from a bare mechanism): RADIO acts on
    /// JOIN/LEAVE, DISH sends them for subscriptions.
    socket_type: Option<SocketType>,
    mechanism: Mechanism,
    /// The peer's greeting bytes so far (emptied once it is complete).
    greeting: Vec<u8>,
    deframer: Deframer,
    /// Protocol bytes waiting to be written, ahead of any message.
    pending: Vec<u8>,
    /// Where an unwritten PONG starts in `pending`, when it is the last thing there: a
    /// newer PING replaces it, so a peer that floods PINGs and never reads costs one PONG
    /// (libzmq likewise keeps one).
    pending_pong: Option<usize>,
    /// The minor version we speak with the peer, once its greeting is in.
    peer_minor: Option<u8>,
    /// The peer's metadata, once the handshake is complete.
    peer: Option<PeerMetadata>,
    /// Handshake deadline, heartbeats, TTL.
    timers: Timers,
    /// The credentials of a pending ZAP request (lent to [`Event::ZapRequest`]).
    zap_request: Option<ZapRequest>,
    /// Where a CURVE MESSAGE is opened (kept to reuse its allocation).
    plaintext: Vec<u8>,
    /// When a CURVE server's cookie key must be discarded (while it holds one).
    cookie_key_expiry: Option<Duration>,
    /// Data frames with bodies of these lengths, not all arrived, are received into the
    /// sink's buffer (none: never).
    direct_bodies: Option<std::ops::RangeInclusive<usize>>,
    /// The large body being received, if any.
    body: Option<OpenBody>,
    /// A body was completed by the last call and nothing has been fed since.
    body_just_ended: bool,
    /// Bodies (and shared encodings) at least this long go out apart from their headers
    /// while frames go in clear (`usize::MAX`: never).
    apart_min: usize,
}

impl Connection {
    /// A NULL-mechanism connection for our socket of `socket_type`, announcing `routing_id`
    /// (sent as `Identity` by REQ, DEALER and ROUTER). Frames whose body exceeds
    /// `max_msg_size` bytes are a protocol error (`None`: no limit). Our greeting is queued.
    pub fn new(socket_type: SocketType, routing_id: &[u8], max_msg_size: Option<u64>) -> Self {
        Connection {
            socket_type: Some(socket_type),
            ..Self::with_mechanism(
                Mechanism::Null(Null::new(socket_type, routing_id)),
                routing_id,
                max_msg_size,
            )
        }
    }

    /// A connection as [`Connection::new`] secured by `security`. Fails only for PLAIN
    /// credentials longer than 255 bytes.
    pub fn with_security(
        socket_type: SocketType,
        routing_id: &[u8],
        max_msg_size: Option<u64>,
        security: Security,
    ) -> Result<Self, Error> {
        let mechanism = match security {
            Security::Null { zap: false } => Mechanism::Null(Null::new(socket_type, routing_id)),
            Security::Null { zap: true } => {
                Mechanism::Null(Null::with_zap(socket_type, routing_id))
            }
            Security::PlainClient { username, password } => Mechanism::Plain(Plain::client(
                socket_type,
                routing_id,
                &username,
                &password,
            )?),
            Security::PlainServer => Mechanism::Plain(Plain::server(socket_type, routing_id)),
            Security::CurveClient { secret, server } => {
                Mechanism::CurveClient(Box::new(CurveClient::new(
                    socket_type,
                    routing_id,
                    secret,
                    server,
                    SecretKey::generate(),
                )))
            }
            Security::CurveServer { secret, zap } => Mechanism::CurveServer(Box::new(
                CurveServer::new(socket_type, routing_id, secret, SecretKey::generate(), zap),
            )),
        };
        Ok(Connection {
            socket_type: Some(socket_type),
            ..Self::with_mechanism(mechanism, routing_id, max_msg_size)
        })
    }

    /// A connection running `mechanism` (tests pass handshakes with fixed keys).
    pub fn with_mechanism(
        mechanism: Mechanism,
        routing_id: &[u8],
        max_msg_size: Option<u64>,
    ) -> Self {
        let mut pending = Vec::with_capacity(GREETING_LEN);
        Greeting::ours(mechanism.name(), mechanism.as_server())
            .encode(routing_id.len(), &mut pending);
        Connection {
            state: State::ExpectGreeting,
            socket_type: None,
            mechanism,
            greeting: Vec::with_capacity(GREETING_LEN),
            deframer: Deframer::new(max_msg_size),
            pending,
            peer_minor: None,
            peer: None,
            pending_pong: None,
            timers: Timers::new(TimerSettings::default(), Duration::ZERO),
            zap_request: None,
            plaintext: Vec::new(),
            cookie_key_expiry: None,
            direct_bodies: None,
            body: None,
            body_just_ended: false,
            apart_min: usize::MAX,
        }
    }

    /// This connection with timers (see [`crate::timers`]), started at `now`: the handshake
    /// must finish by `now + handshake_ivl`, and heartbeats run once it has.
    #[must_use]
    pub fn with_timers(mut self, settings: TimerSettings, now: Duration) -> Self {
        self.timers = Timers::new(settings, now);
        self
    }

    /// Also refuses frames above `ceiling` bytes, whatever `max_msg_size` says: pass what the
    /// process could ever hold (the machine's memory), so a header announcing more closes
    /// the connection at once instead of leaving it waiting for a body that cannot come.
    pub fn with_memory_ceiling(mut self, ceiling: u64) -> Self {
        self.deframer = mem::take(&mut self.deframer).with_ceiling(ceiling);
        self
    }

    /// Once the handshake is done and while frames go in clear, hands the body of each data
    /// frame whose length is in `lengths` and that did not arrive whole to the sink in parts
    /// ([`Sink::body_start`]), so the driver can receive it straight into its final buffer.
    /// The sink holds the declared size from the header on (`max_msg_size` and the memory
    /// ceiling are checked first): the top of `lengths` bounds what a lying peer costs.
    #[must_use]
    pub fn with_direct_bodies(mut self, lengths: std::ops::RangeInclusive<usize>) -> Self {
        self.direct_bodies = Some(lengths);
        self
    }

    /// Lets the driver send data frame bodies of at least `min_len` bytes, and shared
    /// encodings as long, from their own buffers instead of copying them into the output
    /// (see [`Connection::sends_apart`]).
    #[must_use]
    pub fn with_bodies_apart(mut self, min_len: usize) -> Self {
        self.apart_min = min_len;
        self
    }

    /// Whether a body (or shared encoding) of `len` bytes goes out from its own buffer:
    /// [`Connection::write_output`] is then given [`Outgoing::Header`] for a frame (nothing
    /// for an encoding) and the driver writes the bytes themselves after what it wrote.
    /// Only while frames go in clear; CURVE boxes every frame into the output.
    pub fn sends_apart(&self, len: usize) -> bool {
        len >= self.apart_min && self.frames_in_clear()
    }

    /// The memory held for a frame that has not fully arrived: bounded by the bytes that
    /// did arrive plus a fixed reserve, whatever the frame's header claims (a body handed to
    /// the sink, [`Connection::open_body`], is the sink's).
    pub fn buffered_capacity(&self) -> usize {
        self.greeting.capacity() + self.deframer.buffered_capacity()
    }

    /// Consumes bytes from the peer that arrived at `now`, reporting data frames and events
    /// to `sink`.
    ///
    /// Call whenever bytes arrive, then write any output. On error the connection is closed;
    /// whatever `sink` received before stays delivered. After [`Event::Error`] the rest of
    /// `data` is ignored.
    pub fn feed<S: Sink>(
        &mut self,
        data: &[u8],
        now: Duration,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        if self.state == State::Closed {
            return Err(Error::Closed.into());
        }
        self.timers.on_receive(now);
        self.body_just_ended = false;
        let result = self.consume(data, now, sink);
        if result.is_err() {
            self.state = State::Closed;
        }
        result
    }

    /// The large data frame whose body is arriving, if any: while there is one, the next
    /// [`OpenBody::wanted`] bytes of the stream are its body, at [`OpenBody::filled`] on in
    /// the buffer the sink made for it.
    pub fn open_body(&self) -> Option<OpenBody> {
        self.body
    }

    /// The driver wrote the next `len` bytes of the stream, which arrived at `now`, into the
    /// open body's buffer from [`OpenBody::filled`] on (at most [`OpenBody::wanted`] bytes);
    /// once the body is complete, `sink` gets [`Sink::body_end`].
    pub fn body_written<S: Sink>(
        &mut self,
        len: usize,
        now: Duration,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        if self.state == State::Closed {
            return Err(Error::Closed.into());
        }
        let Some(body) = self.body.as_mut().filter(|body| len <= body.wanted()) else {
            return Err(Error::from(ApiMisuse::NoOpenBody).into());
        };
        self.timers.on_receive(now);
        body.filled += len;
        let result = self.end_body_if_complete(sink);
        if result.is_err() {
            self.state = State::Closed;
        }
        result
    }

    /// Copies the start of `data` into the open body (through the sink); the rest of
    /// `data` is returned.
    fn fill_body<'d, S: Sink>(
        &mut self,
        data: &'d [u8],
        sink: &mut S,
    ) -> Result<&'d [u8], S::Error> {
        let Some(body) = self.body.as_mut() else {
            return Ok(data);
        };
        let (part, rest) = data.split_at(body.wanted().min(data.len()));
        if !part.is_empty() {
            sink.body_part(body.filled, part)?;
            body.filled += part.len();
        }
        self.end_body_if_complete(sink)?;
        Ok(rest)
    }

    /// Hands the open body's frame on once all of it is there.
    fn end_body_if_complete<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        match self.body {
            Some(body) if body.wanted() == 0 => {
                self.body = None;
                self.body_just_ended = true;
                sink.body_end(body.more)
            }
            _ => Ok(()),
        }
    }

    /// [`Connection::feed`] without the closing on error.
    fn consume<S: Sink>(
        &mut self,
        mut data: &[u8],
        now: Duration,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        if self.state == State::ExpectGreeting {
            let take = (GREETING_LEN - self.greeting.len()).min(data.len());
            self.greeting.extend_from_slice(&data[..take]);
            data = &data[take..];
            let Some(greeting) = Greeting::decode(&self.greeting)? else {
                return Ok(());
            };
            self.greeting = Vec::new();
            self.on_greeting(greeting, now, sink)?;
        }
        // The deframer's callback needs `self` mutably, so the deframer steps out meanwhile.
        let mut deframer = mem::take(&mut self.deframer);
        let result = self.deframe(&mut deframer, data, now, sink);
        self.deframer = deframer;
        result
    }

    /// Frames out of `data`, and the parts of large bodies between them.
    fn deframe<S: Sink>(
        &mut self,
        deframer: &mut Deframer,
        mut data: &[u8],
        now: Duration,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        loop {
            data = self.fill_body(data, sink)?;
            if data.is_empty() || self.state == State::Closed {
                return Ok(());
            }
            // Decided anew after each opened body: the frames before it may have ended the
            // handshake.
            let split = self
                .direct_bodies
                .clone()
                .filter(|_| self.state == State::Ready && self.mechanism.frames_in_clear());
            let opened =
                deframer.feed_split(data, split, |frame| self.on_frame(frame, now, sink))?;
            let Some(opened) = opened else {
                return Ok(());
            };
            sink.body_start(opened.body_len)?;
            self.body = Some(OpenBody {
                len: opened.body_len,
                filled: 0,
                more: opened.more(),
            });
            data = &data[opened.body_start..];
        }
    }

    /// The peer's greeting is complete: check the mechanism and start the handshake.
    fn on_greeting<S: Sink>(
        &mut self,
        greeting: Greeting,
        now: Duration,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        if greeting.mechanism != self.mechanism.name() {
            let name = greeting
                .mechanism
                .split(|&b| b == 0)
                .next()
                .unwrap_or_default();
            let name = String::from_utf8_lossy(name).into_owned();
            return Err(Error::from(PeerMisbehaved::MechanismMismatch(name)).into());
        }
        self.peer_minor = Some(greeting.effective_minor());
        self.state = State::ExpectHandshake;
        // Before the handshake is done no PONG can be pending, so `queue()` isn't needed.
        let progress = self.mechanism.start(&mut self.pending);
        self.on_progress(progress, now, sink)
    }

    /// Acts on what a handshake step led to.
    fn on_progress<S: Sink>(
        &mut self,
        progress: Progress,
        now: Duration,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        match progress {
            Progress::Continue => Ok(()),
            Progress::AskZap(request) => {
                let request = self.zap_request.insert(request);
                sink.event(Event::ZapRequest {
                    mechanism: request.mechanism,
                    credentials: &request.credentials,
                })
            }
            Progress::Done(peer) => {
                self.finish_handshake(peer, now);
                sink.event(Event::Ready)
            }
        }
    }

    fn finish_handshake(&mut self, peer: PeerMetadata, now: Duration) {
        self.zap_request = None;
        self.peer = Some(peer);
        self.state = State::Ready;
        self.timers.on_handshake_done(now);
    }

    /// The ZAP handler accepted the peer (after [`Event::ZapRequest`]): the handshake goes
    /// on, its next command queued. Check [`Connection::is_ready`] afterwards: a NULL
    /// handshake whose peer's READY already arrived is complete now (at `now`).
    pub fn zap_accepted(&mut self, now: Duration) -> Result<(), Error> {
        if self.state != State::ExpectHandshake || self.zap_request.take().is_none() {
            return Err(ApiMisuse::NoZapRequest.into());
        }
        match self.mechanism.zap_accepted(&mut self.pending) {
            Ok(Progress::Done(peer)) => self.finish_handshake(peer, now),
            Ok(_) => {}
            Err(err) => {
                self.state = State::Closed;
                return Err(err);
            }
        }
        Ok(())
    }

    /// One frame after the greeting: after a CURVE handshake every frame is a MESSAGE,
    /// opened here into the frame it carries.
    fn on_frame<S: Sink>(
        &mut self,
        frame: Frame<'_>,
        now: Duration,
        sink: &mut S,
    ) -> Result<ControlFlow<()>, S::Error> {
        let Some(channel) = self.mechanism.channel() else {
            return self.on_clear_frame(frame, now, sink);
        };
        let mut plaintext = mem::take(&mut self.plaintext);
        let result = match channel.open_frame(frame.body, &mut plaintext) {
            Ok((is_command, more, body)) => {
                let flags = if is_command { frame::COMMAND } else { 0 }
                    | if more { frame::MORE } else { 0 };
                self.on_clear_frame(Frame { flags, body }, now, sink)
            }
            Err(err) => Err(err.into()),
        };
        self.plaintext = plaintext;
        result
    }

    /// One frame as the peer meant it (decrypted if it came in a MESSAGE).
    fn on_clear_frame<S: Sink>(
        &mut self,
        frame: Frame<'_>,
        now: Duration,
        sink: &mut S,
    ) -> Result<ControlFlow<()>, S::Error> {
        if !frame.is_command() {
            if self.state != State::Ready {
                return Err(Error::from(self.handshake_input_refused()).into());
            }
            sink.frame(frame.body, frame.more())?;
            return Ok(ControlFlow::Continue(()));
        }
        if self.state == State::ExpectHandshake && self.mechanism.refuses_input_awaiting_zap() {
            return Err(Error::from(PeerMisbehaved::InputAwaitingZap).into());
        }
        if self.state == State::Ready {
            // After the handshake libzmq acts on these four only and discards every other
            // command unparsed, ERROR included (zmtp_engine.cpp, process_command_message),
            // except that a RADIO's session also takes JOIN and LEAVE (radio.cpp).
            let (name, _) = Command::split_name(frame.body)?;
            let acted_on = match name {
                b"PING" | b"PONG" | b"SUBSCRIBE" | b"CANCEL" => true,
                b"JOIN" | b"LEAVE" => self.socket_type == Some(SocketType::Radio),
                _ => false,
            };
            if !acted_on {
                return Ok(ControlFlow::Continue(()));
            }
        }
        match Command::decode(frame.body)? {
            // During the handshake ERROR is fatal for every mechanism (RFC 37).
            Command::Error { reason } => {
                self.state = State::Closed;
                sink.event(Event::Error(reason))?;
                return Ok(ControlFlow::Break(()));
            }
            command if self.state == State::ExpectHandshake => {
                let progress = self.mechanism.handle(command, &mut self.pending)?;
                self.cookie_key_expiry = match self.cookie_key_expiry {
                    _ if !self.mechanism.holds_cookie_key() => None,
                    None => Some(now + COOKIE_KEY_LIFETIME),
                    running => running,
                };
                self.on_progress(progress, now, sink)?;
            }
            Command::Ping { ttl, context } => {
                if let Some(start) = self.pending_pong.take() {
                    self.pending.truncate(start);
                }
                self.pending_pong = Some(self.pending.len());
                self.push_command(Command::Pong { context });
                self.timers.on_peer_ttl(ttl, now);
                sink.event(Event::Ping { ttl })?;
            }
            Command::Subscribe { topic } => sink.event(Event::Subscribe(topic))?,
            Command::Cancel { topic } => sink.event(Event::Cancel(topic))?,
            Command::Join { group } => sink.event(Event::Join(group))?,
            Command::Leave { group } => sink.event(Event::Leave(group))?,
            // PONG needs no answer (any traffic is a sign of life); libzmq silently discards
            // every other command after the handshake, READY included (spec §3.7).
            Command::Pong { .. } | Command::Ready(_) | Command::Unknown { .. } => {}
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Why a data frame during the handshake is refused.
    fn handshake_input_refused(&self) -> PeerMisbehaved {
        if self.mechanism.refuses_input_awaiting_zap() {
            PeerMisbehaved::InputAwaitingZap
        } else {
            PeerMisbehaved::DataBeforeReady
        }
    }

    /// When [`Connection::on_timeout`] must next be called (`None`: no timer runs, or the
    /// connection is closed). Ask again after every call: each may move it.
    pub fn next_deadline(&self) -> Option<Duration> {
        if self.state == State::Closed {
            return None;
        }
        let timers = self.timers.next_deadline();
        match (timers, self.cookie_key_expiry) {
            (Some(timers), Some(cookie)) => Some(timers.min(cookie)),
            (timers, cookie) => timers.or(cookie),
        }
    }

    /// Time passed: queue a PING if one is due, or report the timer that expired (the
    /// connection is then closed; the driver drops it and may retry, as libzmq does).
    pub fn on_timeout(&mut self, now: Duration) -> Option<Expired> {
        if self.state == State::Closed {
            return None;
        }
        if self.cookie_key_expiry.is_some_and(|expiry| now >= expiry) {
            self.cookie_key_expiry = None;
            self.mechanism.discard_cookie_key();
        }
        match self.timers.on_timeout(now) {
            Due::Nothing => None,
            Due::Ping(ttl) => {
                self.pending_pong = None;
                self.push_command(Command::Ping { ttl, context: b"" });
                None
            }
            Due::Expired(expired) => {
                self.state = State::Closed;
                Some(expired)
            }
        }
    }

    /// Queues a PING carrying `ttl` (tenths of a second) and no context.
    ///
    /// libzmq also pings ZMTP 3.0 peers (spec §1.3), so this does not look at the version.
    pub fn send_ping(&mut self, ttl: u16) -> Result<(), Error> {
        self.check_ready()?;
        self.pending_pong = None;
        self.push_command(Command::Ping { ttl, context: b"" });
        Ok(())
    }

    /// Queues a subscription (`subscribe`) or its cancellation for `topic`: a SUBSCRIBE or
    /// CANCEL command to a ZMTP 3.1 peer, a one-frame message `0x01|0x00 + topic` to a
    /// ZMTP 3.0 peer (spec §1.3). A DISH's subscriptions are its groups: JOIN or LEAVE
    /// (`topic` at most 255 bytes, which the socket checks when the group is joined).
    pub fn send_subscription(&mut self, topic: &[u8], subscribe: bool) -> Result<(), Error> {
        self.check_ready()?;
        self.pending_pong = None;
        if self.socket_type == Some(SocketType::Dish) {
            let group = topic;
            match subscribe {
                true => self.push_command(Command::Join { group }),
                false => self.push_command(Command::Leave { group }),
            }
            return Ok(());
        }
        match (self.peer_minor, subscribe) {
            (Some(0), _) => {
                let body = [&[u8::from(subscribe)], topic].concat();
                match self.mechanism.channel() {
                    Some(channel) => channel.push_frame(0, &body, &mut self.pending),
                    None => frame::encode(0, &[&body], &mut self.pending),
                }
            }
            (_, true) => self.push_command(Command::Subscribe { topic }),
            (_, false) => self.push_command(Command::Cancel { topic }),
        }
        Ok(())
    }

    /// Appends a post-handshake command to the pending output: as a frame of its own, or
    /// boxed in a MESSAGE after a CURVE handshake (spec §5.6).
    fn push_command(&mut self, command: Command<'_>) {
        match self.mechanism.channel() {
            Some(channel) => {
                let mut encoded = Vec::new();
                command.encode(&mut encoded);
                let header_len = frame::header_len(encoded[0]);
                channel.push_command(&encoded[header_len..], &mut self.pending);
            }
            None => command.encode(&mut self.pending),
        }
    }

    /// Queues an ERROR command (`reason` cut to 255 bytes) and closes the connection; the
    /// ERROR still comes out of the next [`Connection::write_output`].
    pub fn send_error(&mut self, reason: &[u8]) -> Result<(), Error> {
        if self.state == State::Closed {
            return Err(ApiMisuse::Closed.into());
        }
        Command::Error { reason }.encode(self.queue());
        self.state = State::Closed;
        Ok(())
    }

    /// The pending output, for appending anything but a PONG (which then is no longer last).
    fn queue(&mut self) -> &mut Vec<u8> {
        self.pending_pong = None;
        &mut self.pending
    }

    /// Fails unless messages and post-handshake commands may be sent.
    fn check_ready(&self) -> Result<(), Error> {
        match self.state {
            State::Ready => Ok(()),
            State::Closed => Err(ApiMisuse::Closed.into()),
            State::ExpectGreeting | State::ExpectHandshake => Err(ApiMisuse::NotReady.into()),
        }
    }

    /// Protocol bytes queued by the connection itself (greeting, handshake, PONG, ...),
    /// which [`Connection::write_output`] writes first.
    pub fn pending_output(&self) -> &[u8] {
        &self.pending
    }

    /// Whether message frames may be passed to [`Connection::write_output`]: the handshake
    /// is done and the connection is not closed.
    pub fn can_send_messages(&self) -> bool {
        self.state == State::Ready
    }

    /// The exact number of bytes a message framed once by [`crate::wire::encoded`] takes in
    /// [`Connection::write_output`] (more than its length if each frame is encrypted).
    pub fn encoded_wire_len(&self, message: &[u8]) -> usize {
        if self.frames_in_clear() {
            message.len()
        } else {
            encoded::frames(message)
                .map(|(body, _)| self.frame_wire_len(body.len()))
                .sum()
        }
    }

    /// The exact number of bytes a data frame with a `body_len`-byte body takes in
    /// [`Connection::write_output`].
    pub fn frame_wire_len(&self, body_len: usize) -> usize {
        self.mechanism.frame_wire_len(body_len)
    }

    /// Whether data frames go out in clear (NULL, PLAIN): then a message framed once by
    /// [`crate::wire::encoded`] may be given to [`Connection::write_output`] as it is.
    pub fn frames_in_clear(&self) -> bool {
        self.mechanism.frames_in_clear()
    }

    /// Writes the pending output, then the given data (whole messages only), into `out`;
    /// returns the number of bytes written.
    ///
    /// `out` must hold at least `pending_output().len()` plus [`Connection::frame_wire_len`]
    /// of every frame's body and the length of every encoded message, so callers can
    /// allocate the exact buffer once. Data is refused with [`ApiMisuse`] (and nothing is
    /// written) unless [`Connection::can_send_messages`]; an encoded message is written
    /// frame by frame unless [`Connection::frames_in_clear`].
    pub fn write_output<'f>(
        &mut self,
        out: &mut [u8],
        frames: impl IntoIterator<Item = Outgoing<'f>>,
    ) -> Result<usize, Error> {
        let mut frames = frames.into_iter().peekable();
        if frames.peek().is_some() {
            self.check_ready()?;
        }
        let mut written = self.pending.len();
        out[..written].copy_from_slice(&self.pending);
        self.pending.clear();
        self.pending_pong = None;
        for outgoing in frames {
            match outgoing {
                Outgoing::Frame(body, more) => {
                    let flags = if more { frame::MORE } else { 0 };
                    written += self.mechanism.write_frame(flags, body, &mut out[written..]);
                }
                Outgoing::Encoded(message) if self.frames_in_clear() => {
                    out[written..written + message.len()].copy_from_slice(message);
                    written += message.len();
                }
                Outgoing::Encoded(message) => {
                    for (body, more) in encoded::frames(message) {
                        let flags = if more { frame::MORE } else { 0 };
                        written += self.mechanism.write_frame(flags, body, &mut out[written..]);
                    }
                }
                Outgoing::Header(body_len, more) => {
                    if !self.frames_in_clear() {
                        return Err(ApiMisuse::ApartWhileEncrypting.into());
                    }
                    let flags = if more { frame::MORE } else { 0 };
                    let header = frame::Header::new(flags, body_len);
                    let header = header.as_bytes();
                    out[written..written + header.len()].copy_from_slice(header);
                    written += header.len();
                }
            }
        }
        Ok(written)
    }

    /// How many bytes the driver should ask of the kernel next: [`READ_SIZE`], up to
    /// [`MAX_READ_SIZE`] to finish a big frame in one read, [`AFTER_BODY_READ_SIZE`] right
    /// after a body was received in place; 0 while a body is open, whose bytes the driver
    /// receives into its buffer ([`Connection::open_body`]).
    pub fn next_read_size(&self) -> usize {
        if self.body.is_some() {
            return 0;
        }
        match self.bytes_wanted() {
            0 if self.body_just_ended => AFTER_BODY_READ_SIZE,
            wanted if wanted <= READ_SIZE => READ_SIZE,
            wanted => wanted.min(MAX_READ_SIZE),
        }
    }

    /// How many more bytes would complete the greeting or frame being decoded (0 if unknown),
    /// so the driver can read big frames in big chunks.
    pub fn bytes_wanted(&self) -> usize {
        match self.state {
            State::ExpectGreeting => GREETING_LEN - self.greeting.len(),
            State::ExpectHandshake | State::Ready => match self.body {
                Some(body) => body.wanted(),
                None => self.deframer.bytes_wanted(),
            },
            State::Closed => 0,
        }
    }

    /// Whether the handshake has finished (it stays finished after the connection closes).
    pub fn is_ready(&self) -> bool {
        self.peer.is_some()
    }

    /// Whether the connection failed or was closed by an ERROR command (either way).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The minor ZMTP version spoken with the peer (0 for 3.0, 1 for 3.1 or later), once its
    /// greeting has arrived.
    pub fn peer_minor(&self) -> Option<u8> {
        self.peer_minor
    }

    /// The peer's metadata, once the handshake has finished.
    pub fn peer_metadata(&self) -> Option<&PeerMetadata> {
        self.peer.as_ref()
    }
}
