"""zmtrio: ZeroMQ for trio.

A ZMTP 3.1 implementation interoperable byte for byte with libzmq, in two layers::

    zmtrio (this package)  trio: context, sockets, routing, transports, cancellation
        |  bytes in, events out; messages in, bytes out
    zmtrio._core (Rust)    sans-IO engine: greeting, handshake, framing, pipes

Names follow pyzmq; the lifecycle follows trio.
"""

from __future__ import annotations

from ._constants import (
    DEALER as DEALER,
)
from ._constants import (
    DONTWAIT as DONTWAIT,
)
from ._constants import (
    EAGAIN as EAGAIN,
)
from ._constants import (
    EFSM as EFSM,
)
from ._constants import (
    EHOSTUNREACH as EHOSTUNREACH,
)
from ._constants import (
    EMTHREAD as EMTHREAD,
)
from ._constants import (
    ENOCOMPATPROTO as ENOCOMPATPROTO,
)
from ._constants import (
    ENOTSUP as ENOTSUP,
)
from ._constants import (
    ETERM as ETERM,
)
from ._constants import (
    EVENT_ALL as EVENT_ALL,
)
from ._constants import (
    NOBLOCK as NOBLOCK,
)
from ._constants import (
    PAIR as PAIR,
)
from ._constants import (
    POLLERR as POLLERR,
)
from ._constants import (
    POLLIN as POLLIN,
)
from ._constants import (
    POLLOUT as POLLOUT,
)
from ._constants import (
    PUB as PUB,
)
from ._constants import (
    PULL as PULL,
)
from ._constants import (
    PUSH as PUSH,
)
from ._constants import (
    REP as REP,
)
from ._constants import (
    REQ as REQ,
)
from ._constants import (
    ROUTER as ROUTER,
)
from ._constants import (
    SNDMORE as SNDMORE,
)
from ._constants import (
    SUB as SUB,
)
from ._constants import (
    XPUB as XPUB,
)
from ._constants import (
    XSUB as XSUB,
)
from ._constants import (
    EventType as EventType,
)
from ._constants import (
    SocketType as SocketType,
)
from ._context import Context as Context
from ._core import z85_decode as _z85_decode_bytes
from ._core import z85_encode as _z85_encode_bytes
from ._errors import (
    Again as Again,
)
from ._errors import (
    ContextTerminated as ContextTerminated,
)
from ._errors import (
    ZMQBaseError as ZMQBaseError,
)
from ._errors import (
    ZMQError as ZMQError,
)
from ._errors import (
    strerror as strerror,
)
from ._monitor import Event as Event
from ._options import SocketOption as SocketOption
from ._poller import Poller as Poller
from ._proxy import proxy as proxy
from ._proxy import proxy_steerable as proxy_steerable
from ._socket import Socket as Socket
from ._socket import SocketStatistics as SocketStatistics

__version__ = "0.1.0"


def z85_encode(data: bytes | bytearray | memoryview) -> bytes:
    """Z85-encode ``data`` (RFC 32); its length must be a multiple of 4 (else ValueError)."""
    return _z85_encode_bytes(bytes(data))


def z85_decode(text: bytes | str) -> bytes:
    """Decode Z85 ``text`` (RFC 32); raises ValueError when it is not valid Z85."""
    return _z85_decode_bytes(text.encode("ascii") if isinstance(text, str) else bytes(text))


# Every socket option as a module constant (zmtrio.SNDHWM, ...), as pyzmq has them.
globals().update({option.name: option for option in SocketOption})
IDENTITY = SocketOption.ROUTING_ID

__all__ = [
    "DEALER",
    "DONTWAIT",
    "EAGAIN",
    "EFSM",
    "EHOSTUNREACH",
    "EMTHREAD",
    "ENOCOMPATPROTO",
    "ENOTSUP",
    "ETERM",
    "EVENT_ALL",
    "IDENTITY",
    "NOBLOCK",
    "PAIR",
    "POLLERR",
    "POLLIN",
    "POLLOUT",
    "PUB",
    "PULL",
    "PUSH",
    "REP",
    "REQ",
    "ROUTER",
    "SNDMORE",
    "SUB",
    "XPUB",
    "XSUB",
    "Again",
    "Context",
    "ContextTerminated",
    "Event",
    "EventType",
    "Poller",
    "Socket",
    "SocketOption",
    "SocketStatistics",
    "SocketType",
    "ZMQBaseError",
    "ZMQError",
    "proxy",
    "proxy_steerable",
    "strerror",
    "z85_decode",
    "z85_encode",
    *(option.name for option in SocketOption),
]


def _fix_module(names: list[str]) -> None:
    """Show public classes as ``zmtrio.X`` in reprs and tracebacks (as trio does)."""
    for name in names:
        obj = globals()[name]
        if isinstance(obj, type) and obj.__module__.startswith("zmtrio._"):
            obj.__module__ = "zmtrio"


_fix_module(__all__)
