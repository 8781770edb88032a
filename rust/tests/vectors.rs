//! Byte-exact vectors from the spec (`shared/spec/ZMTP.md`, many captured from libzmq 4.3.5),
//! hand-written libzmq byte streams, and every state transition and error path of a
//! connection.

mod common;

use std::time::Duration;

use _core::error::{code, ApiMisuse, InvalidFrame, PeerMisbehaved};
use _core::wire::z85;
use _core::{Connection, Error, SocketType};
use common::*;

// ---------------------------------------------------------------------------------------
// Greeting and handshake bytes

#[test]
fn greeting_matches_libzmq() {
    let mut conn = Connection::new(SocketType::Push, b"", None);
    assert_eq!(take_output(&mut conn, &[]).unwrap(), libzmq_greeting());
    // Taken once.
    assert_eq!(take_output(&mut conn, &[]).unwrap(), b"");
}

#[test]
fn greeting_padding_counts_the_routing_id_as_libzmq_does() {
    let mut conn = Connection::new(SocketType::Router, b"srv", None);
    let greeting = take_output(&mut conn, &[]).unwrap();
    assert_eq!(greeting[..10], hex("ff 00 00 00 00 00 00 00 04 7f"));
}

/// Feeds a libzmq greeting to a fresh connection of `ours` and returns what it queued after
/// its own greeting.
fn handshake_output(ours: SocketType, routing_id: &[u8]) -> Vec<u8> {
    let mut conn = Connection::new(ours, routing_id, None);
    take_output(&mut conn, &[]).unwrap();
    assert_eq!(feed(&mut conn, &libzmq_greeting()).unwrap().events, []);
    take_output(&mut conn, &[]).unwrap()
}

#[test]
fn dealer_ready_matches_rfc37_example() {
    let ready = hex(
        "04 29 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 06 44 45 41 4c 45 52 \
         08 49 64 65 6e 74 69 74 79 00 00 00 00",
    );
    assert_eq!(ready.len(), 2 + 41);
    assert_eq!(handshake_output(SocketType::Dealer, b""), ready);
}

#[test]
fn req_ready_matches_libzmq() {
    let ready = hex(
        "04 26 05 52 45 41 44 59 0b 53 6f 63 6b 65 74 2d 54 79 70 65 00 00 00 03 52 45 51 08 49 \
         64 65 6e 74 69 74 79 00 00 00 00",
    );
    assert_eq!(handshake_output(SocketType::Req, b""), ready);
}

#[test]
fn router_ready_carries_its_routing_id_and_sub_ready_none() {
    let mut ready = b"\x04\x2c\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER".to_vec();
    ready.extend_from_slice(b"\x08Identity\x00\x00\x00\x03srv");
    assert_eq!(handshake_output(SocketType::Router, b"srv"), ready);
    // PUB, SUB, PUSH, PULL, PAIR, REP, XPUB, XSUB send Socket-Type only, even with an id.
    assert_eq!(
        handshake_output(SocketType::Sub, b"id"),
        ready_command("SUB")
    );
    assert_eq!(ready_command("SUB")[..2], [0x04, 0x19]);
}

#[test]
fn handshake_against_libzmq_exposes_peer_metadata() {
    let mut conn = Connection::new(SocketType::Router, b"", None);
    assert_eq!(conn.peer_minor(), None);
    assert!(conn.peer_metadata().is_none());
    let mut input = libzmq_greeting();
    // Captured libzmq ROUTER READY with routing id "srv" and metadata X-Foo:bar (spec §3.2).
    let body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity\x00\x00\x00\x03srv\x05X-Foo\x00\x00\x00\x03bar";
    input.extend_from_slice(&[0x04, body.len() as u8]);
    input.extend_from_slice(body);
    let got = feed(&mut conn, &input).unwrap();
    assert_eq!(got.events, [Got::Ready]);
    assert!(conn.is_ready() && conn.can_send_messages() && !conn.is_closed());
    assert_eq!(conn.peer_minor(), Some(1));
    let peer = conn.peer_metadata().unwrap();
    assert_eq!(peer.socket_type, Some(SocketType::Router));
    assert_eq!(peer.routing_id, b"srv");
    let names: Vec<&str> = peer
        .properties
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(names, ["Socket-Type", "Identity", "X-Foo"]);
    assert_eq!(peer.properties[2].1, b"bar");
}

#[test]
fn ready_waits_for_the_peers_ready_only() {
    let mut conn = Connection::new(SocketType::Pull, b"", None);
    feed(&mut conn, &libzmq_greeting()).unwrap();
    assert!(!conn.is_ready() && !conn.can_send_messages());
    assert_eq!(conn.send_ping(1), Err(ApiMisuse::NotReady.into()));
    assert_eq!(
        conn.send_subscription(b"", true),
        Err(ApiMisuse::NotReady.into())
    );
    let got = feed(&mut conn, &ready_command("PUSH")).unwrap();
    assert_eq!(got.events, [Got::Ready]);
    assert_eq!(
        conn.peer_metadata().unwrap().socket_type,
        Some(SocketType::Push)
    );
}

#[test]
fn missing_socket_type_is_accepted_like_libzmq() {
    let mut conn = Connection::new(SocketType::Pair, b"", None);
    let mut input = libzmq_greeting();
    input.extend_from_slice(b"\x04\x06\x05READY");
    assert_eq!(feed(&mut conn, &input).unwrap().events, [Got::Ready]);
    assert_eq!(conn.peer_metadata().unwrap().socket_type, None);
}

#[test]
fn higher_versions_are_spoken_to_as_3_1() {
    let mut conn = Connection::new(SocketType::Pair, b"", None);
    let mut greeting = libzmq_greeting();
    greeting[10] = 4;
    greeting[11] = 0;
    feed(&mut conn, &greeting).unwrap();
    assert_eq!(conn.peer_minor(), Some(1));
}

#[test]
fn bytes_wanted_follows_greeting_and_frames() {
    let mut conn = Connection::new(SocketType::Pull, b"", None);
    assert_eq!(conn.bytes_wanted(), 64);
    feed(&mut conn, &libzmq_greeting()[..10]).unwrap();
    assert_eq!(conn.bytes_wanted(), 54);
    let mut input = libzmq_greeting()[10..].to_vec();
    input.extend_from_slice(&ready_command("PUSH"));
    input.extend_from_slice(&hex("02 00 00 00 00 00 00 01 2c 00 01"));
    feed(&mut conn, &input).unwrap();
    assert_eq!(conn.bytes_wanted(), 298);
}

// ---------------------------------------------------------------------------------------
// Commands after the handshake

#[test]
fn ping_matches_libzmq() {
    let mut conn = ready_against_libzmq(SocketType::Dealer, SocketType::Router);
    conn.send_ping(15).unwrap();
    assert_eq!(
        take_output(&mut conn, &[]).unwrap(),
        hex("04 07 04 50 49 4e 47 00 0f")
    );
}

#[test]
fn ping_is_answered_with_pong_echoing_context() {
    let mut conn = ready_against_libzmq(SocketType::Dealer, SocketType::Router);
    let got = feed(&mut conn, &hex("04 07 04 50 49 4e 47 00 0f")).unwrap();
    assert_eq!(got.events, [Got::Ping(15)]);
    assert_eq!(
        take_output(&mut conn, &[]).unwrap(),
        hex("04 05 04 50 4f 4e 47")
    );
    // A context is echoed, cut to 16 bytes.
    let mut ping = b"\x04\x1b\x04PING\x00\x00".to_vec();
    ping.extend_from_slice(&[7; 20]);
    assert_eq!(feed(&mut conn, &ping).unwrap().events, [Got::Ping(0)]);
    let mut pong = b"\x04\x15\x04PONG".to_vec();
    pong.extend_from_slice(&[7; 16]);
    assert_eq!(take_output(&mut conn, &[]).unwrap(), pong);
    // A PONG needs nothing.
    assert_eq!(
        feed(&mut conn, &hex("04 05 04 50 4f 4e 47"))
            .unwrap()
            .events,
        []
    );
    assert_eq!(take_output(&mut conn, &[]).unwrap(), b"");
}

const SUBSCRIBE_TOPIC: &str = "04 0f 09 53 55 42 53 43 52 49 42 45 74 6f 70 69 63";
const CANCEL_TOPIC: &str = "04 0c 06 43 41 4e 43 45 4c 74 6f 70 69 63";

#[test]
fn subscriptions_to_3_1_peers_are_commands() {
    let mut conn = ready_against_libzmq(SocketType::Sub, SocketType::Pub);
    conn.send_subscription(b"topic", true).unwrap();
    conn.send_subscription(b"topic", false).unwrap();
    let mut expected = hex(SUBSCRIBE_TOPIC);
    expected.extend_from_slice(&hex(CANCEL_TOPIC));
    assert_eq!(take_output(&mut conn, &[]).unwrap(), expected);
}

#[test]
fn subscriptions_to_3_0_peers_are_messages() {
    let mut conn = Connection::new(SocketType::Sub, b"", None);
    let mut input = libzmq_greeting();
    input[11] = 0;
    input.extend_from_slice(&ready_command("PUB"));
    feed(&mut conn, &input).unwrap();
    assert_eq!(conn.peer_minor(), Some(0));
    take_output(&mut conn, &[]).unwrap();
    conn.send_subscription(b"topic", true).unwrap();
    conn.send_subscription(b"topic", false).unwrap();
    assert_eq!(
        take_output(&mut conn, &[]).unwrap(),
        hex("00 06 01 74 6f 70 69 63 00 06 00 74 6f 70 69 63")
    );
    // A 255-byte topic makes a 256-byte body: a proper LONG frame (not libzmq's 3.0 bug).
    conn.send_subscription(&[b'x'; 255], true).unwrap();
    assert_eq!(
        take_output(&mut conn, &[]).unwrap()[..10],
        hex("02 00 00 00 00 00 00 01 00 01")
    );
}

#[test]
fn subscription_commands_become_events_and_3_0_ones_stay_messages() {
    let mut conn = ready_against_libzmq(SocketType::Xpub, SocketType::Sub);
    let mut input = hex(SUBSCRIBE_TOPIC);
    input.extend_from_slice(&hex(CANCEL_TOPIC));
    input.extend_from_slice(&hex("00 06 01 74 6f 70 69 63"));
    let got = feed(&mut conn, &input).unwrap();
    assert_eq!(
        got.events,
        [
            Got::Subscribe(b"topic".to_vec()),
            Got::Cancel(b"topic".to_vec())
        ]
    );
    assert_eq!(got.messages, [vec![b"\x01topic".to_vec()]]);
}

/// `\x04JOIN` + `tv` and `\x05LEAVE` + `tv` as command frames (libzmq's dish session).
const JOIN_TV: &str = "04 07 04 4a 4f 49 4e 74 76";
const LEAVE_TV: &str = "04 08 05 4c 45 41 56 45 74 76";

#[test]
fn dish_subscriptions_are_join_and_leave_commands() {
    let mut conn = ready_against_libzmq(SocketType::Dish, SocketType::Radio);
    conn.send_subscription(b"tv", true).unwrap();
    conn.send_subscription(b"tv", false).unwrap();
    let mut expected = hex(JOIN_TV);
    expected.extend_from_slice(&hex(LEAVE_TV));
    assert_eq!(take_output(&mut conn, &[]).unwrap(), expected);
}

#[test]
fn radio_reports_join_and_leave_and_others_ignore_them() {
    let mut input = hex(JOIN_TV);
    input.extend_from_slice(&hex(LEAVE_TV));
    let mut radio = ready_against_libzmq(SocketType::Radio, SocketType::Dish);
    assert_eq!(
        feed(&mut radio, &input).unwrap().events,
        [Got::Join(b"tv".to_vec()), Got::Leave(b"tv".to_vec())]
    );
    // libzmq's other sessions drop JOIN/LEAVE like any unknown command.
    let mut xpub = ready_against_libzmq(SocketType::Xpub, SocketType::Sub);
    let got = feed(&mut xpub, &input).unwrap();
    assert_eq!((got.events.len(), got.messages.len()), (0, 0));
    // A group above ZMQ_GROUP_MAX_LENGTH ends a RADIO's connection.
    let mut long = vec![0x04, 0x00, 0x04];
    long.extend_from_slice(b"JOIN");
    long.extend_from_slice(&[b'g'; 256]);
    long[1] = (long.len() - 2) as u8;
    let mut frame = vec![0x06];
    frame.extend_from_slice(&(long.len() as u64 - 2).to_be_bytes());
    frame.extend_from_slice(&long[2..]);
    assert!(feed(&mut radio, &frame).is_err());
}

#[test]
fn draft_types_handshake_only_with_their_partners() {
    for (a, b) in [
        (SocketType::Client, SocketType::Server),
        (SocketType::Radio, SocketType::Dish),
        (SocketType::Scatter, SocketType::Gather),
        (SocketType::Peer, SocketType::Peer),
        (SocketType::Channel, SocketType::Channel),
    ] {
        let pair = ConnectionPair::ready(a, b);
        assert_eq!(pair.a.peer_metadata().unwrap().socket_type, Some(b));
    }
    let mut pair = ConnectionPair::new(SocketType::Client, SocketType::Client);
    assert!(pair.pump().is_err());
}

#[test]
fn error_command_matches_libzmq_and_closes() {
    let mut conn = Connection::new(SocketType::Rep, b"", None);
    take_output(&mut conn, &[]).unwrap();
    conn.send_error(b"400").unwrap();
    assert!(conn.is_closed());
    assert_eq!(
        take_output(&mut conn, &[]).unwrap(),
        hex("04 0a 05 45 52 52 4f 52 03 34 30 30")
    );
    assert_eq!(take_output(&mut conn, &[]).unwrap(), b"");
    assert_eq!(conn.send_error(b"again"), Err(ApiMisuse::Closed.into()));
    assert_eq!(conn.send_ping(0), Err(ApiMisuse::Closed.into()));
    assert_eq!(
        feed(&mut conn, &libzmq_greeting()).unwrap_err(),
        Error::Closed
    );
}

#[test]
fn error_reason_is_cut_to_255_bytes() {
    let mut conn = Connection::new(SocketType::Rep, b"", None);
    take_output(&mut conn, &[]).unwrap();
    conn.send_error(&[b'r'; 300]).unwrap();
    let out = take_output(&mut conn, &[]).unwrap();
    assert_eq!(out[..10], hex("06 00 00 00 00 00 00 01 06 05"));
    assert_eq!(out[15], 255);
    assert_eq!(out.len(), 9 + 6 + 1 + 255);
}

#[test]
fn unknown_commands_and_a_second_ready_are_discarded_after_the_handshake() {
    let mut conn = ready_against_libzmq(SocketType::Pull, SocketType::Push);
    let mut input = ready_command("PUSH");
    input.extend_from_slice(b"\x04\x06\x05HELLO");
    // MORE on a command is ignored.
    input.extend_from_slice(b"\x05\x05\x04JOIN");
    input.extend_from_slice(b"\x00\x01x");
    let got = feed(&mut conn, &input).unwrap();
    assert_eq!(
        (got.events, got.messages),
        (vec![], vec![vec![b"x".to_vec()]])
    );
    assert!(!conn.is_closed());
}

// ---------------------------------------------------------------------------------------
// Messages

#[test]
fn req_message_frames_match_libzmq() {
    let mut conn = ready_against_libzmq(SocketType::Req, SocketType::Rep);
    let out = take_output(&mut conn, &[vec![b"".to_vec(), b"hi".to_vec()]]).unwrap();
    assert_eq!(out, hex("01 00 00 02 68 69"));
    let got = feed(&mut conn, &hex("01 00 00 02 68 69")).unwrap();
    assert_eq!(got.messages, [vec![b"".to_vec(), b"hi".to_vec()]]);
}

#[test]
fn long_frames_match_libzmq() {
    let mut conn = ready_against_libzmq(SocketType::Push, SocketType::Pull);
    let body = vec![0x5a; 300];
    let out = take_output(&mut conn, &[vec![body.clone()]]).unwrap();
    assert_eq!(out[..9], hex("02 00 00 00 00 00 00 01 2c"));
    assert_eq!(out[9..], body);
    let mut conn = ready_against_libzmq(SocketType::Pull, SocketType::Push);
    assert_eq!(feed(&mut conn, &out).unwrap().messages, [vec![body]]);
}

#[test]
fn libzmq_rep_conversation() {
    // What a libzmq REP sends on connect, in one burst: greeting, READY, then a reply.
    let mut stream = libzmq_greeting();
    stream.extend_from_slice(&ready_command("REP"));
    stream.extend_from_slice(&hex("01 00 00 05 77 6f 72 6c 64"));
    let mut req = Connection::new(SocketType::Req, b"", None);
    let mut out = take_output(&mut req, &[]).unwrap();
    let got = feed(&mut req, &stream).unwrap();
    assert_eq!(got.events, [Got::Ready]);
    assert_eq!(got.messages, [vec![b"".to_vec(), b"world".to_vec()]]);
    out.extend_from_slice(
        &take_output(&mut req, &[vec![b"".to_vec(), b"hello".to_vec()]]).unwrap(),
    );
    let mut expected = libzmq_greeting();
    expected.extend_from_slice(&handshake_output(SocketType::Req, b""));
    expected.extend_from_slice(&hex("01 00 00 05 68 65 6c 6c 6f"));
    assert_eq!(out, expected);
}

#[test]
fn commands_between_frames_do_not_break_a_message() {
    let mut conn = ready_against_libzmq(SocketType::Xpub, SocketType::Xsub);
    let mut input = hex("01 01 61");
    input.extend_from_slice(&hex("04 07 04 50 49 4e 47 00 01"));
    input.extend_from_slice(&hex("01 00"));
    input.extend_from_slice(&hex(SUBSCRIBE_TOPIC));
    input.extend_from_slice(&hex("00 01 62"));
    let got = feed(&mut conn, &input).unwrap();
    assert_eq!(
        got.messages,
        [vec![b"a".to_vec(), b"".to_vec(), b"b".to_vec()]]
    );
    assert_eq!(
        got.events,
        [Got::Ping(1), Got::Subscribe(b"topic".to_vec())]
    );
}

#[test]
fn pair_exchanges_messages_and_commands() {
    let mut pair = ConnectionPair::ready(SocketType::Dealer, SocketType::Router);
    let big = vec![1; 70_000];
    let a_msgs = vec![
        vec![b"".to_vec(), b"x".to_vec()],
        vec![big.clone(), vec![], vec![2; 256]],
    ];
    let b_msgs = vec![vec![vec![3; 255]]];
    pair.send(&a_msgs, &b_msgs).unwrap();
    assert_eq!(pair.b_got.messages, a_msgs);
    assert_eq!(pair.a_got.messages, b_msgs);
    pair.a.send_ping(100).unwrap();
    pair.pump().unwrap();
    assert_eq!(pair.b_got.events.last(), Some(&Got::Ping(100)));
    // After the handshake an ERROR closes its sender only: the receiver ignores it.
    pair.a.send_error(b"bye").unwrap();
    pair.pump().unwrap();
    assert!(!pair.b_got.events.contains(&Got::Error(b"bye".to_vec())));
    assert!(pair.a.is_closed() && !pair.b.is_closed());
    assert!(
        pair.b.is_ready(),
        "the handshake stays finished after closing"
    );
}

#[test]
fn messages_are_refused_before_the_handshake() {
    let mut conn = Connection::new(SocketType::Push, b"", None);
    let err = take_output(&mut conn, &[vec![b"x".to_vec()]]).unwrap_err();
    assert_eq!(err, ApiMisuse::NotReady.into());
    assert_eq!(err.protocol_code(), None);
    // Nothing was taken: the greeting still comes out.
    assert_eq!(take_output(&mut conn, &[]).unwrap().len(), 64);
}

// ---------------------------------------------------------------------------------------
// Errors

/// Feeds `input` to a fresh connection of `ours` and returns the error.
fn fails(ours: SocketType, input: &[u8]) -> Error {
    let mut conn = Connection::new(ours, b"", None);
    let err = feed(&mut conn, input).unwrap_err();
    assert!(conn.is_closed());
    assert_eq!(
        feed(&mut conn, b"").unwrap_err(),
        Error::Closed,
        "feed after close"
    );
    err
}

/// A libzmq greeting and READY from `peer`, followed by `rest`.
fn after_handshake(peer: &str, rest: &[u8]) -> Vec<u8> {
    let mut input = libzmq_greeting();
    input.extend_from_slice(&ready_command(peer));
    input.extend_from_slice(rest);
    input
}

#[test]
fn bad_signature_is_refused_at_the_first_byte() {
    let err = fails(SocketType::Pull, b"\x00");
    assert_eq!(err, PeerMisbehaved::BadSignature.into());
    assert_eq!(err.protocol_code(), Some(code::ZMTP_UNSPECIFIED));
}

#[test]
fn zmtp_1_0_signature_is_refused_at_byte_10() {
    let mut greeting = libzmq_greeting();
    greeting[9] = 0x7e;
    let mut conn = Connection::new(SocketType::Pull, b"", None);
    feed(&mut conn, &greeting[..9]).unwrap();
    assert_eq!(
        feed(&mut conn, &greeting[9..10]).unwrap_err(),
        PeerMisbehaved::UnversionedPeer.into()
    );
}

#[test]
fn zmtp_2_peer_is_refused_at_byte_11() {
    let mut greeting = libzmq_greeting();
    greeting[10] = 2;
    assert_eq!(
        fails(SocketType::Pull, &greeting[..11]),
        PeerMisbehaved::UnsupportedVersion(2).into()
    );
}

#[test]
fn mechanism_mismatch() {
    let mut greeting = libzmq_greeting();
    greeting[12..17].copy_from_slice(b"PLAIN");
    let err = fails(SocketType::Pull, &greeting);
    assert_eq!(
        err,
        PeerMisbehaved::MechanismMismatch("PLAIN".into()).into()
    );
    assert_eq!(err.protocol_code(), Some(code::MECHANISM_MISMATCH));
    // All 20 bytes count: garbage after the NUL is a mismatch too.
    let mut greeting = libzmq_greeting();
    greeting[31] = b'X';
    assert_eq!(
        fails(SocketType::Pull, &greeting).protocol_code(),
        Some(code::MECHANISM_MISMATCH)
    );
}

#[test]
fn incompatible_socket_type_closes_without_error_command() {
    let mut conn = Connection::new(SocketType::Push, b"", None);
    take_output(&mut conn, &[]).unwrap();
    let err = feed(&mut conn, &after_handshake("PUSH", b"")).unwrap_err();
    assert_eq!(
        err,
        PeerMisbehaved::IncompatibleSocketType {
            ours: "PUSH",
            peer: "PUSH".into()
        }
        .into()
    );
    assert_eq!(err.protocol_code(), Some(code::INVALID_METADATA));
    // Only our READY is queued: no ERROR, as libzmq.
    assert_eq!(take_output(&mut conn, &[]).unwrap(), ready_command("PUSH"));
    assert_eq!(
        fails(SocketType::Pull, &after_handshake("STREAM", b"")).protocol_code(),
        Some(code::INVALID_METADATA)
    );
}

#[test]
fn malformed_ready_metadata() {
    for body in [
        &b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH\x01"[..], // stray byte left over
        b"\x05READY\x0bSocket-Type\x00\x00\x00\x05PUSH",          // value truncated
        b"\x05READY\x0bSocket-Type\x00\x00",                      // value length truncated
        b"\x05READY\x0bSocket",                                   // name truncated
        b"\x05READY\x00\x00\x00\x00\x00",                         // empty name
    ] {
        let mut input = libzmq_greeting();
        input.extend_from_slice(&[0x04, body.len() as u8]);
        input.extend_from_slice(body);
        let err = fails(SocketType::Pull, &input);
        assert!(
            matches!(err, Error::InvalidFrame(InvalidFrame::InvalidMetadata(_))),
            "{body:?}"
        );
        assert_eq!(err.protocol_code(), Some(code::INVALID_METADATA));
    }
}

#[test]
fn data_or_other_commands_before_ready() {
    let mut input = libzmq_greeting();
    input.extend_from_slice(b"\x00\x01x");
    let err = fails(SocketType::Pull, &input);
    assert_eq!(err, PeerMisbehaved::DataBeforeReady.into());
    assert_eq!(err.protocol_code(), Some(code::UNEXPECTED_COMMAND));
    let mut input = libzmq_greeting();
    input.extend_from_slice(&hex("04 07 04 50 49 4e 47 00 0f"));
    assert_eq!(
        fails(SocketType::Pull, &input),
        PeerMisbehaved::UnexpectedCommand("PING".into()).into()
    );
}

#[test]
fn malformed_commands() {
    let err = fails(
        SocketType::Pull,
        &after_handshake("PUSH", b"\x04\x03\x05REA"),
    );
    assert_eq!(err, InvalidFrame::MalformedCommand.into());
    assert_eq!(
        err.protocol_code(),
        Some(code::MALFORMED_COMMAND_UNSPECIFIED)
    );
    assert_eq!(
        fails(SocketType::Pull, &after_handshake("PUSH", b"\x04\x00")),
        InvalidFrame::MalformedCommand.into()
    );
    assert_eq!(
        fails(
            SocketType::Pull,
            &after_handshake("PUSH", b"\x04\x06\x04PING\x00")
        ),
        InvalidFrame::MalformedCommand.into()
    );
    // A malformed ERROR is refused during the handshake (after it, ERROR is not parsed).
    let mut input = libzmq_greeting();
    input.extend_from_slice(b"\x04\x08\x05ERROR\x05a");
    let err = fails(SocketType::Pull, &input);
    assert_eq!(err.protocol_code(), Some(code::MALFORMED_COMMAND_ERROR));
    // Malformed during the handshake too.
    let mut input = libzmq_greeting();
    input.extend_from_slice(b"\x04\x02\x09S");
    assert_eq!(
        fails(SocketType::Pull, &input),
        InvalidFrame::MalformedCommand.into()
    );
}

#[test]
fn oversized_frames() {
    let mut conn = Connection::new(SocketType::Pull, b"", Some(64));
    let big = [0x00, 65];
    let err = feed(&mut conn, &after_handshake("PUSH", &big)).unwrap_err();
    assert_eq!(
        err,
        InvalidFrame::TooLarge {
            size: 65,
            limit: 64
        }
        .into()
    );
    assert_eq!(err.protocol_code(), Some(code::ZMTP_UNSPECIFIED));
    // The limit applies as soon as the header is in, and to commands too (as libzmq).
    let mut conn = Connection::new(SocketType::Pull, b"", Some(10));
    let mut input = libzmq_greeting();
    input.extend_from_slice(&ready_command("PUSH")[..2]);
    assert!(matches!(
        feed(&mut conn, &input),
        Err(Error::InvalidFrame(InvalidFrame::TooLarge { .. }))
    ));
}

#[test]
fn huge_claimed_sizes() {
    let overflow = hex("02 80 00 00 00 00 00 00 00");
    let err = fails(SocketType::Pull, &after_handshake("PUSH", &overflow));
    assert_eq!(err, InvalidFrame::SizeOverflow(1 << 63).into());
    // The largest legal size is accepted and merely waited for; nothing is allocated for it.
    let mut conn = Connection::new(SocketType::Pull, b"", None);
    feed(
        &mut conn,
        &after_handshake("PUSH", &hex("02 7f ff ff ff ff ff ff ff 01 02")),
    )
    .unwrap();
    assert_eq!(conn.bytes_wanted(), i64::MAX as usize - 2);
}

#[test]
fn peer_error_during_handshake() {
    let mut conn = Connection::new(SocketType::Pull, b"", None);
    let mut input = libzmq_greeting();
    input.extend_from_slice(&hex("04 0a 05 45 52 52 4f 52 03 34 30 30"));
    // Whatever follows the ERROR is ignored.
    input.extend_from_slice(&ready_command("PUSH"));
    let got = feed(&mut conn, &input).unwrap();
    assert_eq!(got.events, [Got::Error(b"400".to_vec())]);
    assert!(conn.is_closed() && !conn.is_ready() && !conn.can_send_messages());
    assert_eq!(feed(&mut conn, b"x").unwrap_err(), Error::Closed);
    assert_eq!(Error::Closed.protocol_code(), Some(code::ZMTP_UNSPECIFIED));
}

#[test]
fn peer_error_after_the_handshake_is_ignored_as_by_libzmq() {
    let mut conn = ready_against_libzmq(SocketType::Pull, SocketType::Push);
    let mut input = hex("00 01 61");
    input.extend_from_slice(&hex("04 08 05 45 52 52 4f 52 01 21"));
    // Malformed, and still ignored: libzmq does not parse commands it does not act on.
    input.extend_from_slice(b"\x04\x08\x05ERROR\x05a");
    input.extend_from_slice(&hex("00 01 62"));
    let got = feed(&mut conn, &input).unwrap();
    assert_eq!(got.messages, [vec![b"a".to_vec()], vec![b"b".to_vec()]]);
    assert!(got.events.is_empty());
    assert!(!conn.is_closed() && conn.is_ready());
}

#[test]
fn messages_before_a_fault_stay_delivered() {
    let mut conn = ready_against_libzmq(SocketType::Pull, SocketType::Push);
    let mut got = Recorder::default();
    let err = conn
        .feed(&hex("00 01 61 01 01 62 04 00"), Duration::ZERO, &mut got)
        .unwrap_err();
    assert_eq!(err, InvalidFrame::MalformedCommand.into());
    assert_eq!(got.messages, [vec![b"a".to_vec()]]);
}

// ---------------------------------------------------------------------------------------
// Z85 (spec §8, keys from §5.8)

#[test]
fn z85_vectors() {
    let hello = hex("86 4F D2 6F B5 59 F7 5B");
    assert_eq!(z85::encode(&hello).unwrap(), b"HelloWorld");
    assert_eq!(z85::decode(b"HelloWorld").unwrap(), hello);
    for (key_hex, text) in [
        (
            "BB88471D65E2659B30C55A5321CEBB5AAB2B70A398645C26DCA2B2FCB43FC518",
            "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
        ),
        (
            "7BB864B489AFA3671FBE69101F94B38972F24816DFB01B51656B3FEC8DFD0888",
            "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs",
        ),
        (
            "54FCBA24E93249969316FB617C872BB0C1D1FF14800427C594CBFACF1BC2D652",
            "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
        ),
        (
            "8E0BDD697628B91D8F245587EE95C5B04D48963F79259877B49CD9063AEAD3B7",
            "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
        ),
    ] {
        let key: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&key_hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert_eq!(z85::encode(&key).unwrap(), text.as_bytes());
        assert_eq!(z85::decode(text.as_bytes()).unwrap(), key);
    }
}

#[test]
fn unwritten_pongs_coalesce_into_the_latest() {
    let mut conn = ready_against_libzmq(SocketType::Dealer, SocketType::Router);
    // A flood of PINGs while nothing is written leaves one PONG, echoing the newest.
    let mut flood = Vec::new();
    for context in [b"a", b"b", b"c"] {
        flood.extend_from_slice(b"\x04\x08\x04PING\x00\x00");
        flood.extend_from_slice(context);
    }
    let got = feed(&mut conn, &flood).unwrap();
    assert_eq!(got.events, [Got::Ping(0), Got::Ping(0), Got::Ping(0)]);
    assert_eq!(take_output(&mut conn, &[]).unwrap(), b"\x04\x06\x04PONGc");
    // Output queued after a PONG keeps it: the next PONG goes after that output.
    feed(&mut conn, b"\x04\x08\x04PING\x00\x00x").unwrap();
    conn.send_ping(0).unwrap();
    feed(&mut conn, b"\x04\x08\x04PING\x00\x00y").unwrap();
    let mut expected = b"\x04\x06\x04PONGx".to_vec();
    expected.extend_from_slice(&hex("04 07 04 50 49 4e 47 00 00"));
    expected.extend_from_slice(b"\x04\x06\x04PONGy");
    assert_eq!(take_output(&mut conn, &[]).unwrap(), expected);
}
