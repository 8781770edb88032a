"""The context never wraps what the user will catch: exceptions from the body (and
KeyboardInterrupt) come out as themselves, ETERM is ContextTerminated, a lingering exit ends
when cancelled or interrupted, and ``Context(linger=..., **options)`` sets socket defaults."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import trio
import zmq
import zmtrio

from tests.conftest import default_sigint


async def test_exception_from_the_body_comes_out_as_itself() -> None:
    with pytest.raises(ValueError, match="mine") as info:
        async with zmtrio.Context() as ctx:
            ctx.socket(zmtrio.PUSH)
            raise ValueError("mine")
    assert type(info.value) is ValueError


async def test_keyboard_interrupt_from_the_body_comes_out_as_itself() -> None:
    with pytest.raises(KeyboardInterrupt) as info:
        async with zmtrio.Context() as ctx:
            await ctx.socket(zmtrio.PULL).bind("tcp://127.0.0.1:*")
            raise KeyboardInterrupt
    assert type(info.value) is KeyboardInterrupt


async def test_user_exception_group_is_not_wrapped_again() -> None:
    with pytest.raises(ExceptionGroup) as info:
        async with zmtrio.Context():
            raise ExceptionGroup("mine", [ValueError(1), KeyError(2)])
    assert info.value.message == "mine"


async def test_outer_cancellation_passes_through() -> None:
    with trio.move_on_after(0.05) as scope:
        async with zmtrio.Context() as ctx:
            await ctx.socket(zmtrio.PULL).recv()
    assert scope.cancelled_caught


async def test_several_background_failures_come_out_as_a_group() -> None:
    go = trio.Event()

    async def fail(error: Exception) -> None:
        await go.wait()  # both wake in the same batch: both raise before any is cancelled
        raise error

    with pytest.raises(ExceptionGroup) as info:
        async with zmtrio.Context() as ctx:
            sock = ctx.socket(zmtrio.PULL)
            sock._spawn(fail, KeyError("a"))
            sock._spawn(fail, IndexError("b"))
            await trio.sleep(0.01)
            go.set()
            await trio.sleep_forever()
    assert sorted(type(error).__name__ for error in info.value.exceptions) == [
        "IndexError",
        "KeyError",
    ]


async def test_background_failure_inside_a_nursery_of_its_own_comes_out_as_itself() -> None:
    # trio's open_tcp_stream runs a nursery inside the connect task: what fails there (a
    # KeyboardInterrupt landing in it, say) arrives wrapped twice.
    async def fail_in_a_nursery() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_raise, KeyError("inner"))

    async def _raise(error: Exception) -> None:
        raise error

    with pytest.raises(KeyError, match="inner"):
        async with zmtrio.Context() as ctx:
            ctx.socket(zmtrio.PULL)._spawn(fail_in_a_nursery)
            await trio.sleep_forever()


async def test_socket_after_close_is_context_terminated() -> None:
    async with zmtrio.Context() as ctx:
        pass
    with pytest.raises(zmtrio.ContextTerminated) as info:
        ctx.socket(zmtrio.PUSH)
    assert info.value.errno == zmtrio.ETERM == zmq.ETERM


async def test_cancelling_a_lingering_exit_drops_unsent_messages(dead_endpoint: str) -> None:
    with trio.fail_after(10):
        with trio.move_on_after(0.2) as scope:
            async with zmtrio.Context() as ctx:
                push = ctx.socket(zmtrio.PUSH)  # LINGER -1: would wait forever
                await push.connect(dead_endpoint)
                await push.send(b"never delivered")
        assert scope.cancelled_caught
        assert push.closed and ctx.closed
        assert push.statistics().queued_outbound == 0


async def test_context_linger_default_ends_the_exit(dead_endpoint: str) -> None:
    with trio.fail_after(10):
        async with zmtrio.Context(linger=0) as ctx:
            push = ctx.socket(zmtrio.PUSH)
            assert push.linger == 0
            await push.connect(dead_endpoint)
            await push.send(b"dropped")
    assert push.closed


async def test_context_option_defaults_apply_to_new_sockets() -> None:
    async with zmtrio.Context(sndhwm=10, hwm=20, router_mandatory=1) as ctx:
        assert (ctx.sndhwm, ctx.rcvhwm) == (20, 20)  # hwm came after sndhwm: both 20
        ctx.linger = 0
        ctx.RCVHWM = 30
        # ROUTER_MANDATORY does not apply to PUSH (setting it there is EINVAL): skipped.
        router, push = ctx.socket(zmtrio.ROUTER), ctx.socket(zmtrio.PUSH)
        assert (router.linger, router.sndhwm, router.rcvhwm) == (0, 20, 30)
        assert (push.linger, push.sndhwm, push.rcvhwm) == (0, 20, 30)
        with pytest.raises(zmtrio.ZMQError) as info:
            await router.send_multipart([b"nobody", b"x"])  # ROUTER_MANDATORY applied
        assert info.value.errno == zmtrio.EHOSTUNREACH


async def test_context_option_mistakes_raise(zctx: zmq.Context[Any]) -> None:
    ctx = zmtrio.Context()
    for target in (ctx, zctx):
        with pytest.raises(AttributeError):
            target.lingr = 0  # type: ignore[union-attr]
    with pytest.raises(TypeError, match="sndhmw"):
        zmtrio.Context(sndhmw=1)
    with pytest.raises(zmtrio.ZMQError) as info:
        zmtrio.Context(linger=-2)
    assert info.value.errno == errno.EINVAL
    with pytest.raises(zmtrio.ZMQError):
        ctx.rcvmore  # noqa: B018 (per socket, not a default)


INTERRUPTED_LINGER = """
import sys, trio, zmtrio

async def main() -> None:
    async with zmtrio.Context() as ctx:
        push = ctx.socket(zmtrio.PUSH)
        await push.connect(sys.argv[1])
        await push.send(b"never delivered")
        print("lingering", flush=True)

trio.run(main)
"""


async def test_ctrl_c_during_a_lingering_exit_is_a_plain_keyboard_interrupt(
    dead_endpoint: str,
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(INTERRUPTED_LINGER), dead_endpoint],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    try:
        assert process.stdout is not None
        line = await trio.to_thread.run_sync(process.stdout.readline)
        assert line == b"lingering\n"
        await trio.sleep(0.2)  # inside the exit's wait
        process.send_signal(signal.SIGINT)
        _, stderr = await trio.to_thread.run_sync(lambda: process.communicate(timeout=10))
    finally:
        process.kill()
    text = stderr.decode()
    assert process.returncode != 0
    assert text.rstrip().endswith("KeyboardInterrupt"), text
    assert "ExceptionGroup" not in text, text
