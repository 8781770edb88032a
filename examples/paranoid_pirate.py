"""Paranoid Pirate: reliable request-reply with heartbeats. A queue hands each client
request to the longest-idle live worker; queue and workers send each other heartbeats, so
the queue forgets a worker that went silent and a worker reconnects (with backoff) to a
queue that did. Clients are Lazy Pirates: they retry a request that got no reply.

The ZeroMQ guide's ppqueue and ppworker (with lpclient), for trio, in one process::

    python examples/paranoid_pirate.py

Worker 0 "crashes" on its third request: the client retries after its timeout, and the
queue gives the request to worker 1.
"""

from __future__ import annotations

import trio
import zmtrio

HEARTBEAT_INTERVAL = 0.1  # seconds between heartbeats
HEARTBEAT_LIVENESS = 3  # heartbeats missed before a peer counts as dead
RECONNECT_INITIAL, RECONNECT_MAX = 0.1, 3.2  # a worker's backoff (seconds)
REQUEST_TIMEOUT = 0.5
REQUESTS = 8
READY, HEARTBEAT = b"\x01", b"\x02"  # the worker protocol's signals


class Workers:
    """Live, idle workers in the order they became ready, each with its expiry time."""

    def __init__(self) -> None:
        self._expiry: dict[bytes, float] = {}
        self._changed = trio.Event()

    def ready(self, worker_id: bytes) -> None:
        """Any message from a worker: it is alive and (again) at the end of the line."""
        self._expiry.pop(worker_id, None)
        self._expiry[worker_id] = trio.current_time() + HEARTBEAT_INTERVAL * HEARTBEAT_LIVENESS
        self._changed.set()

    def purge(self) -> None:
        """Forget workers that have been silent for too long."""
        now = trio.current_time()
        for worker_id, expiry in list(self._expiry.items()):
            if expiry < now:
                print(f"queue: {worker_id.decode()} expired")
                del self._expiry[worker_id]

    def idle(self) -> list[bytes]:
        """The workers waiting for work."""
        return list(self._expiry)

    async def next(self) -> bytes:
        """Take the longest-idle worker, waiting for one if none is idle."""
        while not self._expiry:
            self._changed = trio.Event()
            await self._changed.wait()
        worker_id = next(iter(self._expiry))
        del self._expiry[worker_id]
        return worker_id


async def queue(
    ctx: zmtrio.Context, task_status: trio.TaskStatus[tuple[str, str]] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve clients on the frontend and workers on the backend, until cancelled."""
    workers = Workers()
    async with ctx.socket(zmtrio.ROUTER) as frontend, ctx.socket(zmtrio.ROUTER) as backend:
        endpoints = (
            await frontend.bind("tcp://127.0.0.1:*"),
            await backend.bind("tcp://127.0.0.1:*"),
        )

        async def from_workers() -> None:
            async for worker_id, *message in backend:
                workers.ready(worker_id)
                if message not in ([READY], [HEARTBEAT]):
                    await frontend.send_multipart(message)  # a reply: [client, b"", body]

        async def from_clients() -> None:
            while True:
                worker_id = await workers.next()
                request = await frontend.recv_multipart()  # [client, b"", body]
                await backend.send_multipart([worker_id, *request])

        async def heartbeats() -> None:
            while True:
                await trio.sleep(HEARTBEAT_INTERVAL)
                for worker_id in workers.idle():
                    await backend.send_multipart([worker_id, HEARTBEAT])
                workers.purge()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(from_workers)
            nursery.start_soon(from_clients)
            nursery.start_soon(heartbeats)
            task_status.started(endpoints)


async def worker(ctx: zmtrio.Context, name: str, backend: str, crash_on: int) -> None:
    """Answer requests; reconnect when the queue goes silent; "crash" on request
    ``crash_on``."""
    liveness, reconnect_delay = HEARTBEAT_LIVENESS, RECONNECT_INITIAL
    sock = await _connect_worker(ctx, name, backend)
    heartbeat_at = trio.current_time() + HEARTBEAT_INTERVAL
    cycles = 0
    while True:
        with trio.move_on_after(HEARTBEAT_INTERVAL) as timeout:
            message = await sock.recv_multipart()
        if not timeout.cancelled_caught:
            liveness, reconnect_delay = HEARTBEAT_LIVENESS, RECONNECT_INITIAL
            if len(message) == 3:  # a request: [client, b"", body]
                cycles += 1
                if cycles == crash_on:
                    print(f"{name}: simulating a crash")
                    sock.close()
                    return
                print(f"{name}: normal reply ({message[2].decode()})")
                await sock.send_multipart(message)
            elif message != [HEARTBEAT]:
                print(f"{name}: invalid message {message!r}")
        else:
            liveness -= 1
            if not liveness:
                print(f"{name}: heartbeat failure, reconnecting in {reconnect_delay:.1f} s")
                sock.close()
                await trio.sleep(reconnect_delay)
                reconnect_delay = min(2 * reconnect_delay, RECONNECT_MAX)
                sock = await _connect_worker(ctx, name, backend)
                liveness = HEARTBEAT_LIVENESS
        if trio.current_time() > heartbeat_at:
            heartbeat_at = trio.current_time() + HEARTBEAT_INTERVAL
            await sock.send(HEARTBEAT)


async def _connect_worker(ctx: zmtrio.Context, name: str, backend: str) -> zmtrio.Socket:
    sock = ctx.socket(zmtrio.DEALER)
    sock.routing_id = name.encode()
    await sock.connect(backend)
    await sock.send(READY)
    return sock


async def client(ctx: zmtrio.Context, frontend: str) -> None:
    """A Lazy Pirate client (see lazy_pirate.py): resend on a new socket after a timeout."""
    req = ctx.socket(zmtrio.REQ)
    await req.connect(frontend)
    for sequence in range(1, REQUESTS + 1):
        request = str(sequence).encode()
        await req.send(request)
        while True:
            with trio.move_on_after(REQUEST_TIMEOUT) as timeout:
                reply = await req.recv()
            if not timeout.cancelled_caught and reply == request:
                print(f"client: server replied OK ({reply.decode()})")
                break
            print("client: no response from server, retrying...")
            req.close()
            req = ctx.socket(zmtrio.REQ)
            await req.connect(frontend)
            await req.send(request)
    req.close()


async def main() -> None:
    async with zmtrio.Context(linger=0) as ctx, trio.open_nursery() as nursery:
        frontend, backend = await nursery.start(queue, ctx)
        nursery.start_soon(worker, ctx, "worker-0", backend, 3)
        nursery.start_soon(worker, ctx, "worker-1", backend, 0)  # 0: never crashes
        await client(ctx, frontend)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
