"""``zmtrio bench`` against pyomq and the raw floors, ``--runs``, ``--json``, ``--plot`` and
``benches/readme_table.py``.

Counts are tiny and every run is a subprocess with a timeout: these tests check the
figures' structure and consistency (medians within their ranges, ratios of medians, bytes
moved), never their speed."""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import check_rates, check_ratios, parse_table, zmtrio_cli

ROOT = Path(__file__).resolve().parent.parent
COUNT = "2000"
FIGURES = ("msg_per_s", "mb_per_s", "us")


def bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "zmtrio", "bench", "--count", COUNT, *args],
        capture_output=True,
        timeout=240,
        check=False,
        env=env,
    )


def hiding(tmp_path: Path, module: str) -> dict[str, str]:
    """An environment in which importing ``module`` fails, as if it were not installed."""
    shadow = tmp_path / "shadow"
    shadow.mkdir(exist_ok=True)
    (shadow / f"{module}.py").write_text(f"raise ImportError('{module} hidden by the test')\n")
    return {**os.environ, "PYTHONPATH": str(shadow)}


def check_document(document: dict[str, Any], runs: int) -> None:
    """The --json schema, and medians, ranges and ratios consistent with the runs."""
    assert document["schema"] == "zmtrio-bench/1"
    assert document["command"][-1] and "bench" in document["command"]
    assert document["timestamp"].endswith("+00:00")
    versions = document["versions"]
    assert set(versions) == {
        "zmtrio",
        "zmtrio_commit",
        "pyzmq",
        "libzmq",
        "pyomq",
        "python",
        "trio",
    }
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True)
    if head.returncode == 0:  # a checkout (CI's clone is one): the commit measured
        assert head.stdout.decode().startswith(versions["zmtrio_commit"])
    assert versions["zmtrio"] and versions["python"] and versions["trio"]
    machine = document["machine"]
    assert machine["cpu"] and machine["kernel"] and machine["cores"] >= 1
    assert len(machine["load_start"]) == 3 and len(machine["load_end"]) == 3
    assert document["benches"]
    for entry in document["benches"]:
        assert entry["runs"] == runs
        medians = {}
        for row in entry["rows"]:
            assert len(row["runs"]) == runs, row
            assert not row["failures"]
            for run in row["runs"]:
                assert run["seconds"] > 0 and run["messages"] > 0
                assert run["msg_per_s"] == pytest.approx(run["messages"] / run["seconds"])
                assert run["mb_per_s"] == pytest.approx(run["msg_per_s"] * entry["size"] / 1e6)
                assert run["us"] == pytest.approx(1e6 / run["msg_per_s"])
            for figure in FIGURES:
                values = [run[figure] for run in row["runs"]]
                assert row["median"][figure] == pytest.approx(statistics.median(values))
                assert row["min"][figure] <= row["median"][figure] <= row["max"][figure]
                assert row["min"][figure] == min(values) and row["max"][figure] == max(values)
            medians[row["implementation"]] = row["median"]["msg_per_s"]
        for ratio in entry["ratios"]:
            assert ratio["row"].startswith("zmtrio")
            expected = medians[ratio["row"]] / medians[ratio["versus"]]
            assert ratio["ratio"] == pytest.approx(expected)


@pytest.fixture(scope="module")
def throughput_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One two-run PUSH->PULL bench against every peer: its table and its --json file."""
    path = tmp_path_factory.mktemp("bench") / "throughput.json"
    result = bench("--vs", "pyzmq,pyomq,raw", "--per-message", "--runs", "2", "--json", str(path))
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode(), path


def test_versus_pyzmq_pyomq_and_raw_in_two_runs(throughput_json: tuple[str, Path]) -> None:
    out, path = throughput_json
    title, versions = out.splitlines()[:2]
    assert "medians of 2 alternating runs (ratios: median over median)" in title
    assert "pyzmq " in versions and "libzmq " in versions and "pyomq " in versions
    header, rows = parse_table(out)
    assert "MB/s" in header and "range" in header
    check_rates(rows)
    check_ratios(rows)
    assert [(row.library, row.api) for row in rows] == [
        ("zmtrio", "send/recv"),
        ("pyzmq", "zmq.asyncio send/recv"),
        ("pyzmq", "blocking send/recv"),
        ("pyomq", "pyomq.asyncio send/recv"),
        ("pyomq", "blocking send/recv"),
        ("raw", "1 MiB sendall/recv_into"),
    ]
    assert len(rows[0].ratios) == 5  # against every other row
    assert all(row.megabytes is not None and row.megabytes > 0 for row in rows)
    document = json.loads(path.read_text())
    check_document(document, runs=2)
    assert len(document["benches"][0]["ratios"]) == 5
    assert "--json" in document["command"]
    (entry,) = document["benches"]
    assert entry["workload"] == "throughput" and entry["size"] == 64
    assert entry["count"] == int(COUNT)


def test_round_trips_against_pyomq_and_the_raw_pingpong(tmp_path: Path) -> None:
    path = tmp_path / "reqrep.json"
    result = bench(
        "--workload", "reqrep", "--count", "300", "--vs", "pyomq,raw", "--json", str(path)
    )
    assert result.returncode == 0, result.stderr.decode()
    header, rows = parse_table(result.stdout.decode())
    assert "round trips/s" in header and "MB/s" not in header
    check_rates(rows)
    check_ratios(rows)
    assert [(row.library, row.api) for row in rows] == [
        ("zmtrio", "send/recv"),
        ("pyomq", "pyomq.asyncio send/recv"),
        ("pyomq", "blocking send/recv"),
        ("raw", "trio ping-pong"),
    ]
    assert rows[0].ratios[-1].endswith("x raw trio ping-pong")
    document = json.loads(path.read_text())
    check_document(document, runs=1)
    table = readme_table(str(path))
    assert table.returncode == 0, table.stderr
    (line,) = [line for line in table.stdout.splitlines() if line.startswith("| 64 B REQ/REP")][:1]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[1] == "us"
    floor = next(r for r in document["benches"][0]["rows"] if r["implementation"] == "raw-pingpong")
    assert cells[-1] == f"{floor['median']['us']:,.1f}"  # the bare trio ping-pong, in us


def test_round_trips_with_busy_poll(tmp_path: Path) -> None:
    path = tmp_path / "busy.json"
    result = bench(
        "--workload", "reqrep", "--count", "300", "--vs", "none", "--busy-poll", "50",
        "--json", str(path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert "(zmtrio BUSY_POLL 50 us)" in result.stdout.decode().splitlines()[0]
    _, rows = parse_table(result.stdout.decode())
    check_rates(rows)
    assert [(row.library, row.api) for row in rows] == [("zmtrio", "send/recv")]
    assert json.loads(path.read_text())["benches"][0]["busy_poll"] == 50


def test_busy_poll_is_for_round_trips() -> None:
    result = bench("--workload", "throughput", "--vs", "none", "--busy-poll", "50")
    assert result.returncode != 0
    assert "--busy-poll applies to --workload reqrep" in result.stderr.decode()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize(("workload", "unit"), [("raw", "msg/s"), ("raw-pingpong", "round")])
def test_raw_floors(workload: str, unit: str, transport: str) -> None:
    result = bench("--workload", workload, "--transport", transport, "--size", "4096")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert "no messaging layer" in out.splitlines()[0]
    header, rows = parse_table(out)
    assert unit in header
    check_rates(rows)
    (row,) = rows
    assert row.library == "raw" and not row.ratios
    if workload == "raw":
        assert row.megabytes is not None and row.megabytes > 0
        assert row.megabytes == pytest.approx(row.rate * 4096 / 1e6, rel=0.01)


def test_raw_floors_need_a_socket_transport() -> None:
    result = bench("--workload", "raw", "--transport", "inproc")
    assert result.returncode == 1
    assert "--transport tcp or ipc" in result.stderr.decode()


def test_pyomq_missing_is_one_clear_error(tmp_path: Path) -> None:
    result = bench("--vs", "pyomq", env=hiding(tmp_path, "pyomq"))
    assert result.returncode == 1
    assert "pip install pyomq" in result.stderr.decode()
    assert result.stdout == b""


def test_without_pyomq_pyzmq_still_compares(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    result = bench(
        "--per-message", "--vs", "pyzmq", "--json", str(path), env=hiding(tmp_path, "pyomq")
    )
    assert result.returncode == 0, result.stderr.decode()
    assert "pyomq" not in result.stdout.decode()
    document = json.loads(path.read_text())
    assert document["versions"]["pyomq"] is None
    check_document(document, runs=1)


def test_progress_line_names_the_run_and_row() -> None:
    result = bench("--vs", "none", "--per-message", "--runs", "2", "--progress", "always")
    assert result.returncode == 0, result.stderr.decode()
    progress = result.stderr.decode()
    assert "run 1/2: zmtrio send/recv" in progress and "run 2/2: zmtrio send/recv" in progress
    assert progress.count("100%") == 2
    # auto: no terminal here, so no progress line
    quiet = bench("--vs", "none", "--per-message", "--progress", "auto")
    assert quiet.returncode == 0 and quiet.stderr == b""


def test_plot_from_json_draws_every_row(throughput_json: tuple[str, Path], tmp_path: Path) -> None:
    _, path = throughput_json
    picture = tmp_path / "sizes.png"
    result = zmtrio_cli("bench", "--plot", str(picture), "--from-json", str(path), timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("zmtrio bench: 6 lines drawn from ")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_sweeps_sizes_from_16_bytes_to_1_mib(tmp_path: Path) -> None:
    picture, path = tmp_path / "sweep.png", tmp_path / "sweep.json"
    result = bench(
        "--plot", str(picture), "--json", str(path), "--count", "64", "--vs", "none",
        "--per-message",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    document = json.loads(path.read_text())
    check_document(document, runs=1)
    sizes = [entry["size"] for entry in document["benches"]]
    assert sizes == [16 * 4**power for power in range(9)]
    assert sizes[-1] == 1 << 20


def test_plot_without_matplotlib_says_what_to_install(tmp_path: Path) -> None:
    result = bench("--plot", str(tmp_path / "x.png"), env=hiding(tmp_path, "matplotlib"))
    assert result.returncode == 1
    assert "pip install 'zmtrio[plot]'" in result.stderr.decode()
    assert result.stdout == b""  # nothing measured
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--runs", "0"],
        ["--vs", "pyzmq,libzmq"],
        ["--vs", ""],
        ["--busy-poll", "-1"],
    ],
)
def test_invalid_bench_options_are_usage_errors(args: list[str]) -> None:
    result = zmtrio_cli("bench", *args, timeout=30)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("zmtrio: error: ")


def test_from_json_needs_plot(tmp_path: Path) -> None:
    result = zmtrio_cli("bench", "--from-json", str(tmp_path / "x.json"), timeout=30)
    assert result.returncode == 1
    assert "--plot" in result.stderr.decode()


def readme_table(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benches" / "readme_table.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_readme_table_from_json(throughput_json: tuple[str, Path], tmp_path: Path) -> None:
    _, path = throughput_json
    document = json.loads(path.read_text())
    result = readme_table(str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    ratios = lines.index("") + 1  # the ratios table follows the figures table
    assert lines[0].startswith("| workload | figure | zmtrio `send`/`recv` |")
    (row,) = lines[2 : ratios - 1]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[:2] == ["64 B PUSH->PULL, tcp", "msg/s"]
    rows = {r["implementation"]: r for r in document["benches"][0]["rows"]}
    median, low, high = (rows["zmtrio"][key]["msg_per_s"] for key in ("median", "min", "max"))
    assert cells[2] == f"{median:,.0f} ({low:,.0f}-{high:,.0f})"
    assert cells[3] == ""  # --per-message: no batch row
    assert all(cells[4:8]), cells  # pyzmq and pyomq, both faces
    assert cells[8] == ""  # a raw byte stream in 64 B messages is left to the plot
    ratio_rows = [line for line in lines[ratios:] if line.startswith("| 64 B")]
    (ratio_row,) = ratio_rows
    ratio_cells = [cell.strip() for cell in ratio_row.strip("|").split("|")]
    by_versus = {r["versus"]: r["ratio"] for r in document["benches"][0]["ratios"]}
    assert ratio_cells[2:] == [
        f"{by_versus[name]:.2f}x" for name in ("pyzmq", "pyomq", "pyzmq-asyncio", "pyomq-asyncio")
    ] + [""]
    text = result.stdout
    versions = document["versions"]
    assert f"pyomq {versions['pyomq']}" in text and f"libzmq {versions['libzmq']}" in text
    assert document["machine"]["cpu"] in text and "load average" in text
    assert "`zmtrio bench --count 2000 --vs pyzmq,pyomq,raw --per-message --runs 2`" in text

    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- bench-table -->\nold\n<!-- /bench-table -->\n\ntail\n")
    result = readme_table(str(path), "--write", str(readme))
    assert result.returncode == 0, result.stderr
    written = readme.read_text()
    assert written.startswith("# x\n\n<!-- bench-table -->\n| workload |")
    assert written.endswith("<!-- /bench-table -->\n\ntail\n") and "old" not in written
    assert text in written


def test_readme_table_says_when_a_row_failed(
    throughput_json: tuple[str, Path], tmp_path: Path
) -> None:
    """A row that failed in its second run (and was not run again) says so in its cell."""
    _, path = throughput_json
    document = json.loads(path.read_text())
    (pyomq,) = [r for r in document["benches"][0]["rows"] if r["implementation"] == "pyomq"]
    pyomq["runs"] = pyomq["runs"][:1]
    pyomq["failures"] = ["a peer failed or did not finish in time"]
    broken = tmp_path / "failed.json"
    broken.write_text(json.dumps(document))
    result = readme_table(str(broken))
    assert result.returncode == 0, result.stderr
    row = result.stdout.splitlines()[2]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[5] == f"{pyomq['median']['msg_per_s']:,.0f} (1 run; failed in run 2)"


def test_readme_table_refuses_other_json(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"benches": []}')
    result = readme_table(str(path))
    assert result.returncode == 1
    assert "not a zmtrio bench --json file" in result.stderr


def test_callgrind_prints_a_table_per_side() -> None:
    """benches/callgrind.py's rows (the counting itself needs valgrind and minutes)."""
    spec = importlib.util.spec_from_file_location("callgrind", ROOT / "benches" / "callgrind.py")
    assert spec is not None and spec.loader is not None
    callgrind = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(callgrind)
    assert callgrind.header(True).splitlines() == [
        "| side | instructions per message | instructions counted | messages |",
        "|---|---|---|---|",
    ]
    assert callgrind.line("send", 234_560_000, 20_000, True) == (
        "| PUSH `send` | 11,728 | 234,560,000 | 20,000 |"
    )
    assert callgrind.line("recv", 210_000_000, 20_000, False).split() == [
        "recv", "10,500", "210,000,000", "over", "20,000"
    ]  # fmt: skip
    assert callgrind.header(False).split()[:4] == ["side", "instructions", "per", "message"]
