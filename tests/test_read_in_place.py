"""REQ and REP read their connection in place (``Engine.read_for_receiver``): a task
waiting in ``recv`` for one connection decodes what arrives itself instead of waiting for the
connection's reader task. These tests check that the path is taken and that nothing a
receiver expects changes because of it: other peers are still heard, closing and
cancelling still wake the receiver and lose nothing, a broken or vanished peer is still
dropped, and a connection nobody reads is still watched (disconnects, heartbeats)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import zmq
import zmtrio
from zmtrio import EventType, _engine

from tests.conftest import ZmqPeer, endpoint_for
from tests.hostile import _raw

TCP = "tcp://127.0.0.1:*"


@pytest.fixture(autouse=True)
def _slow_reclaim(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader takes a connection back after LEND_CHECK without a receiver (10 ms);
    pyzmq peers driven through threads can pause that long between steps, so the tests
    stretch it to keep the lending state they arrange."""
    monkeypatch.setattr(_engine, "LEND_CHECK", 0.1)


async def _until(predicate: Any) -> None:
    """Poll a condition (the test's own deadline bounds it)."""
    while not predicate():
        await trio.sleep(0.002)


def _reading_in_place(sock: zmtrio.Socket) -> bool:
    return sock._direct_reader is not None


def _lent(sock: zmtrio.Socket) -> bool:
    """Whether a connection of ``sock`` is lent to its receiving task."""
    return any(peer.engine is not None and peer.engine._lent for peer in sock._peers)


async def _receive_in_task(sock: zmtrio.Socket, received: list[bytes]) -> None:
    received.append(await sock.recv())


async def _rep_round_trip(rep: zmtrio.Socket, req: ZmqPeer, request: bytes) -> None:
    """One request, with REP's recv waiting before it is sent (so the reader lends)."""
    received: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_receive_in_task, rep, received)
        await _until(lambda: len(rep._recv_lot) > 0 or _reading_in_place(rep))
        await req.send_multipart([request])
    assert received == [request]
    await rep.send(b"re: " + request)
    assert await req.recv_multipart() == [b"re: " + request]


async def _serve_one(rep: ZmqPeer, reply: bytes) -> None:
    await rep.recv_multipart()
    await rep.send_multipart([reply])


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_req_reads_its_reply_in_place(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str
) -> None:
    rep = ZmqPeer(zctx, zmq.REP)
    req = ctx.socket(zmtrio.REQ)
    await req.connect(rep.bind(endpoint_for(transport, ipc_dir)))
    # The first reply comes through the reader task, which then lends the connection.
    for n in range(3):
        await req.send(b"ping %d" % n)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_serve_one, rep, b"pong %d" % n)
            assert await req.recv() == b"pong %d" % n
    await req.send(b"last")
    received: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_receive_in_task, req, received)
        await _until(lambda: _reading_in_place(req))
        assert await rep.recv_multipart() == [b"last"]
        await rep.send_multipart([b"answer"])
    assert received == [b"answer"]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_rep_reading_in_place_hears_a_second_client(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], ipc_dir: str, transport: str
) -> None:
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(endpoint_for(transport, ipc_dir))
    first = ZmqPeer(zctx, zmq.REQ)
    first.connect(endpoint)
    for n in range(3):
        await _rep_round_trip(rep, first, b"a%d" % n)
    assert _lent(rep)

    received: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_receive_in_task, rep, received)
        await _until(lambda: _reading_in_place(rep))
        # A request from another connection must interrupt the wait on the first.
        second = ZmqPeer(zctx, zmq.REQ)
        second.connect(endpoint)
        await second.send_multipart([b"from b"])
    assert received == [b"from b"]
    await rep.send(b"to b")
    assert await second.recv_multipart() == [b"to b"]
    # The first client is still served.
    await _rep_round_trip(rep, first, b"a again")


async def test_closing_wakes_a_receiver_reading_in_place(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ZmqPeer(zctx, zmq.REP)
    req = ctx.socket(zmtrio.REQ)
    await req.connect(rep.bind(TCP))
    for _ in range(2):
        await req.send(b"q")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_serve_one, rep, b"r")
            await req.recv()
    await req.send(b"unanswered")
    outcome: list[BaseException] = []
    async with trio.open_nursery() as nursery:

        async def receive() -> None:
            try:
                await req.recv()
            except trio.ClosedResourceError as exc:
                outcome.append(exc)

        nursery.start_soon(receive)
        await _until(lambda: _reading_in_place(req))
        req.close()
    assert len(outcome) == 1


async def test_cancelled_in_place_read_loses_no_reply(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ZmqPeer(zctx, zmq.REP)
    req = ctx.socket(zmtrio.REQ)
    await req.connect(rep.bind(TCP))
    for _ in range(2):
        await req.send(b"q")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_serve_one, rep, b"r")
            await req.recv()
    await req.send(b"slow question")
    with trio.move_on_after(0.05) as scope:
        await req.recv()
    assert scope.cancelled_caught
    assert await rep.recv_multipart() == [b"slow question"]
    await rep.send_multipart([b"late answer"])
    assert await req.recv() == b"late answer"

    # RCVTIMEO ends an in-place wait the same way.
    req.rcvtimeo = 50
    await req.send(b"again")
    with pytest.raises(zmtrio.Again):
        await req.recv()
    assert await rep.recv_multipart() == [b"again"]
    await rep.send_multipart([b"answered"])
    req.rcvtimeo = -1
    assert await req.recv() == b"answered"


async def test_rep_reading_in_place_outlives_its_client(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    endpoint = await rep.bind(TCP)
    gone = ZmqPeer(zctx, zmq.REQ)
    gone.connect(endpoint)
    for n in range(3):
        await _rep_round_trip(rep, gone, b"q%d" % n)

    received: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_receive_in_task, rep, received)
        await _until(lambda: _reading_in_place(rep))
        gone.close()
        await _until(lambda: rep.statistics().peers == 0)
        stays = ZmqPeer(zctx, zmq.REQ)
        stays.connect(endpoint)
        await stays.send_multipart([b"from stays"])
    assert received == [b"from stays"]
    await rep.send(b"ok")
    assert await stays.recv_multipart() == [b"ok"]


async def test_garbage_while_reading_in_place_drops_only_that_peer(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    rep.maxmsgsize = 1000
    endpoint = await rep.bind(TCP)
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    await _raw.handshake(stream, b"REQ")
    for n in range(3):
        received: list[bytes] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_receive_in_task, rep, received)
            await _until(lambda: len(rep._recv_lot) > 0 or _reading_in_place(rep))
            await stream.send_all(_raw.message([b"", b"q%d" % n]))
        assert received == [b"q%d" % n]
        await rep.send(b"r")
        assert await _raw.read_message(stream) == [b"", b"r"]

    received = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_receive_in_task, rep, received)
        await _until(lambda: _reading_in_place(rep))
        # A frame above MAXMSGSIZE: a protocol error, decoded by the receiving task.
        await stream.send_all(_raw.long_header(5000) + b"x" * 5000)
        with trio.fail_after(5):
            assert await _raw.is_closed_by_peer(stream)
        good = ZmqPeer(zctx, zmq.REQ)
        good.connect(endpoint)
        await good.send_multipart([b"well formed"])
    assert received == [b"well formed"]
    await rep.send(b"ok")
    assert await good.recv_multipart() == [b"ok"]


async def test_idle_lent_connection_still_notices_a_disconnect(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    async with _raw.event_log(rep) as log:
        endpoint = await rep.bind(TCP)
        req = ZmqPeer(zctx, zmq.REQ)
        req.connect(endpoint)
        for n in range(3):
            await _rep_round_trip(rep, req, b"q%d" % n)
        assert _lent(rep)
        # Nobody calls recv from now on; the connection must still be read.
        mark = log.mark()
        req.close()
        await log.wait_kind(EventType.DISCONNECTED, since=mark)


async def test_idle_lent_connection_answers_heartbeats(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    rep = ctx.socket(zmtrio.REP)
    async with _raw.event_log(rep) as log:
        endpoint = await rep.bind(TCP)
        req = ZmqPeer(zctx, zmq.REQ)
        # libzmq drops the connection if no traffic follows its PING within 500 ms.
        req.sock.heartbeat_ivl = 20
        req.sock.heartbeat_timeout = 500
        req.connect(endpoint)
        for n in range(3):
            await _rep_round_trip(rep, req, b"q%d" % n)
        assert _lent(rep)
        mark = log.mark()
        await trio.sleep(1.2)  # nobody receives: the reader must take the connection back
        await req.send_multipart([b"still there"])
        assert await rep.recv() == b"still there"
        # Had the PINGs gone unanswered, libzmq would have dropped the connection and
        # connected again (ACCEPTED here).
        kinds = log.kinds(mark)
        assert EventType.DISCONNECTED not in kinds
        assert EventType.ACCEPTED not in kinds
