"""Route by number: SERVER's and PEER's send strategy (libzmq ``server_t``).

Each attached peer gets a 32-bit routing id from a counter that starts at a random value
per socket and skips 0 (libzmq's ``xattach_pipe``); received messages carry it
(``Message.routing_id``) and ``send(data, routing_id=...)`` routes by it. An unknown id is
``EHOSTUNREACH``; a peer at its high-water mark makes the sender wait (libzmq's EAGAIN).
"""

from __future__ import annotations

import random
from typing import Final, final

from .._constants import EHOSTUNREACH
from .._errors import ZMQError
from .._peer import Peer
from ._pattern import Message

__all__ = ["RouteByNumber"]

_ID_MASK: Final = 0xFFFF_FFFF


@final
class RouteByNumber:
    """The routing ids of a socket's attached peers, and sending by them."""

    __slots__ = ("_by_id", "_departed", "_ids", "_next_id", "last_assigned")

    def __init__(self) -> None:
        self._by_id: dict[int, Peer] = {}
        self._ids: dict[Peer, int] = {}
        #: Detached peers whose messages are not all received yet: they keep their id
        #: for ``tag`` until their inbound pipe is drained.
        self._departed: set[Peer] = set()
        self._next_id = random.getrandbits(32)
        #: The id given to the most recently attached peer (PEER's ``connect_peer``).
        self.last_assigned = 0

    def attach(self, peer: Peer) -> None:
        """Give ``peer`` the next routing id (never 0)."""
        self._sweep()
        routing_id = self._next_id
        if not routing_id:
            routing_id = 1
        self._next_id = (routing_id + 1) & _ID_MASK
        self._by_id[routing_id] = peer
        self._ids[peer] = routing_id
        self.last_assigned = routing_id

    def detach(self, peer: Peer) -> None:
        """Forget ``peer``'s id for sending: sends to it are unroutable from now on."""
        routing_id = self._ids.get(peer)
        if routing_id is not None and self._by_id.get(routing_id) is peer:
            del self._by_id[routing_id]
            self._departed.add(peer)
        self._sweep()

    def _sweep(self) -> None:
        """Forget detached peers that have nothing left to receive."""
        for peer in [peer for peer in self._departed if not len(peer.inp.queue)]:
            self._departed.discard(peer)
            del self._ids[peer]

    def tag(self, msg: Message, peer: Peer) -> tuple[Message, object] | None:
        """The receive filter: single frames only, tagged with their peer's routing id."""
        if len(msg) != 1:
            return None
        return msg, self._ids.get(peer)

    def send_to(self, routing_id: int, msg: Message) -> bool:
        """Queue ``msg`` for the peer with ``routing_id``; False if it is full (wait).
        Raises ``ZMQError(EHOSTUNREACH)`` if no peer has that id."""
        peer = self._by_id.get(routing_id)
        if peer is None:
            raise ZMQError(EHOSTUNREACH, f"no peer with routing id {routing_id}")
        out = peer.out
        queued = out.queue.try_push(msg)
        if queued > 0:
            if queued == 1:
                out.on_readable()
            return True
        out.writer_blocked = True
        return False
