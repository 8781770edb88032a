"""Shared fixtures: a zmtrio context per test and pyzmq (libzmq) as the reference peer."""

from __future__ import annotations

import errno
import functools
import inspect
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from zmtrio import EventType

#: Every async test body runs under this deadline (seconds), so a hang fails with
#: TooSlowError instead of stalling CI. (A cancel scope in a fixture would not do: pytest-trio
#: runs fixtures in tasks of their own.) pytest-timeout (pyproject.toml) is the hard stop for
#: what trio cannot cancel, such as a blocking pyzmq call in a worker thread.
TEST_TIMEOUT = 30


def _bounded(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    @functools.wraps(test)
    async def bounded(*args: Any, **kwargs: Any) -> None:
        with trio.fail_after(TEST_TIMEOUT):
            await test(*args, **kwargs)

    return bounded


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.obj = _bounded(item.obj)


@pytest.fixture
async def ctx() -> AsyncIterator[zmtrio.Context]:
    async with zmtrio.Context() as context:
        yield context


@pytest.fixture
def zctx() -> Iterator[zmq.Context[Any]]:
    context: zmq.Context[Any] = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def ipc_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="zmtrio-test-") as directory:
        yield directory


@pytest.fixture
def dead_endpoint() -> Iterator[str]:
    """A tcp endpoint nobody serves: a port held bound, never listening (connects fail)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    try:
        yield f"tcp://127.0.0.1:{holder.getsockname()[1]}"
    finally:
        holder.close()


def endpoint_for(transport: str, ipc_dir: str, name: str = "s") -> str:
    """A bindable endpoint: an ephemeral tcp port, an ipc path, or an inproc name."""
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        return "ipc://" + os.path.join(ipc_dir, name)
    return "inproc://" + name


async def link(
    ours: zmtrio.Socket, theirs: ZmqPeer, transport: str, direction: str, ipc_dir: str
) -> None:
    """Connect a zmtrio socket and a pyzmq one over ``transport``: ``direction`` is
    ``"zmtrio-binds"`` or ``"zmtrio-connects"``."""
    endpoint = endpoint_for(transport, ipc_dir)
    if direction == "zmtrio-binds":
        theirs.connect(await ours.bind(endpoint))
    else:
        await ours.connect(theirs.bind(endpoint))


class ZmqPeer:
    """A pyzmq socket driven from trio: each blocking call runs in a worker thread with a
    receive/send timeout, so a missing message fails the test instead of hanging it."""

    def __init__(self, context: zmq.Context[Any], socket_type: int, timeout_ms: int = 10_000):
        self.sock = context.socket(socket_type)
        self.sock.rcvtimeo = timeout_ms
        self.sock.sndtimeo = timeout_ms
        self.sock.linger = 0

    def bind(self, endpoint: str) -> str:
        if endpoint.startswith("tcp://") and endpoint.endswith(":*"):
            port = self.sock.bind_to_random_port(endpoint[: -len(":*")])
            return f"{endpoint[: -len(':*')]}:{port}"
        self.sock.bind(endpoint)
        return endpoint

    def connect(self, endpoint: str) -> None:
        self.sock.connect(endpoint)

    async def send_multipart(self, frames: list[bytes]) -> None:
        await trio.to_thread.run_sync(self.sock.send_multipart, frames)

    async def recv_multipart(self) -> list[bytes]:
        return await trio.to_thread.run_sync(self.sock.recv_multipart)

    def close(self) -> None:
        self.sock.close(linger=0)


async def bind_when_free(peer: ZmqPeer, endpoint: str) -> None:
    """Bind ``endpoint``, retrying while a closed libzmq socket still holds it (libzmq
    closes listeners in its I/O thread, a moment after ``close`` returns)."""
    with trio.fail_after(5):
        while True:
            try:
                peer.bind(endpoint)
                return
            except zmq.ZMQError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
            await trio.sleep(0.01)


async def next_event(
    events: AsyncIterator[zmtrio.Event], kind: EventType, timeout: float = 5.0
) -> zmtrio.Event:
    """Skip events until one of ``kind`` arrives (fail after ``timeout`` seconds)."""
    with trio.fail_after(timeout):
        async for event in events:
            if event.event == kind:
                return event
    raise AssertionError(f"the monitor ended before {kind.name}")


async def wait_until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.002)


def recv_numbers(peer: ZmqPeer, count: int) -> list[int]:
    """Receive ``count`` single-frame messages carrying big-endian numbers (in a thread)."""
    return [int.from_bytes(peer.sock.recv(), "big") for _ in range(count)]


MYPY_MISSING = "mypy is not installed: it comes with the dev extra (scripts/setup test dev)"


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for the session, so only the first check reads trio and zmtrio."""
    return tmp_path_factory.mktemp("mypy-cache")


def mypy_strict(source: str, directory: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """``mypy --strict`` on ``source`` (written to ``directory/probe.py``); skips the test,
    saying why, when mypy is missing. A plain call, bounded by its own timeout, since a
    cold mypy run can outlast the trio deadline of async tests on a loaded machine."""
    pytest.importorskip("mypy", reason=MYPY_MISSING)
    probe = directory / "probe.py"
    probe.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), str(probe)],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
        timeout=100,
    )


def default_sigint() -> None:
    """``preexec_fn`` for a child that must see Ctrl-C: a shell starts background jobs with
    SIGINT ignored, and a Python started that way never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
