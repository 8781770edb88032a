"""Load-balance: send each message to the next attached peer that has room (libzmq lb_t)."""

from __future__ import annotations

from collections.abc import Callable
from typing import final

from .._core import EncodedBatch, Outlet
from .._peer import Peer
from ._pattern import send_each

__all__ = ["LoadBalance"]


@final
class LoadBalance:
    """Round-robin over attached peers, skipping those whose pipe is at its high-water mark."""

    __slots__ = ("_next", "_only", "_peers", "frame_sender", "sender")

    def __init__(self) -> None:
        self._peers: list[Peer] = []
        self._next = 0
        #: The peer when exactly one is attached (the common case: a PUSH connected to
        #: one PULL), which ``send`` serves without the round-robin bookkeeping.
        self._only: Peer | None = None
        #: What a pattern that needs no peer back (PUSH) calls per message: ``send``, or
        #: with one peer the ``send`` of an ``Outlet`` to it, which does the same in one
        #: Rust call (no Python frame: about 600 instructions fewer per message) and, to a
        #: connection that writes frames in clear, frames small messages onto one run for
        #: its writer (see ``_core.Outlet``).
        self.sender: Callable[[list[bytes]], object] = self.send
        #: With one peer, that ``Outlet``'s ``send_frame`` (a message of one frame given
        #: alone: no list is made for it if it goes onto a run); else None.
        self.frame_sender: Callable[[bytes], object] | None = None

    def attach(self, peer: Peer) -> None:
        """Start sending to ``peer``."""
        self._peers.append(peer)
        self._peers_changed()

    def detach(self, peer: Peer) -> None:
        """Stop sending to ``peer``; what is queued for it stays with its pipe."""
        index = self._peers.index(peer)
        del self._peers[index]
        if index < self._next:
            self._next -= 1
        self._peers_changed()

    def _peers_changed(self) -> None:
        peers = self._peers
        self._only = peers[0] if len(peers) == 1 else None
        if self._only is not None:
            # As libzmq's lb_t, whose cursor is always 0 with one active pipe: a peer
            # attached next is served after this one.
            self._next = 0
            self._use_outlet(self._only)
        else:
            self.sender = self.send
            self.frame_sender = None

    def connected(self, peer: Peer) -> None:
        """``peer`` finished a handshake: whether its connection takes runs is known now
        (a connect endpoint's peer is attached before its first one)."""
        if peer is self._only:
            self._use_outlet(peer)

    def pipes_replaced(self, peer: Peer) -> None:
        """``peer``'s pipes were replaced (see ``Pattern.pipes_replaced``)."""
        if peer is self._only:
            self._use_outlet(peer)

    def _use_outlet(self, peer: Peer) -> None:
        """Send through an ``Outlet`` to ``peer``, framing onto runs if its pipe goes to a
        connection that writes frames in clear (not to another socket: inproc)."""
        outlet = Outlet(peer.out, peer.shares_encoding)
        self.sender = outlet.send
        self.frame_sender = outlet.send_frame

    def send(self, msg: list[bytes]) -> Peer | None:
        """Queue ``msg`` for the next peer with room and return that peer (REQ needs to know
        it, as libzmq's ``lb_t::sendpipe``); None if every peer is full, or there is none."""
        # hot path: one peer, no cursor (about 25 bytecodes fewer a message than the loop)
        only = self._only
        if only is not None:
            out = only.out
            queued = out.queue.try_push(msg)
            if queued > 0:
                if queued == 1:
                    out.on_readable()
                return only
            out.writer_blocked = True
            return None
        # (a while loop: a range() per message measured ~1,000 instructions)
        peers = self._peers
        count = len(peers)
        index = self._next
        tries = count
        while tries:
            if index >= count:
                index = 0
            peer = peers[index]
            index += 1
            out = peer.out
            queued = out.queue.try_push(msg)
            if queued > 0:
                self._next = index
                if queued == 1:
                    out.on_readable()
                return peer
            out.writer_blocked = True
            tries -= 1
        self._next = index
        return None

    def send_many(self, msgs: list[list[bytes]]) -> int:
        """Queue messages from the front of ``msgs`` as ``send`` would; return how many."""
        if self._only is not None:
            # One peer: a single Rust call queues the whole prefix that fits.
            return self._only.out.push_run(msgs)
        return send_each(self.send, msgs)

    def takes_encoded(self) -> bool:
        """Whether ``send_encoded`` may queue now: one peer, whose engine writes frames in
        clear (with more, each message goes to the next peer)."""
        peers = self._peers
        return len(peers) == 1 and peers[0].shares_encoding

    def send_encoded(self, batch: EncodedBatch, start: int) -> int:
        """Queue the messages of ``batch`` from ``start`` on that fit for the one peer, as one
        run (``takes_encoded`` must hold); return how many."""
        out = self._peers[0].out
        queue = out.queue
        was_empty = not len(queue)
        queued = queue.push_encoded(batch, start)
        if queued < len(batch) - start:
            out.writer_blocked = True
        if queued and was_empty:
            out.on_readable()
        return queued

    def writable(self) -> bool:
        """Whether ``send`` would queue a message now."""
        return any(not peer.out.queue.full() for peer in self._peers)

    @property
    def peers(self) -> list[Peer]:
        """The attached peers, in round-robin order."""
        return self._peers
