"""Benchmark peers. Each runs in its own process (as libzmq's perf tools do), binds or
connects, moves ``count`` messages and reports through a queue; the side that measures
also counts progress in a shared integer for the parent's progress bar."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import trio

import zmtrio

#: How many messages pass between progress updates.
PROGRESS_STEP = 4096


@dataclass(frozen=True)
class Job:
    """One peer's part of a workload."""

    implementation: str  # "zmtrio", "zmtrio-batch", "pyzmq-asyncio", "pyzmq"
    workload: str  # "throughput" or "latency"
    transport: str
    size: int
    count: int
    batch: int


def _bind_endpoint(transport: str) -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        return "ipc://*"
    return "inproc://zmtrio-bench"


def run(
    job: Job, role: str, endpoint: str | None, results: Queue[Any], progress: Synchronized[int]
) -> None:
    """Process entry point: run ``role`` of ``job`` and put its report on ``results``."""
    if job.implementation.startswith("zmtrio"):
        trio.run(_zmtrio_main, job, role, endpoint, results, progress)
    elif job.implementation == "pyzmq-asyncio":
        asyncio.run(_pyzmq_asyncio_main(job, role, endpoint, results, progress))
    else:
        _pyzmq_blocking_main(job, role, endpoint, results, progress)


# ---------------------------------------------------------------- zmtrio


_ZMTRIO_TYPES = {
    "receiver": zmtrio.PULL,
    "sender": zmtrio.PUSH,
    "echo": zmtrio.PAIR,
    "client": zmtrio.PAIR,
}


async def _zmtrio_main(
    job: Job, role: str, endpoint: str | None, results: Queue[Any], progress: Synchronized[int]
) -> None:
    async with zmtrio.Context() as ctx:
        if role != "both":
            sock = ctx.socket(_ZMTRIO_TYPES[role])
            if endpoint is None:
                results.put(("endpoint", await sock.bind(_bind_endpoint(job.transport))))
            else:
                await sock.connect(endpoint)
            await _zmtrio_play(job, role, sock, results, progress)
            return
        # inproc: both peers live in this process, in one trio loop.
        binder_role, connector_role = (
            ("receiver", "sender") if job.workload == "throughput" else ("echo", "client")
        )
        binder = ctx.socket(_ZMTRIO_TYPES[binder_role])
        connector = ctx.socket(_ZMTRIO_TYPES[connector_role])
        await connector.connect(await binder.bind(_bind_endpoint(job.transport)))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_zmtrio_play, job, binder_role, binder, results, progress)
            await _zmtrio_play(job, connector_role, connector, results, progress)


async def _zmtrio_play(
    job: Job, role: str, sock: zmtrio.Socket, results: Queue[Any], progress: Synchronized[int]
) -> None:
    payload = b"x" * job.size
    count = job.count
    batched = job.implementation == "zmtrio-batch"
    async with sock:
        if role == "sender":
            if batched:
                chunk = [[payload]] * job.batch
                for _ in range(count // job.batch):
                    await sock.send_batch(chunk)
                await sock.send_batch(chunk[: count % job.batch])
            else:
                send = sock.send
                for _ in range(count):
                    await send(payload)
        elif role == "receiver":
            if batched:
                received = len(await sock.recv_batch(job.batch))
                start = time.perf_counter()
                measured_from = received
                while received < count:
                    received += len(await sock.recv_batch(job.batch))
                    progress.value = received
            else:
                recv = sock.recv
                await recv()
                start = time.perf_counter()
                measured_from = 1
                for i in range(1, count):
                    await recv()
                    if not i % PROGRESS_STEP:
                        progress.value = i
            results.put(("elapsed", time.perf_counter() - start, count - measured_from))
        elif role == "echo":
            for _ in range(count):
                await sock.send(await sock.recv())
        else:  # client
            start = time.perf_counter()
            for i in range(count):
                await sock.send(payload)
                await sock.recv()
                if not i % 256:
                    progress.value = i
            results.put(("elapsed", time.perf_counter() - start, count))


# ---------------------------------------------------------------- pyzmq


def _pyzmq_socket(
    context: Any, job: Job, role: str, endpoint: str | None, results: Queue[Any]
) -> Any:
    import zmq

    kinds = {"receiver": zmq.PULL, "sender": zmq.PUSH, "echo": zmq.PAIR, "client": zmq.PAIR}
    sock = context.socket(kinds[role])
    if endpoint is None:
        address = _bind_endpoint(job.transport)
        sock.bind(address)
        results.put(("endpoint", sock.getsockopt(zmq.LAST_ENDPOINT).decode()))
    else:
        sock.connect(endpoint)
    return sock


def _pyzmq_blocking_main(
    job: Job, role: str, endpoint: str | None, results: Queue[Any], progress: Synchronized[int]
) -> None:
    import zmq

    if role == "both":
        raise SystemExit("inproc is run with zmtrio only: pyzmq peers live in separate processes")
    context = zmq.Context()
    sock = _pyzmq_socket(context, job, role, endpoint, results)
    payload = b"x" * job.size
    count = job.count
    if role == "sender":
        send = sock.send
        for _ in range(count):
            send(payload)
    elif role == "receiver":
        recv = sock.recv
        recv()
        start = time.perf_counter()
        for i in range(1, count):
            recv()
            if not i % PROGRESS_STEP:
                progress.value = i
        results.put(("elapsed", time.perf_counter() - start, count - 1))
    elif role == "echo":
        for _ in range(count):
            sock.send(sock.recv())
    else:
        start = time.perf_counter()
        for i in range(count):
            sock.send(payload)
            sock.recv()
            if not i % 256:
                progress.value = i
        results.put(("elapsed", time.perf_counter() - start, count))
    sock.close(linger=-1)
    context.term()


async def _pyzmq_asyncio_main(
    job: Job, role: str, endpoint: str | None, results: Queue[Any], progress: Synchronized[int]
) -> None:
    import zmq.asyncio

    if role == "both":
        raise SystemExit("inproc is run with zmtrio only: pyzmq peers live in separate processes")
    context = zmq.asyncio.Context()
    sock = _pyzmq_socket(context, job, role, endpoint, results)
    payload = b"x" * job.size
    count = job.count
    if role == "sender":
        for _ in range(count):
            await sock.send(payload)
    elif role == "receiver":
        await sock.recv()
        start = time.perf_counter()
        for i in range(1, count):
            await sock.recv()
            if not i % PROGRESS_STEP:
                progress.value = i
        results.put(("elapsed", time.perf_counter() - start, count - 1))
    elif role == "echo":
        for _ in range(count):
            await sock.send(await sock.recv())
    else:
        start = time.perf_counter()
        for i in range(count):
            await sock.send(payload)
            await sock.recv()
            if not i % 256:
                progress.value = i
        results.put(("elapsed", time.perf_counter() - start, count))
    sock.close(linger=-1)
    context.term()
