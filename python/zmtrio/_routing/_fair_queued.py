"""``FairQueued``: the base of every pattern that receives through a fair-queue (PULL,
DEALER, SUB/XSUB, STREAM, and the draft types' filtered queues)."""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from .._peer import Peer
from ._pattern import Message, Pattern

__all__ = ["FairQueued", "ReceiveQueue"]


class ReceiveQueue(Protocol):
    """What a pattern receives through: :class:`._fair_queue.FairQueue` or
    :class:`._single_frame.FilteredQueue`."""

    @property
    def last_peer(self) -> Peer | None:
        """The peer the message ``recv`` last returned came from."""

    def attach(self, peer: Peer) -> None:
        """Start receiving from ``peer``."""

    def readable(self, peer: Peer) -> None:
        """``peer``'s inbound pipe went from empty to non-empty."""

    def recv(self) -> Message | None:
        """The next message, or None."""

    def recv_many(self, max_messages: int) -> list[Message]:
        """Up to ``max_messages`` messages."""

    def has_message(self) -> bool:
        """Whether ``recv`` would return a message now."""


Queue = TypeVar("Queue", bound=ReceiveQueue)


class FairQueued(Pattern, Generic[Queue]):
    """Receives through ``queue``: every attached peer feeds it, and ``recv``,
    ``recv_many`` and ``has_message`` are the queue's own methods, bound straight in (no
    extra call per message; a subclass that filters rebinds them)."""

    def __init__(self, options: dict[int, Any], queue: Queue) -> None:
        super().__init__(options)
        self._queue = queue
        self.recv = queue.recv
        self.recv_many = queue.recv_many
        self.has_message = queue.has_message

    def attach(self, peer: Peer) -> bool:
        self._queue.attach(peer)
        return True

    def readable(self, peer: Peer) -> None:
        self._queue.readable(peer)

    def received_from(self) -> Peer | None:
        return self._queue.last_peer
