"""``tcp://`` addresses: parsing (IPv4, ``[IPv6]``, hostnames, ``*``), listening, connecting."""

from __future__ import annotations

import errno
import socket as stdlib_socket
from collections.abc import Mapping
from typing import Any

import trio

from .._errors import ZMQError
from .._options import SocketOption
from ._socket_io import SocketIO

__all__ = ["apply_options", "listen", "open_socket", "parse"]


def parse(address: str, *, bind: bool) -> tuple[str | None, int]:
    """Split ``host:port``; ``host`` is None for the ``*`` wildcard, port 0 for ``*``.

    Raises ``EINVAL`` for a malformed address (``ENODEV`` for a missing bind host, as libzmq).
    """
    if address.startswith("["):
        close = address.find("]")
        if close < 0 or address[close + 1 : close + 2] != ":":
            raise ZMQError(errno.EINVAL, f"invalid tcp address {address!r}")
        host, port_text = address[1:close], address[close + 2 :]
    else:
        host, separator, port_text = address.rpartition(":")
        if not separator:
            raise ZMQError(errno.EINVAL, f"invalid tcp address {address!r}: no port")
    if not host:
        raise ZMQError(errno.ENODEV if bind else errno.EINVAL, f"no host in {address!r}")
    if port_text == "*" and bind:
        port = 0
    elif port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535:
        port = int(port_text)
    else:
        raise ZMQError(errno.EINVAL, f"invalid tcp port {port_text!r} in {address!r}")
    if host == "*":
        if not bind:
            raise ZMQError(errno.EINVAL, f"cannot connect to the wildcard address {address!r}")
        return None, port
    if not bind and port == 0:
        raise ZMQError(errno.EINVAL, f"cannot connect to port 0 in {address!r}")
    return host, port


def apply_options(sock: stdlib_socket.socket, options: Mapping[int, Any]) -> None:
    """Set the TCP keepalive and buffer options a socket carries (libzmq's -1 = OS default)."""
    keepalive = options[SocketOption.TCP_KEEPALIVE]
    if keepalive != -1:
        sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_KEEPALIVE, keepalive)
    if keepalive == 1:
        for option, name in (
            (SocketOption.TCP_KEEPALIVE_IDLE, "TCP_KEEPIDLE"),
            (SocketOption.TCP_KEEPALIVE_INTVL, "TCP_KEEPINTVL"),
            (SocketOption.TCP_KEEPALIVE_CNT, "TCP_KEEPCNT"),
        ):
            value = options[option]
            if value != -1 and hasattr(stdlib_socket, name):
                sock.setsockopt(stdlib_socket.IPPROTO_TCP, getattr(stdlib_socket, name), value)
    for option, level_option in (
        (SocketOption.SNDBUF, stdlib_socket.SO_SNDBUF),
        (SocketOption.RCVBUF, stdlib_socket.SO_RCVBUF),
    ):
        value = options[option]
        if value != -1:
            sock.setsockopt(stdlib_socket.SOL_SOCKET, level_option, value)


async def _bind_address(host: str | None, port: int, ipv6: bool) -> tuple[int, tuple[str, int]]:
    if host is None:
        if ipv6:
            return stdlib_socket.AF_INET6, ("::", port)
        return stdlib_socket.AF_INET, ("0.0.0.0", port)
    try:
        infos = await trio.socket.getaddrinfo(
            host, port, type=stdlib_socket.SOCK_STREAM, flags=stdlib_socket.AI_PASSIVE
        )
    except stdlib_socket.gaierror as exc:
        raise ZMQError(errno.ENODEV, f"cannot resolve bind address {host!r}") from exc
    preferred = stdlib_socket.AF_INET6 if ipv6 else stdlib_socket.AF_INET
    infos.sort(key=lambda info: info[0] != preferred)
    family, _, _, _, sockaddr = infos[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def _format(host: str, port: int) -> str:
    return f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"


async def listen(address: str, options: Mapping[int, Any]) -> tuple[trio.socket.SocketType, str]:
    """Bind and listen on ``address``; return the listening socket and resolved endpoint."""
    host, port = parse(address, bind=True)
    family, sockaddr = await _bind_address(host, port, bool(options[SocketOption.IPV6]))
    sock = trio.socket.socket(family, stdlib_socket.SOCK_STREAM)
    try:
        sock.setsockopt(stdlib_socket.SOL_SOCKET, stdlib_socket.SO_REUSEADDR, 1)
        if family == stdlib_socket.AF_INET6 and host is None:
            sock.setsockopt(stdlib_socket.IPPROTO_IPV6, stdlib_socket.IPV6_V6ONLY, 0)
        await sock.bind(sockaddr)
        backlog = options[SocketOption.BACKLOG]
        assert isinstance(backlog, int)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ZMQError(exc.errno or errno.EINVAL, f"cannot bind tcp://{address}: {exc}") from exc
    bound_host, bound_port = sock.getsockname()[:2]
    return sock, _format(bound_host, bound_port)


async def open_socket(address: str, options: Mapping[int, Any]) -> SocketIO:
    """Connect to ``address`` (resolving it anew on every attempt, as libzmq)."""
    host, port = parse(address, bind=False)
    assert host is not None
    timeout_ms = options[SocketOption.CONNECT_TIMEOUT]
    assert isinstance(timeout_ms, int)
    with trio.fail_after(timeout_ms / 1000 if timeout_ms > 0 else float("inf")):
        stream = await trio.open_tcp_stream(host, port)
    io = SocketIO.adopt(stream.socket)
    apply_options(io.sock, options)
    return io
