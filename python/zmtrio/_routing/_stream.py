"""STREAM (libzmq's ``stream.cpp``): a ZeroMQ socket over plain tcp, no ZMTP.

Every message is ``[routing_id, data]``. Each connection gets a routing id when it is up:
``0x00`` and a 32-bit big-endian counter that starts at a random value, or the
``CONNECT_ROUTING_ID`` set before ``connect`` (then cleared). What arrives comes in chunks
as the kernel hands them over; with ``STREAM_NOTIFY`` (default on) ``[routing_id, b""]``
announces a connection and its end (the raw engine queues those). Sending ``[routing_id,
data]`` writes ``data``; ``[routing_id, b""]`` closes that connection after what was queued
before it. An unknown routing id is ``EHOSTUNREACH``; a full connection makes the sender
wait. Frames after the second are ignored and a lone frame is dropped, as libzmq does.
"""

from __future__ import annotations

import errno
import random
from typing import Any, Final, final

from .._constants import EHOSTUNREACH
from .._errors import ZMQError
from .._options import SocketOption
from .._peer import Peer
from ._fair_queue import FairQueue
from ._fair_queued import FairQueued
from ._pattern import Message

__all__ = ["Stream"]

_CONNECT_ROUTING_ID: Final = int(SocketOption.CONNECT_ROUTING_ID)
_COUNTER_MASK: Final = 0xFFFF_FFFF


def _always() -> bool:
    return True


@final
class Stream(FairQueued[FairQueue]):
    """Routes ``[routing_id, data]`` to raw connections; receives the same."""

    raw = True

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options, FairQueue())
        self._by_id: dict[bytes, Peer] = {}
        #: Ids set with CONNECT_ROUTING_ID for a connect's first connection.
        self._chosen: dict[Peer, bytes] = {}
        self._next_generated = random.getrandbits(32)
        self.send = self._send
        self.writable = _always

    def connecting(self, peer: Peer) -> None:
        chosen = self.options[_CONNECT_ROUTING_ID]
        if not chosen:
            return
        if chosen in self._by_id or chosen in self._chosen.values():
            raise ZMQError(errno.EINVAL, f"routing id {chosen!r} is in use")
        self._chosen[peer] = chosen
        self.options[_CONNECT_ROUTING_ID] = b""

    def attach(self, peer: Peer) -> bool:
        routing_id = self._chosen.pop(peer, b"")
        if not routing_id or routing_id in self._by_id:
            while True:
                counter = self._next_generated
                self._next_generated = (counter + 1) & _COUNTER_MASK
                routing_id = b"\x00" + counter.to_bytes(4, "big")
                if routing_id not in self._by_id:
                    break
        peer.routing_id = routing_id
        self._by_id[routing_id] = peer
        return super().attach(peer)

    def detach(self, peer: Peer) -> None:
        if self._by_id.get(peer.routing_id) is peer:
            del self._by_id[peer.routing_id]

    def _send(self, msg: Message) -> bool:
        if len(msg) < 2:
            return True
        peer = self._by_id.get(msg[0])
        if peer is None:
            raise ZMQError(EHOSTUNREACH, "no connection with that routing id")
        data = msg[1]
        out = peer.out
        if not data:
            # Close after what is queued: the id is gone for sends from now on.
            del self._by_id[msg[0]]
            out.push([b""])
            return True
        queued = out.queue.try_push([data])
        if queued > 0:
            if queued == 1:
                out.on_readable()
            return True
        out.writer_blocked = True
        return False
