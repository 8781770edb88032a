"""Reconnection against pyzmq (libzmq): a peer that goes away and comes back, connects
made before anyone binds, and RECONNECT_IVL=-1 (spec/ZMTP.md §10-11)."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from zmtrio import EventType

from tests.conftest import ZmqPeer, bind_when_free, next_event, recv_numbers, wait_until

#: Reconnect quickly so that every test stays well under a second.
RECONNECT_IVL = 10


def free_tcp_endpoint() -> str:
    """A tcp endpoint on a port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


def fixed_endpoint(transport: str, ipc_dir: str) -> str:
    if transport == "tcp":
        return free_tcp_endpoint()
    return "ipc://" + os.path.join(ipc_dir, "fixed")


async def events_within(events: AsyncIterator[zmtrio.Event], seconds: float) -> list[EventType]:
    """Every event that arrives within ``seconds``."""
    seen: list[EventType] = []
    with trio.move_on_after(seconds):
        async for event in events:
            seen.append(event.event)
    return seen


async def send_numbers(sock: zmtrio.Socket, numbers: range) -> None:
    for number in numbers:
        await sock.send(number.to_bytes(4, "big"))


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_push_reconnects_to_a_pull_that_comes_back(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str
) -> None:
    endpoint = fixed_endpoint(transport, ipc_dir)
    old_pull = ZmqPeer(zctx, zmq.PULL)
    old_pull.bind(endpoint)
    push = ctx.socket(zmtrio.PUSH)
    push.reconnect_ivl = RECONNECT_IVL
    async with push.monitor() as events:
        await push.connect(endpoint)
        await send_numbers(push, range(10))
        assert await trio.to_thread.run_sync(recv_numbers, old_pull, 10) == list(range(10))

        old_pull.close()
        await next_event(events, EventType.DISCONNECTED)
        # IMMEDIATE is off: the connect endpoint stays a peer and messages queue for it.
        await send_numbers(push, range(10, 20))
        assert push.statistics().peers == 1
        assert push.statistics().queued_outbound == 10

        new_pull = ZmqPeer(zctx, zmq.PULL)
        await bind_when_free(new_pull, endpoint)
        await next_event(events, EventType.HANDSHAKE_SUCCEEDED)
        await send_numbers(push, range(20, 30))
        # Queued while away and sent after the reconnect: all of them, in order.
        assert await trio.to_thread.run_sync(recv_numbers, new_pull, 20) == list(range(10, 30))


async def test_pull_serves_a_new_push_after_the_first_leaves(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    pull = ctx.socket(zmtrio.PULL)
    async with pull.monitor(EventType.DISCONNECTED) as events:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        first = ZmqPeer(zctx, zmq.PUSH)
        first.connect(endpoint)
        for number in range(10):
            await first.send_multipart([b"first", b"%d" % number])
        assert [await pull.recv_multipart() for _ in range(10)] == [
            [b"first", b"%d" % number] for number in range(10)
        ]
        first.close()
        await next_event(events, EventType.DISCONNECTED)
    assert pull.statistics().peers == 0

    second = ZmqPeer(zctx, zmq.PUSH)
    second.connect(endpoint)
    for number in range(10):
        await second.send_multipart([b"second", b"%d" % number])
    assert [await pull.recv_multipart() for _ in range(10)] == [
        [b"second", b"%d" % number] for number in range(10)
    ]
    assert pull.statistics().peers == 1


async def test_reconnect_ivl_minus_one_never_reconnects(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    endpoint = free_tcp_endpoint()
    pull = ZmqPeer(zctx, zmq.PULL)
    pull.bind(endpoint)
    push = ctx.socket(zmtrio.PUSH)
    push.reconnect_ivl = -1
    push.linger = 0
    async with push.monitor() as events:
        await push.connect(endpoint)
        await next_event(events, EventType.HANDSHAKE_SUCCEEDED)
        pull.close()
        await next_event(events, EventType.DISCONNECTED)
        seen = await events_within(events, 0.2)
        assert EventType.CONNECT_RETRIED not in seen
        assert EventType.CONNECTED not in seen

        # Even with a listener back on the same address, nothing reconnects.
        replacement = ZmqPeer(zctx, zmq.PULL)
        await bind_when_free(replacement, endpoint)
        seen = await events_within(events, 0.2)
        assert EventType.CONNECTED not in seen
        assert EventType.HANDSHAKE_SUCCEEDED not in seen


async def test_reconnect_ivl_minus_one_reference_behaviour_of_libzmq(
    zctx: zmq.Context[Any],
) -> None:
    """What the next test expects of zmtrio, shown on libzmq itself: a connect endpoint
    that gives up (RECONNECT_IVL=-1 after a disconnect) loses its pipe, so a PUSH with no
    other peer refuses to queue."""
    endpoint = free_tcp_endpoint()
    pull = ZmqPeer(zctx, zmq.PULL)
    pull.bind(endpoint)
    push = ZmqPeer(zctx, zmq.PUSH)
    push.sock.reconnect_ivl = -1
    monitor = push.sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    push.connect(endpoint)
    await push.send_multipart([b"x"])
    assert await pull.recv_multipart() == [b"x"]
    pull.close()
    assert await trio.to_thread.run_sync(monitor.poll, 5000) == zmq.POLLIN

    def send_later() -> None:
        push.sock.send(b"y", zmq.DONTWAIT)

    with pytest.raises(zmq.Again):
        # libzmq terminates the pipe from its I/O thread: allow it a moment.
        with trio.fail_after(5):
            while True:
                await trio.to_thread.run_sync(send_later)
                await trio.sleep(0.01)
    push.sock.disable_monitor()
    monitor.close(linger=0)


async def test_push_drops_the_pipe_of_an_endpoint_that_gave_up(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    endpoint = free_tcp_endpoint()
    pull = ZmqPeer(zctx, zmq.PULL)
    pull.bind(endpoint)
    push = ctx.socket(zmtrio.PUSH)
    push.reconnect_ivl = -1
    push.linger = 0  # keep the failure from hanging the context's close
    async with push.monitor() as events:
        await push.connect(endpoint)
        await next_event(events, EventType.HANDSHAKE_SUCCEEDED)
        pull.close()
        await next_event(events, EventType.DISCONNECTED)
    await wait_until(lambda: push.statistics().peers == 0, timeout=1)
    with pytest.raises(zmtrio.Again):
        push.send_nowait(b"y")


async def test_push_drops_the_pipe_after_a_handshake_failure(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    wrong_peer = ZmqPeer(zctx, zmq.PUSH)  # PUSH-PUSH is not a valid pair
    endpoint = wrong_peer.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmtrio.PUSH)
    push.reconnect_ivl = RECONNECT_IVL
    push.linger = 0
    async with push.monitor() as events:
        await push.connect(endpoint)
        await next_event(events, EventType.HANDSHAKE_FAILED_PROTOCOL)
        seen = await events_within(events, 0.1)
        assert EventType.CONNECT_RETRIED not in seen  # no retry after a protocol error
    await wait_until(lambda: push.statistics().peers == 0, timeout=1)
    with pytest.raises(zmtrio.Again):
        push.send_nowait(b"y")


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
async def test_push_connects_before_pyzmq_binds(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str
) -> None:
    endpoint = fixed_endpoint(transport, ipc_dir)
    push = ctx.socket(zmtrio.PUSH)
    push.reconnect_ivl = RECONNECT_IVL
    async with push.monitor(EventType.CONNECT_RETRIED) as events:
        await push.connect(endpoint)
        await send_numbers(push, range(10))  # queued: nobody listens yet
        await next_event(events, EventType.CONNECT_RETRIED)
    pull = ZmqPeer(zctx, zmq.PULL)
    pull.bind(endpoint)
    await send_numbers(push, range(10, 20))
    assert await trio.to_thread.run_sync(recv_numbers, pull, 20) == list(range(20))


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
async def test_pull_connects_before_pyzmq_binds(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str
) -> None:
    endpoint = fixed_endpoint(transport, ipc_dir)
    pull = ctx.socket(zmtrio.PULL)
    pull.reconnect_ivl = RECONNECT_IVL
    async with pull.monitor(EventType.CONNECT_RETRIED) as events:
        await pull.connect(endpoint)
        await next_event(events, EventType.CONNECT_RETRIED)
    push = ZmqPeer(zctx, zmq.PUSH)
    push.bind(endpoint)
    for number in range(10):
        await push.send_multipart([b"%d" % number])
    assert [await pull.recv() for _ in range(10)] == [b"%d" % number for number in range(10)]
