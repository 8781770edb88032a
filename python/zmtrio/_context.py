"""``Context``: the nursery that owns every socket's background tasks."""

from __future__ import annotations

import errno
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, final

import trio

from ._errors import ContextTerminated, ZMQError
from ._option_attributes import OptionAttributes
from ._options import OPTIONS_BY_ID, SocketOption, validate_value
from ._socket import Socket
from ._threads import Loop, current_thread, wrong_thread
from ._transport._inproc import InprocRegistry

__all__ = ["Context"]

#: Keyword names ``Context(...)`` takes besides the options' own (pyzmq's aliases).
_ALIASES = {
    "IDENTITY": (SocketOption.ROUTING_ID,),
    "HWM": (SocketOption.SNDHWM, SocketOption.RCVHWM),
}


def _lone(
    group: BaseExceptionGroup[BaseException], from_body: BaseException | None
) -> BaseException | None:
    """The one exception in ``group``, or None when it holds several. A background task's
    groups of one are looked through: a nursery inside the task (trio's
    ``open_tcp_stream`` has one) wraps, say, a ``KeyboardInterrupt`` that lands there.
    ``from_body``, what the body raised, is returned as it is."""
    lone = group.exceptions[0] if len(group.exceptions) == 1 else None
    while (
        lone is not from_body and isinstance(lone, BaseExceptionGroup) and len(lone.exceptions) == 1
    ):
        lone = lone.exceptions[0]
    return lone


@final
class Context(OptionAttributes):
    """Owns sockets, their I/O tasks and the inproc endpoints they share.

    Use it as an async context manager; leaving it (or ``await ctx.aclose()``) closes every
    socket still open, honouring each one's ``LINGER``, and returns when all of the
    context's tasks have ended::

        async with zmtrio.Context(linger=1000) as ctx:
            sock = ctx.socket(zmtrio.PUSH)
            ...

    Keyword arguments, and option attributes set on the context (``ctx.linger = 0``,
    ``ctx.sndhwm = 10_000``, as in pyzmq), are defaults for the sockets it makes afterwards;
    an option that does not apply to a socket's type is skipped for that socket.

    Exceptions keep their identity: an exception raised in the body comes out of the
    ``async with`` as itself (``except ValueError`` matches it), as does
    ``KeyboardInterrupt`` and a failure of one of zmtrio's background tasks; only several
    exceptions at once come out as an ``ExceptionGroup``. Cancelling the exit (or Ctrl-C
    while it lingers) ends it at once, dropping unsent messages as ``LINGER=0`` would.

    One context serves every thread: a trio loop in another thread makes its sockets
    inside ``async with ctx.attach():``, and inproc joins sockets of any loops::

        def worker(ctx: zmtrio.Context) -> None:
            async def main() -> None:
                async with ctx.attach(), ctx.socket(zmtrio.PUSH) as push:
                    await push.connect("inproc://results")
                    await push.send(b"done")

            trio.run(main)
    """

    def __init__(self, linger: int | None = None, **socket_defaults: int | bytes) -> None:
        self._nursery: trio.Nursery | None = None
        self._nursery_cm: object = None
        self._sockets: set[Socket] = set()
        self._inproc = InprocRegistry()
        self._closed = False
        #: The loops using the context, by thread: the owner's (entered), attached ones.
        self._loops: dict[object, tuple[Loop, trio.Nursery]] = {}
        self._owner: object | None = None
        #: Guards ``_sockets`` and ``_loops``, which every attached thread changes.
        self._lock = threading.Lock()
        self._defaults: dict[SocketOption, int | bytes] = {}
        if linger is not None:
            self.linger = linger
        for name, value in socket_defaults.items():
            options = _ALIASES.get(name.upper())
            if options is None:
                if name.upper() not in SocketOption.__members__:
                    raise TypeError(f"Context() got an unknown socket option {name!r}")
                options = (SocketOption[name.upper()],)
            for option in options:
                self._set_option(option, value)

    if not TYPE_CHECKING:  # type checkers see the option properties, and only them

        def __setattr__(self, name: str, value: object) -> None:
            # Attributes are options (or private state): a misspelt option raises, as pyzmq.
            if not name.startswith("_") and not hasattr(type(self), name):
                raise AttributeError(f"Context has no such option: {name.upper()}")
            object.__setattr__(self, name, value)

        def __getattr__(self, name: str) -> object:
            # Only reached when normal lookup failed (a context is off the hot path, so it
            # may have the hook that sockets leave out): an unknown option, as pyzmq says it.
            if name.startswith("_"):
                raise AttributeError(f"'Context' object has no attribute {name!r}", name=name)
            raise AttributeError(f"Context has no such option: {name.upper()}")

    async def __aenter__(self) -> Context:
        if self._nursery_cm is not None or self._closed:
            raise ZMQError(errno.EINVAL, "a Context can be entered once")
        manager = trio.open_nursery()
        self._nursery_cm = manager
        self._nursery = await manager.__aenter__()
        loop = Loop()
        self._owner = loop.thread
        self._loops[loop.thread] = (loop, self._nursery)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        manager = self._nursery_cm
        assert manager is not None, "Context.__aexit__ without __aenter__"
        primary = exc
        if exc is None:
            try:
                await self.aclose()
            except BaseException as close_error:
                primary = close_error
        if primary is not None:
            self._close_now()
        # trio's nursery wraps whatever passes through it in an ExceptionGroup; a lone
        # exception comes back out as itself, so ``except ValueError`` still matches.
        try:
            return bool(
                await manager.__aexit__(  # type: ignore[attr-defined]
                    None if primary is None else type(primary),
                    primary,
                    None if primary is None else primary.__traceback__,
                )
            )
        except BaseExceptionGroup as group:
            lone = _lone(group, exc)
            if lone is None:
                raise
        if lone is exc:
            return False
        raise lone from None  # not "during handling of" the Cancelled that ended the body

    @property
    def closed(self) -> bool:
        """Whether the context was closed."""
        return self._closed

    def socket(self, socket_type: int) -> Socket:
        """A new socket of ``socket_type`` (``zmtrio.PUSH``, ...), belonging to the calling
        loop: the context's own, or one inside :meth:`attach`; the context's option defaults
        are applied. ``ContextTerminated`` once the context is closed."""
        if self._closed:
            raise ContextTerminated(msg="the context is closed: no new sockets")
        if self._owner is not None and current_thread() not in self._loops:
            raise wrong_thread("context")
        sock = Socket(self, socket_type)
        for option, value in self._defaults.items():
            if sock.type in OPTIONS_BY_ID[option].types:
                sock.setsockopt(option, value)
        with self._lock:
            self._sockets.add(sock)
        return sock

    @asynccontextmanager
    async def attach(self) -> AsyncIterator[Context]:
        """Use this context from a trio loop in another thread: inside the block that loop
        makes sockets with :meth:`socket` and runs their I/O; leaving it closes them
        (honouring ``LINGER``). Inproc endpoints are shared with every loop::

            async with ctx.attach():
                pull = ctx.socket(zmtrio.PULL)
                await pull.connect("inproc://work")

        ``ContextTerminated`` once the context is closed (closing it also closes the attached
        loops' sockets); ``EINVAL`` before the context is entered, or from a loop already
        using it.
        """
        if self._closed:
            raise ContextTerminated(msg="the context is closed")
        if self._owner is None:
            raise ZMQError(errno.EINVAL, "enter the Context in its own loop before attach()")
        loop = Loop()
        if loop.thread in self._loops:
            raise ZMQError(errno.EINVAL, "this thread's loop already uses this Context")
        async with trio.open_nursery() as nursery:
            with self._lock:
                self._loops[loop.thread] = (loop, nursery)
            try:
                yield self
                async with trio.open_nursery() as closing:
                    for sock in self._sockets_of(loop.thread):
                        closing.start_soon(sock.aclose)
            finally:
                for sock in self._sockets_of(loop.thread):
                    sock.close()
                with self._lock:
                    del self._loops[loop.thread]

    async def aclose(self) -> None:
        """Close every socket (lingering as each one's LINGER says); idempotent. Sockets of
        attached loops are closed in their own loops, without waiting for them.

        Cancelled (or interrupted) while lingering, it closes every socket at once."""
        if self._closed:
            await trio.lowlevel.checkpoint()
            return
        self._closed = True
        try:
            async with trio.open_nursery() as nursery:
                for sock in self._sockets_of(current_thread()):
                    nursery.start_soon(sock.aclose)
        except BaseExceptionGroup as group:
            lone = _lone(group, None)
            if lone is None:
                raise
            raise lone from None
        finally:
            self._close_now()

    def _sockets_of(self, thread: object) -> list[Socket]:
        with self._lock:
            return [sock for sock in self._sockets if sock._thread is thread]

    def _close_now(self) -> None:
        self._closed = True
        with self._lock:
            sockets = list(self._sockets)
            loops = dict(self._loops)
        here = current_thread()
        for sock in sockets:
            if sock._thread is here:
                sock.close()
            elif sock._thread in loops:
                loops[sock._thread][0].call_soon(sock.close)

    def _get_option(self, option: int) -> int | bytes | str:
        spec = OPTIONS_BY_ID.get(option)
        if spec is None:
            raise ZMQError(errno.EINVAL, f"unknown socket option {option!r}")
        if not spec.writable:
            raise ZMQError(errno.EINVAL, f"option {spec.option.name} belongs to each socket")
        return self._defaults.get(spec.option, spec.default)

    def _set_option(self, option: int, value: int | bytes) -> None:
        spec = OPTIONS_BY_ID.get(option)
        if spec is None:
            raise ZMQError(errno.EINVAL, f"unknown socket option {option!r}")
        if not spec.writable:
            raise ZMQError(errno.EINVAL, f"option {spec.option.name} cannot be set")
        self._defaults[spec.option] = validate_value(spec, value)

    def _forget(self, sock: Socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _nursery_for(self, sock: Socket) -> trio.Nursery:
        entry = self._loops.get(sock._thread)
        if entry is not None:
            return entry[1]
        if self._nursery is None:
            raise ZMQError(
                errno.EINVAL,
                "enter the Context first (`async with zmtrio.Context() as ctx:`): "
                "its nursery runs the socket's I/O",
            )
        # Made in a thread whose loop has left attach() (or never entered it).
        raise wrong_thread("context")
