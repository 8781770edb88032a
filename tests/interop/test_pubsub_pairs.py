"""PUB/XPUB -> SUB/XSUB against pyzmq (libzmq): every pair, zmtrio in either role, both
bind/connect directions, over tcp and ipc; and zmtrio with itself over inproc.

One scenario runs for every combination: the subscriber subscribes to two topics, the
publisher sends matching, non-matching and multi-frame messages, the subscriber cancels one
topic, an XSUB sends a message upstream, and the subscriber leaves. An XPUB's application
must see exactly the notifications libzmq's XPUB delivers; the subscriber exactly the
messages that match.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import zmq
import zmtrio

from tests.conftest import ZmqPeer, endpoint_for

TRANSPORTS = ["tcp", "ipc"]
DIRECTIONS = ["publisher-binds", "subscriber-binds"]
PAIRS = [
    (zmtrio.PUB, zmtrio.SUB),
    (zmtrio.PUB, zmtrio.XSUB),
    (zmtrio.XPUB, zmtrio.SUB),
    (zmtrio.XPUB, zmtrio.XSUB),
]
PAIR_IDS = ["PUB-SUB", "PUB-XSUB", "XPUB-SUB", "XPUB-XSUB"]

#: What the publisher sends once subscribed to b"A" and b"B", and what arrives.
PUBLISHED = [
    [b"A1"],
    [b"C1"],
    [b"B", b"multi", b""],
    [b"", b"no topic"],
    [b"AB", b"x"],
    [b"zA"],
    [b"a lower-case a"],
]
MATCHING = [[b"A1"], [b"B", b"multi", b""], [b"AB", b"x"]]

#: A wait that should end at once; bounded so a lost message fails instead of hanging.
STEP = 5.0


class End:
    """One socket of the pair, zmtrio or pyzmq, behind the same small async interface."""

    def __init__(self, sock: zmtrio.Socket | ZmqPeer, socket_type: int) -> None:
        self.sock = sock
        self.type = socket_type

    async def send(self, frames: list[bytes]) -> None:
        await self.sock.send_multipart(frames)

    async def recv(self) -> list[bytes]:
        with trio.fail_after(STEP):
            return await self.sock.recv_multipart()

    async def poll_recv(self, seconds: float) -> list[bytes] | None:
        """A message if one arrives within ``seconds``, else None."""
        if isinstance(self.sock, ZmqPeer):
            raw = self.sock.sock

            def poll() -> list[bytes] | None:
                return raw.recv_multipart() if raw.poll(int(seconds * 1000)) else None

            return await trio.to_thread.run_sync(poll)
        with trio.move_on_after(seconds):
            return await self.sock.recv_multipart()
        return None

    def kick(self) -> None:
        """libzmq attaches a new connection's pipe (and sends the subscriptions waiting for
        it) only when the application next calls into the socket: do so."""
        if isinstance(self.sock, ZmqPeer):
            self.sock.sock.getsockopt(zmq.EVENTS)

    async def subscribe(self, topic: bytes, on: bool = True) -> None:
        if self.type == zmtrio.XSUB:
            await self.send([(b"\x01" if on else b"\x00") + topic])
        elif isinstance(self.sock, ZmqPeer):
            (self.sock.sock.subscribe if on else self.sock.sock.unsubscribe)(topic)
        else:
            (self.sock.subscribe if on else self.sock.unsubscribe)(topic)

    async def close(self) -> None:
        self.sock.close()  # at once: nothing is left to deliver


async def synchronise(publisher: End, subscriber: End, probe: list[bytes]) -> None:
    """Publish ``probe`` until the subscriber gets it (subscriptions travel asynchronously),
    then read the probes still on their way, ending at a fence."""
    with trio.fail_after(STEP):
        while await subscriber.poll_recv(0.02) != probe:
            await publisher.send(probe)
        fence = [probe[0], b"fence"]
        await publisher.send(fence)
        while (got := await subscriber.recv()) != fence:
            assert got == probe


async def notification(publisher: End, subscriber: End) -> list[bytes]:
    """The next message an XPUB application receives, kicking a pyzmq subscriber meanwhile."""
    with trio.fail_after(STEP):
        while (got := await publisher.poll_recv(0.02)) is None:
            subscriber.kick()
        return got


async def collect_until(subscriber: End, end: list[bytes]) -> list[list[bytes]]:
    """What the subscriber receives up to (not including) ``end``."""
    received: list[list[bytes]] = []
    while (got := await subscriber.recv()) != end:
        received.append(got)
    return received


async def scenario(publisher: End, subscriber: End, *, publisher_binds: bool) -> None:
    """The exchange every pair runs (see the module docstring)."""
    notified = publisher.type == zmtrio.XPUB
    await subscriber.subscribe(b"A")
    await subscriber.subscribe(b"B")
    if notified:
        assert await notification(publisher, subscriber) == [b"\x01A"]
        assert await notification(publisher, subscriber) == [b"\x01B"]
    await synchronise(publisher, subscriber, [b"B", b"probe"])

    for message in PUBLISHED:
        await publisher.send(message)
    await publisher.send([b"B", b"end"])
    assert await collect_until(subscriber, [b"B", b"end"]) == MATCHING

    # One cancel. Repeat until the publisher has applied it: an XSUB (no local filter)
    # then stops getting A; a SUB filters on receive too, so it never sees A again.
    await subscriber.subscribe(b"A", on=False)
    if notified:
        assert await notification(publisher, subscriber) == [b"\x00A"]
    with trio.fail_after(STEP):
        for attempt in range(1000):
            await publisher.send([b"A", b"after cancel"])
            fence = [b"B", str(attempt).encode()]
            await publisher.send(fence)
            if [b"A", b"after cancel"] not in await collect_until(subscriber, fence):
                break
            await trio.sleep(0.01)

    if subscriber.type == zmtrio.XSUB:
        await subscriber.send([b"up", b"stream"])
        await subscriber.subscribe(b"Z")
        if notified:
            assert await notification(publisher, subscriber) == [b"up", b"stream"]
            assert await notification(publisher, subscriber) == [b"\x01Z"]
        await synchronise(publisher, subscriber, [b"Z", b"probe"])

    await subscriber.close()
    if notified and publisher_binds:
        # The subscriber's pipe ends with its connection: its topics are cancelled. (A
        # connecting XPUB keeps the pipe for the reconnect, as libzmq does: no cancel.)
        expected = [[b"\x00B"], [b"\x00Z"]] if subscriber.type == zmtrio.XSUB else [[b"\x00B"]]
        assert [await publisher.recv() for _ in expected] == expected


async def _link(bound: End, connecting: End, endpoint: str) -> None:
    if isinstance(bound.sock, ZmqPeer):
        resolved = bound.sock.bind(endpoint)
    else:
        resolved = await bound.sock.bind(endpoint)
    if isinstance(connecting.sock, ZmqPeer):
        connecting.sock.connect(resolved)
    else:
        await connecting.sock.connect(resolved)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(("publisher_type", "subscriber_type"), PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("zmtrio_end", ["publisher", "subscriber"])
async def test_zmtrio_with_pyzmq(
    ctx: zmtrio.Context,
    zctx: zmq.Context[Any],
    ipc_dir: str,
    transport: str,
    direction: str,
    publisher_type: int,
    subscriber_type: int,
    zmtrio_end: str,
) -> None:
    """zmtrio at one end (``zmtrio_end``), pyzmq at the other."""

    def end(socket_type: int, is_zmtrio: bool) -> End:
        return End(
            ctx.socket(socket_type) if is_zmtrio else ZmqPeer(zctx, socket_type), socket_type
        )

    publisher = end(publisher_type, zmtrio_end == "publisher")
    subscriber = end(subscriber_type, zmtrio_end == "subscriber")
    publisher_binds = direction == "publisher-binds"
    bound, connecting = (publisher, subscriber) if publisher_binds else (subscriber, publisher)
    await _link(bound, connecting, endpoint_for(transport, ipc_dir))
    await scenario(publisher, subscriber, publisher_binds=publisher_binds)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("zmtrio_end", ["publisher", "subscriber"])
async def test_subscription_to_everything_with_pyzmq(
    ctx: zmtrio.Context,
    zctx: zmq.Context[Any],
    ipc_dir: str,
    transport: str,
    direction: str,
    zmtrio_end: str,
) -> None:
    """PUB whose only topic is the empty one and SUB holding it skip per-message matching
    (batches in and out): every message still arrives, in order, as with libzmq."""
    zmtrio_publishes = zmtrio_end == "publisher"
    publisher = End(
        ctx.socket(zmtrio.PUB) if zmtrio_publishes else ZmqPeer(zctx, zmtrio.PUB), zmtrio.PUB
    )
    subscriber = End(
        ZmqPeer(zctx, zmtrio.SUB) if zmtrio_publishes else ctx.socket(zmtrio.SUB), zmtrio.SUB
    )
    for end in (publisher, subscriber):
        if isinstance(end.sock, ZmqPeer):
            end.sock.sock.sndhwm = end.sock.sock.rcvhwm = 0
        else:
            end.sock.sndhwm = end.sock.rcvhwm = 0
    publisher_binds = direction == "publisher-binds"
    bound, connecting = (publisher, subscriber) if publisher_binds else (subscriber, publisher)
    await _link(bound, connecting, endpoint_for(transport, ipc_dir))
    await subscriber.subscribe(b"")
    await synchronise(publisher, subscriber, [b"probe"])

    messages = [[b"%d" % n, b"part"] for n in range(500)] + [[b""], [b"\xff"]]
    if isinstance(publisher.sock, ZmqPeer):
        for message in messages:
            await publisher.send(message)
    else:
        await publisher.sock.send_batch(messages)
    await publisher.send([b"end"])
    if isinstance(subscriber.sock, ZmqPeer):
        assert await collect_until(subscriber, [b"end"]) == messages
    else:
        received: list[list[bytes]] = []
        with trio.fail_after(STEP):
            while [b"end"] not in received:
                received += await subscriber.sock.recv_batch(64)
        assert received == [*messages, [b"end"]]


@pytest.mark.parametrize("direction", [*DIRECTIONS, "subscriber-connects-first"])
@pytest.mark.parametrize(("publisher_type", "subscriber_type"), PAIRS, ids=PAIR_IDS)
async def test_zmtrio_with_itself_over_inproc(
    ctx: zmtrio.Context, direction: str, publisher_type: int, subscriber_type: int
) -> None:
    publisher = End(ctx.socket(publisher_type), publisher_type)
    subscriber = End(ctx.socket(subscriber_type), subscriber_type)
    endpoint = "inproc://pubsub"
    if direction == "subscriber-connects-first":
        # libzmq 4 allows connecting before the bind: the subscriptions wait for it.
        assert isinstance(subscriber.sock, zmtrio.Socket)
        assert isinstance(publisher.sock, zmtrio.Socket)
        await subscriber.sock.connect(endpoint)
        await subscriber.subscribe(b"early")
        await publisher.sock.bind(endpoint)
        if publisher_type == zmtrio.XPUB:
            assert await publisher.recv() == [b"\x01early"]
        await synchronise(publisher, subscriber, [b"early", b"probe"])
        await subscriber.subscribe(b"early", on=False)
        if publisher_type == zmtrio.XPUB:
            assert await publisher.recv() == [b"\x00early"]
        await scenario(publisher, subscriber, publisher_binds=True)
        return
    publisher_binds = direction == "publisher-binds"
    bound, connecting = (publisher, subscriber) if publisher_binds else (subscriber, publisher)
    await _link(bound, connecting, endpoint)
    await scenario(publisher, subscriber, publisher_binds=publisher_binds)
