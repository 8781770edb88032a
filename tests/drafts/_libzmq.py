"""libzmq 4.3 with its draft API, driven through ctypes: the real peer for the draft
socket types (pyzmq's wheels are built without them).

``scripts/libzmq-drafts`` builds the library once into a cache outside the repo and prints
its path; ``ZMTRIO_LIBZMQ_DRAFTS`` may name it instead. Every blocking call runs in a worker
thread with libzmq's own send/receive timeouts, so a missing message fails the test instead
of hanging it.
"""

from __future__ import annotations

import ctypes
import functools
import os
import subprocess
from pathlib import Path
from typing import Final

import trio
import zmtrio

__all__ = [
    "DIRECTIONS",
    "LibzmqContext",
    "LibzmqSocket",
    "libzmq_drafts",
    "link",
    "until_udp_bound",
]

#: Which end binds, for tests run both ways.
DIRECTIONS: Final = ["zmtrio-binds", "zmtrio-connects"]

_REPO: Final = Path(__file__).resolve().parents[2]

#: libzmq option and flag numbers used here.
_LINGER: Final = 17
_RCVTIMEO: Final = 27
_SNDTIMEO: Final = 28
_LAST_ENDPOINT: Final = 32
_RCVMORE: Final = 13
SNDMORE: Final = 2
DONTWAIT: Final = 1
#: zmq_msg_t is 64 opaque bytes.
_MSG_SIZE: Final = 64


class LibzmqError(OSError):
    """A libzmq call failed; ``errno`` is libzmq's."""


@functools.cache
def libzmq_drafts() -> ctypes.CDLL:
    """The draft-enabled libzmq, built on first use by ``scripts/libzmq-drafts``."""
    path = os.environ.get("ZMTRIO_LIBZMQ_DRAFTS")
    if not path:
        path = subprocess.run(
            [str(_REPO / "scripts" / "libzmq-drafts")],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
        ).stdout.strip()
    lib = ctypes.CDLL(path)
    vp, cp, ci, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t
    for name, restype, argtypes in [
        ("zmq_ctx_new", vp, []),
        ("zmq_ctx_term", ci, [vp]),
        ("zmq_socket", vp, [vp, ci]),
        ("zmq_close", ci, [vp]),
        ("zmq_bind", ci, [vp, cp]),
        ("zmq_connect", ci, [vp, cp]),
        ("zmq_setsockopt", ci, [vp, ci, vp, sz]),
        ("zmq_getsockopt", ci, [vp, ci, vp, ctypes.POINTER(sz)]),
        ("zmq_errno", ci, []),
        ("zmq_strerror", cp, [ci]),
        ("zmq_msg_init", ci, [vp]),
        ("zmq_msg_init_size", ci, [vp, sz]),
        ("zmq_msg_data", vp, [vp]),
        ("zmq_msg_size", sz, [vp]),
        ("zmq_msg_close", ci, [vp]),
        ("zmq_msg_send", ci, [vp, vp, ci]),
        ("zmq_msg_recv", ci, [vp, vp, ci]),
        ("zmq_msg_more", ci, [vp]),
        ("zmq_msg_set_routing_id", ci, [vp, ctypes.c_uint32]),
        ("zmq_msg_routing_id", ctypes.c_uint32, [vp]),
        ("zmq_msg_set_group", ci, [vp, cp]),
        ("zmq_msg_group", cp, [vp]),
        ("zmq_join", ci, [vp, cp]),
        ("zmq_leave", ci, [vp, cp]),
        ("zmq_connect_peer", ctypes.c_uint32, [vp, cp]),
    ]:
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


def _check(lib: ctypes.CDLL, rc: int) -> int:
    if rc < 0:
        code = lib.zmq_errno()
        raise LibzmqError(code, lib.zmq_strerror(code).decode())
    return rc


class LibzmqContext:
    """A libzmq context; ``close()`` closes its sockets and terminates it."""

    def __init__(self) -> None:
        self.lib = libzmq_drafts()
        self.handle = self.lib.zmq_ctx_new()
        self.sockets: list[LibzmqSocket] = []

    def socket(self, socket_type: int, timeout_ms: int = 10_000) -> LibzmqSocket:
        """A socket of ``socket_type`` (libzmq's number)."""
        sock = LibzmqSocket(self, socket_type, timeout_ms)
        self.sockets.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.lib.zmq_ctx_term(self.handle)


class LibzmqSocket:
    """One libzmq socket; the blocking calls are async and run in a worker thread."""

    def __init__(self, context: LibzmqContext, socket_type: int, timeout_ms: int) -> None:
        self.lib = context.lib
        self.handle = self.lib.zmq_socket(context.handle, socket_type)
        if not self.handle:
            _check(self.lib, -1)
        self.set_int(_RCVTIMEO, timeout_ms)
        self.set_int(_SNDTIMEO, timeout_ms)
        self.set_int(_LINGER, 0)
        self.closed = False

    def set_int(self, option: int, value: int) -> None:
        """``zmq_setsockopt`` with an int value."""
        number = ctypes.c_int(value)
        _check(
            self.lib,
            self.lib.zmq_setsockopt(
                self.handle, option, ctypes.byref(number), ctypes.sizeof(number)
            ),
        )

    def set_bytes(self, option: int, value: bytes) -> None:
        """``zmq_setsockopt`` with a bytes value."""
        _check(self.lib, self.lib.zmq_setsockopt(self.handle, option, value, len(value)))

    def get_int(self, option: int) -> int:
        """``zmq_getsockopt`` of an int option."""
        number = ctypes.c_int(0)
        size = ctypes.c_size_t(ctypes.sizeof(number))
        _check(
            self.lib,
            self.lib.zmq_getsockopt(self.handle, option, ctypes.byref(number), ctypes.byref(size)),
        )
        return number.value

    def bind(self, endpoint: str) -> str:
        """Bind; return the resolved endpoint (``LAST_ENDPOINT``)."""
        _check(self.lib, self.lib.zmq_bind(self.handle, endpoint.encode()))
        buffer = ctypes.create_string_buffer(256)
        size = ctypes.c_size_t(256)
        _check(
            self.lib,
            self.lib.zmq_getsockopt(self.handle, _LAST_ENDPOINT, buffer, ctypes.byref(size)),
        )
        return buffer.value.decode()

    def connect(self, endpoint: str) -> None:
        """Connect (libzmq connects in the background)."""
        _check(self.lib, self.lib.zmq_connect(self.handle, endpoint.encode()))

    def connect_peer(self, endpoint: str) -> int:
        """``zmq_connect_peer``: connect a PEER and return the new peer's routing id."""
        routing_id = self.lib.zmq_connect_peer(self.handle, endpoint.encode())
        if not routing_id:
            _check(self.lib, -1)
        return int(routing_id)

    def join(self, group: bytes) -> None:
        """``zmq_join`` (DISH)."""
        _check(self.lib, self.lib.zmq_join(self.handle, group))

    def leave(self, group: bytes) -> None:
        """``zmq_leave`` (DISH)."""
        _check(self.lib, self.lib.zmq_leave(self.handle, group))

    def _send_now(
        self, data: bytes, flags: int, routing_id: int | None, group: bytes | None
    ) -> None:
        lib = self.lib
        msg = ctypes.create_string_buffer(_MSG_SIZE)
        _check(lib, lib.zmq_msg_init_size(msg, len(data)))
        ctypes.memmove(lib.zmq_msg_data(msg), data, len(data))
        if routing_id is not None:
            _check(lib, lib.zmq_msg_set_routing_id(msg, routing_id))
        if group is not None:
            _check(lib, lib.zmq_msg_set_group(msg, group))
        if lib.zmq_msg_send(msg, self.handle, flags) < 0:
            code = lib.zmq_errno()
            lib.zmq_msg_close(msg)
            raise LibzmqError(code, lib.zmq_strerror(code).decode())

    def _recv_now(self, flags: int) -> tuple[bytes, bool, int, bytes]:
        lib = self.lib
        msg = ctypes.create_string_buffer(_MSG_SIZE)
        lib.zmq_msg_init(msg)
        try:
            _check(lib, lib.zmq_msg_recv(msg, self.handle, flags))
            data = ctypes.string_at(lib.zmq_msg_data(msg), lib.zmq_msg_size(msg))
            group = lib.zmq_msg_group(msg) or b""
            return data, bool(lib.zmq_msg_more(msg)), int(lib.zmq_msg_routing_id(msg)), group
        finally:
            lib.zmq_msg_close(msg)

    async def send(
        self,
        data: bytes,
        flags: int = 0,
        *,
        routing_id: int | None = None,
        group: bytes | None = None,
    ) -> None:
        """Send one frame (with a routing id or group, for the draft types)."""
        await trio.to_thread.run_sync(self._send_now, data, flags, routing_id, group)

    async def send_multipart(self, frames: list[bytes]) -> None:
        """Send the frames as one message."""
        for frame in frames[:-1]:
            await self.send(frame, SNDMORE)
        await self.send(frames[-1])

    async def recv(self) -> tuple[bytes, int, bytes]:
        """One frame: its data, routing id (0 if none) and group (``b""`` if none)."""
        data, _, routing_id, group = await trio.to_thread.run_sync(self._recv_now, 0)
        return data, routing_id, group

    async def recv_multipart(self) -> list[bytes]:
        """One whole message's frames."""
        frames: list[bytes] = []
        while True:
            data, more, _, _ = await trio.to_thread.run_sync(self._recv_now, 0)
            frames.append(data)
            if not more:
                return frames

    def recv_nowait(self) -> bytes | None:
        """One frame if one is queued now, else None."""
        try:
            return self._recv_now(DONTWAIT)[0]
        except LibzmqError as exc:
            if exc.errno == 11:  # EAGAIN
                return None
            raise

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.lib.zmq_close(self.handle)


async def link(
    ours: zmtrio.Socket,
    theirs: LibzmqSocket,
    direction: str,
    endpoint: str = "tcp://127.0.0.1:*",
) -> None:
    """Bind one end at ``endpoint`` and connect the other, as ``direction`` says."""
    if direction == "zmtrio-binds":
        theirs.connect(await ours.bind(endpoint))
    else:
        await ours.connect(theirs.bind(endpoint))


async def until_udp_bound(port: int) -> None:
    """Wait until a udp socket of this network namespace is bound to ``port``: libzmq
    binds a udp endpoint in its I/O thread, after ``zmq_bind`` returned. Read from the
    kernel's tables (``/proc/net/udp``, ``udp6``), which probing with a bind would race."""
    local_port = f":{port:04X}"
    while True:
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                if line.split()[1].endswith(local_port):  # sl, local_address, ...
                    return
        await trio.sleep(0.01)
