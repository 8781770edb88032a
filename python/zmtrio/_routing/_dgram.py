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
from ._client_server import Balanced
from ._pattern import Message

__all__ = ["Dgram"]


def _two_frames(msg: Message, peer: Peer) -> tuple[Message, object] | None:
    return (msg, None) if len(msg) == 2 else None


@final
class Dgram(Balanced):
    """Sends ``[address, body]`` through its udp endpoint; receives the same."""

    max_peers = 1
    single_frame = False

    def __init__(self, options: dict[int, Any]) -> None:
        super().__init__(options, _two_frames)

    def check(self, msg: Message) -> None:
        if len(msg) != 2:
            raise ZMQError(errno.EINVAL, "a DGRAM message is two frames: address, body")
