"""``zmtrio bench --workload connections``: one zmtrio ROUTER holding thousands of tcp peers.

pyzmq DEALER sockets in separate processes (up to :data:`PER_PROCESS` each) connect to one
zmtrio ROUTER and each says hello; the ROUTER then tells each to go, every DEALER sends
``rounds`` requests and the ROUTER echoes every one. Reported: the time from the go signal
until every hello arrived (connect plus handshake), the zmtrio process's memory and
descriptors per idle connection, and the per-message cost (CPU and wall time of the zmtrio
process per request received and echoed) with every peer attached. The run is complete when
every peer got every echo, in order, and the ROUTER's descriptors are all released after it
closes.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as MpEvent
from typing import Any, TextIO

import trio

import zmtrio

__all__ = ["ConnectionsResult", "connections"]

#: DEALER sockets per peer process (each costs libzmq two descriptors).
PER_PROCESS = 1250
#: How long each phase may take before the run is declared failed, in seconds.
PHASE_TIMEOUT = 300.0


@dataclass(frozen=True)
class ConnectionsResult:
    """The figures of one run."""

    count: int
    rounds: int
    connect_seconds: float
    rss_per_connection: float
    fds_per_connection: float
    cpu_us_per_message: float
    wall_us_per_message: float
    #: Every hello and echo arrived, and closing released every descriptor.
    complete: bool


def raise_fd_limit() -> int:
    """Raises this process's soft descriptor limit to its hard limit; returns it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _peer_process(
    endpoint: str, count: int, rounds: int, ready: Queue[Any], go: MpEvent, results: Queue[Any]
) -> None:
    """``count`` pyzmq DEALERs: connect and say hello at ``go``; at the ROUTER's ``go`` each
    sends ``rounds`` requests and checks their echoes; report how many arrived in order."""
    import zmq

    raise_fd_limit()
    ctx = zmq.Context()
    ctx.max_sockets = count + 16
    sockets = [ctx.socket(zmq.DEALER) for _ in range(count)]
    for sock in sockets:
        sock.linger = 0
    ready.put(count)
    go.wait()
    for sock in sockets:
        sock.connect(endpoint)
        sock.send(b"hello")
    poller = zmq.Poller()
    for sock in sockets:
        poller.register(sock, zmq.POLLIN)
    echoed = dict.fromkeys(sockets, 0)
    pending = count * rounds
    good = 0
    deadline = time.monotonic() + PHASE_TIMEOUT
    while pending and time.monotonic() < deadline:
        for sock, _ in poller.poll(1000):
            message = sock.recv()
            if message == b"go":
                for index in range(rounds):
                    sock.send(str(index).encode())
                continue
            good += message == str(echoed[sock]).encode()
            echoed[sock] += 1
            pending -= 1
    results.put(good)
    for sock in sockets:
        sock.close()
    ctx.term()


async def _get(queue: Queue[Any]) -> Any:
    return await trio.to_thread.run_sync(queue.get, True, PHASE_TIMEOUT)


async def connections(count: int, rounds: int, out: TextIO) -> ConnectionsResult:
    """Run the workload with ``count`` peers and ``rounds`` requests each; print and return
    the figures."""
    limit = raise_fd_limit()
    spawn = multiprocessing.get_context("spawn")
    ready: Queue[Any] = spawn.Queue()
    results: Queue[Any] = spawn.Queue()
    go = spawn.Event()
    shares = [min(PER_PROCESS, count - start) for start in range(0, count, PER_PROCESS)]
    out.write(
        f"zmtrio bench: connections, one zmtrio ROUTER on tcp, {count:,} pyzmq DEALER peers "
        f"in {len(shares)} processes, {rounds} echoed requests each "
        f"(descriptor limit {limit:,})\n"
    )
    out.flush()
    processes: list[SpawnProcess] = []
    fds_before = _fds()
    try:
        async with zmtrio.Context() as ctx:
            router = ctx.socket(zmtrio.ROUTER)
            router.linger = 0
            router.rcvhwm = router.sndhwm = 0
            endpoint = await router.bind("tcp://127.0.0.1:*")
            for share in shares:
                process = spawn.Process(
                    target=_peer_process, args=(endpoint, share, rounds, ready, go, results)
                )
                process.start()
                processes.append(process)
            for _ in shares:
                await _get(ready)
            rss_idle, fds_idle = _rss(), _fds()
            with trio.fail_after(PHASE_TIMEOUT):
                start = time.perf_counter()
                go.set()
                peers = []
                for _ in range(count):
                    routing_id, hello = await router.recv_multipart()
                    assert hello == b"hello"
                    peers.append(routing_id)
                connect_seconds = time.perf_counter() - start
                await trio.sleep(1)  # settle: every connection idle
                rss_per = (_rss() - rss_idle) / count
                fds_per = (_fds() - fds_idle) / count
                wall, cpu = time.perf_counter(), time.process_time()
                for routing_id in peers:
                    await router.send_multipart([routing_id, b"go"])
                for _ in range(count * rounds):
                    await router.send_multipart(await router.recv_multipart())
                wall = time.perf_counter() - wall
                cpu = time.process_time() - cpu
            good = 0
            for _ in shares:
                good += await _get(results)
            router.close()
        for process in processes:
            await trio.to_thread.run_sync(process.join, PHASE_TIMEOUT)
            process.close()
    finally:
        for process in processes:
            try:
                if process.is_alive():
                    process.kill()
            except ValueError:
                pass  # closed after a clean join
    fds_after = _fds()
    messages = count * rounds
    result = ConnectionsResult(
        count=count,
        rounds=rounds,
        connect_seconds=connect_seconds,
        rss_per_connection=rss_per,
        fds_per_connection=fds_per,
        cpu_us_per_message=cpu / messages * 1e6,
        wall_us_per_message=wall / messages * 1e6,
        complete=good == messages and fds_after <= fds_before,
    )
    out.write(
        f"connect + handshake, all {count:,}: {connect_seconds:.2f} s "
        f"({connect_seconds / count * 1e6:.0f} us each)\n"
        f"memory per idle connection: {rss_per / 1024:.1f} KiB RSS, "
        f"{fds_per:.2f} descriptors\n"
        f"per message with {count:,} peers attached (request received + echo sent): "
        f"{result.cpu_us_per_message:.1f} us CPU, {result.wall_us_per_message:.1f} us wall, "
        f"{messages:,} messages\n"
        f"echoes received in order by the peers: {good:,} of {messages:,}; descriptors "
        f"{fds_before} before, {fds_after} after closing\n"
    )
    return result
