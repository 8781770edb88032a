"""Request-reply broker: REQ clients talk to a ROUTER frontend, REP workers to a DEALER
backend, and ``zmtrio.proxy`` shuttles messages between the two, so clients and workers
come and go without knowing about each other.

The ZeroMQ guide's rrbroker, rrclient and rrworker (and msgqueue), for trio, in one
process::

    python examples/broker.py
"""

from __future__ import annotations

import trio
import zmtrio

CLIENTS = 2
WORKERS = 2
REQUESTS = 4


async def broker(
    ctx: zmtrio.Context, task_status: trio.TaskStatus[tuple[str, str]] = trio.TASK_STATUS_IGNORED
) -> None:
    """Forward requests to workers and replies back to their clients, until cancelled."""
    async with ctx.socket(zmtrio.ROUTER) as frontend, ctx.socket(zmtrio.DEALER) as backend:
        endpoints = (
            await frontend.bind("tcp://127.0.0.1:*"),
            await backend.bind("tcp://127.0.0.1:*"),
        )
        task_status.started(endpoints)
        # ROUTER prefixes each request with the client's routing id; DEALER spreads the
        # requests over the workers; replies find their way back by that id.
        await zmtrio.proxy(frontend, backend)


async def worker(ctx: zmtrio.Context, name: str, backend: str) -> None:
    """Answer requests until cancelled."""
    async with ctx.socket(zmtrio.REP) as rep:
        await rep.connect(backend)
        async for request in rep:
            await rep.send_string(f"{request[0].decode()} -> done by {name}")


async def client(ctx: zmtrio.Context, name: str, frontend: str) -> None:
    """Send REQUESTS requests and print the replies."""
    async with ctx.socket(zmtrio.REQ) as req:
        await req.connect(frontend)
        for number in range(REQUESTS):
            await req.send_string(f"{name} request {number}")
            print(await req.recv_string())


async def main() -> None:
    async with zmtrio.Context(linger=0) as ctx, trio.open_nursery() as nursery:
        frontend, backend = await nursery.start(broker, ctx)
        for number in range(WORKERS):
            nursery.start_soon(worker, ctx, f"worker-{number}", backend)
        async with trio.open_nursery() as clients:
            for number in range(CLIENTS):
                clients.start_soon(client, ctx, f"client-{number}", frontend)
        nursery.cancel_scope.cancel()  # every client is done: stop the broker and workers


if __name__ == "__main__":
    trio.run(main)
