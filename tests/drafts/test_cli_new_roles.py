"""The role subcommands of STREAM, CLIENT, SCATTER, GATHER, PEER, CHANNEL and DGRAM, run as
a user would (a subprocess), each against a real peer: libzmq-with-drafts, or a plain tcp
socket for STREAM. Each subprocess is bounded by a timeout and killed if it outlives the
test."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import zmtrio

from tests.drafts._libzmq import LibzmqContext, until_udp_bound
from tests.drafts.test_radio_dish import free_udp_port

#: How long a role command may take to finish once its peer has done its part (s).
_EXIT_TIMEOUT = 20


def _zmtrio(*args: str) -> list[str]:
    return [sys.executable, "-m", "zmtrio", *args]


@asynccontextmanager
async def role(*args: str) -> AsyncIterator[subprocess.Popen[str]]:
    """``zmtrio ARGS`` with pipes on stdin, stdout and stderr; killed on the way out."""
    process = subprocess.Popen(
        _zmtrio(*args),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


async def output(process: subprocess.Popen[str]) -> list[str]:
    """The lines the command printed, once it exited (which it must, successfully)."""
    out, err = await trio.to_thread.run_sync(process.communicate, None, _EXIT_TIMEOUT)
    assert process.returncode == 0, err
    return out.splitlines()


async def read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return await trio.to_thread.run_sync(process.stdout.readline, abandon_on_cancel=True)


async def test_stream_role_with_a_plain_tcp_server() -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    async with role("stream", "--connect", f"tcp://127.0.0.1:{port}", "-d", "|", "-n", "2") as cmd:
        conn, _ = await listener.accept()
        with conn:
            # The connection notification: the routing id, then an empty frame.
            routing_id, _, data = (await read_line(cmd)).rstrip("\n").partition(" | ")
            assert routing_id.startswith("0x") and data == ""
            assert cmd.stdin is not None
            cmd.stdin.write(f"{routing_id}|hello tcp\n")
            cmd.stdin.flush()
            assert await conn.recv(100) == b"hello tcp"
            await conn.send(b"hello stream")
            assert await output(cmd) == [f"{routing_id} | hello stream"]
    listener.close()


@pytest.mark.parametrize(("name", "their_type"), [("client", zmtrio.SERVER), ("peer", zmtrio.PEER)])
async def test_client_and_peer_roles_against_libzmq(
    lctx: LibzmqContext, name: str, their_type: zmtrio.SocketType
) -> None:
    theirs = lctx.socket(their_type)
    endpoint = theirs.bind("tcp://127.0.0.1:*")
    async with role(name, "--connect", endpoint, "-n", "1", "ping") as cmd:
        request, routing_id, _ = await theirs.recv()
        assert request == b"ping"
        await theirs.send(b"pong", routing_id=routing_id)
        (line,) = await output(cmd)
    if name == "peer":  # a PEER prints each message after its sender's routing id
        their_id, _, line = line.partition(" | ")
        assert their_id.isdigit() and int(their_id) > 0
    assert line == "pong"


async def test_scatter_role_to_libzmq_gather(lctx: LibzmqContext) -> None:
    gather = lctx.socket(zmtrio.GATHER)
    endpoint = gather.bind("tcp://127.0.0.1:*")
    # --linger: room for a slow connection under load, not a wait (it ends once all went).
    async with role(
        "scatter", "--connect", endpoint, "--linger", "20000", "one", "two", "three"
    ) as cmd:
        assert [(await gather.recv())[0] for _ in range(3)] == [b"one", b"two", b"three"]
        assert await output(cmd) == []


async def test_gather_role_from_libzmq_scatter(lctx: LibzmqContext) -> None:
    scatter = lctx.socket(zmtrio.SCATTER)
    endpoint = scatter.bind("tcp://127.0.0.1:*")
    async with role("gather", "--connect", endpoint, "-n", "3") as cmd:
        for job in (b"job 1", b"job 2", b"job 3"):
            await scatter.send(job)  # waits (SNDTIMEO) until the role is connected
        assert await output(cmd) == ["job 1", "job 2", "job 3"]


async def test_channel_role_with_libzmq_channel(lctx: LibzmqContext) -> None:
    channel = lctx.socket(zmtrio.CHANNEL)
    endpoint = channel.bind("tcp://127.0.0.1:*")
    async with role("channel", "--connect", endpoint, "-n", "1", "hi") as cmd:
        assert (await channel.recv())[0] == b"hi"
        await channel.send(b"yo")
        assert await output(cmd) == ["yo"]


async def test_dgram_role_with_libzmq_dgram(lctx: LibzmqContext) -> None:
    dgram = lctx.socket(zmtrio.DGRAM)
    port = free_udp_port()
    dgram.bind(f"udp://127.0.0.1:{port}")
    await until_udp_bound(port)
    async with role(
        "dgram", "--bind", "udp://127.0.0.1:*", "-d", "|", "-n", "1", f"127.0.0.1:{port}|hello"
    ) as cmd:
        address, body = await dgram.recv_multipart()
        assert body == b"hello" and address.startswith(b"127.0.0.1:")
        await dgram.send_multipart([address, b"back"])
        (line,) = await output(cmd)
    printed_address, _, printed_body = line.partition(" | ")
    assert printed_body == "back"
    assert printed_address == "0x" + f"127.0.0.1:{port}".encode().hex() + "00"
