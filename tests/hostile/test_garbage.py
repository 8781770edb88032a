"""Hostile raw-TCP peers against a bound zmtrio PULL that also serves a well-behaved pyzmq
PUSH. Each hostile connection must be dropped by zmtrio and reported on the monitor, while
the socket and its good peer carry on (API.md, "Errors")."""

from __future__ import annotations

import random
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zmtrio._limits import MEMORY_CEILING

from tests.conftest import ZmqPeer
from tests.hostile import _raw
from tests.hostile._raw import EventLog

EventType = zmtrio.EventType

#: How long zmtrio may take to drop a hostile connection or report it.
BOUND = 2.0


@dataclass
class Rig:
    """A zmtrio PULL bound on tcp, monitored, with a pyzmq PUSH connected to it."""

    pull: zmtrio.Socket
    host: str
    port: int
    log: EventLog
    push: ZmqPeer
    sent: int = 0
    raw: list[trio.SocketStream] = field(default_factory=list)

    async def good_round(self, count: int = 3) -> None:
        """The pyzmq PUSH sends ``count`` messages; all arrive, in order. Messages a hostile
        peer managed to get through are skipped."""
        expected = []
        for _ in range(count):
            message = [b"good", str(self.sent).encode(), b"x" * (self.sent % 300)]
            self.sent += 1
            await self.push.send_multipart(message)
            expected.append(message)
        received = []
        with trio.fail_after(5):
            while len(received) < count:
                message = await self.pull.recv_multipart()
                if message[0] == b"good":
                    received.append(message)
        assert received == expected

    async def open_raw(self) -> tuple[trio.SocketStream, int, int]:
        """A raw TCP connection to the PULL: ``(stream, log mark, zmtrio's fd for it)``."""
        mark = self.log.mark()
        stream = await trio.open_tcp_stream(self.host, self.port)
        self.raw.append(stream)
        accepted = await self.log.wait_kind(EventType.ACCEPTED, since=mark, timeout=BOUND)
        return stream, mark, accepted.value

    async def dropped(self, stream: trio.SocketStream) -> None:
        """zmtrio closes ``stream`` within the bound."""
        with trio.fail_after(BOUND):
            assert await _raw.is_closed_by_peer(stream)

    def only_good_peer_left(self) -> None:
        """The hostile peer is gone from the socket (checked after ``dropped``: zmtrio
        detaches a peer before it closes its stream)."""
        stats = self.pull.statistics()
        assert stats.peers == 1, stats

    async def reported(self, mark: int, fd: int) -> zmtrio.Event:
        """The monitor reports the hostile connection's end: a handshake failure or its
        DISCONNECTED."""
        return await self.log.wait_for(
            lambda ev: (
                ev.event
                in (
                    EventType.HANDSHAKE_FAILED_PROTOCOL,
                    EventType.HANDSHAKE_FAILED_NO_DETAIL,
                )
                or (ev.event == EventType.DISCONNECTED and ev.value == fd)
            ),
            since=mark,
            timeout=BOUND,
        )


@asynccontextmanager
async def rig(ctx: zmtrio.Context, zctx: zmq.Context[Any], **options: int) -> AsyncIterator[Rig]:
    async with ctx.socket(zmtrio.PULL) as pull, _raw.event_log(pull) as log:
        for name, value in options.items():
            setattr(pull, name, value)
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        push = ZmqPeer(zctx, zmq.PUSH)
        push.connect(endpoint)
        the_rig = Rig(pull, host, int(port), log, push)
        try:
            await the_rig.good_round()  # the good peer is up before any hostile one
            yield the_rig
            assert not pull.closed
        finally:
            push.close()
            for stream in the_rig.raw:
                await stream.aclose()


async def send_quietly(stream: trio.SocketStream, data: bytes) -> None:
    """Send, ignoring that zmtrio may already have dropped us (that's what we test)."""
    try:
        await stream.send_all(data)
    except trio.BrokenResourceError:
        pass


def _garbage(seed: int, size: int = 1000) -> bytes:
    data = bytearray(random.Random(seed).randbytes(size))
    if data[0] == 0xFF:  # never a valid signature start: that's another test
        data[0] = 0x00
    return bytes(data)


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/self/status"
)


def _rss_mib() -> float:
    """The process's resident memory now (not the peak), from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


# A valid 3.1 greeting with one thing wrong (or a protocol zmtrio refuses).
BAD_GREETINGS = {
    "garbage-1": _garbage(1),
    "garbage-2": _garbage(2),
    "garbage-3": _garbage(3, size=20),
    "http": b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "bad-signature": b"\x00" + _raw.greeting()[1:],
    "zmtp-1.0-bit0-clear": _raw.greeting(signature_end=0x7E),
    # ZMTP 2.0 (RFC 15): signature, revision 0x01, socket type PUSH (8), empty identity.
    "zmtp-2.0": b"\xff" + b"\x00" * 7 + b"\x01\x7f" + b"\x01\x08\x00\x00",
    "zmtp-3.1-major-2": _raw.greeting(major=2),
}


@pytest.mark.parametrize("payload", BAD_GREETINGS.values(), ids=BAD_GREETINGS.keys())
async def test_bad_greeting_is_dropped(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], payload: bytes
) -> None:
    async with rig(ctx, zctx) as r:
        stream, mark, fd = await r.open_raw()
        await send_quietly(stream, payload)
        await r.dropped(stream)
        await r.reported(mark, fd)
        assert EventType.HANDSHAKE_SUCCEEDED not in r.log.kinds(mark)
        await r.good_round()


async def test_zmtp_1_0_peer_is_dropped_after_ten_bytes(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """byte 9 with bit 0 clear is enough to tell (spec §1.2): zmtrio must not wait for the
    rest of a greeting a ZMTP 1.0 peer will never send."""
    async with rig(ctx, zctx) as r:
        stream, mark, fd = await r.open_raw()
        await send_quietly(stream, b"\xff" + b"\x00" * 8 + b"\x7e")
        await r.dropped(stream)
        await r.reported(mark, fd)
        await r.good_round()


async def test_mechanism_mismatch(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    async with rig(ctx, zctx) as r:
        stream, mark, _ = await r.open_raw()
        await send_quietly(stream, _raw.greeting(mechanism=b"PLAIN"))
        await r.dropped(stream)
        event = await r.log.wait_kind(
            EventType.HANDSHAKE_FAILED_PROTOCOL, since=mark, timeout=BOUND
        )
        assert event.value == _raw.MECHANISM_MISMATCH
        await r.good_round()


@pytest.mark.parametrize("socket_type", [b"PULL", b"PUB", b"PAIR", b"NONSENSE", b""])
async def test_incompatible_socket_type(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], socket_type: bytes
) -> None:
    """A PULL takes only PUSH peers (spec §3.6)."""
    async with rig(ctx, zctx) as r:
        stream, mark, _ = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + _raw.ready(socket_type))
        await r.dropped(stream)
        event = await r.log.wait_kind(
            EventType.HANDSHAKE_FAILED_PROTOCOL, since=mark, timeout=BOUND
        )
        assert event.value == _raw.INVALID_METADATA
        assert EventType.HANDSHAKE_SUCCEEDED not in r.log.kinds(mark)
        await r.good_round()


HANDSHAKE_VIOLATIONS = {
    "data-before-ready": _raw.frame(b"hello"),
    "ping-before-ready": _raw.ping(),
    "empty-command": _raw.frame(b"", command=True),
    "command-name-overruns": _raw.frame(b"\x09READY", command=True),
    "ready-truncated-property": _raw.command(b"READY", b"\x0bSocket-Type\x00\x00\x00\x09PUSH"),
    "error-reason-overruns": _raw.command(b"ERROR", b"\x09abc"),
    "ready-trailing-byte": _raw.ready(b"PUSH")[:1]
    + bytes([_raw.ready(b"PUSH")[1] + 1])
    + _raw.ready(b"PUSH")[2:]
    + b"\x00",
}


@pytest.mark.parametrize("payload", HANDSHAKE_VIOLATIONS.values(), ids=HANDSHAKE_VIOLATIONS.keys())
async def test_bad_handshake_command(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], payload: bytes
) -> None:
    async with rig(ctx, zctx) as r:
        stream, mark, fd = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + payload)
        await r.dropped(stream)
        await r.reported(mark, fd)
        assert EventType.HANDSHAKE_SUCCEEDED not in r.log.kinds(mark)
        await r.good_round()


async def test_frame_above_maxmsgsize(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    async with rig(ctx, zctx, maxmsgsize=1000) as r:
        stream, mark, fd = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + _raw.ready(b"PUSH"))
        await r.log.wait_kind(EventType.HANDSHAKE_SUCCEEDED, since=mark, timeout=BOUND)
        # A frame of exactly MAXMSGSIZE bytes still passes (libzmq: only size > max fails).
        await send_quietly(stream, _raw.message([b"raw", b"y" * 1000]))
        with trio.fail_after(BOUND):
            assert await r.pull.recv_multipart() == [b"raw", b"y" * 1000]
        await send_quietly(stream, _raw.frame(b"z" * 5000))
        await r.dropped(stream)
        r.only_good_peer_left()
        await r.log.wait_for(
            lambda ev: ev.event == EventType.DISCONNECTED and ev.value == fd,
            since=mark,
            timeout=BOUND,
        )
        await r.good_round()


@linux_only
async def test_huge_frame_header_then_stall(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    """A peer announcing a frame as large as the machine's memory (the largest it could ever
    hold) and then trickling: nothing is allocated up front, and the socket and its other
    peer go on as if nothing happened."""
    async with rig(ctx, zctx) as r:
        before = _rss_mib()
        stream, mark, _ = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + _raw.ready(b"PUSH"))
        await r.log.wait_kind(EventType.HANDSHAKE_SUCCEEDED, since=mark, timeout=BOUND)
        await send_quietly(stream, _raw.long_header(MEMORY_CEILING) + b"a" * 100_000)
        await r.good_round()
        await send_quietly(stream, b"b" * 3_000_000)
        await r.good_round()
        grown = _rss_mib() - before
        assert grown < 100, f"resident memory grew by {grown:.0f} MiB"
        await stream.aclose()
        await r.good_round()


async def test_huge_frame_header_above_maxmsgsize(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    async with rig(ctx, zctx, maxmsgsize=1000) as r:
        stream, mark, fd = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + _raw.ready(b"PUSH"))
        await r.log.wait_kind(EventType.HANDSHAKE_SUCCEEDED, since=mark, timeout=BOUND)
        await send_quietly(stream, _raw.long_header(2**62))
        await r.dropped(stream)
        r.only_good_peer_left()
        await r.log.wait_for(
            lambda ev: ev.event == EventType.DISCONNECTED and ev.value == fd,
            since=mark,
            timeout=BOUND,
        )
        await r.good_round()


@pytest.mark.parametrize("size", [MEMORY_CEILING + 1, 2**63 - 1, 2**63, 2**64 - 1])
async def test_frame_size_that_could_never_be_held(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], size: int
) -> None:
    """RFC 37: a long frame's size fits 63 bits; more is garbage, whatever MAXMSGSIZE. With
    MAXMSGSIZE unset, a size beyond the machine's memory could never be held either: the
    peer is dropped at once, as libzmq drops it when the allocation fails, instead of being
    waited on forever."""
    async with rig(ctx, zctx) as r:
        stream, mark, fd = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + _raw.ready(b"PUSH"))
        await r.log.wait_kind(EventType.HANDSHAKE_SUCCEEDED, since=mark, timeout=BOUND)
        await send_quietly(stream, _raw.long_header(size))
        await r.dropped(stream)
        r.only_good_peer_left()
        await r.log.wait_for(
            lambda ev: ev.event == EventType.DISCONNECTED and ev.value == fd,
            since=mark,
            timeout=BOUND,
        )
        await r.good_round()


@pytest.mark.parametrize(
    "payload",
    [b"", _raw.greeting()[:20], _raw.greeting(), _raw.greeting() + _raw.ready(b"PUSH")[:5]],
    ids=["silent", "half-greeting", "greeting-only", "partial-ready"],
)
async def test_stalled_handshake_times_out(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], payload: bytes
) -> None:
    async with rig(ctx, zctx, handshake_ivl=200) as r:
        stream, mark, fd = await r.open_raw()
        await send_quietly(stream, payload)
        await r.good_round()  # the stalled peer blocks nobody meanwhile
        await r.dropped(stream)
        await r.log.wait_kind(EventType.HANDSHAKE_FAILED_NO_DETAIL, since=mark, timeout=BOUND)
        await r.log.wait_for(
            lambda ev: ev.event == EventType.DISCONNECTED and ev.value == fd,
            since=mark,
            timeout=BOUND,
        )
        await r.good_round()


async def test_many_hostile_peers_at_once(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    """Every kind of bad greeting on its own connection, all open together."""
    async with rig(ctx, zctx) as r:
        streams = []
        for payload in BAD_GREETINGS.values():
            stream, _, _ = await r.open_raw()
            streams.append((stream, payload))
        for stream, payload in streams:
            await send_quietly(stream, payload)
        for stream, _ in streams:
            await r.dropped(stream)
        await r.good_round()


async def test_peer_error_command_after_handshake_is_ignored(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """After the handshake libzmq acts on PING, PONG, SUBSCRIBE and CANCEL only and drops
    every other command, ERROR included (zmtp_engine.cpp): the connection carries on."""
    async with rig(ctx, zctx) as r:
        stream, mark, _ = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + _raw.ready(b"PUSH"))
        await r.log.wait_kind(EventType.HANDSHAKE_SUCCEEDED, since=mark, timeout=BOUND)
        await send_quietly(stream, _raw.message([b"before"]) + _raw.error(b"bye"))
        await send_quietly(stream, _raw.message([b"after"]))
        with trio.fail_after(BOUND):
            assert await r.pull.recv_multipart() == [b"before"]
            assert await r.pull.recv_multipart() == [b"after"]
        await r.good_round()


# ------------------------------------------------------------ messages before a fault


FATAL_TAILS = {
    "oversized-frame": _raw.frame(b"z" * 5000),
    "size-beyond-63-bits": _raw.long_header(2**63),
    "malformed-command": _raw.frame(b"", command=True),
}


@pytest.mark.parametrize("tail", FATAL_TAILS.values(), ids=FATAL_TAILS.keys())
async def test_messages_before_a_fault_in_the_same_read_are_delivered(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], tail: bytes
) -> None:
    """_core.pyi: "messages decoded before the fault stay in inbound"; FairQueue: "a peer
    that sent and hung up loses nothing"; libzmq delivers them too."""
    async with rig(ctx, zctx, maxmsgsize=1000) as r:
        stream, mark, _ = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + _raw.ready(b"PUSH"))
        await r.log.wait_kind(EventType.HANDSHAKE_SUCCEEDED, since=mark, timeout=BOUND)
        # One send: the message and the fault reach zmtrio in one read.
        await send_quietly(stream, _raw.message([b"last", b"words"]) + tail)
        await r.dropped(stream)
        with trio.fail_after(0.5):  # delivered by now if at all
            assert await r.pull.recv_multipart() == [b"last", b"words"]


# ------------------------------------------------------------ monitor parity with libzmq


async def test_handshake_protocol_failure_is_followed_by_disconnected(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    # libzmq 4.3.5, same input: ACCEPTED, HANDSHAKE_FAILED_PROTOCOL 0x11000002, DISCONNECTED.
    async with rig(ctx, zctx) as r:
        stream, mark, fd = await r.open_raw()
        await send_quietly(stream, _raw.greeting(mechanism=b"PLAIN"))
        await r.dropped(stream)
        await r.log.wait_kind(EventType.HANDSHAKE_FAILED_PROTOCOL, since=mark, timeout=BOUND)
        await r.log.wait_for(
            lambda ev: ev.event == EventType.DISCONNECTED and ev.value == fd,
            since=mark,
            timeout=0.5,
        )


async def test_peer_closing_mid_handshake_reports_handshake_failure(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    # libzmq 4.3.5, same input: ACCEPTED, HANDSHAKE_FAILED_NO_DETAIL 104, DISCONNECTED.
    async with rig(ctx, zctx) as r:
        stream, mark, fd = await r.open_raw()
        await send_quietly(stream, _raw.greeting())
        await stream.aclose()
        await r.log.wait_for(
            lambda ev: ev.event == EventType.DISCONNECTED and ev.value == fd,
            since=mark,
            timeout=BOUND,
        )
        assert EventType.HANDSHAKE_FAILED_NO_DETAIL in r.log.kinds(mark)


# ------------------------------------------------------------ fuzz after the handshake


@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(garbage=st.lists(st.binary(min_size=1, max_size=512), min_size=1, max_size=4))
async def test_random_bytes_after_handshake(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], garbage: list[bytes]
) -> None:
    """Whatever follows a valid greeting and READY, the socket survives and its good peer
    keeps working; then the hostile peer hangs up and the socket still works."""
    async with rig(ctx, zctx) as r:
        stream, mark, _ = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + _raw.ready(b"PUSH"))
        await r.log.wait_kind(EventType.HANDSHAKE_SUCCEEDED, since=mark, timeout=BOUND)
        for chunk in garbage:
            await send_quietly(stream, chunk)
        await r.good_round()
        await stream.aclose()
        await r.good_round()


# ------------------------------------------------------------ resource bounds


@linux_only
async def test_ping_flood_from_a_peer_that_never_reads(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    async with rig(ctx, zctx) as r:
        stream, mark, _ = await r.open_raw()
        await send_quietly(stream, _raw.greeting() + _raw.ready(b"PUSH"))
        await r.log.wait_kind(EventType.HANDSHAKE_SUCCEEDED, since=mark, timeout=BOUND)
        # Push any earlier garbage out of the way, then measure.
        await r.good_round()
        before = _rss_mib()
        flood = _raw.ping(0, b"c" * 16) * 40_000  # 1 MB
        with trio.fail_after(10):
            for _ in range(32):
                await stream.send_all(flood)
            # A data frame after the flood: once it is delivered, zmtrio has read it all.
            await stream.send_all(_raw.message([b"after-flood"]))
            while await r.pull.recv_multipart() != [b"after-flood"]:
                pass
        grown = _rss_mib() - before
        assert grown < 12, f"resident memory grew by {grown:.0f} MiB for 32 MB of PINGs"
        await r.good_round()
