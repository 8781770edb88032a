//! zmtrio's sans-IO ZMTP 3.1 engine, built as the Python extension `zmtrio._core`.
//!
//! ```text
//!  python/zmtrio (trio)        owns sockets, tasks, the clock, routing
//!      │ bytes in ──► Connection::feed ──► messages onto a Pipe, events
//!      │ bytes out ◄── Connection::write_output ◄── messages from a Pipe
//!      ▼
//!  python.rs                   the only PyO3 file: conversion to and from Python objects
//!  connection.rs               state machine: greeting → handshake → ready → closed
//!  timers.rs                   handshake deadline, heartbeats, TTL: decided from `now`
//!  assembly.rs, batch.rs       frames → messages onto a Pipe; messages → one write's batch
//!  mechanism/                  NULL, PLAIN, CURVE handshakes, CURVE boxes, peer metadata
//!  wire/                       greeting, frames, commands, Z85: byte codecs
//!  pipe.rs, socket_type.rs     message queues; socket types and who may talk to whom
//!  ring.rs                     lock-free SPSC ring: inproc pipes between two threads
//!  subscriptions.rs, fanout.rs a publisher's topic trie; one message to all matching pipes
//!  error.rs                    errors by fault, with libzmq's protocol error codes
//! ```
//!
//! Nothing here does I/O, spawns threads or reads a clock: the caller feeds the bytes that
//! arrived and writes the bytes it is handed, passes the time (`now`) in, and sleeps until
//! the deadline the connection names (`next_deadline`), then calls `on_timeout(now)`. The Python layer crosses into Rust once per
//! buffer, never once per frame; frame bodies are copied once on the way in (straight from
//! the received bytes into Python `bytes`) and once on the way out (into one output buffer).
//!
//! Wire facts follow the project's spec (`shared/spec/ZMTP.md`), itself RFC 23/37 corrected
//! by libzmq's behaviour where the two differ.

#![warn(missing_docs)]
// unsafe only where Rust meets C: the PyO3 binding and libsodium (mechanism/crypto.rs).
#![cfg_attr(not(feature = "python"), deny(unsafe_code))]

pub mod assembly;
pub mod batch;
pub mod connection;
pub mod error;
pub mod fanout;
pub mod mechanism;
pub mod pipe;
pub mod ring;
pub mod socket_type;
pub mod subscriptions;
pub mod timers;
pub mod wire;

#[cfg(feature = "python")]
mod python;

pub use connection::{Connection, Event, Sink};
pub use error::Error;
pub use pipe::Pipe;
pub use socket_type::SocketType;
pub use timers::{Expired, TimerSettings};
