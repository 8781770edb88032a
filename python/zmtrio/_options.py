"""Socket options from one table: libzmq's id, value kind, default and who may set them.

Attribute access (``sock.sndhwm``) and ``setsockopt``/``getsockopt`` both read this table,
as pyzmq does. Values, units and defaults are libzmq's.
"""

from __future__ import annotations

import enum
import errno
from dataclasses import dataclass
from typing import Final

from ._constants import ENOTSUP, SocketType
from ._errors import ZMQError
from ._keys import curve_key

__all__ = ["OPTIONS", "OPTIONS_BY_ID", "OptionSpec", "SocketOption", "validate", "validate_value"]


class SocketOption(enum.IntEnum):
    """Socket option ids, numbered as libzmq's ``ZMQ_*`` constants."""

    ROUTING_ID = 5
    SUBSCRIBE = 6
    UNSUBSCRIBE = 7
    SNDBUF = 11
    RCVBUF = 12
    RCVMORE = 13
    EVENTS = 15
    TYPE = 16
    LINGER = 17
    RECONNECT_IVL = 18
    BACKLOG = 19
    RECONNECT_IVL_MAX = 21
    MAXMSGSIZE = 22
    SNDHWM = 23
    RCVHWM = 24
    MULTICAST_HOPS = 25
    RCVTIMEO = 27
    SNDTIMEO = 28
    LAST_ENDPOINT = 32
    ROUTER_MANDATORY = 33
    TCP_KEEPALIVE = 34
    TCP_KEEPALIVE_CNT = 35
    TCP_KEEPALIVE_IDLE = 36
    TCP_KEEPALIVE_INTVL = 37
    IMMEDIATE = 39
    XPUB_VERBOSE = 40
    IPV6 = 42
    MECHANISM = 43
    PLAIN_SERVER = 44
    PLAIN_USERNAME = 45
    PLAIN_PASSWORD = 46
    CURVE_SERVER = 47
    CURVE_PUBLICKEY = 48
    CURVE_SECRETKEY = 49
    CURVE_SERVERKEY = 50
    PROBE_ROUTER = 51
    REQ_CORRELATE = 52
    REQ_RELAXED = 53
    CONFLATE = 54
    ZAP_DOMAIN = 55
    ROUTER_HANDOVER = 56
    CONNECT_ROUTING_ID = 61
    HANDSHAKE_IVL = 66
    XPUB_NODROP = 69
    XPUB_MANUAL = 71
    XPUB_WELCOME_MSG = 72
    STREAM_NOTIFY = 73
    HEARTBEAT_IVL = 75
    HEARTBEAT_TTL = 76
    HEARTBEAT_TIMEOUT = 77
    XPUB_VERBOSER = 78
    CONNECT_TIMEOUT = 79
    ZAP_ENFORCE_DOMAIN = 93
    MULTICAST_LOOP = 96
    BUSY_POLL = 113
    XSUB_VERBOSE_UNSUBSCRIBE = 115


_INT: Final = "int"
_BYTES: Final = "bytes"
_STR: Final = "str"

_ALL_TYPES: Final = frozenset(SocketType)


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One row of the option table."""

    option: SocketOption
    kind: str
    default: int | bytes | str
    minimum: int = 0
    """The smallest int value, or the shortest bytes value."""
    maximum: int = 2**31 - 1
    """The largest int value, or the longest bytes value."""
    granularity: int = 1
    """An int value is stored cut to a multiple of this, towards zero (libzmq keeps
    HEARTBEAT_TTL in tenths of a second); 0 stores any int as 0 or 1 (a relaxed bool)."""
    readable: bool = True
    writable: bool = True
    types: frozenset[SocketType] = _ALL_TYPES
    built: bool | frozenset[SocketType] = True
    """False for options whose behaviour zmtrio does not implement yet: setting them raises
    ``ENOTSUP`` instead of being silently ignored; or the socket types it is built for."""

    def built_for(self, socket_type: SocketType) -> bool:
        """Whether zmtrio implements this option on ``socket_type``."""
        return self.built is True or (self.built is not False and socket_type in self.built)


def _int(
    option: SocketOption,
    default: int,
    minimum: int = 0,
    *,
    maximum: int = 2**31 - 1,
    types: frozenset[SocketType] = _ALL_TYPES,
    built: bool = True,
) -> OptionSpec:
    return OptionSpec(option, _INT, default, minimum, maximum, types=types, built=built)


_O = SocketOption
_T = SocketType
_BOOL_MAX: Final = 1
#: libzmq's XPUB/XSUB flags take any int >= 0 (non-zero is on).
_FLAG_MAX: Final = 2**31 - 1
#: PUB is an XPUB underneath in libzmq: it takes every XPUB option.
_PUBLISHERS: Final = frozenset({SocketType.PUB, SocketType.XPUB})
_SUBSCRIBERS_AND_PUBLISHERS: Final = frozenset({SocketType.SUB, *_PUBLISHERS})


def _flag(option: SocketOption, *types: SocketType) -> OptionSpec:
    """An on/off option of some socket types: write-only in libzmq (reading it is EINVAL;
    any int >= 0 is accepted, non-zero is on)."""
    return OptionSpec(option, _INT, 0, maximum=_FLAG_MAX, readable=False, types=frozenset(types))


def _publisher_flag(option: SocketOption) -> OptionSpec:
    """An XPUB on/off option."""
    return _flag(option, *_PUBLISHERS)


OPTIONS: Final[tuple[OptionSpec, ...]] = (
    # libzmq refuses an empty routing id (EINVAL); zmtrio takes it as "none" (the default).
    OptionSpec(_O.ROUTING_ID, _BYTES, b"", maximum=255),
    # SUB (un)subscribes; a PUB/XPUB takes them only with XPUB_MANUAL (its pattern refuses
    # them otherwise, EINVAL as libzmq); XSUB subscribes by sending messages.
    OptionSpec(_O.SUBSCRIBE, _BYTES, b"", readable=False, types=_SUBSCRIBERS_AND_PUBLISHERS),
    OptionSpec(_O.UNSUBSCRIBE, _BYTES, b"", readable=False, types=_SUBSCRIBERS_AND_PUBLISHERS),
    _int(_O.SNDBUF, -1, -1),
    _int(_O.RCVBUF, -1, -1),
    OptionSpec(_O.RCVMORE, _INT, 0, writable=False),
    OptionSpec(_O.EVENTS, _INT, 0, writable=False),
    OptionSpec(_O.TYPE, _INT, 0, writable=False),
    _int(_O.LINGER, -1, -1),
    _int(_O.RECONNECT_IVL, 100, -1),
    _int(_O.BACKLOG, 100),
    _int(_O.RECONNECT_IVL_MAX, 0),
    # Any int64; every negative value means no limit, as in libzmq.
    OptionSpec(_O.MAXMSGSIZE, _INT, -1, -(2**63), 2**63 - 1),
    _int(_O.SNDHWM, 1000),
    _int(_O.RCVHWM, 1000),
    _int(_O.MULTICAST_HOPS, 1, 1),
    _int(_O.RCVTIMEO, -1, -1),
    _int(_O.SNDTIMEO, -1, -1),
    OptionSpec(_O.LAST_ENDPOINT, _STR, "", writable=False),
    # ROUTER_*, PROBE_ROUTER and REQ_*: write-only flags in libzmq (any int >= 0, non-zero
    # is on); REP takes the ROUTER ones (it is a ROUTER underneath), though only
    # PROBE_ROUTER and ROUTER_HANDOVER change what it does.
    _flag(_O.ROUTER_MANDATORY, _T.ROUTER, _T.REP),
    _int(_O.TCP_KEEPALIVE, -1, -1, maximum=_BOOL_MAX),
    _int(_O.TCP_KEEPALIVE_CNT, -1, -1),
    _int(_O.TCP_KEEPALIVE_IDLE, -1, -1),
    _int(_O.TCP_KEEPALIVE_INTVL, -1, -1),
    _int(_O.IMMEDIATE, 0, maximum=_BOOL_MAX),
    _publisher_flag(_O.XPUB_VERBOSE),
    _int(_O.IPV6, 0, maximum=_BOOL_MAX),
    OptionSpec(_O.MECHANISM, _INT, 0, writable=False),
    # The security options also set MECHANISM and the role (_security, as libzmq). Empty
    # credentials are EINVAL in libzmq; CURVE keys (32 bytes, 40 Z85 characters or 41 with
    # a NUL) are kept as Z85 text and cannot be read back through pyzmq's call either.
    _int(_O.PLAIN_SERVER, 0, maximum=_BOOL_MAX),
    OptionSpec(_O.PLAIN_USERNAME, _BYTES, b"", 1, 255),
    OptionSpec(_O.PLAIN_PASSWORD, _BYTES, b"", 1, 255),
    _int(_O.CURVE_SERVER, 0, maximum=_BOOL_MAX),
    OptionSpec(_O.CURVE_PUBLICKEY, _BYTES, b"", 32, 41, readable=False),
    OptionSpec(_O.CURVE_SECRETKEY, _BYTES, b"", 32, 41, readable=False),
    OptionSpec(_O.CURVE_SERVERKEY, _BYTES, b"", 32, 41, readable=False),
    _flag(_O.PROBE_ROUTER, _T.ROUTER, _T.DEALER, _T.REQ, _T.REP),
    _flag(_O.REQ_CORRELATE, _T.REQ),
    _flag(_O.REQ_RELAXED, _T.REQ),
    _int(_O.CONFLATE, 0, maximum=_BOOL_MAX),
    OptionSpec(_O.ZAP_DOMAIN, _BYTES, b"", 1, 255),
    _flag(_O.ROUTER_HANDOVER, _T.ROUTER, _T.REP),
    OptionSpec(
        _O.CONNECT_ROUTING_ID,
        _BYTES,
        b"",
        1,  # libzmq refuses an empty one, and sets no upper bound
        2**31 - 1,
        readable=False,
        built=frozenset({_T.STREAM}),
    ),
    _int(_O.HANDSHAKE_IVL, 30_000),
    # RADIO takes it too: with it, a RADIO blocks for a full peer instead of dropping.
    _flag(_O.XPUB_NODROP, *_PUBLISHERS, _T.RADIO),
    _publisher_flag(_O.XPUB_MANUAL),
    OptionSpec(
        _O.XPUB_WELCOME_MSG,
        _BYTES,
        b"",
        maximum=2**31 - 1,
        readable=False,
        types=_PUBLISHERS,
    ),
    _int(_O.HEARTBEAT_IVL, 0),
    # libzmq stores the TTL in tenths of a second (value / 100, truncated, in 0..65535), so
    # -99..6553599 are accepted and read back cut to a multiple of 100.
    OptionSpec(_O.HEARTBEAT_TTL, _INT, 0, -99, 6_553_599, granularity=100),
    # -1 (the interval) is the default, but only values >= 0 can be set.
    _int(_O.HEARTBEAT_TIMEOUT, -1, 0),
    _publisher_flag(_O.XPUB_VERBOSER),
    _int(_O.CONNECT_TIMEOUT, 0),
    # Any int, non-zero is on (libzmq's relaxed bool: read back as 0 or 1).
    OptionSpec(_O.ZAP_ENFORCE_DOMAIN, _INT, 0, -(2**31), 2**31 - 1, granularity=0),
    # Any int, non-zero is on (libzmq's relaxed bool: read back as 0 or 1).
    OptionSpec(_O.MULTICAST_LOOP, _INT, 1, -(2**31), 2**31 - 1, granularity=0),
    # A STREAM's own option: write-only in libzmq (stream_t::xsetsockopt).
    OptionSpec(
        _O.STREAM_NOTIFY, _INT, 1, maximum=_BOOL_MAX, readable=False, types=frozenset({_T.STREAM})
    ),
    _flag(_O.XSUB_VERBOSE_UNSUBSCRIBE, _T.XSUB),
    # libzmq's draft option, which sets the kernel's SO_BUSY_POLL (microseconds). zmtrio's
    # meaning is the same in user space: how long a REQ or REP waiting for its one
    # connection keeps trying to read it before it parks (_read_in_place). Opt-in, and
    # bounded to a second: the spin holds the whole trio loop.
    OptionSpec(_O.BUSY_POLL, _INT, 0, maximum=1_000_000, built=frozenset({_T.REQ, _T.REP})),
)

#: The options that hold CURVE keys (normalised to Z85 text).
_CURVE_KEYS: Final = frozenset({_O.CURVE_PUBLICKEY, _O.CURVE_SECRETKEY, _O.CURVE_SERVERKEY})

OPTIONS_BY_ID: Final[dict[int, OptionSpec]] = {spec.option: spec for spec in OPTIONS}


def validate(spec: OptionSpec, socket_type: SocketType, value: object) -> int | bytes:
    """Check ``value`` for ``spec`` on a socket of ``socket_type``; return it normalised.

    Raises ``ZMQError(EINVAL)`` for a wrong type, range or socket type, as libzmq does, and
    ``ZMQError(ENOTSUP)`` for an option zmtrio does not implement yet.
    """
    name = spec.option.name
    if not spec.writable or socket_type not in spec.types:
        raise ZMQError(errno.EINVAL, f"option {name} cannot be set on a {socket_type.name} socket")
    if not spec.built_for(socket_type):
        raise ZMQError(ENOTSUP, f"option {name} is not implemented by zmtrio yet")
    return validate_value(spec, value)


def validate_value(spec: OptionSpec, value: object) -> int | bytes:
    """Check ``value``'s type and range for ``spec`` (whatever the socket type); return it
    normalised. ``ZMQError(EINVAL)`` as :func:`validate`."""
    name = spec.option.name
    if spec.kind == _INT:
        if not isinstance(value, int):  # bool is an int, as in pyzmq
            raise ZMQError(errno.EINVAL, f"option {name} takes an int, not {value!r}")
        value = int(value)
        if not spec.minimum <= value <= spec.maximum:
            raise ZMQError(
                errno.EINVAL,
                f"option {name} must be in [{spec.minimum}, {spec.maximum}], not {value}",
            )
        if spec.granularity == 0:
            value = int(bool(value))
        elif spec.granularity != 1:
            cut = abs(value) // spec.granularity * spec.granularity
            value = cut if value >= 0 else -cut
        return value
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ZMQError(errno.EINVAL, f"option {name} takes bytes, not {type(value).__name__}")
    data = bytes(value)
    if not spec.minimum <= len(data) <= spec.maximum:
        raise ZMQError(errno.EINVAL, f"option {name} takes {spec.minimum} to {spec.maximum} bytes")
    if spec.option in _CURVE_KEYS:
        return curve_key(data)
    return data
