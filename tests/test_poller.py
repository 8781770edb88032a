"""``Poller`` (``_poller.py``): zmtrio sockets and plain file descriptors waited on together,
with pyzmq's methods and results."""

from __future__ import annotations

import os
import socket as stdlib_socket
from collections.abc import Iterator

import pytest
import trio
import trio.testing
import zmtrio


@pytest.fixture
def socket_pair() -> Iterator[tuple[stdlib_socket.socket, stdlib_socket.socket]]:
    left, right = stdlib_socket.socketpair()
    yield left, right
    left.close()
    right.close()


async def _push_pull(ctx: zmtrio.Context, name: str) -> tuple[zmtrio.Socket, zmtrio.Socket]:
    pull = ctx.socket(zmtrio.PULL)
    await pull.bind(f"inproc://{name}")
    push = ctx.socket(zmtrio.PUSH)
    await push.connect(f"inproc://{name}")
    return push, pull


async def test_nothing_ready_times_out_empty(ctx: zmtrio.Context) -> None:
    _, pull = await _push_pull(ctx, "idle")
    poller = zmtrio.Poller()
    poller.register(pull, zmtrio.POLLIN)
    assert await poller.poll(timeout=0) == []
    assert await poller.poll(timeout=10) == []


async def test_a_message_makes_a_socket_readable(ctx: zmtrio.Context) -> None:
    push, pull = await _push_pull(ctx, "readable")
    poller = zmtrio.Poller()
    poller.register(pull, zmtrio.POLLIN)
    async with trio.open_nursery() as nursery:
        results: list[list[tuple[object, int]]] = []

        async def poll() -> None:
            results.append(await poller.poll())

        nursery.start_soon(poll)
        await trio.testing.wait_all_tasks_blocked()
        assert results == []  # waiting, as nothing is there yet
        await push.send(b"hello")
    assert results == [[(pull, zmtrio.POLLIN)]]
    assert await pull.recv() == b"hello"
    assert await poller.poll(timeout=0) == []


async def test_pollout_and_registration_order(ctx: zmtrio.Context) -> None:
    push, pull = await _push_pull(ctx, "order")
    await push.send(b"x")
    poller = zmtrio.Poller()
    poller.register(push)  # default: POLLIN | POLLOUT
    poller.register(pull, zmtrio.POLLIN | zmtrio.POLLOUT)
    assert await poller.poll(timeout=0) == [(push, zmtrio.POLLOUT), (pull, zmtrio.POLLIN)]


async def test_register_modify_unregister(ctx: zmtrio.Context) -> None:
    push, pull = await _push_pull(ctx, "modify")
    await push.send(b"x")
    poller = zmtrio.Poller()
    poller.register(pull, zmtrio.POLLOUT)  # PULL never sends
    assert pull in poller
    assert await poller.poll(timeout=0) == []
    poller.modify(pull, zmtrio.POLLIN)
    assert await poller.poll(timeout=0) == [(pull, zmtrio.POLLIN)]
    poller.register(pull, 0)  # 0 unregisters, as pyzmq
    assert pull not in poller
    poller.register(pull, zmtrio.POLLIN)
    poller.unregister(pull)
    with pytest.raises(KeyError):
        poller.unregister(pull)
    assert await poller.poll(timeout=0) == []


async def test_plain_descriptors_beside_sockets(
    ctx: zmtrio.Context, socket_pair: tuple[stdlib_socket.socket, stdlib_socket.socket]
) -> None:
    left, right = socket_pair
    _, pull = await _push_pull(ctx, "fds")
    poller = zmtrio.Poller()
    poller.register(pull, zmtrio.POLLIN)
    poller.register(left.fileno(), zmtrio.POLLIN)  # an int
    poller.register(right, zmtrio.POLLOUT)  # an object with fileno()
    assert await poller.poll(timeout=0) == [(right, zmtrio.POLLOUT)]
    right.send(b"ping")
    assert await poller.poll(timeout=0) == [
        (left.fileno(), zmtrio.POLLIN),
        (right, zmtrio.POLLOUT),
    ]


async def test_a_descriptor_wakes_a_waiting_poll(
    ctx: zmtrio.Context, socket_pair: tuple[stdlib_socket.socket, stdlib_socket.socket]
) -> None:
    left, right = socket_pair
    _, pull = await _push_pull(ctx, "fd-wakes")
    poller = zmtrio.Poller()
    poller.register(pull, zmtrio.POLLIN)
    poller.register(left, zmtrio.POLLIN)
    async with trio.open_nursery() as nursery:
        results: list[list[tuple[object, int]]] = []

        async def poll() -> None:
            results.append(await poller.poll())

        nursery.start_soon(poll)
        await trio.testing.wait_all_tasks_blocked()
        right.send(b"wake")
    assert results == [[(left, zmtrio.POLLIN)]]


async def test_closed_peer_descriptor_is_readable(
    socket_pair: tuple[stdlib_socket.socket, stdlib_socket.socket],
) -> None:
    """A hang-up reads as POLLIN (a read would return end of file), as zmq_poll reports."""
    left, right = socket_pair
    right.shutdown(stdlib_socket.SHUT_RDWR)
    poller = zmtrio.Poller()
    poller.register(left, zmtrio.POLLIN)
    assert await poller.poll(timeout=0) == [(left, zmtrio.POLLIN)]


async def test_a_pipe_descriptor() -> None:
    read_fd, write_fd = os.pipe()
    try:
        poller = zmtrio.Poller()
        poller.register(read_fd, zmtrio.POLLIN)
        assert await poller.poll(timeout=0) == []
        os.write(write_fd, b"x")
        assert await poller.poll(timeout=0) == [(read_fd, zmtrio.POLLIN)]
    finally:
        os.close(read_fd)
        os.close(write_fd)


async def test_a_socket_closed_while_polled_raises(ctx: zmtrio.Context) -> None:
    _, pull = await _push_pull(ctx, "closing")
    poller = zmtrio.Poller()
    poller.register(pull, zmtrio.POLLIN)
    caught: list[BaseException] = []
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(poller.poll)
            await trio.testing.wait_all_tasks_blocked()
            pull.close()
    except* trio.ClosedResourceError as group:
        caught.extend(group.exceptions)
    assert len(caught) == 1


async def test_poll_is_cancellable(ctx: zmtrio.Context) -> None:
    _, pull = await _push_pull(ctx, "cancel")
    poller = zmtrio.Poller()
    poller.register(pull, zmtrio.POLLIN)
    with trio.move_on_after(0.01) as scope:
        await poller.poll()
    assert scope.cancelled_caught


async def test_poller_over_sockets_and_fds(ctx: zmtrio.Context) -> None:
    a, b = ctx.socket(zmtrio.PAIR), ctx.socket(zmtrio.PAIR)
    await b.connect(await a.bind("inproc://poller"))
    left, right = trio.socket.socketpair()
    poller = zmtrio.Poller()
    poller.register(b, zmtrio.POLLIN)
    poller.register(left, zmtrio.POLLIN)
    assert await poller.poll(timeout=0) == []
    assert await poller.poll(timeout=20) == []
    await right.send(b"x")
    assert await poller.poll(timeout=5000) == [(left, zmtrio.POLLIN)]
    await left.recv(1)

    async def send_later() -> None:
        await trio.testing.wait_all_tasks_blocked()  # poll is waiting
        await a.send(b"wake")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_later)
        assert await poller.poll() == [(b, zmtrio.POLLIN)]
    poller.register(a, zmtrio.POLLOUT)
    poller.register(left.fileno(), zmtrio.POLLOUT)
    ready = await poller.poll(timeout=0)
    assert (b, zmtrio.POLLIN) in ready and (a, zmtrio.POLLOUT) in ready
    assert (left.fileno(), zmtrio.POLLOUT) in ready
    poller.unregister(a)
    assert a not in poller
    left.close()
    right.close()
