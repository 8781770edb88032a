"""The ``zmtrio`` command line (also ``python -m zmtrio``).

Each subcommand registers a handler with ``set_defaults(run=...)``; ``_app.run_command``
gives every one the same one-line errors and exit codes (2 usage, 1 failure, 130 Ctrl-C).
"""

from __future__ import annotations

import argparse
import platform
import sys
from typing import cast

import trio

from .._version import __version__, zmq_version
from ._app import Parser, run_command
from ._bench_cli import add_bench_output_options, run_bench
from ._keygen import add_keygen_command
from ._malamute import add_malamute_commands, run_malamute_command
from ._monitor import add_monitor_command, run_monitor
from ._reliability import (
    RELIABILITY_WORKLOADS,
    add_reliability_options,
    run_reliability_workload,
)
from ._roles import add_role_commands

__all__ = ["main"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _busy_poll(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError("must be 0 to 1000000 microseconds (BUSY_POLL's range)")
    return value


def _peers(text: str) -> list[str]:
    from ._bench import parse_peers

    try:
        return parse_peers(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="zmtrio",
        description="ZeroMQ for trio: send and print messages from a terminal, run a "
        "proxy, measure against pyzmq. `zmtrio COMMAND --help` explains each command.",
    )
    parser.add_argument("--version", action="version", version=_version())
    # Every subcommand's parser is a Parser (one-line usage errors); typed as the base
    # class, so each command module's add-function takes the usual argparse type.
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(
            dest="command", required=True, metavar="COMMAND", help="one of these commands:"
        ),
    )
    bench = commands.add_parser(
        "bench",
        help="measure throughput or latency, side by side with pyzmq and pyomq",
        description=(
            "Measure PUSH->PULL throughput, PAIR or REQ/REP round trips, or PUB->SUB fan-out "
            "with peers in separate processes. With pyzmq installed (or --vs pyzmq,pyomq,raw) "
            "the same workload also runs on each peer in the same run and each zmtrio row is "
            "given as a ratio: per-message send/recv against each peer's asyncio and blocking "
            "APIs, send_batch/recv_batch against the blocking ones; raw adds the floor of "
            "plain sockets (a 1 MiB-chunk stream, or a bare trio ping-pong)."
        ),
    )
    bench.add_argument(
        "--workload",
        choices=[
            "throughput",
            "latency",
            "reqrep",
            "pubsub",
            "radio-dish",
            "inproc-threads",
            "raw",
            "raw-pingpong",
            *RELIABILITY_WORKLOADS,
        ],
        default="throughput",
        help="PUSH->PULL throughput (default), PAIR or REQ/REP round trips, PUB->SUB or "
        "RADIO->DISH fan-out (radio-dish: zmtrio only, pyzmq has no draft types); "
        "inproc-threads (PUSH->PULL over inproc between two threads' trio loops); "
        "raw (1 MiB sendall/recv_into chunks over a plain socket: the loopback limit) or "
        "raw-pingpong (a bare trio ping-pong: the round-trip floor); "
        "connections (--count peers on one ROUTER) or soak (--duration s of churn)",
    )
    add_reliability_options(bench)
    bench.add_argument(
        "--subscribers", type=_positive, default=10, help="SUB/DISH peers for fan-out (10)"
    )
    bench.add_argument(
        "--transport",
        choices=["tcp", "ipc", "inproc"],
        default="tcp",
        help="tcp loopback (default), ipc (Unix socket) or inproc (one process, no pyzmq)",
    )
    bench.add_argument("--size", type=int, default=64, help="message size in bytes (64)")
    bench.add_argument("--count", type=_positive, default=300_000, help="messages (300000)")
    mode = bench.add_mutually_exclusive_group()
    mode.add_argument(
        "--batch",
        type=_positive,
        metavar="N",
        help="only send_batch/recv_batch, N messages per call (default: both APIs, N=1024)",
    )
    mode.add_argument("--per-message", action="store_true", help="only per-message send/recv")
    bench.add_argument(
        "--vs",
        type=_peers,
        default=None,
        metavar="PEERS",
        help="compare in the same run with a comma list of pyzmq, pyomq and raw, or none "
        "(default: pyzmq when it is installed)",
    )
    bench.add_argument(
        "--curve",
        action="store_true",
        help="secure every connection with CURVE (the binding peer is the server)",
    )
    bench.add_argument(
        "--busy-poll",
        type=_busy_poll,
        default=0,
        metavar="US",
        help="reqrep: set BUSY_POLL (spin up to US microseconds before parking) on zmtrio's "
        "REQ and REP (default 0: off)",
    )
    bench.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress bar on stderr (auto: on a terminal, for rows running over 2 s)",
    )
    add_bench_output_options(bench)
    bench.set_defaults(run=_run_bench)
    add_role_commands(commands)
    add_monitor_command(commands)
    commands.choices["monitor"].set_defaults(run=run_monitor)
    add_malamute_commands(commands)
    for name in ("malamute", "malamute-client"):
        commands.choices[name].set_defaults(run=run_malamute_command)
    add_keygen_command(commands)
    return parser


def _version() -> str:
    return (
        f"zmtrio {__version__} (ZMTP 3.1, compatible with libzmq {zmq_version()}; "
        f"trio {trio.__version__}, Python {platform.python_version()})"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the ``zmtrio`` command line; exit 2 on a usage error, 1 on a failure, 130 on
    Ctrl-C, each reported in one line."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the subcommand's parser, so the hint names its --help
        _subcommand(parser, args.command).error(f"unrecognized arguments: {' '.join(unknown)}")
    status = run_command(args.run, args)
    if status:
        sys.exit(status)


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return cast(argparse.ArgumentParser, action.choices[name])
    return parser


def _run_bench(args: argparse.Namespace) -> None:
    if args.workload in RELIABILITY_WORKLOADS:
        run_reliability_workload(args)
        return
    if args.per_message:
        modes = ["zmtrio"]
    elif args.batch is not None:
        modes = ["zmtrio-batch"]
    else:
        modes = ["zmtrio", "zmtrio-batch"]
    peers = args.vs
    if peers is None:
        try:
            import zmq  # noqa: F401
        except ImportError:
            peers = []
        else:
            peers = ["pyzmq"]
    if args.workload == "inproc-threads":
        from ._bench_threads import bench_threads

        bench_threads(
            size=args.size,
            count=args.count,
            batch=args.batch or 1024,
            modes=modes,
            versus="pyzmq" if "pyzmq" in peers else "none",
            out=sys.stdout,
        )
        return
    run_bench(args, modes, peers)
