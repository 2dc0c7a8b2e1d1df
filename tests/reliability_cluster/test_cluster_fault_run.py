"""The seeded cluster fault run: the fault run's workload and checker (tests/reliability) on the four services,
pointed at a three-node RabbitMQ cluster and a Postgres primary with a synchronous standby of the run's own,
while the schedule kills -9 one RabbitMQ node at a time (a drawn one, and the one leading most of the
services' quorum queues), cuts a node off from its peers (a partition of the Erlang distribution, made while the
node is frozen so that no peer sees a partial partition: under pause_minority the node, alone, pauses itself and
closes its clients' connections; `RabbitCluster.cut_off`),
and fails Postgres over (primary stopped as if its machine died, standby promoted, old
primary rebuilt as the new standby), besides the service faults of the single-server run.

Nothing is restarted by hand: the services must find a live node and the new primary by themselves.
Each node fault reports how long a publisher that was on the lost node took to publish again, and each
fail-over how long until a commit succeeded again (reliability/failover.py).

`.ci/run` runs one seed (`RENTAL_CLUSTER_FAULT_SEEDS`, default 1); `make reliability` runs 20.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from reliability.cluster import RabbitNode, Servers
from reliability.failover import PublishProbe, WriteProbe
from reliability.schedule import CLUSTER_FAULTS, SERVICE_FAULTS, Fault, FaultKind, draw_schedule

from shared.messaging.broker import split_urls
from tests.integration.scale.replicas import ReplicaSet, running_replicas
from tests.reliability.conftest import SeedSummary
from tests.reliability.test_seeded_fault_run import (
    FAULT_RUN_RETRIES,
    FAULTS_PER_SEED,
    WORKLOAD_S,
    Injector,
    fault_run,
    report_seed,
    service_fault,
)
from tests.reliability_cluster.conftest import ClusterPlatform

SEEDS = int(os.environ.get("RENTAL_CLUSTER_FAULT_SEEDS", "1"))

pytestmark = pytest.mark.timeout(max(600, 240 * SEEDS))


@dataclass
class Timings:
    """Recovery times over the session, by what was measured, for the closing lines."""

    seconds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, what: str, value: float) -> None:
        self.seconds.setdefault(what, []).append(value)

    def render(self) -> str:
        return "\n".join(
            f"{what}: n={len(v)}, median {statistics.median(v):.2f}s, max {max(v):.2f}s"
            for what, v in sorted(self.seconds.items())
        )


TIMINGS = Timings()


@pytest.fixture(scope="module")
async def processes(platform: ClusterPlatform, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReplicaSet]:
    log_dir: Path = tmp_path_factory.mktemp("cluster-fault-run-logs")
    # The consumers' retries outlast the faults, as in the single-server run (FAULT_RUN_RETRIES).
    async with running_replicas(platform, log_dir, count=1, extra_env=FAULT_RUN_RETRIES) as replica_set:
        yield replica_set


def quorum_queues(servers: Servers, prefix: str) -> dict[str, str]:
    """The run's quorum queues and the node leading each."""
    return {row[0]: row[2] for row in servers.rabbit.queue_rows(prefix, "type", "leader") if row[1] == "quorum"}


def leader_of_most(servers: Servers, prefix: str) -> RabbitNode:
    leaders = Counter(quorum_queues(servers, prefix).values())
    name, _ = leaders.most_common(1)[0]
    return servers.rabbit.node(name)


async def leaders_elsewhere(servers: Servers, prefix: str, lost: RabbitNode) -> float:
    """Seconds until no quorum queue of the run names `lost` as its leader (a new one elected on the others)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + 60
    while True:
        led = quorum_queues(servers, prefix)
        if led and lost.name not in led.values():
            return loop.time() - started
        if loop.time() > deadline:
            raise AssertionError(f"queues still led by {lost.name} (or unreadable) after 60s: {led}")
        await asyncio.sleep(0.2)


# What a fail-over looks like in the services' metrics: each node fault and fail-over prints these, summed over
# the replicas, as they moved from before the fault to after the recovery.
WATCHED = {
    "503 answers": ("http_requests_total", {"status": "503"}),
    "publishes failed": ("outbox_publish_failed_total", {}),
    "published": ("outbox_published_total", {}),
    "duplicates dropped": ("consumer_messages_total", {"outcome": "duplicate"}),
    "retried": ("consumer_messages_total", {"outcome": "retried"}),
}


async def metrics(replicas: ReplicaSet) -> dict[str, float]:
    totals = dict.fromkeys(WATCHED, 0.0)
    for replica in replicas.replicas:
        for what, (name, labels) in WATCHED.items():
            # A replica that does not answer now adds nothing.
            with contextlib.suppress(OSError, ValueError, httpx.HTTPError):
                totals[what] += await replicas.metric(replica, name, **labels)
    return totals


def moved(before: dict[str, float], after: dict[str, float]) -> str:
    return ", ".join(f"{what} +{after[what] - before[what]:.0f}" for what in WATCHED)


async def publishing_again(probe: PublishProbe, servers: Servers, *, started: float) -> float:
    """Seconds from `started` until the probe published again; on a timeout, what each node saw running."""
    try:
        return await probe.publishing_again(after=started)
    except TimeoutError as exc:
        nodes = servers.rabbit.nodes
        views = {node.short: await asyncio.to_thread(servers.rabbit.running_nodes, node) for node in nodes}
        raise AssertionError(f"no publish confirmed since the fault; running nodes as each sees them: {views}") from exc


async def node_fault(fault: Fault, replicas: ReplicaSet, servers: Servers) -> str:
    """kill -9 of one node (started again after the hold), or one node cut off from its peers (for the hold)."""
    loop = asyncio.get_running_loop()
    prefix = replicas.broker_prefix
    if fault.kind is FaultKind.KILL_QUEUE_LEADER:
        node = await asyncio.to_thread(leader_of_most, servers, prefix)
    else:
        assert fault.node is not None
        node = servers.rabbit.nodes[fault.node]
    index = servers.rabbit.nodes.index(node)
    before = await metrics(replicas)
    # The services' own URLs (heartbeat included): the probe lives what their connections live.
    urls = split_urls(replicas.platform.amqp_url)
    async with PublishProbe(urls, first_node=index, queue=f"{prefix}failover-probe") as probe:
        # Timed from the moment the node is gone for its clients: killed, or frozen for the cut.
        started = loop.time()
        if fault.kind is not FaultKind.CUT_OFF_RABBITMQ_NODE:
            await asyncio.to_thread(node.kill)
        try:
            if fault.kind is FaultKind.CUT_OFF_RABBITMQ_NODE:
                started = await asyncio.to_thread(servers.rabbit.cut_off, node)
            publishing = await publishing_again(probe, servers, started=started)
            elected = ""
            if fault.kind is FaultKind.KILL_QUEUE_LEADER:
                election_s = await leaders_elsewhere(servers, prefix, node)
                TIMINGS.add("queue leaders elected elsewhere", election_s)
                elected = f", its queues led elsewhere after {election_s:.1f}s"
            # The node stays away for the drawn hold from the fault on: that gap is the fault itself.
            await asyncio.sleep(max(0.0, started + fault.hold_s - loop.time()))
        finally:
            if fault.kind is FaultKind.CUT_OFF_RABBITMQ_NODE:
                await asyncio.to_thread(servers.rabbit.reconnect, node)
            else:
                node.start()
        away = loop.time() - started
        if fault.kind is not FaultKind.CUT_OFF_RABBITMQ_NODE:
            await node.wait_booted()
        await servers.rabbit.wait_all_running()
        back = loop.time() - started
    after = await metrics(replicas)
    what = "cut off from its peers" if fault.kind is FaultKind.CUT_OFF_RABBITMQ_NODE else "killed -9"
    TIMINGS.add(f"publishing again after a node {what}", publishing)
    return (
        f"{fault.describe()}: {node.short} {what}; a publisher on it publishing again (on another node) after"
        f" {publishing:.1f}s{elected}; away {away:.1f}s, all three running and clustered again after {back:.1f}s;"
        f" metrics: {moved(before, after)}"
    )


async def fail_over(fault: Fault, replicas: ReplicaSet, servers: Servers) -> str:
    loop = asyncio.get_running_loop()
    old = servers.postgres.primary
    dsn = servers.postgres.dsn(database=replicas.database)
    before = await metrics(replicas)
    async with WriteProbe(dsn) as probe:
        await servers.postgres.lose_primary()
        started = loop.time()  # from the moment the primary is gone
        await servers.postgres.promote_standby()
        promoted = loop.time() - started
        writing = await probe.writing_again(after=started)
    new = servers.postgres.primary
    # The old primary's machine stays lost for the drawn hold; then it comes back as the new standby.
    await asyncio.sleep(fault.hold_s)
    rebuilt = await servers.postgres.rebuild_standby()
    after = await metrics(replicas)
    TIMINGS.add("Postgres writes again after the primary's loss", writing)
    TIMINGS.add("Postgres standby rebuilt and synchronous", rebuilt)
    return (
        f"{fault.describe()}: {old.name} stopped (immediate), {new.name} promoted {promoted:.2f}s later;"
        f" commits again {writing:.2f}s after the stop;"
        f" {old.name} rebuilt as the synchronous standby in {rebuilt:.1f}s;"
        f" metrics: {moved(before, after)}"
    )


def cluster_faults(servers: Servers) -> Injector:
    async def inject(fault: Fault, replicas: ReplicaSet) -> str:
        if fault.kind in (FaultKind.KILL_RABBITMQ_NODE, FaultKind.KILL_QUEUE_LEADER, FaultKind.CUT_OFF_RABBITMQ_NODE):
            return await node_fault(fault, replicas, servers)
        if fault.kind is FaultKind.FAIL_OVER_POSTGRES:
            return await fail_over(fault, replicas, servers)
        return await service_fault(fault, replicas, servers)

    return inject


async def test_every_quorum_queue_of_the_services_has_a_member_on_every_node(
    processes: ReplicaSet, servers: Servers
) -> None:
    queues = await asyncio.to_thread(quorum_queues, servers, processes.broker_prefix)
    assert len(queues) >= 8, queues  # work, retry and dead-letter queues of three consuming services
    every_node = {node.name for node in servers.rabbit.nodes}
    for queue in queues:
        members = await asyncio.to_thread(servers.rabbit.quorum_members, queue)
        assert set(members) == every_node, f"{queue}: members {members}"
        assert sorted(members.values()).count("leader") == 1, f"{queue}: {members}"


@pytest.mark.parametrize("seed", range(1, SEEDS + 1))
async def test_a_seeded_cluster_fault_run_loses_duplicates_and_wrongly_accepts_nothing(
    processes: ReplicaSet, servers: Servers, seed: int, seed_summaries: list[SeedSummary]
) -> None:
    schedule = draw_schedule(seed=seed, duration_s=WORKLOAD_S, faults=FAULTS_PER_SEED, cluster=True)
    report, injected, workload, chaos, phases = await fault_run(
        seed, processes, servers, schedule=schedule, inject=cluster_faults(servers)
    )
    print(f"\nrecovery so far:\n{TIMINGS.render()}")
    report_seed(
        seed, report, injected, workload, chaos, phases, seed_summaries, kinds=set(SERVICE_FAULTS + CLUSTER_FAULTS)
    )


async def test_after_every_fault_every_queue_still_has_a_member_on_every_node(
    processes: ReplicaSet, servers: Servers
) -> None:
    await test_every_quorum_queue_of_the_services_has_a_member_on_every_node(processes, servers)
