"""``Context``: the nursery that owns every socket's background tasks."""

from __future__ import annotations

import errno
from types import TracebackType
from typing import final

import trio

from ._constants import ETERM
from ._errors import ZMQError
from ._socket import Socket
from ._transport._inproc import InprocRegistry

__all__ = ["Context"]


@final
class Context:
    """Owns sockets, their I/O tasks and the inproc endpoints they share.

    Use it as an async context manager; leaving it (or ``await ctx.aclose()``) closes every
    socket still open, honouring each one's ``LINGER``, and returns when all of the
    context's tasks have ended. An exception in a background task surfaces there::

        async with zmtrio.Context() as ctx:
            sock = ctx.socket(zmtrio.PUSH)
            ...
    """

    def __init__(self) -> None:
        self._nursery: trio.Nursery | None = None
        self._nursery_cm: object = None
        self._sockets: set[Socket] = set()
        self._inproc = InprocRegistry()
        self._closed = False

    async def __aenter__(self) -> Context:
        if self._nursery_cm is not None or self._closed:
            raise ZMQError(errno.EINVAL, "a Context can be entered once")
        manager = trio.open_nursery()
        self._nursery_cm = manager
        self._nursery = await manager.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        manager = self._nursery_cm
        assert manager is not None, "Context.__aexit__ without __aenter__"
        try:
            if exc is None:
                await self.aclose()
            else:
                self._close_now()
        except BaseException as close_error:
            self._close_now()
            return bool(await manager.__aexit__(type(close_error), close_error, None))  # type: ignore[attr-defined]
        return bool(await manager.__aexit__(exc_type, exc, traceback))  # type: ignore[attr-defined]

    @property
    def closed(self) -> bool:
        """Whether the context was closed."""
        return self._closed

    def socket(self, socket_type: int) -> Socket:
        """A new socket of ``socket_type`` (``zmtrio.PUSH``, ...). ``ETERM`` once closed."""
        if self._closed:
            raise ZMQError(ETERM)
        sock = Socket(self, socket_type)
        self._sockets.add(sock)
        return sock

    async def aclose(self) -> None:
        """Close every socket (lingering as each one's LINGER says); idempotent."""
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._closed = True
        try:
            async with trio.open_nursery() as nursery:
                for sock in list(self._sockets):
                    nursery.start_soon(sock.aclose)
        finally:
            self._close_now()

    def _close_now(self) -> None:
        self._closed = True
        for sock in list(self._sockets):
            sock.close()

    def _forget(self, sock: Socket) -> None:
        self._sockets.discard(sock)

    def _nursery_for(self, sock: Socket) -> trio.Nursery:
        if self._nursery is None:
            raise ZMQError(
                errno.EINVAL,
                "enter the Context first (`async with zmtrio.Context() as ctx:`): "
                "its nursery runs the socket's I/O",
            )
        return self._nursery
