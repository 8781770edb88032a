"""SCATTER/GATHER (RFC 49), PEER and CHANNEL (RFC 51) against libzmq-with-drafts in both
bind/connect directions over tcp, and zmtrio to zmtrio over inproc."""

from __future__ import annotations

import errno

import pytest
import trio
import zmtrio

from tests.drafts._libzmq import DIRECTIONS, LibzmqContext, link


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_zmtrio_scatter_to_libzmq_gather(
    ctx: zmtrio.Context, lctx: LibzmqContext, direction: str
) -> None:
    scatter = ctx.socket(zmtrio.SCATTER)
    gather = lctx.socket(zmtrio.GATHER)
    await link(scatter, gather, direction)
    for n in range(50):
        await scatter.send(b"%d" % n)
    for n in range(50):
        assert (await gather.recv())[0] == b"%d" % n
    with pytest.raises(zmtrio.ZMQError) as info:
        await scatter.send_multipart([b"a", b"b"])
    assert info.value.errno == errno.EINVAL


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_libzmq_scatter_to_zmtrio_gather(
    ctx: zmtrio.Context, lctx: LibzmqContext, direction: str
) -> None:
    gather = ctx.socket(zmtrio.GATHER)
    scatter = lctx.socket(zmtrio.SCATTER)
    await link(gather, scatter, direction)
    for n in range(50):
        await scatter.send(b"%d" % n)
    for n in range(50):
        assert await gather.recv() == b"%d" % n
    with pytest.raises(zmtrio.ZMQError) as info:
        await gather.send(b"x")
    assert info.value.errno == zmtrio.ENOTSUP


async def test_scatter_round_robins_over_inproc(ctx: zmtrio.Context) -> None:
    scatter = ctx.socket(zmtrio.SCATTER)
    await scatter.bind("inproc://scatter")
    gathers = [ctx.socket(zmtrio.GATHER) for _ in range(2)]
    for gather in gathers:
        await gather.connect("inproc://scatter")
    for n in range(10):
        await scatter.send(b"%d" % n)
    first = [gathers[0].recv_nowait() for _ in range(5)]
    second = [gathers[1].recv_nowait() for _ in range(5)]
    assert sorted(first + second, key=int) == [b"%d" % n for n in range(10)]
    assert first == sorted(first, key=int) and len(set(first) & set(second)) == 0


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_channel_pairs_with_libzmq_channel(
    ctx: zmtrio.Context, lctx: LibzmqContext, direction: str
) -> None:
    ours = ctx.socket(zmtrio.CHANNEL)
    theirs = lctx.socket(zmtrio.CHANNEL)
    await link(ours, theirs, direction)
    for n in range(10):
        await ours.send(b"ping %d" % n)
        assert (await theirs.recv())[0] == b"ping %d" % n
        await theirs.send(b"pong %d" % n)
        assert await ours.recv() == b"pong %d" % n
    with pytest.raises(zmtrio.ZMQError) as info:
        await ours.send(b"x", zmtrio.SNDMORE)
    assert info.value.errno == errno.EINVAL


async def test_channel_takes_one_peer(ctx: zmtrio.Context) -> None:
    channel = ctx.socket(zmtrio.CHANNEL)
    await channel.bind("inproc://channel")
    first, second = ctx.socket(zmtrio.CHANNEL), ctx.socket(zmtrio.CHANNEL)
    await first.connect("inproc://channel")
    await second.connect("inproc://channel")
    await second.send(b"queued for a link that is never joined")
    await first.send(b"one")
    assert await channel.recv() == b"one"
    await channel.send(b"back")
    assert await first.recv() == b"back"
    with pytest.raises(zmtrio.Again):
        channel.recv_nowait()
    assert channel.statistics().peers == 1


@pytest.mark.parametrize("direction", DIRECTIONS)
async def test_peer_routing_ids_with_libzmq_peer(
    ctx: zmtrio.Context, lctx: LibzmqContext, direction: str
) -> None:
    ours = ctx.socket(zmtrio.PEER)
    theirs = lctx.socket(zmtrio.PEER)
    if direction == "zmtrio-binds":
        endpoint = await ours.bind("tcp://127.0.0.1:*")
        their_id_for_us = theirs.connect_peer(endpoint)
        await theirs.send(b"hello", routing_id=their_id_for_us)
        msg = await ours.recv_message()
        assert list(msg) == [b"hello"] and msg.routing_id
        our_id_for_them = msg.routing_id
    else:
        endpoint = theirs.bind("tcp://127.0.0.1:*")
        our_id_for_them = await ours.connect_peer(endpoint)
        assert our_id_for_them != 0
        await ours.send(b"hello", routing_id=our_id_for_them)  # queued until it is up
        data, their_id_for_us, _ = await theirs.recv()
        assert data == b"hello"
    for n in range(5):
        await ours.send(b"to %d" % n, routing_id=our_id_for_them)
        data, routing_id, _ = await theirs.recv()
        assert data == b"to %d" % n
        await theirs.send(b"back %d" % n, routing_id=routing_id)
        msg = await ours.recv_message()
        assert (list(msg), msg.routing_id) == ([b"back %d" % n], our_id_for_them)
    with pytest.raises(zmtrio.ZMQError) as info:
        await ours.send(b"x", routing_id=our_id_for_them + 1)
    assert info.value.errno == zmtrio.EHOSTUNREACH


async def test_peers_over_inproc_and_connect_peer_rules(ctx: zmtrio.Context) -> None:
    hub = ctx.socket(zmtrio.PEER)
    await hub.bind("inproc://hub")
    spokes = [ctx.socket(zmtrio.PEER) for _ in range(3)]
    ids = [await spoke.connect_peer("inproc://hub") for spoke in spokes]
    for spoke, hub_id in zip(spokes, ids, strict=True):
        await spoke.send(b"hi", routing_id=hub_id)
    seen = {}
    for _ in spokes:
        msg = await hub.recv_message()
        seen[msg.routing_id] = msg
        await hub.send(b"hi %d" % len(seen), routing_id=msg.routing_id)
    assert len(seen) == 3
    replies = sorted([await spoke.recv() for spoke in spokes])
    assert replies == [b"hi 1", b"hi 2", b"hi 3"]
    immediate = ctx.socket(zmtrio.PEER)
    immediate.immediate = 1
    with pytest.raises(zmtrio.ZMQError) as info:
        await immediate.connect_peer("inproc://hub")
    assert info.value.errno == errno.EFAULT
    with pytest.raises(zmtrio.ZMQError) as info:
        await ctx.socket(zmtrio.SERVER).connect_peer("inproc://hub")
    assert info.value.errno == zmtrio.ENOTSUP


async def test_peer_refuses_a_server_at_handshake(ctx: zmtrio.Context, lctx: LibzmqContext) -> None:
    peer = ctx.socket(zmtrio.PEER)
    endpoint = await peer.bind("tcp://127.0.0.1:*")
    server = lctx.socket(zmtrio.CLIENT)
    server.connect(endpoint)
    good = lctx.socket(zmtrio.PEER)
    good_id = good.connect_peer(endpoint)
    await server.send(b"never")
    await good.send(b"ok", routing_id=good_id)
    assert await peer.recv() == b"ok"
    with trio.move_on_after(0.2):
        await peer.recv()
        pytest.fail("a CLIENT's message reached a PEER")
