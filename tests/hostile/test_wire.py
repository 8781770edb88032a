"""Byte-exact wire checks: zmtrio talks to a raw TCP peer, and what it writes is compared
with the spec's captured bytes and, live, with what libzmq (pyzmq) writes in its place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import zmq
import zmtrio

from tests.conftest import ZmqPeer
from tests.hostile import _raw

EventType = zmtrio.EventType

#: How long zmtrio may take for anything a test waits for.
BOUND = 2.0

#: libzmq 4.3.5's NULL greeting, no routing id (spec §1.1).
LIBZMQ_GREETING = (
    bytes.fromhex("ff 00 00 00 00 00 00 00 01 7f 03 01")
    + b"NULL"
    + b"\x00" * 16
    + b"\x00"  # as-server: libzmq always sends 0
    + b"\x00" * 31
)

#: READY of a PUSH: 26-byte body (6 + 12 + 4 + 4), short command frame.
PUSH_READY = bytes.fromhex("04 1a") + b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH"


class RawServer:
    """A plain TCP listener a socket connects to; the test plays the ZMTP peer."""

    def __init__(self, listener: trio.SocketListener) -> None:
        self.listener = listener
        port = listener.socket.getsockname()[1]
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.streams: list[trio.SocketStream] = []

    async def accept(self, timeout: float = BOUND) -> trio.SocketStream:
        with trio.fail_after(timeout):
            stream = await self.listener.accept()
        self.streams.append(stream)
        return stream


@asynccontextmanager
async def raw_server() -> AsyncIterator[RawServer]:
    (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    server = RawServer(listener)
    try:
        yield server
    finally:
        for stream in server.streams:
            await stream.aclose()
        await listener.aclose()


Connector = Callable[[str], Awaitable[None]]


async def handshaken(
    server: RawServer, socket_type: bytes, *, minor: int = 1
) -> tuple[trio.SocketStream, bytes, dict[str, bytes]]:
    """Accept the next connection and complete a NULL handshake on it."""
    stream = await server.accept()
    with trio.fail_after(BOUND):
        their_greeting, props = await _raw.handshake(stream, socket_type, minor=minor)
    return stream, their_greeting, props


async def libzmq_bytes(
    zctx: zmq.Context[Any],
    socket_type: int,
    peer_type: bytes,
    then: Callable[[ZmqPeer, trio.SocketStream], Awaitable[bytes]],
) -> bytes:
    """What a pyzmq socket of ``socket_type`` writes, read by ``then`` after a handshake
    with a raw ``peer_type`` peer."""
    theirs = ZmqPeer(zctx, socket_type)
    try:
        async with raw_server() as server:
            theirs.connect(server.endpoint)
            stream, _, _ = await handshaken(server, peer_type)
            with trio.fail_after(BOUND):
                return await then(theirs, stream)
    finally:
        theirs.close()


# ---------------------------------------------------------------------------- greeting


async def test_connect_greeting_is_libzmqs(ctx: zmtrio.Context) -> None:
    """zmtrio writes its whole greeting at once, without waiting for ours (spec §1.2)."""
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        await push.connect(server.endpoint)
        stream = await server.accept()
        with trio.fail_after(BOUND):
            assert await _raw.read_exactly(stream, 64) == LIBZMQ_GREETING


async def test_bind_greeting_is_libzmqs(ctx: zmtrio.Context) -> None:
    async with ctx.socket(zmtrio.PULL) as pull:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        with trio.fail_after(BOUND):
            stream = await trio.open_tcp_stream(host, int(port))
            async with stream:
                greeting = await _raw.read_exactly(stream, 64)
    # RFC 37 wants as-server 1 on a server, libzmq always sends 0 and never reads it
    # (spec §1.1); NULL has no server role, so libzmq's bytes are exact here.
    assert greeting == LIBZMQ_GREETING


async def test_greeting_padding_carries_routing_id_length(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """libzmq puts u64be(routing_id_len + 1) in the padding (spec §1.1)."""
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        push.routing_id = b"srv"
        await push.connect(server.endpoint)
        stream = await server.accept()
        with trio.fail_after(BOUND):
            ours = await _raw.read_exactly(stream, 64)
    assert ours[1:9] == bytes.fromhex("00 00 00 00 00 00 00 04")
    assert ours[9:] == LIBZMQ_GREETING[9:]

    theirs = ZmqPeer(zctx, zmq.PUSH)
    theirs.sock.routing_id = b"srv"
    try:
        async with raw_server() as server:
            theirs.connect(server.endpoint)
            stream = await server.accept()
            await stream.send_all(_raw.greeting())
            with trio.fail_after(BOUND):
                assert await _raw.read_exactly(stream, 64) == ours
    finally:
        theirs.close()


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(zmtrio.PUSH, zmq.PUSH), (zmtrio.PULL, zmq.PULL), (zmtrio.PAIR, zmq.PAIR)],
    ids=["PUSH", "PULL", "PAIR"],
)
async def test_greeting_and_ready_match_live_libzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ours: int, theirs: int
) -> None:
    async def capture(connect: Connector) -> bytes:
        async with raw_server() as server:
            await connect(server.endpoint)
            stream = await server.accept()
            with trio.fail_after(BOUND):
                await stream.send_all(_raw.greeting())  # and no READY: none is awaited
                greeting = await _raw.read_exactly(stream, 64)
                flags, body = await _raw.read_frame(stream)
            return greeting + bytes([flags, len(body)]) + body

    async with ctx.socket(ours) as sock:
        zmtrio_bytes = await capture(sock.connect)
    zsock = ZmqPeer(zctx, theirs)
    try:

        async def zconnect(endpoint: str) -> None:
            zsock.connect(endpoint)

        libzmq = await capture(zconnect)
    finally:
        zsock.close()
    assert zmtrio_bytes == libzmq


async def test_push_ready_bytes(ctx: zmtrio.Context) -> None:
    """READY carries only Socket-Type for PUSH (no Identity), sent as soon as our greeting
    is in, without waiting for our READY (spec §3.2, §4.1)."""
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        await push.connect(server.endpoint)
        stream = await server.accept()
        with trio.fail_after(BOUND):
            await stream.send_all(_raw.greeting())
            await _raw.read_exactly(stream, 64)
            assert await _raw.read_exactly(stream, len(PUSH_READY)) == PUSH_READY


# ---------------------------------------------------------------------------- frames


FRAME_CASES = {
    "two-frames": ([b"hi", b""], bytes.fromhex("01 02 68 69 00 00")),
    "empty": ([b""], bytes.fromhex("00 00")),
    "255-short": ([b"s" * 255], bytes.fromhex("00 ff") + b"s" * 255),
    "256-long": ([b"l" * 256], bytes.fromhex("02 00 00 00 00 00 00 01 00") + b"l" * 256),
    "300-long": ([b"x" * 300], bytes.fromhex("02 00 00 00 00 00 00 01 2c") + b"x" * 300),
    "long-then-short-more": (
        [b"y" * 300, b"z"],
        bytes.fromhex("03 00 00 00 00 00 00 01 2c") + b"y" * 300 + bytes.fromhex("00 01 7a"),
    ),
}


@pytest.mark.parametrize(("message", "wire"), FRAME_CASES.values(), ids=FRAME_CASES.keys())
async def test_message_frames(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], message: list[bytes], wire: bytes
) -> None:
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        await push.connect(server.endpoint)
        stream, _, _ = await handshaken(server, b"PULL")
        await push.send_multipart(message)
        with trio.fail_after(BOUND):
            assert await _raw.read_exactly(stream, len(wire)) == wire

    async def send_and_read(theirs: ZmqPeer, stream: trio.SocketStream) -> bytes:
        await theirs.send_multipart(message)
        return await _raw.read_exactly(stream, len(wire))

    assert await libzmq_bytes(zctx, zmq.PUSH, b"PULL", send_and_read) == wire


LENIENT_INPUT = {
    # libzmq's decoder is lenient (spec §2); zmtrio should be too.
    "long-form-small-frame": (_raw.frame(b"hello", long=True), [[b"hello"]]),
    "reserved-flag-bits": (b"\xf8\x03abc", [[b"abc"]]),
    "more-on-a-command": (b"\x05\x06\x04PONG\x00" + _raw.frame(b"ok"), [[b"ok"]]),
    "commands-between-frames": (
        _raw.frame(b"a", more=True) + _raw.pong(b"x") + _raw.command(b"HUH") + _raw.frame(b"b"),
        [[b"a", b"b"]],
    ),
    "ready-after-handshake-ignored": (_raw.ready(b"PUSH") + _raw.frame(b"c"), [[b"c"]]),
    "unknown-command-ignored": (_raw.command(b"FOO", b"bar") + _raw.frame(b"d"), [[b"d"]]),
    "empty-frames": (_raw.message([b"", b"", b""]), [[b"", b"", b""]]),
}


@pytest.mark.parametrize(("wire", "expected"), LENIENT_INPUT.values(), ids=LENIENT_INPUT.keys())
async def test_lenient_decoding(
    ctx: zmtrio.Context, wire: bytes, expected: list[list[bytes]]
) -> None:
    async with (
        raw_server() as server,
        ctx.socket(zmtrio.PULL) as pull,
        _raw.event_log(pull) as log,
    ):
        await pull.connect(server.endpoint)
        stream, _, _ = await handshaken(server, b"PUSH")
        await log.wait_kind(EventType.HANDSHAKE_SUCCEEDED, timeout=BOUND)  # see test_early_*
        await stream.send_all(wire + _raw.frame(b"end"))
        received = []
        with trio.fail_after(BOUND):
            while (message := await pull.recv_multipart()) != [b"end"]:
                received.append(message)
        assert received == expected


# ---------------------------------------------------------------------------- versions


@pytest.mark.parametrize(("major", "minor"), [(3, 0), (3, 1), (3, 7), (4, 0)])
async def test_peer_versions_exchange_both_ways(
    ctx: zmtrio.Context, major: int, minor: int
) -> None:
    """A ZMTP 3.0 peer is spoken to in 3.0; newer ones as 3.1 (spec §1.2, §1.3)."""
    async with (
        raw_server() as server,
        ctx.socket(zmtrio.PAIR) as pair,
        _raw.event_log(pair) as log,
    ):
        await pair.connect(server.endpoint)
        stream = await server.accept()
        with trio.fail_after(BOUND):
            await stream.send_all(_raw.greeting(major, minor) + _raw.ready(b"PAIR"))
            their_greeting = await _raw.read_exactly(stream, 64)
            assert their_greeting == LIBZMQ_GREETING  # zmtrio announces 3.1 regardless
            _, body = await _raw.read_frame(stream)
            assert _raw.parse_command(body)[0] == b"READY"
            await log.wait_kind(EventType.HANDSHAKE_SUCCEEDED)  # see test_early_*

            await pair.send_multipart([b"to", b"raw"])
            assert await _raw.read_exactly(stream, 9) == bytes.fromhex("01 02 74 6f 00 03 72 61 77")

            await stream.send_all(_raw.message([b"to", b"zmtrio"]))
            assert await pair.recv_multipart() == [b"to", b"zmtrio"]


async def test_insignificant_greeting_fields_are_ignored(ctx: zmtrio.Context) -> None:
    """Padding, as-server and filler carry nothing zmtrio may rely on (spec §1.1)."""
    odd = bytearray(_raw.greeting(padding=bytes(range(0x10, 0x18)), as_server=True))
    odd[33:] = b"\xee" * 31
    async with (
        raw_server() as server,
        ctx.socket(zmtrio.PULL) as pull,
        _raw.event_log(pull) as log,
    ):
        await pull.connect(server.endpoint)
        stream = await server.accept()
        with trio.fail_after(BOUND):
            await stream.send_all(bytes(odd) + _raw.ready(b"PUSH"))
            await log.wait_kind(EventType.HANDSHAKE_SUCCEEDED)  # see test_early_*
            await stream.send_all(_raw.frame(b"ok"))
            assert await pull.recv_multipart() == [b"ok"]


async def test_trickled_handshake(ctx: zmtrio.Context) -> None:
    """Greeting, READY and a message one byte per write, as a slow link might deliver them,
    then libzmq's own staging (10 + 1 + 53 greeting bytes, spec §1.2)."""
    handshake = _raw.greeting() + _raw.ready(b"PUSH")
    message = _raw.message([b"a", b"b" * 300])
    staged = [handshake[:10], handshake[10:11], handshake[11:64], handshake[64:]]
    for chunks in ([handshake[i : i + 1] for i in range(len(handshake))], staged):
        async with (
            raw_server() as server,
            ctx.socket(zmtrio.PULL) as pull,
            _raw.event_log(pull) as log,
        ):
            await pull.connect(server.endpoint)
            stream = await server.accept()
            with trio.fail_after(BOUND):
                for chunk in chunks:
                    await stream.send_all(chunk)
                    await trio.sleep(0)
                await log.wait_kind(EventType.HANDSHAKE_SUCCEEDED)  # see test_early_*
                for i in range(len(message)):
                    await stream.send_all(message[i : i + 1])
                    await trio.sleep(0)
                assert await pull.recv_multipart() == [b"a", b"b" * 300]


async def test_early_messages_bind_side(ctx: zmtrio.Context) -> None:
    """Messages in the same read as the peer's READY (libzmq may send them so): delivered."""
    async with ctx.socket(zmtrio.PULL) as pull:
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            wire = _raw.greeting() + _raw.ready(b"PUSH") + _raw.frame(b"early")
            await stream.send_all(wire)
            with trio.fail_after(BOUND):
                assert await pull.recv_multipart() == [b"early"]
            await stream.send_all(_raw.frame(b"later"))
            with trio.fail_after(BOUND):
                assert await pull.recv_multipart() == [b"later"]


@pytest.mark.parametrize("socket_type", [zmtrio.PULL, zmtrio.PAIR], ids=["PULL", "PAIR"])
async def test_early_messages_connect_side(ctx: zmtrio.Context, socket_type: int) -> None:
    peer_type = b"PUSH" if socket_type == zmtrio.PULL else b"PAIR"
    async with raw_server() as server, ctx.socket(socket_type) as sock:
        await sock.connect(server.endpoint)
        stream = await server.accept()
        await stream.send_all(_raw.greeting() + _raw.ready(peer_type) + _raw.frame(b"early"))
        with trio.fail_after(1):
            assert await sock.recv_multipart() == [b"early"]
        await stream.send_all(_raw.frame(b"later"))
        with trio.fail_after(1):
            assert await sock.recv_multipart() == [b"later"]


# ---------------------------------------------------------------------------- heartbeats


@pytest.mark.parametrize(
    "context",
    [b"ctx", b"", b"0123456789abcdef", b"0123456789abcdefXYZ"],
    ids=["ctx", "empty", "16", "19-cut"],
)
async def test_ping_gets_pong(ctx: zmtrio.Context, zctx: zmq.Context[Any], context: bytes) -> None:
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        await push.connect(server.endpoint)
        stream, _, _ = await handshaken(server, b"PULL")
        await stream.send_all(_raw.ping(0, context))
        with trio.fail_after(BOUND):
            flags, body = await _raw.read_frame(stream)
    pong = bytes([flags, len(body)]) + body
    echoed = context[:16]
    assert pong == bytes([0x04, 5 + len(echoed)]) + b"\x04PONG" + echoed
    if context == b"ctx":
        assert pong == bytes.fromhex("04 08 04 50 4f 4e 47 63 74 78")

    async def ping_and_read(theirs: ZmqPeer, stream: trio.SocketStream) -> bytes:
        await stream.send_all(_raw.ping(0, context))
        flags, body = await _raw.read_frame(stream)
        return bytes([flags, len(body)]) + body

    assert await libzmq_bytes(zctx, zmq.PUSH, b"PULL", ping_and_read) == pong


@pytest.mark.parametrize(
    ("ttl_ms", "ttl_bytes"), [(0, b"\x00\x00"), (99, b"\x00\x00"), (1500, b"\x00\x0f")]
)
async def test_silent_peer_is_pinged_then_dropped(
    ctx: zmtrio.Context, ttl_ms: int, ttl_bytes: bytes
) -> None:
    """HEARTBEAT_IVL 50 ms, TIMEOUT 200 ms against a peer that completes the handshake and
    then says nothing (TCP kept open): PINGs, then zmtrio hangs up, then reconnects (a
    heartbeat timeout is an ordinary disconnect, spec §11)."""
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        push.heartbeat_ivl = 50
        push.heartbeat_timeout = 200
        push.heartbeat_ttl = ttl_ms
        push.reconnect_ivl = 50
        async with _raw.event_log(push) as log:
            await push.connect(server.endpoint)
            stream, _, _ = await handshaken(server, b"PULL")
            pings = 0
            with trio.fail_after(BOUND):
                while True:
                    try:
                        flags, body = await _raw.read_frame(stream)
                    except (EOFError, trio.BrokenResourceError):
                        break
                    assert flags == 0x04
                    # libzmq's PING: no context (captured `04 07 04 PING 00 0f`, spec §3.4).
                    assert body == b"\x04PING" + ttl_bytes
                    pings += 1
            assert pings >= 1
            await log.wait_kind(EventType.DISCONNECTED, timeout=BOUND)
            await server.accept()  # the reconnect


async def test_answering_peer_is_kept(ctx: zmtrio.Context) -> None:
    """The same heartbeat settings against a peer that answers every PING: the connection
    outlives many timeouts and still carries messages."""
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        push.heartbeat_ivl = 50
        push.heartbeat_timeout = 200
        async with _raw.event_log(push) as log:
            await push.connect(server.endpoint)
            stream, _, _ = await handshaken(server, b"PULL")
            pings = 0
            with trio.move_on_after(0.8):
                while True:
                    flags, body = await _raw.read_frame(stream)
                    assert flags == 0x04 and body.startswith(b"\x04PING")
                    pings += 1
                    await stream.send_all(_raw.pong())
            assert pings >= 2
            assert EventType.DISCONNECTED not in log.kinds()
            await push.send(b"still here")
            with trio.fail_after(BOUND):
                assert await _raw.read_message(stream) == [b"still here"]


async def test_peer_ttl_is_honoured(ctx: zmtrio.Context) -> None:
    """A PING with TTL 2 (0.2 s) from a peer that then falls silent: zmtrio, with no
    heartbeat options of its own, drops the connection when the TTL runs out (spec §11)."""
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        await push.connect(server.endpoint)
        stream, _, _ = await handshaken(server, b"PULL")
        await stream.send_all(_raw.ping(ttl=2))
        with trio.fail_after(BOUND):
            _, body = await _raw.read_frame(stream)
            assert body == b"\x04PONG"
            assert await _raw.is_closed_by_peer(stream)


# ---------------------------------------------------------------------------- reconnects


HANDSHAKE_REFUSALS = {
    "error-command": _raw.greeting() + _raw.error(b"go away"),
    "error-400": _raw.greeting() + _raw.error(b"400"),
    "mechanism-mismatch": _raw.greeting(mechanism=b"PLAIN"),
    "incompatible-socket-type": _raw.greeting() + _raw.ready(b"PUSH"),
}


@pytest.mark.parametrize("refusal", HANDSHAKE_REFUSALS.values(), ids=HANDSHAKE_REFUSALS.keys())
async def test_handshake_refusal_is_not_retried(ctx: zmtrio.Context, refusal: bytes) -> None:
    """libzmq's connecting side treats a handshake ERROR or protocol error as permanent:
    no reconnect (spec §3.3)."""
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        push.reconnect_ivl = 20
        async with _raw.event_log(push) as log:
            await push.connect(server.endpoint)
            stream = await server.accept()
            await stream.send_all(refusal)
            with trio.fail_after(BOUND):
                assert await _raw.is_closed_by_peer(stream)
            if refusal.endswith(b"400"):
                event = await log.wait_kind(EventType.HANDSHAKE_FAILED_AUTH, timeout=BOUND)
                assert event.value == 400
            with trio.move_on_after(0.3):
                await server.listener.accept()
                pytest.fail("zmtrio reconnected after a handshake refusal")
            assert log.kinds().count(EventType.CONNECTED) == 1
            assert EventType.CONNECT_RETRIED not in log.kinds()


async def test_plain_disconnect_is_retried(ctx: zmtrio.Context) -> None:
    """The control for the test above: a peer that hangs up after a good handshake is
    reconnected to, and messages queued meanwhile arrive."""
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        push.reconnect_ivl = 20
        async with _raw.event_log(push) as log:
            await push.connect(server.endpoint)
            first, _, _ = await handshaken(server, b"PULL")
            await first.aclose()
            await log.wait_kind(EventType.DISCONNECTED, timeout=BOUND)
            second, _, _ = await handshaken(server, b"PULL")
            await push.send(b"after")
            with trio.fail_after(BOUND):
                assert await _raw.read_message(second) == [b"after"]
            assert log.kinds().count(EventType.CONNECTED) == 2


async def test_handshake_timeout_is_retried(ctx: zmtrio.Context) -> None:
    """A server that accepts and never answers: HANDSHAKE_IVL drops it, and, as a timeout
    is not a protocol error, zmtrio connects again (libzmq: timeout_error reconnects)."""
    async with raw_server() as server, ctx.socket(zmtrio.PUSH) as push:
        push.handshake_ivl = 100
        push.reconnect_ivl = 20
        async with _raw.event_log(push) as log:
            await push.connect(server.endpoint)
            silent = await server.accept()
            with trio.fail_after(BOUND):
                assert await _raw.is_closed_by_peer(silent)
            await log.wait_kind(EventType.HANDSHAKE_FAILED_NO_DETAIL, timeout=BOUND)
            stream, _, _ = await handshaken(server, b"PULL")
            await push.send(b"second time lucky")
            with trio.fail_after(BOUND):
                assert await _raw.read_message(stream) == [b"second time lucky"]
