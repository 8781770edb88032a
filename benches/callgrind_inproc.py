"""Instructions per inproc message (64 B PUSH->PULL), counted by callgrind, for issue 13's
two loops in two threads and issue 10's two tasks of one loop.

Everything runs in one process under ``valgrind --tool=callgrind`` (no peer process:
inproc never leaves it). After a warm-up of 1,000 messages the receiving task marks the
start and the end of ``--count`` more with ``os.getppid`` (callgrind dumps its counters
before each call, ``--dump-before``), so the instructions between the marks divided by the
count are what a message costs, sending and receiving together, both threads included
(callgrind sums the threads): interpreter, trio and Rust core, start-up excluded.

    .venv/bin/python benches/callgrind_inproc.py
    .venv/bin/python benches/callgrind_inproc.py --workload two-loops --count 50000

Needs valgrind and CPython 3.11's symbol names (as ``benches/callgrind.py``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

WORKLOADS = ("one-loop", "two-loops", "one-loop-batch", "two-loops-batch")
WARMUP = 1000
SIZE = 64
BATCH = 1024
#: The C function behind ``os.getppid`` in CPython 3.11: callgrind dumps before each call.
MARK_FUNCTION = "os_getppid"
ENDPOINT = "inproc://callgrind"


def _measured(workload: str, count: int) -> None:
    """The measured process: PUSH->PULL with the receiver marking start and end."""
    import trio
    import zmtrio

    payload = b"x" * SIZE
    batch = BATCH if workload.endswith("-batch") else 1
    total = -(-(WARMUP + count) // batch) * batch  # whole batches

    async def send_all(push: zmtrio.Socket) -> None:
        if batch == 1:
            for _ in range(total):
                await push.send(payload)
        else:
            for _ in range(0, total, batch):
                await push.send_batch([[payload]] * batch)

    async def receive(pull: zmtrio.Socket, wanted: int) -> int:
        received = 0
        while received < wanted:
            if batch == 1:
                await pull.recv()
                received += 1
            else:
                received += len(await pull.recv_batch(min(batch, wanted - received)))
        return received

    async def main() -> None:
        async with zmtrio.Context() as ctx:
            pull = ctx.socket(zmtrio.PULL)
            await pull.bind(ENDPOINT)
            done = threading.Event()

            async def sender() -> None:
                push = ctx.socket(zmtrio.PUSH)
                await push.connect(ENDPOINT)
                await send_all(push)
                # Close once all is received: a close drops what the PULL has not taken.
                await trio.to_thread.run_sync(done.wait)
                push.close()

            async def attached_sender() -> None:
                async with ctx.attach():
                    await sender()

            async with trio.open_nursery() as nursery:
                if workload.startswith("two-loops"):
                    thread = threading.Thread(target=trio.run, args=(attached_sender,))
                    thread.start()
                else:
                    nursery.start_soon(sender)
                await receive(pull, WARMUP)
                os.getppid()  # start mark
                await receive(pull, count)
                os.getppid()  # end mark
                await receive(pull, total - WARMUP - count)
                done.set()
            if workload.startswith("two-loops"):
                await trio.to_thread.run_sync(thread.join)
            pull.close()

    trio.run(main)


def _instructions(python: str, workload: str, count: int, workdir: Path) -> int:
    """Instructions callgrind counts between the two marks."""
    out = workdir / f"{workload}.out"
    for old in workdir.glob(f"{workload}.out*"):
        old.unlink()
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--dump-before={MARK_FUNCTION}",
            "--compress-strings=no",
            f"--callgrind-out-file={out}",
            python,
            str(Path(__file__).resolve()),
            "--measured",
            workload,
            "--count",
            str(count),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    measured = Path(f"{out}.2")  # dump 2 ends at the end mark
    if not measured.exists():
        raise SystemExit(f"callgrind wrote no dump at the end mark ({measured})")
    match = re.search(r"^summary: (\d+)$", measured.read_text(), re.MULTILINE)
    if match is None:
        raise SystemExit(f"no summary line in {measured}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter with zmtrio")
    parser.add_argument("--count", type=int, default=20_000, help="messages measured")
    parser.add_argument("--workload", choices=WORKLOADS, action="append", help="default: all")
    parser.add_argument("--workdir", default="/tmp/zmtrio-callgrind-inproc")
    parser.add_argument("--measured", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measured:
        _measured(args.measured, args.count)
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for workload in args.workload or WORKLOADS:
        total = _instructions(args.python, workload, args.count, workdir)
        print(
            f"{workload:16} {total / args.count:10,.0f} instructions per message "
            f"({total:,} over {args.count:,})",
            flush=True,
        )


if __name__ == "__main__":
    main()
