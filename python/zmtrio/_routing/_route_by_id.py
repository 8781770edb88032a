"""Route by id: ROUTER's send strategy, a map from routing id to peer (libzmq ``router_t``).

Each peer gets a routing id once its handshake is done (``identify``, from the pattern's
``connected`` hook): the ``Identity`` its READY carried if non-empty, else a generated one,
``0x00`` followed by a big-endian 32-bit counter that starts at a random value per socket
(ids beginning with a zero byte are reserved for generated ones, RFC 37). A peer claiming an
id already in use is ignored (never routed to, its messages never delivered) unless
``ROUTER_HANDOVER`` is set, which takes the id away from the old peer.

A connect endpoint's peer is attached before its first handshake (``IMMEDIATE`` off) and
keeps its pipes across reconnects; it gets its id at the first handshake and keeps it after
(libzmq assumes a reconnecting peer uses the same id and ignores the one it sends again).

Unroutable messages (unknown id, or a peer at its high-water mark) are dropped, unless
``ROUTER_MANDATORY`` is set: then an unknown id raises ``EHOSTUNREACH`` and a full peer makes
the sender wait (``send`` returns False), as libzmq's EAGAIN does.

The id a peer is routed by is kept in ``peer.routing_id`` (overwriting what the engine
wrote there from READY), so the receive hot path prefixes it without a look-up. Only
identified peers feed the socket's fair-queue (libzmq keeps the others "anonymous").
"""

from __future__ import annotations

import random
from typing import Any, Final, final

from .._constants import EHOSTUNREACH
from .._errors import ZMQError
from .._options import SocketOption
from .._peer import Peer
from ._fair_queue import FairQueue

__all__ = ["RouteById"]

#: Option keys as plain ints: a dict look-up with an ``IntEnum`` key costs twice as much.
_MANDATORY: Final = int(SocketOption.ROUTER_MANDATORY)
_HANDOVER: Final = int(SocketOption.ROUTER_HANDOVER)

_COUNTER_MASK: Final = 0xFFFF_FFFF


@final
class RouteById:
    """The routing ids of a socket's identified peers, and sending by them."""

    __slots__ = ("_by_id", "_ids", "_next_generated", "_options", "_queue")

    def __init__(self, options: dict[int, Any], queue: FairQueue) -> None:
        self._options = options
        #: The receiving side: fed only by identified peers.
        self._queue = queue
        #: Identified peers by routing id: where ``send`` looks.
        self._by_id: dict[bytes, Peer] = {}
        #: The id each identified peer was given (kept across a connect peer's reconnects).
        self._ids: dict[Peer, bytes] = {}
        self._next_generated = random.getrandbits(32)

    # ---------------------------------------------------------------- peers

    def sole_peer(self) -> Peer | None:
        """The identified peer if there is exactly one (the only one that can deliver)."""
        by_id = self._by_id
        if len(by_id) != 1:
            return None
        for peer in by_id.values():
            return peer
        return None

    def identify(self, peer: Peer) -> bool:
        """Give ``peer`` (whose handshake just finished) its routing id; False if it is
        ignored because another peer holds the id it asked for."""
        known = self._ids.get(peer)
        if known is not None:
            # A connect peer's reconnect: libzmq keeps the id the first handshake gave.
            peer.routing_id = known
            return True
        routing_id = peer.routing_id
        if not routing_id:
            routing_id = self._generate()
        else:
            holder = self._by_id.get(routing_id)
            if holder is not None:
                if not self._options[_HANDOVER]:
                    return False
                self._retire(holder)
        peer.routing_id = routing_id
        self._by_id[routing_id] = peer
        self._ids[peer] = routing_id
        if len(peer.inp.queue):
            self._queue.readable(peer)
        return True

    def forget(self, peer: Peer) -> None:
        """``peer`` is detached: nothing more is routed to it. What an identified peer sent
        is still delivered; an ignored peer's messages never will be, so they go now (the
        socket then lets go of the peer)."""
        routing_id = self._ids.pop(peer, None)
        if routing_id is None:
            peer.inp.queue.clear()
        elif self._by_id.get(routing_id) is peer:
            del self._by_id[routing_id]

    def readable(self, peer: Peer) -> None:
        """``peer``'s inbound pipe went from empty to non-empty: receive from it if it is
        identified (an ignored peer's messages stay unread, as libzmq's anonymous pipes)."""
        if peer in self._ids:
            self._queue.readable(peer)

    def _retire(self, peer: Peer) -> None:
        """Handover: ``peer`` loses its id to a newer connection. As libzmq terminates its
        pipe, nothing more is routed to it and what it sent but was not read is dropped."""
        del self._by_id[self._ids.pop(peer)]
        self._queue.discard(peer)
        # Left unread from now on: once its pipe is full its engine stops reading, as
        # libzmq's engine does when its session has no pipe left.
        peer.inp.queue.clear()

    def _generate(self) -> bytes:
        """The next generated id: ``0x00`` + u32be counter (libzmq ``identify_peer``)."""
        while True:
            counter = self._next_generated
            self._next_generated = (counter + 1) & _COUNTER_MASK
            routing_id = b"\x00" + counter.to_bytes(4, "big")
            # libzmq asserts here if a peer chose a 5-byte id starting with zero that the
            # counter then reaches; skipping it keeps the map consistent instead.
            if routing_id not in self._by_id:
                return routing_id

    # ---------------------------------------------------------------- sending

    def send(self, msg: list[bytes]) -> bool:
        """Route ``msg[1:]`` to the peer whose id is ``msg[0]`` (``msg`` is left as given).

        A one-frame message is ignored, as libzmq does. Unroutable: dropped (True), or with
        ``ROUTER_MANDATORY`` ``ZMQError(EHOSTUNREACH)`` for an unknown id and False (wait
        for room) for a full peer.
        """
        # hot path
        if len(msg) < 2:
            return True
        peer = self._by_id.get(msg[0])
        if peer is None:
            if self._options[_MANDATORY]:
                raise ZMQError(EHOSTUNREACH, "no peer with that routing id")
            return True
        out = peer.out
        queued = out.queue.try_push(msg[1:])
        if queued > 0:
            if queued == 1:
                out.on_readable()
            return True
        if self._options[_MANDATORY]:
            out.writer_blocked = True
            return False
        return True

    def send_to(self, routing_id: bytes, msg: list[bytes]) -> None:
        """Queue ``msg`` (the caller's to give away) for the peer with ``routing_id``, or
        drop it silently if there is none or it is full (REP's replies)."""
        peer = self._by_id.get(routing_id)
        if peer is not None:
            peer.out.offer(msg)

    def writable(self) -> bool:
        """libzmq's ``has_out``: always, unless ``ROUTER_MANDATORY``; then whether some
        identified peer has room."""
        if not self._options[_MANDATORY]:
            return True
        return any(not peer.out.queue.full() for peer in self._by_id.values())
