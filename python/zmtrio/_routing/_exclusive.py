"""PAIR (RFC 31): exactly one peer, both directions; a second peer is refused."""

from __future__ import annotations

from typing import final

from ._reqrep import Dealer

__all__ = ["Pair"]


@final
class Pair(Dealer):
    """One peer at a time; sends block while it is absent or full, never drop.

    With at most one peer, DEALER's load-balancing and fair-queueing reduce to "that
    peer", so PAIR is a DEALER that takes one peer (PROBE_ROUTER cannot be set on it).
    """

    max_peers = 1
