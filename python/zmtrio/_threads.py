"""Which trio loop (in which thread) a socket belongs to, and how to run code in another.

libzmq shares one context among every thread of a process. A zmtrio ``Context`` belongs to
the loop that entered it; loops in other threads join it with ``ctx.attach()``. A socket
belongs to the loop that made it and is used from that loop's thread only (a call from
another thread raises ``ZMQError`` at once: the socket's state is not locked, so a second
thread could only corrupt it). Work for another loop (an inproc link reaching one of its
sockets, a wake) is handed to that loop through its ``TrioToken``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, final

import trio

from ._constants import ENOTSUP
from ._core import thread_token
from ._errors import ZMQError

__all__ = ["Loop", "current_thread", "wrong_thread"]

#: The current thread's marker object, compared with ``is`` (one C call and an identity
#: test: cheap enough for every send and recv, unlike ``get_ident() == owner``).
current_thread: Final = thread_token


@final
class Loop:
    """A running trio loop: its thread and the token that schedules work in it."""

    __slots__ = ("name", "thread", "token")

    def __init__(self) -> None:
        """The loop running the calling task."""
        self.thread = thread_token()
        self.name = threading.current_thread().name
        self.token = trio.lowlevel.current_trio_token()

    def __repr__(self) -> str:
        return f"<zmtrio loop in thread {self.name!r}>"

    def is_current(self) -> bool:
        """Whether the calling code runs in this loop."""
        return thread_token() is self.thread

    def call_soon(self, fn: Callable[..., object], *args: object) -> bool:
        """Run ``fn(*args)`` in this loop as soon as it can, from any thread; callbacks run
        in the order they were handed over. False if the loop has finished."""
        try:
            self.token.run_sync_soon(fn, *args)
        except trio.RunFinishedError:
            return False
        return True

    def run(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` now if this is the calling loop, else soon in this loop."""
        if thread_token() is self.thread:
            fn(*args)
        else:
            self.call_soon(fn, *args)


def wrong_thread(what: str = "socket") -> ZMQError:
    """The error for using a socket (or context) from a thread other than its loop's."""
    return ZMQError(
        ENOTSUP,
        f"this {what} belongs to another thread's trio loop and was used from thread "
        f"{threading.current_thread().name!r}: give each thread's loop its own sockets "
        "(ctx.attach()) and join them over inproc",
    )
