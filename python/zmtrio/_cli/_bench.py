"""``zmtrio bench``: throughput, latency and fan-out, zmtrio side by side with pyzmq.

Every row runs its peers in fresh processes (spawned, so nothing is shared but the
endpoint), the measuring side times from its first message to its last, and the table
gives each zmtrio row as a ratio to its pyzmq counterpart measured in the same run.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import queue
import sys
import time
from dataclasses import dataclass, replace
from datetime import date
from multiprocessing.context import SpawnProcess
from typing import Any, TextIO

from ._workers import FAN_OUT, ROLES, Job, Shared, run

__all__ = ["Row", "bench"]

_LABELS = {
    "zmtrio": ("zmtrio", "send/recv"),
    "zmtrio-batch": ("zmtrio", "send_batch/recv_batch"),
    "pyzmq-asyncio": ("pyzmq", "zmq.asyncio send/recv"),
    "pyzmq": ("pyzmq", "blocking send/recv"),
}
_TITLES = {
    "throughput": "PUSH->PULL throughput",
    "latency": "PAIR ping-pong round trips",
    "reqrep": "REQ/REP round trips",
    "pubsub": "PUB->SUB fan-out",
    "radio-dish": "RADIO->DISH fan-out",
}
#: Each zmtrio row's comparison rows: the batch API against blocking pyzmq; per-message
#: calls against both pyzmq APIs (asyncio is what pyzmq offers an async user).
_BASELINES = {"zmtrio": ("pyzmq-asyncio", "pyzmq"), "zmtrio-batch": ("pyzmq",)}


def _deadline_seconds(job: Job) -> float:
    """How long one row may take: generous for the slowest API measured (zmq.asyncio,
    ~30k msg/s here), yet a peer that stalls (as pyzmq's asyncio PUSH over ipc sometimes
    does, losing messages at close) ends the row instead of the run."""
    receivers = job.subscribers if job.workload in FAN_OUT else 1
    return 30 + job.count * receivers / 2000


@dataclass(frozen=True)
class Row:
    """One measured implementation."""

    job: Job
    seconds: float
    messages: int

    @property
    def rate(self) -> float:
        """Messages per second (round trips per second for round-trip workloads, messages
        delivered to all subscribers together for fan-out)."""
        return self.messages / self.seconds

    @property
    def microseconds(self) -> float:
        """Mean microseconds per message (per round trip)."""
        return self.seconds / self.messages * 1e6


def _progress_bar(label: str, done: int, total: int, out: TextIO) -> None:
    width = 30
    filled = min(width, width * done // max(total, 1))
    bar = "#" * filled + "." * (width - filled)
    out.write(f"\r  {label:<36} [{bar}] {min(100, 100 * done // max(total, 1)):3d}%")
    out.flush()


def _result(
    shared: Shared, processes: list[SpawnProcess], deadline: float, tick: Any = None
) -> Any:
    """The next report from a peer, calling ``tick`` every 0.1 s while waiting."""
    while True:
        if tick is not None:
            tick()
        try:
            return shared.results.get(timeout=0.1)
        except queue.Empty:
            if time.monotonic() > deadline or not any(p.is_alive() for p in processes):
                raise RuntimeError("a peer failed or did not finish in time") from None


def _measure(job: Job, show_progress: bool) -> Row:
    spawn = multiprocessing.get_context("spawn")
    shared = Shared(
        results=spawn.Queue(),
        progress=spawn.Value("q", 0, lock=False),
        ready=spawn.Value("q", 0),
        done=spawn.Value("q", 0),
    )
    binder, connector = ROLES[job.workload]
    connectors = job.subscribers if job.workload in FAN_OUT else 1
    label = " ".join(_LABELS[job.implementation])
    processes: list[SpawnProcess] = []
    deadline = time.monotonic() + _deadline_seconds(job)

    def start(role: str, endpoint: str | None) -> None:
        process = spawn.Process(target=run, args=(job, role, endpoint, shared))
        process.start()
        processes.append(process)

    try:
        if job.transport == "inproc":
            start("both", None)
        else:
            start(binder, None)
            kind, endpoint = _result(shared, processes, deadline)
            assert kind == "endpoint"
            for _ in range(connectors):
                start(connector, endpoint)

        def tick() -> None:
            _progress_bar(label, shared.progress.value, job.count, sys.stderr)

        expected = connectors if job.workload in FAN_OUT else 1
        reports = [
            _result(shared, processes, deadline, tick if show_progress else None)
            for _ in range(expected)
        ]
        for process in processes:
            process.join(timeout=60)
        if show_progress:
            _progress_bar(label, job.count, job.count, sys.stderr)
            sys.stderr.write("\n")
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    if job.workload in FAN_OUT:
        # Messages delivered to all subscribers together, over the span from the first
        # subscriber's first message to the last subscriber's end marker.
        delivered = sum(report[1] for report in reports)
        span = max(report[3] for report in reports) - min(report[2] for report in reports)
        return Row(job, span, delivered)
    return Row(job, reports[0][1], reports[0][2])


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
    subscribers: int,
    modes: list[str],
    versus: str,
    show_progress: bool,
    out: TextIO,
    curve: bool = False,
) -> list[Row]:
    """Run the workload for each mode (and pyzmq's counterparts); print and return rows."""
    if workload not in ("throughput", "pubsub"):
        modes = ["zmtrio"]  # batches only make sense for one-way streams (and groups)
    pyzmq = _pyzmq_version() if versus == "pyzmq" else None
    if versus == "pyzmq" and pyzmq is None:
        raise SystemExit("--vs pyzmq needs pyzmq installed (pip install pyzmq)")
    implementations = list(modes)
    if workload == "radio-dish":
        pyzmq = None  # pyzmq's libzmq is built without the draft types
    if pyzmq is not None and transport != "inproc":
        for mode in modes:
            implementations += _BASELINES[mode]
    implementations = list(dict.fromkeys(implementations))
    fan_out = f", {subscribers} subscribers" if workload in FAN_OUT else ""
    out.write(
        f"zmtrio bench: {_TITLES[workload]}{' (CURVE)' if curve else ''}, {transport}, "
        f"{size} B messages, "
        f"{count:,} messages{fan_out}"
        + (f", batch {batch}" if "zmtrio-batch" in modes else "")
        + f"\n{date.today()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
        + (f", {pyzmq}" if pyzmq else "")
        + "\n"
    )
    base = Job("zmtrio", workload, transport, size, count, batch, subscribers, curve)
    rows = []
    for name in implementations:
        try:
            rows.append(_measure(replace(base, implementation=name), show_progress))
        except RuntimeError as exc:
            if show_progress:
                sys.stderr.write("\n")
            out.write(f"{' '.join(_LABELS[name])}: not measured ({exc})\n")
    by_name = {row.job.implementation: row for row in rows}
    unit = "msg/s" if workload in ("throughput", *FAN_OUT) else "round trips/s"
    out.write(f"\n{'library':<8} {'API':<24} {unit:>14} {'us each':>9}  ratio\n")
    for row in rows:
        library, api = _LABELS[row.job.implementation]
        ratios = [
            f"{row.rate / by_name[name].rate:.2f}x {' '.join(_LABELS[name])}"
            for name in _BASELINES.get(row.job.implementation, ())
            if name in by_name
        ]
        first = ratios[0] if ratios else ""
        out.write(f"{library:<8} {api:<24} {row.rate:>14,.0f} {row.microseconds:>9.2f}  {first}\n")
        for ratio in ratios[1:]:
            out.write(f"{'':<59}{ratio}\n")
    return rows
