"""REQ and REP read their connection in place (``InPlaceReader.read_for_receiver``): a task in
``recv`` waiting for one connection decodes what arrives itself instead of waiting for the
connection's reader task, whenever that reader is not on the socket (it stays off it after
delivering to a task that asked, until that task's ``recv`` returns).

These tests check that the path is taken by a task that receives again without yielding
(as a request/reply loop does) and that nothing a receiver expects changes because of it:
other peers are still heard, closing and cancelling still wake the receiver and lose
nothing, a broken or vanished peer is still dropped, a REQ still drops what arrived before
its next request, and a connection nobody is receiving from is watched by its reader
(disconnects, heartbeats)."""

from __future__ import annotations

import errno
import os
import socket as stdlib_socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio
import trio.testing
import zmq
import zmtrio
from zmtrio import EventType
from zmtrio._read_in_place import Holder

from tests.conftest import ZmqPeer, endpoint_for, wait_until
from tests.hostile import _raw

TCP = "tcp://127.0.0.1:*"


def _reading_in_place(sock: zmtrio.Socket) -> bool:
    return sock._reading is not None


def _readers_watch(sock: zmtrio.Socket) -> bool:
    """Whether every connection of ``sock`` is watched by its reader task."""
    leases = list(sock._leases.values())
    return bool(leases) and all(lease.holder is Holder.READER for lease in leases)


async def _rep_server(rep: zmtrio.Socket, served: list[bytes]) -> None:
    """Answer every request at once: recv, send, recv... without yielding in between."""
    while True:
        request = await rep.recv()
        served.append(request)
        await rep.send(b"re: " + request)


@asynccontextmanager
async def _serving_in_place(
    rep: zmtrio.Socket, round_trip: Callable[[bytes], Awaitable[None]]
) -> AsyncIterator[list[bytes]]:
    """Serve requests with :func:`_rep_server` for the block, which starts once two round
    trips (``round_trip``) made the server read in place. Yields the requests served."""
    served: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_rep_server, rep, served)
        for request in (b"q0", b"q1"):
            await round_trip(request)
        await wait_until(lambda: _reading_in_place(rep))
        yield served
        nursery.cancel_scope.cancel()


async def _zmq_round_trip(client: ZmqPeer, request: bytes) -> None:
    await client.send_multipart([request])
    assert await client.recv_multipart() == [b"re: " + request]


async def _new_client_round_trip(zctx: zmq.Context[Any], endpoint: str, request: bytes) -> None:
    client = ZmqPeer(zctx, zmq.REQ)
    client.connect(endpoint)
    await _zmq_round_trip(client, request)


async def _receive_in_task(sock: zmtrio.Socket, received: list[bytes]) -> None:
    received.append(await sock.recv())


async def _req_client(req: zmtrio.Socket, requests: list[bytes], replies: list[bytes]) -> None:
    """Send each request and receive its reply, without yielding in between."""
    for request in requests:
        await req.send(request)
        replies.append(await req.recv())


async def _answer(rep: ZmqPeer, expected: bytes) -> None:
    assert await rep.recv_multipart() == [expected]
    await rep.send_multipart([b"re: " + expected])


async def _answer_in_place(req: zmtrio.Socket, rep: ZmqPeer, expected: bytes) -> None:
    """Answer the request once the REQ is reading its connection in place."""
    await wait_until(lambda: _reading_in_place(req))
    await _answer(rep, expected)


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("req_binds", [False, True], ids=["req-connects", "req-binds"])
async def test_req_reads_its_reply_in_place(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str, req_binds: bool
) -> None:
    rep = ZmqPeer(zctx, zmq.REP)
    req = ctx.socket(zmtrio.REQ)
    if req_binds:
        rep.connect(await req.bind(endpoint_for(transport, ipc_dir)))
    else:
        await req.connect(rep.bind(endpoint_for(transport, ipc_dir)))
    requests = [b"q%d" % n for n in range(5)]
    replies: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_req_client, req, requests, replies)
        # The first replies come through the reader task (the first recv may even start
        # before the connection is up); once a recv asked, the next is read in place.
        await _answer(rep, b"q0")
        await _answer(rep, b"q1")
        for request in requests[2:]:
            await _answer_in_place(req, rep, request)
    assert replies == [b"re: " + request for request in requests]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("rep_binds", [True, False], ids=["rep-binds", "rep-connects"])
async def test_rep_reading_in_place_hears_a_second_client(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str, rep_binds: bool
) -> None:
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(endpoint_for(transport, ipc_dir)) if rep_binds else ""

    async def new_client(name: str) -> ZmqPeer:
        client = ZmqPeer(zctx, zmq.REQ)
        if rep_binds:
            client.connect(endpoint)
        else:
            await rep.connect(client.bind(endpoint_for(transport, ipc_dir, name)))
        return client

    first = await new_client("first")
    async with _serving_in_place(rep, partial(_zmq_round_trip, first)) as served:
        # A request from another connection must interrupt the wait on the first.
        await _zmq_round_trip(await new_client("second"), b"from b")
        # The first client is still served.
        await _zmq_round_trip(first, b"q2")
    assert served == [b"q0", b"q1", b"from b", b"q2"]


async def test_closing_wakes_a_receiver_reading_in_place(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ZmqPeer(zctx, zmq.REP)
    req = ctx.socket(zmtrio.REQ)
    await req.connect(rep.bind(TCP))
    replies: list[bytes] = []
    closed: list[trio.ClosedResourceError] = []

    async def client() -> None:
        try:
            await _req_client(req, [b"q0", b"q1", b"unanswered"], replies)
        except trio.ClosedResourceError as exc:
            closed.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(client)
        await _answer(rep, b"q0")
        await _answer(rep, b"q1")
        await wait_until(lambda: _reading_in_place(req))
        req.close()
    assert replies == [b"re: q0", b"re: q1"]
    assert len(closed) == 1


async def test_cancelled_in_place_read_loses_no_reply(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ZmqPeer(zctx, zmq.REP)
    req = ctx.socket(zmtrio.REQ)
    await req.connect(rep.bind(TCP))

    async def ask_then_give_up() -> None:
        for request in (b"q0", b"q1"):
            await req.send(request)
            assert await req.recv() == b"re: " + request
        await req.send(b"slow question")
        with trio.move_on_after(0.05) as scope:
            await req.recv()
        assert scope.cancelled_caught

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ask_then_give_up)
        await _answer(rep, b"q0")
        await _answer(rep, b"q1")
        await wait_until(lambda: _reading_in_place(req))
    await _answer(rep, b"slow question")
    assert await req.recv() == b"re: slow question"

    # RCVTIMEO ends an in-place wait the same way.
    async def ask_with_timeout() -> None:
        for request in (b"q2", b"q3"):
            await req.send(request)
            assert await req.recv() == b"re: " + request
        req.rcvtimeo = 50
        await req.send(b"again")
        with pytest.raises(zmtrio.Again):
            await req.recv()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ask_with_timeout)
        await _answer(rep, b"q2")
        await _answer(rep, b"q3")
        await wait_until(lambda: _reading_in_place(req))
    await _answer(rep, b"again")
    req.rcvtimeo = -1
    assert await req.recv() == b"re: again"


async def test_second_receiving_task_is_served_after_the_first_gives_up(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ZmqPeer(zctx, zmq.REP)
    req = ctx.socket(zmtrio.REQ)
    await req.connect(rep.bind(TCP))
    got: list[bytes] = []
    giving_up = trio.CancelScope()

    async def first_receiver() -> None:
        for request in (b"q0", b"q1"):
            await req.send(request)
            assert await req.recv() == b"re: " + request
        await req.send(b"q2")
        with giving_up:
            await req.recv()

    async def second_receiver() -> None:
        got.append(await req.recv())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first_receiver)
        await _answer(rep, b"q0")
        await _answer(rep, b"q1")
        await wait_until(lambda: _reading_in_place(req))
        nursery.start_soon(second_receiver)
        await trio.testing.wait_all_tasks_blocked()
        giving_up.cancel()
        await _answer(rep, b"q2")
    assert got == [b"re: q2"]


async def test_rep_reading_in_place_outlives_its_client(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(TCP)
    gone = ZmqPeer(zctx, zmq.REQ)
    gone.connect(endpoint)
    async with _serving_in_place(rep, partial(_zmq_round_trip, gone)) as served:
        gone.close()
        await wait_until(lambda: rep.statistics().peers == 0)
        await _new_client_round_trip(zctx, endpoint, b"from stays")
    assert served == [b"q0", b"q1", b"from stays"]


async def test_garbage_while_reading_in_place_drops_only_that_peer(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    rep.maxmsgsize = 1000
    endpoint = await rep.bind(TCP)
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    await _raw.handshake(stream, b"REQ")

    async def raw_round_trip(request: bytes) -> None:
        await stream.send_all(_raw.message([b"", request]))
        assert await _raw.read_message(stream) == [b"", b"re: " + request]

    async with _serving_in_place(rep, raw_round_trip) as served:
        # A frame above MAXMSGSIZE: a protocol error, decoded by the receiving task.
        await stream.send_all(_raw.long_header(5000) + b"x" * 5000)
        with trio.fail_after(5):
            assert await _raw.is_closed_by_peer(stream)
        await _new_client_round_trip(zctx, endpoint, b"well formed")
    assert served == [b"q0", b"q1", b"well formed"]


async def test_reader_watches_a_connection_nobody_receives_from(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    async with _raw.event_log(rep) as log:
        endpoint = await rep.bind(TCP)
        req = ZmqPeer(zctx, zmq.REQ)
        req.connect(endpoint)
        async with _serving_in_place(rep, partial(_zmq_round_trip, req)):
            await _zmq_round_trip(req, b"q2")
        # Nobody calls recv from now on: the reader task is on the socket again.
        await trio.testing.wait_all_tasks_blocked()
        assert _readers_watch(rep)
        mark = log.mark()
        req.close()
        await log.wait_kind(EventType.DISCONNECTED, since=mark)


async def test_heartbeats_are_answered_between_receives(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    async with _raw.event_log(rep) as log:
        endpoint = await rep.bind(TCP)
        req = ZmqPeer(zctx, zmq.REQ)
        # libzmq drops the connection if no traffic follows its PING within 300 ms.
        req.sock.heartbeat_ivl = 20
        req.sock.heartbeat_timeout = 300
        req.connect(endpoint)
        mark = log.mark()

        async def slow_server() -> None:
            while True:
                request = await rep.recv()
                await trio.sleep(0.6)  # busy: not receiving, PINGs keep coming
                await rep.send(b"re: " + request)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(slow_server)
            for n in range(2):
                await req.send_multipart([b"q%d" % n])
                assert await req.recv_multipart() == [b"re: q%d" % n]
            nursery.cancel_scope.cancel()
        # Had the PINGs gone unanswered, libzmq would have dropped the connection (and
        # the reply with it) and connected again (ACCEPTED here).
        kinds = log.kinds(mark)
        assert kinds.count(EventType.ACCEPTED) == 1
        assert EventType.DISCONNECTED not in kinds


async def _prime(req: zmtrio.Socket, router: zmtrio.Socket) -> bytes:
    """One round trip through a ROUTER; returns the REQ's routing id there."""
    await req.send(b"prime")
    routing_id, _, _ = await router.recv_multipart()
    await router.send_multipart([routing_id, b"", b"primed"])
    assert await req.recv() == b"primed"
    return routing_id


async def test_req_drops_a_late_reply_before_its_next_request(ctx: zmtrio.Context) -> None:
    """libzmq's REQ drops what arrived before it sends a request (here: the late reply to
    a request abandoned under REQ_RELAXED, and a reply sent twice), however the reply
    before was received."""
    router = ctx.socket(zmtrio.ROUTER)
    req = ctx.socket(zmtrio.REQ)
    req.req_relaxed = 1
    await req.connect(await router.bind(TCP))
    routing_id = await _prime(req, router)

    async def ask_then_give_up() -> None:
        await req.send(b"slow")
        req.rcvtimeo = 20
        with pytest.raises(zmtrio.Again):
            await req.recv()
        req.rcvtimeo = -1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ask_then_give_up)
        assert await router.recv_multipart() == [routing_id, b"", b"slow"]
    await router.send_multipart([routing_id, b"", b"late reply to slow"])
    await wait_until(lambda: req.statistics().queued_inbound == 1)
    await req.send(b"retry")
    assert await router.recv_multipart() == [routing_id, b"", b"retry"]
    await router.send_multipart([routing_id, b"", b"reply to retry"])
    assert await req.recv() == b"reply to retry"

    await router.send_multipart([routing_id, b"", b"reply to retry, again"])
    await wait_until(lambda: req.statistics().queued_inbound == 1)
    await req.send(b"next")
    assert await router.recv_multipart() == [routing_id, b"", b"next"]
    await router.send_multipart([routing_id, b"", b"reply to next"])
    assert await req.recv() == b"reply to next"


async def test_rep_with_many_clients_holds_one_fd_per_connection(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """Only a connection that was read in place gets a second descriptor."""
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(TCP)
    clients = [ZmqPeer(zctx, zmq.REQ) for _ in range(30)]
    before = len(os.listdir("/proc/self/fd"))  # after libzmq's own (mailboxes)
    for client in clients:
        client.connect(endpoint)
    await wait_until(lambda: rep.statistics().peers == 30)
    await trio.testing.wait_all_tasks_blocked()
    # Each connection: libzmq's end and ours.
    assert len(os.listdir("/proc/self/fd")) - before == 2 * 30
    for client in clients:
        client.close()


async def test_rep_gaining_a_client_mid_recv_still_reads_the_first(ctx: zmtrio.Context) -> None:
    """A recv that asked the first client's reader to hold off, then sees a second client
    (so it no longer waits for the first alone), lets that reader go again: the first
    client's later requests are still read."""
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(TCP)
    first, second = ctx.socket(zmtrio.DEALER), ctx.socket(zmtrio.DEALER)
    await first.connect(endpoint)
    await wait_until(lambda: rep.statistics().peers == 1)
    received: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_receive_in_task, rep, received)
        await trio.testing.wait_all_tasks_blocked()
        await second.connect(endpoint)
        await wait_until(lambda: rep.statistics().peers == 2)
        await first.send_multipart([b"no envelope"])  # REP drops it; the recv goes on
        await trio.testing.wait_all_tasks_blocked()
        await second.send_multipart([b"", b"from second"])
    assert received == [b"from second"]
    await rep.send(b"re: from second")
    assert await second.recv_multipart() == [b"", b"re: from second"]
    await first.send_multipart([b"", b"from first"])
    assert await rep.recv() == b"from first"


async def test_relaxed_req_drops_a_stray_after_waiting_on_another_peer(
    ctx: zmtrio.Context,
) -> None:
    """A task waits for the reply from one peer while another task sends the next request
    (REQ_RELAXED) to the other peer: the first peer's reader must not stay held, so a
    message that peer sends later is read as it arrives and dropped by the next request
    to it, as libzmq does."""
    routers = [ctx.socket(zmtrio.ROUTER), ctx.socket(zmtrio.ROUTER)]
    req = ctx.socket(zmtrio.REQ)
    req.req_relaxed = 1
    for router in routers:
        await req.connect(await router.bind(TCP))
    await wait_until(lambda: sum(peer in req._leases for peer in req._peers) == 2)

    async def request_to(body: bytes) -> tuple[zmtrio.Socket, bytes]:
        """The router that got ``body`` and the REQ's routing id there."""
        while True:
            for router in routers:
                try:
                    routing_id, _, got = router.recv_multipart_nowait()
                except zmtrio.Again:
                    continue
                assert got == body
                return router, routing_id
            await trio.sleep(0.002)

    replies: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_req_client, req, [b"q1"], replies)
        first, first_id = await request_to(b"q1")
        first_peer = req._pattern._reply_peer
        await trio.testing.wait_all_tasks_blocked()
        await req.send(b"q2")  # round robin: the other peer
        second, second_id = await request_to(b"q2")
        assert second is not first
        await first.send_multipart([first_id, b"", b"late re: q1"])  # dropped by REQ
        await trio.testing.wait_all_tasks_blocked()
        await second.send_multipart([second_id, b"", b"re: q2"])
    assert replies == [b"re: q2"]
    await first.send_multipart([first_id, b"", b"stray"])
    await wait_until(lambda: len(first_peer.inp.queue) == 1)  # read although nobody receives
    await req.send(b"q3")  # round robin: back to the first peer; drops the stray
    assert await request_to(b"q3") == (first, first_id)
    await first.send_multipart([first_id, b"", b"re: q3"])
    assert await req.recv() == b"re: q3"


async def test_no_descriptor_to_duplicate_leaves_the_reader_on_the_socket(
    ctx: zmtrio.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of descriptors for the duplicate (EMFILE), a REP receives through the reader
    task, which must not stay held off the socket for a recv that cannot read itself."""
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(TCP)
    client = ctx.socket(zmtrio.DEALER)
    await client.connect(endpoint)
    await wait_until(lambda: rep.statistics().peers == 1)
    (reading,) = [rep._leases[peer] for peer in rep._peers if peer in rep._leases]

    def out_of_descriptors(self: stdlib_socket.socket) -> stdlib_socket.socket:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(stdlib_socket.socket, "dup", out_of_descriptors)
    received: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_receive_in_task, rep, received)
        await trio.testing.wait_all_tasks_blocked()
        # Delivered by the reader to the waiting recv, then dropped by REP (no envelope):
        # the recv goes on, now with the reader held for it, and cannot duplicate.
        await client.send_multipart([b"no envelope"])
        await trio.testing.wait_all_tasks_blocked()
        assert reading.holder is Holder.READER
        await client.send_multipart([b"", b"request"])
    assert received == [b"request"]
    # And later receives too, each through the reader.
    await rep.send(b"reply")
    assert await client.recv_multipart() == [b"", b"reply"]
    for n in range(3):
        await client.send_multipart([b"", b"no envelope %d" % n])
        assert await rep.recv() == b"no envelope %d" % n
        await rep.send(b"ok")
        assert await client.recv_multipart() == [b"", b"ok"]
    assert reading.direct_sock is None
