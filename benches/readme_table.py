"""The README's benchmark table, from ``zmtrio bench --json`` files.

    .venv/bin/python benches/readme_table.py FILE.json...             # print the markdown
    .venv/bin/python benches/readme_table.py FILE.json... --write README.md
    .venv/bin/python benches/readme_table.py --run --write README.md  # measure, then write

Each bench of the files becomes a row: the median of every implementation's runs with
their range, then a second table of zmtrio's ratios to each peer (median over median,
taken in the same run), then the versions, the machine, its load averages at the start
and the end, and the commands that produced the figures. ``--write`` replaces what stands
between the README's ``<!-- bench-table -->`` and ``<!-- /bench-table -->`` markers.

``--run`` first measures the README's set (``COMMANDS``: 64 B PUSH->PULL over tcp and ipc, 64
KiB and 1 MiB over tcp against the raw loopback stream (shown for messages of 64 KiB and more
only: the plot draws it at every size), 64 B REQ/REP round trips against the bare trio ping-pong
(and with ``BUSY_POLL`` 50 us), PUB -> 10 SUB fan-out), each ``--runs`` times (5) in alternating
runs, and the size sweep of ``zmtrio bench --plot`` (``--plot-runs`` times, 3; drawn to
``--plot``, ``benches/sizes.png``), keeping every ``--json`` file in ``--results``
(``benches/results``). Needs the ``bench`` and ``plot`` extras (``scripts/setup bench
plot``); takes about 15 minutes on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench-table -->", "<!-- /bench-table -->"
#: The README's benches: (file name, zmtrio bench arguments).
COMMANDS = [
    ("push-pull-64-tcp", ["--vs", "pyzmq,pyomq"]),
    ("push-pull-64-ipc", ["--transport", "ipc", "--vs", "pyzmq,pyomq"]),
    ("push-pull-64k-tcp", ["--size", "65536", "--count", "20000", "--vs", "pyzmq,pyomq,raw"]),
    ("push-pull-1m-tcp", ["--size", "1048576", "--count", "2000", "--vs", "pyzmq,pyomq,raw"]),
    ("reqrep-64-tcp", ["--workload", "reqrep", "--count", "20000", "--vs", "pyzmq,pyomq,raw"]),
    (
        "reqrep-64-tcp-busy-poll",
        ["--workload", "reqrep", "--count", "20000", "--busy-poll", "50", "--vs", "pyzmq,pyomq"],
    ),
    ("pubsub-64-tcp", ["--workload", "pubsub", "--count", "200000", "--vs", "pyzmq,pyomq"]),
]
#: Columns of the figures table, in order: (implementation, heading).
COLUMNS = [
    ("zmtrio", "zmtrio `send`/`recv`"),
    ("zmtrio-batch", "zmtrio `send_batch`/`recv_batch`"),
    ("pyzmq", "pyzmq blocking"),
    ("pyomq", "pyomq blocking"),
    ("pyzmq-asyncio", "pyzmq asyncio"),
    ("pyomq-asyncio", "pyomq asyncio"),
    ("raw", "raw floor"),
]
#: Columns of the ratios table: what zmtrio is compared with.
VERSUS = [
    (("pyzmq",), "pyzmq blocking"),
    (("pyomq",), "pyomq blocking"),
    (("pyzmq-asyncio",), "pyzmq asyncio"),
    (("pyomq-asyncio",), "pyomq asyncio"),
    (("raw", "raw-pingpong"), "raw floor"),
]
_WORKLOADS = {
    "throughput": "PUSH->PULL",
    "reqrep": "REQ/REP round trip",
    "latency": "PAIR round trip",
    "pubsub": "PUB->{subscribers} SUB, delivered",
    "radio-dish": "RADIO->{subscribers} DISH, delivered",
    "raw": "raw stream",
    "raw-pingpong": "raw trio ping-pong",
}
_ONE_WAY = ("throughput", "raw", "pubsub", "radio-dish")


def size_text(size: int) -> str:
    """A size as the tables write it: ``64 B``, ``64 KiB``, ``1 MiB``."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def figure_of(entry: dict[str, Any]) -> tuple[str, str, str]:
    """The figure a bench is reported in: (JSON key, unit, number format)."""
    if entry["workload"] not in _ONE_WAY:
        return "us", "us", "{:,.1f}"
    if entry["size"] >= 65536:
        return "mb_per_s", "MB/s", "{:,.0f}"
    return "msg_per_s", "msg/s", "{:,.0f}"


def cell(row: dict[str, Any] | None, key: str, form: str) -> str:
    """One table cell: the median with the runs' range, or why there is none."""
    if row is None:
        return ""
    if "median" not in row:
        return "failed"
    median = form.format(row["median"][key])
    # A row that failed is not run again: say after how many runs.
    failed = f"; failed in run {len(row['runs']) + 1}" if row["failures"] else ""
    if len(row["runs"]) < 2:
        return f"{median} (1 run{failed})" if failed else median
    return f"{median} ({form.format(row['min'][key])}-{form.format(row['max'][key])}{failed})"


def workload_text(entry: dict[str, Any]) -> str:
    """A bench's row heading: size, workload and transport."""
    name = _WORKLOADS[entry["workload"]].format(subscribers=entry["subscribers"])
    spin = f" (`BUSY_POLL` {entry['busy_poll']} us)" if entry.get("busy_poll") else ""
    return f"{size_text(entry['size'])} {name}{spin}, {entry['transport']}"


def command_text(document: dict[str, Any]) -> str:
    """The command as a user types it (``zmtrio bench ...``), the --json file left out."""
    argv = list(document["command"])
    args = argv[argv.index("bench") + 1 :] if "bench" in argv else argv[1:]
    shown: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--json", "--progress"):
            skip = True
        else:
            shown.append(arg)
    return " ".join(["zmtrio bench", *shown])


def tables(documents: list[dict[str, Any]]) -> str:
    """The markdown: figures, ratios, then what they were measured on."""
    entries = [(document, entry) for document in documents for entry in document["benches"]]
    lines = [
        "| workload | figure | " + " | ".join(heading for _, heading in COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for _, entry in entries:
        key, unit, form = figure_of(entry)
        rows = {row["implementation"]: row for row in entry["rows"]}
        rows.setdefault("raw", rows.get("raw-pingpong"))  # the floor's column either way
        if key == "msg_per_s":
            rows.pop("raw")  # a byte stream in small messages says nothing; see the plot
        cells = [cell(rows.get(name), key, form) for name, _ in COLUMNS]
        lines.append(f"| {workload_text(entry)} | {unit} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| workload | zmtrio API | " + " | ".join(f"vs {heading}" for _, heading in VERSUS) + " |",
        "|---|---|" + "---|" * len(VERSUS),
    ]
    for _, entry in entries:
        for api in ("zmtrio", "zmtrio-batch"):
            ratios = {r["versus"]: r["ratio"] for r in entry["ratios"] if r["row"] == api}
            if figure_of(entry)[0] == "msg_per_s":
                ratios.pop("raw", None)
            if not ratios:
                continue
            cells = []
            for names, _ in VERSUS:
                found = [ratios[name] for name in names if name in ratios]
                cells.append(f"{found[0]:.2f}x" if found else "")
            label = "`send`/`recv`" if api == "zmtrio" else "`send_batch`/`recv_batch`"
            lines.append(f"| {workload_text(entry)} | {label} | " + " | ".join(cells) + " |")
    lines += ["", *footer(documents)]
    return "\n".join(lines) + "\n"


def footer(documents: list[dict[str, Any]]) -> list[str]:
    """The lines under the tables: the method, the versions, the machine and the commands."""
    first = documents[0]
    versions = first["versions"]
    machine = first["machine"]
    loads = [
        value
        for document in documents
        for value in (document["machine"]["load_start"][:1] + document["machine"]["load_end"][:1])
    ]
    runs = sorted({entry["runs"] for document in documents for entry in document["benches"]})
    stamps = sorted(document["timestamp"][:16].replace("T", " ") for document in documents)
    when = stamps[0] if stamps[0] == stamps[-1] else f"{stamps[0]} to {stamps[-1]}"
    peers = ", ".join(
        text
        for text in (
            f"pyzmq {versions['pyzmq']} (libzmq {versions['libzmq']})" if versions["pyzmq"] else "",
            f"pyomq {versions['pyomq']}" if versions["pyomq"] else "",
        )
        if text
    )
    commit = f" (commit {versions['zmtrio_commit']})" if versions.get("zmtrio_commit") else ""
    lines = [
        (
            f"Medians of {'/'.join(map(str, runs))} alternating runs (zmtrio, then each "
            "peer, in "
            "turn), the range of the runs in brackets; ratios are zmtrio's median rate over the "
            "peer's median rate in the same run (above 1: zmtrio faster; for round trips, the "
            "inverse of the time ratio). MB/s: 10^6 bytes of payload per second; raw floor: "
            "`--vs raw`, plain sockets with no messaging layer (1 MiB `sendall`/`recv_into` "
            "chunks for streams, a bare trio ping-pong for round trips)."
        ),
        "",
        (
            f"Measured {when} UTC with zmtrio {versions['zmtrio']}{commit}, "
            f"{peers}, Python {versions['python']}, trio {versions['trio']}, on "
            f"{machine['cpu']}, {machine['cores']} cores, {machine['system']}, kernel "
            f"{machine['kernel']}. {load_text(min(loads), max(loads), machine['cores'])} "
            "Commands:"
        ),
        "",
    ]
    lines += [f"- `{command_text(document)}`" for document in documents]
    return lines


def load_text(low: float, high: float, cores: int) -> str:
    """What the load averages say about the figures."""
    span = f"1-minute load average {low:g} to {high:g} on {cores} cores"
    if high > cores / 2:
        return (
            f"The {span} at the starts and ends of these runs counts the benches' own "
            "processes (eleven for PUB->10 SUB) and work that ended shortly before, so it does "
            "not say by itself whether the machine was shared: figures move by tens of percent "
            "from run to run on such machines, so read the ratios (same run) rather than the "
            "rates."
        )
    return f"The machine was otherwise quiet during these runs ({span})."


def write_into(readme: Path, text: str) -> None:
    """Replace what stands between the README's bench-table markers with ``text``."""
    content = readme.read_text()
    pattern = re.compile(re.escape(START) + r"\n.*?" + re.escape(END), re.DOTALL)
    if not pattern.search(content):
        raise SystemExit(f"{readme} has no {START} ... {END} block")
    readme.write_text(pattern.sub(lambda _: f"{START}\n{text}{END}", content, count=1))


def measure(results: Path, runs: int, plot_runs: int, plot: Path) -> list[Path]:
    """Run the README's benches and the size sweep; return the JSON files, in order."""
    results.mkdir(parents=True, exist_ok=True)
    zmtrio = [sys.executable, "-m", "zmtrio", "bench"]
    files = []
    for name, args in COMMANDS:
        path = results / f"{name}.json"
        print(f"readme_table: {' '.join(['zmtrio bench', *args])}", file=sys.stderr, flush=True)
        subprocess.run([*zmtrio, *args, "--runs", str(runs), "--json", str(path)], check=True)
        files.append(path)
    keep = ["--json", str(results / "sizes.json")]
    print("readme_table: zmtrio bench --plot (16 B to 1 MiB)", file=sys.stderr, flush=True)
    subprocess.run(
        [*zmtrio, "--vs", "pyzmq,pyomq,raw", "--runs", str(plot_runs), "--plot", str(plot), *keep],
        check=True,
    )
    return files


def main() -> None:
    """Print the README's tables from --json files (measured first with --run), or write them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="zmtrio bench --json files")
    parser.add_argument("--write", type=Path, help="replace the README's bench-table block")
    parser.add_argument("--run", action="store_true", help="measure first (see COMMANDS)")
    parser.add_argument("--runs", type=int, default=5, help="--run: runs per bench (5)")
    parser.add_argument("--plot-runs", type=int, default=3, help="--run: runs per size (3)")
    parser.add_argument("--results", type=Path, default=ROOT / "benches" / "results")
    parser.add_argument("--plot", type=Path, default=ROOT / "benches" / "sizes.png")
    args = parser.parse_args()
    files = list(args.files)
    if args.run:
        files = measure(args.results, args.runs, args.plot_runs, args.plot)
    if not files:
        parser.error("give --json files or --run")
    documents = [json.loads(path.read_text()) for path in files]
    for path, document in zip(files, documents, strict=True):
        if document.get("schema") != "zmtrio-bench/1":
            raise SystemExit(f"{path} is not a zmtrio bench --json file")
    text = tables(documents)
    if args.write:
        write_into(args.write, text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
