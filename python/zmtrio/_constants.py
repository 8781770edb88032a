"""Constants with libzmq's names and values: socket types, flags, events and errno numbers."""

from __future__ import annotations

import enum
import errno as _errno

__all__ = [
    "CHANNEL",
    "CLIENT",
    "DEALER",
    "DGRAM",
    "DISH",
    "DONTWAIT",
    "EAGAIN",
    "EFSM",
    "EHOSTUNREACH",
    "EMTHREAD",
    "ENOCOMPATPROTO",
    "ENOTSUP",
    "ETERM",
    "EVENT_ALL",
    "GATHER",
    "GROUP_MAX_LENGTH",
    "NOBLOCK",
    "PAIR",
    "PEER",
    "POLLERR",
    "POLLIN",
    "POLLOUT",
    "PUB",
    "PULL",
    "PUSH",
    "RADIO",
    "REP",
    "REQ",
    "ROUTER",
    "SCATTER",
    "SERVER",
    "SNDMORE",
    "STREAM",
    "SUB",
    "XPUB",
    "XSUB",
    "EventType",
    "SocketType",
]


class SocketType(enum.IntEnum):
    """Socket types, numbered as libzmq's ``ZMQ_*`` constants (and the ZMTP wire)."""

    PAIR = 0
    PUB = 1
    SUB = 2
    REQ = 3
    REP = 4
    DEALER = 5
    ROUTER = 6
    PULL = 7
    PUSH = 8
    XPUB = 9
    XSUB = 10
    STREAM = 11
    SERVER = 12
    CLIENT = 13
    RADIO = 14
    DISH = 15
    GATHER = 16
    SCATTER = 17
    DGRAM = 18
    PEER = 19
    CHANNEL = 20


PAIR = SocketType.PAIR
PUB = SocketType.PUB
SUB = SocketType.SUB
REQ = SocketType.REQ
REP = SocketType.REP
DEALER = SocketType.DEALER
ROUTER = SocketType.ROUTER
PULL = SocketType.PULL
PUSH = SocketType.PUSH
XPUB = SocketType.XPUB
XSUB = SocketType.XSUB
STREAM = SocketType.STREAM
SERVER = SocketType.SERVER
CLIENT = SocketType.CLIENT
RADIO = SocketType.RADIO
DISH = SocketType.DISH
GATHER = SocketType.GATHER
SCATTER = SocketType.SCATTER
DGRAM = SocketType.DGRAM
PEER = SocketType.PEER
CHANNEL = SocketType.CHANNEL

#: The longest RADIO/DISH group libzmq 4.3 accepts (``ZMQ_GROUP_MAX_LENGTH``).
GROUP_MAX_LENGTH = 255

#: Send/receive flags (libzmq values).
DONTWAIT = 1
NOBLOCK = DONTWAIT
SNDMORE = 2

#: Poll flags (libzmq values).
POLLIN = 1
POLLOUT = 2
POLLERR = 4


class EventType(enum.IntFlag):
    """Socket monitor events, with libzmq's names and bit values."""

    CONNECTED = 0x0001
    CONNECT_DELAYED = 0x0002
    CONNECT_RETRIED = 0x0004
    LISTENING = 0x0008
    BIND_FAILED = 0x0010
    ACCEPTED = 0x0020
    ACCEPT_FAILED = 0x0040
    CLOSED = 0x0080
    CLOSE_FAILED = 0x0100
    DISCONNECTED = 0x0200
    MONITOR_STOPPED = 0x0400
    HANDSHAKE_FAILED_NO_DETAIL = 0x0800
    HANDSHAKE_SUCCEEDED = 0x1000
    HANDSHAKE_FAILED_PROTOCOL = 0x2000
    HANDSHAKE_FAILED_AUTH = 0x4000
    ALL = 0xFFFF


EVENT_ALL = EventType.ALL

#: libzmq's own errno values (outside the system range).
_HAUSNUMERO = 156384712
EFSM = _HAUSNUMERO + 51
ENOCOMPATPROTO = _HAUSNUMERO + 52
ETERM = _HAUSNUMERO + 53
EMTHREAD = _HAUSNUMERO + 54
#: System errno values libzmq reports, re-exported for convenience.
EAGAIN = _errno.EAGAIN
EHOSTUNREACH = _errno.EHOSTUNREACH
ENOTSUP = _errno.ENOTSUP
