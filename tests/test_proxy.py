"""zmtrio.proxy and proxy_steerable, with pyzmq peers on both ends."""

from __future__ import annotations

import struct
from typing import Any

import trio
import zmq
import zmtrio

from tests.conftest import ZmqPeer


async def test_streamer_proxy_with_capture(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    frontend, backend = ctx.socket(zmtrio.PULL), ctx.socket(zmtrio.PUSH)
    capture = ctx.socket(zmtrio.PUSH)
    captured = ctx.socket(zmtrio.PULL)
    await captured.connect(await capture.bind("inproc://capture"))
    producer, consumer = ZmqPeer(zctx, zmq.PUSH), ZmqPeer(zctx, zmq.PULL)
    producer.connect(await frontend.bind("tcp://127.0.0.1:*"))
    consumer.connect(await backend.bind("tcp://127.0.0.1:*"))
    messages = [[b"job", str(i).encode()] for i in range(50)]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(zmtrio.proxy, frontend, backend, capture)
        for message in messages:
            await producer.send_multipart(message)
        assert [await consumer.recv_multipart() for _ in messages] == messages
        assert [await captured.recv_multipart() for _ in messages] == messages
        nursery.cancel_scope.cancel()  # proxy runs until cancelled


async def test_steerable_pause_resume_statistics_terminate(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    frontend, backend = ctx.socket(zmtrio.PULL), ctx.socket(zmtrio.PUSH)
    control, steer = ctx.socket(zmtrio.PAIR), ctx.socket(zmtrio.PAIR)
    await steer.connect(await control.bind("inproc://control"))
    producer, consumer = ZmqPeer(zctx, zmq.PUSH), ZmqPeer(zctx, zmq.PULL)
    producer.connect(await frontend.bind("tcp://127.0.0.1:*"))
    consumer.connect(await backend.bind("tcp://127.0.0.1:*"))
    finished = trio.Event()

    async def run_proxy() -> None:
        await zmtrio.proxy_steerable(frontend, backend, control=control)
        finished.set()  # TERMINATE makes the call return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_proxy)
        await producer.send_multipart([b"before", b"pause"])
        assert await consumer.recv_multipart() == [b"before", b"pause"]
        await steer.send(b"PAUSE")
        await steer.send(b"STATISTICS")  # handled in order: the pause has taken effect
        stats = [struct.unpack("=Q", frame)[0] for frame in await steer.recv_multipart()]
        # frames and bytes received and sent on the frontend, then on the backend
        assert stats == [2, 11, 0, 0, 0, 0, 2, 11]
        await producer.send_multipart([b"held"])
        # A paused proxy leaves the message queued: nothing reaches the consumer.
        assert await trio.to_thread.run_sync(consumer.sock.poll, 100) == 0
        await steer.send(b"RESUME")
        assert await consumer.recv_multipart() == [b"held"]
        await steer.send(b"TERMINATE")
        await finished.wait()


async def test_router_dealer_proxy_between_pyzmq_clients_and_workers(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    frontend, backend = ctx.socket(zmtrio.ROUTER), ctx.socket(zmtrio.DEALER)
    client, worker = ZmqPeer(zctx, zmq.REQ), ZmqPeer(zctx, zmq.REP)
    client.connect(await frontend.bind("tcp://127.0.0.1:*"))
    worker.connect(await backend.bind("tcp://127.0.0.1:*"))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(zmtrio.proxy, frontend, backend)
        for i in range(20):
            await client.send_multipart([b"request", str(i).encode()])
            request = await worker.recv_multipart()
            await worker.send_multipart([b"reply", *request[1:]])
            assert await client.recv_multipart() == [b"reply", str(i).encode()]
        nursery.cancel_scope.cancel()


async def test_steerable_with_rep_control_replies_as_libzmq(ctx: zmtrio.Context) -> None:
    frontend, backend = ctx.socket(zmtrio.PULL), ctx.socket(zmtrio.PUSH)
    await frontend.bind("inproc://steer-front")
    await backend.bind("inproc://steer-back")
    control, steer = ctx.socket(zmtrio.REP), ctx.socket(zmtrio.REQ)
    await steer.connect(await control.bind("inproc://steer-rep"))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(zmtrio.proxy_steerable, frontend, backend, None, control)
        for command in (b"PAUSE", b"RESUME"):
            await steer.send(command)
            assert await steer.recv_multipart() == [b""]  # REP's duty: an empty reply
        await steer.send(b"STATISTICS")
        assert len(await steer.recv_multipart()) == 8
        await steer.send(b"TERMINATE")
        assert await steer.recv_multipart() == [b""]
