"""``proxy`` and ``proxy_steerable``: forward messages between two sockets, as zmq_proxy.

Each direction is its own task that moves bursts of whole messages (``recv_batch`` then
``send_batch``), so a blocked destination stops only its own direction, as libzmq's proxy
stops polling the source whose destination has no room.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import trio

from ._constants import ENOTSUP, POLLIN, SocketType
from ._errors import ZMQError
from ._socket import Socket

__all__ = ["proxy", "proxy_steerable"]

#: Messages forwarded per burst (libzmq's proxy_burst_size).
_BURST = 1000


@dataclass
class _Counter:
    """Frames and bytes through one side of one socket."""

    frames: int = 0
    size: int = 0

    def add(self, messages: list[list[bytes]]) -> None:
        for message in messages:
            self.frames += len(message)
            self.size += sum(map(len, message))


@dataclass
class _ProxyState:
    active: bool = True
    resumed: trio.Event = field(default_factory=trio.Event)
    frontend_received: _Counter = field(default_factory=_Counter)
    frontend_sent: _Counter = field(default_factory=_Counter)
    backend_received: _Counter = field(default_factory=_Counter)
    backend_sent: _Counter = field(default_factory=_Counter)

    def statistics(self) -> list[bytes]:
        """libzmq's STATISTICS reply: 8 native-endian u64 frames (frames and bytes received
        and sent on the frontend, then on the backend)."""
        values = []
        for counter in (
            self.frontend_received,
            self.frontend_sent,
            self.backend_received,
            self.backend_sent,
        ):
            values += [counter.frames, counter.size]
        return [struct.pack("=Q", value) for value in values]

    def pause(self) -> None:
        if self.active:
            self.active = False
            self.resumed = trio.Event()

    def resume(self) -> None:
        self.active = True
        self.resumed.set()


async def _forward(
    source: Socket,
    target: Socket,
    capture: Socket | None,
    received: _Counter,
    sent: _Counter,
    state: _ProxyState,
) -> None:
    """Move messages from ``source`` to ``target`` while the proxy is active."""
    try:
        while True:
            if not state.active:
                await state.resumed.wait()
                continue
            await source.poll(POLLIN)
            if not state.active:
                continue  # paused while waiting: leave the messages queued
            batch = await source.recv_batch(_BURST)
            received.add(batch)
            if capture is not None:
                await capture.send_batch(batch)
            await target.send_batch(batch)
            sent.add(batch)
    except ZMQError as exc:
        if exc.errno != ENOTSUP:  # a source that cannot receive (e.g. PUB): no direction
            raise


async def _obey(control: Socket, state: _ProxyState, scope: trio.CancelScope) -> None:
    """Handle PAUSE, RESUME, TERMINATE and STATISTICS as libzmq's steerable proxy does."""
    async for message in control:
        command = message[0]
        if command == b"STATISTICS":
            await control.send_multipart(state.statistics())
            continue
        if command == b"PAUSE":
            state.pause()
        elif command == b"RESUME":
            state.resume()
        if control.type == SocketType.REP:
            await control.send(b"")  # libzmq satisfies REP's duty: an empty reply, always
        if command == b"TERMINATE":
            scope.cancel()  # after the reply, as libzmq stops its loop only then
            return


async def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> None:
    """Forward messages from ``frontend`` to ``backend`` and back until cancelled; each
    message is also sent to ``capture`` when given (as ``zmq_proxy``)."""
    await proxy_steerable(frontend, backend, capture)


async def proxy_steerable(
    frontend: Socket,
    backend: Socket,
    capture: Socket | None = None,
    control: Socket | None = None,
) -> None:
    """``proxy`` that also obeys commands on ``control`` (as ``zmq_proxy_steerable``):
    ``PAUSE`` and ``RESUME`` forwarding, ``TERMINATE`` (the call returns), and
    ``STATISTICS`` (replies with 8 u64 frames: frames and bytes received and sent on the
    frontend, then the backend). A REP control socket gets an empty reply to the others.
    """
    state = _ProxyState()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            _forward,
            frontend,
            backend,
            capture,
            state.frontend_received,
            state.backend_sent,
            state,
        )
        if backend is not frontend:
            nursery.start_soon(
                _forward,
                backend,
                frontend,
                capture,
                state.backend_received,
                state.frontend_sent,
                state,
            )
        if control is not None:
            nursery.start_soon(_obey, control, state, nursery.cancel_scope)
