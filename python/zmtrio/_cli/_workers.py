"""Benchmark peers. Each runs in its own process (as libzmq's perf tools do), binds or
connects, plays one role and reports through a queue; the measuring side also counts
progress in a shared integer for the parent's progress bar.

Roles: ``sender``/``receiver`` (PUSH->PULL throughput), ``client``/``echo`` (round trips:
PAIR, or REQ/REP), ``publisher``/``subscriber`` (PUB->SUB fan-out). The role loops are
written once for async APIs (zmtrio, pyzmq's and pyomq's asyncio) and once for blocking
pyzmq and pyomq (one face, the same names), so the blocking baselines pay no coroutine
cost. The raw floors' roles are in ``_bench_raw``.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import trio

import zmtrio

from ._bench_raw import run_raw

#: How many messages pass between progress updates.
PROGRESS_STEP = 4096
#: Fan-out markers: probes until every subscriber is in, data, then the end marker.
_PROBE, _DATA, _END = b"P", b"D", b"E"

#: (binding role, connecting role) per workload.
ROLES = {
    "throughput": ("receiver", "sender"),
    "latency": ("echo", "client"),
    "reqrep": ("echo", "client"),
    "pubsub": ("publisher", "subscriber"),
    "radio-dish": ("publisher", "subscriber"),
    "raw": ("receiver", "sender"),
    "raw-pingpong": ("echo", "client"),
}
#: The workloads with many subscribers.
FAN_OUT = ("pubsub", "radio-dish")
#: The group of radio-dish's messages.
_GROUP = b"bench"

_SOCKET_TYPES = {
    "throughput": {"receiver": zmtrio.PULL, "sender": zmtrio.PUSH},
    "latency": {"echo": zmtrio.PAIR, "client": zmtrio.PAIR},
    "reqrep": {"echo": zmtrio.REP, "client": zmtrio.REQ},
    "pubsub": {"publisher": zmtrio.PUB, "subscriber": zmtrio.SUB},
    "radio-dish": {"publisher": zmtrio.RADIO, "subscriber": zmtrio.DISH},
}


@dataclass(frozen=True)
class Job:
    """One peer's part of a workload."""

    implementation: str  # "zmtrio", "zmtrio-batch", "pyzmq[-asyncio]", "pyomq[-asyncio]", "raw..."
    workload: str  # a key of ROLES
    transport: str
    size: int
    count: int
    batch: int
    subscribers: int = 1
    curve: bool = False  # CURVE: the binding peer is the server
    busy_poll: int = 0  # zmtrio's BUSY_POLL (reqrep), microseconds


@dataclass
class Shared:
    """What the processes of one measurement share: queue and counters."""

    results: Any  # multiprocessing Queue: ("endpoint", str) / ("elapsed", s, n) / ...
    progress: Any  # multiprocessing Value("q")
    ready: Any  # subscribers that received a probe
    done: Any  # subscribers that received the end marker


#: Fixed CURVE keys for benchmarks (libzmq's documented test keys): every peer process
#: knows them without exchanging anything. Never use them for anything else.
_SERVER_PUBLIC = b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
_SERVER_SECRET = b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
_CLIENT_PUBLIC = b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
_CLIENT_SECRET = b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"


def secure(sock: Any, job: Job, binds: bool) -> None:
    """Make a zmtrio or pyzmq socket a CURVE server (binding peer) or client, if asked."""
    if not job.curve:
        return
    if binds:
        sock.curve_secretkey = _SERVER_SECRET
        sock.curve_server = True
    else:
        sock.curve_publickey = _CLIENT_PUBLIC
        sock.curve_secretkey = _CLIENT_SECRET
        sock.curve_serverkey = _SERVER_PUBLIC


def bind_endpoint(transport: str, library: str = "zmtrio") -> str:
    """Where the binding peer binds for ``transport``."""
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        if library == "pyomq":  # pyomq reports "ipc://*" back instead of the path it chose
            return f"ipc://{tempfile.gettempdir()}/zmtrio-bench-{os.getpid()}.ipc"
        return "ipc://*"
    return "inproc://zmtrio-bench"


def run(job: Job, role: str, endpoint: str | None, shared: Shared) -> None:
    """Process entry point: play ``role`` of ``job`` (``"both"``: inproc, both roles)."""
    library, _, face = job.implementation.partition("-")
    if library == "zmtrio":
        trio.run(_zmtrio_main, job, role, endpoint, shared)
    elif library == "raw":
        run_raw(job, role, endpoint, shared)
    elif face == "asyncio":
        asyncio.run(_pyzmq_asyncio_main(job, role, endpoint, shared))
    else:
        _pyzmq_blocking_main(job, role, endpoint, shared)


def _payload(job: Job) -> bytes:
    return _DATA + b"x" * max(job.size - 1, 0)


def _count_in(shared_value: Any) -> None:
    with shared_value.get_lock():
        shared_value.value += 1


# ---------------------------------------------------------------- async role loops


Send = Callable[[bytes], Awaitable[Any]]
Recv = Callable[[], Awaitable[bytes]]


async def _play_async(
    job: Job,
    role: str,
    send: Send,
    recv: Recv,
    sleep: Callable[[float], Awaitable[Any]],
    shared: Shared,
) -> None:
    payload = _payload(job)
    count = job.count
    if role == "sender":
        for _ in range(count):
            await send(payload)
    elif role == "receiver":
        await recv()
        start = time.perf_counter()
        for i in range(1, count):
            await recv()
            if not i % PROGRESS_STEP:
                shared.progress.value = i
        shared.results.put(("elapsed", time.perf_counter() - start, count - 1))
    elif role == "echo":
        for _ in range(count):
            await send(await recv())
    elif role == "client":
        start = time.perf_counter()
        for i in range(count):
            await send(payload)
            await recv()
            if not i % 256:
                shared.progress.value = i
        shared.results.put(("elapsed", time.perf_counter() - start, count))
    elif role == "publisher":
        while shared.ready.value < job.subscribers:
            await send(_PROBE)
            await sleep(0.01)
        for i in range(count):
            await send(payload)
            if not i % PROGRESS_STEP:
                shared.progress.value = i
        while shared.done.value < job.subscribers:
            await send(_END)
            await sleep(0.01)
    else:  # subscriber
        await recv()
        _count_in(shared.ready)
        received, start = 0, 0.0
        while True:
            message = await recv()
            if message[:1] == _DATA:
                if not received:
                    start = time.monotonic()
                received += 1
            elif message == _END:
                break
        shared.results.put(("subscriber", received, start, time.monotonic()))
        _count_in(shared.done)


async def _play_zmtrio_batched(job: Job, role: str, sock: zmtrio.Socket, shared: Shared) -> None:
    """The one-way roles with send_batch/recv_batch (round trips use _play_async)."""
    payload = _payload(job)
    count = job.count
    if role in ("sender", "publisher"):
        if role == "publisher":
            while shared.ready.value < job.subscribers:
                await sock.send(_PROBE)
                await trio.sleep(0.01)
        chunk = [[payload]] * job.batch
        for i in range(count // job.batch):
            await sock.send_batch(chunk)
            shared.progress.value = i * job.batch
        await sock.send_batch(chunk[: count % job.batch])
        if role == "publisher":
            while shared.done.value < job.subscribers:
                await sock.send(_END)
                await trio.sleep(0.01)
        return
    if role == "subscriber":
        await sock.recv()
        _count_in(shared.ready)
        delivered, start, ended = 0, 0.0, False
        while not ended:
            for (frame,) in await sock.recv_batch(job.batch):
                if frame[:1] == _DATA:
                    if not delivered:
                        start = time.monotonic()
                    delivered += 1
                elif frame == _END:
                    ended = True
        shared.results.put(("subscriber", delivered, start, time.monotonic()))
        _count_in(shared.done)
        return
    received = len(await sock.recv_batch(job.batch))
    start = time.perf_counter()
    measured_from = received
    while received < count:
        received += len(await sock.recv_batch(job.batch))
        shared.progress.value = received
    shared.results.put(("elapsed", time.perf_counter() - start, count - measured_from))


async def _zmtrio_play(job: Job, role: str, sock: zmtrio.Socket, shared: Shared) -> None:
    async with sock:
        send = sock.send
        if job.workload == "radio-dish":
            if role == "subscriber":
                sock.join(_GROUP)
            send = partial(sock.send, group=_GROUP)
        elif role == "subscriber":
            sock.subscribe(b"")
        if job.implementation == "zmtrio-batch" and role not in ("client", "echo"):
            await _play_zmtrio_batched(job, role, sock, shared)
        else:
            await _play_async(job, role, send, sock.recv, trio.sleep, shared)


async def _zmtrio_main(job: Job, role: str, endpoint: str | None, shared: Shared) -> None:
    types = _SOCKET_TYPES[job.workload]
    async with zmtrio.Context() as ctx:
        if role != "both":
            sock = ctx.socket(types[role])
            secure(sock, job, binds=endpoint is None)
            if job.busy_poll:
                sock.busy_poll = job.busy_poll
            if endpoint is None:
                shared.results.put(("endpoint", await sock.bind(bind_endpoint(job.transport))))
            else:
                await sock.connect(endpoint)
            await _zmtrio_play(job, role, sock, shared)
            return
        # inproc: every peer lives in this process, in one trio loop.
        binder_role, connector_role = ROLES[job.workload]
        binder = ctx.socket(types[binder_role])
        secure(binder, job, binds=True)
        endpoint = await binder.bind(bind_endpoint(job.transport))
        connectors = []
        for _ in range(job.subscribers if job.workload in FAN_OUT else 1):
            connector = ctx.socket(types[connector_role])
            secure(connector, job, binds=False)
            await connector.connect(endpoint)
            connectors.append(connector)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_zmtrio_play, job, binder_role, binder, shared)
            for connector in connectors:
                nursery.start_soon(_zmtrio_play, job, connector_role, connector, shared)


# ---------------------------------------------------------------- pyzmq and pyomq


def _library(job: Job) -> Any:
    """The module of a pyzmq-like peer: ``zmq`` (pyzmq) or ``pyomq`` (same names)."""
    return importlib.import_module("pyomq" if job.implementation.startswith("pyomq") else "zmq")


def _pyzmq_socket(context: Any, job: Job, role: str, endpoint: str | None, shared: Shared) -> Any:
    zmq = _library(job)
    sock = context.socket(int(_SOCKET_TYPES[job.workload][role]))
    secure(sock, job, binds=endpoint is None)
    if role == "subscriber":
        if job.workload == "radio-dish":
            sock.join(_GROUP)
        else:
            sock.subscribe(b"")
    if endpoint is None:
        sock.bind(bind_endpoint(job.transport, job.implementation.partition("-")[0]))
        shared.results.put(("endpoint", sock.getsockopt(zmq.LAST_ENDPOINT).decode()))
    else:
        sock.connect(endpoint)
    return sock


def _pyzmq_send(job: Job, sock: Any) -> Any:
    """The socket's send; RADIO sends each message as [group, body] (pyomq's face)."""
    if job.workload != "radio-dish":
        return sock.send
    return lambda body: sock.send_multipart([_GROUP, body])


def _pyzmq_recv(job: Job, sock: Any) -> Any:
    """The socket's recv; DISH receives [group, body] and hands back the body."""
    if job.workload != "radio-dish":
        return sock.recv
    if job.implementation.endswith("-asyncio"):

        async def recv_body() -> bytes:
            return (await sock.recv_multipart())[-1]  # type: ignore[no-any-return]

        return recv_body
    return lambda: sock.recv_multipart()[-1]


async def _pyzmq_asyncio_main(job: Job, role: str, endpoint: str | None, shared: Shared) -> None:
    context = importlib.import_module(f"{_library(job).__name__}.asyncio").Context()
    sock = _pyzmq_socket(context, job, role, endpoint, shared)
    await _play_async(
        job, role, _pyzmq_send(job, sock), _pyzmq_recv(job, sock), asyncio.sleep, shared
    )
    sock.close(linger=-1)
    context.term()


def _pyzmq_blocking_main(job: Job, role: str, endpoint: str | None, shared: Shared) -> None:
    context = _library(job).Context()
    sock = _pyzmq_socket(context, job, role, endpoint, shared)
    send, recv = _pyzmq_send(job, sock), _pyzmq_recv(job, sock)
    payload = _payload(job)
    count = job.count
    if role == "sender":
        for _ in range(count):
            send(payload)
    elif role == "receiver":
        recv()
        start = time.perf_counter()
        for i in range(1, count):
            recv()
            if not i % PROGRESS_STEP:
                shared.progress.value = i
        shared.results.put(("elapsed", time.perf_counter() - start, count - 1))
    elif role == "echo":
        for _ in range(count):
            send(recv())
    elif role == "client":
        start = time.perf_counter()
        for i in range(count):
            send(payload)
            recv()
            if not i % 256:
                shared.progress.value = i
        shared.results.put(("elapsed", time.perf_counter() - start, count))
    elif role == "publisher":
        while shared.ready.value < job.subscribers:
            send(_PROBE)
            time.sleep(0.01)
        for i in range(count):
            send(payload)
            if not i % PROGRESS_STEP:
                shared.progress.value = i
        while shared.done.value < job.subscribers:
            send(_END)
            time.sleep(0.01)
    else:  # subscriber
        recv()
        _count_in(shared.ready)
        received, start = 0, 0.0
        while True:
            message = recv()
            if message[:1] == _DATA:
                if not received:
                    start = time.monotonic()
                received += 1
            elif message == _END:
                break
        shared.results.put(("subscriber", received, start, time.monotonic()))
        _count_in(shared.done)
    sock.close(linger=-1)
    context.term()
