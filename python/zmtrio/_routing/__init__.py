"""Routing strategies: how each socket type picks the peer to send to and receive from.

=========  ==============  ============  ===========
type       send            receive       peers
=========  ==============  ============  ===========
PAIR       load-balance    fair-queue    one at most
PUSH       load-balance    (none)        any
PULL       (none)          fair-queue    any
=========  ==============  ============  ===========

Load-balance (libzmq ``lb_t``): round-robin over attached peers whose pipe has room; the
sender blocks when none has. Fair-queue (libzmq ``fq_t``): round-robin over peers that have
messages, one message each in turn. Every strategy works on whole messages only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._constants import SocketType
from ._fair_queue import FairQueue
from ._load_balance import LoadBalance

__all__ = ["ROUTING", "FairQueue", "LoadBalance", "RoutingSpec"]


@dataclass(frozen=True, slots=True)
class RoutingSpec:
    """What a socket type sends with, receives with, and how many peers it takes."""

    outgoing: type[LoadBalance] | None
    incoming: type[FairQueue] | None
    max_peers: int | None = None


ROUTING: dict[SocketType, RoutingSpec] = {
    SocketType.PAIR: RoutingSpec(LoadBalance, FairQueue, max_peers=1),
    SocketType.PUSH: RoutingSpec(LoadBalance, None),
    SocketType.PULL: RoutingSpec(None, FairQueue),
}
