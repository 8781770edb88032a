"""``Context`` (``_context.py``): the nursery that owns every socket's background tasks."""

from __future__ import annotations

import errno

import pytest
import trio
import trio.testing
import zmtrio
import zmtrio._core


async def test_socket_made_by_a_context_knows_it() -> None:
    async with zmtrio.Context() as ctx:
        sock = ctx.socket(zmtrio.PUSH)
        assert sock.context is ctx
        assert not ctx.closed


async def test_leaving_closes_every_socket_and_the_context() -> None:
    async with zmtrio.Context() as ctx:
        socks = [ctx.socket(zmtrio.PUSH), ctx.socket(zmtrio.PULL)]
        await socks[1].bind("inproc://leaving")
    assert ctx.closed
    assert all(sock.closed for sock in socks)


async def test_aclose_is_idempotent_and_refuses_new_sockets() -> None:
    async with zmtrio.Context() as ctx:
        sock = ctx.socket(zmtrio.PAIR)
        await ctx.aclose()
        assert ctx.closed and sock.closed
        await ctx.aclose()  # a second call does nothing
        with pytest.raises(zmtrio.ZMQError) as info:
            ctx.socket(zmtrio.PAIR)
        assert info.value.errno == zmtrio.ETERM


async def test_aclose_waits_for_lingering_messages_to_be_written() -> None:
    """Leaving the context honours each socket's LINGER: a queued message still reaches a
    peer that connects only after the close started."""
    async with zmtrio.Context() as receiver_ctx:
        pull = receiver_ctx.socket(zmtrio.PULL)
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        async with zmtrio.Context() as ctx:
            push = ctx.socket(zmtrio.PUSH)
            push.linger = 5000
            await push.connect(endpoint)
            await push.send(b"lingered")
        with trio.fail_after(5):
            assert await pull.recv() == b"lingered"


async def test_linger_zero_drops_unsent_messages_at_once() -> None:
    with trio.fail_after(5):
        async with zmtrio.Context() as ctx:
            push = ctx.socket(zmtrio.PUSH)
            push.linger = 0
            await push.connect("tcp://127.0.0.1:9")  # nobody listens: stays queued
            await push.send(b"dropped")
    assert push.closed


async def test_entering_twice_is_a_zmq_error() -> None:
    ctx = zmtrio.Context()
    async with ctx:
        with pytest.raises(zmtrio.ZMQError) as info:
            await ctx.__aenter__()
        assert info.value.errno == errno.EINVAL
    with pytest.raises(zmtrio.ZMQError):
        async with ctx:
            pass


async def test_using_a_socket_before_entering_the_context_is_a_zmq_error() -> None:
    ctx = zmtrio.Context()
    sock = ctx.socket(zmtrio.PULL)
    with pytest.raises(zmtrio.ZMQError) as info:
        await sock.bind("tcp://127.0.0.1:*")
    assert info.value.errno == errno.EINVAL
    sock.close()


async def test_an_error_in_the_block_closes_sockets_and_propagates() -> None:
    caught: list[BaseException] = []
    try:
        async with zmtrio.Context() as ctx:
            sock = ctx.socket(zmtrio.PUSH)
            raise KeyError("boom")
    except* KeyError as group:  # bare or in the nursery's group: either way it surfaces
        caught.extend(group.exceptions)
    assert [str(exc) for exc in caught] == ["'boom'"]
    assert ctx.closed and sock.closed


async def test_cancelling_the_block_closes_the_context() -> None:
    with trio.move_on_after(0.01) as scope:
        async with zmtrio.Context() as ctx:
            pull = ctx.socket(zmtrio.PULL)
            await pull.recv()
    assert scope.cancelled_caught
    assert ctx.closed and pull.closed


async def test_inproc_names_are_per_context() -> None:
    async with zmtrio.Context() as first, zmtrio.Context() as second:
        await first.socket(zmtrio.PULL).bind("inproc://shared-name")
        await second.socket(zmtrio.PULL).bind("inproc://shared-name")  # no EADDRINUSE
        with pytest.raises(zmtrio.ZMQError) as info:
            await first.socket(zmtrio.PULL).bind("inproc://shared-name")
        assert info.value.errno == errno.EADDRINUSE


async def test_core_misuse_is_a_zmq_error_not_a_runtime_error() -> None:
    """The Rust core's ApiMisuse reaches Python as ZMQError(EFSM), never RuntimeError."""
    conn = zmtrio._core.Connection(int(zmtrio.PUSH))
    with pytest.raises(zmtrio.ZMQError) as info:
        conn.send_subscription(b"topic", True)  # before the handshake
    assert info.value.errno == zmtrio.EFSM
    assert not isinstance(info.value, RuntimeError)
    conn.send_error(b"bye")
    with pytest.raises(zmtrio.ZMQError) as info:
        conn.send_subscription(b"topic", True)  # closed
    assert info.value.errno == zmtrio.EFSM
