"""Weather updates: a PUB server publishes "zipcode temperature humidity" for random
zipcodes; a SUB client subscribes to one zipcode and averages its temperatures.

The ZeroMQ guide's wuserver and wuclient, for trio. Both in one process::

    python examples/weather.py

or each in its own terminal::

    python examples/weather.py server tcp://*:5556
    python examples/weather.py client tcp://localhost:5556 10001
"""

from __future__ import annotations

import random
import sys

import trio
import zmtrio

UPDATES = 5


async def server(
    ctx: zmtrio.Context, endpoint: str, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED
) -> None:
    """Publish random updates until cancelled. PUB never blocks: a subscriber that is not
    connected yet, or too slow, misses updates (the "slow joiner")."""
    async with ctx.socket(zmtrio.PUB) as pub:
        bound = await pub.bind(endpoint)
        task_status.started(bound)
        while True:
            zipcode = random.randrange(10000, 10010)  # a small range, so updates match often
            temperature = random.randrange(-80, 135)
            humidity = random.randrange(10, 60)
            await pub.send_string(f"{zipcode} {temperature} {humidity}")
            await trio.sleep(0)  # let the other tasks of this demo run


async def client(ctx: zmtrio.Context, endpoint: str, zipcode: str) -> None:
    """Collect UPDATES updates for ``zipcode`` and print their average temperature."""
    async with ctx.socket(zmtrio.SUB) as sub:
        sub.subscribe(f"{zipcode} ")  # a prefix: filtering happens at the publisher
        await sub.connect(endpoint)
        temperatures = []
        for _ in range(UPDATES):
            update = await sub.recv_string()
            print(f"client: {update}")
            temperatures.append(int(update.split()[1]))
        average = sum(temperatures) / len(temperatures)
        print(f"client: average temperature for zipcode {zipcode} was {average:.1f}F")


async def main(args: list[str]) -> None:
    role, endpoint, zipcode = [*args, "both", "", "10001"][:3]
    async with zmtrio.Context(linger=0) as ctx:
        if role == "server":
            await server(ctx, endpoint or "tcp://*:5556")
        elif role == "client":
            await client(ctx, endpoint or "tcp://localhost:5556", zipcode)
        else:
            async with trio.open_nursery() as nursery:
                bound = await nursery.start(server, ctx, "tcp://127.0.0.1:*")
                await client(ctx, bound, zipcode)
                nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, sys.argv[1:])
