"""A peer as a socket's routing sees it: a pipe each way and what identifies it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import final

from ._message import NO_METADATA
from ._pipe import Pipe

__all__ = ["Peer", "ignore_subscription"]


def _nothing() -> None:
    pass


def ignore_subscription(topic: bytes, subscribe: bool) -> None:
    """What a peer does with subscriptions while nothing carries them (not connected):
    they are re-sent on every connect."""


@final
class Peer:
    """One attached peer: ``out`` carries messages to it, ``inp`` messages from it.

    The routing strategies keep their per-peer bookkeeping here (``attached``, ``in_ready``)
    so the hot path does no dictionary look-ups.
    """

    __slots__ = (
        "attached",
        "endpoint",
        "flushing",
        "in_ready",
        "inp",
        "keep_attached",
        "metadata",
        "on_drained",
        "out",
        "routing_id",
        "send_subscription",
        "shares_encoding",
        "unlink",
    )

    def __init__(self, out: Pipe, inp: Pipe, endpoint: str) -> None:
        self.out = out
        self.inp = inp
        self.endpoint = endpoint
        self.routing_id = b""
        #: Whether the routing strategies currently count this peer.
        self.attached = False
        #: Whether the fair-queue has this peer in its ready ring.
        self.in_ready = False
        #: Whether an engine is writing a buffer taken from ``out`` (linger waits for it).
        self.flushing = False
        #: Called by the engine each time it has written everything ``out`` held (a
        #: lingering close waits for that).
        self.on_drained: Callable[[], None] = _nothing
        #: A connect endpoint's peer stays attached between connections (IMMEDIATE off).
        self.keep_attached = False
        #: Whether ``out`` may carry a message as one ``bytes`` from ``_core.encode_message``
        #: (an engine that writes frames in clear), for fan-out to share one encoding.
        self.shares_encoding = False
        #: For inproc: ends the other socket's side of this link (None for a connection
        #: served by an engine).
        self.unlink: Callable[[], None] | None = None
        #: Sends a (un)subscription to this peer: set by its engine, or by inproc.
        self.send_subscription: Callable[[bytes, bool], None] = ignore_subscription
        #: What ``recv_message`` reports with this peer's messages: set by its engine once
        #: a handshake finishes (inproc peers have none, as in libzmq).
        self.metadata: Mapping[str, str] = NO_METADATA

    def __repr__(self) -> str:
        return f"<Peer {self.endpoint} out={len(self.out.queue)} in={len(self.inp.queue)}>"
