"""``udp://``: RADIO/DISH and DGRAM over datagrams, unicast or multicast (libzmq's
``udp_address.cpp`` and ``udp_engine.cpp``).

Endpoints:

- ``udp://HOST:PORT``: a RADIO (connect) sends there; a DISH or DGRAM (bind, or connect,
  which for udp is the same) receives there (``*`` is any address, port ``*`` or ``0`` an
  ephemeral one).
- ``udp://GROUP:PORT`` with a multicast GROUP (``224.0.0.0/4``): a RADIO sends to the
  group (``MULTICAST_HOPS`` is the TTL, ``MULTICAST_LOOP`` whether this host's own
  receivers get a copy); a DISH binds the port on every address and joins the group.
- ``udp://IFACE;GROUP:PORT``: the same on one interface, named (``eth0``) or by its IPv4
  address; only with a multicast GROUP (EINVAL otherwise).

Each RADIO message ``[group, body]`` is one datagram ``len(group):u8 group body``, as
libzmq lays it out; a DISH drops a datagram whose group length runs past its end. A DGRAM
message is ``[address, body]``: received, the address is libzmq's ``"IP:PORT\\0"``;
sent, ``"IP:PORT"`` (a trailing NUL is allowed) names the destination, and a message whose
address does not parse is dropped. IPv4 only, as libzmq 4.3's udp.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import socket as stdlib_socket
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, final

import trio

from .._constants import ENOCOMPATPROTO, SocketType
from .._errors import ZMQError
from .._options import SocketOption
from .._peer import Peer
from .._wakeup import Wakeup

__all__ = [
    "UdpAddress",
    "decode_datagram",
    "encode_datagram",
    "open_udp_socket",
    "parse",
    "run_udp",
]

#: libzmq's datagram buffer: it sends and reads at most this many bytes per datagram.
MAX_DATAGRAM: Final = 8192
#: Datagrams read per wake before yielding to other tasks.
_READ_BATCH: Final = 64
#: ``SIOCGIFADDR``: an interface's IPv4 address by name (Linux).
_SIOCGIFADDR: Final = 0x8915


@final
@dataclass(frozen=True, slots=True)
class UdpAddress:
    """A parsed udp endpoint."""

    host: str
    """The destination (RADIO) or the address to bind (DISH, DGRAM): ``0.0.0.0`` for any."""
    port: int
    multicast: bool
    """Whether ``host`` is a multicast group."""
    interface: str
    """The IPv4 address of the interface for multicast (``0.0.0.0``: the kernel picks)."""


def _interface_address(name: str) -> str:
    """The IPv4 address of interface ``name``, an IPv4 literal, or ``*``; ENODEV if none."""
    if name == "*":
        return "0.0.0.0"
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        pass
    probe = stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_DGRAM)
    try:
        request = struct.pack("256s", name.encode()[:15])
        answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
    except OSError:
        raise ZMQError(errno.ENODEV, f"no IPv4 interface named {name!r}") from None
    finally:
        probe.close()
    return stdlib_socket.inet_ntoa(answer[20:24])


def parse(address: str, *, bind: bool) -> UdpAddress:
    """Parse ``[IFACE;]HOST:PORT`` as libzmq does for a sender (``bind=False``: RADIO) or a
    receiver (DISH, DGRAM); raises ``ZMQError`` (EINVAL, ENODEV)."""
    interface = "0.0.0.0"
    has_interface = False
    if ";" in address:
        source, address = address.rsplit(";", 1)
        interface = _interface_address(source)
        if ipaddress.IPv4Address(interface).is_multicast:
            raise ZMQError(errno.EINVAL, "a multicast address cannot be a source")
        has_interface = True
    host, separator, port_text = address.rpartition(":")
    if not separator or not host:
        raise ZMQError(errno.EINVAL, f"invalid udp address {address!r}: expected host:port")
    if port_text == "*" and bind:
        port = 0
    elif port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535:
        port = int(port_text)
    else:
        raise ZMQError(errno.EINVAL, f"invalid udp port {port_text!r}")
    if host.startswith("["):
        raise ZMQError(errno.EINVAL, "udp:// takes IPv4 addresses only (as libzmq 4.3)")
    if host == "*":
        if not bind:
            raise ZMQError(errno.EINVAL, "a RADIO cannot send to the wildcard address")
        host = "0.0.0.0"
    try:
        literal = ipaddress.IPv4Address(host)
    except ValueError:
        if bind:
            host = _interface_address(host)  # libzmq binds to a NIC by name, never by DNS
        else:
            try:
                host = stdlib_socket.gethostbyname(host)
            except OSError:
                raise ZMQError(errno.EINVAL, f"cannot resolve udp host {host!r}") from None
        literal = ipaddress.IPv4Address(host)
    multicast = literal.is_multicast
    if has_interface and not multicast:
        raise ZMQError(errno.EINVAL, "an interface is only given with a multicast group")
    if not bind and port == 0:
        raise ZMQError(errno.EINVAL, "a RADIO needs a destination port")
    return UdpAddress(host, port, multicast, interface)


def check_type(socket_type: SocketType, *, bind: bool) -> None:
    """libzmq's udp socket types: RADIO connects, DISH and DGRAM bind (or connect, the
    same for them); anything else is ``ENOCOMPATPROTO``."""
    allowed = {SocketType.DISH, SocketType.DGRAM}
    if not bind:
        allowed.add(SocketType.RADIO)
    if socket_type not in allowed:
        raise ZMQError(ENOCOMPATPROTO, f"udp:// does not work with {socket_type.name} sockets")


def open_udp_socket(
    address: UdpAddress, options: Mapping[int, Any], *, send_only: bool
) -> tuple[stdlib_socket.socket, str]:
    """A non-blocking udp socket set up as libzmq's udp engine does, and the endpoint it
    resolves to (the bound port filled in)."""
    sock = stdlib_socket.socket(stdlib_socket.AF_INET, stdlib_socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if send_only:
            if address.multicast:
                loop = 1 if options[SocketOption.MULTICAST_LOOP] else 0
                sock.setsockopt(stdlib_socket.IPPROTO_IP, stdlib_socket.IP_MULTICAST_LOOP, loop)
                hops = options[SocketOption.MULTICAST_HOPS]
                if hops > 0:
                    sock.setsockopt(stdlib_socket.IPPROTO_IP, stdlib_socket.IP_MULTICAST_TTL, hops)
                if address.interface != "0.0.0.0":
                    sock.setsockopt(
                        stdlib_socket.IPPROTO_IP,
                        stdlib_socket.IP_MULTICAST_IF,
                        stdlib_socket.inet_aton(address.interface),
                    )
            return sock, f"udp://{address.host}:{address.port}"
        sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
        if address.multicast:
            # Every receiver of the group on this host gets each datagram.
            sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEPORT, 1)
            sock.bind(("0.0.0.0", address.port))
            membership = stdlib_socket.inet_aton(address.host) + stdlib_socket.inet_aton(
                address.interface
            )
            sock.setsockopt(stdlib_socket.IPPROTO_IP, stdlib_socket.IP_ADD_MEMBERSHIP, membership)
        else:
            sock.bind((address.host, address.port))
        port = sock.getsockname()[1]
    except OSError as exc:
        sock.close()
        raise ZMQError(exc.errno or errno.EINVAL, f"udp endpoint failed: {exc}") from None
    host = "*" if address.host == "0.0.0.0" else address.host
    if address.interface != "0.0.0.0":
        host = f"{address.interface};{host}"
    return sock, f"udp://{host}:{port}"


# ---------------------------------------------------------------------------- datagrams


def encode_datagram(msg: list[bytes]) -> bytes | None:
    """A RADIO message ``[group, body]`` as libzmq's datagram, or None if it is too big for
    libzmq's buffer (it would not be read whole)."""
    group, body = msg
    if 1 + len(group) + len(body) > MAX_DATAGRAM:
        return None
    return bytes((len(group),)) + group + body


def decode_datagram(data: bytes) -> list[bytes] | None:
    """A datagram as the message ``[group, body]``, or None if it is malformed."""
    if not data or len(data) - 1 < data[0]:
        return None
    end = 1 + data[0]
    return [data[1:end], data[end:]]


def _dgram_destination(address: bytes) -> tuple[str, int] | None:
    """DGRAM's address frame ``IP:PORT`` (optionally NUL-terminated), or None if invalid."""
    text = address.rstrip(b"\x00").decode("ascii", "replace")
    host, separator, port_text = text.rpartition(":")
    if not separator or not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        return None
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return None
    return host, int(port_text)


# ---------------------------------------------------------------------------- engine


async def _read_loop(
    sock: stdlib_socket.socket, peer: Peer, decode: Callable[[bytes, Any], list[bytes] | None]
) -> None:
    # hot path
    inp = peer.inp
    queue = inp.queue
    room = Wakeup()
    inp.on_writable = room.wake
    while True:
        await trio.lowlevel.wait_readable(sock)
        for _ in range(_READ_BATCH):
            hwm = queue.hwm
            if hwm and len(queue) >= hwm:
                # As libzmq, stop reading until the socket takes messages; the kernel's
                # buffer, then the network, drops what does not fit.
                inp.writer_blocked = True
                while inp.writer_blocked:
                    await room.wait()
            try:
                data, source = sock.recvfrom(65536)
            except BlockingIOError:
                break
            except OSError:
                continue  # an ICMP error from an earlier send: nothing to read
            msg = decode(data, source)
            if msg is not None and queue.push(msg) == 1:
                inp.on_readable()
        else:
            await trio.lowlevel.checkpoint()


async def _write_loop(
    sock: stdlib_socket.socket,
    peer: Peer,
    encode: Callable[[list[bytes]], tuple[bytes, tuple[str, int]] | None],
) -> None:
    # hot path
    out = peer.out
    queue = out.queue
    wake = Wakeup()
    out.on_readable = wake.wake
    while True:
        msg = queue.pop()
        if msg is None:
            await wake.wait()
            continue
        if out.writer_blocked:
            out.consumed()
        datagram = encode(msg)
        if datagram is None:
            continue
        data, destination = datagram
        while True:
            try:
                sock.sendto(data, destination)
                break
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
            except OSError:
                break  # unreachable (ICMP), too big, ...: a datagram is lost, as in libzmq


async def run_udp(
    socket_type: SocketType, sock: stdlib_socket.socket, address: UdpAddress, peer: Peer
) -> None:
    """Carry ``peer``'s messages over ``sock`` until cancelled: RADIO sends, DISH receives,
    DGRAM both."""
    try:
        async with trio.open_nursery() as nursery:
            if socket_type in (SocketType.RADIO, SocketType.DGRAM):
                if socket_type == SocketType.RADIO:
                    destination = (address.host, address.port)

                    def encode(msg: list[bytes]) -> tuple[bytes, tuple[str, int]] | None:
                        data = encode_datagram(msg)
                        return None if data is None else (data, destination)

                else:

                    def encode(msg: list[bytes]) -> tuple[bytes, tuple[str, int]] | None:
                        target = _dgram_destination(msg[0])
                        if target is None or len(msg[1]) > MAX_DATAGRAM:
                            return None
                        return msg[1], target

                nursery.start_soon(_write_loop, sock, peer, encode)
            if socket_type in (SocketType.DISH, SocketType.DGRAM):
                if socket_type == SocketType.DISH:

                    def decode(data: bytes, source: Any) -> list[bytes] | None:
                        return decode_datagram(data)

                else:

                    def decode(data: bytes, source: Any) -> list[bytes] | None:
                        return [f"{source[0]}:{source[1]}".encode() + b"\x00", data]

                nursery.start_soon(_read_loop, sock, peer, decode)
    finally:
        trio.lowlevel.notify_closing(sock)
        sock.close()
