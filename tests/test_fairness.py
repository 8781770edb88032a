"""A send or recv that completes at once does not yield to the scheduler (DESIGN.md, speed
rules), but every ``_FAIRNESS_BATCH`` such calls it does: a task flooding a socket must not
starve the others."""

from __future__ import annotations

import pytest
import trio
import zmtrio

#: Ten batches of _FAIRNESS_BATCH (64) calls; fixed, so that the test fails if it grows.
CALLS = 640


@pytest.mark.parametrize("multipart", [False, True])
async def test_sends_and_receives_that_never_wait_still_let_other_tasks_run(
    ctx: zmtrio.Context, multipart: bool
) -> None:
    pull = ctx.socket(zmtrio.PULL)
    push = ctx.socket(zmtrio.PUSH)
    pull.rcvhwm = push.sndhwm = 0  # no limit: no call below ever has to wait
    await pull.bind("inproc://fairness")
    await push.connect("inproc://fairness")
    turns = 0

    async def other_task() -> None:
        nonlocal turns
        while True:
            turns += 1
            await trio.lowlevel.checkpoint()

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(other_task)
            await trio.lowlevel.checkpoint()
            before = turns
            for _ in range(CALLS):
                if multipart:
                    await push.send_multipart([b"m", b"n"])
                else:
                    await push.send(b"m")
            while_sending = turns - before
            before = turns
            for _ in range(CALLS):
                if multipart:
                    assert await pull.recv_multipart() == [b"m", b"n"]
                else:
                    assert await pull.recv() == b"m"
            while_receiving = turns - before
            nursery.cancel_scope.cancel()
    # About one turn per batch: ten (five at least, whatever the phase of the count and
    # the scheduler's batches).
    assert while_sending >= 5
    assert while_receiving >= 5
    push.close()
    pull.close()
