"""The fault run's session: whether it may restart the machine's servers, and its summary over all seeds.

A restart of Postgres or RabbitMQ breaks every open connection on the machine, so it is only done when the
fault run is the whole pytest session (`make test` runs `pytest tests/reliability` as a step of its own,
after the rest of the suite): in a session with other tests, their live pools would see the restarts as
failures of their own. `RENTAL_FAULTS_INFRA=1` or `=0` overrides the choice.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability.checker import Report
from reliability.schedule import FaultKind

HERE = Path(__file__).parent
ALONE = pytest.StashKey[bool]()
SUMMARIES = pytest.StashKey[list["SeedSummary"]]()
# The checker's counts shown per seed in the closing table, in this order.
EFFECTS = tuple(
    f"{effect} {outcome}"
    for effect in ("redemptions", "rental changes")
    for outcome in ("attempted", "ok", "recovered", "lost", "duplicated", "unexpected")
)
COLUMNS = (*EFFECTS, "ledger entries", "bundles accepted", "licences duplicated", "dead letters", "anomalies")


@dataclass(frozen=True)
class SeedSummary:
    seed: int
    valid: bool
    operations: int
    faults: Counter[str]
    deliveries: Counter[str]
    counts: Counter[str]

    @classmethod
    def of(
        cls, seed: int, report: Report, injected: list[str], operations: int, deliveries: Counter[str]
    ) -> SeedSummary:
        faults = Counter(kind.value for line in injected for kind in FaultKind if f" {kind.value} " in line)
        counts = Counter(report.counts)
        counts["anomalies"] = len(report.anomalies)
        return cls(seed, report.valid, operations, faults, Counter(deliveries), counts)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[ALONE] = all(item.path.is_relative_to(HERE) for item in items)


@pytest.fixture(scope="session")
def infrastructure_faults(pytestconfig: pytest.Config) -> bool:
    override = os.environ.get("RENTAL_FAULTS_INFRA")
    if override in ("0", "1"):
        return override == "1"
    return pytestconfig.stash.get(ALONE, False)


@pytest.fixture(scope="session")
def seed_summaries(pytestconfig: pytest.Config) -> list[SeedSummary]:
    return pytestconfig.stash.setdefault(SUMMARIES, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """One line per seed that ran, and the totals: the long run's report at a glance."""
    summaries = sorted(config.stash.get(SUMMARIES, []), key=lambda s: s.seed)
    if not summaries:
        return
    kinds = [kind.value for kind in FaultKind]
    header = ["seed", "verdict", "operations", *kinds, "duplicated copies", "delayed copies", *COLUMNS]
    rows = [
        [
            str(s.seed),
            "valid" if s.valid else "INVALID",
            str(s.operations),
            *(str(s.faults[k]) for k in kinds),
            str(s.deliveries["duplicated copies"]),
            str(s.deliveries["delayed copies"]),
            *(str(s.counts[c]) for c in COLUMNS),
        ]
        for s in summaries
    ]
    valid = sum(s.valid for s in summaries)
    rows.append(
        [
            "all",
            f"{valid}/{len(summaries)} valid",
            str(sum(s.operations for s in summaries)),
            *(str(sum(s.faults[k] for s in summaries)) for k in kinds),
            str(sum(s.deliveries["duplicated copies"] for s in summaries)),
            str(sum(s.deliveries["delayed copies"] for s in summaries)),
            *(str(sum(s.counts[c] for s in summaries)) for c in COLUMNS),
        ]
    )
    terminalreporter.section("seeded fault run: the checker's counts per seed")
    terminalreporter.write_line(" | ".join(header))
    for row in rows:
        terminalreporter.write_line(" | ".join(row))
