//! Test helpers shared by the integration tests: a recording [`Sink`], output taking, and
//! [`ConnectionPair`], two connections pumped against each other in memory.

#![allow(dead_code)] // Each test binary uses its own subset of the helpers.

use std::time::Duration;

use _core::{Connection, Error, Event, Sink, SocketType, TimerSettings};

/// A message: its frames.
pub type Message = Vec<Vec<u8>>;

/// An [`Event`] that owns its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Ready,
    Ping(u16),
    Subscribe(Vec<u8>),
    Cancel(Vec<u8>),
    Error(Vec<u8>),
    /// A ZAP request: mechanism and credentials.
    Zap(String, Vec<Vec<u8>>),
    Join(Vec<u8>),
    Leave(Vec<u8>),
}

/// A sink that records complete messages and events.
#[derive(Debug, Default)]
pub struct Recorder {
    pub messages: Vec<Message>,
    pub events: Vec<Got>,
    partial: Message,
    /// The large body being filled in parts.
    pub body: Vec<u8>,
    /// How many large bodies were started.
    pub bodies_started: usize,
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
        self.bodies_started += 1;
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
        self.events.push(match event {
            Event::Ready => Got::Ready,
            Event::Ping { ttl } => Got::Ping(ttl),
            Event::Subscribe(topic) => Got::Subscribe(topic.to_vec()),
            Event::Cancel(topic) => Got::Cancel(topic.to_vec()),
            Event::Error(reason) => Got::Error(reason.to_vec()),
            Event::ZapRequest {
                mechanism,
                credentials,
            } => Got::Zap(mechanism.to_owned(), credentials.to_vec()),
            Event::Join(group) => Got::Join(group.to_vec()),
            Event::Leave(group) => Got::Leave(group.to_vec()),
        });
        Ok(())
    }
}

/// Everything `conn` has to write: pending output, then `messages` (which must be empty
/// unless the connection is ready).
pub fn take_output(conn: &mut Connection, messages: &[Message]) -> Result<Vec<u8>, Error> {
    let frames: Vec<(&[u8], bool)> = messages
        .iter()
        .flat_map(|m| {
            m.iter()
                .enumerate()
                .map(move |(i, f)| (f.as_slice(), i + 1 < m.len()))
        })
        .collect();
    let len = conn.pending_output().len()
        + frames
            .iter()
            .map(|(body, _)| conn.frame_wire_len(body.len()))
            .sum::<usize>();
    let mut out = vec![0; len];
    let frames = frames
        .into_iter()
        .map(|(body, more)| _core::connection::Outgoing::Frame(body, more));
    let written = conn.write_output(&mut out, frames)?;
    assert_eq!(written, len, "write_output must fill the buffer it sized");
    Ok(out)
}

/// Feeds `data` to `conn` in one go (at time zero), returning what it recorded.
pub fn feed(conn: &mut Connection, data: &[u8]) -> Result<Recorder, Error> {
    let mut got = Recorder::default();
    conn.feed(data, Duration::ZERO, &mut got)?;
    Ok(got)
}

/// Two connections talking to each other through memory, on a fake clock.
pub struct ConnectionPair {
    pub a: Connection,
    pub b: Connection,
    /// What `a` received from `b`, and the other way round.
    pub a_got: Recorder,
    pub b_got: Recorder,
    /// The fake clock: every feed happens at this time.
    pub now: Duration,
}

impl ConnectionPair {
    /// Two fresh connections (not pumped yet).
    pub fn new(a: SocketType, b: SocketType) -> ConnectionPair {
        ConnectionPair::with_timers(a, TimerSettings::default(), b, TimerSettings::default())
    }

    /// Two fresh connections with timers, started at time zero.
    pub fn with_timers(
        a: SocketType,
        a_timers: TimerSettings,
        b: SocketType,
        b_timers: TimerSettings,
    ) -> ConnectionPair {
        ConnectionPair::of(
            Connection::new(a, b"", None).with_timers(a_timers, Duration::ZERO),
            Connection::new(b, b"", None).with_timers(b_timers, Duration::ZERO),
        )
    }

    /// Two given connections (not pumped yet).
    pub fn of(a: Connection, b: Connection) -> ConnectionPair {
        ConnectionPair {
            a,
            b,
            a_got: Recorder::default(),
            b_got: Recorder::default(),
            now: Duration::ZERO,
        }
    }

    /// Two connections that completed their handshake.
    pub fn ready(a: SocketType, b: SocketType) -> ConnectionPair {
        let mut pair = ConnectionPair::new(a, b);
        pair.pump().expect("handshake");
        assert!(pair.a.is_ready() && pair.b.is_ready());
        assert_eq!(
            (pair.a_got.events.as_slice(), pair.b_got.events.as_slice()),
            (&[Got::Ready][..], &[Got::Ready][..])
        );
        pair
    }

    /// Moves bytes both ways until neither side has anything to write.
    pub fn pump(&mut self) -> Result<(), Error> {
        self.send(&[], &[])
    }

    /// Sends `from_a` (from `a` to `b`) and `from_b`, then pumps until quiet.
    pub fn send(&mut self, from_a: &[Message], from_b: &[Message]) -> Result<(), Error> {
        let mut to_b = take_output(&mut self.a, from_a)?;
        let mut to_a = take_output(&mut self.b, from_b)?;
        while !(to_a.is_empty() && to_b.is_empty()) {
            if !to_b.is_empty() {
                self.b.feed(&to_b, self.now, &mut self.b_got)?;
            }
            if !to_a.is_empty() {
                self.a.feed(&to_a, self.now, &mut self.a_got)?;
            }
            to_b = take_output(&mut self.a, &[])?;
            to_a = take_output(&mut self.b, &[])?;
        }
        Ok(())
    }
}

/// Bytes from space-separated hex, as the spec writes them.
pub fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).expect("hex byte"))
        .collect()
}

/// libzmq 4.3.5's greeting for NULL with no routing id (spec §1.1, captured).
pub fn libzmq_greeting() -> Vec<u8> {
    let mut greeting = hex("ff 00 00 00 00 00 00 00 01 7f 03 01 4e 55 4c 4c");
    greeting.resize(64, 0);
    greeting
}

/// A connection of `ours` that has received a libzmq greeting and a READY from a peer of
/// type `peer`, with its own output (greeting and READY) already taken.
pub fn ready_against_libzmq(ours: SocketType, peer: SocketType) -> Connection {
    let mut conn = Connection::new(ours, b"", None);
    let mut input = libzmq_greeting();
    input.extend_from_slice(&ready_command(peer.name()));
    let got = feed(&mut conn, &input).expect("handshake");
    assert_eq!(got.events, [Got::Ready]);
    take_output(&mut conn, &[]).unwrap();
    conn
}

/// A READY command carrying only `Socket-Type: name`, built by hand.
pub fn ready_command(name: &str) -> Vec<u8> {
    let mut body = b"\x05READY\x0bSocket-Type".to_vec();
    body.extend_from_slice(&(name.len() as u32).to_be_bytes());
    body.extend_from_slice(name.as_bytes());
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend_from_slice(&body);
    frame
}
