//! Fuzz harnesses for zmtrio's sans-IO engine, one function per cargo-fuzz target.
//!
//! Each harness drives the engine's public API with the input, split into arbitrary chunks,
//! and checks properties that must hold for any bytes a peer could send, not just "does not
//! panic":
//!
//! - the same bytes fed whole or in any chunking give the same frames, events and error;
//! - memory held for a partial frame stays bounded by what arrived, whatever a header claims;
//! - whatever a connection writes decodes cleanly at a correct peer;
//! - codecs round-trip (decode, encode, decode gives the same value).
//!
//! The first few input bytes are controls (limits, socket types, the chunking seed), the rest
//! is what the peer sent. The same functions replay the seed corpus under stable `cargo test`
//! (`rust/tests/corpus.rs` includes this file), so CI runs every corpus input without nightly.

use std::ops::ControlFlow;
use std::time::Duration;

use _core::mechanism::crypto::SecretKey;
use _core::mechanism::{local_metadata, CurveClient, CurveServer, Mechanism, Null, Plain};
use _core::wire::command::{Command, Metadata};
use _core::wire::frame::{self, Deframer, Frame, MAX_RESERVE_AHEAD};
use _core::wire::greeting::{Greeting, GREETING_LEN};
use _core::wire::z85;
use _core::{Connection, Error, Event, Sink, SocketType};

/// Splits `N` control bytes off the front of `data` (missing ones read as 0).
fn controls<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut ctrl = [0; N];
    let n = data.len().min(N);
    ctrl[..n].copy_from_slice(&data[..n]);
    (ctrl, &data[n..])
}

/// Cuts `data` into chunks whose lengths follow a small PRNG seeded by `seed`: lengths from 1
/// byte up to a few KiB, so headers and bodies split at every kind of place.
fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut state = u32::from(seed).wrapping_mul(0x9e37_79b9) | 1;
    let mut rest = data;
    let mut out = Vec::new();
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let len = match state % 4 {
            0 => 1,
            1 => (state >> 8) as usize % 16 + 1,
            2 => (state >> 8) as usize % 300 + 1,
            _ => (state >> 8) as usize % 5000 + 1,
        };
        let (chunk, tail) = rest.split_at(len.min(rest.len()));
        out.push(chunk);
        rest = tail;
    }
    out
}

/// The socket type with libzmq number `byte % 11`.
fn socket_type(byte: u8) -> SocketType {
    SocketType::from_number(byte % 11).expect("0..=10 are all socket types")
}

/// What a deframer produced: frames as (flags, body), then how it ended.
type Deframed = (Vec<(u8, Vec<u8>)>, Result<(), Error>);

/// Feeds `pieces` in order, stopping at the first error; checks the memory bound after each.
fn deframe(mut deframer: Deframer, pieces: &[&[u8]]) -> (Deframed, Deframer) {
    let mut frames = Vec::new();
    let mut arrived = 0;
    for piece in pieces {
        arrived += piece.len();
        let fed = deframer.feed(piece, |f: Frame<'_>| -> Result<_, Error> {
            frames.push((f.flags, f.body.to_vec()));
            Ok(ControlFlow::Continue(()))
        });
        assert!(
            deframer.buffered_capacity() <= 2 * (arrived + MAX_RESERVE_AHEAD),
            "holds {} bytes after {arrived} arrived",
            deframer.buffered_capacity()
        );
        if fed.is_err() {
            return ((frames, fed), deframer);
        }
    }
    ((frames, Ok(())), deframer)
}

/// Target `frame`: the frame decoder under any limits and chunking.
pub fn frame(data: &[u8]) {
    let ([limit, ceiling, seed], stream) = controls(data);
    let max_size = match limit % 4 {
        0 => None,
        1 => Some(0),
        2 => Some(u64::from(limit)),
        _ => Some(1 << (limit % 64)),
    };
    let ceiling = if ceiling == 0 {
        u64::MAX
    } else {
        1 << (ceiling % 64)
    };
    let make = || Deframer::new(max_size).with_ceiling(ceiling);
    let (whole, _) = deframe(make(), &[stream]);
    let (chunked, deframer) = deframe(make(), &chunks(stream, seed));
    assert_eq!(whole, chunked, "chunking changed what was decoded");
    let (frames, result) = whole;
    let limit = make().limit();
    for (flags, body) in &frames {
        assert!(
            body.len() as u64 <= limit,
            "a frame above the limit got through"
        );
        // Re-encoded in the shortest form, the frame decodes to the same thing.
        let mut encoded = Vec::new();
        frame::encode(
            flags & (frame::MORE | frame::COMMAND),
            &[body],
            &mut encoded,
        );
        let ((again, ok), _) = deframe(make(), &[&encoded]);
        ok.expect("a re-encoded frame decodes");
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].0, encoded[0]);
        assert_eq!(&again[0].1, body);
    }
    // Whatever the deframer still wants, once given, completes exactly one more frame.
    let wanted = deframer.bytes_wanted();
    if result.is_ok() && wanted > 0 && wanted <= 1 << 16 {
        let ((more, ok), after) = deframe(deframer, &[&vec![0; wanted]]);
        ok.expect("the wanted bytes complete the frame");
        assert_eq!(more.len(), 1, "the wanted bytes complete exactly one frame");
        assert_eq!(after.bytes_wanted(), 0);
    }
}

/// Target `greeting`: the greeting check on every prefix of the input.
pub fn greeting(data: &[u8]) {
    let mut failed = None;
    for len in 0..=data.len().min(GREETING_LEN) {
        match Greeting::decode(&data[..len]) {
            Err(e) => {
                // A refusal is decided by the first bytes that tell, and never taken back.
                if let Some(earlier) = &failed {
                    assert_eq!(earlier, &e, "a longer prefix changed the refusal");
                }
                failed = Some(e);
            }
            Ok(decoded) => {
                assert!(
                    failed.is_none(),
                    "a refused prefix was accepted once longer"
                );
                assert_eq!(decoded.is_some(), len == GREETING_LEN);
                if let Some(g) = decoded {
                    assert!(g.major >= 3);
                    assert_eq!(g.mechanism, data[12..32]);
                }
            }
        }
    }
}

/// Target `command`: command bodies and READY metadata.
pub fn command(data: &[u8]) {
    let ([local], body) = controls(data);
    let Ok(command) = Command::decode(body) else {
        return;
    };
    let (name, _) = Command::split_name(body).expect("a decoded command has a name");
    assert_eq!(command.name(), name);
    // Encode, deframe, decode: the same command.
    let mut encoded = Vec::new();
    command.encode(&mut encoded);
    let ((frames, ok), _) = deframe(Deframer::new(None), &[&encoded]);
    ok.expect("an encoded command deframes");
    let [(flags, again)] = &frames[..] else {
        panic!("one command, one frame");
    };
    assert_eq!(flags & frame::COMMAND, frame::COMMAND);
    assert_eq!(Command::decode(again), Ok(command));
    if let Command::Ready(metadata) = command {
        let properties: Vec<_> = metadata.properties().collect();
        let valid = properties.iter().all(Result::is_ok);
        let parsed = _core::mechanism::PeerMetadata::parse(metadata, socket_type(local));
        if !valid {
            assert!(parsed.is_err(), "invalid metadata was accepted");
        }
        if let Ok(peer) = parsed {
            assert_eq!(peer.properties.len(), properties.len());
        }
    }
}

/// Target `z85`: decoding any text, and encoding any data.
pub fn z85(data: &[u8]) {
    if let Ok(decoded) = z85::decode(data) {
        assert_eq!(decoded.len(), data.len() / 5 * 4);
        assert_eq!(z85::encode(&decoded).as_deref(), Ok(data));
    }
    let whole = &data[..data.len() / 4 * 4];
    let text = z85::encode(whole).expect("a multiple of 4 encodes");
    if !whole.is_empty() {
        assert_eq!(z85::decode(&text).as_deref(), Ok(whole));
    }
}

/// Everything a connection reported, owned.
#[derive(Debug, Default, PartialEq, Eq)]
struct Recorder {
    messages: Vec<Vec<Vec<u8>>>,
    partial: Vec<Vec<u8>>,
    events: Vec<String>,
    /// A ZAP request came in and is not answered yet.
    zap_pending: bool,
    /// The large body being filled in parts.
    body: Vec<u8>,
}

impl Sink for Recorder {
    type Error = Error;

    fn frame(&mut self, body: &[u8], more: bool) -> Result<(), Error> {
        self.partial.push(body.to_vec());
        if !more {
            self.messages.push(std::mem::take(&mut self.partial));
        }
        Ok(())
    }

    fn body_start(&mut self, len: usize) -> Result<(), Error> {
        self.body = vec![0; len];
        Ok(())
    }

    fn body_part(&mut self, offset: usize, bytes: &[u8]) -> Result<(), Error> {
        self.body[offset..offset + bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    fn body_end(&mut self, more: bool) -> Result<(), Error> {
        let body = std::mem::take(&mut self.body);
        self.frame(&body, more)
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), Error> {
        self.zap_pending |= matches!(event, Event::ZapRequest { .. });
        self.events.push(format!("{event:?}"));
        Ok(())
    }
}

/// A peer's greeting for the NULL mechanism.
fn null_greeting() -> Vec<u8> {
    let mut out = Vec::new();
    Greeting::ours(Null::NAME, false).encode(0, &mut out);
    out
}

/// A peer's READY announcing `socket_type`.
fn null_ready(socket_type: SocketType) -> Vec<u8> {
    let mut out = Vec::new();
    Command::Ready(Metadata::new(&local_metadata(socket_type, b"peer"))).encode(&mut out);
    out
}

/// Everything `conn` has to write now, plus `message` when it may send messages.
fn take_output(conn: &mut Connection, message: &[&[u8]]) -> Vec<u8> {
    let frames: Vec<(&[u8], bool)> = if conn.can_send_messages() {
        let last = message.len().saturating_sub(1);
        message
            .iter()
            .enumerate()
            .map(|(i, f)| (*f, i < last))
            .collect()
    } else {
        Vec::new()
    };
    let len = conn.pending_output().len()
        + frames
            .iter()
            .map(|(f, _)| conn.frame_wire_len(f.len()))
            .sum::<usize>();
    let mut out = vec![0; len];
    let written = conn
        .write_output(
            &mut out,
            frames
                .into_iter()
                .map(|(body, more)| _core::connection::Outgoing::Frame(body, more)),
        )
        .expect("output of a connection that may send");
    assert_eq!(written, len, "write_output fills the buffer it sized");
    out
}

/// One connection fed `pieces`: what it reported, how it ended, and everything it wrote.
/// A ZAP request is granted after each of the first `zap_answered` pieces (a valid
/// conversation's rounds); later ones stay unanswered, so chunking cannot change when a
/// verdict arrives.
fn run_connection(
    make: impl Fn() -> Connection,
    pieces: &[&[u8]],
    zap_answered: usize,
) -> (Recorder, String, Vec<u8>) {
    let mut conn = make();
    let mut got = Recorder::default();
    let mut written = take_output(&mut conn, &[]);
    let mut outcome = String::from("open");
    let mut arrived = 0;
    for (index, piece) in pieces.iter().enumerate() {
        arrived += piece.len();
        let fed = conn.feed(piece, Duration::ZERO, &mut got);
        assert!(conn.buffered_capacity() <= 2 * (arrived + MAX_RESERVE_AHEAD) + GREETING_LEN);
        let _ = conn.bytes_wanted();
        if conn.is_closed() || fed.is_err() {
            outcome = format!("{fed:?}");
            break;
        }
        if index < zap_answered && std::mem::take(&mut got.zap_pending) {
            // The ZAP handler says yes: the handshake goes on.
            conn.zap_accepted(Duration::ZERO)
                .expect("a paused handshake takes the verdict");
        }
        written.extend(take_output(&mut conn, &[b"m", b""]));
    }
    if !conn.is_closed() {
        assert_eq!(conn.feed(b"", Duration::ZERO, &mut got), Ok(()));
    } else {
        assert_eq!(
            conn.feed(b"x", Duration::ZERO, &mut got),
            Err(Error::Closed)
        );
    }
    (got, outcome, written)
}

/// Target `handshake_null`: a NULL connection of any socket type against any peer bytes,
/// optionally after a valid greeting (and READY) so the fuzzer starts deep in the handshake
/// or in the ready state. NULL has one role: both sides send the same greeting and READY
/// without waiting, whichever side connected.
pub fn handshake_null(data: &[u8]) {
    let ([ours, mode, theirs, limit, seed], rest) = controls(data);
    let ours = socket_type(ours);
    let theirs = socket_type(theirs);
    let mut stream = Vec::new();
    if mode & 1 != 0 {
        stream.extend(null_greeting());
        if mode & 2 != 0 {
            stream.extend(null_ready(theirs));
        }
    }
    stream.extend_from_slice(rest);
    let max_size = (mode & 4 != 0).then_some(u64::from(limit) * 4);
    let routing_id = &b"rrr"[..usize::from(mode >> 6)];
    let make = || Connection::new(ours, routing_id, max_size).with_memory_ceiling(1 << 20);
    let whole = run_connection(make, &[&stream], 0);
    let chunked = run_connection(make, &chunks(&stream, seed), 0);
    assert_eq!(whole.0, chunked.0, "chunking changed what was decoded");
    assert_eq!(
        whole.1, chunked.1,
        "chunking changed how the connection ended"
    );
    // Whatever we wrote, a correct peer of a compatible type takes without complaint.
    for (_, _, written) in [whole, chunked] {
        let peer_type = SocketType::ALL
            .into_iter()
            .find(|&t| ours.is_compatible_with(t) && t.is_compatible_with(ours));
        if let Some(peer_type) = peer_type {
            let mut peer = Connection::new(peer_type, b"", None);
            peer.feed(&written, Duration::ZERO, &mut Recorder::default())
                .expect("our own output decodes at a correct peer");
        }
    }
}

/// The secure mechanisms, for the `handshake_*` targets of both roles.
#[derive(Debug, Clone, Copy)]
enum Secure {
    Plain,
    Curve,
}

/// Fixed keys, so every run of an input is the same conversation (CURVE still draws its
/// cookie key and some nonces at random inside; what a peer can check stays the same).
const CLIENT_SECRET: [u8; 32] = [1; 32];
const SERVER_SECRET: [u8; 32] = [2; 32];
const CLIENT_TRANSIENT: [u8; 32] = [3; 32];
const SERVER_TRANSIENT: [u8; 32] = [4; 32];

/// A connection running `kind` as client or server.
fn secure_connection(
    kind: Secure,
    client: bool,
    socket_type: SocketType,
    max_size: Option<u64>,
) -> Connection {
    let routing_id = b"id";
    let mechanism = match (kind, client) {
        (Secure::Plain, true) => Mechanism::Plain(
            Plain::client(socket_type, routing_id, b"admin", b"secret").expect("short"),
        ),
        (Secure::Plain, false) => Mechanism::Plain(Plain::server(socket_type, routing_id)),
        (Secure::Curve, true) => Mechanism::CurveClient(Box::new(CurveClient::new(
            socket_type,
            routing_id,
            SecretKey::from_bytes(CLIENT_SECRET),
            SecretKey::from_bytes(SERVER_SECRET).public_key(),
            SecretKey::from_bytes(CLIENT_TRANSIENT),
        ))),
        (Secure::Curve, false) => Mechanism::CurveServer(Box::new(CurveServer::new(
            socket_type,
            routing_id,
            SecretKey::from_bytes(SERVER_SECRET),
            SecretKey::from_bytes(SERVER_TRANSIENT),
            true,
        ))),
    };
    Connection::with_mechanism(mechanism, routing_id, max_size).with_memory_ceiling(1 << 20)
}

/// What a correct peer sends `ours`, round by round, in a conversation pumped in memory
/// (the peer's ZAP handler says yes).
fn transcript(mut ours: Connection, mut peer: Connection) -> Vec<Vec<u8>> {
    let mut rounds = Vec::new();
    let (mut got_ours, mut got_peer) = (Recorder::default(), Recorder::default());
    for _ in 0..6 {
        let to_peer = take_output(&mut ours, &[b"hello"]);
        if peer.feed(&to_peer, Duration::ZERO, &mut got_peer).is_err() {
            break;
        }
        if std::mem::take(&mut got_peer.zap_pending) && peer.zap_accepted(Duration::ZERO).is_err() {
            break;
        }
        let to_ours = take_output(&mut peer, &[b"hello"]);
        if ours.feed(&to_ours, Duration::ZERO, &mut got_ours).is_err() {
            break;
        }
        if std::mem::take(&mut got_ours.zap_pending) && ours.zap_accepted(Duration::ZERO).is_err() {
            break;
        }
        rounds.push(to_ours);
    }
    rounds
}

/// A secure connection as `client` (or server) against any peer bytes, after the first
/// `rounds` (from the control byte) of what a correct peer would send, so the fuzzer starts
/// at every step of the handshake.
fn handshake_secure(kind: Secure, client: bool, data: &[u8]) {
    let ([ours, mode, limit, seed], rest) = controls(data);
    let ours = socket_type(ours);
    let peer_type = SocketType::ALL
        .into_iter()
        .find(|&t| ours.is_compatible_with(t) && t.is_compatible_with(ours))
        .unwrap_or(ours);
    let max_size = (mode & 4 != 0).then_some(u64::from(limit) * 4);
    let make = || secure_connection(kind, client, ours, max_size);
    let valid = transcript(make(), secure_connection(kind, !client, peer_type, None));
    let prefix: Vec<&[u8]> = valid
        .iter()
        .take(usize::from(mode & 3))
        .map(Vec::as_slice)
        .collect();
    let run = |rest: Vec<&[u8]>| {
        let pieces: Vec<&[u8]> = prefix.iter().copied().chain(rest).collect();
        run_connection(make, &pieces, prefix.len())
    };
    let whole = run(vec![rest]);
    let chunked = run(chunks(rest, seed));
    assert_eq!(whole.0, chunked.0, "chunking changed what was decoded");
    assert_eq!(
        whole.1, chunked.1,
        "chunking changed how the connection ended"
    );
}

/// Target `handshake_plain_client`.
pub fn handshake_plain_client(data: &[u8]) {
    handshake_secure(Secure::Plain, true, data);
}

/// Target `handshake_plain_server`.
pub fn handshake_plain_server(data: &[u8]) {
    handshake_secure(Secure::Plain, false, data);
}

/// Target `handshake_curve_client`.
pub fn handshake_curve_client(data: &[u8]) {
    handshake_secure(Secure::Curve, true, data);
}

/// Target `handshake_curve_server`.
pub fn handshake_curve_server(data: &[u8]) {
    handshake_secure(Secure::Curve, false, data);
}
