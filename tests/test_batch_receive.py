"""``recv_batch`` and the messages the decoder makes: a message waiting in a pipe is kept off
the garbage collector's books (it holds only ``bytes``) and is tracked again when it is
handed out, so a cycle the application makes through it is still collected; a batch takes a
run from each ready peer in turn; a cancelled ``recv_batch`` consumed nothing, even with
messages waiting."""

from __future__ import annotations

import gc
import weakref

import pytest
import trio
import zmtrio

from tests.conftest import endpoint_for, wait_until


class Holder:
    """Something a message can hold, and hold it back (a cycle)."""

    message: list[object]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
async def test_received_messages_are_tracked_and_their_cycles_collected(
    ctx: zmtrio.Context, transport: str, ipc_dir: str
) -> None:
    pull, push = ctx.socket(zmtrio.PULL), ctx.socket(zmtrio.PUSH)
    await push.connect(await pull.bind(endpoint_for(transport, ipc_dir)))
    await push.send_batch([[b"one"], [b"two", b"frames"], [b"three"]])
    await push.send_multipart([b"four"])
    received: list[list[bytes]] = []
    while len(received) < 3:
        received.extend(await pull.recv_batch(3 - len(received)))
    received.append(await pull.recv_multipart())
    assert received == [[b"one"], [b"two", b"frames"], [b"three"], [b"four"]]
    assert all(gc.is_tracked(message) for message in received)
    holder = Holder()
    message: list[object] = received.pop()  # type: ignore[assignment]
    message.append(holder)
    holder.message = message
    alive = weakref.ref(holder)
    del holder, message
    gc.collect()
    assert alive() is None


async def test_recv_batch_takes_a_run_from_each_ready_peer_in_turn(ctx: zmtrio.Context) -> None:
    pull = ctx.socket(zmtrio.PULL)
    endpoint = await pull.bind("tcp://127.0.0.1:*")
    pushes = [ctx.socket(zmtrio.PUSH) for _ in range(2)]
    for number, push in enumerate(pushes):
        await push.connect(endpoint)
        await push.send_batch([[bytes([number]), i.to_bytes(2, "big")] for i in range(30)])
    await wait_until(lambda: sum(len(peer.inp.queue) for peer in pull._peers) == 60)
    first = await pull.recv_batch(20)
    second = await pull.recv_batch(20)
    # 20 from one peer, then 20 from the other; then the rest of both.
    assert {m[0] for m in first} != {m[0] for m in second}
    assert len({m[0] for m in first}) == len({m[0] for m in second}) == 1
    rest = await pull.recv_batch(100)
    assert len(rest) == 20
    for number in (b"\x00", b"\x01"):
        share = [m[1] for m in first + second + rest if m[0] == number]
        assert share == [i.to_bytes(2, "big") for i in range(30)]


async def test_cancelled_recv_batch_consumes_nothing_with_messages_waiting(
    ctx: zmtrio.Context,
) -> None:
    pull, push = ctx.socket(zmtrio.PULL), ctx.socket(zmtrio.PUSH)
    await push.connect(await pull.bind("tcp://127.0.0.1:*"))
    await push.send_batch([[b"kept"], [b"too"]])
    await wait_until(lambda: sum(len(peer.inp.queue) for peer in pull._peers) == 2)
    with trio.CancelScope() as scope:
        scope.cancel()
        await pull.recv_batch(10)
    assert scope.cancelled_caught
    assert await pull.recv_batch(10) == [[b"kept"], [b"too"]]
