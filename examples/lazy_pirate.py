"""Lazy Pirate: reliable request-reply on the client side. The client waits a limited time
for each reply; when none comes it closes its REQ socket (a REQ that sent and got nothing
can send nothing more), opens a new one and resends, and gives up after a few tries.

The ZeroMQ guide's lpclient and lpserver, for trio, in one process::

    python examples/lazy_pirate.py

The server simulates an overload (a reply too late) on its third request and a crash on
its sixth; the client retries through the first and abandons after the second.
"""

from __future__ import annotations

import trio
import zmtrio

REQUEST_TIMEOUT = 0.25  # seconds
RETRIES = 3


async def server(
    ctx: zmtrio.Context, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED
) -> None:
    """Echo requests; overloaded on the third, crashed (gone) on the sixth."""
    async with ctx.socket(zmtrio.REP) as rep:
        task_status.started(await rep.bind("tcp://127.0.0.1:*"))
        cycles = 0
        async for request in rep:
            cycles += 1
            if cycles == 3:
                print("server: simulating CPU overload")
                await trio.sleep(2 * REQUEST_TIMEOUT)
            elif cycles == 6:
                print("server: simulating a crash")
                return
            print(f"server: normal request ({request[0].decode()})")
            await rep.send_multipart(request)


async def client(ctx: zmtrio.Context, endpoint: str) -> None:
    """Send numbered requests until the server stops answering."""
    req = ctx.socket(zmtrio.REQ)
    await req.connect(endpoint)
    sequence = 0
    retries_left = RETRIES
    while retries_left:
        sequence += 1
        request = str(sequence).encode()
        await req.send(request)
        while True:
            with trio.move_on_after(REQUEST_TIMEOUT) as timeout:  # a timeout is a cancel scope
                reply = await req.recv()
            if not timeout.cancelled_caught:
                if reply == request:
                    print(f"client: server replied OK ({reply.decode()})")
                    retries_left = RETRIES
                    break
                print(f"client: malformed reply from server: {reply!r}")
                continue
            retries_left -= 1
            # The REQ socket waits for a reply that will not come: drop it (close() does
            # not linger) and make a new one.
            req.close()
            if not retries_left:
                print("client: server seems to be offline, abandoning")
                return
            print("client: no response from server, retrying...")
            req = ctx.socket(zmtrio.REQ)
            await req.connect(endpoint)
            await req.send(request)


async def main() -> None:
    async with zmtrio.Context(linger=0) as ctx, trio.open_nursery() as nursery:
        endpoint = await nursery.start(server, ctx)
        await client(ctx, endpoint)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
