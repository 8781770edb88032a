"""``Pattern``: what a socket type does with messages, built from the routing strategies.

A socket holds one pattern. The socket calls ``send``/``recv`` on its hot path and tells the
pattern about peers (``attach``, ``detach``, ``connected``) and their pipes (``readable``);
engines pass subscription commands on (``subscription``); ``setsockopt`` passes options on
(``option_changed``).

The hot-path entries (``send``, ``send_frame``, ``send_many``, ``writable``, ``recv``,
``recv_many``, ``has_message``) are attributes, so a subclass can bind a strategy's method
straight in (``self.send = balance.send``) with no extra call per message. By default they
refuse with ``ENOTSUP`` (sending) or report nothing to receive, as libzmq does for a type
that lacks the direction (``send_frame``: None, ``send`` takes one-frame messages too).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from .._constants import ENOTSUP
from .._core import EncodedBatch
from .._errors import ZMQError
from .._message import NO_METADATA
from .._message import Message as MessageWithMetadata
from .._peer import Peer

__all__ = ["Message", "Pattern", "send_each"]

Message = list[bytes]


class Pattern:
    """Base of every socket type's behaviour."""

    #: How many peers the socket takes at once (PAIR: one); None for any number.
    max_peers: int | None = None
    #: Whether a send writes to the connection at once, from the sending task, when its
    #: engine is idle. True for request/reply, where one message is in flight at a time
    #: and a trip through the writer task would only add latency; streaming types leave
    #: it False so the writer batches many messages into one system call.
    write_through: bool = False
    #: Whether the type sends single frames only (the draft types): ``SNDMORE`` is EINVAL.
    single_frame: bool = False
    #: Whether connections are raw bytes (STREAM): no ZMTP, and a connect endpoint's peer
    #: is attached only while connected (each connection has its own routing id).
    raw: bool = False

    send: Callable[[Message], object]
    """Queue a message; a false result means it must wait for room (strategies return the
    peer that took it). Raises ``ZMQError`` on misuse."""
    send_frame: Callable[[bytes], object] | None
    """Queue a message of one frame given alone, as ``send([frame])`` would, for a pattern
    that needs no list made for it (PUSH with one peer); None: ``send`` takes it."""
    send_many: Callable[[list[Message]], int]
    """Queue messages from the front of a list as ``send`` would; return how many."""
    takes_encoded: Callable[[], bool]
    """Whether ``send_encoded`` may queue now (``send_batch`` then encodes its messages
    once, as one run, instead of queuing them one by one)."""
    send_encoded: Callable[[EncodedBatch, int], int]
    """Queue messages of an encoded batch from a start index on as ``send_many`` would, as
    runs; return how many. Only while ``takes_encoded()``."""
    writable: Callable[[], bool]
    """Whether ``send`` would queue a message now (``POLLOUT``)."""
    recv: Callable[[], Message | None]
    """Take the next message for the application, or ``None`` if there is none."""
    recv_many: Callable[[int], list[Message]]
    """Take up to that many messages (possibly none)."""
    has_message: Callable[[], bool]
    """Whether ``recv`` would return a message now (``POLLIN``)."""

    def __init__(self, options: dict[int, Any]) -> None:
        #: The socket's live option values, read where behaviour depends on them.
        self.options = options
        self.send = self._cannot_send
        self.send_frame = None
        self.send_many = self._send_each
        self.takes_encoded = _never
        self.send_encoded = self._cannot_send_encoded
        self.writable = _never
        self.recv = self._cannot_receive
        self.recv_many = self._recv_each
        self.has_message = _never

    def send_addressed(self, msg: Message, routing_id: int | None, group: bytes | None) -> bool:
        """``send`` to a routing id (SERVER, PEER) or a group (RADIO); EINVAL elsewhere."""
        raise ZMQError(
            errno.EINVAL, f"{type(self).__name__.upper()} sockets take no routing id or group"
        )

    # ---------------------------------------------------------------- peers

    def attach(self, peer: Peer) -> bool:
        """Start routing through ``peer``; False refuses it (the connection is dropped)."""
        return True

    def detach(self, peer: Peer) -> None:
        """Stop routing through ``peer`` (its connection ended or the socket closes)."""

    def pipes_replaced(self, peer: Peer) -> None:
        """``peer``'s pipes were replaced while it is attached (an inproc link to another
        loop's socket): a pattern that holds them (the one-peer paths of PUSH, PULL and SUB) takes
        the new ones."""

    def connecting(self, peer: Peer) -> None:
        """``connect`` made ``peer`` for a new endpoint (STREAM takes CONNECT_ROUTING_ID)."""

    def connected(self, peer: Peer) -> None:
        """``peer`` finished a handshake (called on every reconnect, after ``attach``)."""

    def readable(self, peer: Peer) -> None:
        """``peer``'s inbound pipe went from empty to non-empty."""

    def direct_peer(self) -> Peer | None:
        """The one peer a receive that must wait waits for, if only one can deliver what
        it waits for: the socket's receiving task then reads that peer's connection in
        place. None (the default) if any of several peers may."""
        return None

    def received_from(self) -> Peer | None:
        """The peer the message ``recv`` last returned came from; None if unknown."""
        return None

    def with_metadata(self, msg: Message) -> MessageWithMetadata:
        """``msg``, just returned by ``recv``, with its connection's metadata (for
        ``recv_message``); patterns that route by number or group add those here."""
        peer = self.received_from()
        return MessageWithMetadata(msg, NO_METADATA if peer is None else peer.metadata)

    def subscription(self, peer: Peer, topic: bytes, subscribe: bool) -> None:
        """``peer`` sent a SUBSCRIBE (or CANCEL) command; ignored unless publishing."""

    # ---------------------------------------------------------------- options

    def option_changed(self, option: int, value: int | bytes) -> None:
        """``setsockopt(option, value)`` passed validation (``value`` normalised) and is
        about to be stored in ``options``: act on it now if it does something (SUBSCRIBE),
        or raise ``ZMQError`` to refuse it."""

    # ---------------------------------------------------------------- defaults

    def _cannot_send(self, msg: Message) -> bool:
        raise ZMQError(ENOTSUP, f"{type(self).__name__.upper()} sockets cannot send")

    def _cannot_send_encoded(self, batch: EncodedBatch, start: int) -> int:
        raise ZMQError(ENOTSUP, f"{type(self).__name__.upper()} sockets take no encoded runs")

    def _cannot_receive(self) -> Message | None:
        raise ZMQError(ENOTSUP, f"{type(self).__name__.upper()} sockets cannot receive")

    def _send_each(self, msgs: list[Message]) -> int:
        return send_each(self.send, msgs)

    def _recv_each(self, max_messages: int) -> list[Message]:
        taken: list[Message] = []
        while len(taken) < max_messages:
            msg = self.recv()
            if msg is None:
                break
            taken.append(msg)
        return taken


def _never() -> bool:
    return False


def send_each(send: Callable[[Message], object], msgs: list[Message]) -> int:
    """Queue messages from the front of ``msgs`` one by one until ``send`` refuses one;
    return how many were queued (the batch form of any ``send``)."""
    sent = 0
    for msg in msgs:
        if not send(msg):
            break
        sent += 1
    return sent
