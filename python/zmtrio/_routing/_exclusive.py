"""PAIR (RFC 31): exactly one peer, both directions; a second peer is refused."""

from __future__ import annotations

from typing import Any, final

from .._peer import Peer
from ._fair_queue import FairQueue
from ._load_balance import LoadBalance
from ._pattern import Pattern

__all__ = ["Pair"]


@final
class Pair(Pattern):
    """One peer at a time; sends block while it is absent or full, never drop."""

    max_peers = 1

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        # With at most one peer, load-balancing and fair-queueing reduce to "that peer".
        self._balance = LoadBalance()
        self._queue = FairQueue()
        self.send = self._balance.send
        self.send_many = self._balance.send_many
        self.writable = self._balance.writable
        self.recv = self._queue.recv
        self.recv_many = self._queue.recv_many
        self.has_message = self._queue.has_message

    def attach(self, peer: Peer) -> bool:
        self._balance.attach(peer)
        self._queue.attach(peer)
        return True

    def detach(self, peer: Peer) -> None:
        self._balance.detach(peer)

    def readable(self, peer: Peer) -> None:
        self._queue.readable(peer)
