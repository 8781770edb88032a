"""The ``zmtrio`` command line (also ``python -m zmtrio``)."""

from __future__ import annotations

import argparse
import sys

import trio

from ._malamute import add_malamute_commands, run_malamute_command
from ._monitor import add_monitor_command, run_monitor
from ._reliability import (
    RELIABILITY_WORKLOADS,
    add_reliability_options,
    run_reliability_workload,
)
from ._roles import add_role_commands, run_proxy, run_role

__all__ = ["main"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zmtrio", description="ZeroMQ for trio: tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser(
        "bench",
        help="measure throughput or latency, side by side with pyzmq",
        description=(
            "Measure PUSH->PULL throughput, PAIR or REQ/REP round trips, or PUB->SUB fan-out "
            "with peers in separate processes. With pyzmq installed (or --vs pyzmq) the "
            "same workload also runs on pyzmq in the same run and each zmtrio row is given "
            "as a ratio: per-message send/recv against zmq.asyncio and blocking pyzmq, "
            "send_batch/recv_batch against blocking pyzmq."
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
            *RELIABILITY_WORKLOADS,
        ],
        default="throughput",
        help="PUSH->PULL throughput (default), PAIR or REQ/REP round trips, PUB->SUB or "
        "RADIO->DISH fan-out (radio-dish: zmtrio only, pyzmq has no draft types); "
        "inproc-threads (PUSH->PULL over inproc between two threads' trio loops); "
        "connections (--count peers on one ROUTER) or soak (--duration s of churn)",
    )
    add_reliability_options(bench)
    bench.add_argument(
        "--subscribers", type=_positive, default=10, help="SUB/DISH peers for fan-out (10)"
    )
    bench.add_argument("--transport", choices=["tcp", "ipc", "inproc"], default="tcp")
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
        choices=["pyzmq", "none"],
        default=None,
        help="compare with pyzmq in the same run (default: when pyzmq is installed)",
    )
    bench.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress bar on stderr (auto: when it is a terminal)",
    )
    add_role_commands(commands)
    add_monitor_command(commands)
    add_malamute_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run the ``zmtrio`` command line."""
    args = _parser().parse_args(argv)
    if args.command in ("malamute", "malamute-client"):
        run_malamute_command(args)
    elif args.command == "proxy":
        trio.run(run_proxy, args)
    elif args.command == "monitor":
        try:
            trio.run(run_monitor, args)
        except KeyboardInterrupt:
            pass
    elif args.command != "bench":
        try:
            trio.run(run_role, args)
        except KeyboardInterrupt:
            pass
    elif args.workload in RELIABILITY_WORKLOADS:
        run_reliability_workload(args)
    else:
        if args.per_message:
            modes = ["zmtrio"]
        elif args.batch is not None:
            modes = ["zmtrio-batch"]
        else:
            modes = ["zmtrio", "zmtrio-batch"]
        versus = args.vs
        if versus is None:
            try:
                import zmq  # noqa: F401
            except ImportError:
                versus = "none"
            else:
                versus = "pyzmq"
        if args.workload == "inproc-threads":
            from ._bench_threads import bench_threads

            bench_threads(
                size=args.size,
                count=args.count,
                batch=args.batch or 1024,
                modes=modes,
                versus=versus,
                out=sys.stdout,
            )
            return
        from ._bench import bench

        bench(
            workload=args.workload,
            transport=args.transport,
            size=args.size,
            count=args.count,
            batch=args.batch or 1024,
            subscribers=args.subscribers,
            modes=modes,
            versus=versus,
            show_progress=args.progress == "always"
            or (args.progress == "auto" and sys.stderr.isatty()),
            out=sys.stdout,
        )
