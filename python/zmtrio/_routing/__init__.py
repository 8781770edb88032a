"""Routing: how each socket type picks the peer to send to and receive from.

=========  ==============  ============  ===========
type       send            receive       peers
=========  ==============  ============  ===========
PAIR       exclusive       exclusive     one at most
PUSH       load-balance    (none)        any
PULL       (none)          fair-queue    any
REQ        load-balance    fair-queue    any (envelope; send, recv alternate)
REP        route-by-id     fair-queue    any (envelope; recv, send alternate)
DEALER     load-balance    fair-queue    any
ROUTER     route-by-id     fair-queue    any (routing id frame)
PUB        distribute      (none)        any (filtered by subscription, drops at HWM)
SUB        (none)          fair-queue    any (subscriptions upstream, filter again)
XPUB       distribute      subscriptions any (as PUB; app sees (un)subscriptions)
XSUB       distribute      fair-queue    any (app sends (un)subscriptions; no filter)
STREAM     by routing id   fair-queue    any (raw tcp/ipc; routing id frame + data)
CLIENT     load-balance    fair-queue    any (single frames)
SERVER     route-by-number fair-queue    any (single frames; ``Message.routing_id``)
RADIO      by group        (none)        any (JOINed groups; udp peers get everything)
DISH       (none)          fair-queue    any (single frames; joined groups only)
SCATTER    load-balance    (none)        any (single frames)
GATHER     (none)          fair-queue    any (single frames)
PEER       route-by-number fair-queue    any (as SERVER; ``connect_peer``)
CHANNEL    exclusive       exclusive     one at most (single frames)
DGRAM      by address      fair-queue    udp only (address frame + body)
=========  ==============  ============  ===========

Strategies, one module each: load-balance (libzmq ``lb_t``: round-robin over peers whose
pipe has room; the sender blocks when none has), fair-queue (libzmq ``fq_t``: one message
from each peer that has some, in turn), route-by-id (libzmq ``router_t``: each peer gets a
routing id, a message goes to the peer its first frame names) and distribute (libzmq
``dist_t``: a copy to every peer that subscribed to a prefix of the first frame, dropped for
a peer that is full; subscriptions kept in ``_subscriptions``). Each socket type is a
:class:`Pattern` composed from them, in a module per family; REQ/REP envelopes are pure
functions in ``_envelope``. Every strategy moves whole messages only.
"""

from __future__ import annotations

from .._constants import SocketType
from ._client_server import Client, Server
from ._dgram import Dgram
from ._exclusive import Pair
from ._pattern import Pattern
from ._peer_channel import Channel, PeerPattern
from ._pipeline import Pull, Push
from ._pubsub import Pub, Sub, XPub, XSub
from ._radio_dish import Dish, Radio
from ._reqrep import Dealer, Rep, Req, Router
from ._scatter_gather import Gather, Scatter
from ._stream import Stream

__all__ = ["PATTERNS", "Pattern"]

#: The behaviour of each socket type zmtrio implements.
PATTERNS: dict[SocketType, type[Pattern]] = {
    SocketType.PAIR: Pair,
    SocketType.PUSH: Push,
    SocketType.PULL: Pull,
    SocketType.REQ: Req,
    SocketType.REP: Rep,
    SocketType.DEALER: Dealer,
    SocketType.ROUTER: Router,
    SocketType.PUB: Pub,
    SocketType.SUB: Sub,
    SocketType.XPUB: XPub,
    SocketType.XSUB: XSub,
    SocketType.SERVER: Server,
    SocketType.CLIENT: Client,
    SocketType.RADIO: Radio,
    SocketType.DISH: Dish,
    SocketType.GATHER: Gather,
    SocketType.SCATTER: Scatter,
    SocketType.PEER: PeerPattern,
    SocketType.CHANNEL: Channel,
    SocketType.DGRAM: Dgram,
    SocketType.STREAM: Stream,
}
