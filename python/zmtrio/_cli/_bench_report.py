"""``zmtrio bench --json FILE``: every figure of a bench run, with what it ran on.

The document (``"schema": "zmtrio-bench/1"``) holds the command line, a UTC timestamp, the
library versions (with the git commit of zmtrio's source when it is a checkout), the machine
(CPU model, cores, kernel, load averages at the start and at the end) and one entry per
bench measured: its settings, each row's runs (seconds, messages, msg/s, MB/s, us each)
with their median, minimum and maximum, and the ratios between medians the table printed.
``benches/readme_table.py`` and ``--plot --from-json`` read it back.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._bench import Bench, Summary, library_versions

__all__ = ["SCHEMA", "Report", "bench_entry", "read"]

SCHEMA = "zmtrio-bench/1"
_FIGURES = {"msg_per_s": "rate", "mb_per_s": "megabytes", "us": "microseconds"}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> list[float]:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return []


def _source_commit() -> str | None:
    """The git commit of the zmtrio source being measured, when it is a checkout."""
    try:
        found = subprocess.run(
            ["git", "-C", str(Path(__file__).parent), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return found.stdout.strip() or None


def _summary(summary: Summary) -> dict[str, Any]:
    runs = [
        {
            "seconds": row.seconds,
            "messages": row.messages,
            **{key: getattr(row, name) for key, name in _FIGURES.items()},
        }
        for row in summary.runs
    ]
    entry: dict[str, Any] = {
        "implementation": summary.implementation,
        "label": summary.label,
        "runs": runs,
        "failures": summary.failures,
    }
    if summary.runs:
        for statistic, pick in (("median", None), ("min", min), ("max", max)):
            entry[statistic] = {
                key: summary.median(name) if pick is None else pick(summary.figure(name))
                for key, name in _FIGURES.items()
            }
    return entry


def bench_entry(result: Bench) -> dict[str, Any]:
    """One bench of the document: settings, rows and ratios."""
    settings = asdict(result.job)
    del settings["implementation"]
    return {
        **settings,
        "runs": result.runs,
        "rows": [_summary(summary) for summary in result.summaries],
        "ratios": [
            {"row": ours.implementation, "versus": theirs.implementation, "ratio": ratio}
            for ours, theirs, ratio in result.ratios()
        ],
    }


class Report:
    """The document being gathered: started when the command starts, written at the end."""

    def __init__(self, argv: list[str] | None = None) -> None:
        self.started = datetime.now(UTC)
        self.load_start = _load()
        self.argv = list(sys.argv if argv is None else argv)
        self.commit = _source_commit()
        self.benches: list[dict[str, Any]] = []

    def add(self, result: Bench) -> None:
        """Record one bench."""
        self.benches.append(bench_entry(result))

    def document(self) -> dict[str, Any]:
        """The whole document, the end load average taken now."""
        return {
            "schema": SCHEMA,
            "command": self.argv,
            "timestamp": self.started.isoformat(timespec="seconds"),
            "versions": {**library_versions(), "zmtrio_commit": self.commit},
            "machine": {
                "cpu": _cpu_model(),
                "cores": os.cpu_count(),
                "system": f"{platform.system()} {platform.machine()}",
                "kernel": platform.release(),
                "load_start": self.load_start,
                "load_end": _load(),
            },
            "benches": self.benches,
        }

    def write(self, path: str) -> None:
        """Write the document to ``path``."""
        Path(path).write_text(json.dumps(self.document(), indent=1) + "\n")


def read(path: str) -> dict[str, Any]:
    """A document written by :meth:`Report.write`; ``ValueError`` if it is not one."""
    document = json.loads(Path(path).read_text())
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a zmtrio bench --json file ({SCHEMA})")
    return document
