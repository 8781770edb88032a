"""CLIENT and SERVER (RFC 41), as libzmq's ``client.cpp`` and ``server.cpp`` behave.

- CLIENT: load-balance out (blocks when every peer is full), fair-queue in.
- SERVER: fair-queue in, each message tagged with its peer's routing id
  (``recv_message().routing_id``); out, ``send(data, routing_id=...)`` picks the peer
  (:mod:`._route_by_number`): an unknown id is ``EHOSTUNREACH``, a full peer blocks.

Both send and receive single frames only (:mod:`._single_frame`).
"""

from __future__ import annotations

import errno
from typing import Any, final

from .._errors import ZMQError
from .._message import Message as MessageWithMetadata
from .._peer import Peer
from ._fair_queued import FairQueued
from ._load_balance import LoadBalance
from ._pattern import Message
from ._route_by_number import RouteByNumber
from ._single_frame import Accept, FilteredQueue, check_single_frame, only_single_frames

__all__ = ["Balanced", "Client", "RoutedByNumber", "Server"]


def _always() -> bool:
    return True


class Balanced(FairQueued[FilteredQueue]):
    """Load-balance out, fair-queue in, through a receive filter: CLIENT, and CHANNEL and
    DGRAM on top of it."""

    single_frame = True

    def __init__(self, options: dict[int, Any], accept: Accept = only_single_frames) -> None:
        super().__init__(options, FilteredQueue(accept))
        self._balance = LoadBalance()
        self.send = self._send
        self.writable = self._balance.writable

    def check(self, msg: Message) -> None:
        """Raise ``ZMQError(EINVAL)`` for a message the type cannot send."""
        check_single_frame(msg)

    def _send(self, msg: Message) -> bool:
        self.check(msg)
        return self._balance.send(msg) is not None

    def attach(self, peer: Peer) -> bool:
        self._balance.attach(peer)
        return super().attach(peer)

    def detach(self, peer: Peer) -> None:
        self._balance.detach(peer)


@final
class Client(Balanced):
    """Round-robin out to peers with room, fair-queued in; single frames only."""


class RoutedByNumber(FairQueued[FilteredQueue]):
    """SERVER, and PEER on top of it: replies go by the routing id a message came with."""

    single_frame = True

    def __init__(self, options: dict[int, Any]) -> None:
        routes = RouteByNumber()
        super().__init__(options, FilteredQueue(routes.tag))
        self._routes = routes
        self.send = self._send_unrouted
        self.writable = _always

    def _send_unrouted(self, msg: Message) -> bool:
        check_single_frame(msg)
        # libzmq reads routing id 0 from a message that was given none: no such peer.
        return self._routes.send_to(0, msg)

    def send_addressed(self, msg: Message, routing_id: int | None, group: bytes | None) -> bool:
        if group is not None:
            raise ZMQError(errno.EINVAL, f"{type(self).__name__.upper()} sockets have no groups")
        check_single_frame(msg)
        return self._routes.send_to(0 if routing_id is None else routing_id, msg)

    def attach(self, peer: Peer) -> bool:
        self._routes.attach(peer)
        return super().attach(peer)

    def detach(self, peer: Peer) -> None:
        self._routes.detach(peer)

    def with_metadata(self, msg: Message) -> MessageWithMetadata:
        return self._queue.with_metadata(msg)


@final
class Server(RoutedByNumber):
    """Fair-queued in with each peer's routing id; out by routing id."""
