"""SCATTER and GATHER (RFC 49), as libzmq's ``scatter.cpp`` and ``gather.cpp`` behave: the
PUSH/PULL pipeline with single-frame messages (a multipart send is ``EINVAL``; multipart
messages from a peer are dropped)."""

from __future__ import annotations

from typing import Any, final

from .._peer import Peer
from ._fair_queued import FairQueued
from ._load_balance import LoadBalance
from ._pattern import Message, Pattern
from ._single_frame import FilteredQueue, check_single_frame, only_single_frames

__all__ = ["Gather", "Scatter"]


@final
class Scatter(Pattern):
    """Round-robin to peers with room; blocks when none has (never drops)."""

    single_frame = True

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        self._balance = LoadBalance()
        self.send = self._send
        self.writable = self._balance.writable

    def _send(self, msg: Message) -> bool:
        check_single_frame(msg)
        return self._balance.send(msg) is not None

    def attach(self, peer: Peer) -> bool:
        self._balance.attach(peer)
        return True

    def detach(self, peer: Peer) -> None:
        self._balance.detach(peer)


@final
class Gather(FairQueued[FilteredQueue]):
    """Fair-queues single-frame messages from every peer."""

    single_frame = True

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options, FilteredQueue(only_single_frames))
