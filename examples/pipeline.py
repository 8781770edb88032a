"""Divide and conquer: a ventilator hands out tasks over PUSH, workers do them and push
results to a sink, which collects them all (the PUSH/PULL pipeline).

The ZeroMQ guide's taskvent, taskwork and tasksink, for trio, in one process::

    python examples/pipeline.py

Each task is some milliseconds of "work"; with three workers the batch takes about a third
of the total.
"""

from __future__ import annotations

import random

import trio
import zmtrio

TASKS = 30
WORKERS = 3


async def ventilator(
    ctx: zmtrio.Context,
    sink_endpoint: str,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Bind the task endpoint, wait until every worker is connected, send the tasks."""
    async with ctx.socket(zmtrio.PUSH) as sender, ctx.socket(zmtrio.PUSH) as sink:
        # The context's linger=0 would drop tasks still queued when this block ends; these
        # sockets wait (up to 5 s) until everything is written, as the guide's sleep(1) does.
        sender.linger = sink.linger = 5000
        await sink.connect(sink_endpoint)
        # Wait for the workers: PUSH round-robins over the peers connected *now*, so a
        # worker that connects late would get no task (the guide asks to press Enter).
        async with sender.monitor(zmtrio.EventType.HANDSHAKE_SUCCEEDED) as events:
            task_status.started(await sender.bind("tcp://127.0.0.1:*"))
            connected = 0
            async for _ in events:
                connected += 1
                if connected == WORKERS:
                    break
        await sink.send(b"0")  # the start of the batch, for the sink's clock
        total = 0
        for _ in range(TASKS):
            workload = random.randint(1, 40)  # milliseconds
            total += workload
            await sender.send_string(str(workload))
        print(f"ventilator: sent {TASKS} tasks, {total} ms of work in all")


async def worker(ctx: zmtrio.Context, number: int, tasks: str, sink_endpoint: str) -> None:
    """Do tasks until cancelled, reporting each to the sink."""
    async with ctx.socket(zmtrio.PULL) as receiver, ctx.socket(zmtrio.PUSH) as sender:
        await receiver.connect(tasks)
        await sender.connect(sink_endpoint)
        async for message in receiver:
            await trio.sleep(int(message[0]) / 1000)  # the "work"
            await sender.send(str(number).encode())


async def sink(receiver: zmtrio.Socket) -> None:
    """Collect one result per task and say how long the batch took."""
    await receiver.recv()  # the ventilator's start signal
    started = trio.current_time()
    done_by: dict[str, int] = {}
    for _ in range(TASKS):
        worker_number = await receiver.recv_string()
        done_by[worker_number] = done_by.get(worker_number, 0) + 1
    elapsed_ms = (trio.current_time() - started) * 1000
    shares = ", ".join(f"worker {n}: {count}" for n, count in sorted(done_by.items()))
    print(f"sink: {TASKS} tasks done in {elapsed_ms:.0f} ms ({shares})")


async def main() -> None:
    async with zmtrio.Context(linger=0) as ctx, ctx.socket(zmtrio.PULL) as results:
        sink_endpoint = await results.bind("tcp://127.0.0.1:*")
        async with trio.open_nursery() as nursery:
            tasks = await nursery.start(ventilator, ctx, sink_endpoint)
            for number in range(1, WORKERS + 1):
                nursery.start_soon(worker, ctx, number, tasks, sink_endpoint)
            await sink(results)  # this task is the sink
            nursery.cancel_scope.cancel()  # the workers would wait for tasks forever


if __name__ == "__main__":
    trio.run(main)
