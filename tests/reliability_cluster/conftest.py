"""The cluster fault run's session: a three-node RabbitMQ cluster and a Postgres primary with a synchronous
standby of its own (reliability/cluster.py), and the services pointed at all of them.

The services get every RabbitMQ node in `AMQP_URL` (comma-separated, with `heartbeat=3`: a node that stops
answering is given up within ~12 s, three heartbeat intervals and a second) and both Postgres nodes in
`DATABASE_URL` (`target_session_attrs=read-write`): the settings documented in docs/operations.md. The servers
are removed at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability.cluster import Servers

from scripts.bootstrap_db import bootstrap
from shared.dev_issuer import load_or_create_key
from tests.harness import TestPlatform
from tests.reliability.conftest import SeedSummary, render_summaries

HEARTBEAT_S = 3
CLUSTER_SUMMARIES = pytest.StashKey[list[SeedSummary]]()


@dataclass
class ClusterPlatform(TestPlatform):
    """A test platform whose database URLs name both Postgres nodes and find the primary among them."""

    __test__ = False
    hosts: str = ""

    def database_url(self, role: str, *, database: str | None = None) -> str:
        return f"postgresql://{role}:{role}@{self.hosts}/{database or self.database}?target_session_attrs=read-write"

    @property
    def admin_database_url(self) -> str:
        return f"postgresql://postgres@{self.hosts}/{self.database}?target_session_attrs=read-write"


@pytest.fixture(scope="session")
async def servers() -> AsyncIterator[Servers]:
    async with Servers.started(rabbit_nodes=3, standby=True) as own:
        yield own


@pytest.fixture(scope="session")
async def platform(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> ClusterPlatform:
    run_id = uuid.uuid4().hex[:10]
    dev_dir: Path = tmp_path_factory.mktemp("dev-issuer")
    cluster_platform = ClusterPlatform(
        admin_url=servers.admin_url,
        amqp_url=servers.rabbit.url(heartbeat_s=HEARTBEAT_S),
        database=f"rental_cluster_{run_id}",
        broker_prefix=f"cluster-{run_id}.",
        dev_dir=dev_dir,
        hosts=servers.postgres.hosts,
    )
    await bootstrap(admin_url=cluster_platform.admin_url, database=cluster_platform.database)
    load_or_create_key(dev_dir)
    return cluster_platform  # nothing to drop at the end: the servers themselves are removed


@pytest.fixture(scope="session")
def seed_summaries(pytestconfig: pytest.Config) -> list[SeedSummary]:
    return pytestconfig.stash.setdefault(CLUSTER_SUMMARIES, [])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    render_summaries(terminalreporter, config.stash.get(CLUSTER_SUMMARIES, []), title="cluster fault run: per seed")
