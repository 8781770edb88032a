"""One context across threads: sockets of trio loops in different threads, joined over
inproc by the lock-free ring (``_threads``, ``_transport/_inproc_threads``,
``rust/src/ring.rs``).

Each test runs a second trio loop in a thread (``Worker``), bounded by its own deadline and
joined with a timeout; a failure in the worker fails the test.
"""

from __future__ import annotations

import errno
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import zmtrio
from conftest import TEST_TIMEOUT, wait_until
from zmtrio import ZMQError


class PlainThread:
    """``fn()`` in a new thread; ``join`` returns its result or raises what it raised."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self.result = fn()
        except BaseException as exc:
            self.error = exc

    async def join(self) -> Any:
        await trio.to_thread.run_sync(self.thread.join, TEST_TIMEOUT, abandon_on_cancel=True)
        assert not self.thread.is_alive(), "the thread did not finish"
        if self.error is not None:
            raise self.error
        return self.result


class Worker(PlainThread):
    """A thread running its own trio loop on ``fn(*args)``, bounded by its own deadline."""

    def __init__(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        async def bounded() -> Any:
            with trio.fail_after(TEST_TIMEOUT):
                return await fn(*args)

        super().__init__(lambda: trio.run(bounded))


async def _attached(ctx: zmtrio.Context, body: Callable[[zmtrio.Context], Awaitable[Any]]) -> Any:
    async with ctx.attach():
        return await body(ctx)


def in_worker(ctx: zmtrio.Context, body: Callable[[zmtrio.Context], Awaitable[Any]]) -> Worker:
    """Run ``body(ctx)`` in a new thread's trio loop attached to ``ctx``."""
    return Worker(_attached, ctx, body)


# ---------------------------------------------------------------- patterns across loops


@pytest.mark.parametrize("worker_binds", [False, True], ids=["main-binds", "worker-binds"])
@pytest.mark.parametrize("connect_first", [False, True], ids=["bind-first", "connect-first"])
async def test_push_pull_in_order_across_loops(
    ctx: zmtrio.Context, worker_binds: bool, connect_first: bool
) -> None:
    count = 5000
    endpoint = f"inproc://pipeline-{worker_binds}-{connect_first}"
    bound = trio.Event()
    worker_bound = threading.Event()

    async def sender(ctx: zmtrio.Context) -> None:
        async with ctx.socket(zmtrio.PUSH) as push:
            if worker_binds:
                await push.bind(endpoint)
                worker_bound.set()
            else:
                await push.connect(endpoint)
            for number in range(count):
                await push.send(number.to_bytes(4, "big"))

    async with ctx.socket(zmtrio.PULL) as pull:
        if not worker_binds and not connect_first:
            await pull.bind(endpoint)
        if worker_binds and connect_first:
            await pull.connect(endpoint)
        worker = in_worker(ctx, sender)
        if worker_binds and not connect_first:
            await trio.to_thread.run_sync(worker_bound.wait, TEST_TIMEOUT, abandon_on_cancel=True)
            await pull.connect(endpoint)
        if not worker_binds and connect_first:
            await pull.bind(endpoint)
        bound.set()
        received = [int.from_bytes(await pull.recv(), "big") for _ in range(count)]
        assert received == list(range(count))
        await worker.join()


async def test_req_rep_round_trips_across_loops(ctx: zmtrio.Context) -> None:
    async def server(ctx: zmtrio.Context) -> None:
        async with ctx.socket(zmtrio.REP) as rep:
            await rep.bind("inproc://rep")
            for _ in range(50):
                request = await rep.recv()
                await rep.send(request.upper())

    worker = in_worker(ctx, server)
    async with ctx.socket(zmtrio.REQ) as req:
        await req.connect("inproc://rep")
        for index in range(50):
            await req.send(b"hello %d" % index)
            assert await req.recv() == b"HELLO %d" % index
    await worker.join()


async def test_dealer_router_routing_ids_across_loops(ctx: zmtrio.Context) -> None:
    async def client(ctx: zmtrio.Context) -> list[bytes]:
        async with ctx.socket(zmtrio.DEALER) as dealer:
            dealer.routing_id = b"worker-7"
            await dealer.connect("inproc://router")
            await dealer.send_multipart([b"ping"])
            return await dealer.recv_multipart()

    async with ctx.socket(zmtrio.ROUTER) as router:
        await router.bind("inproc://router")
        worker = in_worker(ctx, client)
        routing_id, body = await router.recv_multipart()
        assert (routing_id, body) == (b"worker-7", b"ping")
        await router.send_multipart([routing_id, b"pong"])
        assert await worker.join() == [b"pong"]


async def test_pair_refuses_a_second_peer_from_another_loop(ctx: zmtrio.Context) -> None:
    async def second(ctx: zmtrio.Context) -> None:
        async with ctx.socket(zmtrio.PAIR) as pair:
            pair.sndtimeo = 200
            await pair.connect("inproc://pair")
            # The first peer holds the PAIR: this one's messages go nowhere.
            await pair.send(b"ignored")

    async with ctx.socket(zmtrio.PAIR) as bound, ctx.socket(zmtrio.PAIR) as first:
        await bound.bind("inproc://pair")
        await first.connect("inproc://pair")
        await in_worker(ctx, second).join()
        await first.send(b"from the first")
        assert await bound.recv() == b"from the first"
        await bound.send(b"back")
        assert await first.recv() == b"back"
        assert bound.statistics().peers == 1


async def test_pub_sub_subscriptions_cross_loops(ctx: zmtrio.Context) -> None:
    subscribed = threading.Event()

    async def subscriber(ctx: zmtrio.Context) -> list[bytes]:
        async with ctx.socket(zmtrio.SUB) as sub:
            sub.subscribe(b"keep")
            await sub.connect("inproc://pub")
            subscribed.set()
            return [await sub.recv() for _ in range(3)]

    async with ctx.socket(zmtrio.XPUB) as pub:
        await pub.bind("inproc://pub")
        worker = in_worker(ctx, subscriber)
        # XPUB hands the subscription over: it crossed the ring toward this loop.
        assert await pub.recv() == b"\x01keep"
        for index in range(3):
            await pub.send(b"drop %d" % index)
            await pub.send(b"keep %d" % index)
        assert await worker.join() == [b"keep 0", b"keep 1", b"keep 2"]


async def test_pub_in_another_loop_reaches_a_sub_once_subscribed(ctx: zmtrio.Context) -> None:
    done = threading.Event()

    async def publisher(ctx: zmtrio.Context) -> None:
        async with ctx.socket(zmtrio.PUB) as pub:
            await pub.bind("inproc://news")
            # Until the subscription crosses over, PUB drops: publish until told to stop.
            while not done.is_set():
                await pub.send_multipart([b"other", b"ignored"])
                await pub.send_multipart([b"news", b"flash"])
                await trio.sleep(0.001)

    worker = in_worker(ctx, publisher)
    async with ctx.socket(zmtrio.SUB) as sub:
        sub.subscribe(b"news")
        await sub.connect("inproc://news")
        for _ in range(3):
            assert await sub.recv_multipart() == [b"news", b"flash"]
        done.set()
    await worker.join()


async def test_xsub_forwards_subscriptions_to_an_xpub_in_another_loop(
    ctx: zmtrio.Context,
) -> None:
    async def xsub_side(ctx: zmtrio.Context) -> list[bytes]:
        async with ctx.socket(zmtrio.XSUB) as xsub:
            await xsub.connect("inproc://xpub")
            await xsub.send(b"\x01topic")
            return await xsub.recv_multipart()

    async with ctx.socket(zmtrio.XPUB) as xpub:
        await xpub.bind("inproc://xpub")
        worker = in_worker(ctx, xsub_side)
        assert await xpub.recv() == b"\x01topic"
        await xpub.send_multipart([b"topic", b"body"])
        assert await worker.join() == [b"topic", b"body"]


async def test_dealer_to_dealer_both_ways_across_loops(ctx: zmtrio.Context) -> None:
    async def echo(ctx: zmtrio.Context) -> None:
        async with ctx.socket(zmtrio.DEALER) as dealer:
            await dealer.bind("inproc://dealers")
            for _ in range(100):
                await dealer.send_multipart(await dealer.recv_multipart())

    worker = in_worker(ctx, echo)
    async with ctx.socket(zmtrio.DEALER) as dealer:
        await dealer.connect("inproc://dealers")
        for index in range(100):
            await dealer.send_multipart([b"a", b"%d" % index])
        replies = [await dealer.recv_multipart() for _ in range(100)]
        assert replies == [[b"a", b"%d" % index] for index in range(100)]
    await worker.join()


async def test_conflate_across_loops_delivers_only_the_newest(ctx: zmtrio.Context) -> None:
    bound = threading.Event()
    sent = threading.Event()

    async def sender(ctx: zmtrio.Context) -> None:
        async with ctx.socket(zmtrio.PUSH) as push:
            await push.bind("inproc://conflate")
            bound.set()
            for number in range(100):
                await push.send(b"%d" % number)
            sent.set()

    worker = in_worker(ctx, sender)
    await trio.to_thread.run_sync(bound.wait, TEST_TIMEOUT, abandon_on_cancel=True)
    async with ctx.socket(zmtrio.PULL) as pull:
        pull.conflate = 1
        await pull.connect("inproc://conflate")
        await worker.join()
        assert sent.is_set()
        assert await pull.recv() == b"99"
        with pytest.raises(zmtrio.Again):
            pull.recv_nowait()


async def test_high_water_mark_is_sndhwm_plus_rcvhwm(ctx: zmtrio.Context) -> None:
    release = threading.Event()

    async def stalled_receiver(ctx: zmtrio.Context) -> int:
        async with ctx.socket(zmtrio.PULL) as pull:
            pull.rcvhwm = 7
            await pull.bind("inproc://hwm")
            await trio.to_thread.run_sync(release.wait, TEST_TIMEOUT, abandon_on_cancel=True)
            received = 0
            with trio.move_on_after(0.5):
                while True:
                    await pull.recv()
                    received += 1
            return received

    worker = in_worker(ctx, stalled_receiver)
    async with ctx.socket(zmtrio.PUSH) as push:
        push.sndhwm = 5
        await wait_for_bind(push, "inproc://hwm")
        queued = 0
        while True:
            try:
                push.send_nowait(b"x")
            except zmtrio.Again:
                break
            queued += 1
        assert queued == 5 + 7
        release.set()
        assert await worker.join() == queued


# ---------------------------------------------------------------- more patterns across loops


async def _send_when_routable(sock: zmtrio.Socket, message: list[bytes]) -> None:
    """A ROUTER with ROUTER_MANDATORY refuses an id it does not know yet (EHOSTUNREACH):
    the link to the other loop is made in steps, so try again until it is known."""
    while True:
        try:
            await sock.send_multipart(message)
            return
        except ZMQError as error:
            if error.errno != errno.EHOSTUNREACH:
                raise
        await trio.sleep(0.001)


async def test_router_to_router_across_loops(ctx: zmtrio.Context) -> None:
    async def spoke(ctx: zmtrio.Context) -> list[bytes]:
        async with ctx.socket(zmtrio.ROUTER) as router:
            router.routing_id = b"spoke"
            router.router_mandatory = 1
            await router.connect("inproc://router-router")
            await _send_when_routable(router, [b"hub", b"hello"])
            return await router.recv_multipart()

    async with ctx.socket(zmtrio.ROUTER) as hub:
        hub.routing_id = b"hub"
        await hub.bind("inproc://router-router")
        worker = in_worker(ctx, spoke)
        assert await hub.recv_multipart() == [b"spoke", b"hello"]
        await hub.send_multipart([b"spoke", b"back"])
        assert await worker.join() == [b"hub", b"back"]


async def test_req_to_router_across_loops(ctx: zmtrio.Context) -> None:
    async def client(ctx: zmtrio.Context) -> list[bytes]:
        async with ctx.socket(zmtrio.REQ) as req:
            req.routing_id = b"client"
            await req.connect("inproc://req-router")
            replies = []
            for index in range(20):
                await req.send(b"q%d" % index)
                replies.append(await req.recv())
            return replies

    async with ctx.socket(zmtrio.ROUTER) as router:
        await router.bind("inproc://req-router")
        worker = in_worker(ctx, client)
        for index in range(20):
            # REQ's envelope: its routing id, the empty delimiter, the body.
            routing_id, delimiter, body = await router.recv_multipart()
            assert (routing_id, delimiter, body) == (b"client", b"", b"q%d" % index)
            await router.send_multipart([routing_id, b"", b"a%d" % index])
        assert await worker.join() == [b"a%d" % index for index in range(20)]


async def test_dealer_to_rep_across_loops(ctx: zmtrio.Context) -> None:
    async def client(ctx: zmtrio.Context) -> list[list[bytes]]:
        async with ctx.socket(zmtrio.DEALER) as dealer:
            await dealer.connect("inproc://dealer-rep")
            # A DEALER talking to a REP writes the delimiter itself, and may pipeline.
            for index in range(20):
                await dealer.send_multipart([b"", b"q%d" % index])
            return [await dealer.recv_multipart() for _ in range(20)]

    async with ctx.socket(zmtrio.REP) as rep:
        await rep.bind("inproc://dealer-rep")
        worker = in_worker(ctx, client)
        for index in range(20):
            assert await rep.recv() == b"q%d" % index
            await rep.send(b"a%d" % index)
        assert await worker.join() == [[b"", b"a%d" % index] for index in range(20)]


async def test_client_server_across_loops(ctx: zmtrio.Context) -> None:
    async def client(ctx: zmtrio.Context) -> bytes:
        async with ctx.socket(zmtrio.CLIENT) as sock:
            await sock.connect("inproc://client-server")
            await sock.send(b"ping")
            return await sock.recv()

    async with ctx.socket(zmtrio.SERVER) as server:
        await server.bind("inproc://client-server")
        worker = in_worker(ctx, client)
        request = await server.recv_message()
        assert request[0] == b"ping" and request.routing_id is not None
        await server.send(b"pong", routing_id=request.routing_id)
        assert await worker.join() == b"pong"


async def test_scatter_gather_across_loops(ctx: zmtrio.Context) -> None:
    async def scatter(ctx: zmtrio.Context) -> None:
        async with ctx.socket(zmtrio.SCATTER) as sock:
            await sock.connect("inproc://scatter-gather")
            for index in range(100):
                await sock.send(b"%d" % index)

    async with ctx.socket(zmtrio.GATHER) as gather:
        await gather.bind("inproc://scatter-gather")
        worker = in_worker(ctx, scatter)
        assert [await gather.recv() for _ in range(100)] == [b"%d" % i for i in range(100)]
        await worker.join()


async def test_radio_dish_across_loops(ctx: zmtrio.Context) -> None:
    joined = threading.Event()
    done = threading.Event()

    async def radio(ctx: zmtrio.Context) -> None:
        async with ctx.socket(zmtrio.RADIO) as sock:
            await sock.bind("inproc://radio-dish")
            await trio.to_thread.run_sync(joined.wait, TEST_TIMEOUT, abandon_on_cancel=True)
            # Until the join crosses over, RADIO drops the group's messages: repeat.
            while not done.is_set():
                await sock.send(b"other", group="other")
                await sock.send(b"news", group="tv")
                await trio.sleep(0.001)

    worker = in_worker(ctx, radio)
    async with ctx.socket(zmtrio.DISH) as dish:
        dish.join("tv")
        await wait_for_bind(dish, "inproc://radio-dish")
        joined.set()
        for _ in range(3):
            message = await dish.recv_message()
            assert (message[0], message.group) == (b"news", b"tv")
        done.set()
    await worker.join()


async def test_peer_and_channel_across_loops(ctx: zmtrio.Context) -> None:
    async def other_side(ctx: zmtrio.Context) -> tuple[bytes, bytes]:
        async with ctx.socket(zmtrio.PEER) as peer, ctx.socket(zmtrio.CHANNEL) as channel:
            routing_id = await peer.connect_peer("inproc://peer")
            await peer.send(b"to the hub", routing_id=routing_id)
            await channel.connect("inproc://channel")
            await channel.send(b"on the channel")
            return await peer.recv(), await channel.recv()

    async with ctx.socket(zmtrio.PEER) as hub, ctx.socket(zmtrio.CHANNEL) as channel:
        await hub.bind("inproc://peer")
        await channel.bind("inproc://channel")
        worker = in_worker(ctx, other_side)
        message = await hub.recv_message()
        assert message[0] == b"to the hub" and message.routing_id is not None
        await hub.send(b"back from the hub", routing_id=message.routing_id)
        assert await channel.recv() == b"on the channel"
        await channel.send(b"back on the channel")
        assert await worker.join() == (b"back from the hub", b"back on the channel")


# ---------------------------------------------------------------- closing and cancelling


async def test_sender_closing_mid_stream_loses_nothing_it_queued(ctx: zmtrio.Context) -> None:
    async def sender(ctx: zmtrio.Context) -> None:
        push = ctx.socket(zmtrio.PUSH)
        await push.connect("inproc://drain")
        for number in range(300):
            await push.send(number.to_bytes(2, "big"))
        push.close()  # at once, with messages still in the ring

    async with ctx.socket(zmtrio.PULL) as pull:
        await pull.bind("inproc://drain")
        await in_worker(ctx, sender).join()
        received = [int.from_bytes(await pull.recv(), "big") for _ in range(300)]
        assert received == list(range(300))
        await wait_until(lambda: pull.statistics().peers == 0)
        assert await pull.poll(zmtrio.POLLIN, timeout=0) == 0


async def test_sender_closing_with_messages_past_the_ring_loses_none(
    ctx: zmtrio.Context,
) -> None:
    # No high-water mark: past the ring's slots messages wait in the sender's spill, and
    # a close at once hands them over too.
    count = 5000

    async def sender(ctx: zmtrio.Context) -> None:
        push = ctx.socket(zmtrio.PUSH)
        push.sndhwm = 0
        await push.connect("inproc://spill")
        for number in range(count):
            await push.send(number.to_bytes(2, "big"))
        push.close()

    async with ctx.socket(zmtrio.PULL) as pull:
        pull.rcvhwm = 0
        await pull.bind("inproc://spill")
        await in_worker(ctx, sender).join()
        received = [int.from_bytes(await pull.recv(), "big") for _ in range(count)]
        assert received == list(range(count))
        assert await pull.poll(zmtrio.POLLIN, timeout=0) == 0


async def test_receiver_closing_mid_stream_leaves_the_sender_working(
    ctx: zmtrio.Context,
) -> None:
    async def receiver(ctx: zmtrio.Context) -> int:
        async with ctx.socket(zmtrio.PULL) as pull:
            await pull.bind("inproc://gone")
            for _ in range(10):
                await pull.recv()
        return 10

    async with ctx.socket(zmtrio.PUSH) as push, ctx.socket(zmtrio.PULL) as other:
        push.sndhwm = 20
        await other.bind("inproc://still-here")
        worker = in_worker(ctx, receiver)
        await wait_for_bind(push, "inproc://gone")
        for number in range(10):
            await push.send(b"%d" % number)
        assert await worker.join() == 10
        # The closed receiver's peer is dropped (the bind side went away: no reconnect for
        # a bound inproc name), and the socket goes on with its other peer.
        await push.connect("inproc://still-here")
        await push.send(b"after")
        with trio.fail_after(5):
            while (message := await other.recv()) != b"after":
                pass
        assert message == b"after"


async def wait_for_bind(sock: zmtrio.Socket, endpoint: str) -> None:
    """Connect once ``endpoint`` is bound (the other loop binds it), with IMMEDIATE on so
    the link exists only once joined."""
    sock.immediate = 1
    await sock.connect(endpoint)
    await wait_until(lambda: sock.statistics().peers >= 1)


async def test_a_loop_exiting_with_messages_queued_toward_it(ctx: zmtrio.Context) -> None:
    got_one = threading.Event()

    async def short_lived(ctx: zmtrio.Context) -> bytes:
        pull = ctx.socket(zmtrio.PULL)
        await pull.connect("inproc://exiting")
        message = await pull.recv()
        got_one.set()
        return message  # attach() closes the PULL; then the loop ends

    async with ctx.socket(zmtrio.PUSH) as push:
        push.immediate = 1
        await push.bind("inproc://exiting")
        worker = in_worker(ctx, short_lived)
        await wait_until(lambda: push.statistics().peers == 1)
        await push.send(b"first")
        for _ in range(200):
            push.send_nowait(b"queued toward a loop about to exit")
        assert await worker.join() == b"first"
        assert got_one.is_set()
        await wait_until(lambda: push.statistics().peers == 0)
        with pytest.raises(zmtrio.Again):
            push.send_nowait(b"nobody left")


async def test_cancellation_in_both_loops(ctx: zmtrio.Context) -> None:
    go_on = threading.Event()
    cancelled = threading.Event()

    async def receiver(ctx: zmtrio.Context) -> list[bytes]:
        async with ctx.socket(zmtrio.PULL) as pull:
            pull.rcvhwm = 1
            await pull.bind("inproc://cancel")
            with trio.move_on_after(0.05) as scope:
                await pull.recv()  # nothing sent yet: cancelled while waiting
            assert scope.cancelled_caught
            cancelled.set()
            await trio.to_thread.run_sync(go_on.wait, TEST_TIMEOUT, abandon_on_cancel=True)
            return [await pull.recv() for _ in range(3)]

    worker = in_worker(ctx, receiver)
    await trio.to_thread.run_sync(cancelled.wait, TEST_TIMEOUT, abandon_on_cancel=True)
    async with ctx.socket(zmtrio.PUSH) as push:
        push.sndhwm = 1
        await wait_for_bind(push, "inproc://cancel")
        await push.send(b"one")
        await push.send(b"two")
        # The pipe (SNDHWM 1 + RCVHWM 1) is full: this send waits, and is cancelled.
        with trio.move_on_after(0.05) as scope:
            await push.send(b"cancelled")
        assert scope.cancelled_caught
        go_on.set()
        await push.send(b"three")
        assert await worker.join() == [b"one", b"two", b"three"]


async def test_ten_loops_fan_in_to_one_pull(ctx: zmtrio.Context) -> None:
    per_thread = 500

    def sender(index: int) -> Callable[[zmtrio.Context], Awaitable[None]]:
        async def send_all(ctx: zmtrio.Context) -> None:
            async with ctx.socket(zmtrio.PUSH) as push:
                await push.connect("inproc://fan-in")
                for number in range(per_thread):
                    await push.send_multipart([b"%d" % index, b"%d" % number])

        return send_all

    async with ctx.socket(zmtrio.PULL) as pull:
        await pull.bind("inproc://fan-in")
        workers = [in_worker(ctx, sender(index)) for index in range(10)]
        seen: dict[int, list[int]] = {index: [] for index in range(10)}
        for _ in range(10 * per_thread):
            index, number = await pull.recv_multipart()
            seen[int(index)].append(int(number))
        for worker in workers:
            await worker.join()
    assert all(numbers == list(range(per_thread)) for numbers in seen.values())


# ---------------------------------------------------------------- wakes


async def test_a_burst_wakes_the_other_loop_once(ctx: zmtrio.Context) -> None:
    from zmtrio._transport._inproc_threads import cross_thread_wakes

    sent = threading.Event()

    async def receiver(ctx: zmtrio.Context) -> tuple[int, int]:
        async with ctx.socket(zmtrio.PULL) as pull:
            await pull.bind("inproc://burst")
            await trio.to_thread.run_sync(sent.wait, TEST_TIMEOUT, abandon_on_cancel=True)
            batch = await pull.recv_batch(1000)
            return len(batch), cross_thread_wakes(list(pull._peers))

    worker = in_worker(ctx, receiver)
    async with ctx.socket(zmtrio.PUSH) as push:
        await wait_for_bind(push, "inproc://burst")
        for _ in range(500):
            await push.send(b"burst")
        wakes = cross_thread_wakes(list(push._peers))
        sent.set()
        received, receiver_wakes = await worker.join()
    assert received == 500
    assert wakes == 1, "one wake for the whole burst, toward the receiving loop"
    assert receiver_wakes == 0, "the sender never waited for room"


# ---------------------------------------------------------------- ownership


async def test_a_socket_used_from_another_thread_raises_at_once(ctx: zmtrio.Context) -> None:
    sock = ctx.socket(zmtrio.PUSH)
    errors: list[BaseException] = []

    def plain_thread() -> None:
        for call in (lambda: sock.send_nowait(b"x"), sock.close, lambda: sock.sndhwm):
            try:
                call()
            except BaseException as exc:
                errors.append(exc)

    thread = threading.Thread(target=plain_thread)
    thread.start()
    await trio.to_thread.run_sync(thread.join, TEST_TIMEOUT, abandon_on_cancel=True)
    assert [type(error) for error in errors] == [ZMQError] * 3
    assert all(error.errno == errno.ENOTSUP for error in errors if isinstance(error, ZMQError))

    async def from_other_loop(ctx: zmtrio.Context) -> int:
        with pytest.raises(ZMQError) as raised:
            await sock.send(b"x")
        return raised.value.errno

    assert await in_worker(ctx, from_other_loop).join() == errno.ENOTSUP
    assert not sock.closed
    sock.close()


def test_thread_token_is_one_object_per_thread_never_reused() -> None:
    from zmtrio._core import thread_token

    here = thread_token()
    assert thread_token() is here
    others: list[object] = []
    for _ in range(3):  # each thread ends before the next starts: no address is reused
        thread = threading.Thread(target=lambda: others.append(thread_token()))
        thread.start()
        thread.join(TEST_TIMEOUT)
    assert len({id(token) for token in [here, *others]}) == 4
    assert thread_token() is here


async def test_context_rules_for_threads(ctx: zmtrio.Context) -> None:
    async def without_attach() -> int:
        with pytest.raises(ZMQError) as raised:
            ctx.socket(zmtrio.PUSH)
        return raised.value.errno

    assert await Worker(without_attach).join() == errno.ENOTSUP

    async def attach_twice(ctx: zmtrio.Context) -> int:
        with pytest.raises(ZMQError) as raised:
            async with ctx.attach():
                pass
        return raised.value.errno

    assert await in_worker(ctx, attach_twice).join() == errno.EINVAL
    with pytest.raises(ZMQError) as raised:
        async with ctx.attach():
            pass
    assert raised.value.errno == errno.EINVAL, "the owner's loop uses the context already"

    unentered = zmtrio.Context()

    async def attach_unentered() -> int:
        with pytest.raises(ZMQError) as raised:
            async with unentered.attach():
                pass
        return raised.value.errno

    assert await Worker(attach_unentered).join() == errno.EINVAL


async def test_closing_the_context_closes_attached_loops_sockets() -> None:
    waiting = threading.Event()

    async def blocked_receiver(ctx: zmtrio.Context) -> int:
        pull = ctx.socket(zmtrio.PULL)
        await pull.bind("inproc://closing")
        waiting.set()
        with pytest.raises(trio.ClosedResourceError):
            await pull.recv()
        with pytest.raises(ZMQError) as raised:
            ctx.socket(zmtrio.PULL)
        return raised.value.errno

    async with zmtrio.Context() as ctx:
        worker = in_worker(ctx, blocked_receiver)
        await trio.to_thread.run_sync(waiting.wait, TEST_TIMEOUT, abandon_on_cancel=True)
    assert await worker.join() == zmtrio.ETERM


def test_the_readme_threads_example_runs() -> None:
    """The README's worker-thread example, run as written (in a subprocess, bounded)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("\n## Threads\n", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    result = subprocess.run(
        [sys.executable, "-c", example],
        capture_output=True,
        text=True,
        timeout=TEST_TIMEOUT,
        check=True,
    )
    assert result.stdout.split() == ["b'result", "0'", "b'result", "1'", "b'result", "2'"]


def test_bench_inproc_threads_reports_rates_ratios_and_wakes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from zmtrio._cli import main

    main(["bench", "--workload", "inproc-threads", "--count", "3000", "--vs", "pyzmq"])
    lines = capsys.readouterr().out.splitlines()
    table = lines[[line.split()[:1] for line in lines].index(["library"]) + 1 :]
    rows = [line.split() for line in table if line]
    assert [row[0] for row in rows] == ["zmtrio"] * 4 + ["pyzmq"]
    assert [" ".join(row[-7:-5]) for row in rows[:4]] == ["two loops", "one loop"] * 2
    for row in rows[:4]:
        assert row[-1] == "pyzmq" and row[-2].endswith("x")
    per_message_wakes = float(rows[0][-3])
    assert 0 < per_message_wakes <= 2, "at most a wake each way per message"
    assert rows[1][-3] == "-", "one loop: no ring, no cross-thread wake"
