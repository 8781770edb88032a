"""``BlockingSocket``: pyzmq's blocking calls for a thread that runs no trio loop, talking
over inproc to sockets of the context's loop and of attached loops.

Each test runs the plain thread's part in a ``PlainThread`` (``test_threads``), joined with
a timeout; what it raised is re-raised in the test.
"""

from __future__ import annotations

import errno
import threading

import pytest
import trio
import zmtrio
from conftest import TEST_TIMEOUT
from test_threads import PlainThread
from zmtrio import BlockingSocket, ZMQError


async def test_a_plain_thread_hands_results_to_the_loop_in_order(ctx: zmtrio.Context) -> None:
    def worker() -> None:
        with BlockingSocket(ctx, zmtrio.PUSH) as push:
            push.connect("inproc://results")
            for number in range(200):
                push.send(b"%d" % number)
            push.send_multipart([b"multipart", b"message"])
            push.send(b"frame by", zmtrio.SNDMORE)
            push.send(b"frame")

    async with ctx.socket(zmtrio.PULL) as pull:
        await pull.bind("inproc://results")
        thread = PlainThread(worker)
        received = [await pull.recv() for _ in range(200)]
        assert received == [b"%d" % number for number in range(200)]
        assert await pull.recv_multipart() == [b"multipart", b"message"]
        assert await pull.recv_multipart() == [b"frame by", b"frame"]
        await thread.join()


async def test_recv_waits_up_to_rcvtimeo_then_raises_again(ctx: zmtrio.Context) -> None:
    bound = threading.Event()
    timed_out = threading.Event()

    def worker() -> list[object]:
        with BlockingSocket(ctx, zmtrio.PULL) as pull:
            pull.rcvtimeo = 50
            assert pull.rcvtimeo == 50
            pull.bind("inproc://to-the-thread")
            bound.set()
            with pytest.raises(zmtrio.Again):
                pull.recv()  # nothing sent yet
            timed_out.set()
            singles = [pull.recv() for _ in range(3)]
            return [*singles, pull.recv(), pull.recv(), pull.recv_multipart()]

    thread = PlainThread(worker)
    await trio.to_thread.run_sync(bound.wait, TEST_TIMEOUT, abandon_on_cancel=True)
    async with ctx.socket(zmtrio.PUSH) as push:
        await push.connect("inproc://to-the-thread")
        await trio.to_thread.run_sync(timed_out.wait, TEST_TIMEOUT, abandon_on_cancel=True)
        for number in range(3):
            await push.send(b"%d" % number)
        await push.send_multipart([b"one", b"by one"])
        await push.send_multipart([b"whole", b"message"])
        assert await thread.join() == [b"0", b"1", b"2", b"one", b"by one", [b"whole", b"message"]]


async def test_poll_with_a_timeout(ctx: zmtrio.Context) -> None:
    polled_empty = threading.Event()

    def worker() -> tuple[int, int, bytes]:
        with BlockingSocket(ctx, zmtrio.PULL) as pull:
            pull.connect("inproc://poll")
            nothing = pull.poll(timeout=20)
            polled_empty.set()
            ready = pull.poll(timeout=TEST_TIMEOUT * 1000)
            return nothing, ready, pull.recv(zmtrio.DONTWAIT)

    async with ctx.socket(zmtrio.PUSH) as push:
        await push.bind("inproc://poll")
        thread = PlainThread(worker)
        await trio.to_thread.run_sync(polled_empty.wait, TEST_TIMEOUT, abandon_on_cancel=True)
        await push.send(b"now")
        assert await thread.join() == (0, zmtrio.POLLIN, b"now")


async def test_send_waits_up_to_sndtimeo_when_the_pipe_is_full(ctx: zmtrio.Context) -> None:
    def worker() -> int:
        with BlockingSocket(ctx, zmtrio.PUSH) as push:
            push.setsockopt(zmtrio.SNDHWM, 2)
            push.sndtimeo = 30
            push.connect("inproc://full")
            sent = 0
            with pytest.raises(zmtrio.Again):
                while True:
                    push.send(b"x")
                    sent += 1
            return sent

    async with ctx.socket(zmtrio.PULL) as pull:
        pull.rcvhwm = 3
        await pull.bind("inproc://full")
        assert await PlainThread(worker).join() == 2 + 3  # SNDHWM + RCVHWM, then Again


async def test_req_from_a_plain_thread_to_a_rep_in_an_attached_loop(
    ctx: zmtrio.Context,
) -> None:
    bound = threading.Event()

    async def server() -> None:
        async with ctx.attach(), ctx.socket(zmtrio.REP) as rep:
            await rep.bind("inproc://rep-in-another-loop")
            bound.set()
            for _ in range(20):
                await rep.send(b"re:" + await rep.recv())

    def client() -> list[bytes]:
        assert bound.wait(TEST_TIMEOUT)
        with BlockingSocket(ctx, zmtrio.REQ) as req:
            req.connect("inproc://rep-in-another-loop")
            replies = []
            for number in range(20):
                req.send(b"%d" % number)
                replies.append(req.recv())
            return replies

    worker_loop = PlainThread(lambda: trio.run(server))
    assert await PlainThread(client).join() == [b"re:%d" % number for number in range(20)]
    await worker_loop.join()


async def test_where_a_blocking_socket_may_be_made(ctx: zmtrio.Context) -> None:
    with pytest.raises(ZMQError) as raised:
        BlockingSocket(ctx, zmtrio.PUSH)  # in a trio loop: ctx.attach() is the way
    assert raised.value.errno == errno.ENOTSUP

    def unentered() -> int:
        with pytest.raises(ZMQError) as raised:
            BlockingSocket(zmtrio.Context(), zmtrio.PUSH)
        return raised.value.errno

    assert await PlainThread(unentered).join() == errno.EINVAL


async def test_calls_after_the_context_closed_raise_context_terminated() -> None:
    made = threading.Event()
    closed = threading.Event()

    def worker(ctx: zmtrio.Context) -> bool:
        sock = BlockingSocket(ctx, zmtrio.PUSH)
        made.set()
        assert closed.wait(TEST_TIMEOUT)
        with pytest.raises(zmtrio.ContextTerminated):
            sock.send(b"too late")
        sock.close()  # nothing left to do: it closed with its context
        return sock.closed

    async with zmtrio.Context() as ctx:
        thread = PlainThread(lambda: worker(ctx))
        await trio.to_thread.run_sync(made.wait, TEST_TIMEOUT, abandon_on_cancel=True)
    closed.set()
    assert await thread.join() is True


async def test_calls_after_the_owning_loop_ended_raise_context_terminated() -> None:
    made = threading.Event()
    holder: list[BlockingSocket] = []

    async def owner() -> None:
        async with zmtrio.Context() as ctx:
            maker = PlainThread(lambda: holder.append(BlockingSocket(ctx, zmtrio.PULL)))
            await maker.join()
            made.set()

    def plain() -> None:
        trio.run(owner)  # returns once the owner's loop has ended
        assert made.is_set()
        with pytest.raises(zmtrio.ContextTerminated):
            holder[0].recv()

    await PlainThread(plain).join()
