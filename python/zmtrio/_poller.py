"""``Poller``: wait on zmtrio sockets and plain file descriptors together, as zmq_poll."""

from __future__ import annotations

import math
import select
from typing import Any, Protocol, final

import trio

from ._constants import POLLERR, POLLIN, POLLOUT
from ._options import SocketOption
from ._socket import Socket

__all__ = ["Poller"]


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


Pollable = Socket | int | _HasFileno


@final
class Poller:
    """A set of zmtrio sockets and file descriptors (ints or objects with ``fileno()``) to
    wait on together, with pyzmq's methods::

        poller = zmtrio.Poller()
        poller.register(sock, zmtrio.POLLIN)
        poller.register(sys.stdin, zmtrio.POLLIN)
        for obj, events in await poller.poll(timeout=1000):
            ...
    """

    def __init__(self) -> None:
        self._items: dict[Any, int] = {}

    def register(self, obj: Pollable, flags: int = POLLIN | POLLOUT) -> None:
        """Watch ``obj`` for ``flags`` (``POLLIN``, ``POLLOUT``); 0 unregisters it."""
        if flags:
            self._items[obj] = flags
        else:
            self._items.pop(obj, None)

    modify = register

    def unregister(self, obj: Pollable) -> None:
        """Stop watching ``obj`` (``KeyError`` if it was not registered)."""
        del self._items[obj]

    def __contains__(self, obj: object) -> bool:
        return obj in self._items

    async def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Wait until something is ready, or ``timeout`` milliseconds (``None`` or negative:
        forever); return ``(obj, events)`` for each ready item, in registration order."""
        ready = self._ready_now()
        if ready or timeout == 0:
            await trio.lowlevel.checkpoint()
            return ready
        seconds = math.inf if timeout is None or timeout < 0 else timeout / 1000
        with trio.move_on_after(seconds):
            async with trio.open_nursery() as nursery:
                for obj, flags in self._items.items():
                    for wait in _waiters(obj, flags):
                        nursery.start_soon(_first_wins, wait, nursery.cancel_scope)
        return self._ready_now()

    def _ready_now(self) -> list[tuple[Any, int]]:
        fd_poll = select.poll()
        for obj, flags in self._items.items():
            if not isinstance(obj, Socket):
                fd_poll.register(_fileno(obj), _select_mask(flags))
        fd_events: dict[int, int] = {}
        for fd, mask in fd_poll.poll(0):
            fd_events[fd] = fd_events.get(fd, 0) | mask
        ready = []
        for obj, flags in self._items.items():
            if isinstance(obj, Socket):
                if obj.closed:
                    raise trio.ClosedResourceError(f"{obj!r} was closed while polled")
                events = int(obj.getsockopt(SocketOption.EVENTS)) & flags
            else:
                events = _zmq_mask(fd_events.get(_fileno(obj), 0)) & (flags | POLLERR)
            if events:
                ready.append((obj, events))
        return ready


def _fileno(obj: Any) -> int:
    return obj if isinstance(obj, int) else int(obj.fileno())


def _select_mask(flags: int) -> int:
    return (select.POLLIN if flags & POLLIN else 0) | (select.POLLOUT if flags & POLLOUT else 0)


def _zmq_mask(mask: int) -> int:
    events = POLLIN if mask & (select.POLLIN | select.POLLHUP) else 0
    if mask & select.POLLOUT:
        events |= POLLOUT
    if mask & (select.POLLERR | select.POLLNVAL):
        events |= POLLERR
    return events


def _waiters(obj: Any, flags: int) -> list[Any]:
    if isinstance(obj, Socket):
        return [lambda: obj.poll(flags)]
    fd = _fileno(obj)
    waits: list[Any] = []
    if flags & POLLIN:
        waits.append(lambda: trio.lowlevel.wait_readable(fd))
    if flags & POLLOUT:
        waits.append(lambda: trio.lowlevel.wait_writable(fd))
    return waits


async def _first_wins(wait: Any, scope: trio.CancelScope) -> None:
    try:
        await wait()
    except trio.ClosedResourceError:
        pass  # reported by _ready_now after the wait
    scope.cancel()
