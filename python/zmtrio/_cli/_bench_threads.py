"""``zmtrio bench --workload inproc-threads``: PUSH->PULL over inproc between two threads.

The PULL binds in the main thread's trio loop; the PUSH sends from a second thread running
its own trio loop (``ctx.attach()``), so every message crosses the lock-free ring between
the loops. The "one loop" rows run the same PUSH and PULL as two tasks of one trio loop
(inproc's plain pipe: issue 10's inproc target). pyzmq does the same with blocking sockets
of one ``zmq.Context`` in two threads, in the same run. Each two-loop row also gives the
cross-thread wakes per message (both directions: the PULL's loop woken for messages, the
PUSH's for room), counted by the rings.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import TextIO

import trio

import zmtrio

from .._peer import Peer
from .._transport._inproc_threads import cross_thread_wakes

__all__ = ["bench_threads"]

_ENDPOINT = "inproc://zmtrio-bench-threads"
#: How long a row may take before the run gives up on it (seconds).
_JOIN_TIMEOUT = 120.0


@dataclass(frozen=True)
class ThreadRow:
    """One measured implementation and API."""

    library: str
    api: str
    seconds: float
    messages: int
    wakes: int | None

    @property
    def rate(self) -> float:
        """Messages per second, first message to last at the receiver."""
        return self.messages / self.seconds


async def _send_all(push: zmtrio.Socket, count: int, size: int, batch: int) -> None:
    """``count`` messages: per message (``batch`` 1) or ``send_batch`` of ``batch``."""
    payload = b"x" * size
    if batch == 1:
        for _ in range(count):
            await push.send(payload)
    else:
        for start in range(0, count, batch):
            await push.send_batch([[payload]] * min(batch, count - start))


async def _receive_all(pull: zmtrio.Socket, count: int, batch: int) -> tuple[float, list[Peer]]:
    """Receive ``count`` messages as sent; the seconds from the first to the last, and the
    peers at the first (the sender may have closed, and its peer gone, by the last)."""
    await pull.recv()
    peers = list(pull._peers)
    started = time.perf_counter()
    received = 1
    while received < count:
        if batch == 1:
            await pull.recv()
            received += 1
        else:
            received += len(await pull.recv_batch(batch))
    return time.perf_counter() - started, peers


def _api(batch: int) -> str:
    return "send/recv" if batch == 1 else f"send_batch/recv_batch {batch}"


def _zmtrio_row(count: int, size: int, batch: int) -> ThreadRow:
    """``batch`` 1: per-message send/recv; more: send_batch/recv_batch of that many."""
    sender_wakes: list[int] = []

    async def send_all(ctx: zmtrio.Context) -> None:
        async with ctx.attach():
            push = ctx.socket(zmtrio.PUSH)
            await push.connect(_ENDPOINT)
            await _send_all(push, count, size, batch)
            sender_wakes.append(cross_thread_wakes(list(push._peers)))
            await push.aclose()

    async def main() -> ThreadRow:
        async with zmtrio.Context() as ctx:
            pull = ctx.socket(zmtrio.PULL)
            await pull.bind(_ENDPOINT)
            worker = threading.Thread(target=trio.run, args=(send_all, ctx), daemon=True)
            worker.start()
            seconds, peers = await _receive_all(pull, count, batch)
            await trio.to_thread.run_sync(worker.join, _JOIN_TIMEOUT)
            if worker.is_alive() or not sender_wakes:
                raise RuntimeError("the sending thread did not finish")
            wakes = sender_wakes[0] + cross_thread_wakes(peers)
            await pull.aclose()
        return ThreadRow("zmtrio", f"{_api(batch)}, two loops", seconds, count - 1, wakes)

    return trio.run(main)


def _one_loop_row(count: int, size: int, batch: int) -> ThreadRow:
    """The same PUSH->PULL as two tasks of one trio loop (no thread, no ring)."""

    async def main() -> ThreadRow:
        async with zmtrio.Context() as ctx:
            pull = ctx.socket(zmtrio.PULL)
            await pull.bind(_ENDPOINT)
            push = ctx.socket(zmtrio.PUSH)
            await push.connect(_ENDPOINT)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_send_all, push, count, size, batch)
                seconds, _ = await _receive_all(pull, count, batch)
            push.close()
            pull.close()
        return ThreadRow("zmtrio", f"{_api(batch)}, one loop", seconds, count - 1, None)

    return trio.run(main)


def _pyzmq_row(count: int, size: int) -> ThreadRow:
    """Blocking pyzmq sockets of one context in two threads."""
    import zmq

    payload = b"x" * size
    context = zmq.Context()
    try:
        pull = context.socket(zmq.PULL)
        pull.bind(_ENDPOINT)

        def send_all() -> None:
            push = context.socket(zmq.PUSH)
            push.connect(_ENDPOINT)
            for _ in range(count):
                push.send(payload)
            push.close(linger=-1)

        worker = threading.Thread(target=send_all, daemon=True)
        worker.start()
        pull.recv()
        started = time.perf_counter()
        for _ in range(count - 1):
            pull.recv()
        seconds = time.perf_counter() - started
        worker.join(_JOIN_TIMEOUT)
        pull.close(linger=0)
    finally:
        context.term()
    return ThreadRow("pyzmq", "blocking send/recv", seconds, count - 1, None)


def bench_threads(
    *, size: int, count: int, batch: int, modes: list[str], versus: str, out: TextIO
) -> list[ThreadRow]:
    """Run the rows (zmtrio per message and/or batched, two loops then one, then pyzmq);
    print and return them."""
    if count < 2:
        raise SystemExit("inproc-threads needs --count of at least 2")
    rows: list[ThreadRow] = []
    if "zmtrio" in modes:
        rows.append(_zmtrio_row(count, size, 1))
        rows.append(_one_loop_row(count, size, 1))
    if "zmtrio-batch" in modes:
        rows.append(_zmtrio_row(count, size, batch))
        rows.append(_one_loop_row(count, size, batch))
    pyzmq = None
    if versus == "pyzmq":
        import zmq

        pyzmq = f", pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}"
        rows.append(_pyzmq_row(count, size))
    out.write(
        f"zmtrio bench: PUSH->PULL over inproc, two threads and one loop, {size} B messages, "
        f"{count:,} messages\n{date.today()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}{pyzmq or ''}\n"
    )
    baseline = rows[-1] if pyzmq else None
    out.write(
        f"\n{'library':<8} {'API':<38} {'msg/s':>12} {'us each':>8} {'wakes/msg':>10}  ratio\n"
    )
    for row in rows:
        wakes = f"{row.wakes / row.messages:.5f}" if row.wakes is not None else "-"
        ratio = (
            f"{row.rate / baseline.rate:.2f}x pyzmq"
            if baseline is not None and row is not baseline
            else ""
        )
        out.write(
            f"{row.library:<8} {row.api:<38} {row.rate:>12,.0f} "
            f"{row.seconds / row.messages * 1e6:>8.2f} {wakes:>10}  {ratio}\n"
        )
    return rows
