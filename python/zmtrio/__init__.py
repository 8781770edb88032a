"""zmtrio: ZeroMQ for trio.

A ZMTP 3.1 implementation interoperable byte for byte with libzmq, in two layers::

    zmtrio (this package)  trio: context, sockets, routing, transports, cancellation
        |  bytes in, events out; messages in, bytes out
    zmtrio._core (Rust)    sans-IO engine: greeting, handshake, framing, pipes

Names follow pyzmq; the lifecycle follows trio.
"""

from __future__ import annotations

from typing import Final

from ._blocking import BlockingSocket as BlockingSocket
from ._constants import CHANNEL as CHANNEL
from ._constants import CLIENT as CLIENT
from ._constants import (
    DEALER as DEALER,
)
from ._constants import DGRAM as DGRAM
from ._constants import DISH as DISH
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
from ._constants import GATHER as GATHER
from ._constants import GROUP_MAX_LENGTH as GROUP_MAX_LENGTH
from ._constants import (
    NOBLOCK as NOBLOCK,
)
from ._constants import (
    PAIR as PAIR,
)
from ._constants import PEER as PEER
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
from ._constants import RADIO as RADIO
from ._constants import (
    REP as REP,
)
from ._constants import (
    REQ as REQ,
)
from ._constants import (
    ROUTER as ROUTER,
)
from ._constants import SCATTER as SCATTER
from ._constants import SERVER as SERVER
from ._constants import (
    SNDMORE as SNDMORE,
)
from ._constants import STREAM as STREAM
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
from ._keys import curve_keypair as curve_keypair
from ._keys import curve_public as curve_public
from ._memory import keep_freed_memory as keep_freed_memory
from ._message import Message as Message
from ._monitor import Event as Event
from ._options import SocketOption as SocketOption
from ._poller import Poller as Poller
from ._proxy import proxy as proxy
from ._proxy import proxy_steerable as proxy_steerable
from ._security import Mechanism as Mechanism
from ._socket import Socket as Socket
from ._socket import SocketStatistics as SocketStatistics
from ._version import __version__ as __version__
from ._version import zmq_version as zmq_version
from ._version import zmq_version_info as zmq_version_info


def z85_encode(data: bytes | bytearray | memoryview) -> bytes:
    """Z85-encode ``data`` (RFC 32); its length must be a multiple of 4 (else ValueError)."""
    return _z85_encode_bytes(bytes(data))


def z85_decode(text: bytes | str) -> bytes:
    """Decode Z85 ``text`` (RFC 32); raises ValueError when it is not valid Z85."""
    return _z85_decode_bytes(text.encode("ascii") if isinstance(text, str) else bytes(text))


# Security mechanisms, as pyzmq's zmq.NULL, zmq.PLAIN, zmq.CURVE (MECHANISM reads them).
NULL = Mechanism.NULL
PLAIN = Mechanism.PLAIN
CURVE = Mechanism.CURVE

# Every socket option as a module constant, as pyzmq has them; written out so that type
# checkers see them (tests/test_exports.py checks the list against SocketOption).
ROUTING_ID: Final = SocketOption.ROUTING_ID
SUBSCRIBE: Final = SocketOption.SUBSCRIBE
UNSUBSCRIBE: Final = SocketOption.UNSUBSCRIBE
SNDBUF: Final = SocketOption.SNDBUF
RCVBUF: Final = SocketOption.RCVBUF
RCVMORE: Final = SocketOption.RCVMORE
EVENTS: Final = SocketOption.EVENTS
TYPE: Final = SocketOption.TYPE
LINGER: Final = SocketOption.LINGER
RECONNECT_IVL: Final = SocketOption.RECONNECT_IVL
BACKLOG: Final = SocketOption.BACKLOG
RECONNECT_IVL_MAX: Final = SocketOption.RECONNECT_IVL_MAX
MAXMSGSIZE: Final = SocketOption.MAXMSGSIZE
SNDHWM: Final = SocketOption.SNDHWM
RCVHWM: Final = SocketOption.RCVHWM
MULTICAST_HOPS: Final = SocketOption.MULTICAST_HOPS
RCVTIMEO: Final = SocketOption.RCVTIMEO
SNDTIMEO: Final = SocketOption.SNDTIMEO
LAST_ENDPOINT: Final = SocketOption.LAST_ENDPOINT
ROUTER_MANDATORY: Final = SocketOption.ROUTER_MANDATORY
TCP_KEEPALIVE: Final = SocketOption.TCP_KEEPALIVE
TCP_KEEPALIVE_CNT: Final = SocketOption.TCP_KEEPALIVE_CNT
TCP_KEEPALIVE_IDLE: Final = SocketOption.TCP_KEEPALIVE_IDLE
TCP_KEEPALIVE_INTVL: Final = SocketOption.TCP_KEEPALIVE_INTVL
IMMEDIATE: Final = SocketOption.IMMEDIATE
XPUB_VERBOSE: Final = SocketOption.XPUB_VERBOSE
IPV6: Final = SocketOption.IPV6
MECHANISM: Final = SocketOption.MECHANISM
PLAIN_SERVER: Final = SocketOption.PLAIN_SERVER
PLAIN_USERNAME: Final = SocketOption.PLAIN_USERNAME
PLAIN_PASSWORD: Final = SocketOption.PLAIN_PASSWORD
CURVE_SERVER: Final = SocketOption.CURVE_SERVER
CURVE_PUBLICKEY: Final = SocketOption.CURVE_PUBLICKEY
CURVE_SECRETKEY: Final = SocketOption.CURVE_SECRETKEY
CURVE_SERVERKEY: Final = SocketOption.CURVE_SERVERKEY
PROBE_ROUTER: Final = SocketOption.PROBE_ROUTER
REQ_CORRELATE: Final = SocketOption.REQ_CORRELATE
REQ_RELAXED: Final = SocketOption.REQ_RELAXED
CONFLATE: Final = SocketOption.CONFLATE
ZAP_DOMAIN: Final = SocketOption.ZAP_DOMAIN
ROUTER_HANDOVER: Final = SocketOption.ROUTER_HANDOVER
CONNECT_ROUTING_ID: Final = SocketOption.CONNECT_ROUTING_ID
HANDSHAKE_IVL: Final = SocketOption.HANDSHAKE_IVL
XPUB_NODROP: Final = SocketOption.XPUB_NODROP
XPUB_MANUAL: Final = SocketOption.XPUB_MANUAL
XPUB_WELCOME_MSG: Final = SocketOption.XPUB_WELCOME_MSG
STREAM_NOTIFY: Final = SocketOption.STREAM_NOTIFY
HEARTBEAT_IVL: Final = SocketOption.HEARTBEAT_IVL
HEARTBEAT_TTL: Final = SocketOption.HEARTBEAT_TTL
HEARTBEAT_TIMEOUT: Final = SocketOption.HEARTBEAT_TIMEOUT
XPUB_VERBOSER: Final = SocketOption.XPUB_VERBOSER
CONNECT_TIMEOUT: Final = SocketOption.CONNECT_TIMEOUT
ZAP_ENFORCE_DOMAIN: Final = SocketOption.ZAP_ENFORCE_DOMAIN
MULTICAST_LOOP: Final = SocketOption.MULTICAST_LOOP
XSUB_VERBOSE_UNSUBSCRIBE: Final = SocketOption.XSUB_VERBOSE_UNSUBSCRIBE
BUSY_POLL: Final = SocketOption.BUSY_POLL
IDENTITY: Final = SocketOption.ROUTING_ID

__all__ = [
    "CURVE",
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
    "NULL",
    "PAIR",
    "PLAIN",
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
    "CHANNEL",
    "CLIENT",
    "DGRAM",
    "DISH",
    "GATHER",
    "GROUP_MAX_LENGTH",
    "PEER",
    "RADIO",
    "SCATTER",
    "SERVER",
    "STREAM",
    "Again",
    "BlockingSocket",
    "Context",
    "ContextTerminated",
    "Event",
    "EventType",
    "Mechanism",
    "Message",
    "Poller",
    "Socket",
    "SocketOption",
    "SocketStatistics",
    "SocketType",
    "ZMQBaseError",
    "ZMQError",
    "curve_keypair",
    "curve_public",
    "keep_freed_memory",
    "proxy",
    "proxy_steerable",
    "strerror",
    "z85_decode",
    "z85_encode",
    "zmq_version",
    "zmq_version_info",
    *(option.name for option in SocketOption),
]


def _fix_module(names: list[str]) -> None:
    """Show public classes as ``zmtrio.X`` in reprs and tracebacks (as trio does)."""
    for name in names:
        obj = globals()[name]
        if isinstance(obj, type) and obj.__module__.startswith("zmtrio._"):
            obj.__module__ = "zmtrio"


_fix_module(__all__)

from . import auth as auth  # noqa: E402 (zmtrio.auth after the names it builds on)
