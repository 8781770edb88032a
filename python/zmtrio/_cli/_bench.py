"""``zmtrio bench``: throughput, latency and fan-out, zmtrio side by side with its peers.

Every row runs its peers in fresh processes (spawned, so nothing is shared but the
endpoint), the measuring side times from its first message to its last, and the table
gives each zmtrio row as a ratio to its counterparts measured in the same run: pyzmq
(libzmq) and pyomq (omq.rs), each through its blocking and its asyncio face, and the raw
floors (``_bench_raw``: plain sockets, no messaging layer). With ``runs`` > 1 the rows
alternate (zmtrio, then each peer, in turn) and the table gives medians and ranges; ratios
are taken between medians.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import queue
import statistics
import time
from dataclasses import dataclass, field, replace
from datetime import date
from multiprocessing.context import SpawnProcess
from typing import Any, TextIO

from ._app import CommandError
from ._workers import FAN_OUT, ROLES, Job, Shared, run

__all__ = ["PEERS", "Bench", "Progress", "Row", "Summary", "bench", "library_versions"]
__all__ += ["parse_peers"]

#: What ``--vs`` may name.
PEERS = ("pyzmq", "pyomq", "raw")

_LABELS = {
    "zmtrio": ("zmtrio", "send/recv"),
    "zmtrio-batch": ("zmtrio", "send_batch/recv_batch"),
    "pyzmq-asyncio": ("pyzmq", "zmq.asyncio send/recv"),
    "pyzmq": ("pyzmq", "blocking send/recv"),
    "pyomq-asyncio": ("pyomq", "pyomq.asyncio send/recv"),
    "pyomq": ("pyomq", "blocking send/recv"),
    "raw": ("raw", "1 MiB sendall/recv_into"),
    "raw-pingpong": ("raw", "trio ping-pong"),
}
_TITLES = {
    "throughput": "PUSH->PULL throughput",
    "latency": "PAIR ping-pong round trips",
    "reqrep": "REQ/REP round trips",
    "pubsub": "PUB->SUB fan-out",
    "radio-dish": "RADIO->DISH fan-out",
    "raw": "raw socket stream (no messaging layer)",
    "raw-pingpong": "raw trio ping-pong round trips (no messaging layer)",
}
#: Each zmtrio row's comparison rows: the batch API against the blocking APIs and the raw
#: stream; per-message calls against every API of every peer (asyncio is what pyzmq and
#: pyomq offer an async user) and the raw floor of the workload.
_BASELINES = {
    "zmtrio": ("pyzmq-asyncio", "pyzmq", "pyomq-asyncio", "pyomq", "raw", "raw-pingpong"),
    "zmtrio-batch": ("pyzmq", "pyomq", "raw"),
}
#: The workloads measured one way (messages per second, MB/s); the others count round trips.
ONE_WAY = ("throughput", "raw", *FAN_OUT)
#: Seconds a row runs before ``--progress auto`` draws its bar.
_QUIET_SECONDS = 2.0


def _deadline_seconds(job: Job) -> float:
    """How long one row may take: generous for the slowest API measured (zmq.asyncio,
    ~30k msg/s here), yet a peer that stalls (as pyzmq's asyncio PUSH over ipc sometimes
    does, losing messages at close) ends the row instead of the run."""
    receivers = job.subscribers if job.workload in FAN_OUT else 1
    return 30 + job.count * receivers / 2000 + job.count * job.size / 50e6


@dataclass(frozen=True)
class Row:
    """One measured run of one implementation."""

    job: Job
    seconds: float
    messages: float

    @property
    def rate(self) -> float:
        """Messages per second (round trips per second for round-trip workloads, messages
        delivered to all subscribers together for fan-out; for the raw stream, the bytes
        moved per second in messages of ``--size``)."""
        return self.messages / self.seconds

    @property
    def microseconds(self) -> float:
        """Mean microseconds per message (per round trip)."""
        return self.seconds / self.messages * 1e6

    @property
    def megabytes(self) -> float:
        """Payload megabytes (10^6 bytes) per second."""
        return self.rate * self.job.size / 1e6


@dataclass
class Summary:
    """Every run of one implementation in one bench, with its medians and ranges."""

    implementation: str
    runs: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def figure(self, name: str) -> list[float]:
        """One figure ("rate", "megabytes", "microseconds") of each run."""
        return [float(getattr(row, name)) for row in self.runs]

    def median(self, name: str) -> float:
        """The median of a figure over the runs."""
        return statistics.median(self.figure(name))

    @property
    def label(self) -> str:
        """Library and API, as the table names the row."""
        return " ".join(_LABELS[self.implementation])


@dataclass
class Bench:
    """One workload measured ``runs`` times: the settings and a summary per row."""

    job: Job
    runs: int
    summaries: list[Summary]

    def ratios(self) -> list[tuple[Summary, Summary, float]]:
        """(zmtrio row, comparison row, median rate over median rate) for every pair the
        table gives."""
        measured = {s.implementation: s for s in self.summaries if s.runs}
        pairs = []
        for ours in self.summaries:
            for name in _BASELINES.get(ours.implementation, ()):
                theirs = measured.get(name)
                if ours.runs and theirs is not None and theirs.median("rate") > 0:
                    pairs.append((ours, theirs, ours.median("rate") / theirs.median("rate")))
        return pairs


class Progress:
    """The progress line on stderr: which run and row, and how far the row has got."""

    def __init__(self, mode: str, out: TextIO) -> None:
        self.enabled = mode == "always" or (mode == "auto" and out.isatty())
        self.delay = _QUIET_SECONDS if mode == "auto" else 0.0
        self.out = out
        self.prefix = ""
        self.drawn = False

    def draw(self, label: str, done: int, total: int, started: float) -> None:
        """Redraw the line for a row started at ``started`` (``time.monotonic``)."""
        if not self.enabled or time.monotonic() - started < self.delay:
            return
        width = 30
        filled = min(width, width * done // max(total, 1))
        bar = "#" * filled + "." * (width - filled)
        percent = min(100, 100 * done // max(total, 1))
        self.out.write(f"\r  {self.prefix}{label:<36} [{bar}] {percent:3d}%")
        self.out.flush()
        self.drawn = True

    def end(self) -> None:
        """End the line, if one was drawn."""
        if self.drawn:
            self.out.write("\n")
            self.out.flush()
            self.drawn = False


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


def _measure(job: Job, progress: Progress) -> Row:
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
    started = time.monotonic()
    deadline = started + _deadline_seconds(job)

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
            progress.draw(label, shared.progress.value, job.count, started)

        expected = connectors if job.workload in FAN_OUT else 1
        reports = [_result(shared, processes, deadline, tick) for _ in range(expected)]
        for process in processes:
            process.join(timeout=60)
        progress.draw(label, job.count, job.count, started)
    finally:
        progress.end()
        for process in processes:
            if process.is_alive():
                process.kill()
    row = _row(job, reports)
    if row.messages <= 0 or row.seconds <= 0:
        raise RuntimeError("nothing was left to time after the first receive: raise --count")
    return row


def _row(job: Job, reports: list[Any]) -> Row:
    if job.workload in FAN_OUT:
        # Messages delivered to all subscribers together, over the span from the first
        # subscriber's first message to the last subscriber's end marker.
        delivered = sum(report[1] for report in reports)
        span = max(report[3] for report in reports) - min(report[2] for report in reports)
        return Row(job, span, delivered)
    return Row(job, reports[0][1], reports[0][2])


def library_versions() -> dict[str, str | None]:
    """The versions of the libraries a bench may measure (None: not importable)."""
    import importlib

    import trio

    from .._version import __version__

    versions: dict[str, str | None] = {
        "zmtrio": __version__,
        "python": platform.python_version(),
        "trio": trio.__version__,
        "pyzmq": None,
        "libzmq": None,
        "pyomq": None,
    }
    for name, module_name in (("pyzmq", "zmq"), ("pyomq", "pyomq")):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        versions[name] = str(module.__version__)
        if name == "pyzmq":
            versions["libzmq"] = str(module.zmq_version())
    return versions


def _implementations(
    workload: str, transport: str, modes: list[str], peers: list[str]
) -> list[str]:
    """The rows of one bench, in the order they run."""
    if workload in ("raw", "raw-pingpong"):
        return [workload]
    names = list(modes)
    if transport != "inproc":  # the peers run in other processes than zmtrio
        for peer in peers:
            if peer == "raw":
                if workload == "throughput":
                    names.append("raw")
                elif workload in ("latency", "reqrep"):
                    names.append("raw-pingpong")
            elif peer == "pyzmq" and workload == "radio-dish":
                continue  # pyzmq's libzmq is built without the draft types
            else:
                for mode in modes:
                    names += [n for n in _BASELINES[mode] if n.startswith(peer)]
    return list(dict.fromkeys(names))


def _check_peers(peers: list[str], versions: dict[str, str | None]) -> None:
    for peer in peers:
        if peer != "raw" and versions.get(peer) is None:
            raise CommandError(
                f"--vs {peer} needs {peer} installed (pip install {peer}, or scripts/setup bench)"
            )


def bench(
    *,
    workload: str,
    transport: str,
    size: int,
    count: int,
    batch: int,
    subscribers: int,
    modes: list[str],
    peers: list[str],
    progress: Progress,
    out: TextIO,
    curve: bool = False,
    runs: int = 1,
    busy_poll: int = 0,
) -> Bench:
    """Run the workload ``runs`` times for each mode and peer; print the table, return it."""
    if workload in ("raw", "raw-pingpong") and transport == "inproc":
        raise CommandError(f"--workload {workload} needs --transport tcp or ipc")
    if workload not in ("throughput", "pubsub"):
        modes = ["zmtrio"]  # batches only make sense for one-way streams (and groups)
    versions = library_versions()
    _check_peers(peers, versions)
    implementations = _implementations(workload, transport, modes, peers)
    fan_out = f", {subscribers} subscribers" if workload in FAN_OUT else ""
    shown = [
        f"{name} {versions[name]}" + (f", libzmq {versions['libzmq']}" if name == "pyzmq" else "")
        for name in ("pyzmq", "pyomq")
        if any(i.startswith(name) for i in implementations)
    ]
    out.write(
        f"zmtrio bench: {_TITLES[workload]}{' (CURVE)' if curve else ''}"
        + (f" (zmtrio BUSY_POLL {busy_poll} us)" if busy_poll else "")
        + f", {transport}, "
        f"{size} B messages, "
        f"{count:,} messages{fan_out}"
        + (f", batch {batch}" if "zmtrio-batch" in implementations else "")
        + (f", medians of {runs} alternating runs (ratios: median over median)" if runs > 1 else "")
        + f"\n{date.today()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
        + "".join(f", {text}" for text in shown)
        + "\n"
    )
    if busy_poll and workload != "reqrep":
        raise CommandError("--busy-poll applies to --workload reqrep (REQ and REP)")
    base = Job("zmtrio", workload, transport, size, count, batch, subscribers, curve, busy_poll)
    summaries = [Summary(name) for name in implementations]
    for index in range(runs):
        progress.prefix = f"run {index + 1}/{runs}: " if runs > 1 else ""
        for summary in summaries:
            if summary.failures:
                continue  # failed once, not run again: a stalled peer waits out its deadline
            job = replace(base, implementation=summary.implementation)
            try:
                summary.runs.append(_measure(job, progress))
            except RuntimeError as exc:
                summary.failures.append(str(exc))
    result = Bench(base, runs, summaries)
    _print_table(result, out)
    return result


def _print_table(result: Bench, out: TextIO) -> None:
    one_way = result.job.workload in ONE_WAY
    many = result.runs > 1
    unit = "msg/s" if one_way else "round trips/s"
    ranged = f"{unit} range" if many else ""
    header = f"\n{'library':<8} {'API':<24} {unit:>14}"
    header += f" {ranged:>23}" if many else ""
    header += f" {'MB/s':>9}" if one_way else ""
    out.write(f"{header} {'us each':>9}  ratio\n")
    ratios: dict[str, list[str]] = {}
    for ours, theirs, value in result.ratios():
        ratios.setdefault(ours.implementation, []).append(f"{value:.2f}x {theirs.label}")
    indent = len(header) - 1 + 12  # past the "us each" column and two spaces
    for summary in result.summaries:
        library, api = _LABELS[summary.implementation]
        if not summary.runs:
            out.write(f"{summary.label}: not measured ({summary.failures[0]})\n")
            continue
        line = f"{library:<8} {api:<24} {summary.median('rate'):>14,.0f}"
        if many:
            rates = summary.figure("rate")
            line += f" {f'{min(rates):,.0f}-{max(rates):,.0f}':>23}"
        if one_way:
            line += f" {summary.median('megabytes'):>9,.1f}"
        line += f" {1e6 / summary.median('rate'):>9.2f}"  # the median rate's time each
        own = ratios.get(summary.implementation, [])
        out.write(f"{line}  {own[0] if own else ''}".rstrip() + "\n")
        for ratio in own[1:]:
            out.write(f"{'':<{indent}}{ratio}\n")
        if summary.failures:
            out.write(f"{'':<{indent}}(failed in run {len(summary.runs) + 1}, not run again)\n")


def parse_peers(text: str) -> list[str]:
    """``--vs``: a comma list of :data:`PEERS`, or ``none``."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["none"]:
        return []
    unknown = [name for name in names if name not in PEERS]
    if unknown or not names:
        raise ValueError(f"--vs takes none or a comma list of {', '.join(PEERS)}")
    return list(dict.fromkeys(names))
