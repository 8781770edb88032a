//! Property tests: any chunking of a valid stream decodes the same; random bytes never panic.

mod common;

use std::time::Duration;

use _core::wire::command::Command;
use _core::wire::frame;
use _core::{Connection, Error, SocketType};
use common::*;
use proptest::prelude::*;

/// A command the peer may send after the handshake, with the event it must cause.
#[derive(Debug, Clone)]
enum PeerCommand {
    Ping(u16, Vec<u8>),
    Pong(Vec<u8>),
    Subscribe(Vec<u8>),
    Cancel(Vec<u8>),
    Unknown(Vec<u8>),
}

impl PeerCommand {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            PeerCommand::Ping(ttl, context) => Command::Ping { ttl: *ttl, context },
            PeerCommand::Pong(context) => Command::Pong { context },
            PeerCommand::Subscribe(topic) => Command::Subscribe { topic },
            PeerCommand::Cancel(topic) => Command::Cancel { topic },
            PeerCommand::Unknown(data) => Command::Unknown {
                name: b"HELLO",
                data,
            },
        }
        .encode(out)
    }

    fn expected_event(&self) -> Option<Got> {
        match self {
            PeerCommand::Ping(ttl, _) => Some(Got::Ping(*ttl)),
            PeerCommand::Subscribe(topic) => Some(Got::Subscribe(topic.clone())),
            PeerCommand::Cancel(topic) => Some(Got::Cancel(topic.clone())),
            PeerCommand::Pong(_) | PeerCommand::Unknown(_) => None,
        }
    }
}

fn bytes(len: impl Into<prop::collection::SizeRange>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), len)
}

/// Frame bodies around the short/long boundary, empty ones, and a few larger ones.
fn frame_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![]),
        bytes(255),
        bytes(256),
        bytes(0..40),
        bytes(0..3000)
    ]
}

fn peer_command() -> impl Strategy<Value = PeerCommand> {
    prop_oneof![
        (any::<u16>(), bytes(0..=16)).prop_map(|(ttl, ctx)| PeerCommand::Ping(ttl, ctx)),
        bytes(0..=16).prop_map(PeerCommand::Pong),
        bytes(0..300).prop_map(PeerCommand::Subscribe),
        bytes(0..20).prop_map(PeerCommand::Cancel),
        bytes(0..20).prop_map(PeerCommand::Unknown),
    ]
}

/// A message whose frames may each be followed by a command.
type Traffic = Vec<Vec<(Vec<u8>, Option<PeerCommand>)>>;

fn traffic() -> impl Strategy<Value = Traffic> {
    let frame = (frame_body(), prop::option::weighted(0.2, peer_command()));
    prop::collection::vec(prop::collection::vec(frame, 1..5), 0..25)
}

/// A libzmq XSUB's whole stream (greeting, READY, `traffic`), and the messages and events
/// our XPUB must report for it.
fn peer_stream(traffic: &Traffic) -> (Vec<u8>, Vec<Message>, Vec<Got>) {
    let mut stream = libzmq_greeting();
    stream.extend_from_slice(&ready_command("XSUB"));
    let mut messages = Vec::new();
    let mut events = vec![Got::Ready];
    for message in traffic {
        for (i, (body, command)) in message.iter().enumerate() {
            let flags = if i + 1 < message.len() {
                frame::MORE
            } else {
                0
            };
            frame::encode(flags, &[body], &mut stream);
            if let Some(command) = command {
                command.encode(&mut stream);
                events.extend(command.expected_event());
            }
        }
        messages.push(message.iter().map(|(body, _)| body.clone()).collect());
    }
    (stream, messages, events)
}

/// Feeds `stream` cut into pieces of the given sizes (cycled), recording everything.
fn feed_chunked(conn: &mut Connection, stream: &[u8], sizes: &[usize]) -> Result<Recorder, Error> {
    let mut got = Recorder::default();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        conn.feed(chunk, Duration::ZERO, &mut got)?;
        rest = tail;
    }
    Ok(got)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_chunking_decodes_the_same(traffic in traffic(), sizes in prop::collection::vec(1usize..400, 1..40)) {
        let (stream, messages, events) = peer_stream(&traffic);
        let mut conn = Connection::new(SocketType::Xpub, b"", None);
        let got = feed_chunked(&mut conn, &stream, &sizes).unwrap();
        prop_assert_eq!(got.messages, messages);
        prop_assert_eq!(got.events, events);
        prop_assert_eq!(conn.bytes_wanted(), 0);
        prop_assert!(!conn.is_closed());
    }

    #[test]
    fn two_connections_exchange_any_messages(
        a_msgs in prop::collection::vec(prop::collection::vec(frame_body(), 1..4), 0..10),
        b_msgs in prop::collection::vec(prop::collection::vec(frame_body(), 1..4), 0..10),
    ) {
        let mut pair = ConnectionPair::ready(SocketType::Dealer, SocketType::Dealer);
        pair.send(&a_msgs, &b_msgs).unwrap();
        prop_assert_eq!(pair.b_got.messages, a_msgs);
        prop_assert_eq!(pair.a_got.messages, b_msgs);
    }

    #[test]
    fn random_bytes_never_panic(
        prefix in prop_oneof![Just(0), Just(1), Just(2)],
        noise in bytes(0..2000),
        sizes in prop::collection::vec(1usize..300, 1..20),
        max_msg_size in prop::option::of(0u64..5000),
    ) {
        // Random bytes from the start, after a valid greeting, or after the handshake.
        let mut stream = match prefix {
            0 => vec![],
            1 => libzmq_greeting(),
            _ => {
                let mut s = libzmq_greeting();
                s.extend_from_slice(&ready_command("PUSH"));
                s
            }
        };
        stream.extend_from_slice(&noise);
        let mut conn = Connection::new(SocketType::Pull, b"", max_msg_size);
        if feed_chunked(&mut conn, &stream, &sizes).is_err() {
            prop_assert!(conn.is_closed());
            prop_assert_eq!(feed(&mut conn, b"x").unwrap_err(), Error::Closed);
        }
        // Whatever happened, output can still be taken.
        take_output(&mut conn, &[]).unwrap();
    }
}

/// One operation on a publisher's subscription index.
#[derive(Debug, Clone)]
enum SubscriptionOp {
    Add(Vec<u8>, u32),
    Remove(Vec<u8>, u32),
    RemovePeer(u32, bool),
    Match(Vec<u8>),
}

/// Topics and frames from a three-byte alphabet, so that prefixes overlap often.
fn short_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..3, 0..5)
}

fn subscription_op() -> impl Strategy<Value = SubscriptionOp> {
    prop_oneof![
        (short_bytes(), 0u32..4).prop_map(|(topic, peer)| SubscriptionOp::Add(topic, peer)),
        (short_bytes(), 0u32..4).prop_map(|(topic, peer)| SubscriptionOp::Remove(topic, peer)),
        (0u32..4, any::<bool>()).prop_map(|(peer, last)| SubscriptionOp::RemovePeer(peer, last)),
        proptest::collection::vec(0u8..3, 0..7).prop_map(SubscriptionOp::Match),
    ]
}

proptest! {
    /// The trie answers as the obvious model does (topic -> set of peers, prefix match),
    /// whatever the order of subscribes, cancels and departures.
    #[test]
    fn subscription_trie_agrees_with_a_map_of_sets(
        ops in proptest::collection::vec(subscription_op(), 0..60)
    ) {
        use _core::subscriptions::{Removed, Subscriptions};
        use std::collections::{BTreeMap, BTreeSet};

        let mut trie = Subscriptions::new();
        let mut model: BTreeMap<Vec<u8>, BTreeSet<u32>> = BTreeMap::new();
        let mut matched = Vec::new();
        for op in ops {
            match op {
                SubscriptionOp::Add(topic, peer) => {
                    let first = !model.contains_key(&topic);
                    model.entry(topic.clone()).or_default().insert(peer);
                    prop_assert_eq!(trie.add(&topic, peer), first);
                }
                SubscriptionOp::Remove(topic, peer) => {
                    let held = model.get_mut(&topic).is_some_and(|peers| peers.remove(&peer));
                    let expected = match model.get(&topic) {
                        _ if !held => Removed::NotFound,
                        Some(peers) if peers.is_empty() => {
                            model.remove(&topic);
                            Removed::LastRemoved
                        }
                        _ => Removed::Remaining,
                    };
                    prop_assert_eq!(trie.remove(&topic, peer), expected);
                }
                SubscriptionOp::RemovePeer(peer, only_last) => {
                    let mut expected = Vec::new();
                    for (topic, peers) in model.iter_mut() {
                        if peers.remove(&peer) && (!only_last || peers.is_empty()) {
                            expected.push(topic.clone());
                        }
                    }
                    model.retain(|_, peers| !peers.is_empty());
                    prop_assert_eq!(trie.remove_peer(peer, only_last), expected);
                }
                SubscriptionOp::Match(frame) => {
                    let expected: BTreeSet<u32> = model
                        .iter()
                        .filter(|(topic, _)| frame.starts_with(topic))
                        .flat_map(|(_, peers)| peers.iter().copied())
                        .collect();
                    trie.matching(&frame, &mut matched);
                    prop_assert_eq!(matched.len(), expected.len(), "each peer once");
                    prop_assert_eq!(matched.iter().copied().collect::<BTreeSet<_>>(), expected);
                }
            }
            prop_assert_eq!(trie.len(), model.len());
        }
    }
}
