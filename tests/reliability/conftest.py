"""The fault run's session: its own Postgres and RabbitMQ, and its summary over all seeds.

The run starts a Postgres and a RabbitMQ node of its own (reliability/cluster.py: own ports, data directories,
node name and Erlang cookie, removed at the end) and restarts only those: the machine's own servers are never
touched, so the restarts are on in any session. `RENTAL_FAULTS_INFRA=0` leaves them out.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from reliability.checker import Report
from reliability.cluster import Servers
from reliability.schedule import FaultKind

from tests.harness import TestPlatform, create_platform

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
    ("node", "faults", "kill_rabbitmq_node"),
    ("leader", "faults", "kill_queue_leader"),
    ("cutoff", "faults", "cut_off_rabbitmq_node"),
    ("failover", "faults", "fail_over_postgres"),
    ("dup", "deliveries", "duplicated copies"),
    ("late", "deliveries", "delayed copies"),
    ("k.reqs", "counts", "redemption requests"),
    *((f"k.{label}", "counts", f"redemptions {outcome}") for outcome, label in OUTCOMES.items()),
    *((f"r.{label}", "counts", f"rental changes {outcome}") for outcome, label in OUTCOMES.items()),
    *((f"s.{label}", "counts", f"software changes {outcome}") for outcome, label in OUTCOMES.items()),
    ("reloads", "counts", "reload orders"),
    ("refused", "counts", "reload crossings refused"),
    ("rl.lost", "counts", "reloads lost"),
    ("rl.dup", "counts", "reloads duplicated"),
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
    " restarted); node/leader/cutoff/failover: a RabbitMQ node killed -9, the queues' leader killed -9, a node"
    " cut off from its peers, Postgres failed over to its standby; dup/late: deliveries duplicated and delayed;"
    " k.reqs: redemption requests (a code is"
    " sometimes redeemed by two requests at once); k.*: keys redeemed, r.*: rental changes (attempted, ok,"
    " recovered, lost, duplicated, unexpected), s.*: software rental changes (the same); reloads: Auto-iSC"
    " reload orders (each matched by one reload-book entry); refused: crossings refused (the partner's"
    " suspension, the cap); rl.lost/rl.dup: reloads lost (a crossing without its order or reason, an order"
    " without its entry, a crossing left due) and duplicated; ledger entries;"
    " bundles accepted by the gateways;"
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


@pytest.fixture(scope="session")
async def servers() -> AsyncIterator[Servers]:
    """A Postgres and a RabbitMQ node of the run's own, beside the machine's (never touched)."""
    async with Servers.started(rabbit_nodes=1, standby=False) as own:
        yield own


@pytest.fixture(scope="session")
def infrastructure(servers: Servers) -> tuple[str, str]:
    return servers.admin_url, servers.amqp_url


@pytest.fixture(scope="session")
async def platform(infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> TestPlatform:
    # Nothing to drop at the end: the servers themselves are removed.
    admin_url, amqp_url = infrastructure
    return await create_platform(admin_url, amqp_url, tmp_path_factory.mktemp("dev-issuer"))


@pytest.fixture(scope="session")
def infrastructure_faults() -> bool:
    return os.environ.get("RENTAL_FAULTS_INFRA", "1") != "0"


@pytest.fixture(scope="session")
def seed_summaries(pytestconfig: pytest.Config) -> list[SeedSummary]:
    return pytestconfig.stash.setdefault(SUMMARIES, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    render_summaries(terminalreporter, config.stash.get(SUMMARIES, []), title="seeded fault run: per seed")


def render_summaries(terminalreporter: pytest.TerminalReporter, collected: list[SeedSummary], *, title: str) -> None:
    """One line per seed that ran, and the totals: the long run's report at a glance."""
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
    terminalreporter.section(title)
    for row in (header, *rows):
        terminalreporter.write_line("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    terminalreporter.write_line(LEGEND)
