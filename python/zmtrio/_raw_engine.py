"""The engine of a STREAM socket's connections: raw bytes, no ZMTP (libzmq's raw engine).

What arrives is delivered in chunks as ``[routing_id, data]``; with ``STREAM_NOTIFY`` (the
default) ``[routing_id, b""]`` announces the connection first and its end last. What the
socket queues for the peer is written as it is; an empty message closes the connection
once everything queued before it is written (the socket has already forgotten the id).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, final

import trio

from ._constants import EventType
from ._options import SocketOption
from ._peer import Peer
from ._seam import HostSocket
from ._transport._socket_io import SocketIO
from ._wakeup import Wakeup

__all__ = ["RawEngine"]

#: Bytes asked of the kernel per read.
RECV_SIZE: Final = 65536
#: Bytes gathered into one write.
SEND_SIZE: Final = 256 * 1024
#: Reads that did not wait, in a row, after which the reader yields anyway.
MAX_UNYIELDED: Final = 16

_CONNECTION_LOST = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


@final
class RawEngine:
    """Runs one raw tcp/ipc connection for a STREAM ``socket`` through ``peer``'s pipes."""

    __slots__ = (
        "_closed_by_us",
        "_endpoint",
        "_io",
        "_reader_wake",
        "_socket",
        "_writer_wake",
        "peer",
    )

    def __init__(self, socket: HostSocket, io: SocketIO, endpoint: str, peer: Peer) -> None:
        self._socket = socket
        self._io = io
        self._endpoint = endpoint
        self.peer = peer
        self._writer_wake = Wakeup()
        self._reader_wake = Wakeup()
        #: The application closed the connection (an empty message).
        self._closed_by_us = False

    async def run(self) -> bool:
        """Serve the connection until it ends; True if it may be retried (connects are
        retried after a disconnect, not after the application closed them)."""
        socket = self._socket
        peer = self.peer
        peer.out.on_readable = self._writer_wake.wake
        peer.inp.on_writable = self._reader_wake.wake
        notify = bool(socket.options[SocketOption.STREAM_NOTIFY])
        attached = False
        try:
            if not socket.connection_ready(peer, None):
                return False
            attached = True
            socket.emit(EventType.HANDSHAKE_SUCCEEDED, 0, self._endpoint)
            if notify:
                peer.inp.push([peer.routing_id, b""])
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._guard, self._write_loop, nursery.cancel_scope)
                await self._guard(self._read_loop, nursery.cancel_scope)
        finally:
            if attached and notify and not self._closed_by_us and not socket.closed:
                peer.inp.push([peer.routing_id, b""])
            peer.out.detach_consumer()
            peer.inp.detach_producer()
            socket.connection_lost(peer)
            self._io.close()
        socket.emit(EventType.DISCONNECTED, self._io.fd, self._endpoint)
        return not self._closed_by_us

    async def _guard(self, loop: Callable[[], Awaitable[None]], scope: trio.CancelScope) -> None:
        """Run a loop; when it ends (the connection is lost or closed) both end."""
        try:
            await loop()
        except _CONNECTION_LOST:
            pass
        scope.cancel()

    async def _read_loop(self) -> None:
        # hot path
        peer = self.peer
        inp = peer.inp
        queue = inp.queue
        receive_some = self._io.receive_some
        unyielded = 0
        while True:
            hwm = queue.hwm
            while hwm and len(queue) >= hwm:
                inp.writer_blocked = True
                while inp.writer_blocked:
                    await self._reader_wake.wait()
            data, waited = await receive_some(RECV_SIZE)
            if not data:
                return
            if queue.push([peer.routing_id, data]) == 1:
                inp.on_readable()
            unyielded = 0 if waited else unyielded + 1
            if unyielded >= MAX_UNYIELDED:
                unyielded = 0
                await trio.lowlevel.checkpoint()

    async def _write_loop(self) -> None:
        # hot path
        out = self.peer.out
        queue = out.queue
        send_all = self._io.send_all
        wait_for_messages = self._writer_wake.wait
        while True:
            chunks: list[bytes] = []
            size = 0
            close = False
            while size < SEND_SIZE:
                msg = queue.pop()
                if msg is None:
                    break
                if not msg[0]:
                    close = True
                    break
                chunks.append(msg[0])
                size += len(msg[0])
            if out.writer_blocked:
                out.consumed()
            if chunks:
                self.peer.flushing = True
                try:
                    await send_all(b"".join(chunks) if len(chunks) > 1 else chunks[0])
                finally:
                    self.peer.flushing = False
            if close:
                self._closed_by_us = True
                return
            if not chunks:
                await wait_for_messages()
