"""Transports: turning an endpoint string into listeners and peer links.

``tcp://`` and ``ipc://`` are byte streams driven by an engine (``_stream``); ``inproc://``
links two sockets of one context directly through a pair of pipes (``_inproc``); ``udp://``
carries RADIO/DISH and DGRAM datagrams (``_udp``).
"""

from __future__ import annotations

import errno

from .._constants import ENOCOMPATPROTO, SocketType
from .._errors import ZMQError

__all__ = ["TRANSPORTS", "check_transport", "split_endpoint"]

TRANSPORTS = ("tcp", "ipc", "inproc", "udp")


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """``"tcp://host:port"`` -> ``("tcp", "host:port")``, with libzmq's errors.

    A malformed endpoint raises ``EINVAL``; an unknown transport ``EPROTONOSUPPORT``.
    """
    if not isinstance(endpoint, str):
        raise TypeError(f"endpoint must be str, not {type(endpoint).__name__}")
    transport, separator, address = endpoint.partition("://")
    if not separator:
        raise ZMQError(errno.EINVAL, f"invalid endpoint {endpoint!r}: expected transport://address")
    if transport not in TRANSPORTS:
        raise ZMQError(
            errno.EPROTONOSUPPORT, f"unsupported transport {transport!r} in {endpoint!r}"
        )
    if not address:
        raise ZMQError(errno.EINVAL, f"invalid endpoint {endpoint!r}: empty address")
    return transport, address


def check_transport(socket_type: SocketType, transport: str) -> None:
    """libzmq's ``check_protocol``: DGRAM works over udp only, and udp only for RADIO,
    DISH and DGRAM; STREAM over tcp and ipc (``ENOCOMPATPROTO`` otherwise)."""
    if transport == "udp":
        compatible = socket_type in (SocketType.RADIO, SocketType.DISH, SocketType.DGRAM)
    elif socket_type == SocketType.DGRAM:
        compatible = False
    elif socket_type == SocketType.STREAM:
        compatible = transport in ("tcp", "ipc")
    else:
        compatible = True
    if not compatible:
        raise ZMQError(
            ENOCOMPATPROTO, f"{transport}:// does not work with {socket_type.name} sockets"
        )
