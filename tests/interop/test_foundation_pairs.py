"""PAIR and PUSH/PULL against pyzmq (libzmq): zmtrio on either side, both bind/connect
directions, over tcp and ipc."""

from __future__ import annotations

from typing import Any

import pytest
import zmq
import zmtrio

from tests.conftest import ZmqPeer, link, wait_until

TRANSPORTS = ["tcp", "ipc"]
DIRECTIONS = ["zmtrio-binds", "zmtrio-connects"]

MESSAGES = [
    [b"hello"],
    [b""],
    [b"a", b"", b"c"],
    [b"x" * 255, b"y" * 256],
    [bytes(range(256)) * 300],
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_zmtrio_push_to_pyzmq_pull(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str, direction: str
) -> None:
    push = ctx.socket(zmtrio.PUSH)
    pull = ZmqPeer(zctx, zmq.PULL)
    await link(push, pull, transport, direction, ipc_dir)
    for message in MESSAGES:
        await push.send_multipart(message)
    for message in MESSAGES:
        assert await pull.recv_multipart() == message


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_zmtrio_push_frames_runs_that_pyzmq_reads_message_by_message(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str, direction: str
) -> None:
    """Once connected, a PUSH with one peer frames small messages onto runs its writer
    takes whole (``_core.Outlet``): libzmq reads every message, in order, through a small
    high-water mark that makes the sender wait, with frames too large for a run between."""
    push = ctx.socket(zmtrio.PUSH)
    push.sndhwm = 5
    pull = ZmqPeer(zctx, zmq.PULL)
    await link(push, pull, transport, direction, ipc_dir)
    await wait_until(lambda: any(peer.shares_encoding for peer in push._attached))
    messages = [[i.to_bytes(2, "big")] for i in range(300)]
    for index in range(0, 300, 37):
        messages[index] = [b"large", bytes([index % 251]) * (8 * 1024 + index)]
        messages[index + 1] = [b"", b"multi", b"part" * index]
    for message in messages:
        await push.send_multipart(message)
    for message in messages:
        assert await pull.recv_multipart() == message


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_pyzmq_push_to_zmtrio_pull(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str, direction: str
) -> None:
    pull = ctx.socket(zmtrio.PULL)
    push = ZmqPeer(zctx, zmq.PUSH)
    await link(pull, push, transport, direction, ipc_dir)
    for message in MESSAGES:
        await push.send_multipart(message)
    for message in MESSAGES:
        assert await pull.recv_multipart() == message


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_pair_both_ways_with_pyzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str, direction: str
) -> None:
    ours = ctx.socket(zmtrio.PAIR)
    theirs = ZmqPeer(zctx, zmq.PAIR)
    await link(ours, theirs, transport, direction, ipc_dir)
    for message in MESSAGES:
        await ours.send_multipart(message)
        assert await theirs.recv_multipart() == message
        await theirs.send_multipart([b"re:", *message])
        assert await ours.recv_multipart() == [b"re:", *message]


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_sizes_and_long_multipart_both_ways_with_pyzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, direction: str
) -> None:
    ours = ctx.socket(zmtrio.PAIR)
    theirs = ZmqPeer(zctx, zmq.PAIR)
    await link(ours, theirs, "tcp", direction, ipc_dir)
    sizes = [0, 255, 256, 65536, 16 * 1024 * 1024]
    for size in sizes:
        payload = bytes([size % 251]) * size
        await ours.send(payload)
        assert await theirs.recv_multipart() == [payload]
        await theirs.send_multipart([payload])
        assert await ours.recv() == payload
    long_message = [b"" if i % 3 == 0 else str(i).encode() for i in range(100)]
    await ours.send_multipart(long_message)
    assert await theirs.recv_multipart() == long_message
    await theirs.send_multipart(long_message)
    assert await ours.recv_multipart() == long_message


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_ten_thousand_messages_keep_their_order(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, direction: str
) -> None:
    push = ctx.socket(zmtrio.PUSH)
    pull = ZmqPeer(zctx, zmq.PULL)
    await link(push, pull, "tcp", direction, ipc_dir)
    count = 10_000
    for i in range(count):
        await push.send(i.to_bytes(4, "big"))

    def receive_all() -> list[int]:
        return [int.from_bytes(pull.sock.recv(), "big") for _ in range(count)]

    import trio

    assert await trio.to_thread.run_sync(receive_all) == list(range(count))

    reverse_pull = ctx.socket(zmtrio.PULL)
    reverse_push = ZmqPeer(zctx, zmq.PUSH)
    await link(reverse_pull, reverse_push, "tcp", direction, ipc_dir)

    def send_all() -> None:
        for i in range(count):
            reverse_push.sock.send(i.to_bytes(4, "big"))

    await trio.to_thread.run_sync(send_all)
    received = [int.from_bytes(await reverse_pull.recv(), "big") for _ in range(count)]
    assert received == list(range(count))
