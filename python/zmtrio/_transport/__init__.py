"""Transports: turning an endpoint string into listeners and peer links.

``tcp://`` and ``ipc://`` are byte streams driven by an engine (``_stream``); ``inproc://``
links two sockets of one context directly through a pair of pipes (``_inproc``).
"""

from __future__ import annotations

import errno

from .._errors import ZMQError

__all__ = ["TRANSPORTS", "split_endpoint"]

TRANSPORTS = ("tcp", "ipc", "inproc")


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
