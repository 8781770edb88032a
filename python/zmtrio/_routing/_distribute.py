"""Distribute: copy each message to every matching peer (libzmq ``dist_t``).

Used by PUB and XPUB (to the peers whose subscriptions match the first frame) and by XSUB
(upstream, to every publisher). A peer whose pipe is full loses the message, and, as in
libzmq, keeps losing them until its pipe has drained to the low-water mark: libzmq takes a
pipe that refused a write out of the active set until the reader reports progress. Here
the pipe's ``writer_blocked`` flag is that state (its consumer clears it at the low-water
mark), so the check costs one attribute read per peer. With ``lossy`` off (XPUB_NODROP) a
message goes to all matching peers or, if any of them is full, to none, and the sender waits.

A message for several peers is framed once (``_core.encode_message``) and the same ``bytes``
queued for each peer whose engine writes frames in clear (``Peer.shares_encoding``); the
others (inproc, CURVE) get the frames and encode them per connection.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import final

from .._core import encode_message
from .._peer import Peer
from ._pattern import Message, send_each
from ._subscriptions import SubscriptionIndex

__all__ = ["Distribute", "push_one"]


@final
class Distribute:
    """Fan-out to the peers that match a message, dropping per peer at the high-water mark."""

    __slots__ = ("_index", "_peers", "lossy")

    def __init__(self, index: SubscriptionIndex) -> None:
        self._index = index
        self._peers: list[Peer] = []
        #: False (XPUB_NODROP): refuse a message some matching peer has no room for.
        self.lossy = True

    @property
    def peers(self) -> list[Peer]:
        """The attached peers, in attach order."""
        return self._peers

    def attach(self, peer: Peer) -> None:
        """Start sending to ``peer`` (once it subscribes, for ``send``)."""
        self._peers.append(peer)

    def detach(self, peer: Peer) -> None:
        """Stop sending to ``peer``."""
        self._peers.remove(peer)

    def send(self, msg: Message) -> bool:
        """Queue ``msg`` for each peer subscribed to a prefix of its first frame. Always
        True (the message is dropped for full peers) unless ``lossy`` is off and a matching
        peer is full: then nothing is queued and False says wait."""
        # hot path (PUB/XPUB send)
        index = self._index
        peers = index.everyone() or index.match(msg[0])
        if peers is None:
            return True
        if not self.lossy:
            return _push_all_or_none(peers, msg)
        push_one(peers, msg)
        return True

    def send_many(self, msgs: list[Message]) -> int:
        """Queue messages from the front of ``msgs`` as ``send`` would; return how many.

        Consecutive messages that match the same peers go to each of them in one call
        (the common case: everyone subscribed to everything).
        """
        if not self.lossy:
            return send_each(self.send, msgs)
        total = len(msgs)
        everyone = self._index.everyone()
        if everyone is not None:
            _push_run(everyone, msgs)
            return total
        match = self._index.match
        start = 0
        peers = match(msgs[0][0]) if total else None
        while start < total:
            end = start + 1
            following = None
            # The index hands out its own set when one topic matches, so identity means
            # "same peers" (a union builds a new set, ending the run: still correct).
            while end < total:
                following = match(msgs[end][0])
                if following is not peers:
                    break
                end += 1
            if peers is not None:
                if end - start == 1:
                    push_one(peers, msgs[start])
                else:
                    _push_run(peers, msgs[start:end] if start or end < total else msgs)
            start = end
            peers = following
        return total

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


def _push_all_or_none(peers: set[Peer], msg: Message) -> bool:
    """XPUB_NODROP: queue ``msg`` for all of ``peers`` if every one has room, else none
    (the full peer is marked so that draining it wakes the waiting sender)."""
    for peer in peers:
        out = peer.out
        if out.queue.full():
            out.writer_blocked = True
            return False
    for peer in peers:
        peer.out.offer(msg)
    return True


def _push_run(peers: set[Peer], run: list[Message]) -> None:
    """Queue a run of messages for each of ``peers``: what fits, the rest dropped; each
    message encoded once for the peers that share encodings, when there are several."""
    shared = len(peers) > 1
    encoded: list[bytes] | None = None
    for peer in peers:
        out = peer.out
        if out.writer_blocked:
            continue  # still draining after a drop: keep dropping
        if shared and peer.shares_encoding:
            if encoded is None:
                encoded = [encode_message(msg) for msg in run]
            out.push_run(encoded)
        else:
            out.push_run(run)
