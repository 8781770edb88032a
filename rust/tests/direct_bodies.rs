//! Large bodies received straight into their final buffer ([`Connection::with_direct_bodies`]):
//! whatever the chunking, and whether the driver writes a body itself or feeds it, the
//! messages are the same as without; limits hold before anything is allocated.

mod common;

use std::time::Duration;

use _core::connection::{AFTER_BODY_READ_SIZE, READ_SIZE};
use _core::error::{ApiMisuse, InvalidFrame};
use _core::wire::command::Command;
use _core::wire::frame;
use _core::{Connection, Error, SocketType};
use common::*;
use proptest::prelude::*;

/// The direct-body lengths these tests use: small, so that many frames cross them.
const MIN: usize = 100;
const MAX: usize = 100_000;

/// A PULL connection (bodies of `MIN` bytes or more received directly) whose handshake
/// with a libzmq PUSH is done.
fn pull(max_msg_size: Option<u64>) -> (Connection, Recorder) {
    let mut conn =
        Connection::new(SocketType::Pull, b"", max_msg_size).with_direct_bodies(MIN..=MAX);
    let mut got = Recorder::default();
    let mut handshake = libzmq_greeting();
    handshake.extend_from_slice(&ready_command("PUSH"));
    conn.feed(&handshake, Duration::ZERO, &mut got).unwrap();
    assert!(conn.is_ready());
    (conn, got)
}

/// The wire bytes of `messages`.
fn stream_of(messages: &[Message]) -> Vec<u8> {
    let mut stream = Vec::new();
    for message in messages {
        for (i, body) in message.iter().enumerate() {
            let flags = if i + 1 < message.len() {
                frame::MORE
            } else {
                0
            };
            frame::encode(flags, &[body], &mut stream);
        }
    }
    stream
}

/// A body whose bytes differ from one another, so a byte in the wrong place shows.
fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + len) as u8).collect()
}

/// Delivers `stream` cut into reads of the given sizes (cycled), as a driver does: the
/// part of a read that falls in an open body is written straight into the body's buffer
/// when `direct` says so (cycled) and fed otherwise; the rest is fed.
fn deliver(
    conn: &mut Connection,
    got: &mut Recorder,
    stream: &[u8],
    sizes: &[usize],
    direct: &[bool],
) -> Result<(), Error> {
    let mut rest = stream;
    let mut direct = direct.iter().cycle();
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            return Ok(());
        }
        let (mut read, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        if let Some(open) = conn.open_body() {
            if *direct.next().unwrap_or(&false) {
                let (part, after) = read.split_at(open.wanted().min(read.len()));
                got.body[open.filled..open.filled + part.len()].copy_from_slice(part);
                conn.body_written(part.len(), Duration::ZERO, got)?;
                read = after;
            }
        }
        if !read.is_empty() {
            conn.feed(read, Duration::ZERO, got)?;
        }
    }
    Ok(())
}

/// Messages of one to four frames, bodies below, at and well above `MIN`.
fn messages() -> impl Strategy<Value = Vec<Message>> {
    let body = prop_oneof![
        (0usize..40).prop_map(body),
        Just(body(MIN - 1)),
        Just(body(MIN)),
        (MIN..3000).prop_map(body),
    ];
    prop::collection::vec(prop::collection::vec(body, 1..5), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_chunking_and_any_mix_of_writes_and_feeds_decode_the_same(
        messages in messages(),
        sizes in prop::collection::vec(1usize..700, 1..30),
        direct in prop::collection::vec(any::<bool>(), 1..8),
    ) {
        let (mut conn, mut got) = pull(None);
        deliver(&mut conn, &mut got, &stream_of(&messages), &sizes, &direct).unwrap();
        prop_assert_eq!(got.messages, messages);
        prop_assert!(conn.open_body().is_none());
        prop_assert_eq!(conn.bytes_wanted(), 0);
    }
}

#[test]
fn a_large_body_opens_at_its_header_and_closes_on_its_last_byte() {
    let (mut conn, mut got) = pull(None);
    let big = body(5000);
    let stream = stream_of(&[vec![big.clone()]]);
    // Header and 100 bytes of body in the first read: the body opens with them in it.
    conn.feed(&stream[..109], Duration::ZERO, &mut got).unwrap();
    let open = conn.open_body().expect("a body is open");
    assert_eq!((open.len, open.filled, open.wanted()), (5000, 100, 4900));
    assert_eq!(got.bodies_started, 1);
    assert_eq!(
        conn.next_read_size(),
        0,
        "the driver receives into the body"
    );
    assert_eq!(conn.bytes_wanted(), 4900);
    // The rest written directly, in two reads, the last one ending the frame exactly.
    got.body[100..3000].copy_from_slice(&stream[109..3009]);
    conn.body_written(2900, Duration::ZERO, &mut got).unwrap();
    assert!(got.messages.is_empty());
    got.body[3000..].copy_from_slice(&stream[3009..]);
    conn.body_written(2000, Duration::ZERO, &mut got).unwrap();
    assert_eq!(got.messages, [vec![big]]);
    assert!(conn.open_body().is_none());
    assert_eq!(conn.next_read_size(), AFTER_BODY_READ_SIZE);
    // The next feed goes back to the usual read size.
    conn.feed(&stream_of(&[vec![b"x".to_vec()]]), Duration::ZERO, &mut got)
        .unwrap();
    assert_eq!(conn.next_read_size(), READ_SIZE);
}

#[test]
fn a_header_split_across_reads_opens_the_body_with_nothing_in_it() {
    let (mut conn, mut got) = pull(None);
    let big = body(MIN * 3);
    let stream = stream_of(&[vec![big.clone()]]);
    for byte in &stream[..8] {
        conn.feed(&[*byte], Duration::ZERO, &mut got).unwrap();
        assert!(conn.open_body().is_none());
    }
    conn.feed(&stream[8..9], Duration::ZERO, &mut got).unwrap();
    let open = conn
        .open_body()
        .expect("the ninth header byte opens the body");
    assert_eq!((open.filled, open.len), (0, MIN * 3));
    got.body.copy_from_slice(&stream[9..]);
    conn.body_written(MIN * 3, Duration::ZERO, &mut got)
        .unwrap();
    assert_eq!(got.messages, [vec![big]]);
}

#[test]
fn a_frame_that_arrives_whole_is_not_opened() {
    let (mut conn, mut got) = pull(None);
    let messages = vec![vec![body(MIN * 4)], vec![body(MIN)]];
    conn.feed(&stream_of(&messages), Duration::ZERO, &mut got)
        .unwrap();
    assert_eq!(got.bodies_started, 0);
    assert_eq!(got.messages, messages);
}

#[test]
fn large_and_small_frames_mix_in_one_message() {
    let (mut conn, mut got) = pull(None);
    let messages = vec![
        vec![
            b"head".to_vec(),
            body(MIN * 20),
            b"".to_vec(),
            body(MIN * 7),
            b"tail".to_vec(),
        ],
        vec![body(MIN * 9)],
        vec![b"small".to_vec()],
    ];
    let stream = stream_of(&messages);
    deliver(&mut conn, &mut got, &stream, &[64, 1, 9, 500], &[true]).unwrap();
    assert_eq!(got.messages, messages);
    assert_eq!(got.bodies_started, 3);
}

#[test]
fn max_msg_size_refuses_the_header_before_any_body_is_made() {
    let (mut conn, mut got) = pull(Some(1000));
    let stream = stream_of(&[vec![body(1001)]]);
    assert_eq!(
        conn.feed(&stream[..20], Duration::ZERO, &mut got),
        Err(InvalidFrame::TooLarge {
            size: 1001,
            limit: 1000
        }
        .into())
    );
    assert_eq!(got.bodies_started, 0);
    assert!(conn.is_closed());
    // At the limit the body is received directly.
    let (mut conn, mut got) = pull(Some(1000));
    conn.feed(
        &stream_of(&[vec![body(1000)]])[..20],
        Duration::ZERO,
        &mut got,
    )
    .unwrap();
    assert_eq!(conn.open_body().map(|open| open.len), Some(1000));
}

#[test]
fn a_lying_header_makes_no_body_above_the_memory_ceiling() {
    let mut conn = Connection::new(SocketType::Pull, b"", None)
        .with_memory_ceiling(1 << 20)
        .with_direct_bodies(MIN..=MAX);
    let mut got = Recorder::default();
    let mut stream = libzmq_greeting();
    stream.extend_from_slice(&ready_command("PUSH"));
    stream.push(frame::LONG);
    stream.extend_from_slice(&(1u64 << 40).to_be_bytes());
    assert!(conn.feed(&stream, Duration::ZERO, &mut got).is_err());
    assert_eq!(got.bodies_started, 0);
}

#[test]
fn commands_are_never_opened() {
    let (mut conn, mut got) = pull(None);
    let topic = body(MIN * 5);
    let mut stream = Vec::new();
    Command::Subscribe { topic: &topic }.encode(&mut stream);
    for piece in stream.chunks(30) {
        conn.feed(piece, Duration::ZERO, &mut got).unwrap();
        assert!(conn.open_body().is_none());
    }
    assert_eq!(got.bodies_started, 0);
}

#[test]
fn writes_beyond_the_open_body_are_refused() {
    let (mut conn, mut got) = pull(None);
    assert_eq!(
        conn.body_written(1, Duration::ZERO, &mut got),
        Err(ApiMisuse::NoOpenBody.into())
    );
    let stream = stream_of(&[vec![body(MIN * 2)]]);
    conn.feed(&stream[..9], Duration::ZERO, &mut got).unwrap();
    assert_eq!(
        conn.body_written(MIN * 2 + 1, Duration::ZERO, &mut got),
        Err(ApiMisuse::NoOpenBody.into())
    );
}

#[test]
fn frames_are_not_opened_before_the_handshake_is_done() {
    // READY and the start of a large frame in one read: the frame is buffered as before.
    let mut conn = Connection::new(SocketType::Pull, b"", None).with_direct_bodies(MIN..=MAX);
    let mut got = Recorder::default();
    let big = body(MIN * 3);
    let mut stream = libzmq_greeting();
    stream.extend_from_slice(&ready_command("PUSH"));
    let handshake_len = stream.len();
    stream.extend_from_slice(&stream_of(&[vec![big.clone()], vec![body(MIN * 2)]]));
    conn.feed(&stream[..handshake_len + 50], Duration::ZERO, &mut got)
        .unwrap();
    assert!(conn.is_ready() && conn.open_body().is_none());
    // The next frame, once ready, is opened.
    deliver(
        &mut conn,
        &mut got,
        &stream[handshake_len + 50..],
        &[280, 30],
        &[true],
    )
    .unwrap();
    assert_eq!(got.bodies_started, 1);
    assert_eq!(got.messages, [vec![big], vec![body(MIN * 2)]]);
}

#[test]
fn a_body_above_the_direct_range_is_buffered_as_it_arrives() {
    let (mut conn, mut got) = pull(None);
    let huge = body(MAX + 1);
    let stream = stream_of(&[vec![huge.clone()]]);
    let mut arrived = 0;
    for piece in stream.chunks(4096) {
        conn.feed(piece, Duration::ZERO, &mut got).unwrap();
        arrived += piece.len();
        assert!(conn.open_body().is_none());
        assert!(conn.buffered_capacity() <= 2 * (arrived + frame::MAX_RESERVE_AHEAD));
    }
    assert_eq!(got.bodies_started, 0);
    assert_eq!(got.messages, [vec![huge]]);
}
