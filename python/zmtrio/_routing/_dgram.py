"""DGRAM (libzmq's ``dgram.cpp``): udp datagrams with an address frame.

Every message is two frames, ``[address, body]``: received, the address is the sender's
``"IP:PORT\\0"``; sent, it names the destination (anything else is ``EINVAL``). A DGRAM
carries one udp endpoint; a second is refused, as libzmq does.
"""

from __future__ import annotations

import errno
from typing import Any, final

from .._errors import ZMQError
from .._peer import Peer
from ._fair_queue import FairQueue
from ._load_balance import LoadBalance
from ._pattern import Message, Pattern

__all__ = ["Dgram"]


@final
class Dgram(Pattern):
    """Sends ``[address, body]`` through its udp endpoint; receives the same."""

    max_peers = 1

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options)
        self._balance = LoadBalance()
        self._queue = FairQueue()
        self.send = self._send
        self.writable = self._balance.writable
        self.recv = self._queue.recv
        self.recv_many = self._queue.recv_many
        self.has_message = self._queue.has_message

    def _send(self, msg: Message) -> bool:
        if len(msg) != 2:
            raise ZMQError(errno.EINVAL, "a DGRAM message is two frames: address, body")
        return self._balance.send(msg) is not None

    def attach(self, peer: Peer) -> bool:
        self._balance.attach(peer)
        self._queue.attach(peer)
        return True

    def detach(self, peer: Peer) -> None:
        self._balance.detach(peer)

    def readable(self, peer: Peer) -> None:
        self._queue.readable(peer)

    def received_from(self) -> Peer | None:
        return self._queue.last_peer
