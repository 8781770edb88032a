"""The options of ``zmtrio bench`` beyond one workload's settings: ``--runs``, ``--json``,
``--plot`` and ``--from-json``, and the driver that runs one bench or the size sweep."""

from __future__ import annotations

import argparse
import sys

from ._app import CommandError

__all__ = ["add_bench_output_options", "run_bench"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_bench_output_options(bench: argparse.ArgumentParser) -> None:
    """Adds the repetition and output options to ``zmtrio bench``."""
    bench.add_argument(
        "--runs",
        type=_positive,
        default=1,
        metavar="N",
        help="N alternating runs (zmtrio, then each peer, in turn): medians and ranges (1)",
    )
    bench.add_argument(
        "--json",
        metavar="FILE",
        help="write every figure (each run, medians, ranges, ratios) with the versions and "
        "the machine to FILE",
    )
    bench.add_argument(
        "--plot",
        metavar="FILE.png",
        help="run PUSH->PULL throughput at 16 B to 1 MiB (powers of 4) and draw msg/s and "
        "MB/s against size (needs matplotlib: the plot extra)",
    )
    bench.add_argument(
        "--from-json",
        metavar="FILE",
        help="with --plot: draw from a --json file of an earlier --plot run, measure nothing",
    )


def run_bench(args: argparse.Namespace, modes: list[str], peers: list[str]) -> None:
    """Runs ``zmtrio bench`` for the PUSH->PULL, round-trip, fan-out and raw workloads."""
    from ._bench import Progress, bench
    from ._bench_report import Report, read

    if args.from_json and not args.plot:
        raise CommandError("--from-json draws a plot: give --plot FILE.png too")
    if args.plot:
        from ._bench_plot import draw, pyplot

        pyplot()  # fail before measuring anything if matplotlib is missing
        if args.from_json:
            lines = draw(read(args.from_json), args.plot)
            print(f"zmtrio bench: {lines} lines drawn from {args.from_json} into {args.plot}")
            return
    report = Report()
    progress = Progress(args.progress, sys.stderr)

    def measure(size: int, count: int, batch: int) -> None:
        report.add(
            bench(
                workload=args.workload,
                transport=args.transport,
                size=size,
                count=count,
                batch=batch,
                subscribers=args.subscribers,
                modes=modes,
                peers=peers,
                progress=progress,
                out=sys.stdout,
                curve=args.curve,
                busy_poll=args.busy_poll,
                runs=args.runs,
            )
        )

    if not args.plot:
        measure(args.size, args.count, args.batch or 1024)
    else:
        from ._bench_plot import SIZES, sweep_count

        if args.workload != "throughput":
            raise CommandError("--plot measures the throughput workload (PUSH->PULL)")
        for size in SIZES:
            count = sweep_count(args.count, size)
            # Several batches per row even when few large messages are sent.
            measure(size, count, min(args.batch or 1024, max(1, count // 8)))
            print(flush=True)
    if args.json:
        report.write(args.json)
    if args.plot:
        lines = draw(report.document(), args.plot)
        print(f"zmtrio bench: {lines} lines drawn into {args.plot}")
