//! ZeroMQ socket types: libzmq's numbers, the `Socket-Type` names sent in READY, and which
//! types may talk to each other (RFC 37 §"The Socket-Type Property", spec §3.6).

/// A socket type, numbered as libzmq's `ZMQ_*` constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SocketType {
    /// `ZMQ_PAIR`
    Pair = 0,
    /// `ZMQ_PUB`
    Pub = 1,
    /// `ZMQ_SUB`
    Sub = 2,
    /// `ZMQ_REQ`
    Req = 3,
    /// `ZMQ_REP`
    Rep = 4,
    /// `ZMQ_DEALER`
    Dealer = 5,
    /// `ZMQ_ROUTER`
    Router = 6,
    /// `ZMQ_PULL`
    Pull = 7,
    /// `ZMQ_PUSH`
    Push = 8,
    /// `ZMQ_XPUB`
    Xpub = 9,
    /// `ZMQ_XSUB`
    Xsub = 10,
    /// `ZMQ_STREAM`: raw tcp, no ZMTP (never named in a READY).
    Stream = 11,
    /// `ZMQ_SERVER` (draft, RFC 41)
    Server = 12,
    /// `ZMQ_CLIENT` (draft, RFC 41)
    Client = 13,
    /// `ZMQ_RADIO` (draft, RFC 48)
    Radio = 14,
    /// `ZMQ_DISH` (draft, RFC 48)
    Dish = 15,
    /// `ZMQ_GATHER` (draft, RFC 49)
    Gather = 16,
    /// `ZMQ_SCATTER` (draft, RFC 49)
    Scatter = 17,
    /// `ZMQ_DGRAM` (draft): udp datagrams only, never over ZMTP.
    Dgram = 18,
    /// `ZMQ_PEER` (draft, RFC 51)
    Peer = 19,
    /// `ZMQ_CHANNEL` (draft, RFC 51)
    Channel = 20,
}

impl SocketType {
    /// Every socket type, in number order (so `ALL[n]` has number `n`).
    pub const ALL: [SocketType; 21] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
        SocketType::Xpub,
        SocketType::Xsub,
        SocketType::Stream,
        SocketType::Server,
        SocketType::Client,
        SocketType::Radio,
        SocketType::Dish,
        SocketType::Gather,
        SocketType::Scatter,
        SocketType::Dgram,
        SocketType::Peer,
        SocketType::Channel,
    ];

    /// The type with libzmq number `number`, if there is one.
    pub fn from_number(number: u8) -> Option<SocketType> {
        Self::ALL.get(usize::from(number)).copied()
    }

    /// The type a `Socket-Type` property value names. libzmq compares case-sensitively; we
    /// accept any case, which can only let more valid peers in.
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// libzmq's number for this type.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The `Socket-Type` property value, spelled exactly as libzmq expects it.
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::Xpub => "XPUB",
            SocketType::Xsub => "XSUB",
            SocketType::Stream => "STREAM",
            SocketType::Server => "SERVER",
            SocketType::Client => "CLIENT",
            SocketType::Radio => "RADIO",
            SocketType::Dish => "DISH",
            SocketType::Gather => "GATHER",
            SocketType::Scatter => "SCATTER",
            SocketType::Dgram => "DGRAM",
            SocketType::Peer => "PEER",
            SocketType::Channel => "CHANNEL",
        }
    }

    /// Whether a socket of this type may talk to a peer of type `peer` (spec §3.6, and
    /// libzmq's `mechanism_t::check_socket_type` for the draft types). STREAM and DGRAM
    /// never handshake, so they pair with nothing.
    pub fn is_compatible_with(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Pair, Pair)
                | (Pub | Xpub, Sub | Xsub)
                | (Sub | Xsub, Pub | Xpub)
                | (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pull, Push)
                | (Push, Pull)
                | (Server, Client)
                | (Client, Server)
                | (Radio, Dish)
                | (Dish, Radio)
                | (Gather, Scatter)
                | (Scatter, Gather)
                | (Peer, Peer)
                | (Channel, Channel)
        )
    }

    /// Whether READY from this type carries an `Identity` property (libzmq sends it for the
    /// types that a ROUTER may address by routing id).
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for t in SocketType::ALL {
            assert_eq!(SocketType::from_number(t.number()), Some(t));
            assert_eq!(SocketType::from_name(t.name().as_bytes()), Some(t));
        }
        assert_eq!(SocketType::from_number(21), None);
    }

    #[test]
    fn names_match_any_case_but_nothing_else() {
        assert_eq!(SocketType::from_name(b"dealer"), Some(SocketType::Dealer));
        assert_eq!(SocketType::from_name(b"DEALERS"), None);
        assert_eq!(SocketType::from_name(b""), None);
    }

    #[test]
    fn compatibility_is_symmetric_and_matches_the_table() {
        let mut pairs = 0;
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(
                    a.is_compatible_with(b),
                    b.is_compatible_with(a),
                    "{a:?} {b:?}"
                );
                pairs += usize::from(a.is_compatible_with(b));
            }
        }
        // Spec §3.6 lists 21 ordered pairs for the 11 classic types; the draft types add
        // SERVER/CLIENT, RADIO/DISH, GATHER/SCATTER (two each) and PEER, CHANNEL (one each).
        assert_eq!(pairs, 21 + 8);
        assert!(!SocketType::Stream.is_compatible_with(SocketType::Stream));
        assert!(!SocketType::Dgram.is_compatible_with(SocketType::Dgram));
        assert!(!SocketType::Client.is_compatible_with(SocketType::Client));
        assert!(!SocketType::Dish.is_compatible_with(SocketType::Sub));
        assert!(SocketType::Req.is_compatible_with(SocketType::Router));
        assert!(!SocketType::Req.is_compatible_with(SocketType::Req));
        assert!(!SocketType::Push.is_compatible_with(SocketType::Push));
    }
}
