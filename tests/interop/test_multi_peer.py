"""Several peers on one socket, against pyzmq (libzmq): PUSH round-robin, PULL fair-queueing
and PAIR exclusivity (spec/ZMTP.md §7.3-7.4)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import zmq
import zmtrio

from tests.conftest import ZmqPeer, recv_numbers, wait_until

PEERS = 3
PER_PEER = 100


def assert_round_robin(shares: list[list[int]], total: int) -> None:
    """Each peer got exactly its share, in send order, and the shares are one residue
    class each modulo the number of peers (strict round-robin, libzmq's lb_t)."""
    assert sorted(len(share) for share in shares) == [total // len(shares)] * len(shares)
    for share in shares:
        assert share == sorted(share)
        assert len({number % len(shares) for number in share}) == 1
    assert sorted(number for share in shares for number in share) == list(range(total))


async def send_round_robin(push: zmtrio.Socket, pulls: list[ZmqPeer]) -> None:
    """Send PER_PEER numbers per PULL and check each PULL got its round-robin share."""
    total = PEERS * PER_PEER
    for number in range(total):
        await push.send(number.to_bytes(4, "big"))
    shares: list[list[int]] = []
    for pull in pulls:
        shares.append(await trio.to_thread.run_sync(recv_numbers, pull, PER_PEER))
    assert_round_robin(shares, total)


async def test_bound_push_round_robins_over_three_pyzmq_pulls(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    push = ctx.socket(zmtrio.PUSH)
    endpoint = await push.bind("tcp://127.0.0.1:*")
    pulls = [ZmqPeer(zctx, zmq.PULL) for _ in range(PEERS)]
    for pull in pulls:
        pull.connect(endpoint)
    await wait_until(lambda: push.statistics().peers == PEERS)
    await send_round_robin(push, pulls)
    for pull in pulls:
        assert pull.sock.poll(50) == 0, "a PULL got more than its share"


async def test_connecting_push_round_robins_over_three_bound_pyzmq_pulls(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    push = ctx.socket(zmtrio.PUSH)
    pulls = [ZmqPeer(zctx, zmq.PULL) for _ in range(PEERS)]
    for pull in pulls:
        await push.connect(pull.bind("tcp://127.0.0.1:*"))
    # IMMEDIATE is off: a connect endpoint counts as a peer before its connection is up.
    await wait_until(lambda: push.statistics().peers == PEERS)
    await send_round_robin(push, pulls)


async def test_bound_pull_fair_queues_three_pyzmq_pushes(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    pull = ctx.socket(zmtrio.PULL)
    endpoint = await pull.bind("tcp://127.0.0.1:*")
    pushes = [ZmqPeer(zctx, zmq.PUSH) for _ in range(PEERS)]
    for push in pushes:
        push.connect(endpoint)
    await wait_until(lambda: pull.statistics().peers == PEERS)

    def send_all(push: ZmqPeer, tag: bytes) -> None:
        for seq in range(PER_PEER):
            push.sock.send_multipart([tag, seq.to_bytes(4, "big")])

    for index, push in enumerate(pushes):
        await trio.to_thread.run_sync(send_all, push, b"sender-%d" % index)
    total = PEERS * PER_PEER
    # Everything is queued on our side before the first recv.
    await wait_until(lambda: pull.statistics().queued_inbound == total)

    received = [await pull.recv_multipart() for _ in range(total)]
    by_sender: dict[bytes, list[int]] = {}
    for tag, seq in received:
        by_sender.setdefault(tag, []).append(int.from_bytes(seq, "big"))
    assert sorted(by_sender) == [b"sender-%d" % index for index in range(PEERS)]
    for numbers in by_sender.values():
        assert numbers == list(range(PER_PEER))
    first_senders = {tag for tag, _ in received[:30]}
    assert len(first_senders) == PEERS, "fair-queueing should interleave the senders"
    with trio.move_on_after(0.05):
        extra = await pull.recv_multipart()
        pytest.fail(f"unexpected extra message {extra!r}")


async def test_bound_pair_is_exclusive(ctx: zmtrio.Context, zctx: zmq.Context[Any]) -> None:
    pair = ctx.socket(zmtrio.PAIR)
    async with pair.monitor(zmtrio.EventType.DISCONNECTED) as events:
        endpoint = await pair.bind("tcp://127.0.0.1:*")
        first = ZmqPeer(zctx, zmq.PAIR)
        first.connect(endpoint)
        await first.send_multipart([b"hello from first"])
        assert await pair.recv_multipart() == [b"hello from first"]

        second = ZmqPeer(zctx, zmq.PAIR)
        second.sock.reconnect_ivl = 10
        second.connect(endpoint)
        await second.send_multipart([b"from second"])  # queued by libzmq (IMMEDIATE off)
        # The extra connection is refused: wait until zmtrio dropped it once.
        with trio.fail_after(5):
            await anext(events)
    assert pair.statistics().peers == 1

    for number in range(20):
        await pair.send(b"%d" % number)
    assert await trio.to_thread.run_sync(lambda: [first.sock.recv() for _ in range(20)]) == [
        b"%d" % number for number in range(20)
    ]
    assert second.sock.poll(100) == 0, "the second PAIR peer received a message"

    await first.send_multipart([b"from first"])
    assert await pair.recv_multipart() == [b"from first"]
    with trio.move_on_after(0.1):
        extra = await pair.recv_multipart()
        pytest.fail(f"the second PAIR peer got through: {extra!r}")


async def test_pair_takes_a_new_peer_after_the_first_leaves(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    pair = ctx.socket(zmtrio.PAIR)
    endpoint = await pair.bind("tcp://127.0.0.1:*")
    first = ZmqPeer(zctx, zmq.PAIR)
    first.connect(endpoint)
    await first.send_multipart([b"first"])
    assert await pair.recv() == b"first"

    async with (
        pair.monitor(zmtrio.EventType.HANDSHAKE_SUCCEEDED) as events,
        pair.monitor(zmtrio.EventType.DISCONNECTED) as refusals,
    ):
        second = ZmqPeer(zctx, zmq.PAIR)
        second.sock.reconnect_ivl = 10
        second.connect(endpoint)
        with trio.fail_after(5):
            for _ in range(3):  # the second peer is refused a few times
                await anext(refusals)
        first.close()
        # The second peer keeps retrying and is taken once the place is free.
        with trio.fail_after(5):
            await anext(events)
    assert pair.statistics().peers == 1
    await pair.send(b"to second")
    assert await second.recv_multipart() == [b"to second"]
    await second.send_multipart([b"from second"])
    assert await pair.recv() == b"from second"


def _zmtp_null_pair_client_bytes(message: bytes) -> bytes:
    """A ZMTP 3.1 NULL client's whole opening, sent in one go: greeting, READY (PAIR)
    and one message frame."""
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"NULL".ljust(20, b"\x00")
    greeting += b"\x00" + b"\x00" * 31
    body = b"\x05READY" + b"\x0bSocket-Type" + (4).to_bytes(4, "big") + b"PAIR"
    ready = b"\x04" + bytes([len(body)]) + body
    return greeting + ready + b"\x00" + bytes([len(message)]) + message


async def test_refused_pair_peer_leaves_nothing_behind(
    ctx: zmtrio.Context, zctx: zmq.Context[Any]
) -> None:
    pair = ctx.socket(zmtrio.PAIR)
    async with pair.monitor(zmtrio.EventType.DISCONNECTED) as events:
        endpoint = await pair.bind("tcp://127.0.0.1:*")
        first = ZmqPeer(zctx, zmq.PAIR)
        first.connect(endpoint)
        await first.send_multipart([b"hello"])
        assert await pair.recv() == b"hello"

        port = int(endpoint.rsplit(":", 1)[1])
        intruder = await trio.open_tcp_stream("127.0.0.1", port)
        async with intruder:
            await intruder.send_all(_zmtp_null_pair_client_bytes(b"intruder"))
            with trio.fail_after(5):
                await anext(events)  # zmtrio refused the second peer
    with pytest.raises(zmtrio.Again):
        pair.recv_nowait()
    assert pair.statistics().queued_inbound == 0
