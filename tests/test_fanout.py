"""The publisher's fan-out in Rust (``_core.FanOut``): the cases where it cannot hold a
peer's pipe (an inproc connect not linked yet, a ring to another loop), XPUB_NODROP through
``send_batch``, and peers of every kind behind one PUB.

The behaviour contract of PUB/SUB as a whole is ``test_pubsub.py``; these add the paths the
fan-out takes per kind of peer.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import trio
import zmq
import zmtrio
from conftest import ZmqPeer
from test_pubsub import kick
from test_threads import in_worker


async def _publish_until(pub: zmtrio.Socket, done: threading.Event | trio.Event) -> None:
    """Publish a dropped and a matching message until ``done`` (slow joiners)."""
    while not done.is_set():
        await pub.send_multipart([b"other", b"dropped"])
        await pub.send_multipart([b"news", b"flash"])
        await trio.sleep(0.001)


async def test_pub_connected_before_a_sub_binds_in_another_loop(ctx: zmtrio.Context) -> None:
    # The PUB's peer is attached at connect, before the link to the other loop gives it
    # a new pipe (a ring): the fan-out must send through the pipe the peer has now.
    done = threading.Event()

    async def subscriber(ctx: zmtrio.Context) -> list[list[bytes]]:
        async with ctx.socket(zmtrio.SUB) as sub:
            sub.subscribe(b"news")
            await sub.bind("inproc://late-binder")
            received = [await sub.recv_multipart() for _ in range(3)]
            done.set()
            return received

    async with ctx.socket(zmtrio.PUB) as pub:
        await pub.connect("inproc://late-binder")
        await pub.send(b"news before anyone")  # queued for nobody: nobody subscribed yet
        worker = in_worker(ctx, subscriber)
        await _publish_until(pub, done)
        assert await worker.join() == [[b"news", b"flash"]] * 3


async def test_pub_connected_before_a_sub_binds_in_this_loop(ctx: zmtrio.Context) -> None:
    async with ctx.socket(zmtrio.PUB) as pub, ctx.socket(zmtrio.SUB) as sub:
        await pub.connect("inproc://late-binder-here")
        sub.subscribe(b"news")
        await sub.bind("inproc://late-binder-here")
        done = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_publish_until, pub, done)
            assert [await sub.recv_multipart() for _ in range(3)] == [[b"news", b"flash"]] * 3
            done.set()


async def test_xpub_nodrop_send_batch_queues_what_fits_then_waits(ctx: zmtrio.Context) -> None:
    xpub = ctx.socket(zmtrio.XPUB)
    xpub.xpub_nodrop = 1
    xpub.sndhwm = 2
    await xpub.bind("inproc://nodrop-batch")
    sub = ctx.socket(zmtrio.SUB)
    sub.rcvhwm = 2  # the inproc pipe holds 4
    await sub.connect("inproc://nodrop-batch")
    sub.subscribe(b"")
    assert await xpub.recv() == b"\x01"
    batch = [[b"%d" % i] for i in range(10)]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(xpub.send_batch, batch)
        # All ten arrive, in order: the batch waited for room instead of dropping.
        assert [await sub.recv() for _ in range(10)] == [b"%d" % i for i in range(10)]


@pytest.mark.parametrize("pub_binds", [True, False], ids=["pub-binds", "pub-connects"])
async def test_one_publisher_reaches_subscribers_of_every_kind(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], pub_binds: bool
) -> None:
    # Two libzmq SUBs over tcp (they share one encoding), a zmtrio SUB over inproc (frames),
    # and one subscribed to a topic that never matches: each gets exactly its own.
    xpub = ctx.socket(zmtrio.XPUB)
    xpub.xpub_verbose = 1  # every subscription reported: the test knows when all are in
    xpub.sndhwm = 0  # nothing may be dropped: the test checks exact delivery
    inproc = await xpub.bind("inproc://kinds")
    libzmq_subs = [ZmqPeer(zctx, zmq.SUB) for _ in range(2)]
    for peer in libzmq_subs:
        peer.sock.subscribe(b"news")
    if pub_binds:
        endpoint = await xpub.bind("tcp://127.0.0.1:*")
        for peer in libzmq_subs:
            peer.connect(endpoint)
    else:
        for peer in libzmq_subs:
            await xpub.connect(peer.bind("tcp://127.0.0.1:*"))
    local = ctx.socket(zmtrio.SUB)
    local.subscribe(b"news")
    await local.connect(inproc)
    never = ctx.socket(zmtrio.SUB)
    never.subscribe(b"nothing matches this")
    await never.connect(inproc)
    notices: list[bytes] = []
    while len(notices) < 4:
        kick(*libzmq_subs)
        with trio.move_on_after(0.02):
            notices.append(await xpub.recv())
    notices.sort()
    assert notices == [b"\x01news"] * 3 + [b"\x01nothing matches this"]
    messages = [[b"news", b"%d" % i] for i in range(50)]
    for msg in messages[:25]:
        await xpub.send_multipart(msg)
    await xpub.send_batch(messages[25:])
    await xpub.send_multipart([b"other", b"dropped"])
    assert [await local.recv_multipart() for _ in messages] == messages
    for peer in libzmq_subs:
        assert [await peer.recv_multipart() for _ in messages] == messages
    await xpub.send_multipart([b"nothing matches this", b"end"])
    assert await never.recv_multipart() == [b"nothing matches this", b"end"]
