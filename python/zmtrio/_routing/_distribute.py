"""Distribute: copy each message to every peer (libzmq ``dist_t``), for XSUB's upstream.

A peer whose pipe is full loses the message, and, as in libzmq, keeps losing them until its
pipe has drained to the low-water mark: libzmq takes a pipe that refused a write out of the
active set until the reader reports progress. Here the pipe's ``writer_blocked`` flag is
that state (its consumer clears it at the low-water mark), so the check costs one attribute
read per peer. A message for several peers is framed once (``_core.encode_message``) and the
same ``bytes`` queued for each peer whose engine writes frames in clear
(``Peer.shares_encoding``); the others (inproc, CURVE) get the frames.

Publishers (PUB, XPUB) fan out in Rust instead (``_core.FanOut``), matching subscriptions
there too.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import final

from .._core import encode_message
from .._peer import Peer
from ._pattern import Message

__all__ = ["Distribute", "push_one"]


@final
class Distribute:
    """Fan-out to every attached peer, dropping per peer at the high-water mark."""

    __slots__ = ("_peers",)

    def __init__(self) -> None:
        self._peers: list[Peer] = []

    @property
    def peers(self) -> list[Peer]:
        """The attached peers, in attach order."""
        return self._peers

    def attach(self, peer: Peer) -> None:
        """Start sending to ``peer``."""
        self._peers.append(peer)

    def detach(self, peer: Peer) -> None:
        """Stop sending to ``peer``."""
        self._peers.remove(peer)

    def send_to_all(self, msg: Message) -> None:
        """Queue ``msg`` for every attached peer with room (XSUB upstream)."""
        push_one(self._peers, msg)


def push_one(peers: Collection[Peer], msg: Message) -> None:
    """Queue ``msg`` for each of ``peers`` that has room; drop it for the others. Peers
    that share encodings get one ``bytes`` encoded once, when there are several peers."""
    # hot path
    shared = len(peers) > 1
    encoded: bytes | None = None
    for peer in peers:
        out = peer.out
        if out.writer_blocked:
            continue  # still draining after a drop: libzmq keeps dropping until the LWM
        if shared and peer.shares_encoding:
            if encoded is None:
                encoded = encode_message(msg)
            queued = out.queue.try_push(encoded)
        else:
            queued = out.queue.try_push(msg)
        if queued == 1:
            out.on_readable()
        elif queued < 0:
            out.writer_blocked = True
