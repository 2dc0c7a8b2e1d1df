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
# The closing table's columns: a short header, and where the figure comes from (the checker's counts, the
# faults injected, the delivery chaos). The legend is printed under the table.
OUTCOMES = {
    "attempted": "tried",
    "ok": "ok",
    "recovered": "recov",
    "lost": "lost",
    "duplicated": "dup",
    "unexpected": "unexp",
}
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("kill", "faults", "kill"),
    ("close", "faults", "close_broker_connections"),
    ("rmq", "faults", "restart_rabbitmq"),
    ("pg", "faults", "restart_postgres"),
    ("dup", "deliveries", "duplicated copies"),
    ("late", "deliveries", "delayed copies"),
    ("k.reqs", "counts", "redemption requests"),
    *((f"k.{label}", "counts", f"redemptions {outcome}") for outcome, label in OUTCOMES.items()),
    *((f"r.{label}", "counts", f"rental changes {outcome}") for outcome, label in OUTCOMES.items()),
    ("503s", "answers", "503"),
    ("500s", "answers", "500"),
    ("ledger", "counts", "ledger entries"),
    ("bundles", "counts", "bundles accepted"),
    ("lic.dup", "counts", "licences duplicated"),
    ("dead", "counts", "dead letters"),
    ("anomalies", "counts", "anomalies"),
)
LEGEND = (
    "kill/close/rmq/pg: faults injected (SIGKILL + restart, broker connections closed, RabbitMQ and Postgres"
    " restarted); dup/late: deliveries duplicated and delayed; k.reqs: redemption requests (a code is"
    " sometimes redeemed by two requests at once); k.*: keys redeemed, r.*: rental changes (attempted, ok,"
    " recovered, lost, duplicated, unexpected); ledger entries; bundles accepted by the gateways;"
    " lic.dup: a device twice in a bundle; dead: dead letters left; 503s/500s: answers the client retried"
)


@dataclass(frozen=True)
class SeedSummary:
    seed: int
    valid: bool
    operations: int
    faults: Counter[str]
    deliveries: Counter[str]
    counts: Counter[str]
    answers: Counter[str]  # 5xx answers the workload's client saw, by status

    @classmethod
    def of(
        cls,
        seed: int,
        report: Report,
        injected: list[str],
        operations: int,
        deliveries: Counter[str],
        server_errors: Counter[int],
    ) -> SeedSummary:
        faults = Counter(kind.value for line in injected for kind in FaultKind if f" {kind.value} " in line)
        counts = Counter(report.counts)
        counts["anomalies"] = len(report.anomalies)
        answers = Counter({str(status): n for status, n in server_errors.items()})
        return cls(seed, report.valid, operations, faults, Counter(deliveries), counts, answers)

    def figures(self) -> list[int]:
        return [getattr(self, source)[key] for _, source, key in COLUMNS]


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
    collected: list[SeedSummary] = config.stash.get(SUMMARIES, [])
    summaries = sorted(collected, key=lambda s: s.seed)
    if not summaries:
        return
    header = ["seed", "verdict", "ops", *(name for name, _, _ in COLUMNS)]
    rows = [
        [str(s.seed), "valid" if s.valid else "INVALID", str(s.operations), *map(str, s.figures())] for s in summaries
    ]
    totals = [sum(figures) for figures in zip(*(s.figures() for s in summaries), strict=True)]
    valid = sum(s.valid for s in summaries)
    rows.append(["all", f"{valid}/{len(summaries)}", str(sum(s.operations for s in summaries)), *map(str, totals)])
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    terminalreporter.section("seeded fault run: per seed")
    for row in (header, *rows):
        terminalreporter.write_line("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    terminalreporter.write_line(LEGEND)
