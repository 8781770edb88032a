"""``BUSY_POLL``: a REQ or REP reading its connection in place first keeps trying to read for
that many microseconds, without yielding, before it parks (``InPlaceReader._spin``).

Behaviour only, no timing: the option's range and socket types, a reply that arrives within
the spin is taken by it, a reply that comes after the spin ran out is still received (the
receiver parked as without the option), and a REP serving with the option answers every
request, and receives taken by spins still let the loop's other tasks run. The peers
answering within a spin run in threads of their own (a spin holds the trio loop, so a peer
in the loop could never answer during it)."""

from __future__ import annotations

import errno
import socket as stdlib_socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from zmtrio._read_in_place import SPINS_BETWEEN_YIELDS, InPlaceReader

from tests.conftest import ZmqPeer, wait_until

TCP = "tcp://127.0.0.1:*"

#: The largest spin the option takes, in microseconds: a reply from a thread comes within it.
LONGEST_SPIN = 1_000_000

#: Round trips per test: the first ones go through the reader task, the later ones read in
#: place (and so spin).
ROUND_TRIPS = 20


@pytest.fixture
def spins(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each spin of any connection returned (True: it read something)."""
    results: list[bool] = []
    spin = InPlaceReader._spin

    def recorded(reader: InPlaceReader, busy_poll_us: int) -> bool:
        result = spin(reader, busy_poll_us)
        results.append(result)
        return result

    monkeypatch.setattr(InPlaceReader, "_spin", recorded)
    return results


def _echo(sock: zmq.Socket[Any], count: int) -> None:
    """Answer ``count`` requests with ``re: `` and the request (blocking, in a thread)."""
    for _ in range(count):
        sock.send(b"re: " + sock.recv())


def _ask(sock: zmq.Socket[Any], count: int, answers: list[bytes]) -> None:
    """Send ``count`` requests, keeping the answers (blocking, in a thread)."""
    for n in range(count):
        sock.send(b"q%d" % n)
        answers.append(sock.recv())


@pytest.fixture
def echo_thread(zctx: zmq.Context[Any]) -> Iterator[tuple[str, threading.Thread]]:
    """A pyzmq REP answering ROUND_TRIPS requests in a thread; its endpoint."""
    rep = zctx.socket(zmq.REP)
    rep.rcvtimeo = rep.sndtimeo = 10_000
    rep.linger = 0
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    thread = threading.Thread(target=_echo, args=(rep, ROUND_TRIPS), daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{port}", thread
    thread.join(10)
    rep.close(linger=0)


async def test_busy_poll_is_a_req_and_rep_option(ctx: zmtrio.Context) -> None:
    for socket_type in (zmtrio.REQ, zmtrio.REP):
        sock = ctx.socket(socket_type)
        assert sock.busy_poll == 0  # off unless asked
        sock.busy_poll = 50
        assert sock.getsockopt(zmtrio.BUSY_POLL) == 50
        for wrong in (-1, LONGEST_SPIN + 1):
            with pytest.raises(zmtrio.ZMQError) as raised:
                sock.busy_poll = wrong
            assert raised.value.errno == errno.EINVAL
        sock.close()
    # Other types never read in place: refused, not silently ignored.
    push = ctx.socket(zmtrio.PUSH)
    with pytest.raises(zmtrio.ZMQError) as refused:
        push.busy_poll = 50
    assert refused.value.errno == zmtrio.ENOTSUP
    push.close()


async def test_req_takes_a_reply_that_comes_within_the_spin(
    ctx: zmtrio.Context, echo_thread: tuple[str, threading.Thread], spins: list[bool]
) -> None:
    endpoint, _ = echo_thread
    req = ctx.socket(zmtrio.REQ)
    req.busy_poll = LONGEST_SPIN
    await req.connect(endpoint)
    for n in range(ROUND_TRIPS):
        await req.send(b"q%d" % n)
        assert await req.recv() == b"re: q%d" % n
    assert True in spins


async def test_req_parks_when_the_spin_runs_out(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], spins: list[bool]
) -> None:
    rep = ZmqPeer(zctx, zmq.REP)
    req = ctx.socket(zmtrio.REQ)
    req.busy_poll = 1
    await req.connect(rep.bind(TCP))
    replies: list[bytes] = []

    async def client() -> None:
        for n in range(5):
            await req.send(b"q%d" % n)
            replies.append(await req.recv())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(client)
        for n in range(5):
            assert await rep.recv_multipart() == [b"q%d" % n]
            if n >= 2:
                # Answer only once the REQ waits in place: its spin is over by then (it
                # holds the loop while it spins), so the reply finds it parked.
                await wait_until(lambda: req._reading is not None)
            await rep.send_multipart([b"re: q%d" % n])
    assert replies == [b"re: q%d" % n for n in range(5)]
    assert False in spins


async def test_rep_serves_every_request_with_busy_poll(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], spins: list[bool]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    rep.busy_poll = LONGEST_SPIN
    endpoint = await rep.bind(TCP)
    client = zctx.socket(zmq.REQ)
    client.rcvtimeo = client.sndtimeo = 10_000
    client.linger = 0
    client.connect(endpoint)
    answers: list[bytes] = []
    thread = threading.Thread(target=_ask, args=(client, ROUND_TRIPS, answers), daemon=True)
    thread.start()
    try:
        for _ in range(ROUND_TRIPS):
            await rep.send(b"re: " + await rep.recv())
    finally:
        await trio.to_thread.run_sync(thread.join, 10)
        client.close(linger=0)
    assert answers == [b"re: q%d" % n for n in range(ROUND_TRIPS)]
    assert True in spins


async def test_receives_taken_by_spins_still_let_other_tasks_run() -> None:
    """A receiver whose every spin succeeds (a peer that always answers at once) yields to
    the loop's other tasks every SPINS_BETWEEN_YIELDS receives."""
    left, right = stdlib_socket.socketpair()
    reader = InPlaceReader(left, lambda: True)  # every attempt "reads something"
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            await trio.lowlevel.checkpoint()  # the ticker is running
            ticks = 0
            for _ in range(10 * SPINS_BETWEEN_YIELDS):
                assert await reader.read_for_receiver(LONGEST_SPIN)
            nursery.cancel_scope.cancel()
    finally:
        reader.close()
        left.close()
        right.close()
    # About one tick per yield (10): trio's random order in a batch may cost one or two;
    # without the yields the ticker would not run at all.
    assert ticks >= 5
