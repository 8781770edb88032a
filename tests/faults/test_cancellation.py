"""Cancellation storms: thousands of tasks cancelled at random points in ``send``,
``send_multipart``, ``send_batch``, ``recv_multipart`` and ``recv_batch``, with a ledger.

The API promises (API.md, "Cancellation is clean"): a cancelled send queued the whole
message or nothing; a cancelled ``send_batch`` queued a prefix of whole messages; a
cancelled recv consumed nothing. So in the end every message whose send returned arrives
exactly once, a cancelled one at most once, a batch's arrivals are a prefix of it, and no
message arrives split or from nowhere.
"""

from __future__ import annotations

import random

import pytest
import trio
import zmtrio

#: Tasks per side, started in waves so that many are blocked at once.
TASKS = 2000
WAVE = 100
#: Each task is cancelled after a random time up to this, in seconds.
MAX_LIFE = 0.003


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
async def test_cancellation_storm_ledger(ctx: zmtrio.Context, transport: str, ipc_dir: str) -> None:
    rng = random.Random(f"storm-{transport}")
    push, pull = ctx.socket(zmtrio.PUSH), ctx.socket(zmtrio.PULL)
    # Small queues, so sends block at the HWM and get cancelled there.
    push.sndhwm = pull.rcvhwm = 8
    push.linger = pull.linger = 0
    addresses = {
        "tcp": "tcp://127.0.0.1:*",
        "ipc": f"ipc://{ipc_dir}/storm",
        "inproc": "inproc://storm",
    }
    await push.connect(await pull.bind(addresses[transport]))

    next_id = 0
    attempted: dict[int, list[bytes]] = {}
    completed: set[int] = set()
    batches: list[list[int]] = []
    received: list[int] = []
    cancelled = {"send": 0, "recv": 0}

    def message(kind: int) -> tuple[int, list[bytes]]:
        nonlocal next_id
        ident, next_id = next_id, next_id + 1
        tag = str(ident).encode()
        frames = [tag] if kind == 0 else [tag, b"-" * (ident % 300), tag]
        attempted[ident] = frames
        return ident, frames

    def record(frames: list[bytes]) -> None:
        ident = int(frames[0])
        assert frames == attempted[ident], f"message {ident} arrived split or altered"
        received.append(ident)

    async def sender() -> None:
        kind = rng.randrange(3)
        with trio.move_on_after(rng.random() * MAX_LIFE) as scope:
            if kind == 2:
                pairs = [message(1) for _ in range(rng.randint(1, 20))]
                idents = [ident for ident, _ in pairs]
                batches.append(idents)
                await push.send_batch([frames for _, frames in pairs])
                completed.update(idents)
            else:
                ident, frames = message(kind)
                if kind == 0:
                    await push.send(frames[0])
                else:
                    await push.send_multipart(frames)
                completed.add(ident)
        cancelled["send"] += scope.cancelled_caught

    async def receiver() -> None:
        with trio.move_on_after(rng.random() * MAX_LIFE) as scope:
            if rng.random() < 0.5:
                record(await pull.recv_multipart())
            else:
                for frames in await pull.recv_batch(rng.randint(1, 30)):
                    record(frames)
        cancelled["recv"] += scope.cancelled_caught

    for _ in range(TASKS // WAVE):
        async with trio.open_nursery() as nursery:
            for _ in range(WAVE):
                nursery.start_soon(sender)
                nursery.start_soon(receiver)

    # The storm is over: one last message, after which nothing queued can still be coming
    # (one PUSH to one PULL keeps order); drain everything while it is sent (both queues
    # may be full of messages the storm queued).
    end, frames = message(0)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(push.send, frames[0])
            while not received or received[-1] != end:
                for frames in await pull.recv_batch(1000):
                    record(frames)
    completed.add(end)

    assert cancelled["send"] > 0 and cancelled["recv"] > 0, "the storm cancelled nothing"
    assert len(received) == len(set(received)), "a message arrived twice"
    assert completed <= set(received), "a message whose send returned never arrived"
    arrived = set(received)
    for batch in batches:
        flags = [ident in arrived for ident in batch]
        assert flags == sorted(flags, reverse=True), f"batch {batch} arrived as {flags}"
