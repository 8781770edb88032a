"""The ``zmtrio`` command line (``python -m zmtrio``): help texts and ``bench`` tables.

Every bench run spawns its peers as processes, so counts are tiny: these tests check the
command line and the table, not the speed."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

#: One table row: library, API, rate (with thousands separators), its range (--runs > 1),
#: MB/s (one-way workloads), microseconds, ratio.
ROW = re.compile(
    r"^(?P<library>zmtrio|pyzmq|pyomq|raw)\s+(?P<api>\S.*?)\s+(?P<rate>\d[\d,]*)"
    r"(?:\s+(?P<low>\d[\d,]*)-(?P<high>\d[\d,]*))?(?:\s+(?P<mb>\d[\d,]*\.\d))?"
    r"\s+(?P<us>\d+\.\d+)(?:\s+(?P<ratio>\d+\.\d+x \S.*))?$"
)
#: A continuation line with a second ratio (latency: zmtrio against zmq.asyncio).
EXTRA_RATIO = re.compile(r"^\s+(?P<ratio>\d+\.\d+x \S.*)$")

COUNT = "3000"


@dataclass
class Row:
    library: str
    api: str
    rate: float
    microseconds: float
    megabytes: float | None = None
    ratios: list[str] = field(default_factory=list)
    span: tuple[float, float] | None = None  # the rate's range over the runs


def zmtrio_cli(*args: str, timeout: float = 100) -> subprocess.CompletedProcess[bytes]:
    # Plain tests with a subprocess timeout rather than trio's 30 s test deadline: a bench
    # row spawns several processes, and on a machine loaded by other test suites (load
    # averages of 15 on 2 cores have been seen) a few thousand messages can take a minute.
    return subprocess.run(
        [sys.executable, "-m", "zmtrio", *args], capture_output=True, timeout=timeout, check=False
    )


def bench(*args: str) -> str:
    result = zmtrio_cli("bench", "--count", COUNT, "--progress", "never", *args)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def number(text: str) -> float:
    return float(text.replace(",", ""))


def parse_table(output: str) -> tuple[str, list[Row]]:
    """The header line of the table and its rows (a continuation line's ratio belongs to
    the row above it)."""
    lines = [line.rstrip() for line in output.splitlines()]
    headers = [index for index, line in enumerate(lines) if line.startswith("library ")]
    assert len(headers) == 1, output
    rows: list[Row] = []
    for line in lines[headers[0] + 1 :]:
        if not line:
            continue
        match = ROW.match(line)
        if match is not None:
            rows.append(
                Row(
                    match["library"],
                    match["api"],
                    float(match["rate"].replace(",", "")),
                    float(match["us"]),
                    float(match["mb"].replace(",", "")) if match["mb"] else None,
                    [match["ratio"]] if match["ratio"] else [],
                    (number(match["low"]), number(match["high"])) if match["low"] else None,
                )
            )
            continue
        continuation = EXTRA_RATIO.match(line)
        assert continuation is not None, f"unexpected line in the table: {line!r}"
        assert rows, f"a continuation line before any row: {line!r}"
        rows[-1].ratios.append(continuation["ratio"])
    assert rows, output
    return lines[headers[0]], rows


def check_rates(rows: list[Row]) -> None:
    for row in rows:
        assert row.rate > 0
        assert row.microseconds > 0
        if row.span is not None:  # a median within its range
            assert row.span[0] <= row.rate <= row.span[1]
        # Both columns are one measurement: microseconds (2 decimals) = 1e6 / rate.
        assert row.microseconds == pytest.approx(1e6 / row.rate, rel=0.01, abs=0.006)


def check_ratios(rows: list[Row]) -> None:
    """Every ratio names another library's row of the table and is our rate over that
    row's rate."""
    theirs = {f"{row.library} {row.api}": row for row in rows if row.library != "zmtrio"}
    for row in rows:
        for ratio in row.ratios:
            value, _, named = ratio.partition("x ")
            assert named in theirs, f"{ratio!r} names no pyzmq row of the table"
            assert float(value) == pytest.approx(row.rate / theirs[named].rate, rel=0.01, abs=0.006)


def test_help() -> None:
    result = zmtrio_cli("--help")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert out.startswith("usage: zmtrio")
    assert "bench" in out


def test_bench_help() -> None:
    result = zmtrio_cli("bench", "--help")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert out.startswith("usage: zmtrio bench")
    for option in (
        "--workload",
        "--transport",
        "--size",
        "--count",
        "--batch",
        "--per-message",
        "--vs",
        "--progress",
    ):
        assert option in out


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
@pytest.mark.parametrize("workload", ["throughput", "latency"])
def test_bench_table(transport: str, workload: str) -> None:
    result = zmtrio_cli(
        "bench",
        "--count",
        COUNT,
        "--vs",
        "none",
        "--progress",
        "never",
        "--transport",
        transport,
        "--workload",
        workload,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"\r" not in result.stderr  # --progress never: no progress bar
    out = result.stdout.decode()
    title = out.splitlines()[0]
    assert title.startswith("zmtrio bench: ")
    assert f", {transport}, " in title
    assert "3,000 messages" in title
    header, rows = parse_table(out)
    assert ("msg/s" if workload == "throughput" else "round trips/s") in header
    check_rates(rows)
    assert {row.library for row in rows} == {"zmtrio"}
    assert all(not row.ratios for row in rows)
    apis = [row.api for row in rows]
    if workload == "throughput":
        assert apis == ["send/recv", "send_batch/recv_batch"]
    else:
        assert apis == ["send/recv"]
    assert "pyzmq" not in out


@pytest.mark.parametrize("workload", ["throughput", "latency"])
def test_bench_versus_pyzmq(workload: str) -> None:
    # tcp: pyzmq's own zmq.asyncio PUSH loses the tail of a stream over ipc now and then,
    # which leaves that row waiting (see the report on the bench).
    out = bench("--vs", "pyzmq", "--transport", "tcp", "--workload", workload)
    versions = out.splitlines()[1]
    assert "pyzmq " in versions
    assert "libzmq " in versions
    _, rows = parse_table(out)
    check_rates(rows)
    ours = [row for row in rows if row.library == "zmtrio"]
    theirs = [row for row in rows if row.library == "pyzmq"]
    assert theirs, "no pyzmq rows"
    assert {row.api for row in theirs} >= {"zmq.asyncio send/recv", "blocking send/recv"}
    for row in ours:
        assert row.ratios, f"no ratio for {row.api}"
        assert all("x pyzmq " in ratio for ratio in row.ratios)
    assert all(not row.ratios for row in theirs)
    check_ratios(rows)
    if workload == "throughput":
        assert [row.api for row in ours] == ["send/recv", "send_batch/recv_batch"]
        assert ours[0].ratios[0].endswith("x pyzmq zmq.asyncio send/recv")
        assert any(ratio.endswith("x pyzmq blocking send/recv") for ratio in ours[1].ratios)
    else:
        assert [row.api for row in ours] == ["send/recv"]


def test_bench_versus_pyzmq_over_inproc_has_no_pyzmq_rows() -> None:
    """pyzmq cannot share an inproc endpoint with another process's zmtrio: no comparison."""
    out = bench("--vs", "pyzmq", "--transport", "inproc", "--per-message")
    _, rows = parse_table(out)
    assert [(row.library, row.api) for row in rows] == [("zmtrio", "send/recv")]
    assert not rows[0].ratios


@pytest.mark.parametrize(
    ("option", "expected"),
    [(["--batch", "100"], ["send_batch/recv_batch"]), (["--per-message"], ["send/recv"])],
)
def test_bench_selects_one_api(option: list[str], expected: list[str]) -> None:
    out = bench("--vs", "none", *option)
    _, rows = parse_table(out)
    check_rates(rows)
    assert [row.api for row in rows] == expected
    if option[0] == "--batch":
        assert "batch 100" in out.splitlines()[0]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["no-such-command"],
        ["bench", "--count", "0"],
        ["bench", "--count", "many"],
        ["bench", "--batch", "0"],
        ["bench", "--batch", "10", "--per-message"],
        ["bench", "--transport", "udp"],
        ["bench", "--workload", "bandwidth"],
        ["bench", "--vs", "libzmq"],
        ["bench", "--progress", "sometimes"],
        ["bench", "--no-such-option"],
    ],
)
def test_invalid_arguments_exit_non_zero(args: list[str]) -> None:
    result = zmtrio_cli(*args, timeout=10)
    assert result.returncode == 2  # a usage error
    assert result.stdout == b""
    errors = result.stderr.decode().splitlines()
    assert len(errors) == 1 and errors[0].startswith("zmtrio: error: "), errors
    assert errors[0].endswith("--help)"), errors
