//! A connection's clock: the handshake deadline, heartbeats (PING every interval), the
//! heartbeat timeout and the peer's time-to-live, decided here and never by reading a clock.
//!
//! Time comes in as `now`, a [`Duration`] since any epoch the caller likes (it must not go
//! backwards). The driver asks [`Timers::next_deadline`] when to wake, sleeps until then and
//! calls [`Timers::on_timeout`]; every received byte is reported with
//! [`Timers::on_receive`]. Behaviour follows libzmq (`stream_engine_base.cpp`, spec §11):
//!
//! - the handshake must finish within `HANDSHAKE_IVL` of the connection's start;
//! - with `HEARTBEAT_IVL` set, a PING goes out every interval once the handshake is done; if
//!   nothing at all arrives within `HEARTBEAT_TIMEOUT` (default: the interval) of a PING, the
//!   peer is gone (any traffic counts, a PONG included);
//! - a PING from the peer announcing a TTL starts the clock too (even with no interval of our
//!   own): if nothing arrives within the TTL, the peer is gone.
//!
//! | state | input | effect |
//! |---|---|---|
//! | handshaking | `now >= start + HANDSHAKE_IVL` | [`Expired::Handshake`] |
//! | handshaking | handshake done | heartbeat clock starts if `HEARTBEAT_IVL` is set |
//! | any | PING with TTL from the peer | peer TTL set; heartbeat clock starts |
//! | running | bytes arrive | last receive time = `now` |
//! | running | `now >= next PING` | PING queued (announcing our TTL); next PING = `now + IVL` |
//! | running | no traffic since a PING sent at `t`, `now >= t + TIMEOUT` | [`Expired::Heartbeat`] |
//! | running | `now >= last receive + peer TTL` | [`Expired::PeerTtl`] |

use std::time::Duration;

/// The timer options of a socket (libzmq's, in its units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerSettings {
    /// `ZMQ_HANDSHAKE_IVL`: the most the handshake may take (`None`: no limit).
    pub handshake_ivl: Option<Duration>,
    /// `ZMQ_HEARTBEAT_IVL`: how often to PING (`None`: never).
    pub heartbeat_ivl: Option<Duration>,
    /// `ZMQ_HEARTBEAT_TIMEOUT`: how long after a PING silence means the peer is gone
    /// (`None`: the interval).
    pub heartbeat_timeout: Option<Duration>,
    /// `ZMQ_HEARTBEAT_TTL`, as announced in our PINGs, in tenths of a second.
    pub heartbeat_ttl_deciseconds: u16,
}

impl TimerSettings {
    /// The settings from libzmq's option values in milliseconds: `handshake_ivl` 0 and
    /// `heartbeat_ivl` 0 mean off, a negative `heartbeat_timeout` means "the interval",
    /// `heartbeat_ttl` is cut to whole tenths of a second (as libzmq sends it).
    pub fn from_millis(
        handshake_ivl: i64,
        heartbeat_ivl: i64,
        heartbeat_timeout: i64,
        heartbeat_ttl: i64,
    ) -> TimerSettings {
        let positive = |ms: i64| u64::try_from(ms).ok().filter(|&ms| ms > 0);
        TimerSettings {
            handshake_ivl: positive(handshake_ivl).map(Duration::from_millis),
            heartbeat_ivl: positive(heartbeat_ivl).map(Duration::from_millis),
            heartbeat_timeout: u64::try_from(heartbeat_timeout)
                .ok()
                .map(Duration::from_millis),
            heartbeat_ttl_deciseconds: u16::try_from(heartbeat_ttl.max(0) / 100)
                .unwrap_or(u16::MAX),
        }
    }
}

/// Why a connection's time ran out; the driver drops the connection (and may retry it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// The handshake did not finish within `HANDSHAKE_IVL`.
    Handshake,
    /// Nothing arrived within `HEARTBEAT_TIMEOUT` of a PING.
    Heartbeat,
    /// Nothing arrived within the TTL the peer's PINGs announced.
    PeerTtl,
}

/// What [`Timers::on_timeout`] asks of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Nothing is due yet.
    Nothing,
    /// Send a PING announcing this TTL (tenths of a second).
    Ping(u16),
    /// The connection is over.
    Expired(Expired),
}

/// One connection's timers (see the module doc).
#[derive(Debug, Clone)]
pub struct Timers {
    settings: TimerSettings,
    /// When the handshake must be done by, while it is not done.
    handshake_deadline: Option<Duration>,
    /// Whether the heartbeat clock runs (from the handshake, or from the peer's first TTL).
    running: bool,
    /// When bytes last arrived (meaningful while running).
    last_receive: Duration,
    /// When the next PING goes out (`None`: we do not ping).
    next_ping: Option<Duration>,
    /// When the PING that awaits an answer went out (`None`: none awaits one).
    ping_sent: Option<Duration>,
    /// The TTL the peer announced (`None`: none).
    peer_ttl: Option<Duration>,
}

impl Timers {
    /// The timers of a connection that starts at `now`.
    pub fn new(settings: TimerSettings, now: Duration) -> Timers {
        Timers {
            settings,
            handshake_deadline: settings.handshake_ivl.map(|ivl| now + ivl),
            running: false,
            last_receive: now,
            next_ping: None,
            ping_sent: None,
            peer_ttl: None,
        }
    }

    /// The handshake finished at `now`: no handshake deadline any more; heartbeats start if
    /// configured.
    pub fn on_handshake_done(&mut self, now: Duration) {
        self.handshake_deadline = None;
        if self.settings.heartbeat_ivl.is_some() {
            self.start(now);
        }
    }

    /// Bytes arrived at `now`.
    pub fn on_receive(&mut self, now: Duration) {
        self.last_receive = now;
    }

    /// The peer's PING at `now` announced `ttl_deciseconds` (0: no TTL, nothing changes).
    pub fn on_peer_ttl(&mut self, ttl_deciseconds: u16, now: Duration) {
        if ttl_deciseconds > 0 {
            self.peer_ttl = Some(Duration::from_millis(u64::from(ttl_deciseconds) * 100));
            self.start(now);
        }
    }

    /// Start the heartbeat clock at `now` (once).
    fn start(&mut self, now: Duration) {
        if !self.running {
            self.running = true;
            self.last_receive = now;
            self.next_ping = self.settings.heartbeat_ivl.map(|ivl| now + ivl);
        }
    }

    /// Whether a PING we sent has had no traffic back yet.
    fn awaiting_answer(&self) -> Option<Duration> {
        self.ping_sent.filter(|&sent| self.last_receive < sent)
    }

    /// The heartbeat timeout (default: the interval).
    fn timeout(&self) -> Duration {
        self.settings
            .heartbeat_timeout
            .or(self.settings.heartbeat_ivl)
            .unwrap_or(Duration::MAX)
    }

    /// When [`Timers::on_timeout`] must next be called (`None`: no timer runs).
    ///
    /// Call after every other call: each may move it (earlier only when the handshake
    /// finishes, a PING is sent or the peer announces a TTL).
    pub fn next_deadline(&self) -> Option<Duration> {
        if self.handshake_deadline.is_some() {
            return self.handshake_deadline;
        }
        if !self.running {
            return None;
        }
        let answer_by = self
            .awaiting_answer()
            .map(|sent| sent.saturating_add(self.timeout()));
        let ttl_end = self.peer_ttl.map(|ttl| self.last_receive + ttl);
        [self.next_ping, answer_by, ttl_end]
            .into_iter()
            .flatten()
            .min()
    }

    /// Time passed: what is due at `now`.
    pub fn on_timeout(&mut self, now: Duration) -> Due {
        if let Some(deadline) = self.handshake_deadline {
            return if now >= deadline {
                Due::Expired(Expired::Handshake)
            } else {
                Due::Nothing
            };
        }
        if !self.running {
            return Due::Nothing;
        }
        if let Some(sent) = self.awaiting_answer() {
            if now >= sent.saturating_add(self.timeout()) {
                return Due::Expired(Expired::Heartbeat);
            }
        }
        if let Some(ttl) = self.peer_ttl {
            if now >= self.last_receive + ttl {
                return Due::Expired(Expired::PeerTtl);
            }
        }
        match (self.next_ping, self.settings.heartbeat_ivl) {
            (Some(next), Some(ivl)) if now >= next => {
                // A PING still unanswered keeps its send time: the timeout runs from it.
                if self.awaiting_answer().is_none() {
                    self.ping_sent = Some(now);
                }
                self.next_ping = Some(now + ivl);
                Due::Ping(self.settings.heartbeat_ttl_deciseconds)
            }
            _ => Due::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn heartbeat(ivl: i64, timeout: i64, ttl: i64) -> Timers {
        let mut timers = Timers::new(TimerSettings::from_millis(0, ivl, timeout, ttl), ms(0));
        timers.on_handshake_done(ms(0));
        timers
    }

    #[test]
    fn settings_follow_libzmq_units() {
        let s = TimerSettings::from_millis(30_000, 0, -1, 6_553_599);
        assert_eq!(s.handshake_ivl, Some(ms(30_000)));
        assert_eq!(s.heartbeat_ivl, None);
        assert_eq!(s.heartbeat_timeout, None);
        assert_eq!(s.heartbeat_ttl_deciseconds, 65_535);
        let s = TimerSettings::from_millis(0, 100, 0, 250);
        assert_eq!(s.handshake_ivl, None);
        assert_eq!(s.heartbeat_timeout, Some(ms(0)));
        assert_eq!(s.heartbeat_ttl_deciseconds, 2);
    }

    #[test]
    fn no_timers_no_deadline() {
        let mut timers = Timers::new(TimerSettings::default(), ms(5));
        assert_eq!(timers.next_deadline(), None);
        timers.on_handshake_done(ms(6));
        assert_eq!(timers.next_deadline(), None);
        assert_eq!(timers.on_timeout(ms(1_000_000)), Due::Nothing);
    }

    #[test]
    fn stalled_handshake_expires_at_its_deadline() {
        let mut timers = Timers::new(TimerSettings::from_millis(200, 0, -1, 0), ms(1_000));
        assert_eq!(timers.next_deadline(), Some(ms(1_200)));
        timers.on_receive(ms(1_100)); // bytes that do not finish it change nothing
        assert_eq!(timers.on_timeout(ms(1_199)), Due::Nothing);
        assert_eq!(timers.next_deadline(), Some(ms(1_200)));
        assert_eq!(
            timers.on_timeout(ms(1_200)),
            Due::Expired(Expired::Handshake)
        );
    }

    #[test]
    fn a_finished_handshake_has_no_deadline() {
        let mut timers = Timers::new(TimerSettings::from_millis(200, 0, -1, 0), ms(0));
        timers.on_handshake_done(ms(150));
        assert_eq!(timers.next_deadline(), None);
        assert_eq!(timers.on_timeout(ms(500)), Due::Nothing);
    }

    #[test]
    fn pings_every_interval_announcing_our_ttl() {
        let mut timers = heartbeat(100, 1_000, 2_500);
        assert_eq!(timers.next_deadline(), Some(ms(100)));
        assert_eq!(timers.on_timeout(ms(99)), Due::Nothing);
        assert_eq!(timers.on_timeout(ms(100)), Due::Ping(25));
        timers.on_receive(ms(120));
        assert_eq!(timers.next_deadline(), Some(ms(200)));
        assert_eq!(timers.on_timeout(ms(200)), Due::Ping(25));
    }

    #[test]
    fn silent_peer_expires_timeout_after_the_ping() {
        let mut timers = heartbeat(100, 250, 0);
        assert_eq!(timers.on_timeout(ms(100)), Due::Ping(0));
        // Unanswered: the next PING still goes out, the timeout still runs from the first.
        assert_eq!(timers.on_timeout(ms(200)), Due::Ping(0));
        assert_eq!(timers.next_deadline(), Some(ms(300)));
        assert_eq!(timers.on_timeout(ms(300)), Due::Ping(0));
        assert_eq!(timers.next_deadline(), Some(ms(350)));
        assert_eq!(timers.on_timeout(ms(350)), Due::Expired(Expired::Heartbeat));
    }

    #[test]
    fn timeout_defaults_to_the_interval() {
        let mut timers = heartbeat(100, -1, 0);
        assert_eq!(timers.on_timeout(ms(100)), Due::Ping(0));
        assert_eq!(timers.next_deadline(), Some(ms(200)));
        assert_eq!(timers.on_timeout(ms(200)), Due::Expired(Expired::Heartbeat));
    }

    #[test]
    fn pong_resets_the_clock() {
        let mut silent = heartbeat(100, 250, 0);
        let mut answered = heartbeat(100, 250, 0);
        for timers in [&mut silent, &mut answered] {
            assert_eq!(timers.on_timeout(ms(100)), Due::Ping(0));
        }
        answered.on_receive(ms(150)); // the PONG
        for timers in [&mut silent, &mut answered] {
            assert_eq!(timers.on_timeout(ms(200)), Due::Ping(0));
            assert_eq!(timers.on_timeout(ms(300)), Due::Ping(0));
        }
        // Silent since the PING at 100: gone at 350. Answered: the timeout runs from the
        // first PING after the PONG (200), so 450.
        assert_eq!(silent.next_deadline(), Some(ms(350)));
        assert_eq!(silent.on_timeout(ms(350)), Due::Expired(Expired::Heartbeat));
        assert_eq!(answered.next_deadline(), Some(ms(400)));
        assert_eq!(answered.on_timeout(ms(350)), Due::Nothing);
        assert_eq!(answered.on_timeout(ms(400)), Due::Ping(0));
        assert_eq!(answered.next_deadline(), Some(ms(450)));
        assert_eq!(
            answered.on_timeout(ms(450)),
            Due::Expired(Expired::Heartbeat)
        );
    }

    #[test]
    fn peer_requested_ttl_expires_without_traffic() {
        // No heartbeat of our own: the peer's TTL alone starts the clock.
        let mut timers = heartbeat(0, -1, 0);
        assert_eq!(timers.next_deadline(), None);
        timers.on_peer_ttl(15, ms(1_000)); // 1.5 s
        assert_eq!(timers.next_deadline(), Some(ms(2_500)));
        timers.on_receive(ms(2_000));
        assert_eq!(timers.next_deadline(), Some(ms(3_500)));
        assert_eq!(timers.on_timeout(ms(3_499)), Due::Nothing);
        assert_eq!(timers.on_timeout(ms(3_500)), Due::Expired(Expired::PeerTtl));
    }

    #[test]
    fn a_ping_without_ttl_starts_nothing() {
        let mut timers = heartbeat(0, -1, 0);
        timers.on_peer_ttl(0, ms(10));
        assert_eq!(timers.next_deadline(), None);
    }

    #[test]
    fn the_peer_ttl_joins_our_own_heartbeat() {
        let mut timers = heartbeat(1_000, -1, 0);
        timers.on_receive(ms(50)); // the PING's own bytes
        timers.on_peer_ttl(2, ms(50)); // 200 ms
        assert_eq!(timers.next_deadline(), Some(ms(250)));
        assert_eq!(timers.on_timeout(ms(250)), Due::Expired(Expired::PeerTtl));
    }
}
