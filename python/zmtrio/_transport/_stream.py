"""Stream transports (tcp, ipc): the accept loop of a bound endpoint and the connect loop
with libzmq's reconnect backoff. Each connection is served by an ``Engine``; the socket is
seen only as a :class:`~.._seam.HostSocket`."""

from __future__ import annotations

import errno
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, final

import trio

from .._constants import EventType, SocketType
from .._engine import Engine
from .._options import SocketOption
from .._peer import Peer
from .._raw_engine import RawEngine
from .._seam import HostSocket
from . import _ipc, _tcp
from ._socket_io import SocketIO

__all__ = ["Listener", "accept_loop", "connect_loop", "listen", "opener"]

OpenStream = Callable[[str, Mapping[int, Any]], Awaitable[SocketIO]]


@final
class Listener:
    """A bound tcp/ipc endpoint: its listening socket and what to remove when it closes."""

    __slots__ = ("endpoint", "path", "scope", "sock")

    def __init__(self, sock: trio.socket.SocketType, endpoint: str, path: str | None) -> None:
        self.sock = sock
        self.endpoint = endpoint
        self.path = path
        #: Cancels the accept loop and every connection it accepted (as libzmq's unbind).
        self.scope = trio.CancelScope()

    def close(self) -> None:
        """Stop accepting, drop the accepted connections and remove an ipc socket file."""
        self.scope.cancel()
        self.sock.close()
        if self.path is not None:
            _ipc.remove(self.path)


async def listen(transport: str, address: str, options: Mapping[int, Any]) -> Listener:
    """Bind ``transport://address``; raises ``ZMQError`` with libzmq's errno on failure."""
    if transport == "tcp":
        sock, endpoint = await _tcp.listen(address, options)
        return Listener(sock, endpoint, None)
    sock, endpoint, path = await _ipc.listen(address, options)
    return Listener(sock, endpoint, path)


def opener(transport: str, address: str) -> OpenStream:
    """Validate ``address`` now (raising ``ZMQError``) and return how to open it later."""
    if transport == "tcp":
        _tcp.parse(address, bind=False)
        return _tcp.open_socket
    _ipc.parse(address, bind=False)
    return _ipc.open_socket


def _engine(socket: HostSocket, io: SocketIO, endpoint: str, peer: Peer) -> Engine | RawEngine:
    """ZMTP's engine, or the raw one for STREAM sockets."""
    engine = RawEngine if socket.type == SocketType.STREAM else Engine
    return engine(socket, io, endpoint, peer)


async def _serve_accepted(socket: HostSocket, io: SocketIO, endpoint: str) -> None:
    peer = socket.new_peer(endpoint)
    await _engine(socket, io, endpoint, peer).run()


async def accept_loop(socket: HostSocket, listener: Listener) -> None:
    """Accept connections until the listener closes, serving each in its own task."""
    with listener.scope:
        async with trio.open_nursery() as nursery:
            while True:
                try:
                    raw, _ = await listener.sock.accept()
                except OSError as exc:
                    socket.emit(EventType.ACCEPT_FAILED, exc.errno or 0, listener.endpoint)
                    if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                        await trio.sleep(0.1)  # out of resources: let connections finish
                    continue
                io = SocketIO.adopt(raw)
                if io.sock.family != trio.socket.AF_UNIX:
                    _tcp.apply_options(io.sock, socket.options)
                socket.emit(EventType.ACCEPTED, io.fd, listener.endpoint)
                nursery.start_soon(_serve_accepted, socket, io, listener.endpoint)


class _Backoff:
    """libzmq's reconnect delays: IVL plus jitter, or doubling up to IVL_MAX."""

    def __init__(self, options: Mapping[int, Any]) -> None:
        interval = options[SocketOption.RECONNECT_IVL]
        maximum = options[SocketOption.RECONNECT_IVL_MAX]
        assert isinstance(interval, int) and isinstance(maximum, int)
        self.interval = interval
        self.maximum = maximum
        self.current = interval

    def reset(self) -> None:
        self.current = self.interval

    def next_ms(self) -> int:
        if self.maximum > 0:
            delay = min(self.current, self.maximum)
            self.current = min(self.current * 2, self.maximum)
            return delay
        return self.interval + random.randrange(max(self.interval, 1))


async def connect_loop(
    socket: HostSocket, endpoint: str, address: str, open_stream: OpenStream, peer: Peer
) -> None:
    """Keep ``peer`` connected to ``endpoint``: connect, serve, and retry after disconnects
    with libzmq's backoff. Ends on a protocol failure or when reconnecting is disabled, and
    then drops the peer (libzmq terminates the endpoint's pipe)."""
    options = socket.options
    backoff = _Backoff(options)
    try:
        while True:
            try:
                io = await open_stream(address, options)
            except (OSError, trio.TooSlowError) as exc:
                code = getattr(exc, "errno", None) or errno.ETIMEDOUT
                socket.emit(EventType.CONNECT_DELAYED, code, endpoint)
            else:
                backoff.reset()
                socket.emit(EventType.CONNECTED, io.fd, endpoint)
                if not await _engine(socket, io, endpoint, peer).run():
                    return
            if backoff.interval <= 0:
                return
            delay = backoff.next_ms()
            socket.emit(EventType.CONNECT_RETRIED, delay, endpoint)
            await trio.sleep(delay / 1000)
    finally:
        socket.endpoint_ended(peer)
