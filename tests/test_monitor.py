"""``Socket.monitor()``: libzmq's socket events, with pyzmq (libzmq) as the peer
(spec/ZMTP.md §10)."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing
import zmq
import zmtrio
from zmtrio import EventType

from tests.conftest import ZmqPeer, endpoint_for, next_event

#: libzmq's ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH.
MECHANISM_MISMATCH = 0x11000002


async def events_within(events: AsyncIterator[zmtrio.Event], seconds: float) -> list[zmtrio.Event]:
    seen: list[zmtrio.Event] = []
    with trio.move_on_after(seconds):
        async for event in events:
            seen.append(event)
    return seen


def closed_tcp_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


async def test_event_types_have_libzmq_names_and_values() -> None:
    for event in EventType:
        name = event.name or ""
        assert event.value == zmq.Event[name].value, name
    assert int(zmtrio.EVENT_ALL) == int(zmq.EVENT_ALL) == 0xFFFF


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_bound_socket_events(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str
) -> None:
    pull = ctx.socket(zmtrio.PULL)
    async with pull.monitor() as events:
        endpoint = await pull.bind(endpoint_for(transport, ipc_dir))
        listening = await next_event(events, EventType.LISTENING)
        assert listening.value > 0  # the listening socket's fd
        assert listening.endpoint == endpoint
        assert "*" not in listening.endpoint

        push = ZmqPeer(zctx, zmq.PUSH)
        push.connect(endpoint)
        accepted = await next_event(events, EventType.ACCEPTED)
        assert accepted.value > 0
        assert accepted.value != listening.value
        assert accepted.endpoint == endpoint
        succeeded = await next_event(events, EventType.HANDSHAKE_SUCCEEDED)
        assert (succeeded.value, succeeded.endpoint) == (0, endpoint)

        await push.send_multipart([b"through"])
        assert await pull.recv() == b"through"
        push.close()
        disconnected = await next_event(events, EventType.DISCONNECTED)
        assert disconnected.value == accepted.value  # the same connection's fd
        assert disconnected.endpoint == endpoint


async def test_bound_socket_event_order(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    """libzmq's captured order: LISTENING, ACCEPTED, HANDSHAKE_SUCCEEDED (then DISCONNECTED)."""
    pull = ctx.socket(zmtrio.PULL)
    async with pull.monitor() as events:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        push = ZmqPeer(zctx, zmq.PUSH)
        push.connect(endpoint)
        seen = [
            (await next_event(events, kind)).event
            for kind in (EventType.LISTENING, EventType.ACCEPTED, EventType.HANDSHAKE_SUCCEEDED)
        ]
        push.close()
        seen.append((await next_event(events, EventType.DISCONNECTED)).event)
    assert seen == [
        EventType.LISTENING,
        EventType.ACCEPTED,
        EventType.HANDSHAKE_SUCCEEDED,
        EventType.DISCONNECTED,
    ]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_connecting_socket_events(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str
) -> None:
    pull = ZmqPeer(zctx, zmq.PULL)
    endpoint = pull.bind(endpoint_for(transport, ipc_dir))
    push = ctx.socket(zmtrio.PUSH)
    async with push.monitor() as events:
        await push.connect(endpoint)
        connected = await next_event(events, EventType.CONNECTED)
        assert connected.value > 0
        assert connected.endpoint == endpoint
        succeeded = await next_event(events, EventType.HANDSHAKE_SUCCEEDED)
        assert (succeeded.value, succeeded.endpoint) == (0, endpoint)
        pull.close()
        disconnected = await next_event(events, EventType.DISCONNECTED)
        assert disconnected.value == connected.value
        assert disconnected.endpoint == endpoint


async def test_connect_to_nothing_reports_delays_and_retries(ctx: zmtrio.Context) -> None:
    endpoint = closed_tcp_endpoint()
    push = ctx.socket(zmtrio.PUSH)
    push.reconnect_ivl = 10
    push.linger = 0
    async with push.monitor() as events:
        await push.connect(endpoint)
        delayed = await next_event(events, EventType.CONNECT_DELAYED)
        assert delayed.value > 0  # an errno
        assert delayed.endpoint == endpoint
        retried = await next_event(events, EventType.CONNECT_RETRIED)
        # RECONNECT_IVL_MAX=0: every retry waits IVL plus jitter in [0, IVL).
        assert 10 <= retried.value < 20
        assert retried.endpoint == endpoint
        seen = await events_within(events, 0.1)
        assert EventType.CONNECTED not in {event.event for event in seen}


async def test_reconnect_backoff_doubles_up_to_the_maximum(ctx: zmtrio.Context) -> None:
    """libzmq with RECONNECT_IVL_MAX > 0: no jitter, 10, 20, 40, 40, ... ms (checked against
    libzmq 4.3.5's CONNECT_RETRIED values)."""
    push = ctx.socket(zmtrio.PUSH)
    push.reconnect_ivl = 10
    push.reconnect_ivl_max = 40
    push.linger = 0
    async with push.monitor(EventType.CONNECT_RETRIED) as events:
        await push.connect(closed_tcp_endpoint())
        delays = [(await next_event(events, EventType.CONNECT_RETRIED)).value for _ in range(4)]
    assert delays == [10, 20, 40, 40]


async def test_incompatible_peer_fails_the_handshake(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    push = ctx.socket(zmtrio.PUSH)
    async with push.monitor() as events:
        endpoint = await push.bind("tcp://127.0.0.1:*")
        good = ZmqPeer(zctx, zmq.PULL)
        good.connect(endpoint)
        await next_event(events, EventType.HANDSHAKE_SUCCEEDED)

        wrong = ZmqPeer(zctx, zmq.PUSH)  # PUSH-PUSH: incompatible socket types
        wrong.sock.reconnect_ivl = 10
        wrong.connect(endpoint)
        failed = await next_event(events, EventType.HANDSHAKE_FAILED_PROTOCOL)
        assert failed.value & 0xF0000000 == 0x10000000  # a ZMTP protocol error code
        assert failed.endpoint == endpoint
    # The incompatible peer never became a destination: every message reaches the PULL.
    assert push.statistics().peers == 1
    for number in range(30):
        await push.send(b"%d" % number)
    received = await trio.to_thread.run_sync(lambda: [good.sock.recv() for _ in range(30)])
    assert received == [b"%d" % number for number in range(30)]


async def test_incompatible_pyzmq_push_never_delivers(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """pyzmq PUSH to a zmtrio PAIR (which could receive): the handshake fails and what the
    PUSH queued never arrives."""
    pair = ctx.socket(zmtrio.PAIR)
    async with pair.monitor() as events:
        endpoint = await pair.bind("tcp://127.0.0.1:*")
        wrong = ZmqPeer(zctx, zmq.PUSH)
        wrong.connect(endpoint)
        await wrong.send_multipart([b"must not arrive"])
        await next_event(events, EventType.HANDSHAKE_FAILED_PROTOCOL)
        seen = await events_within(events, 0.1)
    assert EventType.HANDSHAKE_SUCCEEDED not in {event.event for event in seen}
    assert pair.statistics().peers == 0
    with pytest.raises(zmtrio.Again):
        pair.recv_nowait()


async def _send_curve_greeting(endpoint: str) -> trio.SocketStream:
    """Open a raw connection and send a ZMTP 3.1 greeting asking for CURVE."""
    port = int(endpoint.rsplit(":", 1)[1])
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"CURVE".ljust(20, b"\x00")
    await stream.send_all(greeting + b"\x00" * 32)
    return stream


async def test_mechanism_mismatch_is_a_protocol_failure(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    async with pull.monitor() as events:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        async with await _send_curve_greeting(endpoint):
            failed = await next_event(events, EventType.HANDSHAKE_FAILED_PROTOCOL)
    assert failed.value == MECHANISM_MISMATCH  # as libzmq reports it
    assert failed.endpoint == endpoint


async def test_handshake_failure_is_followed_by_disconnected(ctx: zmtrio.Context) -> None:
    """As libzmq (stream_engine_base::error always reports the disconnect)."""
    pull = ctx.socket(zmtrio.PULL)
    async with pull.monitor() as events:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        async with await _send_curve_greeting(endpoint):
            accepted = await next_event(events, EventType.ACCEPTED)
            await next_event(events, EventType.HANDSHAKE_FAILED_PROTOCOL)
            disconnected = await next_event(events, EventType.DISCONNECTED, timeout=1)
    assert disconnected.value == accepted.value


async def test_libzmq_reference_handshake_failure_events(zctx: zmq.Context[Any]) -> None:
    """The sequence the test above expects, shown on libzmq itself."""
    from zmq.utils.monitor import recv_monitor_message

    pull = zctx.socket(zmq.PULL)
    pull.linger = 0
    monitor = pull.get_monitor_socket()
    monitor.rcvtimeo = 5000
    pull.bind("tcp://127.0.0.1:*")
    endpoint = pull.last_endpoint.decode()

    def events_until_disconnected() -> list[tuple[int, int]]:
        seen: list[tuple[int, int]] = []
        while not seen or seen[-1][0] != zmq.EVENT_DISCONNECTED:
            message = recv_monitor_message(monitor)
            seen.append((message["event"], message["value"]))
        return seen

    async with await _send_curve_greeting(endpoint):
        seen = await trio.to_thread.run_sync(events_until_disconnected)
    assert [event for event, _ in seen] == [
        zmq.EVENT_LISTENING,
        zmq.EVENT_ACCEPTED,
        zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
        zmq.EVENT_DISCONNECTED,
    ]
    assert seen[2][1] == MECHANISM_MISMATCH
    pull.disable_monitor()
    monitor.close(linger=0)
    pull.close(linger=0)


async def test_event_mask_filters(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    pull = ctx.socket(zmtrio.PULL)
    wanted = EventType.HANDSHAKE_SUCCEEDED | EventType.DISCONNECTED
    async with pull.monitor(wanted) as events, pull.monitor() as everything:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        push = ZmqPeer(zctx, zmq.PUSH)
        push.connect(endpoint)
        await next_event(everything, EventType.HANDSHAKE_SUCCEEDED)
        push.close()
        await next_event(everything, EventType.DISCONNECTED)
        seen = await events_within(events, 0.05)
    assert [event.event for event in seen] == [
        EventType.HANDSHAKE_SUCCEEDED,
        EventType.DISCONNECTED,
    ]


async def test_iteration_ends_with_monitor_stopped_when_the_socket_closes(
    ctx: zmtrio.Context,
) -> None:
    pull = ctx.socket(zmtrio.PULL)
    seen: list[zmtrio.Event] = []
    async with pull.monitor() as events:
        endpoint = await pull.bind("tcp://127.0.0.1:*")

        async def close_soon() -> None:
            await trio.testing.wait_all_tasks_blocked()  # the iteration waits for events
            await pull.aclose()

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(close_soon)
                async for event in events:
                    seen.append(event)
    assert seen[0].event == EventType.LISTENING
    assert seen[0].endpoint == endpoint
    assert seen[-1].event == EventType.MONITOR_STOPPED
    assert seen[-1].value == 0


async def test_monitor_stopped_only_when_asked_for(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    async with pull.monitor(EventType.LISTENING) as events:
        await pull.bind("tcp://127.0.0.1:*")
        pull.close()
        with trio.fail_after(5):
            seen = [event.event async for event in events]
    assert seen == [EventType.LISTENING]


async def test_monitor_on_a_closed_socket_raises(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    pull.close()
    with pytest.raises(trio.ClosedResourceError):
        async with pull.monitor():
            pass  # pragma: no cover


async def test_bind_failed_on_address_in_use(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    holder = ZmqPeer(zctx, zmq.PULL)
    endpoint = holder.bind("tcp://127.0.0.1:*")
    pull = ctx.socket(zmtrio.PULL)
    async with pull.monitor() as events:
        with pytest.raises(zmtrio.ZMQError) as caught:
            await pull.bind(endpoint)
        assert caught.value.errno == errno.EADDRINUSE
        failed = await next_event(events, EventType.BIND_FAILED)
        assert failed.value == errno.EADDRINUSE
        assert failed.endpoint == endpoint
        seen = await events_within(events, 0.05)
    assert EventType.LISTENING not in {event.event for event in seen}


async def test_ipc_bind_failed_on_missing_directory(ctx: zmtrio.Context, ipc_dir: str) -> None:
    endpoint = "ipc://" + os.path.join(ipc_dir, "no-such-dir", "sock")
    pull = ctx.socket(zmtrio.PULL)
    async with pull.monitor(EventType.BIND_FAILED) as events:
        with pytest.raises(zmtrio.ZMQError) as caught:
            await pull.bind(endpoint)
        failed = await next_event(events, EventType.BIND_FAILED)
    assert failed.value == caught.value.errno == errno.ENOENT
    assert failed.endpoint == endpoint
