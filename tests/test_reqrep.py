"""REQ, REP, DEALER and ROUTER behaviour, checked against libzmq's (pyzmq as the peer where
the wire matters): call order (EFSM), REQ_RELAXED, REQ_CORRELATE, load-balancing and
fair-queueing, routing by id, ROUTER_MANDATORY, ROUTER_HANDOVER, PROBE_ROUTER, and a
load-balancing broker end to end."""

from __future__ import annotations

import errno
import sys
import threading
from typing import Any

import pytest
import trio
import trio.testing
import zmq
import zmtrio

from tests.conftest import ZmqPeer, wait_until
from tests.hostile import _raw

TCP = "tcp://127.0.0.1:*"


async def _req_rep(ctx: zmtrio.Context, name: str) -> tuple[zmtrio.Socket, zmtrio.Socket]:
    req, rep = ctx.socket(zmtrio.REQ), ctx.socket(zmtrio.REP)
    await req.connect(await rep.bind("inproc://" + name))
    return req, rep


async def _routable(router: zmq.Socket[Any], routing_id: bytes, frames: list[bytes]) -> None:
    """Send from a pyzmq ROUTER (with ROUTER_MANDATORY) once ``routing_id`` is connected."""
    while True:
        try:
            router.send_multipart([routing_id, *frames], flags=zmq.NOBLOCK)
            return
        except zmq.ZMQError as exc:
            if exc.errno not in (errno.EHOSTUNREACH, errno.EAGAIN):
                raise
        await trio.sleep(0.005)


# ---------------------------------------------------------------- call order (EFSM)


async def test_req_must_alternate(ctx: zmtrio.Context) -> None:
    req, rep = await _req_rep(ctx, "req-efsm")
    with pytest.raises(zmtrio.ZMQError) as info:
        await req.recv()
    assert info.value.errno == zmtrio.EFSM
    with pytest.raises(zmtrio.ZMQError) as info:
        req.recv_multipart_nowait()
    assert info.value.errno == zmtrio.EFSM
    with pytest.raises(zmtrio.ZMQError) as info:
        await req.recv_batch(10)
    assert info.value.errno == zmtrio.EFSM
    assert await req.poll(zmtrio.POLLOUT, timeout=0) == zmtrio.POLLOUT

    await req.send(b"one")
    with pytest.raises(zmtrio.ZMQError) as info:
        await req.send(b"two")
    assert info.value.errno == zmtrio.EFSM
    with pytest.raises(zmtrio.ZMQError) as info:
        req.send_nowait(b"two")
    assert info.value.errno == zmtrio.EFSM
    assert await req.poll(zmtrio.POLLOUT, timeout=0) == 0

    # The refused send changed nothing: the first request is answered as usual.
    assert await rep.recv_multipart() == [b"one"]
    await rep.send(b"reply")
    assert await req.recv_batch(10) == [[b"reply"]]
    with pytest.raises(zmtrio.ZMQError) as info:
        await req.recv()
    assert info.value.errno == zmtrio.EFSM


async def test_rep_must_alternate(ctx: zmtrio.Context) -> None:
    req, rep = await _req_rep(ctx, "rep-efsm")
    with pytest.raises(zmtrio.ZMQError) as info:
        await rep.send(b"unasked")
    assert info.value.errno == zmtrio.EFSM
    assert await rep.poll(zmtrio.POLLOUT, timeout=0) == 0

    await req.send_multipart([b"q", b"2"])
    assert await rep.recv_multipart() == [b"q", b"2"]
    with pytest.raises(zmtrio.ZMQError) as info:
        await rep.recv_multipart()
    assert info.value.errno == zmtrio.EFSM
    with pytest.raises(zmtrio.ZMQError) as info:
        rep.recv_nowait()
    assert info.value.errno == zmtrio.EFSM
    assert await rep.poll(zmtrio.POLLOUT, timeout=0) == zmtrio.POLLOUT
    await rep.send(b"a")
    assert await req.recv() == b"a"
    with pytest.raises(zmtrio.ZMQError) as info:
        await rep.send(b"again")
    assert info.value.errno == zmtrio.EFSM


async def test_req_without_peers_blocks_and_keeps_its_state(ctx: zmtrio.Context) -> None:
    req = ctx.socket(zmtrio.REQ)
    with pytest.raises(zmtrio.Again):
        req.send_nowait(b"nobody")
    # The refused request left REQ ready to send, not waiting for a reply.
    with pytest.raises(zmtrio.ZMQError) as info:
        req.recv_nowait()
    assert info.value.errno == zmtrio.EFSM
    with trio.move_on_after(0.05) as scope:
        await req.send(b"nobody")
    assert scope.cancelled_caught
    rep = ctx.socket(zmtrio.REP)
    await req.connect(await rep.bind("inproc://late-rep"))
    await req.send(b"now")
    assert await rep.recv() == b"now"


async def test_rep_reply_to_a_vanished_peer_is_dropped(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(TCP)
    gone = ZmqPeer(zctx, zmq.REQ)
    gone.connect(endpoint)
    await gone.send_multipart([b"from gone"])
    assert await rep.recv() == b"from gone"
    gone.close()
    await wait_until(lambda: rep.statistics().peers == 0)
    await rep.send(b"nobody listens")  # never blocks, never raises

    stays = ZmqPeer(zctx, zmq.REQ)
    stays.connect(endpoint)
    await stays.send_multipart([b"from stays"])
    assert await rep.recv() == b"from stays"
    await rep.send(b"ok")
    assert await stays.recv_multipart() == [b"ok"]


# ---------------------------------------------------------------- REQ


async def test_req_takes_the_reply_only_from_its_peer(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    first, second = ZmqPeer(zctx, zmq.ROUTER), ZmqPeer(zctx, zmq.ROUTER)
    second.sock.router_mandatory = 1
    req = ctx.socket(zmtrio.REQ)
    req.routing_id = b"req"
    await req.connect(first.bind(TCP))
    await req.connect(second.bind(TCP))

    await req.send_multipart([b"question"])  # round-robin starts at the first connect
    assert await first.recv_multipart() == [b"req", b"", b"question"]
    # A stray "reply" from the other peer arrives first: REQ drops it.
    await _routable(second.sock, b"req", [b"", b"stray"])
    await wait_until(lambda: req.statistics().queued_inbound == 1)
    # So are replies without the empty delimiter, or with nothing after it.
    await first.send_multipart([b"req", b"no delimiter"])
    await first.send_multipart([b"req", b""])
    await first.send_multipart([b"req", b"", b"answer", b"2"])
    assert await req.recv_multipart() == [b"answer", b"2"]
    assert req.statistics().queued_inbound == 0


async def test_req_round_robin_over_three_reps(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    reps = [ZmqPeer(zctx, zmq.REP) for _ in range(3)]
    req = ctx.socket(zmtrio.REQ)
    for rep in reps:
        await req.connect(rep.bind(TCP))

    async def serve(rep: ZmqPeer, name: bytes, count: int) -> None:
        for _ in range(count):
            request = await rep.recv_multipart()
            await rep.send_multipart([name, *request])

    served_by = []
    async with trio.open_nursery() as nursery:
        for index, rep in enumerate(reps):
            nursery.start_soon(serve, rep, b"rep%d" % index, 3)
        for i in range(9):
            await req.send(b"%d" % i)
            name, echoed = await req.recv_multipart()
            assert echoed == b"%d" % i
            served_by.append(name)
    # Peers attach in connect order, and the REQ takes them in turn.
    assert served_by == [b"rep0", b"rep1", b"rep2"] * 3


async def test_req_relaxed_drops_an_earlier_reply(ctx: zmtrio.Context) -> None:
    req, rep = await _req_rep(ctx, "relaxed")
    req.req_relaxed = 1
    await req.send(b"first")
    assert await rep.recv() == b"first"
    await rep.send(b"reply to first")
    assert await req.poll(zmtrio.POLLIN, timeout=1000) == zmtrio.POLLIN
    # Relaxed: a new request without reading the reply; the unread reply is dropped.
    assert await req.poll(zmtrio.POLLOUT, timeout=0) == zmtrio.POLLOUT
    await req.send(b"second")
    assert await rep.recv() == b"second"
    await rep.send(b"reply to second")
    assert await req.recv() == b"reply to second"


@pytest.mark.parametrize("rep_kind", ["zmtrio", "pyzmq"])
async def test_req_correlate_with_relaxed_ignores_a_late_reply(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], rep_kind: str
) -> None:
    req = ctx.socket(zmtrio.REQ)
    req.req_relaxed = 1
    req.req_correlate = 1
    if rep_kind == "zmtrio":
        rep: zmtrio.Socket | ZmqPeer = ctx.socket(zmtrio.REP)
        assert isinstance(rep, zmtrio.Socket)
        await req.connect(await rep.bind(TCP))
    else:
        rep = ZmqPeer(zctx, zmq.REP)
        await req.connect(rep.bind(TCP))
    for round_number in range(3):
        await req.send(b"slow %d" % round_number)
        assert await rep.recv_multipart() == [b"slow %d" % round_number]
        # The REQ gives up on it and asks again before the reply comes.
        await req.send(b"fast %d" % round_number)
        await rep.send_multipart([b"late reply %d" % round_number])
        assert await rep.recv_multipart() == [b"fast %d" % round_number]
        await rep.send_multipart([b"reply %d" % round_number])
        # The late reply carries the earlier request id: dropped.
        assert await req.recv_multipart() == [b"reply %d" % round_number]


async def test_req_correlate_wire_format(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    router = ZmqPeer(zctx, zmq.ROUTER)
    req = ctx.socket(zmtrio.REQ)
    req.routing_id = b"req"
    req.req_correlate = 1
    await req.connect(router.bind(TCP))

    await req.send(b"one")
    identity, request_id, delimiter, body = await router.recv_multipart()
    assert (identity, delimiter, body) == (b"req", b"", b"one")
    assert len(request_id) == 4
    # A reply with another id (or none) is dropped; the echoed id is accepted.
    number = int.from_bytes(request_id, sys.byteorder)
    wrong = ((number + 7) % 2**32).to_bytes(4, sys.byteorder)
    await router.send_multipart([b"req", wrong, b"", b"wrong id"])
    await router.send_multipart([b"req", b"", b"no id"])
    await router.send_multipart([b"req", request_id, b"", b"right"])
    assert await req.recv() == b"right"

    await req.send(b"two")
    _, next_id, _, _ = await router.recv_multipart()
    # libzmq: +1 per request, the 32-bit counter copied in host byte order.
    assert int.from_bytes(next_id, sys.byteorder) == (number + 1) % 2**32


async def test_pyzmq_req_correlate_against_zmtrio_rep(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    req = ZmqPeer(zctx, zmq.REQ)
    req.sock.req_correlate = 1
    req.sock.req_relaxed = 1
    req.connect(await rep.bind(TCP))
    await req.send_multipart([b"a"])
    assert await rep.recv() == b"a"
    await req.send_multipart([b"b"])  # relaxed: gives up on "a"
    await rep.send(b"late")
    assert await rep.recv() == b"b"
    await rep.send(b"for b")
    assert await req.recv_multipart() == [b"for b"]


# ---------------------------------------------------------------- REP


async def test_rep_fair_queues_several_reqs(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(TCP)
    clients = [ZmqPeer(zctx, zmq.REQ) for _ in range(3)]
    for index, client in enumerate(clients):
        client.sock.routing_id = b"c%d" % index
        client.connect(endpoint)
    for round_number in range(3):
        for index, client in enumerate(clients):
            await client.send_multipart([b"c%d" % index, b"%d" % round_number])
        seen = set()
        for _ in clients:
            name, number = await rep.recv_multipart()
            assert number == b"%d" % round_number
            seen.add(name)
            await rep.send_multipart([b"for " + name])
        assert seen == {b"c0", b"c1", b"c2"}
        for index, client in enumerate(clients):
            assert await client.recv_multipart() == [b"for c%d" % index]


async def test_rep_takes_one_request_from_each_peer_in_turn(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(TCP)
    dealers = [ZmqPeer(zctx, zmq.DEALER) for _ in range(3)]
    for index, dealer in enumerate(dealers):
        dealer.connect(endpoint)
        for i in range(4):
            dealer.sock.send_multipart([b"", b"d%d" % index, b"%d" % i])
        # Requests without an envelope are dropped.
        dealer.sock.send_multipart([b"no envelope"])
    await wait_until(lambda: rep.statistics().queued_inbound == 15)
    order = []
    for _ in range(12):
        name, number = await rep.recv_multipart()
        order.append((name, number))
        await rep.send(b"ok")
    for window in range(0, 12, 3):
        assert len({name for name, _ in order[window : window + 3]}) == 3
    for index in range(3):
        name = b"d%d" % index
        assert [n for d, n in order if d == name] == [b"0", b"1", b"2", b"3"]
    with pytest.raises(zmtrio.Again):
        rep.recv_nowait()
    for dealer in dealers:
        for _ in range(4):
            assert await dealer.recv_multipart() == [b"", b"ok"]


async def test_rep_returns_the_whole_envelope(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    rep = ctx.socket(zmtrio.REP)
    dealer = ZmqPeer(zctx, zmq.DEALER)
    dealer.connect(await rep.bind(TCP))
    # As through a chain of ROUTERs: hop ids, then the delimiter; empty frames after it
    # belong to the body.
    await dealer.send_multipart([b"hop2", b"hop1", b"", b"body", b"", b"tail"])
    assert await rep.recv_multipart() == [b"body", b"", b"tail"]
    await rep.send_multipart([b"reply"])
    assert await dealer.recv_multipart() == [b"hop2", b"hop1", b"", b"reply"]


# ---------------------------------------------------------------- DEALER


async def test_dealer_round_robin_and_blocks_without_room(ctx: zmtrio.Context) -> None:
    dealer = ctx.socket(zmtrio.DEALER)
    with pytest.raises(zmtrio.Again):
        dealer.send_nowait(b"no peers")
    dealer.sndhwm = 1
    pulls = []
    for index in range(2):
        peer = ctx.socket(zmtrio.DEALER)
        peer.rcvhwm = 1
        await dealer.connect(await peer.bind(f"inproc://dealer-{index}"))
        pulls.append(peer)
    for i in range(4):  # inproc pipes hold SNDHWM + RCVHWM = 2 messages each
        dealer.send_nowait(b"%d" % i)
    with pytest.raises(zmtrio.Again):
        dealer.send_nowait(b"full")
    assert [await pulls[0].recv(), await pulls[0].recv()] == [b"0", b"2"]
    assert [await pulls[1].recv(), await pulls[1].recv()] == [b"1", b"3"]
    await dealer.send(b"room again")
    assert await pulls[0].recv() == b"room again"


# ---------------------------------------------------------------- ROUTER


async def test_router_routes_by_id(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    router = ctx.socket(zmtrio.ROUTER)
    endpoint = await router.bind(TCP)
    named = {name: ZmqPeer(zctx, zmq.DEALER) for name in (b"alpha", b"beta", b"gamma")}
    anonymous = [ZmqPeer(zctx, zmq.DEALER) for _ in range(2)]
    ids: dict[bytes, ZmqPeer] = {}
    for name, dealer in named.items():
        dealer.sock.routing_id = name
        dealer.connect(endpoint)
        await dealer.send_multipart([b"hello", name])
        routing_id, hello, said = await router.recv_multipart()
        assert (routing_id, hello, said) == (name, b"hello", name)
        ids[routing_id] = dealer
    generated = []
    for dealer in anonymous:
        # One at a time, so ids are given in a known order.
        dealer.connect(endpoint)
        await dealer.send_multipart([b"hello"])
        routing_id, _ = await router.recv_multipart()
        generated.append(routing_id)
        ids[routing_id] = dealer
    # Generated: 0x00 + a big-endian 32-bit counter, +1 per peer.
    assert all(len(rid) == 5 and rid[0] == 0 for rid in generated)
    first, second = (int.from_bytes(rid[1:], "big") for rid in generated)
    assert second == (first + 1) % 2**32

    for routing_id in reversed(list(ids)):
        await router.send_multipart([routing_id, b"for", routing_id])
    for routing_id, dealer in ids.items():
        assert await dealer.recv_multipart() == [b"for", routing_id]
    # Unknown ids and id-only messages are dropped silently (no ROUTER_MANDATORY).
    await router.send_multipart([b"nobody", b"lost"])
    await router.send(b"alpha")
    await router.send_multipart([b"alpha", b"after"])
    assert await named[b"alpha"].recv_multipart() == [b"after"]


async def test_router_batches_carry_routing_ids(ctx: zmtrio.Context) -> None:
    router, dealer = ctx.socket(zmtrio.ROUTER), ctx.socket(zmtrio.DEALER)
    dealer.routing_id = b"d"
    await dealer.connect(await router.bind("inproc://batches"))
    await dealer.send_batch([[b"%d" % i, b"x"] for i in range(5)])
    assert await router.recv_batch(3) == [[b"d", b"%d" % i, b"x"] for i in range(3)]
    assert await router.recv_batch(10) == [[b"d", b"%d" % i, b"x"] for i in range(3, 5)]
    await router.send_batch([[b"d", b"a"], [b"nobody", b"b"], [b"d", b"c"]])
    assert await dealer.recv_batch(10) == [[b"a"], [b"c"]]


async def test_router_mandatory(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    router = ctx.socket(zmtrio.ROUTER)
    router.router_mandatory = 1
    endpoint = await router.bind(TCP)
    with pytest.raises(zmtrio.ZMQError) as info:
        await router.send_multipart([b"nobody", b"x"])
    assert info.value.errno == zmtrio.EHOSTUNREACH
    with pytest.raises(zmtrio.ZMQError) as info:
        router.send_multipart_nowait([b"nobody", b"x"])
    assert info.value.errno == zmtrio.EHOSTUNREACH
    assert await router.poll(zmtrio.POLLOUT, timeout=0) == 0  # no peer has room

    dealer = ZmqPeer(zctx, zmq.DEALER)
    dealer.sock.routing_id = b"d"
    dealer.connect(endpoint)
    await dealer.send_multipart([b"hi"])
    assert await router.recv_multipart() == [b"d", b"hi"]
    await router.send_multipart([b"d", b"reachable"])
    assert await dealer.recv_multipart() == [b"reachable"]
    # A disconnected peer is unreachable again.
    dealer.close()
    await wait_until(lambda: router.statistics().peers == 0)
    with pytest.raises(zmtrio.ZMQError) as info:
        await router.send_multipart([b"d", b"gone"])
    assert info.value.errno == zmtrio.EHOSTUNREACH


@pytest.mark.parametrize("mandatory", [0, 1])
async def test_router_at_hwm_blocks_with_mandatory_else_drops(
    ctx: zmtrio.Context, mandatory: int
) -> None:
    router, dealer = ctx.socket(zmtrio.ROUTER), ctx.socket(zmtrio.DEALER)
    router.router_mandatory = mandatory
    router.sndhwm = 2
    dealer.rcvhwm = 2
    dealer.routing_id = b"d"
    await dealer.connect(await router.bind("inproc://hwm"))
    for i in range(4):  # the inproc pipe holds SNDHWM + RCVHWM
        await router.send_multipart([b"d", b"%d" % i])
    if not mandatory:
        await router.send_multipart([b"d", b"dropped"])  # returns at once
        assert [await dealer.recv() for _ in range(4)] == [b"0", b"1", b"2", b"3"]
        with pytest.raises(zmtrio.Again):
            dealer.recv_nowait()
        return
    with pytest.raises(zmtrio.Again):
        router.send_multipart_nowait([b"d", b"full"])
    assert await router.poll(zmtrio.POLLOUT, timeout=0) == 0
    sent = trio.Event()

    async def send_blocked() -> None:
        await router.send_multipart([b"d", b"4"])
        sent.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_blocked)
        await trio.testing.wait_all_tasks_blocked()
        assert not sent.is_set()
        received = [await dealer.recv() for _ in range(3)]
        await sent.wait()
    received += [await dealer.recv() for _ in range(2)]
    assert received == [b"0", b"1", b"2", b"3", b"4"]


@pytest.mark.parametrize("handover", [0, 1])
async def test_router_duplicate_identity(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], handover: int
) -> None:
    router = ctx.socket(zmtrio.ROUTER)
    router.router_handover = handover
    endpoint = await router.bind(TCP)
    old, new = ZmqPeer(zctx, zmq.DEALER), ZmqPeer(zctx, zmq.DEALER)
    for dealer in (old, new):
        dealer.sock.routing_id = b"twin"
    old.connect(endpoint)
    await old.send_multipart([b"old 1"])
    assert await router.recv_multipart() == [b"twin", b"old 1"]

    new.connect(endpoint)
    await new.send_multipart([b"new 1"])
    if handover:
        # The new connection takes the id: its messages arrive, replies go to it.
        assert await router.recv_multipart() == [b"twin", b"new 1"]
        await router.send_multipart([b"twin", b"to new"])
        assert await new.recv_multipart() == [b"to new"]
        assert await trio.to_thread.run_sync(old.sock.poll, 100) == 0
    else:
        # The newcomer is ignored: its message is held unread, replies go to the old one.
        await wait_until(lambda: router.statistics().queued_inbound == 1)
        assert await router.poll(zmtrio.POLLIN, timeout=0) == 0
        await old.send_multipart([b"old 2"])
        assert await router.recv_multipart() == [b"twin", b"old 2"]
        await router.send_multipart([b"twin", b"to old"])
        assert await old.recv_multipart() == [b"to old"]
        assert await trio.to_thread.run_sync(new.sock.poll, 100) == 0
        # Once the newcomer leaves, what it sent is gone with it.
        new.close()
        await wait_until(lambda: router.statistics().queued_inbound == 0)


async def test_router_to_router_connect_side_keeps_its_id(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    server = ZmqPeer(zctx, zmq.ROUTER)
    server.sock.routing_id = b"srv"
    endpoint = server.bind(TCP)
    router = ctx.socket(zmtrio.ROUTER)
    router.router_mandatory = 1
    router.routing_id = b"cli"
    # Not routable before the handshake tells us the peer's id.
    await router.connect(endpoint)
    while True:
        try:
            router.send_multipart_nowait([b"srv", b"ping"])
            break
        except zmtrio.ZMQError as exc:
            assert exc.errno == zmtrio.EHOSTUNREACH
            await trio.sleep(0.005)
    assert await server.recv_multipart() == [b"cli", b"ping"]
    await server.send_multipart([b"cli", b"pong"])
    assert await router.recv_multipart() == [b"srv", b"pong"]


async def test_router_keeps_a_connect_peers_id_across_reconnects(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    # libzmq keeps a connect endpoint's pipe, and the id it got at the first handshake,
    # when it reconnects: whatever the new peer calls itself.
    first = ZmqPeer(zctx, zmq.DEALER)
    first.sock.routing_id = b"d1"
    endpoint = first.bind(TCP)
    router = ctx.socket(zmtrio.ROUTER)
    await router.connect(endpoint)
    await first.send_multipart([b"one"])
    assert await router.recv_multipart() == [b"d1", b"one"]
    first.close()

    second = ZmqPeer(zctx, zmq.DEALER)
    second.sock.routing_id = b"d2"
    while True:  # the closed socket frees its port in the background
        try:
            second.bind(endpoint)
            break
        except zmq.ZMQError as exc:
            assert exc.errno == errno.EADDRINUSE
            await trio.sleep(0.01)
    await second.send_multipart([b"two"])
    assert await router.recv_multipart() == [b"d1", b"two"]
    await router.send_multipart([b"d1", b"back"])
    assert await second.recv_multipart() == [b"back"]
    router.router_mandatory = 1
    with pytest.raises(zmtrio.ZMQError) as info:
        await router.send_multipart([b"d2", b"unknown"])
    assert info.value.errno == zmtrio.EHOSTUNREACH


# ---------------------------------------------------------------- PROBE_ROUTER


@pytest.mark.parametrize("prober", ["DEALER", "REQ", "ROUTER"])
@pytest.mark.parametrize("direction", ["zmtrio-binds", "zmtrio-connects"])
async def test_zmtrio_probe_reaches_pyzmq_router(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], prober: str, direction: str
) -> None:
    router = ZmqPeer(zctx, zmq.ROUTER)
    ours = ctx.socket(zmtrio.SocketType[prober])
    ours.routing_id = b"p"
    ours.probe_router = 1
    if direction == "zmtrio-binds":
        router.connect(await ours.bind(TCP))
    else:
        await ours.connect(router.bind(TCP))
    # The probe is the peer's first message, an empty frame with no envelope.
    assert await router.recv_multipart() == [b"p", b""]
    # Then the link works as usual.
    if prober == "REQ":
        await ours.send(b"request")
        assert await router.recv_multipart() == [b"p", b"", b"request"]
        await router.send_multipart([b"p", b"", b"reply"])
        assert await ours.recv_multipart() == [b"reply"]
    elif prober == "DEALER":
        await router.send_multipart([b"p", b"hello"])
        assert await ours.recv_multipart() == [b"hello"]
    else:
        await router.send_multipart([b"p", b"hello"])
        routing_id, hello = await ours.recv_multipart()
        assert hello == b"hello" and len(routing_id) == 5 and routing_id[0] == 0


@pytest.mark.parametrize("prober", ["DEALER", "ROUTER"])
async def test_pyzmq_probe_reaches_zmtrio_router(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], prober: str
) -> None:
    router = ctx.socket(zmtrio.ROUTER)
    theirs = ZmqPeer(zctx, getattr(zmq, prober))
    theirs.sock.routing_id = b"p"
    theirs.sock.probe_router = 1
    theirs.connect(await router.bind(TCP))
    assert await router.recv_multipart() == [b"p", b""]


@pytest.mark.parametrize(
    ("socket_type", "peer_type", "expected"),
    [
        (zmtrio.DEALER, b"ROUTER", [b"hello"]),
        (zmtrio.ROUTER, b"DEALER", [b"raw", b"hello"]),
    ],
)
async def test_message_in_the_handshake_read_reaches_a_connect_side_socket(
    ctx: zmtrio.Context, socket_type: zmtrio.SocketType, peer_type: bytes, expected: list[bytes]
) -> None:
    # A peer may send right after READY (a probe, queued messages), so a message can come
    # in the very read that completes the handshake of a socket that connected (and so
    # was attached before it): it must still be received.
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    ours = ctx.socket(socket_type)
    await ours.connect(f"tcp://127.0.0.1:{port}")
    stream = await listener.accept()
    async with stream, listener:
        await stream.send_all(
            _raw.greeting() + _raw.ready(peer_type, Identity=b"raw") + _raw.message([b"hello"])
        )
        assert await ours.recv_multipart() == expected


# ---------------------------------------------------------------- broker


def _client(
    context: zmq.Context[Any], endpoint: str, name: bytes, requests: int, results: list[bytes]
) -> None:
    client: zmq.Socket[Any] = context.socket(zmq.REQ)
    with client:
        client.rcvtimeo = client.sndtimeo = 10_000
        client.linger = 0
        client.routing_id = name
        client.connect(endpoint)
        for i in range(requests):
            client.send(name + b":%d" % i)
            results.append(client.recv())


def _worker(context: zmq.Context[Any], endpoint: str, name: bytes, stop: threading.Event) -> None:
    worker: zmq.Socket[Any] = context.socket(zmq.REQ)
    with worker:
        worker.sndtimeo = 10_000
        worker.linger = 0
        worker.routing_id = name
        worker.connect(endpoint)
        worker.send(b"READY")
        while not stop.is_set():
            if not worker.poll(20):
                continue
            client, empty, request = worker.recv_multipart()
            worker.send_multipart([client, empty, request + b" done by " + name])


async def test_load_balancing_broker(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    """The zguide's LRU broker: zmtrio ROUTERs in the middle, pyzmq REQ clients and
    workers (that announce themselves with READY) at the ends."""
    frontend, backend = ctx.socket(zmtrio.ROUTER), ctx.socket(zmtrio.ROUTER)
    front = await frontend.bind(TCP)
    back = await backend.bind(TCP)
    clients, requests_each, workers = 6, 5, 3
    total = clients * requests_each
    idle_send, idle_receive = trio.open_memory_channel[bytes](workers)
    results: list[bytes] = []
    stop = threading.Event()
    served = 0

    all_ready = trio.Event()
    ready = 0

    async def from_workers() -> None:
        nonlocal served, ready
        async for worker, empty, client, *reply in backend:
            assert empty == b""
            await idle_send.send(worker)
            if client == b"READY":
                ready += 1
                if ready == workers:
                    all_ready.set()
            else:
                assert reply[0] == b""
                await frontend.send_multipart([client, b"", reply[1]])
                served += 1

    async def from_clients() -> None:
        # Only take a request when a worker is idle: the least recently used one.
        async for worker in idle_receive:
            client, _, request = await frontend.recv_multipart()
            await backend.send_multipart([worker, b"", client, b"", request])

    async def run_clients() -> None:
        async with trio.open_nursery() as nursery:
            for c in range(clients):
                nursery.start_soon(
                    trio.to_thread.run_sync,
                    _client,
                    zctx,
                    front,
                    b"c%d" % c,
                    requests_each,
                    results,
                )

    async with trio.open_nursery() as nursery:
        nursery.start_soon(from_workers)
        nursery.start_soon(from_clients)
        for w in range(workers):
            nursery.start_soon(trio.to_thread.run_sync, _worker, zctx, back, b"w%d" % w, stop)
        try:
            # With every worker idle first, the least-recently-used order gives each a turn.
            await all_ready.wait()
            await run_clients()
        finally:
            stop.set()
        nursery.cancel_scope.cancel()
    assert served == total
    assert len(results) == total
    for c in range(clients):
        mine = sorted(r for r in results if r.startswith(b"c%d:" % c))
        assert [r.split(b" done by ")[0] for r in mine] == [
            b"c%d:%d" % (c, i) for i in range(requests_each)
        ]
    assert {r.split(b" done by ")[1] for r in results} == {b"w0", b"w1", b"w2"}
