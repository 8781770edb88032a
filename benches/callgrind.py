"""Instructions per message on zmtrio's send and receive paths, counted by callgrind.

Wall-clock rates move by tens of percent on a shared machine; instruction counts do not. For
each side (``send``: a zmtrio PUSH, ``recv``: a zmtrio PULL, ``reqrep``: a zmtrio REQ doing
round trips; ``send_batch`` and ``recv_batch``: the PUSH and the PULL with the batch API,
1,024 messages a call; ``fanout``/``fanout-batch``: a zmtrio PUB sending each message to
``SUBSCRIBERS`` pyzmq SUBs with ``send``/``send_batch``; ``sub``/``sub-batch``: a zmtrio SUB,
subscribed to everything, receiving from a pyzmq PUB with ``recv``/``recv_batch``) this runs
the zmtrio process under ``valgrind --tool=callgrind`` against a pyzmq (libzmq) peer in a
plain process. For comparison, ``pyzmq-sub`` and ``pyzmq-fanout`` measure a blocking pyzmq
SUB and PUB the same way (libzmq's I/O thread included: callgrind counts every thread). After a
warm-up of ``--warmup`` messages (1,000) it marks the start and the end of ``--count`` more
(default 20,000, of ``--size`` bytes, 64, over tcp loopback; the sender's end mark comes
once its lingering close has written them all) with a call to ``os.getppid``, before which
callgrind dumps its counters (``--dump-before``). The instructions between the two marks
divided by the count are what the zmtrio process spends per message (per round trip for
``reqrep``, per published message for the fan-out sides, which also report it per delivered
copy): interpreter, trio and Rust core included, start-up excluded.

    .venv/bin/python benches/callgrind.py                  # this checkout's build
    .venv/bin/python benches/callgrind.py --side send --side recv --markdown
    .venv/bin/python benches/callgrind.py --side send_batch --side recv_batch
    .venv/bin/python benches/callgrind.py --python /tmp/base/.venv/bin/python  # another one
    .venv/bin/python benches/callgrind.py --curve          # both ends under CURVE
    .venv/bin/python benches/callgrind.py --side fanout --side fanout-batch --markdown
    .venv/bin/python benches/callgrind.py --side sub --side sub-batch --side pyzmq-sub
    .venv/bin/python benches/callgrind.py --size 65536 --count 2000 --warmup 200  # large

It prints a table, one line per side (``--markdown``: a markdown table for a README or an
issue note). Each side takes about a minute under callgrind at the default count.

Needs valgrind, pyzmq (the ``bench`` extra) and CPython 3.11's symbol names.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

SIDES = (
    "send",
    "recv",
    "reqrep",
    "send_batch",
    "recv_batch",
    "fanout",
    "fanout-batch",
    "sub",
    "sub-batch",
    "pyzmq-sub",
    "pyzmq-fanout",
)
#: The sides whose measured process subscribes to a pyzmq PUB (the fan-out's other end).
SUBSCRIBER_SIDES = ("sub", "sub-batch", "pyzmq-sub")
#: The fan-out sides' subscribers (issue 10's PUB -> 10 SUB workload).
SUBSCRIBERS = 10
#: What the PUB sends until every SUB has one (slow joiners), skipped by the SUBs.
PROBE = b"P"
WARMUP = 1000
SIZE = 64
#: Messages per ``send_batch``/``recv_batch`` call (as ``zmtrio bench``'s default).
BATCH = 1024
#: The C function behind ``os.getppid`` in CPython 3.11: callgrind dumps before each call.
MARK_FUNCTION = "os_getppid"


# ---------------------------------------------------------------- the measured processes


def _curve_client(sock: Any, server_public: str | None) -> None:
    """Make a zmtrio or pyzmq socket a CURVE client of that server (fresh keys from its
    own library), if one is given."""
    if server_public is None:
        return
    library = importlib.import_module(type(sock).__module__.partition(".")[0])
    sock.curve_publickey, sock.curve_secretkey = library.curve_keypair()
    sock.curve_serverkey = server_public.encode()


def _zmtrio_side(
    side: str, endpoint: str, count: int, server_public: str | None, subscribed: Path | None
) -> None:
    import trio
    import zmtrio

    payload = b"x" * SIZE

    async def main() -> None:
        async with zmtrio.Context() as ctx:
            if side.startswith("fanout"):
                assert subscribed is not None
                pub = ctx.socket(zmtrio.PUB)
                pub.linger = -1
                # No drops: every run does the same work (a batch of BATCH is past the HWM).
                pub.sndhwm = 0
                _curve_client(pub, server_public)
                for each in endpoint.split():
                    await pub.connect(each)
                while not subscribed.exists():  # until every SUB has had a probe
                    await pub.send(PROBE)
                    await trio.sleep(0.01)
                batch = [[payload]] * BATCH if side == "fanout-batch" else None
                for _ in range(WARMUP):
                    await pub.send(payload)
                os.getppid()  # start mark
                if batch is None:
                    for _ in range(count):
                        await pub.send(payload)
                else:
                    for start in range(0, count, len(batch)):
                        await pub.send_batch(batch[: count - start])
                await pub.aclose()  # lingers until all is written
                os.getppid()  # end mark
            elif side == "send":
                push = ctx.socket(zmtrio.PUSH)
                push.linger = -1
                _curve_client(push, server_public)
                await push.connect(endpoint)
                for _ in range(WARMUP):
                    await push.send(payload)
                os.getppid()  # start mark
                for _ in range(count):
                    await push.send(payload)
                await push.aclose()  # lingers until all is written
                os.getppid()  # end mark
            elif side == "recv":
                async with ctx.socket(zmtrio.PULL) as pull:
                    _curve_client(pull, server_public)
                    await pull.connect(endpoint)
                    for _ in range(WARMUP):
                        await pull.recv()
                    os.getppid()
                    for _ in range(count):
                        await pull.recv()
                    os.getppid()
            elif side == "send_batch":
                push = ctx.socket(zmtrio.PUSH)
                push.linger = -1
                _curve_client(push, server_public)
                await push.connect(endpoint)
                await push.send_batch([[payload]] * WARMUP)
                os.getppid()
                chunk = [[payload]] * BATCH
                for start in range(0, count, BATCH):
                    await push.send_batch(chunk[: count - start])
                await push.aclose()
                os.getppid()
            elif side == "recv_batch":
                async with ctx.socket(zmtrio.PULL) as pull:
                    _curve_client(pull, server_public)
                    await pull.connect(endpoint)
                    received = 0
                    while received < WARMUP:
                        received += len(await pull.recv_batch(WARMUP - received))
                    os.getppid()
                    received = 0
                    while received < count:
                        received += len(await pull.recv_batch(min(BATCH, count - received)))
                    os.getppid()
            elif side.startswith("sub"):
                assert subscribed is not None
                async with ctx.socket(zmtrio.SUB) as sub:
                    _curve_client(sub, server_public)
                    sub.subscribe(b"")
                    await sub.connect(endpoint)
                    while await sub.recv() != PROBE:
                        pass
                    subscribed.touch()  # the PUB stops probing and starts publishing
                    if side == "sub":
                        received = 0
                        while received < WARMUP:  # probes still on the way are skipped
                            received += await sub.recv() != PROBE
                        os.getppid()
                        for _ in range(count):
                            await sub.recv()
                        os.getppid()
                    else:
                        received = 0
                        while received < WARMUP:
                            batch = await sub.recv_batch(WARMUP - received)
                            received += sum(msg[0] != PROBE for msg in batch)
                        os.getppid()
                        received = 0
                        while received < count:
                            received += len(await sub.recv_batch(min(BATCH, count - received)))
                        os.getppid()
            else:
                async with ctx.socket(zmtrio.REQ) as req:
                    _curve_client(req, server_public)
                    await req.connect(endpoint)
                    for _ in range(WARMUP):
                        await req.send(payload)
                        await req.recv()
                    os.getppid()
                    for _ in range(count):
                        await req.send(payload)
                        await req.recv()
                    os.getppid()

    trio.run(main)


def _pyzmq_sub_side(endpoint: str, count: int, server_public: str | None, subscribed: Path) -> None:
    """The measured process of ``pyzmq-sub``: a blocking pyzmq SUB loop, libzmq's I/O thread
    included (callgrind counts every thread), for comparison with the ``sub`` side."""
    import zmq

    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    _curve_client(sub, server_public)
    sub.subscribe(b"")
    sub.connect(endpoint)
    while sub.recv() != PROBE:
        pass
    subscribed.touch()
    received = 0
    while received < WARMUP:
        received += sub.recv() != PROBE
    recv = sub.recv
    os.getppid()
    for _ in range(count):
        recv()
    os.getppid()
    sub.close()
    context.term()


def _pyzmq_fanout_side(
    endpoint: str, count: int, server_public: str | None, subscribed: Path
) -> None:
    """The measured process of ``pyzmq-fanout``: a blocking pyzmq PUB sending to the same
    subscribers as the ``fanout`` side, libzmq's I/O thread included."""
    import time

    import zmq

    context = zmq.Context()
    pub = context.socket(zmq.PUB)
    pub.linger = -1
    pub.sndhwm = 0
    _curve_client(pub, server_public)
    for each in endpoint.split():
        pub.connect(each)
    while not subscribed.exists():
        pub.send(PROBE)
        time.sleep(0.01)
    payload = b"x" * SIZE
    send = pub.send
    for _ in range(WARMUP):
        send(payload)
    os.getppid()
    for _ in range(count):
        send(payload)
    pub.close()
    context.term()  # returns once the lingering sockets have written everything
    os.getppid()


def _pyzmq_publisher(count: int, ready: Path, server_secret: str | None) -> None:
    """The subscriber sides' peer: a PUB that probes until the SUB has had a probe, then
    publishes the warm-up and the count (no drops: no high-water mark)."""
    import time

    import zmq

    context = zmq.Context()
    pub = _bound_peer(context, zmq.PUB, ready, server_secret, sndhwm=0)
    subscribed = ready.with_suffix(".subscribed")
    while not subscribed.exists():
        pub.send(PROBE)
        time.sleep(0.01)
    payload = b"x" * SIZE
    for _ in range(WARMUP + count):
        pub.send(payload)
    pub.close()  # lingers until the SUB has read everything
    context.term()


def _pyzmq_subscribers(count: int, ready: Path, server_secret: str | None) -> None:
    """The fan-out sides' peer: SUBSCRIBERS SUBs, each bound to its own port."""
    import zmq

    context = zmq.Context()
    subs = []
    for _ in range(SUBSCRIBERS):
        sub = context.socket(zmq.SUB)
        sub.rcvtimeo = 600_000  # a lost message fails the run instead of hanging it
        if server_secret is not None:
            sub.curve_secretkey = server_secret.encode()
            sub.curve_server = True
        sub.subscribe(b"")
        subs.append(sub)
    ports = [sub.bind_to_random_port("tcp://127.0.0.1") for sub in subs]
    ready.write_text(" ".join(f"tcp://127.0.0.1:{port}" for port in ports))
    for sub in subs:
        while sub.recv() != PROBE:
            pass
    ready.with_suffix(".subscribed").touch()
    # In step, so that no subscriber falls a pipe behind the others (the PUB would drop).
    for _ in range(WARMUP + count):
        for sub in subs:
            while sub.recv() == PROBE:
                pass
    for sub in subs:
        sub.close()
    context.term()


def _bound_peer(
    context: Any, kind: int, ready: Path, server_secret: str | None, **options: int
) -> Any:
    """A pyzmq peer socket (lingering, a CURVE server if given a key, with ``options`` set
    before the bind: libzmq's listener copies them) bound to a free tcp port, whose
    endpoint is written to ``ready``."""
    sock = context.socket(kind)
    sock.linger = -1
    for name, value in options.items():
        setattr(sock, name, value)
    if server_secret is not None:
        sock.curve_secretkey = server_secret.encode()
        sock.curve_server = True
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    ready.write_text(f"tcp://127.0.0.1:{port}")
    return sock


def _pyzmq_peer(side: str, count: int, ready: Path, server_secret: str | None) -> None:
    import zmq

    if side.startswith("fanout") or side == "pyzmq-fanout":
        _pyzmq_subscribers(count, ready, server_secret)
        return
    if side in SUBSCRIBER_SIDES:
        _pyzmq_publisher(count, ready, server_secret)
        return
    total = WARMUP + count
    context = zmq.Context()
    kind = {"send": zmq.PULL, "recv": zmq.PUSH, "reqrep": zmq.REP}[side.removesuffix("_batch")]
    sock = _bound_peer(context, kind, ready, server_secret)
    payload = b"x" * SIZE
    for _ in range(total):
        if side.startswith("send"):
            sock.recv()
        elif side.startswith("recv"):
            sock.send(payload)
        else:
            sock.send(sock.recv())
    sock.close()
    context.term()


# ---------------------------------------------------------------- the driver


def _instructions(python: str, side: str, count: int, workdir: Path, curve: bool) -> int:
    """Instructions callgrind counts in the zmtrio process between the two marks."""
    ready = workdir / f"{side}.endpoint"
    ready.unlink(missing_ok=True)
    subscribed = ready.with_suffix(".subscribed")  # the fan-out peer's go-ahead
    subscribed.unlink(missing_ok=True)
    out = workdir / f"{side}.out"
    for old in workdir.glob(f"{side}.out*"):
        old.unlink()
    script = str(Path(__file__).resolve())
    peer_keys: list[str] = []
    client_keys: list[str] = []
    if curve:
        import zmq

        public, secret = zmq.curve_keypair()
        peer_keys = ["--server-secret", secret.decode()]
        client_keys = ["--server-public", public.decode()]
    peer = subprocess.Popen(
        [
            *(python, script, "--peer", side, "--count", str(count), "--ready", str(ready)),
            *peer_keys,
            *_size_args(),
        ]
    )
    try:
        for _ in range(6000):
            if ready.exists() and ready.read_text():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        endpoint = ready.read_text()
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--dump-before={MARK_FUNCTION}",
                "--compress-strings=no",  # each dump readable on its own (callgrind_annotate)
                f"--callgrind-out-file={out}",
                python,
                script,
                "--zmtrio",
                side,
                "--count",
                str(count),
                "--endpoint",
                endpoint,
                "--subscribed",
                str(subscribed),
                *client_keys,
                *_size_args(),
            ],
            capture_output=True,
            text=True,
            timeout=3600,
            check=True,
        )
        peer.wait(timeout=600)
    finally:
        peer.kill()
    # Dump 1 ends at the start mark, dump 2 at the end mark: dump 2 is the measured part.
    measured = Path(f"{out}.2")
    if not measured.exists():
        raise SystemExit(f"callgrind wrote no dump at the end mark ({measured})")
    match = re.search(r"^summary: (\d+)$", measured.read_text(), re.MULTILINE)
    if match is None:
        raise SystemExit(f"no summary line in {measured}")
    return int(match.group(1))


def _size_args() -> list[str]:
    """The message size and warm-up of this run, for the processes it starts."""
    return ["--size", str(SIZE), "--warmup", str(WARMUP)]


def main() -> None:
    """Count instructions per message for each side asked (or run one process of a count)."""
    global SIZE, WARMUP  # read by every process of the run (passed down by _size_args)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter with zmtrio")
    parser.add_argument("--count", type=int, default=20_000, help="messages measured")
    parser.add_argument("--size", type=int, default=SIZE, help="bytes per message")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="messages before the count")
    parser.add_argument("--side", choices=SIDES, action="append", help="default: all")
    parser.add_argument("--workdir", default="/tmp/zmtrio-callgrind")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument(
        "--curve", action="store_true", help="both ends under CURVE (the pyzmq peer is the server)"
    )
    parser.add_argument("--zmtrio", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--peer", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--ready", help=argparse.SUPPRESS)
    parser.add_argument("--subscribed", help=argparse.SUPPRESS)
    parser.add_argument("--server-public", help=argparse.SUPPRESS)
    parser.add_argument("--server-secret", help=argparse.SUPPRESS)
    args = parser.parse_args()
    SIZE, WARMUP = args.size, args.warmup
    if args.zmtrio == "pyzmq-fanout":
        _pyzmq_fanout_side(args.endpoint, args.count, args.server_public, Path(args.subscribed))
        return
    if args.zmtrio == "pyzmq-sub":
        _pyzmq_sub_side(args.endpoint, args.count, args.server_public, Path(args.subscribed))
        return
    if args.zmtrio:
        _zmtrio_side(
            args.zmtrio, args.endpoint, args.count, args.server_public, Path(args.subscribed)
        )
        return
    if args.peer:
        _pyzmq_peer(args.peer, args.count, Path(args.ready), args.server_secret)
        return
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(header(args.markdown), flush=True)
    for side in args.side or SIDES:
        total = _instructions(args.python, side, args.count, workdir, args.curve)
        print(line(side, total, args.count, args.markdown), flush=True)


def header(markdown: bool) -> str:
    """The table's heading (two lines in markdown)."""
    if markdown:
        return "| side | instructions per message | instructions counted | messages |\n" + (
            "|---|---|---|---|"
        )
    return f"{'side':<12} {'instructions per message':>21}  counted"


def line(side: str, total: int, count: int, markdown: bool) -> str:
    """One side's row: instructions per message (per round trip for ``reqrep``)."""
    name = {
        "send": "PUSH `send`",
        "recv": "PULL `recv`",
        "reqrep": "REQ round trip",
        "send_batch": "PUSH `send_batch`",
        "recv_batch": "PULL `recv_batch`",
        "fanout": f"PUB `send` to {SUBSCRIBERS} SUB",
        "fanout-batch": f"PUB `send_batch` to {SUBSCRIBERS} SUB",
        "sub": "SUB `recv` from a PUB",
        "sub-batch": "SUB `recv_batch` from a PUB",
        "pyzmq-sub": "pyzmq blocking SUB `recv` (libzmq)",
        "pyzmq-fanout": f"pyzmq blocking PUB `send` to {SUBSCRIBERS} SUB (libzmq)",
    }[side]
    per_copy = ""
    if "fanout" in side:
        per_copy = f" ({total / (count * SUBSCRIBERS):,.0f} per delivered copy)"
    if markdown:
        return f"| {name} | {total / count:,.0f}{per_copy} | {total:,} | {count:,} |"
    return f"{side:<12} {total / count:>21,.0f}  {total:,} over {count:,}{per_copy}"


if __name__ == "__main__":
    main()
