"""``ipc://`` addresses: Unix domain sockets by path, ``@name`` (Linux abstract), ``*``."""

from __future__ import annotations

import errno
import os
import socket as stdlib_socket
import stat
import tempfile
from collections.abc import Mapping
from typing import Any

import trio

from .._errors import ZMQError
from .._options import SocketOption
from ._socket_io import SocketIO

__all__ = ["listen", "open_socket", "parse", "remove"]

# sizeof(sockaddr_un.sun_path) on Linux, less the terminating NUL.
_MAX_PATH = 107


#: Directories made for ``ipc://*`` binds, removed again with their socket file.
_WILDCARD_DIRECTORIES: set[str] = set()


def parse(address: str, *, bind: bool) -> str:
    """The ``sockaddr_un`` path for ``address``: ``@name`` becomes ``"\\0name"``.

    ``*`` (bind only) picks a fresh path in a new temporary directory, as libzmq does.
    """
    if address == "*":
        if not bind:
            raise ZMQError(errno.EINVAL, "cannot connect to the ipc wildcard")
        directory = tempfile.mkdtemp(prefix="zmtrio-")
        _WILDCARD_DIRECTORIES.add(directory)
        return os.path.join(directory, "socket")
    path = "\0" + address[1:] if address.startswith("@") else address
    if len(path.encode()) > _MAX_PATH:
        raise ZMQError(errno.ENAMETOOLONG, f"ipc path too long: {address!r}")
    return path


def _endpoint(path: str) -> str:
    return "ipc://@" + path[1:] if path.startswith("\0") else "ipc://" + path


def remove(path: str) -> None:
    """Remove the socket file a listener made (abstract names leave none)."""
    if path.startswith("\0"):
        return
    try:
        os.unlink(path)
    except OSError:
        pass
    directory = os.path.dirname(path)
    if directory in _WILDCARD_DIRECTORIES:
        # Only the directory a wildcard bind made: a user's directory stays, empty or not.
        _WILDCARD_DIRECTORIES.discard(directory)
        try:
            os.rmdir(directory)
        except OSError:
            pass


async def listen(
    address: str, options: Mapping[int, Any]
) -> tuple[trio.socket.SocketType, str, str]:
    """Bind and listen; return the socket, the resolved endpoint and the path to remove."""
    path = parse(address, bind=True)
    if not path.startswith("\0"):
        # libzmq replaces a socket file a previous run left behind.
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                os.unlink(path)
        except FileNotFoundError:
            pass
    sock = trio.socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    try:
        await sock.bind(path)
        backlog = options[SocketOption.BACKLOG]
        assert isinstance(backlog, int)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ZMQError(exc.errno or errno.EINVAL, f"cannot bind ipc://{address}: {exc}") from exc
    return sock, _endpoint(path), path


async def open_socket(address: str, options: Mapping[int, Any]) -> SocketIO:
    """Connect to the Unix socket at ``address``."""
    path = parse(address, bind=False)
    sock = trio.socket.socket(stdlib_socket.AF_UNIX, stdlib_socket.SOCK_STREAM)
    try:
        await sock.connect(path)
    except BaseException:
        sock.close()
        raise
    return SocketIO.adopt(sock)
