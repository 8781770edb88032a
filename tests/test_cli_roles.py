"""The socket-role subcommands, run as a user would: two processes over tcp."""

from __future__ import annotations

import subprocess
import sys

import trio
import zmtrio
from zmtrio._cli._roles import format_frame


def _zmtrio(*args: str) -> list[str]:
    return [sys.executable, "-m", "zmtrio", *args]


async def _free_port() -> int:
    sock = trio.socket.socket()
    await sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


async def test_format_frame() -> None:
    assert format_frame(b"hello") == "hello"
    assert format_frame(b"\x00\xff") == "0x00ff"
    assert format_frame(b"tab\there") == "tab\\there"


async def test_push_to_pull_from_the_command_line() -> None:
    endpoint = f"tcp://127.0.0.1:{await _free_port()}"
    pull = subprocess.Popen(
        _zmtrio("pull", "--bind", endpoint, "-n", "2"), stdout=subprocess.PIPE, text=True
    )
    try:
        push = await trio.run_process(
            _zmtrio("push", "--connect", endpoint, "-d", ",", "a,b", "0x00ff"),
            capture_stdout=True,
        )
        assert push.returncode == 0
        out, _ = await trio.to_thread.run_sync(pull.communicate, None, 20)
    finally:
        pull.kill()
    assert out.splitlines() == ["a | b", "0x00ff"]


async def test_req_against_a_zmtrio_rep() -> None:
    async with zmtrio.Context() as ctx, ctx.socket(zmtrio.REP) as rep:
        endpoint = await rep.bind("tcp://127.0.0.1:*")

        async def serve() -> None:
            for _ in range(2):
                request = await rep.recv_multipart()
                await rep.send_multipart([b"re:", *request])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            req = await trio.run_process(
                _zmtrio("req", "--connect", endpoint, "one", "two"), capture_stdout=True
            )
    assert req.stdout.decode().splitlines() == ["re: | one", "re: | two"]
