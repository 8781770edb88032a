"""Fan-out encodes a published message once: every subscriber whose connection writes frames
in clear (NULL, PLAIN) is handed the very same ``bytes``; CURVE connections and inproc peers
get the frames and encode them per connection. Checked on the publisher's queues (identity
of what each subscriber's output holds) and end to end against pyzmq subscribers, with the
publisher binding and connecting."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import zmq
import zmtrio

from tests.conftest import ZmqPeer

#: The wire form of [b"t1", b"body"]: a MORE frame, then the last frame.
ENCODED = b"\x01\x02t1\x00\x04body"
MESSAGE = [b"t1", b"body"]


def outputs(pub: zmtrio.Socket) -> list[Any]:
    """What each of ``pub``'s connections has queued, one item each, taken off and put
    back (inproc peers are skipped: their queue is their subscriber's)."""
    items = []
    for peer in pub._peers:
        if peer.unlink is not None:
            continue  # inproc
        queue = peer.out.queue
        item = queue.pop()
        assert item is not None and not len(queue)
        queue.try_push(item)
        items.append(item)
    return items


async def link(pub: zmtrio.Socket, subs: list[ZmqPeer], publisher_binds: bool, curve: bool) -> None:
    """Connect ``subs`` to ``pub`` (``curve``: with CURVE, the publisher the server)."""
    if curve:
        public, secret = zmtrio.curve_keypair()
        pub.curve_server = True
        pub.curve_secretkey = secret
        for sub in subs:
            sub_public, sub_secret = zmq.curve_keypair()
            sub.sock.curve_serverkey = public
            sub.sock.curve_publickey = sub_public
            sub.sock.curve_secretkey = sub_secret
    for sub in subs:
        sub.sock.subscribe(b"t")
    if publisher_binds:
        endpoint = await pub.bind("tcp://127.0.0.1:*")
        for sub in subs:
            sub.connect(endpoint)
    else:
        for sub in subs:
            endpoint = sub.bind("tcp://127.0.0.1:*")
            await pub.connect(endpoint)


async def synchronise(pub: zmtrio.Socket, subs: list[ZmqPeer]) -> None:
    """Publish probes until every subscriber has one (subscriptions travel asynchronously),
    then let the publisher's queues empty."""
    waiting = set(range(len(subs)))
    with trio.fail_after(5):
        while waiting:
            await pub.send_multipart([b"t-probe"])
            await trio.sleep(0.01)
            for n in list(waiting):
                if subs[n].sock.poll(0):
                    waiting.discard(n)
        for sub in subs:
            while sub.sock.poll(50):
                sub.sock.recv_multipart()
        # Connections' queues (an inproc peer's is its subscriber's to read).
        while any(len(peer.out.queue) for peer in pub._peers if peer.unlink is None):
            await trio.sleep(0.01)


@pytest.mark.parametrize("publisher_binds", [True, False], ids=["pub-binds", "pub-connects"])
async def test_one_encoding_for_every_subscriber(
    ctx: zmtrio.Context, zctx: zmq.Context[Any], publisher_binds: bool
) -> None:
    pub = ctx.socket(zmtrio.PUB)
    subs = [ZmqPeer(zctx, zmq.SUB) for _ in range(3)]
    await link(pub, subs, publisher_binds, curve=False)
    await synchronise(pub, subs)

    pub.send_multipart_nowait(MESSAGE)
    items = outputs(pub)
    assert len(items) == 3
    assert items[0] == ENCODED
    assert items[1] is items[0] and items[2] is items[0]
    for sub in subs:
        assert await sub.recv_multipart() == MESSAGE

    # A batch: one encoding per message, shared too; a topic nobody wants is not queued.
    await pub.send_batch([[b"x-none"], [b"t2"], [b"t3", b""]])
    for sub in subs:
        assert await sub.recv_multipart() == [b"t2"]
        assert await sub.recv_multipart() == [b"t3", b""]
    for sub in subs:
        sub.close()


async def test_a_single_subscriber_gets_its_frames(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """Nothing to share with one subscriber: no encoding is made in the sending task."""
    pub = ctx.socket(zmtrio.PUB)
    sub = ZmqPeer(zctx, zmq.SUB)
    await link(pub, [sub], publisher_binds=True, curve=False)
    await synchronise(pub, [sub])
    pub.send_multipart_nowait(MESSAGE)
    assert outputs(pub) == [MESSAGE]
    assert await sub.recv_multipart() == MESSAGE
    sub.close()


async def test_curve_encrypts_per_connection(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    pub = ctx.socket(zmtrio.PUB)
    subs = [ZmqPeer(zctx, zmq.SUB) for _ in range(2)]
    await link(pub, subs, publisher_binds=True, curve=True)
    await synchronise(pub, subs)
    pub.send_multipart_nowait(MESSAGE)
    assert outputs(pub) == [MESSAGE, MESSAGE]
    for sub in subs:
        assert await sub.recv_multipart() == MESSAGE
        sub.close()


async def test_inproc_and_tcp_subscribers_together(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    """An inproc subscriber takes the frames themselves; the tcp ones share the encoding."""
    pub = ctx.socket(zmtrio.PUB)
    tcp_subs = [ZmqPeer(zctx, zmq.SUB) for _ in range(2)]
    await link(pub, tcp_subs, publisher_binds=True, curve=False)
    await pub.bind("inproc://shared-encoding")
    inproc_sub = ctx.socket(zmtrio.SUB)
    inproc_sub.subscribe(b"t")
    await inproc_sub.connect("inproc://shared-encoding")
    with trio.fail_after(5):
        while True:
            await pub.send_multipart([b"t-probe"])
            with trio.move_on_after(0.02):
                await inproc_sub.recv_multipart()
                break
    await synchronise(pub, tcp_subs)
    pub.send_multipart_nowait(MESSAGE)
    first, second = outputs(pub)
    assert first is second and first == ENCODED
    for _ in range(2):
        await pub.send_multipart(MESSAGE)
    for sub in tcp_subs:
        for _ in range(3):
            assert await sub.recv_multipart() == MESSAGE
        sub.close()
    received: list[list[bytes]] = []
    with trio.fail_after(5):
        while len(received) < 3:
            message = await inproc_sub.recv_multipart()
            if message != [b"t-probe"]:
                received.append(message)
    assert received == [MESSAGE] * 3


def test_encode_message_frames_a_whole_message() -> None:
    assert zmtrio._core.encode_message(MESSAGE) == ENCODED
    long = b"x" * 300
    assert zmtrio._core.encode_message([long]) == b"\x02" + (300).to_bytes(8, "big") + long
    with pytest.raises(zmtrio.ZMQError):
        zmtrio._core.encode_message([])
