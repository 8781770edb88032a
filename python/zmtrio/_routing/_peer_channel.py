"""PEER and CHANNEL (RFC 51), as libzmq's ``peer.cpp`` and ``channel.cpp`` behave.

- PEER: a SERVER that may also connect: ``await sock.connect_peer(endpoint)`` returns the
  routing id the new connection's peer gets at once (libzmq attaches a connect's pipe
  before the connection is up, so the id is known before any message), and received
  messages carry their peer's id. PEER talks to PEER only.
- CHANNEL: a thread-safe PAIR in libzmq: one peer, both directions, single frames.
"""

from __future__ import annotations

from typing import Any, final

from .._peer import Peer
from ._client_server import RoutedByNumber
from ._load_balance import LoadBalance
from ._pattern import Message, Pattern
from ._single_frame import FilteredQueue, check_single_frame, only_single_frames

__all__ = ["Channel", "PeerPattern"]


@final
class PeerPattern(RoutedByNumber):
    """SERVER's routing, plus the id of the last attached peer for ``connect_peer``."""

    def last_attached_id(self) -> int:
        """The routing id given to the most recently attached peer."""
        return self._routes.last_assigned


@final
class Channel(Pattern):
    """One peer at a time; single frames both ways; sends block while it is absent or
    full."""

    max_peers = 1
    single_frame = True

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        self._balance = LoadBalance()
        self._queue = FilteredQueue(only_single_frames)
        self.send = self._send
        self.writable = self._balance.writable
        self.recv = self._queue.recv
        self.recv_many = self._queue.recv_many
        self.has_message = self._queue.has_message

    def _send(self, msg: Message) -> bool:
        check_single_frame(msg)
        return self._balance.send(msg) is not None

    def attach(self, peer: Peer) -> bool:
        self._balance.attach(peer)
        self._queue.attach(peer)
        return True

    def detach(self, peer: Peer) -> None:
        self._balance.detach(peer)

    def readable(self, peer: Peer) -> None:
        # An inproc link refused as a second peer still has its pipe: never read it.
        if peer.attached:
            self._queue.readable(peer)

    def received_from(self) -> Peer | None:
        return self._queue.last_peer
