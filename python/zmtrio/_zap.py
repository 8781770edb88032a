"""The ZAP client (RFC 27, spec §6): a server-side handshake asks the handler bound at
``inproc://zeromq.zap.01`` in the socket's context, as libzmq's ``zap_client_t`` does.

The engine calls :func:`authenticate` once per ZAP request its connection raises; the
socket carries the request to its context's handler (``HostSocket.ask_zap``). Only that
connection's handshake waits (each connection is its own task); the handshake deadline
bounds the wait. The request carries exactly libzmq's frames: an empty delimiter, ``1.0``,
request id ``1``, the ``ZAP_DOMAIN``, the peer's address, the *server socket's own* routing
id (libzmq's choice, not the RFC's), the mechanism and its credentials.

Outcomes, as libzmq: 200 lets the handshake go on and the reply's user id and properties
become message metadata; 300 closes the connection silently, 400 and 500 send ERROR with
the code first (both post ``HANDSHAKE_FAILED_AUTH`` with the code); a malformed reply
closes it with ``HANDSHAKE_FAILED_PROTOCOL`` and libzmq's ZAP error code. With no handler
bound: a CURVE server and a NULL socket accept (unless ``ZAP_ENFORCE_DOMAIN``), a PLAIN
server refuses (``HANDSHAKE_FAILED_NO_DETAIL``, ``EFAULT``).
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from ._constants import EventType
from ._options import SocketOption
from ._seam import HostSocket

__all__ = ["ZAP_ENDPOINT", "AuthenticationFailed", "Verdict", "authenticate"]

#: Where the ZAP handler binds (RFC 27).
ZAP_ENDPOINT: Final = "inproc://zeromq.zap.01"
_VERSION: Final = b"1.0"
_REQUEST_ID: Final = b"1"

#: libzmq's ``ZMQ_PROTOCOL_ERROR_ZAP_*`` codes (spec §10).
ZAP_MALFORMED_REPLY: Final = 0x2000_0001
ZAP_BAD_REQUEST_ID: Final = 0x2000_0002
ZAP_BAD_VERSION: Final = 0x2000_0003
ZAP_INVALID_STATUS_CODE: Final = 0x2000_0004
ZAP_INVALID_METADATA: Final = 0x2000_0005


class AuthenticationFailed(Exception):
    """The handshake was refused (or could not be authenticated): drop the connection
    and never retry it (libzmq does not reconnect after an authentication failure).
    ``error`` is the ERROR reason to send first (ZAP 400/500), None to close silently."""

    def __init__(self, message: str, error: bytes | None = None) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an accepting handler said: ``user_id`` is None when no handler was asked."""

    user_id: bytes | None = None
    properties: dict[str, bytes] = field(default_factory=dict)


def _parse_properties(encoded: bytes) -> dict[str, bytes] | None:
    """ZAP metadata in the READY property encoding; None if malformed."""
    properties: dict[str, bytes] = {}
    offset = 0
    while offset < len(encoded):
        name_len = encoded[offset]
        offset += 1
        name = encoded[offset : offset + name_len]
        offset += name_len
        if not name_len or len(name) != name_len or offset + 4 > len(encoded):
            return None
        (value_len,) = struct.unpack_from(">I", encoded, offset)
        offset += 4
        value = encoded[offset : offset + value_len]
        if len(value) != value_len:
            return None
        offset += value_len
        properties[name.decode("utf-8", "backslashreplace")] = value
    return properties


async def authenticate(
    host: HostSocket,
    mechanism: str,
    credentials: Sequence[bytes],
    address: str,
    endpoint: str,
) -> Verdict:
    """Ask the ZAP handler of ``host``'s context about a peer: the verdict if it may go
    on, else ``AuthenticationFailed`` (with the monitor event posted)."""
    options = host.options
    request = [
        _VERSION,
        _REQUEST_ID,
        options[SocketOption.ZAP_DOMAIN],
        address.encode(),
        options[SocketOption.ROUTING_ID],
        mechanism.encode(),
        *credentials,
    ]
    reply = await host.ask_zap(request)
    if reply is None:
        if mechanism == "PLAIN" or options[SocketOption.ZAP_ENFORCE_DOMAIN]:
            host.emit(EventType.HANDSHAKE_FAILED_NO_DETAIL, errno.EFAULT, endpoint)
            raise AuthenticationFailed("no ZAP handler is bound")
        return Verdict()
    code = _check_reply(reply)
    if code is not None:
        host.emit(EventType.HANDSHAKE_FAILED_PROTOCOL, code, endpoint)
        raise AuthenticationFailed("malformed ZAP reply")
    status = reply[3]
    if status != b"200":
        host.emit(EventType.HANDSHAKE_FAILED_AUTH, int(status), endpoint)
        raise AuthenticationFailed(
            f"ZAP refused the peer ({status.decode()})", None if status == b"300" else status
        )
    properties = _parse_properties(reply[6])
    if properties is None:
        host.emit(EventType.HANDSHAKE_FAILED_PROTOCOL, ZAP_INVALID_METADATA, endpoint)
        raise AuthenticationFailed("malformed ZAP metadata")
    return Verdict(reply[5], properties)


def _check_reply(reply: list[bytes]) -> int | None:
    """libzmq's checks of a reply (delimiter frame included), in its order; the error
    code, or None if it is valid."""
    if len(reply) != 7 or reply[0]:
        return ZAP_MALFORMED_REPLY
    if reply[1] != _VERSION:
        return ZAP_BAD_VERSION
    if reply[2] != _REQUEST_ID:
        return ZAP_BAD_REQUEST_ID
    if reply[3] not in (b"200", b"300", b"400", b"500"):
        return ZAP_INVALID_STATUS_CODE
    return None
