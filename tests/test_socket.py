"""The Socket contract of API.md: lifecycle, errors, options, flags, batches, iteration,
polling, and the cancellation and backpressure guarantees."""

from __future__ import annotations

import errno

import pytest
import trio
import trio.testing
import zmtrio


async def _pair(ctx: zmtrio.Context, name: str) -> tuple[zmtrio.Socket, zmtrio.Socket]:
    a, b = ctx.socket(zmtrio.PAIR), ctx.socket(zmtrio.PAIR)
    await b.connect(await a.bind("inproc://" + name))
    return a, b


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("tcp://127.0.0.1", errno.EINVAL),
        ("tcp://127.0.0.1:abc", errno.EINVAL),
        ("tcp://127.0.0.1:70000", errno.EINVAL),
        ("no-separator", errno.EINVAL),
        ("udp://127.0.0.1:5555", zmtrio.ENOCOMPATPROTO),  # udp is for RADIO/DISH/DGRAM
        ("pgm://127.0.0.1:5555", errno.EPROTONOSUPPORT),
        ("inproc://", errno.EINVAL),
        ("tcp://no-such-host.invalid:5555", errno.ENODEV),
    ],
)
async def test_bad_bind_endpoints(ctx: zmtrio.Context, endpoint: str, expected: int) -> None:
    with pytest.raises(zmtrio.ZMQError) as info:
        await ctx.socket(zmtrio.PULL).bind(endpoint)
    assert info.value.errno == expected


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("tcp://*:5555", errno.EINVAL),
        ("tcp://127.0.0.1", errno.EINVAL),
        ("ipc://", errno.EINVAL),
        ("bogus://x", errno.EPROTONOSUPPORT),
    ],
)
async def test_bad_connect_endpoints(ctx: zmtrio.Context, endpoint: str, expected: int) -> None:
    with pytest.raises(zmtrio.ZMQError) as info:
        await ctx.socket(zmtrio.PUSH).connect(endpoint)
    assert info.value.errno == expected


async def test_address_in_use(ctx: zmtrio.Context) -> None:
    endpoint = await ctx.socket(zmtrio.PULL).bind("tcp://127.0.0.1:*")
    with pytest.raises(zmtrio.ZMQError) as info:
        await ctx.socket(zmtrio.PULL).bind(endpoint)
    assert info.value.errno == errno.EADDRINUSE


async def test_unbind_and_disconnect_unknown_endpoints(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.PUSH)
    with pytest.raises(zmtrio.ZMQError) as info:
        await sock.unbind("tcp://127.0.0.1:5")
    assert info.value.errno == errno.ENOENT
    with pytest.raises(zmtrio.ZMQError) as info:
        await sock.disconnect("tcp://127.0.0.1:5")
    assert info.value.errno == errno.ENOENT


async def test_connect_to_absent_peer_returns_and_retries(ctx: zmtrio.Context) -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    push = ctx.socket(zmtrio.PUSH)
    push.reconnect_ivl = 10
    await push.connect(f"tcp://127.0.0.1:{port}")
    await push.send(b"waits for the peer")  # queued: IMMEDIATE is off, as libzmq
    pull = ctx.socket(zmtrio.PULL)
    await pull.bind(f"tcp://127.0.0.1:{port}")
    assert await pull.recv() == b"waits for the peer"


async def test_str_frames_are_refused(ctx: zmtrio.Context) -> None:
    a, _ = await _pair(ctx, "str")
    with pytest.raises(TypeError):
        await a.send("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await a.send_multipart([b"ok", "text"])  # type: ignore[list-item]


async def test_bytes_like_frames(ctx: zmtrio.Context) -> None:
    a, b = await _pair(ctx, "bytes-like")
    buffer = bytearray(b"mutable")
    await a.send_multipart([buffer, memoryview(b"view")])
    buffer[:] = b"changed"  # the message was copied at send time, as libzmq does
    assert await b.recv_multipart() == [b"mutable", b"view"]


async def test_wrong_direction_is_not_supported(ctx: zmtrio.Context) -> None:
    pull, push = ctx.socket(zmtrio.PULL), ctx.socket(zmtrio.PUSH)
    with pytest.raises(zmtrio.ZMQError) as info:
        await pull.send(b"x")
    assert info.value.errno == zmtrio.ENOTSUP
    with pytest.raises(zmtrio.ZMQError) as info:
        await push.recv()
    assert info.value.errno == zmtrio.ENOTSUP


async def test_nowait_raises_again(ctx: zmtrio.Context) -> None:
    push, pull = ctx.socket(zmtrio.PUSH), ctx.socket(zmtrio.PULL)
    with pytest.raises(zmtrio.Again) as info:
        push.send_nowait(b"no peer")  # a bound-only PUSH has no peer yet
    assert info.value.errno == zmtrio.EAGAIN
    assert isinstance(info.value, trio.WouldBlock)
    with pytest.raises(zmtrio.Again):
        pull.recv_nowait()
    with pytest.raises(zmtrio.Again):
        await pull.recv(zmtrio.DONTWAIT)
    with pytest.raises(zmtrio.Again):
        await push.send(b"x", zmtrio.DONTWAIT)


async def test_sndtimeo_and_rcvtimeo_raise_again(ctx: zmtrio.Context) -> None:
    push, pull = ctx.socket(zmtrio.PUSH), ctx.socket(zmtrio.PULL)
    pull.rcvtimeo = 20
    push.sndtimeo = 20
    with pytest.raises(zmtrio.Again):
        await pull.recv()
    with pytest.raises(zmtrio.Again):
        await push.send(b"nobody")


async def test_context_closed_refuses_new_sockets() -> None:
    async with zmtrio.Context() as ctx:
        pass
    with pytest.raises(zmtrio.ZMQError) as info:
        ctx.socket(zmtrio.PAIR)
    assert info.value.errno == zmtrio.ETERM


# ---------------------------------------------------------------- options


async def test_options_defaults_and_attributes(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.PUSH)
    assert sock.sndhwm == sock.getsockopt(zmtrio.SNDHWM) == 1000
    assert sock.rcvhwm == 1000
    assert sock.linger == -1
    assert sock.reconnect_ivl == 100
    assert sock.handshake_ivl == 30_000
    assert sock.maxmsgsize == -1
    assert sock.type == zmtrio.PUSH == sock.getsockopt(zmtrio.TYPE)
    sock.sndhwm = 10
    assert sock.getsockopt(zmtrio.SNDHWM) == 10
    sock.setsockopt(zmtrio.LINGER, 0)
    assert sock.linger == 0
    sock.routing_id = b"me"
    assert sock.identity == b"me"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        (9999, 1),
        (zmtrio.SNDHWM, "ten"),
        (zmtrio.SNDHWM, -1),
        (zmtrio.LINGER, -2),
        (zmtrio.ROUTING_ID, 5),
        (zmtrio.ROUTING_ID, b"x" * 256),
        (zmtrio.TYPE, 1),
        (zmtrio.SUBSCRIBE, b""),  # not a SUB socket
    ],
)
async def test_invalid_options_raise_einval(
    ctx: zmtrio.Context, option: int, value: object
) -> None:
    with pytest.raises(zmtrio.ZMQError) as info:
        ctx.socket(zmtrio.PUSH).setsockopt(option, value)  # type: ignore[arg-type]
    assert info.value.errno == errno.EINVAL


async def test_unknown_attribute(ctx: zmtrio.Context) -> None:
    with pytest.raises(AttributeError):
        ctx.socket(zmtrio.PUSH).no_such_option  # noqa: B018


# ---------------------------------------------------------------- lifecycle


async def test_calls_on_closed_socket_raise(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.PAIR)
    await sock.aclose()
    await sock.aclose()  # a second close does nothing
    for call in (sock.send(b"x"), sock.recv(), sock.bind("inproc://closed"), sock.poll()):
        with pytest.raises(trio.ClosedResourceError):
            await call
    with pytest.raises(trio.ClosedResourceError):
        sock.recv_nowait()


async def test_blocked_calls_raise_when_closed(ctx: zmtrio.Context) -> None:
    pull, push = ctx.socket(zmtrio.PULL), ctx.socket(zmtrio.PUSH)
    outcomes: list[str] = []

    async def blocked(call: object) -> None:
        try:
            await call  # type: ignore[misc]
        except trio.ClosedResourceError:
            outcomes.append("closed")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(blocked, pull.recv())
        nursery.start_soon(blocked, push.send(b"no peer"))
        await trio.testing.wait_all_tasks_blocked()
        pull.close()
        push.close()
    assert outcomes == ["closed", "closed"]


async def test_async_for_ends_when_closed(ctx: zmtrio.Context) -> None:
    a, b = await _pair(ctx, "iterate")
    for i in range(3):
        await a.send(bytes([i]))
    received: list[list[bytes]] = []
    async with trio.open_nursery() as nursery:

        async def consume() -> None:
            async for frames in b:
                received.append(frames)

        nursery.start_soon(consume)
        while len(received) < 3:
            await trio.sleep(0.001)
        await b.aclose()
    assert received == [[b"\x00"], [b"\x01"], [b"\x02"]]


async def test_linger_delivers_queued_messages_on_close(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    endpoint = await pull.bind("tcp://127.0.0.1:*")
    async with ctx.socket(zmtrio.PUSH) as push:
        push.linger = 5_000
        await push.connect(endpoint)
        for i in range(500):
            await push.send(i.to_bytes(2, "big"))
    # The PUSH socket is closed; everything it queued was still written.
    assert [int.from_bytes(await pull.recv(), "big") for _ in range(500)] == list(range(500))


async def test_linger_zero_drops_and_closes_at_once(ctx: zmtrio.Context) -> None:
    push = ctx.socket(zmtrio.PUSH)
    push.linger = 0
    await push.connect("tcp://127.0.0.1:9")  # nothing there: messages wait forever
    await push.send(b"dropped")
    with trio.fail_after(1):
        await push.aclose()


async def test_context_exit_closes_sockets() -> None:
    async with zmtrio.Context() as ctx:
        sock = ctx.socket(zmtrio.PULL)
        await sock.bind("tcp://127.0.0.1:*")
    assert sock.closed


async def test_background_failure_surfaces_from_context() -> None:
    class Boom(Exception):
        pass

    async def explode() -> None:
        raise Boom

    # A lone failure comes out as itself (tests/test_context_errors.py: several, a group).
    with pytest.raises(Boom):
        async with zmtrio.Context() as ctx:
            sock = ctx.socket(zmtrio.PULL)
            sock._spawn(explode)
            await trio.sleep_forever()


# ---------------------------------------------------------------- batches and polling


async def test_send_batch_and_recv_batch(ctx: zmtrio.Context) -> None:
    a, b = await _pair(ctx, "batch")
    messages = [[i.to_bytes(2, "big"), b"x" * i] for i in range(300)]
    await a.send_batch(messages)
    received: list[list[bytes]] = []
    while len(received) < 300:
        batch = await b.recv_batch(128)
        assert 1 <= len(batch) <= 128
        received.extend(batch)
    assert received == messages


async def test_poll(ctx: zmtrio.Context) -> None:
    a, b = await _pair(ctx, "poll")
    assert await b.poll(zmtrio.POLLIN, timeout=0) == 0
    assert await b.poll(zmtrio.POLLIN, timeout=10) == 0
    assert await a.poll(zmtrio.POLLOUT, timeout=0) == zmtrio.POLLOUT
    async with trio.open_nursery() as nursery:

        async def send_later() -> None:
            await trio.testing.wait_all_tasks_blocked()  # poll is waiting
            await a.send(b"wake")

        nursery.start_soon(send_later)
        assert await b.poll(zmtrio.POLLIN, timeout=5_000) == zmtrio.POLLIN
    assert await b.poll(zmtrio.POLLIN | zmtrio.POLLOUT) == zmtrio.POLLIN | zmtrio.POLLOUT
    assert b.getsockopt(zmtrio.EVENTS) == zmtrio.POLLIN | zmtrio.POLLOUT
    assert await b.recv() == b"wake"


# ---------------------------------------------------------------- guarantees


async def test_cancelled_recv_consumes_nothing(ctx: zmtrio.Context) -> None:
    a, b = await _pair(ctx, "cancel-recv")
    with trio.move_on_after(0.01):
        await b.recv()
    await a.send(b"still here")
    with trio.CancelScope() as scope:
        scope.cancel()
        await b.recv_multipart()  # cancelled before taking anything
    assert scope.cancelled_caught
    assert await b.recv() == b"still here"


async def test_cancelled_send_queues_nothing_or_everything(ctx: zmtrio.Context) -> None:
    push, pull = ctx.socket(zmtrio.PUSH), ctx.socket(zmtrio.PULL)
    push.sndhwm = 1
    pull.rcvhwm = 1
    await pull.connect(await push.bind("inproc://cancel-send"))
    await push.send(b"fills the pipe")
    await push.send(b"fills the pipe")
    with trio.move_on_after(0.02) as scope:
        await push.send_multipart([b"never", b"sent"])
    assert scope.cancelled_caught
    await push.send(b"part", zmtrio.SNDMORE)
    with trio.move_on_after(0.02):
        await push.send(b"end")  # the whole two-frame message is not queued either
    assert await pull.recv_multipart() == [b"fills the pipe"]
    assert await pull.recv_multipart() == [b"fills the pipe"]
    with pytest.raises(zmtrio.Again):
        pull.recv_nowait()
    # The partial message is still pending: finishing it sends it whole.
    await push.send(b"end")
    assert await pull.recv_multipart() == [b"part", b"end"]


async def test_cancelled_send_batch_queues_a_prefix(ctx: zmtrio.Context) -> None:
    push, pull = ctx.socket(zmtrio.PUSH), ctx.socket(zmtrio.PULL)
    push.sndhwm = 5
    pull.rcvhwm = 5
    await pull.connect(await push.bind("inproc://cancel-batch"))
    batch = [[i.to_bytes(2, "big"), b"second frame"] for i in range(50)]
    with trio.move_on_after(0.05) as scope:
        await push.send_batch(batch)
    assert scope.cancelled_caught
    received = []
    while True:
        try:
            received.append(pull.recv_multipart_nowait())
        except zmtrio.Again:
            break
    assert 0 < len(received) < 50
    assert received == batch[: len(received)]


async def test_hwm_blocks_and_loses_nothing(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    pull.rcvhwm = 10
    pull.rcvbuf = 65536  # small kernel buffers, so the high-water mark is reached quickly
    endpoint = await pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmtrio.PUSH)
    push.sndhwm = 10
    push.sndbuf = 65536
    await push.connect(endpoint)
    payload = b"x" * 16_384
    sent = 0

    async def send_and_report(message: bytes, returned: trio.Event) -> None:
        await push.send(message)
        returned.set()

    async with trio.open_nursery() as nursery:
        # Fill the pipes and the kernel buffers until send_nowait fails, then send. The kernel
        # may still make room (window updates), so that send can return: then fill on. Once
        # every task is blocked and it has not returned, it is parked at the high-water mark.
        while True:
            message = sent.to_bytes(4, "big") + payload
            sent += 1
            try:
                push.send_nowait(message)
                continue
            except zmtrio.Again:
                pass
            returned = trio.Event()
            nursery.start_soon(send_and_report, message, returned)
            await trio.testing.wait_all_tasks_blocked()
            if not returned.is_set():
                break  # send blocks at the high-water mark
        received = [int.from_bytes((await pull.recv())[:4], "big") for _ in range(sent)]
    assert received == list(range(sent))


async def test_conflate_keeps_only_the_newest_message(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    pull.conflate = 1
    endpoint = await pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmtrio.PUSH)
    await push.connect(endpoint)
    for i in range(100):
        await push.send(str(i).encode())
    await push.send(b"last")
    while True:  # the newest message wins; older ones may have been taken first
        if await pull.recv() == b"last":
            break
    assert pull.statistics().queued_inbound == 0


async def test_immediate_queues_only_for_connected_peers(ctx: zmtrio.Context) -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there
    push = ctx.socket(zmtrio.PUSH)
    push.immediate = 1
    await push.connect(f"tcp://127.0.0.1:{port}")
    with pytest.raises(zmtrio.Again):  # libzmq: no pipe until the connection is up
        push.send_nowait(b"nowhere to go")
    pull = ctx.socket(zmtrio.PULL)
    push.reconnect_ivl = 10
    await pull.bind(f"tcp://127.0.0.1:{port}")
    while push.statistics().peers == 0:
        await trio.sleep(0.005)
    await push.send(b"now connected")
    assert await pull.recv() == b"now connected"
