"""Load-balancing broker: workers say when they are ready, and each client request goes
to a worker that is free, never queueing behind a busy one (ROUTER to ROUTER).

The ZeroMQ guide's lbbroker, for trio, in one process::

    python examples/load_balancing_broker.py

Where the guide polls both sockets and only reads clients while a worker is free, the trio
version runs one task per direction, and a memory channel is the queue of free workers:
the frontend task waits for a free worker before it takes the next request.
"""

from __future__ import annotations

import trio
import zmtrio

CLIENTS = 6
WORKERS = 3


async def worker(ctx: zmtrio.Context, name: str, backend: str) -> None:
    """Say READY, then answer requests until cancelled. A REQ socket: each message it
    receives is [client id, b"", request], the envelope it must send back."""
    async with ctx.socket(zmtrio.REQ) as req:
        req.routing_id = name.encode()  # a readable id in the broker's output
        await req.connect(backend)
        await req.send(b"READY")
        while True:
            client, empty, _request = await req.recv_multipart()
            await trio.sleep(0.01)  # the "work"
            await req.send_multipart([client, empty, b"OK from " + name.encode()])


async def client(ctx: zmtrio.Context, name: str, frontend: str) -> None:
    """One request, one reply."""
    async with ctx.socket(zmtrio.REQ) as req:
        req.routing_id = name.encode()
        await req.connect(frontend)
        await req.send(b"HELLO")
        print(f"{name}: {(await req.recv()).decode()}")


async def broker(
    ctx: zmtrio.Context, task_status: trio.TaskStatus[tuple[str, str]] = trio.TASK_STATUS_IGNORED
) -> None:
    """Route each client request to a free worker and each reply back, until cancelled."""
    async with ctx.socket(zmtrio.ROUTER) as frontend, ctx.socket(zmtrio.ROUTER) as backend:
        endpoints = (
            await frontend.bind("tcp://127.0.0.1:*"),
            await backend.bind("tcp://127.0.0.1:*"),
        )
        task_status.started(endpoints)
        free_workers, next_free_worker = trio.open_memory_channel[bytes](WORKERS)

        async def from_workers() -> None:
            # [worker id, b"", b"READY"] or [worker id, b"", client id, b"", reply]
            async for worker_id, _, *rest in backend:
                await free_workers.send(worker_id)
                if rest[0] != b"READY":
                    client_id, _, reply = rest
                    await frontend.send_multipart([client_id, b"", reply])

        async def from_clients() -> None:
            while True:
                worker_id = await next_free_worker.receive()  # no free worker: wait here
                client_id, _, request = await frontend.recv_multipart()
                await backend.send_multipart([worker_id, b"", client_id, b"", request])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(from_workers)
            nursery.start_soon(from_clients)


async def main() -> None:
    async with zmtrio.Context(linger=0) as ctx, trio.open_nursery() as nursery:
        frontend, backend = await nursery.start(broker, ctx)
        for number in range(WORKERS):
            nursery.start_soon(worker, ctx, f"worker-{number}", backend)
        async with trio.open_nursery() as clients:
            for number in range(CLIENTS):
                clients.start_soon(client, ctx, f"client-{number}", frontend)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
