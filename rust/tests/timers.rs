//! Time in the core: two connections pumped in memory on a fake clock. The handshake
//! deadline, heartbeats, the heartbeat timeout and the peer's TTL are all decided by the
//! connection from the `now` it is given (spec §11, libzmq's stream engine).

mod common;

use std::time::Duration;

use _core::{Connection, Expired, SocketType, TimerSettings};
use common::*;

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// libzmq-unit timer settings: handshake, interval, timeout, TTL (milliseconds).
fn timers(handshake: i64, ivl: i64, timeout: i64, ttl: i64) -> TimerSettings {
    TimerSettings::from_millis(handshake, ivl, timeout, ttl)
}

/// Handshakes `pair` at time zero and takes both sides' output.
fn ready(a: TimerSettings, b: TimerSettings) -> ConnectionPair {
    let mut pair = ConnectionPair::with_timers(SocketType::Dealer, a, SocketType::Router, b);
    pair.pump().expect("handshake");
    assert!(pair.a.is_ready() && pair.b.is_ready());
    pair
}

#[test]
fn stalled_handshake_expires_and_closes_the_connection() {
    // The peer sends part of its greeting and stalls.
    let mut conn =
        Connection::new(SocketType::Push, b"", None).with_timers(timers(500, 0, -1, 0), ms(10_000));
    conn.feed(
        &libzmq_greeting()[..20],
        ms(10_100),
        &mut Recorder::default(),
    )
    .unwrap();
    assert_eq!(conn.next_deadline(), Some(ms(10_500)));
    assert_eq!(conn.on_timeout(ms(10_499)), None);
    assert_eq!(conn.on_timeout(ms(10_500)), Some(Expired::Handshake));
    assert!(conn.is_closed());
    assert_eq!(conn.next_deadline(), None);
}

#[test]
fn a_handshake_in_time_clears_its_deadline() {
    let mut pair = ConnectionPair::with_timers(
        SocketType::Push,
        timers(500, 0, -1, 0),
        SocketType::Pull,
        timers(500, 0, -1, 0),
    );
    assert_eq!(pair.a.next_deadline(), Some(ms(500)));
    pair.now = ms(400);
    pair.pump().unwrap();
    assert_eq!(pair.a.next_deadline(), None);
    assert_eq!(pair.a.on_timeout(ms(600)), None);
    assert!(!pair.a.is_closed());
}

#[test]
fn no_timer_options_no_deadline() {
    let pair = ready(TimerSettings::default(), TimerSettings::default());
    assert_eq!(pair.a.next_deadline(), None);
    assert_eq!(pair.b.next_deadline(), None);
}

#[test]
fn silent_peer_is_dropped_a_timeout_after_the_ping() {
    let mut pair = ready(timers(0, 100, 300, 0), TimerSettings::default());
    assert_eq!(pair.a.next_deadline(), Some(ms(100)));
    assert_eq!(pair.a.on_timeout(ms(100)), None);
    // The PING is queued: the peer never gets it (it went silent).
    let ping = take_output(&mut pair.a, &[]).unwrap();
    assert_eq!(&ping[..], &hex("04 07 04 50 49 4e 47 00 00")[..]);
    assert_eq!(pair.a.on_timeout(ms(200)), None); // the next PING; still waiting
    assert_eq!(pair.a.next_deadline(), Some(ms(300)));
    assert_eq!(pair.a.on_timeout(ms(300)), None);
    assert_eq!(pair.a.next_deadline(), Some(ms(400)));
    assert_eq!(pair.a.on_timeout(ms(400)), Some(Expired::Heartbeat));
    assert!(pair.a.is_closed());
}

#[test]
fn pong_resets_the_clock() {
    let mut pair = ready(timers(0, 100, 300, 0), TimerSettings::default());
    for tick in 1..=20 {
        pair.now = ms(tick * 100);
        assert_eq!(pair.a.on_timeout(pair.now), None, "tick {tick}");
        pair.pump().unwrap(); // PING out, PONG back
    }
    assert!(!pair.a.is_closed());
    assert_eq!(
        pair.b_got
            .events
            .iter()
            .filter(|e| matches!(e, Got::Ping(0)))
            .count(),
        20
    );
    // Once the peer stops answering, the timeout runs from the first unanswered PING.
    assert_eq!(pair.a.on_timeout(ms(2_100)), None);
    assert_eq!(pair.a.on_timeout(ms(2_399)), None);
    assert_eq!(pair.a.on_timeout(ms(2_400)), Some(Expired::Heartbeat));
}

#[test]
fn peer_requested_ttl_drops_a_silent_peer() {
    // a pings every 100 ms announcing a 1 s TTL; b has no heartbeat of its own.
    let mut pair = ready(timers(0, 100, -1, 1_000), TimerSettings::default());
    assert_eq!(pair.b.next_deadline(), None);
    pair.now = ms(100);
    pair.a.on_timeout(pair.now);
    pair.pump().unwrap();
    assert_eq!(pair.b_got.events.last(), Some(&Got::Ping(10)));
    // b now expects traffic within the TTL of the last bytes it got.
    assert_eq!(pair.b.next_deadline(), Some(ms(1_100)));
    pair.now = ms(600);
    pair.send(&[vec![b"alive".to_vec()]], &[]).unwrap(); // any traffic counts
    assert_eq!(pair.b.next_deadline(), Some(ms(1_600)));
    assert_eq!(pair.b.on_timeout(ms(1_599)), None);
    assert_eq!(pair.b.on_timeout(ms(1_600)), Some(Expired::PeerTtl));
    assert!(pair.b.is_closed());
}

#[test]
fn our_ttl_is_announced_in_tenths_of_a_second() {
    let mut pair = ready(timers(0, 50, -1, 2_599), TimerSettings::default());
    pair.now = ms(50);
    pair.a.on_timeout(pair.now);
    pair.pump().unwrap();
    assert_eq!(pair.b_got.events.last(), Some(&Got::Ping(25)));
}

#[test]
fn a_closed_connection_has_no_timers() {
    let mut pair = ready(timers(0, 100, -1, 0), TimerSettings::default());
    pair.a.send_error(b"bye").unwrap();
    assert_eq!(pair.a.next_deadline(), None);
    assert_eq!(pair.a.on_timeout(ms(10_000)), None);
}
