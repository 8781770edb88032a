"""REQ/REP envelopes as pure functions on whole messages (RFC 28, libzmq ``req.cpp``,
``rep.cpp``).

A request travels as ``[*envelope, b"", *body]``: the envelope is what ROUTERs and REQ
prepended on the way (routing ids, REQ_CORRELATE's request id), the empty frame is the
delimiter. REQ sends ``[b"", *body]`` (or ``[request_id, b"", *body]``); REP keeps
everything up to and including the first delimiter and puts it back on the reply. A
delimiter is only a delimiter if more frames follow it (libzmq checks the MORE flag): a
message whose only empty frame is its last one has no envelope.
"""

from __future__ import annotations

import sys
from typing import Final

__all__ = ["envelope_end", "reply_body", "request", "request_id_frame"]

_DELIMITER: Final = b""


def request(body: list[bytes], request_id: bytes | None) -> list[bytes]:
    """REQ's outgoing message: ``[request_id?, b"", *body]`` (a new list)."""
    if request_id is None:
        return [_DELIMITER, *body]
    return [request_id, _DELIMITER, *body]


def request_id_frame(request_id: int) -> bytes:
    """REQ_CORRELATE's id frame: the 32-bit id in host byte order, as libzmq copies it."""
    return request_id.to_bytes(4, sys.byteorder)


def reply_body(reply: list[bytes], request_id: bytes | None) -> list[bytes] | None:
    """What REQ hands the application from ``reply``, or None if REQ must drop it: with
    ``request_id`` the first frame must be exactly it; then an empty delimiter, then at
    least one frame."""
    start = 0
    if request_id is not None:
        if reply[0] != request_id:
            return None
        start = 1
    if len(reply) < start + 2 or reply[start]:
        return None
    return reply[start + 1 :]


def envelope_end(msg: list[bytes]) -> int:
    """How many leading frames of a request form REP's envelope (through the first
    delimiter that has frames after it); 0 if there is none and REP must drop it."""
    if msg[0] == _DELIMITER:
        # The common case: a request straight from a REQ.
        return 1 if len(msg) > 1 else 0
    if _DELIMITER not in msg:
        return 0
    end = msg.index(_DELIMITER) + 1
    return end if end < len(msg) else 0
