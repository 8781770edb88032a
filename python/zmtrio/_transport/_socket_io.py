"""``SocketIO``: a connected stream socket driven directly by the engine.

trio's ``SocketStream`` ends every successful call with a trip through the scheduler. The
engine makes two such calls per message exchange on its latency path (``recv`` and
``send``), so it tries the system call first and waits for readiness only when the socket
would block; its loops yield to the scheduler themselves (see ``_engine``).
"""

from __future__ import annotations

import socket as stdlib_socket
from collections.abc import Callable
from typing import Final, final

import trio

__all__ = ["Buffers", "SocketIO"]

#: What a gathered write takes: buffers written one after the other.
Buffers = list[bytes | memoryview]

#: Buffers per ``sendmsg`` at most (Linux's IOV_MAX is 1024).
_MAX_GATHERED: Final = 512


def _unsent(buffers: Buffers, sent: int) -> Buffers:
    """What is left of ``buffers`` once their first ``sent`` bytes were written: the
    untouched ones, after a view of the rest of the one the kernel stopped in."""
    for index, buffer in enumerate(buffers):
        size = len(buffer)
        if sent < size:
            if sent:
                return [memoryview(buffer)[sent:], *buffers[index + 1 :]]
            return buffers[index:]
        sent -= size
    return []


@final
class SocketIO:
    """A non-blocking stream socket with ``send_all`` and ``receive_some``."""

    __slots__ = ("fd", "sock")

    def __init__(self, sock: stdlib_socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.fd = sock.fileno()

    @classmethod
    def adopt(cls, sock: trio.socket.SocketType) -> SocketIO:
        """Take over the file descriptor of a connected trio socket."""
        raw = stdlib_socket.socket(fileno=sock.detach())
        if raw.family in (stdlib_socket.AF_INET, stdlib_socket.AF_INET6):
            # As trio's SocketStream: small messages must not wait for Nagle's algorithm.
            raw.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
        return cls(raw)

    async def send_all(self, data: bytes | memoryview) -> bool:
        """Write all of ``data``; True if it went out without waiting (no yield)."""
        sock = self.sock
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return True
        view = memoryview(data)[sent:]
        while view:
            await trio.lowlevel.wait_writable(sock)
            try:
                view = view[sock.send(view) :]
            except BlockingIOError:
                pass
        return False

    async def send_gathered(self, buffers: Buffers) -> bool:
        """Write all of ``buffers``, in order, each from where it lies (``sendmsg``); True
        if they went out without waiting (no yield)."""
        sock = self.sock
        try:
            buffers = _unsent(buffers, sock.sendmsg(buffers[:_MAX_GATHERED]))
        except BlockingIOError:
            pass
        if not buffers:
            return True
        while buffers:
            await trio.lowlevel.wait_writable(sock)
            try:
                buffers = _unsent(buffers, sock.sendmsg(buffers[:_MAX_GATHERED]))
            except BlockingIOError:
                pass
        return False

    def send_gathered_now(self, buffers: Buffers) -> Buffers:
        """Write what the kernel takes of ``buffers`` now, without waiting; what is left
        (empty: nothing), all of it after an error (the next write reports it)."""
        try:
            return _unsent(buffers, self.sock.sendmsg(buffers[:_MAX_GATHERED]))
        except OSError:  # would block, or the connection broke: the writer finds out
            return buffers

    async def receive_some(self, max_bytes: int) -> tuple[bytes, bool]:
        """Read up to ``max_bytes`` (``b""`` at end of stream); the flag says whether the
        call waited (and so yielded to the scheduler)."""
        sock = self.sock
        try:
            return sock.recv(max_bytes), False
        except BlockingIOError:
            pass
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                return sock.recv(max_bytes), True
            except BlockingIOError:
                pass

    async def receive_into(
        self, view: Callable[[], memoryview], spill: bytearray
    ) -> tuple[int, bool]:
        """Receive into the buffer ``view()`` gives, asked for only once the socket is
        readable (what it shows may change while this waits), and what follows into
        ``spill``, in one scattered read; the count (0 at end of stream), and whether the
        call waited."""
        sock = self.sock
        try:
            return sock.recvmsg_into((view(), spill))[0], False
        except BlockingIOError:
            pass
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                return sock.recvmsg_into((view(), spill))[0], True
            except BlockingIOError:
                pass

    def close(self) -> None:
        """Close the socket, waking any task waiting on it."""
        trio.lowlevel.notify_closing(self.sock)
        self.sock.close()
