"""PUB, SUB, XPUB and XSUB behaviour: filtering and fan-out, counted subscriptions, the XPUB
and XSUB options, dropping at the high-water mark, reconnects, the ZMTP 3.0 subscription
form, and a forwarder. Where libzmq's behaviour is subtle, the test runs the same steps
against a pyzmq socket and a zmtrio socket and compares what each application sees."""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
import zmq
import zmtrio

from tests.conftest import ZmqPeer, bind_when_free
from tests.hostile import _raw

#: A wait that should end at once; bounded so a lost message fails instead of hanging.
STEP = 5.0

Message = list[bytes]


# ---------------------------------------------------------------------------- helpers


async def recv_within(sock: zmtrio.Socket, seconds: float) -> Message | None:
    """A message if one arrives within ``seconds``, else None."""
    with trio.move_on_after(seconds):
        return await sock.recv_multipart()
    return None


async def zmq_recv_within(peer: ZmqPeer, seconds: float) -> Message | None:
    """The pyzmq counterpart of :func:`recv_within`."""
    raw = peer.sock

    def poll() -> Message | None:
        return raw.recv_multipart() if raw.poll(int(seconds * 1000)) else None

    return await trio.to_thread.run_sync(poll)


async def until_received(
    publish: Callable[[], Awaitable[None]],
    receive: Callable[[float], Awaitable[Message | None]],
    expected: Message,
) -> None:
    """Publish until ``expected`` arrives (subscriptions travel asynchronously)."""
    with trio.fail_after(STEP):
        while True:
            await publish()
            got = await receive(0.02)
            while got is not None:
                if got == expected:
                    return
                got = await receive(0)


async def collect_until(receive: Callable[[], Awaitable[Message]], end: Message) -> list[Message]:
    """Messages up to (not including) ``end``."""
    received: list[Message] = []
    with trio.fail_after(STEP):
        while (got := await receive()) != end:
            received.append(got)
    return received


def kick(*peers: ZmqPeer) -> None:
    """libzmq attaches a new connection's pipe (sending the subscriptions that wait for it)
    only when the application next calls into the socket: do so."""
    for peer in peers:
        peer.sock.getsockopt(zmq.EVENTS)


def matches(frame: bytes, topics: set[bytes]) -> bool:
    return any(frame.startswith(topic) for topic in topics)


# ---------------------------------------------------------------------------- fan-out


SUBSCRIPTIONS: list[list[bytes]] = [
    [b""],
    [b"a"],
    [b"ab"],
    [b"b", b"c"],
    [b"a", b"abc"],  # overlapping: each message still once
    [b"a", b"a"],  # twice: still once
    [b"x"],  # nothing published matches
    [b"abc", b"b", b"ca"],
]
TOPICS = [b"a", b"ab", b"abc", b"abd", b"b", b"bc", b"c", b"ca", b"", b"d", b"\x00", b"A"]


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
@pytest.mark.parametrize("batched", [False, True], ids=["send", "send_batch"])
async def test_fan_out_each_subscriber_gets_exactly_its_matches(
    ctx: zmtrio.Context, transport: str, batched: bool
) -> None:
    pub = ctx.socket(zmtrio.PUB)
    pub.sndhwm = 0  # nothing may be dropped: the test checks exact delivery
    endpoint = await pub.bind("inproc://fan-out" if transport == "inproc" else "tcp://127.0.0.1:*")
    subs = []
    for topics in SUBSCRIPTIONS:
        sub = ctx.socket(zmtrio.SUB)
        sub.rcvhwm = 0
        await sub.connect(endpoint)
        for topic in [*topics, b"\xff"]:
            sub.subscribe(topic)
        subs.append(sub)
    for sub in subs:
        await until_received(
            lambda: pub.send(b"\xffprobe"), lambda s, sub=sub: recv_within(sub, s), [b"\xffprobe"]
        )

    messages = [[topic + b"-%d" % i, b"%d" % i] for i in range(300) for topic in TOPICS]
    messages += [[topic] for topic in TOPICS]
    if batched:
        await pub.send_batch(messages)
    else:
        for message in messages:
            await pub.send_multipart(message)
    await pub.send(b"\xffend")

    for sub, topics in zip(subs, SUBSCRIPTIONS, strict=True):
        received = await collect_until(sub.recv_multipart, [b"\xffend"])
        received = [m for m in received if m != [b"\xffprobe"]]
        assert received == [m for m in messages if matches(m[0], set(topics))]


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
async def test_batch_to_subscribers_of_everything_then_of_one_topic(
    ctx: zmtrio.Context, transport: str
) -> None:
    """While every subscriber holds only the empty topic a batch skips per-message
    matching; once one subscribes to something narrower, matching is exact again."""
    pub = ctx.socket(zmtrio.PUB)
    pub.sndhwm = 0
    endpoint = await pub.bind("inproc://everyone" if transport == "inproc" else "tcp://127.0.0.1:*")
    wide, narrow = ctx.socket(zmtrio.SUB), ctx.socket(zmtrio.SUB)
    for sub in (wide, narrow):
        sub.rcvhwm = 0
        await sub.connect(endpoint)
        sub.subscribe(b"")
        await until_received(
            lambda: pub.send(b"probe"), lambda s, sub=sub: recv_within(sub, s), [b"probe"]
        )
    messages = [[b"%s-%d" % (topic, i)] for i in range(200) for topic in (b"a", b"b", b"")]
    await pub.send_batch([*messages, [b"end"]])
    for sub in (wide, narrow):
        received = await collect_until(sub.recv_multipart, [b"end"])
        assert [m for m in received if m != [b"probe"]] == messages

    narrow.subscribe(b"a")
    narrow.unsubscribe(b"")
    narrow.subscribe(b"fence")
    await until_received(lambda: pub.send(b"fence"), lambda s: recv_within(narrow, s), [b"fence"])
    await pub.send_batch([*messages, [b"fence-end"]])
    received = await collect_until(wide.recv_multipart, [b"fence-end"])
    assert [m for m in received if m not in ([b"probe"], [b"fence"])] == messages
    received = await collect_until(narrow.recv_multipart, [b"fence-end"])
    assert [m for m in received if m != [b"fence"]] == [m for m in messages if m[0][:1] == b"a"]


@pytest.mark.parametrize("batched", [False, True], ids=["recv", "recv_batch"])
async def test_sub_of_everything_filters_again_once_it_narrows(
    ctx: zmtrio.Context, batched: bool
) -> None:
    pub, sub = ctx.socket(zmtrio.PUB), ctx.socket(zmtrio.SUB)
    await sub.connect(await pub.bind("inproc://narrowing"))
    sub.subscribe(b"")
    sub.subscribe(b"B")
    await until_received(lambda: pub.send(b"B-probe"), lambda s: recv_within(sub, s), [b"B-probe"])
    for i in range(3):
        await pub.send(b"A%d" % i)
        await pub.send(b"B%d" % i)
    assert await sub.recv() == b"A0"  # everything matches while b"" is subscribed
    sub.unsubscribe(b"")  # the rest are queued already: filtered on receive
    await pub.send(b"B-fence")
    if batched:
        received: list[Message] = []
        with trio.fail_after(STEP):
            while [b"B-fence"] not in received:
                received += await sub.recv_batch(100)
    else:
        received = [*await collect_until(sub.recv_multipart, [b"B-fence"]), [b"B-fence"]]
    assert [m for m in received if m != [b"B-probe"]] == [[b"B0"], [b"B1"], [b"B2"], [b"B-fence"]]


@pytest.mark.parametrize("batched", [False, True], ids=["recv", "recv_batch"])
async def test_sub_already_waiting_filters_once_it_narrows(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], batched: bool
) -> None:
    """A SUB of everything receives through its fair-queue's own methods; a task already
    waiting in ``recv`` when the SUB narrows filters what arrives after (libzmq filters
    when a message is read, not when it arrives)."""
    pub = ZmqPeer(zctx, zmq.PUB)
    sub = ctx.socket(zmtrio.SUB)
    await sub.connect(pub.bind("tcp://127.0.0.1:*"))
    sub.subscribe(b"B")
    sub.subscribe(b"")  # after B on the wire: a probe received proves the PUB has both
    await until_received(
        lambda: pub.send_multipart([b"B-probe"]), lambda s: recv_within(sub, s), [b"B-probe"]
    )
    while await recv_within(sub, 0.05) is not None:
        pass  # probes still on their way
    received: list[Message] = []

    async def receive_until_b1() -> None:
        while [b"B1"] not in received:
            received.extend(await sub.recv_batch(10) if batched else [await sub.recv_multipart()])

    with trio.fail_after(STEP):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receive_until_b1)
            await trio.testing.wait_all_tasks_blocked()  # the receiver waits
            sub.unsubscribe(b"")  # written once this task yields: after A1 is published
            pub.sock.send(b"A1")  # still matches at the PUB, so it reaches the SUB
            pub.sock.send(b"B1")
    assert received[-1] == [b"B1"]
    assert all(message in ([b"B-probe"], [b"B1"]) for message in received)


async def test_sub_of_everything_loses_nothing_as_its_publishers_come_and_go(
    ctx: zmtrio.Context,
) -> None:
    """With one publisher a SUB of everything receives through that peer's Inlet; a second
    publisher hands it back to the fair-queue's ring, and its leaving to the Inlet again:
    every message arrives once, each publisher's in order."""
    pub_a, pub_b, sub = ctx.socket(zmtrio.PUB), ctx.socket(zmtrio.PUB), ctx.socket(zmtrio.SUB)
    sub.subscribe(b"")
    await sub.connect(await pub_a.bind("inproc://inlet-a"))
    await until_received(
        lambda: pub_a.send(b"a-probe"), lambda s: recv_within(sub, s), [b"a-probe"]
    )
    for i in range(3):
        await pub_a.send(b"a%d" % i)
    before_a0 = await collect_until(sub.recv_multipart, [b"a0"])
    assert all(m == [b"a-probe"] for m in before_a0)  # probes still on their way, then a0
    received: list[Message] = []

    async def recording(seconds: float) -> Message | None:
        # The probe loop's receive, keeping what it takes (a1 and a2 are queued meanwhile).
        got = await recv_within(sub, seconds)
        if got is not None:
            received.append(got)
        return got

    await sub.connect(await pub_b.bind("inproc://inlet-b"))
    await until_received(lambda: pub_b.send(b"b-probe"), recording, [b"b-probe"])
    for i in range(3, 6):
        await pub_a.send(b"a%d" % i)
        await pub_b.send(b"b%d" % i)
    await pub_b.send(b"b-end")
    received += await collect_until(sub.recv_multipart, [b"b-end"])
    await sub.disconnect("inproc://inlet-b")
    await pub_a.send(b"a-end")
    received += await collect_until(sub.recv_multipart, [b"a-end"])
    from_a = [m[0] for m in received if m[0].startswith(b"a") and m != [b"a-probe"]]
    from_b = [m[0] for m in received if m[0].startswith(b"b") and m != [b"b-probe"]]
    assert from_a == [b"a1", b"a2", b"a3", b"a4", b"a5"]
    assert from_b == [b"b3", b"b4", b"b5"]


async def test_sub_message_prefetched_under_a_filter_comes_first(ctx: zmtrio.Context) -> None:
    """A message ``poll`` took while the SUB filtered is the next received, also once the
    SUB takes everything (and receives through its fair-queue's methods again)."""
    pub, sub = ctx.socket(zmtrio.PUB), ctx.socket(zmtrio.SUB)
    await sub.connect(await pub.bind("inproc://prefetch"))
    sub.subscribe(b"B")
    await until_received(lambda: pub.send(b"B-probe"), lambda s: recv_within(sub, s), [b"B-probe"])
    while await recv_within(sub, 0) is not None:
        pass
    await pub.send(b"B1")
    assert await sub.poll(zmtrio.POLLIN, timeout=STEP * 1000) == zmtrio.POLLIN  # takes B1
    sub.subscribe(b"")
    assert await recv_within(sub, STEP) == [b"B1"]
    await until_received(lambda: pub.send(b"A-probe"), lambda s: recv_within(sub, s), [b"A-probe"])


async def test_five_thousand_topics(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    """Many subscriptions of many lengths: matching stays exact (and quick)."""
    topics = {b"t%d" % i for i in range(0, 10_000, 2)}  # 5000 topics, lengths 2..5
    pub = ctx.socket(zmtrio.XPUB)
    pub.sndhwm = 0
    endpoint = await pub.bind("tcp://127.0.0.1:*")
    sub = ZmqPeer(zctx, zmq.SUB)
    sub.sock.rcvhwm = 0
    sub.sock.sndhwm = 0  # libzmq drops subscriptions beyond its SNDHWM
    sub.connect(endpoint)
    for topic in sorted(topics):
        sub.sock.subscribe(topic)
    notifications = set()
    with trio.fail_after(STEP):
        while len(notifications) < len(topics):
            got = await recv_within(pub, 0.05)
            if got is None:
                kick(sub)
                continue
            assert got[0][:1] == b"\x01"
            notifications.add(got[0][1:])
    assert notifications == topics

    published = [[b"t%d" % i, b"payload"] for i in range(0, 12_000, 3)]
    published += [[b"x%d" % i] for i in range(100)]
    for message in published:
        await pub.send_multipart(message)
    await pub.send(b"t0-end")
    received = await collect_until(sub.recv_multipart, [b"t0-end"])
    assert received == [m for m in published if any(m[0][:n] in topics for n in range(2, 6))]


async def test_subscriber_with_five_thousand_topics_tells_libzmq_each_once(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    xpub = ZmqPeer(zctx, zmq.XPUB)
    endpoint = xpub.bind("tcp://127.0.0.1:*")
    sub = ctx.socket(zmtrio.SUB)
    topics = [b"topic/%d" % i for i in range(5000)]
    for topic in topics:
        sub.subscribe(topic)  # before the connection: all go out when it is made
    await sub.connect(endpoint)

    def receive_all() -> list[bytes]:
        return [xpub.sock.recv() for _ in topics]

    # In libzmq's trie order (byte-wise), each topic once.
    assert await trio.to_thread.run_sync(receive_all) == [b"\x01" + t for t in sorted(topics)]
    await until_received(
        lambda: xpub.send_multipart([b"topic/4999", b"x"]),
        lambda s: recv_within(sub, s),
        [b"topic/4999", b"x"],
    )


# ---------------------------------------------------------------------------- counting


async def test_subscriptions_are_counted(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    """Subscribing twice takes two cancels; only the last cancel is sent upstream."""
    xpub = ZmqPeer(zctx, zmq.XPUB)
    xpub.sock.setsockopt(zmq.XPUB_VERBOSER, 1)  # report every subscribe and cancel
    sub = ctx.socket(zmtrio.SUB)
    await sub.connect(xpub.bind("tcp://127.0.0.1:*"))
    # Connected first: before that, subscriptions only set what the connection will send.
    sub.subscribe(b"ready")
    assert await xpub.recv_multipart() == [b"\x01ready"]
    sub.subscribe(b"A")
    sub.subscribe("A")  # str topics are encoded (UTF-8)
    assert await xpub.recv_multipart() == [b"\x01A"]
    assert await xpub.recv_multipart() == [b"\x01A"]
    sub.unsubscribe(b"A")  # one left: nothing sent
    sub.unsubscribe(b"never subscribed")  # nothing sent
    sub.subscribe(b"fence")
    assert await xpub.recv_multipart() == [b"\x01fence"]
    await until_received(
        lambda: xpub.send_multipart([b"A", b"still"]),
        lambda s: recv_within(sub, s),
        [b"A", b"still"],
    )
    sub.unsubscribe("A")  # the last one: cancelled upstream
    assert await xpub.recv_multipart() == [b"\x00A"]
    sub.unsubscribe(b"A")  # no longer subscribed: nothing sent
    sub.subscribe("é")
    assert await xpub.recv_multipart() == [b"\x01" + "é".encode()]


async def test_sub_filters_again_on_receive(ctx: zmtrio.Context) -> None:
    """Messages that were on their way when the SUB unsubscribed are not delivered."""
    pub, sub = ctx.socket(zmtrio.PUB), ctx.socket(zmtrio.SUB)
    await sub.connect(await pub.bind("inproc://refilter"))
    sub.subscribe(b"A")
    sub.subscribe(b"B")
    await until_received(lambda: pub.send(b"B-probe"), lambda s: recv_within(sub, s), [b"B-probe"])
    for i in range(3):
        await pub.send(b"A%d" % i)  # queued in the SUB's pipe
    sub.unsubscribe(b"A")
    assert await sub.poll(zmtrio.POLLIN, timeout=0) == 0  # queued, but nothing matches now
    await pub.send(b"B-fence")
    leftovers = await collect_until(sub.recv_multipart, [b"B-fence"])
    assert all(message == [b"B-probe"] for message in leftovers)  # probes only, no A


# ---------------------------------------------------------------------------- reconnects


async def test_resubscribes_after_the_publisher_restarts(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    first = ZmqPeer(zctx, zmq.PUB)
    endpoint = first.bind("tcp://127.0.0.1:*")
    sub = ctx.socket(zmtrio.SUB)
    sub.reconnect_ivl = 20
    await sub.connect(endpoint)
    sub.subscribe(b"news")
    await until_received(
        lambda: first.send_multipart([b"news", b"1"]),
        lambda s: recv_within(sub, s),
        [b"news", b"1"],
    )
    first.close()
    second = ZmqPeer(zctx, zmq.PUB)
    await bind_when_free(second, endpoint)  # the same port: the SUB reconnects and subscribes again
    await until_received(
        lambda: second.send_multipart([b"news", b"2"]),
        lambda s: recv_within(sub, s),
        [b"news", b"2"],
    )
    await second.send_multipart([b"sport", b"x"])
    await second.send_multipart([b"news", b"3"])
    leftovers = await collect_until(sub.recv_multipart, [b"news", b"3"])
    assert all(message == [b"news", b"2"] for message in leftovers)  # probes only, no sport


# ---------------------------------------------------------------------------- high-water mark


async def test_pub_drops_for_a_stalled_subscriber_and_others_keep_receiving(
    ctx: zmtrio.Context,
) -> None:
    pub = ctx.socket(zmtrio.PUB)
    pub.sndhwm = 10
    await pub.bind("inproc://hwm")
    stalled, active = ctx.socket(zmtrio.SUB), ctx.socket(zmtrio.SUB)
    stalled.rcvhwm = 10  # inproc pipe: the PUB's SNDHWM + this RCVHWM = 20 messages
    active.rcvhwm = 0  # unbounded: it must get everything
    for sub in (stalled, active):
        await sub.connect("inproc://hwm")
        sub.subscribe(b"")
    count = 5000
    with trio.fail_after(STEP):  # never blocks
        for i in range(count):
            pub.send_nowait(b"%d" % i)
        await pub.send_batch([[b"%d" % i] for i in range(count, 2 * count)])
    assert [await active.recv() for _ in range(2 * count)] == [b"%d" % i for i in range(2 * count)]
    # The stalled one kept what fitted; once full, libzmq drops until the pipe drains.
    assert [await stalled.recv() for _ in range(20)] == [b"%d" % i for i in range(20)]
    assert await recv_within(stalled, 0) is None


async def test_pub_over_tcp_never_blocks_on_a_stalled_subscriber(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    pub = ctx.socket(zmtrio.PUB)
    pub.sndhwm = 100
    endpoint = await pub.bind("tcp://127.0.0.1:*")
    stalled = ZmqPeer(zctx, zmq.SUB)
    stalled.sock.rcvhwm = 100
    stalled.sock.subscribe(b"")
    stalled.connect(endpoint)
    active = ctx.socket(zmtrio.SUB)
    active.subscribe(b"")
    await active.connect(endpoint)
    await until_received(lambda: pub.send(b"probe"), lambda s: recv_within(active, s), [b"probe"])
    kick(stalled)
    payload = b"x" * 1000
    received: list[int] = []
    done = trio.Event()

    async def read_active() -> None:
        while (msg := await active.recv_multipart()) != [b"end"]:
            if msg != [b"probe"]:
                received.append(int(msg[1]))
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_active)
        with trio.fail_after(STEP):
            for i in range(30_000):  # 30 MB: far more than the stalled peer's buffers
                pub.send_multipart_nowait([payload, b"%d" % i])  # never raises Again
                if i % 64 == 0:
                    await trio.sleep(0)
            while not done.is_set():
                await pub.send(b"end")
                await trio.sleep(0.01)
    # The active subscriber kept receiving, in order (what it got past its own HWM).
    assert received and received == sorted(received)

    def count_stalled() -> int:
        count = 0
        while stalled.sock.poll(200):
            stalled.sock.recv_multipart()
            count += 1
        return count

    assert await trio.to_thread.run_sync(count_stalled) < 30_000  # it lost messages


async def test_xpub_nodrop_waits_for_room(ctx: zmtrio.Context) -> None:
    xpub = ctx.socket(zmtrio.XPUB)
    xpub.xpub_nodrop = 1
    xpub.sndhwm = 2
    await xpub.bind("inproc://nodrop")
    sub = ctx.socket(zmtrio.SUB)
    sub.rcvhwm = 2  # the inproc pipe holds 4
    await sub.connect("inproc://nodrop")
    sub.subscribe(b"")
    assert await xpub.recv() == b"\x01"
    for i in range(4):
        xpub.send_nowait(b"%d" % i)
    with pytest.raises(zmtrio.Again):
        xpub.send_nowait(b"4")
    async with trio.open_nursery() as nursery:
        nursery.start_soon(xpub.send, b"4")
        assert [await sub.recv() for _ in range(5)] == [b"%d" % i for i in range(5)]


# ---------------------------------------------------------------------------- XPUB options


async def _notifications(
    xpub_recv: Callable[[float], Awaitable[Message | None]],
    subscribers: list[ZmqPeer],
    count: int,
) -> list[Message]:
    """``count`` messages from an XPUB, kicking the pyzmq subscribers while waiting."""
    got: list[Message] = []
    with trio.fail_after(STEP):
        while len(got) < count:
            message = await xpub_recv(0.02)
            if message is None:
                kick(*subscribers)
            else:
                got.append(message)
    return got


async def _until_notified(
    xpub_recv: Callable[[float], Awaitable[Message | None]],
    subscribers: list[ZmqPeer],
    last: Message,
) -> list[Message]:
    """What an XPUB delivers up to and including ``last``."""
    got: list[Message] = []
    while not got or got[-1] != last:
        got += await _notifications(xpub_recv, subscribers, 1)
    return got


class AnyXPub:
    """An XPUB from either library, driven the same way."""

    def __init__(self, ctx: zmtrio.Context, zctx: zmq.Context[Any], library: str) -> None:
        self.ours = ctx.socket(zmtrio.XPUB) if library == "zmtrio" else None
        self.theirs = ZmqPeer(zctx, zmq.XPUB) if library == "pyzmq" else None

    def setsockopt(self, option: int, value: int | bytes) -> None:
        if self.ours is not None:
            self.ours.setsockopt(option, value)
        else:
            assert self.theirs is not None
            self.theirs.sock.setsockopt(option, value)

    async def bind(self) -> str:
        if self.ours is not None:
            return await self.ours.bind("tcp://127.0.0.1:*")
        assert self.theirs is not None
        return self.theirs.bind("tcp://127.0.0.1:*")

    async def recv_within(self, seconds: float) -> Message | None:
        if self.ours is not None:
            return await recv_within(self.ours, seconds)
        assert self.theirs is not None
        return await zmq_recv_within(self.theirs, seconds)

    async def send(self, message: Message) -> None:
        if self.ours is not None:
            await self.ours.send_multipart(message)
        else:
            assert self.theirs is not None
            await self.theirs.send_multipart(message)


VERBOSITY = {
    "default": None,
    "verbose": zmq.XPUB_VERBOSE,
    "verboser": zmq.XPUB_VERBOSER,
}


async def _verbosity_scenario(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], library: str, option: int | None
) -> list[list[Message]]:
    xpub = AnyXPub(ctx, zctx, library)
    if option is not None:
        xpub.setsockopt(option, 1)
    endpoint = await xpub.bind()
    s1, s2 = ZmqPeer(zctx, zmq.SUB), ZmqPeer(zctx, zmq.SUB)
    s1.connect(endpoint)
    s2.connect(endpoint)
    subs = [s1, s2]
    steps: list[list[Message]] = []

    async def step(sub: ZmqPeer, *actions: tuple[bool, bytes]) -> None:
        for on, topic in actions:
            (sub.sock.subscribe if on else sub.sock.unsubscribe)(topic)
        steps.append(await _until_notified(xpub.recv_within, subs, [b"\x01" + actions[-1][1]]))

    await step(s1, (True, b"A"), (True, b"S"), (True, b"F1"))
    await step(s2, (True, b"A"), (True, b"S"), (True, b"F2"))
    await step(s1, (False, b"A"), (True, b"F3"))
    await step(s2, (False, b"A"), (True, b"F4"))
    # s1 leaves: its topics nobody else holds (F1, F3) are cancelled in trie order; the
    # one s2 still holds (S) too with XPUB_VERBOSER only.
    s1.close()
    steps.append(
        await _notifications(xpub.recv_within, [s2], 3 if option == zmq.XPUB_VERBOSER else 2)
    )
    s2.close()
    return steps


@pytest.mark.parametrize("mode", list(VERBOSITY))
async def test_xpub_verbosity_is_libzmqs(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], mode: str
) -> None:
    ours = await _verbosity_scenario(ctx, zctx, "zmtrio", VERBOSITY[mode])
    theirs = await _verbosity_scenario(ctx, zctx, "pyzmq", VERBOSITY[mode])
    assert ours == theirs
    second_subscribes = [[b"\x01A"], [b"\x01S"]] if mode != "default" else []
    first_cancel = [[b"\x00A"]] if mode == "verboser" else []
    shared_cancel = [[b"\x00S"]] if mode == "verboser" else []
    assert ours == [
        [[b"\x01A"], [b"\x01S"], [b"\x01F1"]],
        [*second_subscribes, [b"\x01F2"]],
        [*first_cancel, [b"\x01F3"]],
        [[b"\x00A"], [b"\x01F4"]],
        [[b"\x00F1"], [b"\x00F3"], *shared_cancel],
    ]


async def _manual_scenario(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], library: str
) -> tuple[list[Message], Message | None, Message | None]:
    """XPUB_MANUAL: every (un)subscription is delivered and none applied; SUBSCRIBE on the
    XPUB applies to the peer whose notification was read last."""
    xpub = AnyXPub(ctx, zctx, library)
    xpub.setsockopt(zmq.XPUB_MANUAL, 1)
    endpoint = await xpub.bind()
    s1, s2 = ZmqPeer(zctx, zmq.SUB), ZmqPeer(zctx, zmq.SUB)
    s1.connect(endpoint)
    s2.connect(endpoint)
    seen: list[Message] = []
    s1.sock.subscribe(b"A")
    seen += await _notifications(xpub.recv_within, [s1, s2], 1)
    xpub.setsockopt(zmq.SUBSCRIBE, b"A")  # to s1, whose subscription was just read
    s2.sock.subscribe(b"A")
    s2.sock.subscribe(b"Z")
    seen += await _notifications(xpub.recv_within, [s1, s2], 2)
    xpub.setsockopt(zmq.SUBSCRIBE, b"Z")  # to s2 (its A is not applied)
    s1.sock.subscribe(b"A")  # again: manual mode delivers every one
    seen += await _notifications(xpub.recv_within, [s1, s2], 1)
    await xpub.send([b"A", b"for s1 only"])
    await xpub.send([b"Z", b"fence"])
    s2_got = await zmq_recv_within(s2, STEP)
    s1_got = await zmq_recv_within(s1, STEP)
    s1.sock.unsubscribe(b"A")
    s1.sock.unsubscribe(b"A")  # subscribed twice: the second cancel goes out
    seen += await _notifications(xpub.recv_within, [s1, s2], 1)
    xpub.setsockopt(zmq.UNSUBSCRIBE, b"A")
    s2.close()  # its recorded topics (A, Z) are cancelled, each one
    seen += await _notifications(xpub.recv_within, [s1], 2)
    s1.close()
    return seen, s1_got, s2_got


async def test_xpub_manual_is_libzmqs(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    ours = await _manual_scenario(ctx, zctx, "zmtrio")
    theirs = await _manual_scenario(ctx, zctx, "pyzmq")
    assert ours == theirs
    assert ours == (
        [[b"\x01A"], [b"\x01A"], [b"\x01Z"], [b"\x01A"], [b"\x00A"], [b"\x00A"], [b"\x00Z"]],
        [b"A", b"for s1 only"],
        [b"Z", b"fence"],
    )


@pytest.mark.parametrize("sock_type", [zmtrio.PUB, zmtrio.XPUB, zmtrio.XSUB])
async def test_subscribe_option_without_manual_is_einval(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], sock_type: int
) -> None:
    ours = ctx.socket(sock_type)
    theirs = zctx.socket(sock_type)
    for option in (zmtrio.SUBSCRIBE, zmtrio.UNSUBSCRIBE):
        with pytest.raises(zmq.ZMQError) as expected:
            theirs.setsockopt(option, b"x")
        with pytest.raises(zmtrio.ZMQError) as info:
            ours.setsockopt(option, b"x")
        assert info.value.errno == expected.value.errno == errno.EINVAL
    theirs.close()
    if sock_type != zmtrio.XSUB:
        ours.xpub_manual = 1
        ours.subscribe(b"x")  # accepted; with no subscriber read yet it applies to none
        ours.unsubscribe(b"x")


@pytest.mark.parametrize(
    ("sock_type", "option"),
    [
        (zmtrio.XPUB, zmtrio.XPUB_VERBOSE),
        (zmtrio.XPUB, zmtrio.XPUB_VERBOSER),
        (zmtrio.XPUB, zmtrio.XPUB_MANUAL),
        (zmtrio.XPUB, zmtrio.XPUB_NODROP),
        (zmtrio.PUB, zmtrio.XPUB_VERBOSE),
    ],
)
async def test_xpub_flags_are_write_only_as_in_libzmq(
    ctx: zmtrio.Context, sock_type: int, option: int
) -> None:
    sock = ctx.socket(sock_type)
    sock.setsockopt(option, 1)
    with pytest.raises(zmtrio.ZMQError) as info:
        sock.getsockopt(option)
    assert info.value.errno == errno.EINVAL
    with pytest.raises(zmtrio.ZMQError) as info:
        ctx.socket(zmtrio.SUB).setsockopt(option, 1)
    assert info.value.errno == errno.EINVAL


async def test_wrong_direction_is_enotsup(ctx: zmtrio.Context) -> None:
    with pytest.raises(zmtrio.ZMQError) as info:
        await ctx.socket(zmtrio.SUB).send(b"x")
    assert info.value.errno == zmtrio.ENOTSUP
    with pytest.raises(zmtrio.ZMQError) as info:
        await ctx.socket(zmtrio.PUB).recv()
    assert info.value.errno == zmtrio.ENOTSUP


@pytest.mark.parametrize("subscriber", ["pyzmq SUB", "zmtrio SUB", "zmtrio XSUB"])
async def test_xpub_welcome_message(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], subscriber: str
) -> None:
    xpub = ctx.socket(zmtrio.XPUB)
    xpub.xpub_welcome_msg = b"Welcome!"
    endpoint = await xpub.bind("tcp://127.0.0.1:*")
    if subscriber == "pyzmq SUB":
        theirs = ZmqPeer(zctx, zmq.SUB)
        theirs.sock.subscribe(b"W")  # a SUB filters the welcome like anything else
        theirs.connect(endpoint)
        assert await _notifications(lambda t: recv_within(xpub, t), [theirs], 1) == [[b"\x01W"]]
        assert await theirs.recv_multipart() == [b"Welcome!"]
        return
    sub = ctx.socket(zmtrio.SUB if subscriber == "zmtrio SUB" else zmtrio.XSUB)
    if subscriber == "zmtrio SUB":
        sub.subscribe(b"Wel")
    await sub.connect(endpoint)
    with trio.fail_after(STEP):
        assert await sub.recv_multipart() == [b"Welcome!"]


async def _upstream_scenario(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], library: str
) -> list[Message]:
    """What an XPUB delivers for messages from an XSUB, frame quirks included: libzmq checks
    every frame for 0x01/0x00, and a notification ends the message it interrupts."""
    xpub = AnyXPub(ctx, zctx, library)
    endpoint = await xpub.bind()
    xsub = ZmqPeer(zctx, zmq.XSUB)
    xsub.connect(endpoint)
    sent = [
        [b"\x01A"],
        [b"plain", b"two", b""],
        [b"data", b"\x01B", b"tail"],
        [b"", b"empty first"],
        [b"\x00A", b"after cancel"],
        [b"\x01F"],
    ]
    for message in sent:
        await xsub.send_multipart(message)
    got = await _until_notified(xpub.recv_within, [xsub], [b"\x01F"])
    xsub.close()
    return got


async def test_xpub_delivers_upstream_messages_as_libzmq(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    ours = await _upstream_scenario(ctx, zctx, "zmtrio")
    assert ours == await _upstream_scenario(ctx, zctx, "pyzmq")
    assert ours == [
        [b"\x01A"],
        [b"plain", b"two", b""],
        [b"data", b"\x01B"],
        [b"tail"],
        [b"", b"empty first"],
        [b"\x00A"],
        [b"after cancel"],
        [b"\x01F"],
    ]


# ---------------------------------------------------------------------------- XSUB


@pytest.mark.parametrize("verbose", [False, True])
async def test_xsub_verbose_unsubscribe(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], verbose: bool
) -> None:
    xpub = ZmqPeer(zctx, zmq.XPUB)
    xpub.sock.setsockopt(zmq.XPUB_VERBOSER, 1)
    xsub = ctx.socket(zmtrio.XSUB)
    xsub.xsub_verbose_unsubscribe = int(verbose)
    await xsub.connect(xpub.bind("tcp://127.0.0.1:*"))
    for message in (b"\x01A", b"\x01A", b"\x00A", b"\x00A", b"\x00B", b"\x01F"):
        await xsub.send(message)
    got = await collect_until(xpub.recv_multipart, [b"\x01F"])
    if verbose:
        # Every cancel goes upstream; libzmq's XPUB reports even one for a topic the peer
        # no longer (or never) had.
        assert got == [[b"\x01A"], [b"\x01A"], [b"\x00A"], [b"\x00A"], [b"\x00B"]]
    else:
        assert got == [[b"\x01A"], [b"\x01A"], [b"\x00A"]]


async def test_xsub_resends_its_subscriptions_on_reconnect(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    first = ZmqPeer(zctx, zmq.XPUB)
    endpoint = first.bind("tcp://127.0.0.1:*")
    xsub = ctx.socket(zmtrio.XSUB)
    xsub.reconnect_ivl = 20
    await xsub.connect(endpoint)
    for message in (b"\x01B", b"\x01A", b"\x01A", b"\x01C", b"\x00C"):
        await xsub.send(message)
    assert await collect_until(first.recv_multipart, [b"\x00C"]) == [
        [b"\x01B"],
        [b"\x01A"],
        [b"\x01C"],
    ]
    first.close()
    second = ZmqPeer(zctx, zmq.XPUB)
    second.sock.setsockopt(zmq.XPUB_VERBOSE, 1)
    await bind_when_free(second, endpoint)
    # Each distinct topic once, in trie order (libzmq's XSUB re-sends its trie).
    assert [await second.recv_multipart() for _ in range(2)] == [[b"\x01A"], [b"\x01B"]]
    await until_received(
        lambda: second.send_multipart([b"A", b"again"]),
        lambda s: recv_within(xsub, s),
        [b"A", b"again"],
    )


async def test_xsub_receives_unfiltered(ctx: zmtrio.Context) -> None:
    """An XSUB does not filter on receive: what the publisher sends arrives."""
    xpub, xsub = ctx.socket(zmtrio.XPUB), ctx.socket(zmtrio.XSUB)
    await xsub.connect(await xpub.bind("inproc://unfiltered"))
    await xsub.send(b"\x01A")
    assert await xpub.recv() == b"\x01A"
    await xpub.send(b"A1")
    await xsub.send(b"\x00A")
    assert await xpub.recv() == b"\x00A"
    # A1 was queued before the cancel: an XSUB still delivers it (a SUB would drop it).
    assert await xsub.recv() == b"A1"


# ---------------------------------------------------------------------------- wire forms


async def test_zmtp30_style_subscription_from_pyzmq_xsub(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """libzmq's XSUB forwards an application's 0x01topic as a plain message, even to a ZMTP
    3.1 peer; a PUB honours it like a SUBSCRIBE command."""
    pub = ctx.socket(zmtrio.PUB)
    xsub = ZmqPeer(zctx, zmq.XSUB)
    xsub.connect(await pub.bind("tcp://127.0.0.1:*"))
    await xsub.send_multipart([b"\x01weather"])
    await until_received(
        lambda: pub.send_multipart([b"weather", b"sunny"]),
        lambda s: zmq_recv_within(xsub, s),
        [b"weather", b"sunny"],
    )
    await pub.send(b"sport")
    await pub.send(b"weather-end")
    leftovers = await collect_until(xsub.recv_multipart, [b"weather-end"])
    assert all(message == [b"weather", b"sunny"] for message in leftovers)  # no sport


@pytest.mark.parametrize("minor", [0, 1])
async def test_raw_peer_sees_the_subscription_form_of_its_version(
    ctx: zmtrio.Context, minor: int
) -> None:
    """To a ZMTP 3.0 peer a subscription is a 0x01/0x00 message, to 3.1 a command; both
    forms are honoured when they come in."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    sub = ctx.socket(zmtrio.SUB)
    sub.subscribe(b"T")
    await sub.connect(f"tcp://127.0.0.1:{port}")
    with trio.fail_after(STEP):
        stream = await listeners[0].accept()
        await _raw.handshake(stream, b"PUB", minor=minor)
        flags, body = await _raw.read_frame(stream)
        if minor == 0:
            assert (flags, body) == (0, b"\x01T")
        else:
            assert (flags, body) == (_raw.COMMAND, _raw.command_body(b"SUBSCRIBE", b"T"))
        sub.unsubscribe(b"T")
        flags, body = await _raw.read_frame(stream)
        if minor == 0:
            assert (flags, body) == (0, b"\x00T")
        else:
            assert (flags, body) == (_raw.COMMAND, _raw.command_body(b"CANCEL", b"T"))
        sub.subscribe(b"")
        await _raw.read_frame(stream)
        await stream.send_all(_raw.message([b"hello", b"world"]))
        assert await sub.recv_multipart() == [b"hello", b"world"]
    await stream.aclose()
    for listener in listeners:
        await listener.aclose()


@pytest.mark.parametrize("form", ["message", "command"])
async def test_pub_honours_both_subscription_forms_from_a_raw_peer(
    ctx: zmtrio.Context, form: str
) -> None:
    xpub = ctx.socket(zmtrio.XPUB)
    endpoint = await xpub.bind("tcp://127.0.0.1:*")
    host, port = endpoint[len("tcp://") :].rsplit(":", 1)
    with trio.fail_after(STEP):
        stream = await trio.open_tcp_stream(host, int(port))
        await _raw.handshake(stream, b"SUB", minor=0 if form == "message" else 1)

        def subscription(on: bool, topic: bytes) -> bytes:
            if form == "message":
                return _raw.frame((b"\x01" if on else b"\x00") + topic)
            return _raw.command(b"SUBSCRIBE" if on else b"CANCEL", topic)

        await stream.send_all(subscription(True, b"A") + subscription(True, b"B"))
        assert [await xpub.recv() for _ in range(2)] == [b"\x01A", b"\x01B"]
        await stream.send_all(subscription(False, b"A"))
        assert await xpub.recv() == b"\x00A"
        for topic in (b"A1", b"B1", b"C1"):
            await xpub.send(topic)
        assert await _raw.read_message(stream) == [b"B1"]
    await stream.aclose()
    with trio.fail_after(STEP):
        assert await xpub.recv() == b"\x00B"  # the peer left: its topic is cancelled


# ---------------------------------------------------------------------------- forwarder


async def test_xsub_xpub_forwarder_between_pyzmq_clients(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """The classic proxy: publishers connect to a zmtrio XSUB, subscribers to a zmtrio XPUB,
    and two tasks copy data down and subscriptions up."""
    frontend, backend = ctx.socket(zmtrio.XSUB), ctx.socket(zmtrio.XPUB)
    frontend_endpoint = await frontend.bind("tcp://127.0.0.1:*")
    backend_endpoint = await backend.bind("tcp://127.0.0.1:*")
    publishers = [ZmqPeer(zctx, zmq.PUB) for _ in range(2)]
    for publisher in publishers:
        publisher.connect(frontend_endpoint)
    subscribers = {b"news": ZmqPeer(zctx, zmq.SUB), b"sport": ZmqPeer(zctx, zmq.SUB)}
    for topic, subscriber in subscribers.items():
        subscriber.sock.subscribe(topic)
        subscriber.connect(backend_endpoint)

    async def copy(source: zmtrio.Socket, sink: zmtrio.Socket) -> None:
        async for message in source:
            await sink.send_multipart(message)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(copy, frontend, backend)
        nursery.start_soon(copy, backend, frontend)
        for index, publisher in enumerate(publishers):
            for topic, subscriber in subscribers.items():
                probe = [topic, b"probe %d" % index]

                async def publish(publisher: ZmqPeer = publisher, probe: Message = probe) -> None:
                    kick(*subscribers.values())
                    await publisher.send_multipart(probe)

                await until_received(
                    publish, lambda s, sub=subscriber: zmq_recv_within(sub, s), probe
                )
        for index, publisher in enumerate(publishers):
            for topic in (b"news", b"sport", b"weather"):
                await publisher.send_multipart([topic, b"from %d" % index, b"end"])
        for topic, subscriber in subscribers.items():
            got: list[Message] = []
            while len(got) < 2:
                message = await subscriber.recv_multipart()
                if message[1].startswith(b"from"):
                    got.append(message)
            assert sorted(got) == [[topic, b"from 0", b"end"], [topic, b"from 1", b"end"]]
        nursery.cancel_scope.cancel()
