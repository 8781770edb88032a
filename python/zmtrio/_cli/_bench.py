"""``zmtrio bench``: throughput and latency, zmtrio side by side with pyzmq in one run.

Every row runs its peers in fresh processes (spawned, so nothing is shared but the
endpoint), the measuring side times from its first message to its last, and the table
gives each zmtrio row as a ratio to its pyzmq counterpart measured in the same run.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from datetime import date
from multiprocessing.context import SpawnProcess
from typing import Any, TextIO

from ._workers import Job, run

__all__ = ["Row", "bench"]

#: zmtrio rows and the pyzmq row each one is compared with.
_BASELINE = {"zmtrio": "pyzmq-asyncio", "zmtrio-batch": "pyzmq"}
_LABELS = {
    "zmtrio": ("zmtrio", "send/recv"),
    "zmtrio-batch": ("zmtrio", "send_batch/recv_batch"),
    "pyzmq-asyncio": ("pyzmq", "zmq.asyncio send/recv"),
    "pyzmq": ("pyzmq", "blocking send/recv"),
}
_DEADLINE_SECONDS = 600


@dataclass(frozen=True)
class Row:
    """One measured implementation."""

    job: Job
    seconds: float
    messages: int

    @property
    def rate(self) -> float:
        """Messages per second (round trips per second for latency)."""
        return self.messages / self.seconds

    @property
    def microseconds(self) -> float:
        """Mean microseconds per message (per round trip for latency)."""
        return self.seconds / self.messages * 1e6


def _progress_bar(label: str, done: int, total: int, out: TextIO) -> None:
    width = 30
    filled = width * done // max(total, 1)
    bar = "#" * filled + "." * (width - filled)
    out.write(f"\r  {label:<36} [{bar}] {100 * done // max(total, 1):3d}%")
    out.flush()


def _measure(job: Job, show_progress: bool) -> Row:
    spawn = multiprocessing.get_context("spawn")
    results: Any = spawn.Queue()
    progress: Any = spawn.Value("q", 0, lock=False)
    measuring_role, other_role = (
        ("receiver", "sender") if job.workload == "throughput" else ("client", "echo")
    )
    processes: list[SpawnProcess] = []
    label = " ".join(_LABELS[job.implementation])
    try:
        if job.transport == "inproc":
            processes.append(spawn.Process(target=run, args=(job, "both", None, results, progress)))
            processes[0].start()
        else:
            # The measuring side binds for throughput (libzmq's local_thr), connects for latency.
            binder = measuring_role if job.workload == "throughput" else other_role
            connector = other_role if binder == measuring_role else measuring_role
            processes.append(spawn.Process(target=run, args=(job, binder, None, results, progress)))
            processes[0].start()
            kind, endpoint = results.get(timeout=60)
            assert kind == "endpoint"
            processes.append(
                spawn.Process(target=run, args=(job, connector, endpoint, results, progress))
            )
            processes[1].start()
        deadline = time.monotonic() + _DEADLINE_SECONDS
        while True:
            if show_progress:
                _progress_bar(label, progress.value, job.count, sys.stderr)
            try:
                message = results.get(timeout=0.1)
            except Exception:  # queue.Empty: still running
                if time.monotonic() > deadline or not any(p.is_alive() for p in processes):
                    raise RuntimeError(f"benchmark peer for {label} failed or timed out") from None
                continue
            if message[0] == "elapsed":
                break
        for process in processes:
            process.join(timeout=60)
        if show_progress:
            _progress_bar(label, job.count, job.count, sys.stderr)
            sys.stderr.write("\n")
        return Row(job, message[1], message[2])
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()


def _pyzmq_version() -> str | None:
    try:
        import zmq
    except ImportError:
        return None
    return f"pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()}"


def bench(
    *,
    workload: str,
    transport: str,
    size: int,
    count: int,
    batch: int,
    modes: list[str],
    versus: str,
    show_progress: bool,
    out: TextIO,
) -> list[Row]:
    """Run the workload for each mode (and pyzmq's counterparts); print and return rows."""
    implementations = [m for m in modes if workload == "throughput" or m == "zmtrio"]
    pyzmq = _pyzmq_version() if versus == "pyzmq" else None
    if versus == "pyzmq" and pyzmq is None:
        raise SystemExit("--vs pyzmq needs pyzmq installed (pip install pyzmq)")
    if pyzmq is not None and transport != "inproc":
        for mode in list(implementations):
            implementations.append(_BASELINE[mode])
        if workload == "latency":
            implementations.append("pyzmq")
    implementations = list(dict.fromkeys(implementations))
    what = "PUSH->PULL throughput" if workload == "throughput" else "PAIR ping-pong latency"
    out.write(
        f"zmtrio bench: {what}, {transport}, {size} B messages, {count:,} messages, "
        f"batch {batch}\n{date.today()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
        + (f", {pyzmq}" if pyzmq else "")
        + "\n"
    )
    base = Job("zmtrio", workload, transport, size, count, batch)
    rows = [_measure(replace(base, implementation=name), show_progress) for name in implementations]
    by_name = {row.job.implementation: row for row in rows}
    unit = "msg/s" if workload == "throughput" else "round trips/s"
    out.write(f"\n{'library':<8} {'API':<24} {unit:>14} {'us each':>9}  ratio\n")
    for row in rows:
        library, api = _LABELS[row.job.implementation]
        baseline_name = _BASELINE.get(row.job.implementation)
        if workload == "latency" and row.job.implementation == "zmtrio":
            baseline_name = "pyzmq"
        baseline = by_name.get(baseline_name) if baseline_name else None
        ratio = (
            f"{row.rate / baseline.rate:.2f}x {' '.join(_LABELS[baseline_name])}"
            if baseline is not None and baseline_name is not None
            else ""
        )
        out.write(f"{library:<8} {api:<24} {row.rate:>14,.0f} {row.microseconds:>9.2f}  {ratio}\n")
        if (
            workload == "latency"
            and row.job.implementation == "zmtrio"
            and "pyzmq-asyncio" in by_name
        ):
            asyncio_rate = by_name["pyzmq-asyncio"].rate
            out.write(f"{'':<58}{row.rate / asyncio_rate:.2f}x pyzmq zmq.asyncio send/recv\n")
    return rows
