"""``cancellation_check()`` answers trio's ``checkpoint_if_cancelled`` question without a coroutine:
it must say yes whenever trio's function would checkpoint (else a cancelled send or recv that
could complete would not raise ``Cancelled``), and no otherwise (else the per-message paths
lose what it saves)."""

from __future__ import annotations

import threading

import pytest
import trio
import trio.testing
import zmtrio
from zmtrio import _cancellation
from zmtrio._cancellation import cancellation_check, run_context


def test_this_trio_gets_the_cheap_question() -> None:
    # Falling back to always asking trio is correct but slow: with the trio the project
    # tests against, the fast check must be in use.
    assert cancellation_check() is not _cancellation._always


def test_a_check_serves_later_runs_of_its_thread_and_other_threads_get_their_own() -> None:
    check = cancellation_check()
    seen: list[bool] = []

    async def cancelled_or_not(check_here: object) -> None:
        assert callable(check_here)
        seen.append(check_here())
        with trio.CancelScope() as scope:
            scope.cancel()
            seen.append(check_here())

    for _ in range(2):  # one check, two runs of this thread's trio loop
        trio.run(cancelled_or_not, check)
    thread = threading.Thread(target=lambda: trio.run(cancelled_or_not, cancellation_check()))
    thread.start()
    thread.join(timeout=30)
    assert seen == [False, True] * 3


async def test_true_exactly_when_the_task_is_cancelled() -> None:
    maybe_cancelled = cancellation_check()
    assert not maybe_cancelled()
    with trio.CancelScope() as outer:
        outer.cancel()
        assert maybe_cancelled()
        with trio.CancelScope(shield=True):
            assert not maybe_cancelled()
        assert maybe_cancelled()
    with trio.move_on_after(3600):
        assert not maybe_cancelled()


async def test_child_tasks_see_their_own_scopes() -> None:
    seen: list[bool] = []
    maybe_cancelled = cancellation_check()

    async def child(cancelled: bool) -> None:
        with trio.CancelScope() as scope:
            if cancelled:
                scope.cancel()
            seen.append(maybe_cancelled())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(child, True)
        nursery.start_soon(child, False)
    assert sorted(seen) == [False, True]


def test_true_in_the_main_task_while_a_ctrl_c_waits() -> None:
    # trio's SIGINT handler leaves ki_pending set when the signal lands in protected code;
    # the main task's next checkpoint raises KeyboardInterrupt, other tasks carry on.
    seen: list[tuple[str, bool]] = []
    maybe_cancelled = cancellation_check()

    def pending_ctrl_c(task_name: str) -> None:
        runner = trio.lowlevel.current_task()._runner
        runner.ki_pending = True
        try:
            seen.append((task_name, maybe_cancelled()))
        finally:
            runner.ki_pending = False

    async def other() -> None:
        pending_ctrl_c("other")

    async def main() -> None:
        pending_ctrl_c("main")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(other)

    trio.run(main)
    assert seen == [("main", True), ("other", False)]


async def test_a_send_or_recv_that_could_complete_raises_when_cancelled(
    ctx: zmtrio.Context,
) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(zmtrio.PULL)
        push = ctx.socket(zmtrio.PUSH)
        endpoint = await pull.bind("tcp://127.0.0.1:*")
        await push.connect(endpoint)
        await push.send(b"first")
        assert await pull.poll(zmtrio.POLLIN) == zmtrio.POLLIN
        with trio.CancelScope() as scope:
            scope.cancel()
            # Each call could complete at once (room to send, a message waiting): the
            # cancellation must win, and neither may take or queue a message.
            with pytest.raises(trio.Cancelled):
                await push.send(b"never")
            with pytest.raises(trio.Cancelled):
                await pull.recv()
        assert await pull.recv() == b"first"
        await push.send(b"second")
        assert await pull.recv() == b"second"
        push.close()
        pull.close()


async def test_run_context_holds_the_running_task() -> None:
    # The per-message paths read the task from it inline: it must be this thread's.
    context = run_context()
    assert context["task"] is trio.lowlevel.current_task()

    async def child(seen: list[object]) -> None:
        seen.append(context["task"] is trio.lowlevel.current_task())

    seen: list[object] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(child, seen)
    assert seen == [True]


@pytest.mark.parametrize("multipart", [False, True])
async def test_sockets_still_work_and_cancel_on_a_trio_whose_internals_are_unknown(
    ctx: zmtrio.Context, multipart: bool
) -> None:
    # The stand-in for a trio without the names read: every call takes the slow path and
    # asks trio itself, so messages still flow and cancellation still wins.
    stand_in = _cancellation._ASK_TRIO["task"]
    assert stand_in._cancel_status.effectively_cancelled
    with trio.fail_after(10):
        pull = ctx.socket(zmtrio.PULL)
        push = ctx.socket(zmtrio.PUSH)
        pull._run_context = push._run_context = _cancellation._ASK_TRIO
        await pull.bind("inproc://unknown-trio")
        await push.connect("inproc://unknown-trio")
        for n in range(100):
            if multipart:
                await push.send_multipart([b"%d" % n])
            else:
                await push.send(b"%d" % n)
        with trio.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(trio.Cancelled):
                await push.send(b"never")
            with pytest.raises(trio.Cancelled):
                await push.send_multipart([b"never"])
            with pytest.raises(trio.Cancelled):
                await pull.recv()
            with pytest.raises(trio.Cancelled):
                await pull.recv_multipart()
        for n in range(100):
            if multipart:
                assert await pull.recv_multipart() == [b"%d" % n]
            else:
                assert await pull.recv() == b"%d" % n
        assert await pull.poll(zmtrio.POLLIN, timeout=0) == 0
        push.close()
        pull.close()


async def test_a_multipart_send_or_recv_that_could_complete_raises_when_cancelled(
    ctx: zmtrio.Context,
) -> None:
    with trio.fail_after(10):
        pull = ctx.socket(zmtrio.PULL)
        push = ctx.socket(zmtrio.PUSH)
        await pull.bind("inproc://cancel-multipart")
        await push.connect("inproc://cancel-multipart")
        await push.send(b"a", zmtrio.SNDMORE)
        with trio.CancelScope() as scope:
            scope.cancel()
            # The last frame could be queued at once: cancellation wins and the message
            # stays pending, whole; the same for a recv_multipart with a message waiting.
            with pytest.raises(trio.Cancelled):
                await push.send(b"b")
            with pytest.raises(trio.Cancelled):
                await push.send_multipart([b"never"])
        assert await pull.poll(zmtrio.POLLIN, timeout=0) == 0
        await push.send(b"b")
        with trio.CancelScope() as scope:
            scope.cancel()
            with pytest.raises(trio.Cancelled):
                await pull.recv_multipart()
        assert await pull.recv_multipart() == [b"a", b"b"]
        push.close()
        pull.close()
