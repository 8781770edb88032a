"""``zmtrio bench --plot FILE.png``: msg/s and MB/s against message size.

The sweep runs the PUSH->PULL throughput bench at each size of :data:`SIZES` (16 B to
1 MiB, powers of 4) for zmtrio (per message and batched) and each peer of ``--vs``, then
draws the medians (bars: the range of the runs) on log-log axes. ``--from-json`` draws
the same picture from a ``--json`` file of an earlier sweep, so a published plot can be
redrawn from its figures. matplotlib is an optional extra (``pip install zmtrio[plot]``).
"""

from __future__ import annotations

import importlib
from typing import Any

from ._app import CommandError

__all__ = ["SIZES", "draw", "pyplot", "sweep_count"]

#: Message sizes of the sweep: 16 B to 1 MiB, powers of 4.
SIZES = tuple(16 * 4**power for power in range(9))
#: The bytes one row of the sweep moves at most (fewer messages as they grow).
_BYTES_PER_ROW = 256 << 20
#: The fewest messages a row of the sweep sends.
_MIN_COUNT = 200


def sweep_count(count: int, size: int) -> int:
    """Messages per row at ``size``: ``count``, capped so a row moves at most 256 MiB."""
    return max(min(count, _BYTES_PER_ROW // size), min(count, _MIN_COUNT))


def pyplot() -> Any:
    """matplotlib.pyplot drawing to files; a one-line exit when matplotlib is missing."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise CommandError(
            "--plot needs matplotlib: pip install 'zmtrio[plot]' (or scripts/setup plot)"
        ) from None
    matplotlib.use("Agg")  # files only, no display
    return importlib.import_module("matplotlib.pyplot")


def _size_label(size: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def _series(document: dict[str, Any]) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Per row label, (size, row) of every throughput bench in the document, by size."""
    series: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for entry in document["benches"]:
        if entry["workload"] not in ("throughput", "raw"):
            continue
        for row in entry["rows"]:
            if "median" in row:
                series.setdefault(row["label"], []).append((entry["size"], row))
    for points in series.values():
        points.sort(key=lambda point: point[0])
    return series


def draw(document: dict[str, Any], path: str) -> int:
    """Draw the document's throughput figures against size into ``path``; return the
    number of lines drawn (``ValueError`` when there is nothing to draw)."""
    series = _series(document)
    if not series:
        raise ValueError("no PUSH->PULL throughput figures to plot")
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for label, points in series.items():
        sizes = [size for size, _ in points]
        for axis, key in zip(axes, ("msg_per_s", "mb_per_s"), strict=True):
            medians = [row["median"][key] for _, row in points]
            below = [m - row["min"][key] for m, (_, row) in zip(medians, points, strict=True)]
            above = [row["max"][key] - m for m, (_, row) in zip(medians, points, strict=True)]
            style = "--" if label.startswith("raw") else "-"
            axis.errorbar(
                sizes, medians, yerr=[below, above], label=label, marker="o", ls=style, capsize=2
            )
    machine = document["machine"]
    load = "/".join(f"{value:g}" for value in machine["load_start"][:1] + machine["load_end"][:1])
    for axis, title in zip(axes, ("messages per second", "MB/s (10^6 bytes)"), strict=True):
        axis.set_xscale("log", base=2)
        ticks = sorted({size for points in series.values() for size, _ in points})
        axis.set_xticks(ticks, [_size_label(size) for size in ticks])
        axis.minorticks_off()
        axis.set_yscale("log")
        axis.set_xlabel("message size (bytes)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize="small")
    figure.suptitle(
        f"zmtrio bench, PUSH->PULL over {document['benches'][0]['transport']}, "
        f"{document['timestamp'][:16].replace('T', ' ')} UTC, {machine['cpu']}, "
        f"{machine['cores']} cores, "
        f"load {load} (start/end)",
        fontsize="small",
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return len(series)
