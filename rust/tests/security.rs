//! PLAIN and CURVE through whole connections: byte-exact vectors from the spec (computed
//! with libsodium and checked against libzmq), every handshake path, ZAP pauses, and the
//! rejections (wrong keys, replays, tampering) that must close a connection before
//! anything is delivered.

mod common;

use _core::connection::{Outgoing, Security};
use _core::error::code;
use _core::mechanism::crypto::SecretKey;
use _core::mechanism::{CurveClient, CurveServer, Mechanism};
use _core::wire::encoded;
use _core::{Connection, Error, SocketType};
use common::{feed, hex, take_output, ConnectionPair, Got};
use proptest::prelude::*;
use std::time::Duration;
use zeroize::Zeroizing;

/// spec §5.8: libzmq's documented test keys.
const CLIENT_PUBLIC: &str = "BB 88 47 1D 65 E2 65 9B 30 C5 5A 53 21 CE BB 5A AB 2B 70 A3 98 64 5C 26 DC A2 B2 FC B4 3F C5 18";
const CLIENT_SECRET: &str = "7B B8 64 B4 89 AF A3 67 1F BE 69 10 1F 94 B3 89 72 F2 48 16 DF B0 1B 51 65 6B 3F EC 8D FD 08 88";
const SERVER_PUBLIC: &str = "54 FC BA 24 E9 32 49 96 93 16 FB 61 7C 87 2B B0 C1 D1 FF 14 80 04 27 C5 94 CB FA CF 1B C2 D6 52";
const SERVER_SECRET: &str = "8E 0B DD 69 76 28 B9 1D 8F 24 55 87 EE 95 C5 B0 4D 48 96 3F 79 25 98 77 B4 9C D9 06 3A EA D3 B7";

fn key(text: &str) -> [u8; 32] {
    hex(text).try_into().expect("32 bytes")
}

/// Fixed transient secrets c' = 00..1f and s' = 20..3f (spec §5.8).
fn transient(first: u8) -> SecretKey {
    SecretKey::from_bytes(std::array::from_fn(|i| first + i as u8))
}

fn curve_client(socket_type: SocketType, server_public: &str) -> Connection {
    let client = CurveClient::new(
        socket_type,
        b"",
        SecretKey::from_bytes(key(CLIENT_SECRET)),
        key(server_public),
        transient(0x00),
    );
    Connection::with_mechanism(Mechanism::CurveClient(Box::new(client)), b"", None)
}

fn curve_server(socket_type: SocketType, zap: bool) -> Connection {
    let server = CurveServer::new(
        socket_type,
        b"",
        SecretKey::from_bytes(key(SERVER_SECRET)),
        transient(0x20),
        zap,
    );
    Connection::with_mechanism(Mechanism::CurveServer(Box::new(server)), b"", None)
}

fn secured(socket_type: SocketType, security: Security) -> Connection {
    Connection::with_security(socket_type, b"", None, security).unwrap()
}

fn msg(frames: &[&[u8]]) -> Vec<Vec<u8>> {
    frames.iter().map(|f| f.to_vec()).collect()
}

#[test]
fn curve_hello_is_the_spec_vector() {
    let mut client = curve_client(SocketType::Push, SERVER_PUBLIC);
    let mut greeting = vec![0; 64];
    greeting[..10].copy_from_slice(&hex("ff 00 00 00 00 00 00 00 01 7f"));
    greeting[10..17].copy_from_slice(b"\x03\x01CURVE");
    greeting[32] = 1; // as-server
    take_output(&mut client, &[]).unwrap();
    feed(&mut client, &greeting).unwrap();
    let hello = take_output(&mut client, &[]).unwrap();
    let mut expected = hex("04 c8 05 48 45 4c 4c 4f 01 00");
    expected.extend_from_slice(&[0; 72]);
    expected.extend(hex(
        "8f 40 c5 ad b6 8f 25 62 4a e5 b2 14 ea 76 7a 6e c9 4d 82 9d 3d 7b 5e 1a d1 ba 6f 3e 21 38 28 5f",
    ));
    expected.extend(hex("00 00 00 00 00 00 00 01"));
    expected.extend(hex(
        "78 49 0e 29 e5 e6 f0 89 ef 54 e4 f6 ad 14 33 8a 0a 01 ed 14 2e 6b 9c a1 36 bf a3 75 5d 99 0f 93 \
         b3 dc 26 29 85 1c d1 e5 0d 36 e9 8b 94 b8 d5 9c 54 0c ce 05 1b c8 64 07 46 07 19 4f d8 8d 7d 1e \
         20 52 29 6a ad 0f 7e 3c 35 9e e9 15 ac d5 4e ac",
    ));
    assert_eq!(hello, expected);
}

#[test]
fn curve_handshake_then_first_message_is_the_spec_vector() {
    let mut pair = ConnectionPair::of(
        curve_client(SocketType::Push, SERVER_PUBLIC),
        curve_server(SocketType::Pull, false),
    );
    pair.pump().unwrap();
    assert!(pair.a.is_ready() && pair.b.is_ready());
    assert_eq!(
        pair.b.peer_metadata().unwrap().socket_type,
        Some(SocketType::Push)
    );
    assert_eq!(
        pair.a.peer_metadata().unwrap().socket_type,
        Some(SocketType::Pull)
    );
    // The client's first MESSAGE carries nonce 3, sealed with beforenm(S', c').
    let wire = take_output(&mut pair.a, &[msg(&[b"Hello"])]).unwrap();
    let expected = hex("00 26 07 4d 45 53 53 41 47 45 00 00 00 00 00 00 00 03 \
         22 49 35 d9 64 d4 93 ee 70 1c 08 cb 4b de 4d 79 cf 20 31 d8 c2 f9");
    assert_eq!(wire, expected);
    let got = feed(&mut pair.b, &wire).unwrap();
    assert_eq!(got.messages, [msg(&[b"Hello"])]);
}

#[test]
fn curve_carries_messages_commands_and_big_frames_both_ways() {
    let server_secret = SecretKey::generate();
    let server_public = server_secret.public_key();
    let client = secured(
        SocketType::Dealer,
        Security::CurveClient {
            secret: SecretKey::generate(),
            server: server_public,
        },
    );
    let server = secured(
        SocketType::Router,
        Security::CurveServer {
            secret: server_secret,
            zap: false,
        },
    );
    let mut pair = ConnectionPair::of(client, server);
    pair.pump().unwrap();
    assert_eq!(pair.a_got.events, [Got::Ready]);
    assert_eq!(pair.b_got.events, [Got::Ready]);
    let big = vec![7u8; 3 << 20];
    let sent = [msg(&[b"id", b"", b"x"]), msg(&[&big]), msg(&[b""])];
    pair.send(&sent, &sent).unwrap();
    assert_eq!(pair.b_got.messages, sent);
    assert_eq!(pair.a_got.messages, sent);
    pair.a.send_ping(15).unwrap();
    pair.b.send_subscription(b"topic", true).unwrap();
    pair.pump().unwrap();
    assert!(pair.b_got.events.contains(&Got::Ping(15)));
    assert!(pair
        .a_got
        .events
        .contains(&Got::Subscribe(b"topic".to_vec())));
}

#[test]
fn curve_keeps_large_bodies_in_its_boxes_both_ways() {
    let server_secret = SecretKey::generate();
    let server_public = server_secret.public_key();
    let client = secured(
        SocketType::Dealer,
        Security::CurveClient {
            secret: SecretKey::generate(),
            server: server_public,
        },
    )
    .with_direct_bodies(1..=1 << 30)
    .with_bodies_apart(1);
    let server = secured(
        SocketType::Router,
        Security::CurveServer {
            secret: server_secret,
            zap: false,
        },
    )
    .with_direct_bodies(1..=1 << 30);
    let mut pair = ConnectionPair::of(client, server);
    pair.pump().unwrap();
    assert!(pair.a.can_send_messages() && !pair.a.sends_apart(1 << 20));
    assert!(pair
        .a
        .write_output(&mut [0; 64], [Outgoing::Header(1 << 20, false)])
        .is_err());
    let big = vec![7u8; 1 << 20];
    let sent = [msg(&[&big, b"x"])];
    // A box arrives in pieces: none of it is opened as a body of its own.
    let wire = take_output(&mut pair.a, &sent).unwrap();
    for piece in wire.chunks(1000) {
        pair.b.feed(piece, Duration::ZERO, &mut pair.b_got).unwrap();
        assert!(pair.b.open_body().is_none());
    }
    assert_eq!(pair.b_got.messages, sent);
    assert_eq!(pair.b_got.bodies_started, 0);
}

#[test]
fn curve_server_pauses_for_zap_and_sends_ready_once_accepted() {
    let mut pair = ConnectionPair::of(
        curve_client(SocketType::Req, SERVER_PUBLIC),
        curve_server(SocketType::Rep, true),
    );
    pair.pump().unwrap();
    assert_eq!(
        pair.b_got.events,
        [Got::Zap("CURVE".into(), vec![key(CLIENT_PUBLIC).to_vec()])]
    );
    assert!(!pair.a.is_ready() && !pair.b.is_ready());
    pair.b.zap_accepted(Duration::ZERO).unwrap();
    assert!(pair.b.is_ready());
    assert!(
        pair.b.zap_accepted(Duration::ZERO).is_err(),
        "one verdict per request"
    );
    pair.pump().unwrap();
    assert!(pair.a.is_ready());
}

#[test]
fn curve_zap_refusal_sends_error_in_the_clear() {
    let mut pair = ConnectionPair::of(
        curve_client(SocketType::Req, SERVER_PUBLIC),
        curve_server(SocketType::Rep, true),
    );
    pair.pump().unwrap();
    pair.b.send_error(b"400").unwrap();
    pair.pump().unwrap();
    assert_eq!(pair.a_got.events, [Got::Error(b"400".to_vec())]);
    assert!(pair.a.is_closed() && !pair.a.is_ready());
}

/// Feeds `data` and returns the protocol error code it caused.
fn code_of(conn: &mut Connection, data: &[u8]) -> u32 {
    let err = feed(conn, data).expect_err("must fail");
    err.protocol_code().expect("a peer fault")
}

#[test]
fn curve_wrong_server_key_fails_at_hello_without_error() {
    let other = SecretKey::generate().public_key();
    let mut client = Connection::with_security(
        SocketType::Push,
        b"",
        None,
        Security::CurveClient {
            secret: SecretKey::from_bytes(key(CLIENT_SECRET)),
            server: other,
        },
    )
    .unwrap();
    let mut server = curve_server(SocketType::Pull, false);
    let to_server = take_output(&mut client, &[]).unwrap();
    let to_client = take_output(&mut server, &[]).unwrap();
    feed(&mut client, &to_client).unwrap();
    let hello = take_output(&mut client, &[]).unwrap();
    let mut input = to_server;
    input.extend_from_slice(&hello);
    assert_eq!(code_of(&mut server, &input), code::CRYPTOGRAPHIC);
    // Nothing but the greeting went back: no WELCOME, no ERROR.
    assert!(server.pending_output().is_empty());
}

/// A client and server pumped up to the point where the server has sent WELCOME; returns
/// (client, server, client's HELLO bytes incl. greeting, client's INITIATE).
fn up_to_initiate() -> (Connection, Connection, Vec<u8>, Vec<u8>) {
    let mut client = curve_client(SocketType::Push, SERVER_PUBLIC);
    let mut server = curve_server(SocketType::Pull, false);
    let client_greeting = take_output(&mut client, &[]).unwrap();
    let server_greeting = take_output(&mut server, &[]).unwrap();
    feed(&mut client, &server_greeting).unwrap();
    let mut hello = client_greeting;
    hello.extend(take_output(&mut client, &[]).unwrap());
    feed(&mut server, &hello).unwrap();
    let welcome = take_output(&mut server, &[]).unwrap();
    feed(&mut client, &welcome).unwrap();
    let initiate = take_output(&mut client, &[]).unwrap();
    (client, server, hello, initiate)
}

#[test]
fn curve_replayed_hello_and_initiate_are_refused() {
    let (_, mut server, hello, _) = up_to_initiate();
    // A second HELLO on the same connection.
    assert_eq!(code_of(&mut server, &hello[64..]), code::UNEXPECTED_COMMAND);

    // An INITIATE replayed onto a new connection: its cookie is not that server's.
    let (_, _, _, initiate) = up_to_initiate();
    let (_, mut other_server, _, _) = up_to_initiate();
    assert_eq!(code_of(&mut other_server, &initiate), code::CRYPTOGRAPHIC);

    // And twice on its own connection.
    let (_, mut server, _, initiate) = up_to_initiate();
    feed(&mut server, &initiate).unwrap();
    assert!(server.is_ready());
    assert_eq!(code_of(&mut server, &initiate), code::UNEXPECTED_COMMAND);
}

#[test]
fn curve_flipped_bit_in_a_message_ends_the_connection_after_earlier_ones() {
    let mut pair = ConnectionPair::of(
        curve_client(SocketType::Push, SERVER_PUBLIC),
        curve_server(SocketType::Pull, false),
    );
    pair.pump().unwrap();
    let good = take_output(&mut pair.a, &[msg(&[b"first"])]).unwrap();
    let mut bad = take_output(&mut pair.a, &[msg(&[b"second"])]).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    let mut input = good;
    input.extend_from_slice(&bad);
    let mut got = common::Recorder::default();
    let err = pair.b.feed(&input, Duration::ZERO, &mut got).unwrap_err();
    assert_eq!(err.protocol_code(), Some(code::CRYPTOGRAPHIC));
    assert_eq!(got.messages, [msg(&[b"first"])]);
    assert_eq!(feed(&mut pair.b, b"").unwrap_err(), Error::Closed);
}

#[test]
fn curve_replayed_message_is_refused() {
    let mut pair = ConnectionPair::of(
        curve_client(SocketType::Push, SERVER_PUBLIC),
        curve_server(SocketType::Pull, false),
    );
    pair.pump().unwrap();
    let wire = take_output(&mut pair.a, &[msg(&[b"once"])]).unwrap();
    assert_eq!(
        feed(&mut pair.b, &wire).unwrap().messages,
        [msg(&[b"once"])]
    );
    assert_eq!(code_of(&mut pair.b, &wire), code::INVALID_SEQUENCE);
}

#[test]
fn null_client_to_curve_server_is_a_mechanism_mismatch() {
    let mut null = Connection::new(SocketType::Push, b"", None);
    let mut server = curve_server(SocketType::Pull, false);
    let greeting = take_output(&mut null, &[]).unwrap();
    assert_eq!(code_of(&mut server, &greeting), code::MECHANISM_MISMATCH);
}

#[test]
fn plain_exchange_with_zap_and_libzmq_bytes() {
    let client = secured(
        SocketType::Req,
        Security::PlainClient {
            username: b"admin".to_vec(),
            password: Zeroizing::new(b"secret".to_vec()),
        },
    );
    let server = secured(SocketType::Rep, Security::PlainServer);
    let mut pair = ConnectionPair::of(client, server);
    pair.pump().unwrap();
    assert_eq!(
        pair.b_got.events,
        [Got::Zap(
            "PLAIN".into(),
            vec![b"admin".to_vec(), b"secret".to_vec()]
        )]
    );
    pair.b.zap_accepted(Duration::ZERO).unwrap();
    pair.pump().unwrap();
    assert!(pair.a.is_ready() && pair.b.is_ready());
    pair.send(&[msg(&[b"", b"hi"])], &[]).unwrap();
    assert_eq!(pair.b_got.messages, [msg(&[b"", b"hi"])]);
}

#[test]
fn null_with_zap_waits_for_the_verdict() {
    let client = Connection::new(SocketType::Push, b"", None);
    let server = secured(SocketType::Pull, Security::Null { zap: true });
    let mut pair = ConnectionPair::of(client, server);
    pair.pump().unwrap();
    assert_eq!(pair.b_got.events, [Got::Zap("NULL".into(), vec![])]);
    assert!(!pair.a.is_ready());
    pair.b.zap_accepted(Duration::ZERO).unwrap();
    assert!(pair.b.is_ready(), "the peer's READY was already in");
    pair.pump().unwrap();
    assert!(pair.a.is_ready());
}

/// Connections at each handshake stage, for the hostile-input property.
fn stages() -> Vec<Connection> {
    let (client, server, _, _) = up_to_initiate();
    let mut fresh_server = curve_server(SocketType::Pull, true);
    let mut greeted_server = curve_server(SocketType::Pull, true);
    let mut client_greeting =
        take_output(&mut curve_client(SocketType::Push, SERVER_PUBLIC), &[]).unwrap();
    feed(&mut greeted_server, &client_greeting).unwrap();
    take_output(&mut fresh_server, &[]).unwrap();
    client_greeting.clear();
    let mut plain_server = secured(SocketType::Pull, Security::PlainServer);
    let plain_greeting = take_output(
        &mut secured(
            SocketType::Push,
            Security::PlainClient {
                username: vec![],
                password: Zeroizing::default(),
            },
        ),
        &[],
    )
    .unwrap();
    feed(&mut plain_server, &plain_greeting).unwrap();
    let mut plain_client = secured(
        SocketType::Push,
        Security::PlainClient {
            username: b"u".to_vec(),
            password: Zeroizing::new(b"p".to_vec()),
        },
    );
    feed(
        &mut plain_client,
        &take_output(&mut secured(SocketType::Pull, Security::PlainServer), &[]).unwrap(),
    )
    .unwrap();
    let mut ready = ConnectionPair::of(
        curve_client(SocketType::Push, SERVER_PUBLIC),
        curve_server(SocketType::Pull, false),
    );
    ready.pump().unwrap();
    vec![
        fresh_server,
        greeted_server,
        client,
        server,
        plain_server,
        plain_client,
        ready.a,
        ready.b,
    ]
}

proptest! {
    #[test]
    fn random_bytes_at_any_stage_never_panic(
        stage in 0usize..8,
        frames in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..400)),
            1..4,
        ),
    ) {
        let mut conn = stages().swap_remove(stage);
        let mut input = Vec::new();
        for (command, body) in frames {
            // Well-framed garbage reaches the mechanisms; unframed garbage the deframer.
            let flags = if command { 0x04 } else { 0x00 };
            if body.len() > 255 {
                input.push(flags | 0x02);
                input.extend_from_slice(&(body.len() as u64).to_be_bytes());
            } else {
                input.extend_from_slice(&[flags, body.len() as u8]);
            }
            input.extend_from_slice(&body);
        }
        let _ = feed(&mut conn, &input);
        let _ = take_output(&mut conn, &[]);
    }
}

/// A CURVE client and server (no timers) taken to the point where the server has sent its
/// WELCOME at time zero and the client has answered: the INITIATE, not yet delivered.
fn curve_up_to_initiate() -> (Connection, Vec<u8>) {
    let server_secret = SecretKey::generate();
    let mut client = secured(
        SocketType::Push,
        Security::CurveClient {
            secret: SecretKey::generate(),
            server: server_secret.public_key(),
        },
    );
    let mut server = secured(
        SocketType::Pull,
        Security::CurveServer {
            secret: server_secret,
            zap: false,
        },
    );
    let server_greeting = take_output(&mut server, &[]).unwrap();
    let client_greeting = take_output(&mut client, &[]).unwrap();
    feed(&mut server, &client_greeting).unwrap();
    feed(&mut client, &server_greeting).unwrap();
    assert_eq!(server.next_deadline(), None, "no cookie key before HELLO");
    let hello = take_output(&mut client, &[]).unwrap();
    feed(&mut server, &hello).unwrap();
    let welcome = take_output(&mut server, &[]).unwrap();
    feed(&mut client, &welcome).unwrap();
    let initiate = take_output(&mut client, &[]).unwrap();
    (server, initiate)
}

#[test]
fn curve_cookie_key_is_discarded_after_sixty_seconds() {
    let sixty = Duration::from_secs(60);
    let (mut server, initiate) = curve_up_to_initiate();
    // The WELCOME's cookie key has a deadline although no handshake limit is set.
    assert_eq!(server.next_deadline(), Some(sixty));
    assert_eq!(server.on_timeout(sixty - Duration::from_millis(1)), None);
    assert_eq!(server.next_deadline(), Some(sixty));
    // At 60 s the key goes; the connection itself waits on (libzmq has no such timer).
    assert_eq!(server.on_timeout(sixty), None);
    assert!(!server.is_closed());
    assert_eq!(server.next_deadline(), None);
    // The client's INITIATE, genuine but late, now fails as an unopenable cookie.
    let mut got = common::Recorder::default();
    let err = server
        .feed(&initiate, sixty + Duration::from_secs(1), &mut got)
        .unwrap_err();
    assert_eq!(err.protocol_code(), Some(code::CRYPTOGRAPHIC));
    assert!(got.events.is_empty() && server.is_closed());
}

#[test]
fn curve_cookie_key_dies_with_a_valid_initiate_in_time() {
    let (mut server, initiate) = curve_up_to_initiate();
    let mut got = common::Recorder::default();
    server
        .feed(&initiate, Duration::from_secs(59), &mut got)
        .unwrap();
    assert_eq!(got.events, [Got::Ready]);
    assert_eq!(
        server.next_deadline(),
        None,
        "no cookie timer after INITIATE"
    );
}

#[test]
fn any_input_while_zap_is_pending_fails_curve_and_plain_servers_as_libzmq() {
    // libzmq's servers in `waiting_for_zap_reply` fail every message, command or data,
    // ERROR included, with ZMTP_UNSPECIFIED.
    let ping = hex("04 07 04 50 49 4e 47 00 00");
    let error = hex("04 0a 05 45 52 52 4f 52 03 34 30 30");
    let data = hex("00 02 68 69");
    for input in [&ping, &error, &data] {
        let mut curve = ConnectionPair::of(
            curve_client(SocketType::Push, SERVER_PUBLIC),
            curve_server(SocketType::Pull, true),
        );
        curve.pump().unwrap();
        assert!(matches!(curve.b_got.events[..], [Got::Zap(..)]));
        assert_eq!(code_of(&mut curve.b, input), code::ZMTP_UNSPECIFIED);
        assert!(curve.b.is_closed() && !curve.b.is_ready());

        let mut plain = ConnectionPair::of(
            secured(
                SocketType::Push,
                Security::PlainClient {
                    username: b"u".to_vec(),
                    password: Zeroizing::new(b"p".to_vec()),
                },
            ),
            secured(SocketType::Pull, Security::PlainServer),
        );
        plain.pump().unwrap();
        assert!(matches!(plain.b_got.events[..], [Got::Zap(..)]));
        assert_eq!(code_of(&mut plain.b, input), code::ZMTP_UNSPECIFIED);
        assert!(plain.b.is_closed());
    }
}

#[test]
fn null_server_awaiting_zap_takes_the_peer_ready_and_nothing_more() {
    // libzmq's NULL mechanism takes the peer's READY while its ZAP request is pending, and
    // fails any later command as unexpected.
    let client = Connection::new(SocketType::Push, b"", None);
    let server = secured(SocketType::Pull, Security::Null { zap: true });
    let mut pair = ConnectionPair::of(client, server);
    pair.pump().unwrap();
    assert_eq!(pair.b_got.events, [Got::Zap("NULL".into(), vec![])]);
    let ping = hex("04 07 04 50 49 4e 47 00 00");
    assert_eq!(code_of(&mut pair.b, &ping), code::UNEXPECTED_COMMAND);
}

#[test]
fn curve_encrypts_a_shared_encoding_frame_by_frame() {
    let mut pair = ConnectionPair::of(
        curve_client(SocketType::Pub, SERVER_PUBLIC),
        curve_server(SocketType::Sub, false),
    );
    pair.pump().unwrap();
    assert!(pair.a.is_ready() && pair.b.is_ready());
    let big = vec![3u8; 300];
    let bodies: [&[u8]; 3] = [b"topic", b"", &big];
    let mut shared = vec![0; encoded::len(bodies.iter().map(|body| body.len()))];
    encoded::write(bodies.iter().copied(), &mut shared);
    assert!(!pair.a.frames_in_clear());
    let len = pair.a.encoded_wire_len(&shared);
    assert!(len > shared.len(), "each frame is sealed");
    let mut wire = vec![0; len];
    let written = pair
        .a
        .write_output(&mut wire, [Outgoing::Encoded(&shared)])
        .unwrap();
    assert_eq!(written, len);
    let got = feed(&mut pair.b, &wire).unwrap();
    assert_eq!(got.messages, [msg(&bodies)]);
}
