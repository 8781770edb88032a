"""The floors of ``zmtrio bench``: the same workloads with no messaging layer at all.

``raw`` moves the bytes of ``count`` messages of ``size`` bytes as 1 MiB ``sendall`` /
``recv_into`` chunks over a plain blocking socket between two processes: the loopback
limit a large-message stream can approach. ``raw-pingpong`` bounces ``size`` bytes between
two trio processes over plain trio streams: the round trip any trio design pays before
framing, routing or a ZeroMQ socket adds anything. Both report through the same queue as
the messaging peers (``_workers``), so the parent measures them like any other row.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from typing import Any, Protocol

import trio

__all__ = ["CHUNK", "run_raw"]

#: The unit a ``raw`` stream moves per system call.
CHUNK = 1 << 20


class Job(Protocol):
    """What a floor reads of ``_workers.Job`` (not imported: ``_workers`` imports this)."""

    @property
    def implementation(self) -> str: ...
    @property
    def transport(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def count(self) -> int: ...


class Shared(Protocol):
    """What a floor uses of ``_workers.Shared``: the report queue and the progress count."""

    results: Any
    progress: Any


def _unix_path() -> str:
    return os.path.join(tempfile.gettempdir(), f"zmtrio-bench-raw-{os.getpid()}.sock")


def _listen(transport: str) -> tuple[socket.socket, str]:
    """A listening socket for ``transport`` and the endpoint the connecting peer is given."""
    if transport == "ipc":
        path = _unix_path()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        return listener, f"ipc://{path}"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    return listener, f"tcp://127.0.0.1:{listener.getsockname()[1]}"


def _connect(endpoint: str) -> socket.socket:
    scheme, _, address = endpoint.partition("://")
    if scheme == "ipc":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(address)
        return sock
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def run_raw(job: Job, role: str, endpoint: str | None, shared: Shared) -> None:
    """Process entry point of a floor row: ``job`` and ``shared`` as in ``_workers``."""
    if job.implementation == "raw":
        _stream(job, role, endpoint, shared)
    else:
        trio.run(_pingpong, job, role, endpoint, shared)


def _stream(job: Job, role: str, endpoint: str | None, shared: Shared) -> None:
    total = job.count * job.size
    if role == "receiver":
        listener, bound = _listen(job.transport)
        shared.results.put(("endpoint", bound))
        conn, _ = listener.accept()
        listener.close()
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        # Timed from the connection on, every byte counted: a small total can arrive in
        # the first read, leaving nothing to time after it.
        start = time.perf_counter()
        received = 0
        while received < total:
            got = conn.recv_into(view)
            if not got:
                raise ConnectionError("the raw sender closed early")
            received += got
            shared.progress.value = received // max(job.size, 1)
        seconds = time.perf_counter() - start
        conn.close()
        if job.transport == "ipc":
            os.unlink(bound.partition("://")[2])
        # Reported in messages of --size bytes, so MB/s compares with the messaging rows.
        shared.results.put(("elapsed", seconds, total / max(job.size, 1)))
        return
    assert endpoint is not None
    sock = _connect(endpoint)
    chunk = b"x" * CHUNK
    sent = 0
    with sock:
        while sent < total:
            piece = chunk if total - sent >= CHUNK else chunk[: total - sent]
            sock.sendall(piece)
            sent += len(piece)


async def _open(endpoint: str) -> trio.SocketStream:
    scheme, _, address = endpoint.partition("://")
    if scheme == "ipc":
        return await trio.open_unix_socket(address)
    host, _, port = address.rpartition(":")
    return await trio.open_tcp_stream(host, int(port))  # TCP_NODELAY: trio's default


async def _receive_exactly(stream: trio.SocketStream, size: int) -> None:
    remaining = size
    while remaining:
        data = await stream.receive_some(remaining)
        if not data:
            raise ConnectionError("the raw peer closed early")
        remaining -= len(data)


async def _pingpong(job: Job, role: str, endpoint: str | None, shared: Shared) -> None:
    size = max(job.size, 1)
    if role == "echo":
        listener, bound = _listen(job.transport)
        listener.setblocking(False)
        shared.results.put(("endpoint", bound))
        trio_listener = trio.socket.from_stdlib_socket(listener)
        conn, _ = await trio_listener.accept()
        trio_listener.close()
        stream = trio.SocketStream(conn)
        payload = b"x" * size
        async with stream:
            for _ in range(job.count):
                await _receive_exactly(stream, size)
                await stream.send_all(payload)
        if job.transport == "ipc":
            os.unlink(bound.partition("://")[2])
        return
    assert endpoint is not None
    stream = await _open(endpoint)
    payload = b"x" * size
    async with stream:
        start = time.perf_counter()
        for i in range(job.count):
            await stream.send_all(payload)
            await _receive_exactly(stream, size)
            if not i % 256:
                shared.progress.value = i
        shared.results.put(("elapsed", time.perf_counter() - start, job.count))
