"""Shared by the draft types (CLIENT, SERVER, RADIO, DISH, SCATTER, GATHER, PEER, CHANNEL):
single-frame messages out, and a fair-queue in that drops what the type cannot deliver.

libzmq's draft sockets refuse a multipart send with ``EINVAL`` and silently drop every
multipart message a peer sends them (``client_t::xrecv``, ``gather_t::xrecv``, ...).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import final

from .._errors import ZMQError
from .._message import NO_METADATA
from .._message import Message as MessageWithMetadata
from .._peer import Peer
from ._fair_queue import FairQueue
from ._pattern import Message

__all__ = ["Accept", "FilteredQueue", "check_single_frame", "only_single_frames"]


def check_single_frame(msg: Message) -> None:
    """Raise ``ZMQError(EINVAL)`` for a message of more than one frame, as libzmq's draft
    types do for ``ZMQ_SNDMORE``."""
    if len(msg) != 1:
        raise ZMQError(errno.EINVAL, "this socket type sends single-frame messages only")


#: What a queue's filter makes of a message from a peer: the message to deliver and a tag
#: that goes with it (SERVER's routing id, DISH's group), or None to drop it.
Accept = Callable[[Message, Peer], tuple[Message, object] | None]


def only_single_frames(msg: Message, peer: Peer) -> tuple[Message, object] | None:
    """The filter of CLIENT, GATHER and CHANNEL: drop multipart messages."""
    return (msg, None) if len(msg) == 1 else None


@final
class FilteredQueue:
    """A fair-queue whose messages pass through an :data:`Accept` filter first, which
    drops or rewrites them and tags each with what ``recv_message`` reports (taken when the
    message is, so it holds even once its peer is gone). A message taken to answer
    ``has_message`` is kept for the next ``recv`` (libzmq's prefetch in ``xhas_in``)."""

    __slots__ = ("_accept", "_prefetched", "last_peer", "last_tag", "queue")

    def __init__(self, accept: Accept) -> None:
        self.queue = FairQueue()
        self._accept = accept
        self._prefetched: tuple[Message, object, Peer] | None = None
        #: The peer the message ``recv`` last returned came from, and that message's tag.
        self.last_peer: Peer | None = None
        self.last_tag: object = None

    def attach(self, peer: Peer) -> None:
        """Start receiving from ``peer``."""
        self.queue.attach(peer)

    def readable(self, peer: Peer) -> None:
        """``peer``'s inbound pipe went from empty to non-empty."""
        self.queue.readable(peer)

    def _next(self) -> tuple[Message, object, Peer] | None:
        queue = self.queue
        accept = self._accept
        while True:
            msg = queue.recv()
            if msg is None:
                return None
            peer = queue.last_peer
            assert peer is not None
            accepted = accept(msg, peer)
            if accepted is not None:
                return accepted[0], accepted[1], peer

    def recv(self) -> Message | None:
        """The next deliverable message, or None."""
        taken = self._prefetched
        if taken is not None:
            self._prefetched = None
        else:
            taken = self._next()
            if taken is None:
                return None
        msg, self.last_tag, self.last_peer = taken
        return msg

    def recv_many(self, max_messages: int) -> list[Message]:
        """Up to ``max_messages`` deliverable messages."""
        taken: list[Message] = []
        while len(taken) < max_messages:
            msg = self.recv()
            if msg is None:
                break
            taken.append(msg)
        return taken

    def with_metadata(self, msg: Message) -> MessageWithMetadata:
        """``msg``, just returned by ``recv``, with its peer's metadata and its tag: a
        routing id (SERVER, PEER) or a group (DISH)."""
        tag = self.last_tag
        peer = self.last_peer
        return MessageWithMetadata(
            msg,
            NO_METADATA if peer is None else peer.metadata,
            routing_id=tag if isinstance(tag, int) else None,
            group=tag if isinstance(tag, bytes) else None,
        )

    def has_message(self) -> bool:
        """Whether ``recv`` would return a message now."""
        if self._prefetched is None:
            self._prefetched = self._next()
        return self._prefetched is not None
