"""Hello World: a REP server answers "World" to each "Hello" from a REQ client.

The ZeroMQ guide's hwserver and hwclient, for trio. Both in one process::

    python examples/hello_world.py

or each in its own terminal::

    python examples/hello_world.py server tcp://*:5555
    python examples/hello_world.py client tcp://localhost:5555
"""

from __future__ import annotations

import sys

import trio
import zmtrio

REQUESTS = 5


async def server(
    ctx: zmtrio.Context, endpoint: str, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED
) -> None:
    """Answer every request with b"World", until cancelled."""
    async with ctx.socket(zmtrio.REP) as rep:
        bound = await rep.bind(endpoint)  # "tcp://127.0.0.1:*" picks a free port
        print(f"server: listening on {bound}")
        task_status.started(bound)  # nursery.start() returns the endpoint to the caller
        async for request in rep:  # each item is one whole message: a list of frames
            print(f"server: received {request[0]!r}")
            await trio.sleep(0.01)  # do some "work"
            await rep.send(b"World")


async def client(ctx: zmtrio.Context, endpoint: str) -> None:
    """Send REQUESTS requests, one at a time, printing each reply."""
    async with ctx.socket(zmtrio.REQ) as req:
        await req.connect(endpoint)  # returns at once; the connection is made in the background
        for number in range(REQUESTS):
            await req.send(b"Hello")
            reply = await req.recv()
            print(f"client: reply {number}: {reply!r}")


async def main(args: list[str]) -> None:
    role, endpoint = [*args, "both", ""][:2]
    # linger=0: at exit, drop what could not be sent instead of waiting for a peer forever.
    async with zmtrio.Context(linger=0) as ctx:
        if role == "server":
            await server(ctx, endpoint or "tcp://*:5555")
        elif role == "client":
            await client(ctx, endpoint or "tcp://localhost:5555")
        else:
            async with trio.open_nursery() as nursery:
                bound = await nursery.start(server, ctx, "tcp://127.0.0.1:*")
                await client(ctx, bound)
                nursery.cancel_scope.cancel()  # the server would run forever: stop it


if __name__ == "__main__":
    trio.run(main, sys.argv[1:])
