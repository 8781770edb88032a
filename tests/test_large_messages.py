"""Large messages: bodies received straight into their final ``bytes`` and sent without
being joined to their headers, against pyzmq (libzmq) in both bind/connect directions over
tcp and ipc, with hostile and cancelled receptions."""

from __future__ import annotations

import socket
import tracemalloc
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from zmtrio._transport._socket_io import SocketIO

from tests.conftest import ZmqPeer, link
from tests.hostile import _raw

TRANSPORTS = ["tcp", "ipc"]
DIRECTIONS = ["zmtrio-binds", "zmtrio-connects"]
SIZES = [64 * 1024, 1 << 20, 16 << 20]
#: The largest body received in place (connection.rs DIRECT_BODY_MAX): its bytes are made
#: as soon as the header is in.
DIRECT_BODY_MAX = 64 << 20


def body(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that differ along the body, so a misplaced chunk shows."""
    pattern = bytes((i * 7 + seed) % 256 for i in range(251))
    return (pattern * (size // len(pattern) + 1))[:size]


def large_multipart(size: int) -> list[bytes]:
    """Large frames in the middle of a message, between small and empty ones."""
    return [b"head", body(size, 1), b"", body(size // 2 + 3, 2), b"tail"]


@pytest.mark.parametrize("size", SIZES, ids=["64KiB", "1MiB", "16MiB"])
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("zmtrio_sends", [False, True], ids=["pyzmq-push", "zmtrio-push"])
async def test_push_pull_with_pyzmq(
    ctx: zmtrio.Context,
    zctx: zmq.Context[Any],
    ipc_dir: str,
    transport: str,
    direction: str,
    size: int,
    zmtrio_sends: bool,
) -> None:
    ours = ctx.socket(zmtrio.PUSH if zmtrio_sends else zmtrio.PULL)
    theirs = ZmqPeer(zctx, zmq.PULL if zmtrio_sends else zmq.PUSH)
    await link(ours, theirs, transport, direction, ipc_dir)
    send = ours.send_multipart if zmtrio_sends else theirs.send_multipart
    recv = theirs.recv_multipart if zmtrio_sends else ours.recv_multipart
    messages = [[body(size)], large_multipart(size), [b"small"], [body(size, 3)]]
    for message in messages:
        await send(message)
    for message in messages:
        got = await recv()
        assert [len(frame) for frame in got] == [len(frame) for frame in message]
        assert got == message
        assert all(type(frame) is bytes for frame in got)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_large_and_small_messages_interleaved_both_ways(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str
) -> None:
    """Runs of large messages and of small ones, one after the other: the reads that
    follow a body received in place, and the batches around a body sent on its own."""
    ours = ctx.socket(zmtrio.PAIR)
    theirs = ZmqPeer(zctx, zmq.PAIR)
    await link(ours, theirs, transport, "zmtrio-binds", ipc_dir)
    messages = [[body(40_000 + 997 * i, i)] if i % 7 < 4 else [str(i).encode()] for i in range(120)]

    async def pyzmq_sends() -> None:
        for message in messages:
            await theirs.send_multipart(message)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pyzmq_sends)
        for message in messages:
            assert await ours.recv_multipart() == message
    for message in messages:
        await ours.send_multipart(message)
    for message in messages:
        assert await theirs.recv_multipart() == message


async def test_curve_keeps_large_messages_whole(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """CURVE frames are boxes opened as a whole: they take the buffered path, both ways."""
    public, secret = zmtrio.curve_keypair()
    ours = ctx.socket(zmtrio.PAIR)
    ours.curve_secretkey = secret
    ours.curve_server = True
    theirs = ZmqPeer(zctx, zmq.PAIR)
    their_public, their_secret = zmq.curve_keypair()
    theirs.sock.curve_publickey = their_public
    theirs.sock.curve_secretkey = their_secret
    theirs.sock.curve_serverkey = public
    await link(ours, theirs, "tcp", "zmtrio-binds", "")
    message = large_multipart(1 << 20)
    await theirs.send_multipart(message)
    assert await ours.recv_multipart() == message
    await ours.send_multipart(message)
    assert await theirs.recv_multipart() == message


@pytest.mark.parametrize("batch", [False, True], ids=["recv", "recv_batch"])
async def test_a_receiver_that_keeps_up_holds_one_large_body_at_a_time(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], batch: bool
) -> None:
    """The reader lets a waiting receiver take each body received in place before it makes
    the next one: a loop that drops each message never has two alive, so glibc reuses one
    body's memory for the next instead of faulting in fresh pages."""
    size, count = 1 << 20, 16
    pull = ctx.socket(zmtrio.PULL)
    push = ZmqPeer(zctx, zmq.PUSH)
    await link(pull, push, "tcp", "zmtrio-binds", "")
    payload = body(size)
    await push.send_multipart([payload])
    assert await pull.recv() == payload
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(count):  # queued by libzmq (its high-water mark is far off)
            push.sock.send(payload, zmq.NOBLOCK)
        received = 0
        while received < count:
            if batch:
                lengths = [len(frame) for (frame,) in await pull.recv_batch(count)]
                assert lengths == [size] * len(lengths)
                received += len(lengths)
            else:
                assert len(await pull.recv()) == size
                received += 1
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < 2 * size, f"{peak / size:.2f} bodies of {size} bytes alive at once"


# ------------------------------------------------------------ raw peers


async def _raw_push(pull: zmtrio.Socket) -> trio.SocketStream:
    """A raw tcp PUSH peer of ``pull`` (bound on tcp), its handshake done."""
    endpoint = await pull.bind("tcp://127.0.0.1:*")
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    await _raw.handshake(stream, b"PUSH")
    return stream


async def test_cancelled_recv_while_a_body_is_half_received_loses_nothing(
    ctx: zmtrio.Context,
) -> None:
    pull = ctx.socket(zmtrio.PULL)
    stream = await _raw_push(pull)
    message = [b"before", body(1 << 20), b"after"]
    wire = _raw.message(message)
    half = len(wire) // 2
    await stream.send_all(wire[:half])
    with trio.move_on_after(0.2) as scope:
        await pull.recv_multipart()
    assert scope.cancelled_caught, "the message cannot be complete yet"
    await stream.send_all(wire[half:] + _raw.message([b"next"]))
    assert await pull.recv_multipart() == message
    assert await pull.recv_multipart() == [b"next"]
    await stream.aclose()


@pytest.mark.parametrize("opened_first", [True, False], ids=["body-open", "all-at-once"])
async def test_what_follows_a_body_in_its_read_is_decoded(
    ctx: zmtrio.Context, opened_first: bool
) -> None:
    """The rest of a body received in place and the bytes after it come in one read, those
    into the connection's spill (4 KiB): small messages, one cut in two by the spill's end,
    a large body that opens there, and a multipart of large frames all arrive whole."""
    pull = ctx.socket(zmtrio.PULL)
    stream = await _raw_push(pull)
    first = [body(64 * 1024)]
    after = [[b"a"], [bytes(range(200)) * 3]] * 6 + [[body(70_000, 4)], large_multipart(65536)]
    after.append([b"end"])
    wire = _raw.message(first) + b"".join(_raw.message(message) for message in after)
    with trio.fail_after(10):
        if opened_first:  # the header and some body first: the body is open for the rest
            await stream.send_all(wire[:1000])
            await trio.sleep(0.05)
            await stream.send_all(wire[1000:])
        else:
            await stream.send_all(wire)
        assert await pull.recv_multipart() == first
        for message in after:
            assert await pull.recv_multipart() == message
    await stream.aclose()


async def test_cancelled_request_recv_while_a_large_reply_is_half_received(
    ctx: zmtrio.Context,
) -> None:
    """REQ reads its connection in place while it waits in ``recv``: a reply whose body is
    half in when that ``recv`` is cancelled is still delivered whole to the next one."""
    async with trio.open_nursery() as nursery:
        listener = (await nursery.start(trio.serve_tcp, _rep_peer, 0))[0]
        port = listener.socket.getsockname()[1]
        req = ctx.socket(zmtrio.REQ)
        await req.connect(f"tcp://127.0.0.1:{port}")
        await req.send(b"first")
        with trio.move_on_after(0.3) as scope:
            await req.recv_multipart()
        assert scope.cancelled_caught, "the reply cannot be complete yet"
        assert await req.recv_multipart() == [body(1 << 20, 5), b"end"]
        await req.send(b"second")
        assert await req.recv_multipart() == [b"second done"]
        nursery.cancel_scope.cancel()


async def _rep_peer(stream: trio.SocketStream) -> None:
    """A raw REP: the first reply's second half comes only after a pause (and after the
    requester's first ``recv`` was cancelled), the second reply at once."""
    await _raw.handshake(stream, b"REP")
    assert await _raw.read_message(stream) == [b"", b"first"]
    wire = _raw.message([b"", body(1 << 20, 5), b"end"])
    half = len(wire) // 2
    await stream.send_all(wire[:half])
    await trio.sleep(0.6)
    await stream.send_all(wire[half:])
    assert await _raw.read_message(stream) == [b"", b"second"]
    await stream.send_all(_raw.message([b"", b"second done"]))
    await trio.sleep_forever()


async def test_a_peer_that_announces_a_large_frame_and_leaves_costs_nothing(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """A raw peer announces the largest body received in place, sends a little of it and
    disconnects: the body's bytes (made at the header) are freed with the connection, and
    the socket goes on with its other peer."""
    pull = ctx.socket(zmtrio.PULL)
    async with _raw.event_log(pull) as log:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        good = ZmqPeer(zctx, zmq.PUSH)
        good.connect(endpoint)
        await good.send_multipart([b"good", b"1"])
        assert await pull.recv_multipart() == [b"good", b"1"]
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            mark = log.mark()
            host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
            stream = await trio.open_tcp_stream(host, int(port))
            accepted = await log.wait_kind(zmtrio.EventType.ACCEPTED, since=mark)
            await _raw.handshake(stream, b"PUSH")
            await stream.send_all(_raw.long_header(DIRECT_BODY_MAX) + b"a" * 300_000)
            with trio.fail_after(5):
                while tracemalloc.get_traced_memory()[0] - before < DIRECT_BODY_MAX:
                    await trio.sleep(0.01)
            await stream.aclose()
            await log.wait_for(
                lambda ev: ev.event == zmtrio.EventType.DISCONNECTED and ev.value == accepted.value,
                since=mark,
            )
            await good.send_multipart([b"good", b"2"])
            assert await pull.recv_multipart() == [b"good", b"2"]
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert held < 8 << 20, f"{held} bytes still held after the peer left"
        assert pull.statistics().peers == 1


async def test_a_body_above_the_in_place_range_is_received_as_it_arrives(
    ctx: zmtrio.Context,
) -> None:
    pull = ctx.socket(zmtrio.PULL)
    stream = await _raw_push(pull)
    message = [body(DIRECT_BODY_MAX + 1)]
    await stream.send_all(_raw.message(message))
    assert await pull.recv_multipart() == message
    await stream.aclose()


async def test_maxmsgsize_drops_the_peer_before_the_body_is_made(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    pull.maxmsgsize = 8 << 20
    async with _raw.event_log(pull) as log:
        mark = log.mark()
        stream = await _raw_push(pull)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await stream.send_all(_raw.long_header((8 << 20) + 1) + b"a" * 1000)
            await log.wait_kind(zmtrio.EventType.DISCONNECTED, since=mark)
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
        assert peak < 1 << 20, f"{peak} bytes allocated for a refused frame"
        await stream.aclose()


# ------------------------------------------------------------ gathered writes


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_request_reply_with_large_messages_both_ways(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], direction: str
) -> None:
    """REQ writes its request from the sending task (write-through) and reads the reply in
    place: both with large bodies, as zmtrio REQ and as zmtrio REP."""
    req = ctx.socket(zmtrio.REQ)
    rep = ZmqPeer(zctx, zmq.REP)
    await link(req, rep, "tcp", direction, "")
    for size in SIZES:
        request = large_multipart(size)
        await req.send_multipart(request)
        assert await rep.recv_multipart() == request
        await rep.send_multipart([body(size, 9), b"ok"])
        assert await req.recv_multipart() == [body(size, 9), b"ok"]
    ours = ctx.socket(zmtrio.REP)
    theirs = ZmqPeer(zctx, zmq.REQ)
    await link(ours, theirs, "tcp", direction, "")
    request = large_multipart(1 << 20)
    await theirs.send_multipart(request)
    assert await ours.recv_multipart() == request
    await ours.send_multipart(request[::-1])
    assert await theirs.recv_multipart() == request[::-1]


async def test_publisher_fans_out_large_messages(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """A message for several subscribers is framed once; large, that encoding goes out to
    each of them from where it lies."""
    pub = ctx.socket(zmtrio.PUB)
    endpoint = await pub.bind("tcp://127.0.0.1:*")
    subs = [ZmqPeer(zctx, zmq.SUB) for _ in range(3)]
    for sub in subs:
        sub.sock.subscribe(b"")
        sub.connect(endpoint)
    messages = [[b"topic", body(200_000, 1)], [body(40_000, 2)], [b"small"]]
    with trio.fail_after(10):
        while pub.statistics().peers < len(subs):
            await trio.sleep(0.01)
        # Subscriptions reach the publisher after the connections: probe until all see one.
        seen = [False] * len(subs)
        while not all(seen):
            await pub.send_multipart([b"probe"])
            for index, sub in enumerate(subs):
                if sub.sock.poll(10):
                    sub.sock.recv_multipart()
                    seen[index] = True
    for message in messages:
        await pub.send_multipart(message)
    for sub in subs:
        got = []
        while len(got) < len(messages):
            message = await sub.recv_multipart()
            if message != [b"probe"]:
                got.append(message)
        assert got == messages


async def test_gathered_writes_resume_where_the_kernel_stopped() -> None:
    """A reader slower than the writer: the kernel takes part of a buffer at a time, and
    each write resumes at the byte it stopped at."""
    left, right = socket.socketpair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    writer = SocketIO(left)
    reader = SocketIO(right)
    buffers: list[bytes | memoryview] = [b"head", body(300_001, 1), b"", b"mid", body(70_000, 2)]
    expected = b"".join(buffers)
    rest = writer.send_gathered_now(buffers)
    assert rest, "a 4 KiB send buffer cannot take it all at once"
    received = bytearray()

    async def read_slowly() -> None:
        while len(received) < len(expected):
            data, _ = await reader.receive_some(1000)
            received.extend(data)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_slowly)
        assert not await writer.send_gathered(rest), "it had to wait for the reader"
    assert received == expected
    writer.close()
    reader.close()
