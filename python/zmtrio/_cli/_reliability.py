"""The reliability workloads of ``zmtrio bench``: ``connections`` and ``soak``."""

from __future__ import annotations

import argparse
import sys

import trio

__all__ = ["RELIABILITY_WORKLOADS", "add_reliability_options", "run_reliability_workload"]

#: The ``--workload`` names this module runs.
RELIABILITY_WORKLOADS = ("connections", "soak")


def add_reliability_options(bench: argparse.ArgumentParser) -> None:
    """Adds the options only these workloads read to ``zmtrio bench``."""
    bench.add_argument("--duration", type=float, default=600.0, help="soak: seconds to run (600)")
    bench.add_argument(
        "--interval", type=float, default=60.0, help="soak: seconds between rows (60)"
    )
    bench.add_argument("--rounds", type=int, default=10, help="connections: messages per peer (10)")


def run_reliability_workload(args: argparse.Namespace) -> None:
    """Runs ``args.workload``; exits with status 1 when its books do not balance."""
    if args.workload == "soak":
        from ._soak import soak

        tally = trio.run(soak, args.duration, sys.stdout, args.interval)
        failed = tally.lost or tally.disorder
    else:
        from ._connections import connections

        result = trio.run(connections, args.count, args.rounds, sys.stdout)
        failed = not result.complete
    if failed:
        raise SystemExit(1)
