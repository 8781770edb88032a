"""Instructions on a round trip's critical path, per side, counted by callgrind.

A round trip's latency is set by what each side runs between its socket becoming readable
and the reply's send system call; what runs after that send overlaps the peer's half.
``benches/callgrind.py`` counts everything a round trip costs; this counts only that path.
A small C library, compiled here with the system's C compiler and valgrind's
``callgrind.h`` and preloaded into the measured process, switches callgrind's collection on
when a blocking ``epoll_wait`` returns events and off at the next ``send``/``sendto``, in
whichever thread. The peer (not under valgrind) waits ``PEER_DELAY`` before each reply, so
the measured process has always parked before the reply comes. Two runs, of ``--count`` and
of three times as many round trips, cancel out start-up and connecting.

Sides: ``zmtrio`` (a zmtrio REQ against a zmtrio REP), ``raw`` (the bare trio ping-pong of
``zmtrio bench --workload raw-pingpong``), ``pyzmq`` (a blocking pyzmq REQ against a pyzmq
REP: libzmq's I/O thread's wake-up and send are on its path, so they are counted too).

    .venv/bin/python benches/callgrind_path.py                  # all three sides
    .venv/bin/python benches/callgrind_path.py --side zmtrio --count 2000

Needs valgrind (with its headers) and a C compiler. A garbage collection that falls on the
path counts in full, so figures move by a few thousand between runs: compare medians.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

SIDES = ("zmtrio", "raw", "pyzmq")
SIZE = 64
#: Seconds the peer waits before each reply, so the measured side always parks first.
PEER_DELAY = 0.002
#: Round trips before the measured ones in every run (they cancel out as start-up does).
WARMUP = 200

_MARKS_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <valgrind/callgrind.h>

static int collecting;

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) {
    static int (*real)(int, struct epoll_event *, int, int);
    if (!real) real = dlsym(RTLD_NEXT, "epoll_wait");
    int ready = real(epfd, events, maxevents, timeout);
    if (ready > 0 && timeout != 0 && !collecting) {
        collecting = 1;
        CALLGRIND_TOGGLE_COLLECT;
    }
    return ready;
}

static void stop(void) {
    if (collecting) {
        CALLGRIND_TOGGLE_COLLECT;
        collecting = 0;
    }
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
    static ssize_t (*real)(int, const void *, size_t, int);
    if (!real) real = dlsym(RTLD_NEXT, "send");
    stop();
    return real(fd, buf, len, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
               socklen_t tolen) {
    static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *,
                           socklen_t);
    if (!real) real = dlsym(RTLD_NEXT, "sendto");
    stop();
    return real(fd, buf, len, flags, to, tolen);
}
"""


# ---------------------------------------------------------------- the two processes


async def _zmtrio(role: str, endpoint: str, count: int) -> None:
    import trio
    import zmtrio

    async with zmtrio.Context() as context:
        if role == "peer":
            sock = context.socket(zmtrio.REP)
            print(await sock.bind("tcp://127.0.0.1:*"), flush=True)
            for _ in range(count):
                request = await sock.recv()
                time.sleep(PEER_DELAY)  # blocking on purpose: the measured side parks
                await sock.send(request)
        else:
            sock = context.socket(zmtrio.REQ)
            await sock.connect(endpoint)
            payload = b"x" * SIZE
            for _ in range(count):
                await sock.send(payload)
                await sock.recv()
        await trio.sleep(0.1)  # the last reply leaves before the socket closes
        sock.close()


async def _raw(role: str, endpoint: str, count: int) -> None:
    import trio

    if role == "peer":
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        listener.listen()
        print(f"tcp://127.0.0.1:{listener.getsockname()[1]}", flush=True)
        conn, _ = await listener.accept()
        stream = trio.SocketStream(conn)
        for _ in range(count):
            await stream.receive_some(SIZE)
            time.sleep(PEER_DELAY)
            await stream.send_all(b"x" * SIZE)
        await stream.aclose()
        return
    host, _, port = endpoint.removeprefix("tcp://").rpartition(":")
    stream = await trio.open_tcp_stream(host, int(port))
    payload = b"x" * SIZE
    for _ in range(count):
        await stream.send_all(payload)
        await stream.receive_some(SIZE)
    await stream.aclose()


def _pyzmq(role: str, endpoint: str, count: int) -> None:
    import zmq

    context = zmq.Context()
    if role == "peer":
        sock = context.socket(zmq.REP)
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        print(f"tcp://127.0.0.1:{port}", flush=True)
        for _ in range(count):
            request = sock.recv()
            time.sleep(PEER_DELAY)
            sock.send(request)
    else:
        sock = context.socket(zmq.REQ)
        sock.connect(endpoint)
        payload = b"x" * SIZE
        for _ in range(count):
            sock.send(payload)
            sock.recv()
    sock.close(linger=1000)
    context.term()


def _run(side: str, role: str, endpoint: str, count: int) -> None:
    if side == "pyzmq":
        _pyzmq(role, endpoint, count)
        return
    import trio

    trio.run(_zmtrio if side == "zmtrio" else _raw, role, endpoint, count)


# ---------------------------------------------------------------- the driver


def _marks_library(workdir: Path) -> Path:
    """Compile the collection switch (once per work directory)."""
    library = workdir / "libpathmarks.so"
    if not library.exists():
        source = workdir / "pathmarks.c"
        source.write_text(_MARKS_C)
        subprocess.run(
            ["cc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source), "-ldl"],
            check=True,
        )
    return library


def _collected(python: str, side: str, count: int, workdir: Path) -> int:
    """Instructions callgrind collected on the path over ``count`` round trips (plus the
    warm-up's and connecting's, which the caller cancels out)."""
    script = str(Path(__file__).resolve())
    total = WARMUP + count
    peer = subprocess.Popen(
        [python, script, "--run", side, "--role", "peer", "--count", str(total)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert peer.stdout is not None
        endpoint = peer.stdout.readline().strip()
        out = workdir / f"{side}-{count}.out"
        environment = {**os.environ, "LD_PRELOAD": str(_marks_library(workdir))}
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--collect-atstart=no",
                f"--callgrind-out-file={out}",
                python,
                script,
                *("--run", side, "--role", "client", "--endpoint", endpoint),
                *("--count", str(total)),
            ],
            env=environment,
            capture_output=True,
            text=True,
            timeout=3600,
            check=True,
        )
        peer.wait(timeout=600)
    finally:
        peer.kill()
    for line in result.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rpartition(":")[2])
    raise SystemExit(f"callgrind reported no count for {side}:\n{result.stderr}")


def path_instructions(python: str, side: str, count: int, workdir: Path) -> int:
    """Instructions per round trip on the measured side's path, readable to send."""
    once = _collected(python, side, count, workdir)
    thrice = _collected(python, side, 3 * count, workdir)
    return (thrice - once) // (2 * count)


def main() -> None:
    """Count the path's instructions for each side asked (or run one process of a count)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter with zmtrio")
    parser.add_argument("--count", type=int, default=1000, help="round trips (and 3x that)")
    parser.add_argument("--side", choices=SIDES, action="append", help="default: all")
    parser.add_argument("--workdir", default="/tmp/zmtrio-callgrind-path")
    parser.add_argument("--run", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--role", choices=("peer", "client"), help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _run(args.run, args.role, args.endpoint, args.count)
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for side in args.side or SIDES:
        per_round_trip = path_instructions(args.python, side, args.count, workdir)
        print(f"{side:8} {per_round_trip:>9,} instructions per round trip, readable to send")


if __name__ == "__main__":
    main()
