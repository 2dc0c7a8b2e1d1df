"""Benchmark results: every benchmark writes `bench/results/<name>.json`; `python -m bench.report` prints them.

A row is one figure, next to the raw baseline measured in the same run where there is one, and the target
the project holds it to. The files are kept in the repository, so a change in a figure shows in review.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux `/proc/<pid>/stat`): what a change cost it, which
    a busy machine blurs far less than the wall-clock figures."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Row:
    metric: str
    value: float
    unit: str
    # The raw baseline of the same run, in the same unit (None where the figure is absolute).
    baseline: float | None = None
    # What the project holds the figure to, e.g. ">= 0.40 x raw" or "<= 250 ms".
    target: str | None = None
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.value / self.baseline


def ratio_row(metric: str, value: float, unit: str, *, baseline: float, at_least: float, of: str = "raw") -> Row:
    """`of` names the baseline in the target's text: the raw side, or another figure of the run."""
    return Row(metric, value, unit, baseline, f">= {at_least:.2f} x {of}", value / baseline >= at_least)


def limit_row(metric: str, value: float, unit: str, *, at_most: float) -> Row:
    return Row(metric, value, unit, None, f"<= {at_most:g} {unit}", value <= at_most)


def save(name: str, rows: list[Row], *, parameters: dict[str, object]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "command": " ".join(["python", "-m", f"bench.{name}", *sys.argv[1:]]),
        "parameters": parameters,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
        "rows": [{**asdict(row), "ratio": row.ratio} for row in rows],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def table(documents: list[dict[str, object]]) -> str:
    lines = [f"{'benchmark':<20} {'figure':<58} {'value':>12} {'raw':>10} {'ratio':>7}  {'target':<16} ok"]
    for document in documents:
        rows = document["rows"]
        assert isinstance(rows, list)
        for row in rows:
            baseline = f"{row['baseline']:10.0f}" if row["baseline"] else " " * 10
            ratio = f"{row['ratio']:6.2f}x" if row["ratio"] else " " * 7
            ok = {True: "yes", False: "NO", None: ""}[row["met"]]
            value = f"{row['value']:.0f} {row['unit']}" if row["value"] >= 100 else f"{row['value']:.3g} {row['unit']}"
            lines.append(
                f"{document['benchmark']:<20} {row['metric']:<58} {value:>12} {baseline} {ratio}  "
                f"{row['target'] or '':<16} {ok}"
            )
    return "\n".join(lines)


def print_rows(name: str, rows: list[Row]) -> None:
    document: dict[str, object] = {"benchmark": name, "rows": [{**asdict(r), "ratio": r.ratio} for r in rows]}
    print(table([document]))
