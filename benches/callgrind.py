"""Instructions per message on zmtrio's send and receive paths, counted by callgrind.

Wall-clock rates move by tens of percent on a shared machine; instruction counts do not. For
each side (``send``: a zmtrio PUSH, ``recv``: a zmtrio PULL, ``reqrep``: a zmtrio REQ doing
round trips) this runs the zmtrio process under ``valgrind --tool=callgrind`` against a pyzmq
(libzmq) peer in a plain process, once with a warm-up only and once with ``--count`` more
messages (default 20,000, 64 bytes each, over tcp loopback), and prints the difference
divided by the count: the instructions the zmtrio process spends per message (per round trip
for ``reqrep``), interpreter, trio and Rust core included, start-up excluded.

    .venv/bin/python benches/callgrind.py                  # this checkout's build
    .venv/bin/python benches/callgrind.py --python /tmp/base/.venv/bin/python  # another one

Needs valgrind and pyzmq (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

SIDES = ("send", "recv", "reqrep")
WARMUP = 1000
SIZE = 64


# ---------------------------------------------------------------- the measured processes


def _zmtrio_side(side: str, endpoint: str, count: int) -> None:
    import trio
    import zmtrio

    payload = b"x" * SIZE
    total = WARMUP + count

    async def main() -> None:
        async with zmtrio.Context() as ctx:
            if side == "send":
                async with ctx.socket(zmtrio.PUSH) as push:
                    push.linger = -1
                    await push.connect(endpoint)
                    for _ in range(total):
                        await push.send(payload)
            elif side == "recv":
                async with ctx.socket(zmtrio.PULL) as pull:
                    await pull.connect(endpoint)
                    for _ in range(total):
                        await pull.recv()
            else:
                async with ctx.socket(zmtrio.REQ) as req:
                    await req.connect(endpoint)
                    for _ in range(total):
                        await req.send(payload)
                        await req.recv()

    trio.run(main)


def _pyzmq_peer(side: str, count: int, ready: Path) -> None:
    import zmq

    total = WARMUP + count
    context = zmq.Context()
    kind = {"send": zmq.PULL, "recv": zmq.PUSH, "reqrep": zmq.REP}[side]
    sock = context.socket(kind)
    sock.linger = -1
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    ready.write_text(f"tcp://127.0.0.1:{port}")
    payload = b"x" * SIZE
    for _ in range(total):
        if side == "send":
            sock.recv()
        elif side == "recv":
            sock.send(payload)
        else:
            sock.send(sock.recv())
    sock.close()
    context.term()


# ---------------------------------------------------------------- the driver


def _instructions(python: str, side: str, count: int, workdir: Path) -> int:
    """Instructions callgrind counts in the zmtrio process for one run."""
    ready = workdir / f"{side}-{count}.endpoint"
    ready.unlink(missing_ok=True)
    script = str(Path(__file__).resolve())
    peer = subprocess.Popen(
        [python, script, "--peer", side, "--count", str(count), "--ready", str(ready)]
    )
    try:
        for _ in range(600):
            if ready.exists() and ready.read_text():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        endpoint = ready.read_text()
        measured = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={workdir / f'{side}-{count}.out'}",
                python,
                script,
                "--zmtrio",
                side,
                "--count",
                str(count),
                "--endpoint",
                endpoint,
            ],
            capture_output=True,
            text=True,
            timeout=1200,
            check=True,
        )
        peer.wait(timeout=120)
    finally:
        peer.kill()
    match = re.search(r"Collected : (\d+)", measured.stderr)
    if match is None:
        raise SystemExit(f"no callgrind total in:\n{measured.stderr}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter with zmtrio")
    parser.add_argument("--count", type=int, default=20_000, help="messages measured")
    parser.add_argument("--side", choices=SIDES, action="append", help="default: all")
    parser.add_argument("--workdir", default="/tmp/zmtrio-callgrind")
    parser.add_argument("--zmtrio", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--peer", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--ready", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.zmtrio:
        _zmtrio_side(args.zmtrio, args.endpoint, args.count)
        return
    if args.peer:
        _pyzmq_peer(args.peer, args.count, Path(args.ready))
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for side in args.side or SIDES:
        base = _instructions(args.python, side, 0, workdir)
        full = _instructions(args.python, side, args.count, workdir)
        unit = "round trip" if side == "reqrep" else "message"
        print(
            f"{side:7} {(full - base) / args.count:10,.0f} instructions per {unit} "
            f"({full:,} - {base:,} warm-up only, over {args.count:,})",
            flush=True,
        )


if __name__ == "__main__":
    main()
