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
from ._exclusive import Pair
from ._pattern import Pattern
from ._pipeline import Pull, Push
from ._pubsub import Pub, Sub, XPub, XSub
from ._reqrep import Dealer, Rep, Req, Router

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
}
