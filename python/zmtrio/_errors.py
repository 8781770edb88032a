"""The exception family, shaped like pyzmq's: ``ZMQError`` carries libzmq's errno."""

from __future__ import annotations

import os

import trio

from ._constants import EAGAIN, EFSM, EMTHREAD, ENOCOMPATPROTO, ETERM

__all__ = ["Again", "ContextTerminated", "ZMQBaseError", "ZMQError", "strerror"]

_ZMQ_STRERROR = {
    EFSM: "Operation cannot be accomplished in current state",
    ENOCOMPATPROTO: "The protocol is not compatible with the socket type",
    ETERM: "Context was terminated",
    EMTHREAD: "No thread available",
}


def strerror(errnum: int) -> str:
    """The message libzmq gives for ``errnum`` (system errnos use the OS text)."""
    return _ZMQ_STRERROR.get(errnum) or os.strerror(errnum)


class ZMQBaseError(Exception):
    """Base of every zmtrio error."""


class ZMQError(ZMQBaseError):
    """An error with a libzmq errno, e.g. ``ZMQError(errno.EINVAL)``.

    ``errno`` is the number and ``strerror`` its text; ``msg`` replaces the text when given.
    """

    errno: int
    strerror: str

    def __init__(self, errno: int, msg: str | None = None) -> None:
        self.errno = errno
        self.strerror = msg if msg is not None else strerror(errno)
        super().__init__(errno, self.strerror)

    def __str__(self) -> str:
        return self.strerror


class Again(ZMQError, trio.WouldBlock):
    """The operation would block (``EAGAIN``): no room to send, or nothing to receive."""

    def __init__(self, errno: int = EAGAIN, msg: str | None = None) -> None:
        super().__init__(errno, msg)


class ContextTerminated(ZMQError):
    """The context was closed (``ETERM``)."""

    def __init__(self, errno: int = ETERM, msg: str | None = None) -> None:
        super().__init__(errno, msg)
