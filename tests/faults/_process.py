"""pyzmq peers in separate processes (``_peer_main.py``), driven from trio."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

#: The peer script, run by path so the peer imports only pyzmq.
PEER_MAIN = str(Path(__file__).with_name("_peer_main.py"))


def free_endpoint() -> str:
    """A tcp endpoint on a port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


def open_fds() -> int:
    """How many descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


class PeerProcess:
    """One running peer: read the lines it prints, tell it to go, kill it for real."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdout is not None
        self.process = process
        self._stdout = process.stdout
        self._buffer = b""

    async def line(self) -> str:
        """The next line the peer printed (fails if it exits first)."""
        while b"\n" not in self._buffer:
            chunk = await self._stdout.receive_some()
            if not chunk:
                raise AssertionError(f"the peer exited ({self.process.returncode})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    async def lines(self, count: int) -> list[str]:
        """The next ``count`` lines."""
        return [await self.line() for _ in range(count)]

    async def go(self) -> None:
        """Sends the line a ``push`` peer waits for."""
        assert self.process.stdin is not None
        await self.process.stdin.send_all(b"go\n")

    def kill(self) -> None:
        """SIGKILL: the peer dies at once, as in a crash."""
        self.process.send_signal(signal.SIGKILL)


@asynccontextmanager
async def peer_process(role: str, endpoint: str, *args: str) -> AsyncIterator[PeerProcess]:
    """Start a peer, wait for its ``ready``, and make sure it is dead and reaped at exit."""
    process = await trio.lowlevel.open_process(
        [sys.executable, PEER_MAIN, role, endpoint, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    peer = PeerProcess(process)
    try:
        with trio.fail_after(20):
            assert await peer.line() == "ready"
        yield peer
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    await pipe.aclose()
