"""Fair-queue: receive one message from each peer that has some, in turn (libzmq fq_t)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import final

from .._core import Inlet
from .._peer import Peer

__all__ = ["FairQueue"]


@final
class FairQueue:
    """A ring of peers whose inbound pipe may hold messages.

    A peer enters the ring when its pipe goes from empty to non-empty (``readable``) and
    leaves it when found empty. A detached peer's messages that already arrived are still
    delivered: a peer that sent and hung up loses nothing.

    A pattern that sets ``on_receiver_changed`` (PULL) calls ``receiver`` per message
    instead of ``recv``: while one peer is attached and no other has messages waiting,
    that is the ``recv`` of an ``Inlet`` of the peer, which takes its messages in one Rust
    call (no Python frame, about 500 instructions fewer per message) and leaves the ring
    as it is (the peer stays in it, and ``recv`` drops it once found empty).
    """

    __slots__ = ("_attached", "_ready", "_single", "last_peer", "on_receiver_changed", "receiver")

    def __init__(self) -> None:
        self._ready: deque[Peer] = deque()
        #: The peer the message ``recv`` last returned came from (REQ, REP and ROUTER
        #: need it, as libzmq's ``fq_t::recvpipe``).
        self.last_peer: Peer | None = None
        self._attached: list[Peer] = []
        #: The peer ``receiver`` takes from alone, if it does.
        self._single: Peer | None = None
        #: What to call for the next message (see the class's comment).
        self.receiver: Callable[[], list[bytes] | None] = self.recv
        #: Called when ``receiver`` changed; None: nobody uses it, so it is not kept up.
        self.on_receiver_changed: Callable[[], None] | None = None

    def attach(self, peer: Peer) -> None:
        """Start receiving from ``peer`` (messages may already be waiting)."""
        if len(peer.inp.queue):
            self.readable(peer)
        if self.on_receiver_changed is not None:
            self._attached.append(peer)
            self._choose_receiver()

    def detach(self, peer: Peer) -> None:
        """``peer`` is gone: the ring drops it once its pipe is drained. (Only a pattern
        that uses ``receiver`` must call this.)"""
        if peer in self._attached:
            self._attached.remove(peer)
            self._choose_receiver()

    def discard(self, peer: Peer) -> None:
        """Stop receiving from ``peer`` at once, even what it already sent (a ROUTER
        handing its id over to a newer connection)."""
        if peer.in_ready:
            peer.in_ready = False
            self._ready.remove(peer)
            self._choose_receiver()

    def readable(self, peer: Peer) -> None:
        """``peer``'s inbound pipe went from empty to non-empty."""
        if not peer.in_ready:
            peer.in_ready = True
            self._ready.append(peer)
            if self._single is not None and peer is not self._single:
                self._choose_receiver()

    def _choose_receiver(self) -> None:
        """Serve one attached peer through an ``Inlet`` while no other has messages in the
        ring; else through ``recv``."""
        changed = self.on_receiver_changed
        if changed is None:
            return
        attached = self._attached
        single = attached[0] if len(attached) == 1 else None
        if single is not None and any(peer is not single for peer in self._ready):
            single = None
        if single is self._single:
            return
        self._single = single
        if single is None:
            self.receiver = self.recv
        else:
            self.receiver = Inlet(single.inp).recv
            self.last_peer = single  # every message from now on is this peer's
        changed()

    def pipes_replaced(self, peer: Peer) -> None:
        """``peer``'s pipes were replaced (see ``Pattern.pipes_replaced``)."""
        changed = self.on_receiver_changed
        if changed is not None and peer is self._single:
            self.receiver = Inlet(peer.inp).recv
            changed()

    def recv(self) -> list[bytes] | None:
        """Take the next message in fair order, or ``None`` if no peer has one."""
        # hot path
        ready = self._ready
        while ready:
            peer = ready[0]
            inp = peer.inp
            msg = inp.queue.pop()
            if msg is None:
                ready.popleft()
                peer.in_ready = False
                if self.on_receiver_changed is not None:
                    self._choose_receiver()
                continue
            if len(ready) > 1:
                ready.rotate(-1)
            # inp.consumed() inlined: its reader stays blocked for half a queue of messages
            # (hysteresis), and a call each measured ~300 instructions of a 64 B recv.
            if inp.writer_blocked and len(inp.queue) <= inp.lwm:
                inp.writer_blocked = False
                inp.on_writable()
            self.last_peer = peer
            return msg
        return None

    def recv_many(self, max_messages: int) -> list[list[bytes]]:
        """Take up to ``max_messages`` messages, a run from each ready peer in turn (a new
        list, the caller's to keep)."""
        ready = self._ready
        taken: list[list[bytes]] | None = None
        wanted = max_messages
        while ready and wanted:
            peer = ready[0]
            inp = peer.inp
            batch = inp.queue.pop_many(wanted)
            if not batch:
                # Found empty (which a ring needs to see before its next push wakes us).
                ready.popleft()
                peer.in_ready = False
                continue
            if len(ready) > 1:
                ready.rotate(-1)
            if inp.writer_blocked:
                inp.consumed()
            if taken is None:
                taken = batch  # one peer's run, the usual case: handed out as it is
            else:
                taken.extend(batch)
            wanted = max_messages - len(taken)
        return [] if taken is None else taken

    def has_message(self) -> bool:
        """Whether ``recv`` would return a message now."""
        return any(len(peer.inp.queue) for peer in self._ready)
