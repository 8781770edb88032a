"""PUSH and PULL (RFC 30): load-balanced out, fair-queued in."""

from __future__ import annotations

from typing import Any, final

from .._peer import Peer
from ._fair_queue import FairQueue
from ._fair_queued import FairQueued
from ._load_balance import LoadBalance
from ._pattern import Pattern

__all__ = ["Pull", "Push"]


@final
class Push(Pattern):
    """Round-robin to peers with room; blocks when none has (never drops)."""

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        self._balance = LoadBalance()
        self.send = self._balance.sender
        self.send_frame = self._balance.frame_sender
        self.send_many = self._balance.send_many
        self.takes_encoded = self._balance.takes_encoded
        self.send_encoded = self._balance.send_encoded
        self.writable = self._balance.writable

    def attach(self, peer: Peer) -> bool:
        self._balance.attach(peer)
        self._take_senders()
        return True

    def detach(self, peer: Peer) -> None:
        self._balance.detach(peer)
        self._take_senders()

    def connected(self, peer: Peer) -> None:
        self._balance.connected(peer)
        self._take_senders()

    def pipes_replaced(self, peer: Peer) -> None:
        self._balance.pipes_replaced(peer)
        self._take_senders()

    def _take_senders(self) -> None:
        # One peer: its Outlet's methods, bound straight in (see LoadBalance.sender).
        self.send = self._balance.sender
        self.send_frame = self._balance.frame_sender


@final
class Pull(FairQueued[FairQueue]):
    """Fair-queues messages from every peer."""

    def __init__(self, options: dict[int, Any]) -> None:
        queue = FairQueue()
        super().__init__(options, queue)
        queue.on_receiver_changed = self._take_receiver

    def detach(self, peer: Peer) -> None:
        self._queue.detach(peer)

    def pipes_replaced(self, peer: Peer) -> None:
        self._queue.pipes_replaced(peer)

    def _take_receiver(self) -> None:
        # One peer: its Inlet's recv, bound straight in (see FairQueue).
        self.recv = self._queue.receiver
