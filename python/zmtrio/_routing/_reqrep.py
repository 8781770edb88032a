"""REQ, REP, DEALER and ROUTER (RFC 28), as libzmq's ``req.cpp``, ``rep.cpp``,
``dealer.cpp`` and ``router.cpp`` behave.

- DEALER: load-balance out (blocks when every peer is full), fair-queue in, messages as
  they are.
- ROUTER: fair-queue in, each message prefixed with its peer's routing id; out, the first
  frame picks the peer (:mod:`._route_by_id`).
- REQ: a DEALER that wraps each request in an envelope (:mod:`._envelope`) and alternates
  strictly: send, then receive the reply, from the peer the request went to only.
- REP: a ROUTER that keeps each request's envelope for its reply and alternates strictly:
  receive, then send. Replies never block: an unreachable or full peer loses its reply
  (``ROUTER_MANDATORY``, which libzmq lets a REP set, changes nothing here).

Wrong order raises ``ZMQError(EFSM)`` before anything changes.

``PROBE_ROUTER`` (DEALER, REQ, ROUTER, and REP, a ROUTER in libzmq) queues an empty message
for each new pipe before anything else goes in it, as libzmq's ``xattach_pipe`` does: once
per accepted connection, and once per connect endpoint (at ``connect`` time, so it goes out
first when the connection comes up; libzmq keeps a connect endpoint's pipe across
reconnects and does not probe again). libzmq only flushes an accepted connection's probe
with the next message sent to it; zmtrio sends it at once.
"""

from __future__ import annotations

import random
from typing import Any, Final, final

from .._constants import EFSM
from .._errors import ZMQError
from .._options import SocketOption
from .._peer import Peer
from ._envelope import envelope_end, reply_body, request, request_id_frame
from ._fair_queue import FairQueue
from ._fair_queued import FairQueued
from ._load_balance import LoadBalance
from ._pattern import Message, Pattern
from ._route_by_id import RouteById

__all__ = ["Dealer", "Rep", "Req", "Router"]

#: Option keys as plain ints: a dict look-up with an ``IntEnum`` key costs twice as much.
_PROBE_ROUTER: Final = int(SocketOption.PROBE_ROUTER)
_REQ_RELAXED: Final = int(SocketOption.REQ_RELAXED)
_REQ_CORRELATE: Final = int(SocketOption.REQ_CORRELATE)

_REQUEST_ID_MASK: Final = 0xFFFF_FFFF


def _probe(options: dict[int, Any], peer: Peer) -> None:
    """With PROBE_ROUTER, queue an empty message for a newly attached peer (dropped if its
    pipe is full, as libzmq does)."""
    if options[_PROBE_ROUTER]:
        peer.out.offer([b""])


class Dealer(FairQueued[FairQueue]):
    """Round-robin out to peers with room (blocks when none has), fair-queued in."""

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options, FairQueue())
        self._balance = LoadBalance()
        self.send = self._balance.send
        self.send_many = self._balance.send_many
        self.takes_encoded = self._balance.takes_encoded
        self.send_encoded = self._balance.send_encoded
        self.writable = self._balance.writable

    def attach(self, peer: Peer) -> bool:
        _probe(self.options, peer)
        self._balance.attach(peer)
        return super().attach(peer)

    def detach(self, peer: Peer) -> None:
        self._balance.detach(peer)


@final
class Req(Dealer):
    """Requests round-robin, each followed by exactly one reply from the same peer (a
    DEALER underneath, as libzmq's ``req_t``).

    ``REQ_RELAXED`` allows a new request before the reply (a late reply to the earlier one
    is then dropped); ``REQ_CORRELATE`` adds a request id frame and accepts only replies
    that carry it back.
    """

    write_through = True

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        #: Whether a request went out and its reply was not received yet.
        self._receiving_reply = False
        #: Where the pending request went; None if that peer is gone (libzmq then takes a
        #: reply from any peer).
        self._reply_peer: Peer | None = None
        #: The id frame the pending request carried (REQ_CORRELATE), else None.
        self._expected_id: bytes | None = None
        #: Incremented before each correlated request; starts random, as libzmq's.
        self._request_id = random.getrandbits(32)
        # REQ_RELAXED and REQ_CORRELATE, kept as attributes (``option_changed``) since
        # every request reads them.
        self._relaxed = bool(options[_REQ_RELAXED])
        self._correlate = bool(options[_REQ_CORRELATE])
        self.send = self._send
        self.send_many = self._send_each  # each request goes through the envelope
        self.writable = self._writable
        self.recv = self._recv
        self.recv_many = self._recv_many
        self.has_message = self._has_message

    def detach(self, peer: Peer) -> None:
        super().detach(peer)
        if peer is self._reply_peer:
            self._reply_peer = None

    def direct_peer(self) -> Peer | None:
        # Only the peer the request went to may answer it.
        return self._reply_peer

    def option_changed(self, option: int, value: int | bytes) -> None:
        if option == _REQ_RELAXED:
            self._relaxed = bool(value)
        elif option == _REQ_CORRELATE:
            self._correlate = bool(value)

    def _send(self, msg: Message) -> bool:
        # hot path
        if self._receiving_reply and not self._relaxed:
            raise ZMQError(EFSM, "a REQ socket must receive the reply before sending again")
        if self._correlate:
            request_id = (self._request_id + 1) & _REQUEST_ID_MASK
            id_frame: bytes | None = request_id_frame(request_id)
        else:
            id_frame = None
        # As libzmq: drop whatever is already queued, so a stray or late reply (to a
        # relaxed earlier request) is never taken for this request's. Before the request
        # is queued (libzmq drains before its last frame is sent): a peer in another
        # thread may answer it at once, and that answer must stay.
        recv = self._queue.recv
        while recv() is not None:
            pass
        peer = self._balance.send(request(msg, id_frame))
        if peer is None:
            return False
        if id_frame is not None:
            self._request_id = request_id
        self._expected_id = id_frame
        self._reply_peer = peer
        self._receiving_reply = True
        return True

    def _recv(self) -> Message | None:
        # hot path
        if not self._receiving_reply:
            raise ZMQError(EFSM, "a REQ socket must send a request before receiving")
        queue = self._queue
        while True:
            reply = queue.recv()
            if reply is None:
                return None
            peer = queue.last_peer
            reply_peer = self._reply_peer
            if reply_peer is not None and peer is not reply_peer:
                continue
            body = reply_body(reply, self._expected_id)
            if body is None:
                continue
            self._receiving_reply = False
            self._reply_peer = None
            return body

    def _recv_many(self, max_messages: int) -> list[Message]:
        # At most the one reply; nothing (rather than EFSM) once it was taken, so a batch
        # receive ends cleanly after it.
        if max_messages < 1 or not self._receiving_reply:
            return []
        reply = self._recv()
        return [] if reply is None else [reply]

    def _has_message(self) -> bool:
        return self._receiving_reply and self._queue.has_message()

    def _writable(self) -> bool:
        if self._receiving_reply and not self._relaxed:
            return False
        return self._balance.writable()


class _RoutedById(Pattern):
    """Peers identified by routing id and reached by it: ROUTER, and REP, which libzmq
    builds on a ROUTER (a peer reusing an id in use is ignored, and a reply reaches a
    client that reconnected with the same identity)."""

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        self._queue = FairQueue()
        self._routes = RouteById(options, self._queue)

    def attach(self, peer: Peer) -> bool:
        # Not routable yet: its id is known once its handshake is done (``connected``).
        _probe(self.options, peer)
        return True

    def connected(self, peer: Peer) -> None:
        self._routes.identify(peer)

    def detach(self, peer: Peer) -> None:
        self._routes.forget(peer)

    def readable(self, peer: Peer) -> None:
        self._routes.readable(peer)

    def received_from(self) -> Peer | None:
        return self._queue.last_peer


@final
class Router(_RoutedById):
    """Receives ``[routing_id, *frames]`` from any peer; sends ``[routing_id, *frames]``
    to the peer with that id."""

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        self.send = self._routes.send
        self.writable = self._routes.writable
        self.recv = self._recv
        self.has_message = self._queue.has_message

    def _recv(self) -> Message | None:
        # hot path
        queue = self._queue
        msg = queue.recv()
        if msg is None:
            return None
        peer = queue.last_peer
        assert peer is not None
        return [peer.routing_id, *msg]


@final
class Rep(_RoutedById):
    """Receives one request at a time (fair-queued, envelope stripped) and sends its reply
    back along the envelope; a request without an envelope is dropped."""

    write_through = True

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        #: Whether a request was received and its reply not sent yet.
        self._sending_reply = False
        self._reply_to = b""
        self._envelope: list[bytes] = []
        self.send = self._send
        self.writable = self._writable
        self.recv = self._recv
        self.recv_many = self._recv_many
        self.has_message = self._has_message

    def direct_peer(self) -> Peer | None:
        # With one client, only it can send the next request.
        return self._routes.sole_peer()

    def _recv(self) -> Message | None:
        # hot path
        if self._sending_reply:
            raise ZMQError(EFSM, "a REP socket must send the reply before receiving again")
        queue = self._queue
        while True:
            msg = queue.recv()
            if msg is None:
                return None
            peer = queue.last_peer
            assert peer is not None
            end = envelope_end(msg)
            if not end:
                continue
            self._envelope = msg[:end]
            self._reply_to = peer.routing_id
            self._sending_reply = True
            return msg[end:]

    def _send(self, msg: Message) -> bool:
        # hot path
        if not self._sending_reply:
            raise ZMQError(EFSM, "a REP socket must receive a request before replying")
        self._sending_reply = False
        self._routes.send_to(self._reply_to, self._envelope + msg)
        return True

    def _recv_many(self, max_messages: int) -> list[Message]:
        # At most the one request; nothing (rather than EFSM) once it was taken, so a batch
        # receive ends cleanly after it.
        if max_messages < 1 or self._sending_reply:
            return []
        msg = self._recv()
        return [] if msg is None else [msg]

    def _has_message(self) -> bool:
        return not self._sending_reply and self._queue.has_message()

    def _writable(self) -> bool:
        return self._sending_reply
