"""PEER and CHANNEL (RFC 51), as libzmq's ``peer.cpp`` and ``channel.cpp`` behave.

- PEER: a SERVER that may also connect: ``await sock.connect_peer(endpoint)`` returns the
  routing id the new connection's peer gets at once (libzmq attaches a connect's pipe
  before the connection is up, so the id is known before any message), and received
  messages carry their peer's id. PEER talks to PEER only.
- CHANNEL: a thread-safe PAIR in libzmq: one peer, both directions, single frames.
"""

from __future__ import annotations

from typing import final

from .._peer import Peer
from ._client_server import Balanced, RoutedByNumber

__all__ = ["Channel", "PeerPattern"]


@final
class PeerPattern(RoutedByNumber):
    """SERVER's routing, plus the id of the last attached peer for ``connect_peer``."""

    def last_attached_id(self) -> int:
        """The routing id given to the most recently attached peer."""
        return self._routes.last_assigned


@final
class Channel(Balanced):
    """One peer at a time; single frames both ways; sends block while it is absent or
    full."""

    max_peers = 1

    def readable(self, peer: Peer) -> None:
        # An inproc link refused as a second peer still has its pipe: never read it.
        if peer.attached:
            super().readable(peer)
