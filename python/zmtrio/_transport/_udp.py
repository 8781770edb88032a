"""``udp://``: RADIO/DISH and DGRAM over datagrams, unicast or multicast, IPv4 or IPv6
(libzmq's ``udp_address.cpp``, ``ip_resolver.cpp`` and ``udp_engine.cpp``).

Endpoints (a RADIO connects; a DISH or DGRAM binds, as libzmq 4.3, which refuses the
other way round with ``ENOCOMPATPROTO``):

- ``udp://HOST:PORT``: a RADIO sends there; a DISH or DGRAM receives there (``*`` is any
  address, port ``*`` or ``0`` an ephemeral one; a receiver's HOST is an address or an
  interface name, never a DNS name).
- ``udp://GROUP:PORT`` with a multicast GROUP (``224.0.0.0/4``, ``ff00::/8``): a RADIO
  sends to the group (``MULTICAST_HOPS`` is the TTL or hop limit, ``MULTICAST_LOOP``
  whether this host's own receivers get a copy); a DISH binds the port on every address
  and joins the group.
- ``udp://IFACE;GROUP:PORT``: the same on one interface: named (``eth0``), ``*``, or (IPv4)
  by its address; only with a multicast GROUP (EINVAL otherwise). IPv6 multicast needs an
  interface libzmq can find an index for: a name or ``*`` (ENODEV for an address).

IPv6 needs the ``IPV6`` option, as in libzmq: with it every address is resolved as IPv6
(``[::1]``, ``[ff02::1]``, ``[fe80::1%eth0]``; an IPv4 address becomes its IPv4-mapped
form, so the socket is dual-stack); without it an IPv6 address is ENODEV for a receiver
and EINVAL for a RADIO.

Each RADIO message ``[group, body]`` is one datagram ``len(group):u8 group body``, as
libzmq lays it out; a DISH drops a datagram whose group length runs past its end. A DGRAM
message is ``[address, body]``: received, the address is libzmq's ``"IP:PORT\\0"`` (an IPv6
sender's as ``"[IP]:PORT\\0"``, an IPv4-mapped one as plain IPv4); sent, ``"IP:PORT"`` or
``"[IP]:PORT"`` (a trailing NUL is allowed) names the destination, and a message whose
address does not parse is dropped.

Sizes: libzmq reads at most 8192 bytes of a datagram (longer ones arrive cut to that), and
so does zmtrio. libzmq 4.3 sends a longer one whole by overrunning its 8192-byte buffer
(``udp_engine.cpp``: "TODO: check if larger than maximum size"); zmtrio drops it at the
sender instead, since no libzmq receiver would read it whole.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import socket as stdlib_socket
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
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
#: The kernel's table of IPv6 interface addresses (Linux).
_IF_INET6: Final = Path("/proc/net/if_inet6")

_AF_INET: Final = stdlib_socket.AF_INET
_AF_INET6: Final = stdlib_socket.AF_INET6

#: A socket address as Python's socket calls take it: ``(host, port)`` for IPv4,
#: ``(host, port, flowinfo, scope_id)`` for IPv6.
SockAddr = tuple[str, int] | tuple[str, int, int, int]


@final
@dataclass(frozen=True, slots=True)
class UdpAddress:
    """A parsed udp endpoint."""

    family: int
    """``AF_INET``, or ``AF_INET6`` with the ``IPV6`` option."""
    host: str
    """The destination (RADIO) or the address to bind (DISH, DGRAM): ``0.0.0.0`` or
    ``::`` for any."""
    port: int
    multicast: bool
    """Whether ``host`` is a multicast group."""
    interface: str
    """The multicast interface as the endpoint gave it (``""``: none, the kernel picks);
    for IPv4 its address."""
    interface_index: int = 0
    """IPv6 multicast: the interface's index (0: the kernel picks)."""
    scope_id: int = 0
    """IPv6: the zone of a link-local ``host`` (``%eth0``)."""

    @property
    def sockaddr(self) -> SockAddr:
        """``host`` and ``port`` as the socket calls take them."""
        if self.family == _AF_INET6:
            return (self.host, self.port, 0, self.scope_id)
        return (self.host, self.port)

    @property
    def any_host(self) -> str:
        """The wildcard address of the family."""
        return "::" if self.family == _AF_INET6 else "0.0.0.0"


# ---------------------------------------------------------------------------- resolving


def _ipv4_of_interface(name: str) -> str | None:
    """The IPv4 address of interface ``name``, or None if it has none."""
    probe = stdlib_socket.socket(_AF_INET, stdlib_socket.SOCK_DGRAM)
    try:
        request = struct.pack("256s", name.encode()[:15])
        answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
    except OSError:
        return None
    finally:
        probe.close()
    return stdlib_socket.inet_ntoa(answer[20:24])


def _ipv6_of_interface(name: str) -> tuple[str, int] | None:
    """An IPv6 address of interface ``name`` and its scope (link-local: the interface's
    index), or None if it has none."""
    try:
        lines = _IF_INET6.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) == 6 and fields[5] == name:
            address = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
            return str(address), int(fields[1], 16) if address.is_link_local else 0
    return None


def _resolve_host(text: str, *, ipv6: bool, bindable: bool, nic: bool, dns: bool) -> SockAddr:
    """libzmq's ``ip_resolver_t`` for a host without port: ``[...]`` stripped, a ``%zone``
    taken off, ``*`` (bindable) the wildcard, an interface name (``nic``), then a literal
    or (``dns``) a name, as IPv6 (IPv4 mapped) with ``ipv6``; ENODEV (bindable) or EINVAL
    when nothing matches. Returns ``(host, 0)`` or ``(host, 0, 0, scope_id)``."""
    if len(text) >= 2 and text[0] == "[" and text[-1] == "]":
        text = text[1:-1]
    scope_id = 0
    if "%" in text:
        text, _, zone = text.rpartition("%")
        if not zone:
            raise ZMQError(errno.EINVAL, "empty IPv6 zone")
        if zone[0].isalpha():
            try:
                scope_id = stdlib_socket.if_nametoindex(zone)
            except OSError:
                scope_id = 0
        else:
            scope_id = int(zone) if zone.isdigit() else 0
        if scope_id == 0:
            raise ZMQError(errno.EINVAL, f"unknown IPv6 zone {zone!r}")
    family = _AF_INET6 if ipv6 else _AF_INET
    host: str | None = None
    if bindable and text == "*":
        host = "::" if ipv6 else "0.0.0.0"
    if host is None and nic:
        if ipv6:
            found = _ipv6_of_interface(text)
            if found is not None:
                host, scope_id = found
        else:
            host = _ipv4_of_interface(text)
    if host is None:
        flags = stdlib_socket.AI_PASSIVE if bindable else 0
        if not dns:
            flags |= stdlib_socket.AI_NUMERICHOST
        if ipv6:
            flags |= stdlib_socket.AI_V4MAPPED
        try:
            found_infos = stdlib_socket.getaddrinfo(
                text, None, family, stdlib_socket.SOCK_DGRAM, 0, flags
            )
        except (OSError, UnicodeError):
            code = errno.ENODEV if bindable else errno.EINVAL
            raise ZMQError(code, f"cannot resolve udp host {text!r}") from None
        host = str(found_infos[0][4][0]).partition("%")[0]
    if ipv6:
        return (host, 0, 0, scope_id)
    return (host, 0)


def _is_multicast(host: str, family: int) -> bool:
    if family == _AF_INET6:
        return ipaddress.IPv6Address(host).is_multicast
    return ipaddress.IPv4Address(host).is_multicast


def parse(address: str, *, bind: bool, ipv6: bool = False) -> UdpAddress:
    """Parse ``[IFACE;]HOST:PORT`` as libzmq does for a sender (``bind=False``: RADIO) or a
    receiver (DISH, DGRAM), as IPv6 with ``ipv6`` (the ``IPV6`` option); raises
    ``ZMQError`` (EINVAL, ENODEV)."""
    family = _AF_INET6 if ipv6 else _AF_INET
    interface = ""
    interface_index = -1
    if ";" in address:
        source, address = address.rsplit(";", 1)
        resolved_source = _resolve_host(source, ipv6=ipv6, bindable=True, nic=True, dns=False)
        if _is_multicast(resolved_source[0], family):
            raise ZMQError(errno.EINVAL, "a multicast address cannot be a source")
        # IPv6 multicast goes by interface index, which only a name (or *) gives.
        if source == "*":
            interface_index = 0
        else:
            try:
                interface_index = stdlib_socket.if_nametoindex(source)
            except OSError:
                interface_index = -1
        interface = source if ipv6 else resolved_source[0]
    host_text, separator, port_text = address.rpartition(":")
    if not separator:
        raise ZMQError(errno.EINVAL, f"invalid udp address {address!r}: expected host:port")
    if port_text == "*" and bind:
        port = 0
    elif port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535:
        port = int(port_text)
    else:
        raise ZMQError(errno.EINVAL, f"invalid udp port {port_text!r}")
    if not bind and port == 0:
        raise ZMQError(errno.EINVAL, "a RADIO needs a destination port")
    # A receiver binds to an address or a NIC by name, never by DNS; a RADIO resolves.
    target = _resolve_host(host_text, ipv6=ipv6, bindable=bind, nic=bind, dns=not bind)
    host = target[0]
    multicast = _is_multicast(host, family)
    if interface and not multicast:
        raise ZMQError(errno.EINVAL, "an interface is only given with a multicast group")
    if ipv6 and multicast and interface and interface_index < 0:
        raise ZMQError(errno.ENODEV, f"no interface index for {interface!r}")
    scope_id = target[3] if len(target) == 4 else 0
    if interface == "0.0.0.0":
        interface = ""  # IPv4 "*": the kernel picks, as with no interface
    return UdpAddress(family, host, port, multicast, interface, max(interface_index, 0), scope_id)


def check_type(socket_type: SocketType, *, bind: bool) -> None:
    """libzmq 4.3's udp socket types: RADIO connects, DISH and DGRAM bind; anything else
    (a DISH or DGRAM connect among them) is ``ENOCOMPATPROTO``."""
    allowed = (SocketType.DISH, SocketType.DGRAM) if bind else (SocketType.RADIO,)
    if socket_type not in allowed:
        verb = "bind" if bind else "connect"
        raise ZMQError(
            ENOCOMPATPROTO, f"udp:// does not {verb} {socket_type.name} sockets (as libzmq)"
        )


def _set_sender_options(
    sock: stdlib_socket.socket, address: UdpAddress, options: Mapping[int, Any]
) -> None:
    """Multicast loop, hops and interface for a RADIO's socket, as libzmq sets them."""
    loop = 1 if options[SocketOption.MULTICAST_LOOP] else 0
    hops = options[SocketOption.MULTICAST_HOPS]
    if address.family == _AF_INET6:
        level = stdlib_socket.IPPROTO_IPV6
        sock.setsockopt(level, stdlib_socket.IPV6_MULTICAST_LOOP, loop)
        if hops > 0:
            sock.setsockopt(level, stdlib_socket.IPV6_MULTICAST_HOPS, hops)
        if address.interface_index > 0:
            sock.setsockopt(level, stdlib_socket.IPV6_MULTICAST_IF, address.interface_index)
        return
    level = stdlib_socket.IPPROTO_IP
    sock.setsockopt(level, stdlib_socket.IP_MULTICAST_LOOP, loop)
    if hops > 0:
        sock.setsockopt(level, stdlib_socket.IP_MULTICAST_TTL, hops)
    if address.interface:
        sock.setsockopt(
            level, stdlib_socket.IP_MULTICAST_IF, stdlib_socket.inet_aton(address.interface)
        )


def _join_group(sock: stdlib_socket.socket, address: UdpAddress) -> None:
    if address.family == _AF_INET6:
        membership = stdlib_socket.inet_pton(_AF_INET6, address.host) + struct.pack(
            "@I", address.interface_index
        )
        sock.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_JOIN_GROUP, membership)
        return
    membership = stdlib_socket.inet_aton(address.host) + stdlib_socket.inet_aton(
        address.interface or "0.0.0.0"
    )
    sock.setsockopt(stdlib_socket.IPPROTO_IP, stdlib_socket.IP_ADD_MEMBERSHIP, membership)


def _endpoint(address: UdpAddress, port: int, *, with_interface: bool) -> str:
    if address.host == address.any_host:
        host = "*"
    elif address.family == _AF_INET6:
        host = f"[{address.host}]"
    else:
        host = address.host
    if with_interface and address.interface:
        host = f"{address.interface};{host}"
    return f"udp://{host}:{port}"


def open_udp_socket(
    address: UdpAddress, options: Mapping[int, Any], *, send_only: bool
) -> tuple[stdlib_socket.socket, str]:
    """A non-blocking udp socket set up as libzmq's udp engine does, and the endpoint it
    resolves to (the bound port filled in)."""
    sock = stdlib_socket.socket(address.family, stdlib_socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if send_only:
            if address.multicast:
                _set_sender_options(sock, address, options)
            return sock, _endpoint(address, address.port, with_interface=False)
        sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
        if address.multicast:
            # Every receiver of the group on this host gets each datagram.
            sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEPORT, 1)
            sock.bind((address.any_host, address.port))
            _join_group(sock, address)
        else:
            sock.bind(address.sockaddr)
        port = sock.getsockname()[1]
    except OSError as exc:
        sock.close()
        raise ZMQError(exc.errno or errno.EINVAL, f"udp endpoint failed: {exc}") from None
    return sock, _endpoint(address, port, with_interface=True)


# ---------------------------------------------------------------------------- datagrams


def encode_datagram(msg: list[bytes]) -> bytes | None:
    """A RADIO message ``[group, body]`` as libzmq's datagram, or None if it is longer
    than libzmq's buffer (no libzmq receiver would read it whole)."""
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


def dgram_source(source: Any) -> bytes:
    """DGRAM's address frame for a sender: libzmq's ``IP:PORT\\0``; an IPv6 sender's as
    ``[IP]:PORT\\0``, an IPv4-mapped one as its IPv4 address."""
    host = source[0]
    if len(source) == 4:
        if host.startswith("::ffff:") and "." in host:
            host = host[7:]
        else:
            host = f"[{host}]"
    return f"{host}:{source[1]}".encode() + b"\x00"


def dgram_destination(address: bytes, family: int) -> SockAddr | None:
    """DGRAM's address frame ``IP:PORT`` or ``[IP]:PORT`` (optionally NUL-terminated) as a
    socket address of ``family`` (IPv4 mapped into IPv6), or None if invalid."""
    text = address.rstrip(b"\x00").decode("ascii", "replace")
    host, separator, port_text = text.rpartition(":")
    if not separator or not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        return None
    port = int(port_text)
    if family == _AF_INET:
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return None
        return (host, port)
    if len(host) >= 2 and host[0] == "[" and host[-1] == "]":
        host = host[1:-1]
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return None
    if literal.version == 4:
        return (f"::ffff:{host}", port, 0, 0)
    scope = literal.scope_id
    if scope is None:
        return (host, port, 0, 0)
    try:
        scope_id = int(scope) if scope.isdigit() else stdlib_socket.if_nametoindex(scope)
    except OSError:
        return None
    return (host.partition("%")[0], port, 0, scope_id)


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
                data, source = sock.recvfrom(MAX_DATAGRAM)  # longer: cut, as libzmq
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
    encode: Callable[[list[bytes]], tuple[bytes, SockAddr] | None],
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
                    destination = address.sockaddr

                    def encode(msg: list[bytes]) -> tuple[bytes, SockAddr] | None:
                        data = encode_datagram(msg)
                        return None if data is None else (data, destination)

                else:
                    family = address.family

                    def encode(msg: list[bytes]) -> tuple[bytes, SockAddr] | None:
                        target = dgram_destination(msg[0], family)
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
                        return [dgram_source(source), data]

                nursery.start_soon(_read_loop, sock, peer, decode)
    finally:
        trio.lowlevel.notify_closing(sock)
        sock.close()
