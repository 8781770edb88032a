"""A blocking socket for a thread that runs no trio loop (issue 13's optional face).

A plain thread (a worker doing blocking work, a callback of a C library) cannot await, so
it cannot use a ``Socket``. ``BlockingSocket`` gives it pyzmq's blocking calls instead:
the real socket lives in the loop that owns the context, and every call is handed to that
loop (``trio.from_thread``) and waits for its answer. A send or receive that can complete
at once is one plain call there (``send_nowait``/``recv_nowait``); only one that must wait
becomes a task of that loop. Timeouts are pyzmq's: ``RCVTIMEO`` /
``SNDTIMEO`` (ms) make ``recv``/``send`` raise ``Again``, and ``poll(timeout)`` waits at
most ``timeout`` ms. Each call costs a hand-over to the owner's thread and back, so a
thread that moves many messages is better off running its own loop with ``ctx.attach()``.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, final

import trio

from ._constants import ENOTSUP, POLLIN, SNDMORE
from ._errors import Again, ContextTerminated, ZMQError
from ._options import SocketOption

if TYPE_CHECKING:
    from ._context import Context
    from ._socket import BytesLike, Socket

__all__ = ["BlockingSocket"]

Result = TypeVar("Result")


@final
class BlockingSocket:
    """A socket of ``context`` for a thread without a trio loop, with pyzmq's blocking
    calls: ``bind``, ``connect``, ``send``/``send_multipart``, ``recv``/``recv_multipart``,
    ``poll``, ``getsockopt``/``setsockopt``, ``close``; usable as a ``with`` block.

    Made and used from any thread that is not running trio (a trio loop in another thread
    uses ``ctx.attach()`` and ordinary sockets). When the context's loop has finished, a
    call raises ``ContextTerminated``.
    """

    __slots__ = ("_context", "_sending_more", "_socket", "_token")

    def __init__(self, context: Context, socket_type: int) -> None:
        try:
            trio.lowlevel.current_trio_token()
        except RuntimeError:
            pass
        else:
            raise ZMQError(
                ENOTSUP,
                "BlockingSocket is for threads without a trio loop: in a trio loop, use "
                "ctx.attach() and ctx.socket()",
            )
        owner = context._loops.get(context._owner) if context._owner is not None else None
        if owner is None:
            raise ZMQError(errno.EINVAL, "enter the Context in its trio loop first")
        self._context = context
        self._token = owner[0].token
        #: A ``send`` with ``SNDMORE`` began a message: its rest goes the socket's full way.
        self._sending_more = False
        self._socket: Socket = self._in_loop_sync(context.socket, socket_type)

    def _in_loop(self, fn: Callable[..., Any], *args: object) -> Any:
        """Run the async ``fn(*args)`` in the context's loop and wait for its result."""
        try:
            return trio.from_thread.run(fn, *args, trio_token=self._token)
        except (trio.RunFinishedError, trio.Cancelled):
            raise ContextTerminated(msg="the context's trio loop has finished") from None
        except trio.ClosedResourceError:
            raise self._closed_error() from None

    def _in_loop_sync(self, fn: Callable[..., Result], *args: object) -> Result:
        """Run ``fn(*args)`` in the context's loop and wait for its result."""
        try:
            return trio.from_thread.run_sync(fn, *args, trio_token=self._token)
        except trio.RunFinishedError:
            raise ContextTerminated(msg="the context's trio loop has finished") from None
        except trio.ClosedResourceError:
            raise self._closed_error() from None

    def _closed_error(self) -> Exception:
        """What a call on a closed socket raises: ``ContextTerminated`` if the context
        closed it (as pyzmq's ``ETERM``), else trio's ``ClosedResourceError``."""
        if self._context.closed:
            return ContextTerminated(msg="the context was closed")
        return trio.ClosedResourceError("the socket is closed")

    def __repr__(self) -> str:
        return f"<zmtrio.BlockingSocket of {self._socket!r}>"

    def __enter__(self) -> BlockingSocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def type(self) -> int:
        """The socket type (``zmtrio.PUSH``, ...)."""
        return int(self._socket.type)

    @property
    def closed(self) -> bool:
        """Whether the socket was closed (by ``close`` or by its context)."""
        return self._socket.closed

    def bind(self, endpoint: str) -> str:
        """Bind to ``endpoint``; return the endpoint bound (a ``tcp://...:*`` port filled)."""
        return str(self._in_loop(self._socket.bind, endpoint))

    def connect(self, endpoint: str) -> None:
        """Connect to ``endpoint``."""
        self._in_loop(self._socket.connect, endpoint)

    def _sent_at_once(self, send_nowait: Callable[[Any], None], data: object) -> bool:
        """Whether ``send_nowait(data)`` in the context's loop sent it (else it would have
        blocked, and the caller takes the waiting way)."""
        try:
            self._in_loop_sync(send_nowait, data)
        except Again:
            return False
        return True

    def _received_at_once(self, recv_nowait: Callable[[], Result]) -> Result | None:
        """What ``recv_nowait()`` in the context's loop received; None if it would have
        blocked (then the caller takes the waiting way)."""
        try:
            return self._in_loop_sync(recv_nowait)
        except Again:
            return None

    def send(self, data: BytesLike, flags: int = 0) -> None:
        """Send one frame (``SNDMORE``: more follow); blocks while no peer has room, up to
        ``SNDTIMEO`` ms (then ``Again``); ``DONTWAIT``: ``Again`` at once."""
        if flags or self._sending_more or not self._sent_at_once(self._socket.send_nowait, data):
            self._in_loop(self._socket.send, data, flags)
            self._sending_more = bool(flags & SNDMORE)

    def send_multipart(self, frames: Iterable[BytesLike], flags: int = 0) -> None:
        """Send the frames as one message (blocking as ``send``)."""
        message = list(frames)
        if (
            flags
            or self._sending_more
            or not self._sent_at_once(self._socket.send_multipart_nowait, message)
        ):
            self._in_loop(self._socket.send_multipart, message, flags)
            self._sending_more = False

    def recv(self, flags: int = 0) -> bytes:
        """Receive one frame; blocks until one arrives, up to ``RCVTIMEO`` ms (then
        ``Again``); ``DONTWAIT``: ``Again`` at once."""
        frame = None if flags else self._received_at_once(self._socket.recv_nowait)
        return bytes(self._in_loop(self._socket.recv, flags) if frame is None else frame)

    def recv_multipart(self, flags: int = 0) -> list[bytes]:
        """Receive one whole message (blocking as ``recv``)."""
        message = None if flags else self._received_at_once(self._socket.recv_multipart_nowait)
        if message is None:
            message = self._in_loop(self._socket.recv_multipart, flags)
        return list(message)

    def poll(self, timeout: float | None = None, flags: int = POLLIN) -> int:
        """Wait up to ``timeout`` ms (``None``: forever) until the socket is readable
        (``POLLIN``) or writable (``POLLOUT``); return the events ready (0 on timeout), as
        pyzmq's ``Socket.poll``."""
        return int(self._in_loop(self._socket.poll, flags, timeout))

    def getsockopt(self, option: int) -> int | bytes | str:
        """Read a libzmq option (``zmtrio.RCVTIMEO``, ...)."""
        return self._in_loop_sync(self._socket.getsockopt, option)

    def setsockopt(self, option: int, value: int | bytes) -> None:
        """Set a libzmq option (``zmtrio.RCVTIMEO``, ...)."""
        self._in_loop_sync(self._socket.setsockopt, option, value)

    @property
    def rcvtimeo(self) -> int:
        """``RCVTIMEO``: ms a ``recv`` waits before ``Again`` (-1: forever)."""
        return int(self.getsockopt(SocketOption.RCVTIMEO))

    @rcvtimeo.setter
    def rcvtimeo(self, value: int) -> None:
        self.setsockopt(SocketOption.RCVTIMEO, value)

    @property
    def sndtimeo(self) -> int:
        """``SNDTIMEO``: ms a ``send`` waits before ``Again`` (-1: forever)."""
        return int(self.getsockopt(SocketOption.SNDTIMEO))

    @sndtimeo.setter
    def sndtimeo(self, value: int) -> None:
        self.setsockopt(SocketOption.SNDTIMEO, value)

    def close(self) -> None:
        """Close the socket at once (unsent messages are dropped); nothing if the context's
        loop has finished (its sockets closed with it)."""
        try:
            self._in_loop_sync(self._socket.close)
        except ContextTerminated:
            pass
