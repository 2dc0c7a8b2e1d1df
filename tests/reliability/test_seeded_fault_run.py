"""The seeded fault run: concurrent partners, customers, an operator and gateways (tests/reliability/workload.py)
on the four services as real processes, while a schedule from the seed SIGKILLs and restarts them, closes
their broker connections and restarts the run's own RabbitMQ and Postgres (started for the run, never the
machine's: tests/reliability/conftest.py), and a chaos consumer duplicates and delays deliveries; then the
checker over what was recorded. One tenant lives on a test clock its partner advances throughout: the checker
holds for it on the clock's time.

`make test` runs seeds 1-3 as a pytest session of its own. `make reliability` (RENTAL_FAULT_SEEDS=50) runs
seeds 1..50 and prints the checker's report per seed. The cluster fault run (tests/reliability_cluster) runs
the same workload and checker with faults of a RabbitMQ cluster and a failing-over Postgres.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest
from reliability.chaos import DeliveryChaos
from reliability.checker import (
    Account,
    AutoReloadState,
    Gateway,
    LedgerEntry,
    Recorded,
    ReloadCrossing,
    ReloadOrder,
    Rental,
    Report,
    SoftwareRental,
    check,
)
from reliability.cluster import Servers
from reliability.enforcement import enforcement_history
from reliability.infra import restart_postgres, restart_rabbitmq, run_command
from reliability.schedule import INFRA_FAULTS, SERVICE_FAULTS, Fault, FaultKind, draw_schedule

from contracts.handlers import SUBSCRIPTIONS as CONTRACTS_SUBSCRIPTIONS
from gateway_simulator.fleet import Fleet
from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import MemoryStore
from license_distributor.handlers import SUBSCRIPTIONS as DISTRIBUTOR_SUBSCRIPTIONS
from provisioning.handlers import SUBSCRIPTIONS as PROVISIONING_SUBSCRIPTIONS
from scripts.smtp_sink import SmtpSink, serving_smtp_sink
from shared.messaging.topology import UNROUTED_EXCHANGE
from tests.harness import TestPlatform, eventually, free_port
from tests.integration.scale.replicas import Replica, ReplicaSet, running_replicas, spawn
from tests.reliability.conftest import SeedSummary
from tests.reliability.workload import (
    ACCOUNTS,
    KIND_BY_NAME,
    RELOAD_PRODUCT,
    Client,
    FaultRunTenant,
    Workload,
    notice_address,
    open_tenant,
    set_first_tariff,
)
from wallet.handlers import SUBSCRIPTIONS as WALLET_SUBSCRIPTIONS

SEEDS = int(os.environ.get("RENTAL_FAULT_SEEDS", "3"))
WORKLOAD_S = float(os.environ.get("RENTAL_FAULT_WORKLOAD_S", "12"))
FAULTS_PER_SEED = int(os.environ.get("RENTAL_FAULTS_PER_SEED", "4"))

pytestmark = pytest.mark.timeout(max(300, 120 * SEEDS))


# The consumers' retries outlast the faults the run injects, as production's do (0.2, 1, 5, 30 s: half a minute):
# the scale harness's quick ones (0.1 and 0.3 s, a second in all) are shorter than a Postgres restart under load,
# which then dead-letters whatever message met it (seen: a delayed copy of a `RunwayChanged` whose five attempts
# all found the database shutting down or refusing, within 1.3 s).
FAULT_RUN_RETRIES = {
    f"{kind.env_prefix}CONSUMER_RETRY_DELAYS_S": "[0.1, 0.5, 2.0, 5.0]" for kind in KIND_BY_NAME.values()
}


@pytest.fixture(scope="module")
async def smtp() -> AsyncIterator[tuple[SmtpSink, int]]:
    """The run's SMTP sink, in this process: it outlives every wallet the schedule kills."""
    port = free_port()
    async with serving_smtp_sink("127.0.0.1", port) as sink:
        yield sink, port


@pytest.fixture(scope="module")
async def processes(
    platform: TestPlatform, tmp_path_factory: pytest.TempPathFactory, smtp: tuple[SmtpSink, int]
) -> AsyncIterator[ReplicaSet]:
    log_dir: Path = tmp_path_factory.mktemp("fault-run-logs")
    env = {"WALLET_SMTP_PORT": str(smtp[1]), **FAULT_RUN_RETRIES}
    async with running_replicas(platform, log_dir, count=1, extra_env=env) as replica_set:
        yield replica_set


def close_broker_connections(replica: Replica, servers: Servers) -> int:
    """Close this process's own broker connections: matched by its client ports, named by its service."""
    assert replica.process is not None
    ports: set[str] = set()
    for node in servers.rabbit.live_nodes():
        sockets = run_command("ss", "-tnpH", "state", "established", "dport", f"= :{node.amqp_port}", timeout=30)
        ports |= {
            line.split()[2].rsplit(":", 1)[1]
            for line in sockets.stdout.splitlines()
            if f"pid={replica.process.pid}," in line
        }
    listing = servers.rabbit.ctl(
        "list_connections", "-q", "--no-table-headers", "pid", "peer_port", "client_properties"
    ).stdout
    closed = 0
    for line in listing.splitlines():
        pid, peer_port, properties = line.split("\t", 2)
        if peer_port in ports and f'{{"connection_name","{replica.kind.name}"}}' in properties:
            servers.rabbit.ctl("close_connection", pid, "fault run")
            closed += 1
    return closed


Injector = Callable[[Fault, ReplicaSet], Awaitable[str]]


def single_server_faults(servers: Servers) -> Injector:
    """The faults of the single-server run: a service's process, its broker connections, a server restart."""

    async def inject(fault: Fault, replicas: ReplicaSet) -> str:
        loop = asyncio.get_running_loop()
        started = loop.time()
        if fault.kind is FaultKind.RESTART_POSTGRES:
            await asyncio.to_thread(restart_postgres, servers.postgres.primary)
            await answering_postgres(replicas.platform.admin_url)
            return f"{fault.describe()}: restarted, answering after {loop.time() - started:.1f}s"
        if fault.kind is FaultKind.RESTART_RABBITMQ:
            await restart_rabbitmq(servers.rabbit.nodes[0], fault.hold_s)
            await answering_rabbitmq(servers.amqp_url)
            return f"{fault.describe()}: restarted, answering after {loop.time() - started:.1f}s"
        return await service_fault(fault, replicas, servers)

    return inject


async def service_fault(fault: Fault, replicas: ReplicaSet, servers: Servers) -> str:
    """SIGKILL and restart of a service's process, or a close of its broker connections."""
    assert fault.service is not None
    replica = replicas.of(KIND_BY_NAME[fault.service])[0]
    if fault.kind is FaultKind.KILL:
        assert replica.process is not None
        replica.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(replica.process.wait, 30)
        # The service stays down for hold_s: that gap is the fault itself, drawn from the seed.
        await asyncio.sleep(fault.hold_s)
        spawn(replica, replicas)
        return f"{fault.describe()}: killed and restarted"
    closed = await asyncio.to_thread(close_broker_connections, replica, servers)
    return f"{fault.describe()}: closed {closed} connection(s)"


async def answering_postgres(admin_url: str) -> None:
    async def attempt() -> bool:
        try:
            conn = await asyncpg.connect(admin_url, timeout=5)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        try:
            return bool(await conn.fetchval("SELECT 1") == 1)
        finally:
            await conn.close()

    await eventually(attempt, until=bool, within=120, every=0.25)


async def answering_rabbitmq(amqp_url: str) -> None:
    async def attempt() -> bool:
        try:
            connection = await aio_pika.connect(amqp_url, timeout=5)
        except Exception:  # noqa: BLE001 - aiormq raises several kinds while the broker boots
            return False
        await connection.close()
        return True

    await eventually(attempt, until=bool, within=120, every=0.25)


async def run_schedule(schedule: list[Fault], replicas: ReplicaSet, inject: Injector, *, started: float) -> list[str]:
    loop = asyncio.get_running_loop()
    done = []
    for fault in schedule:
        # Faults fire at their drawn offsets into the workload: the timing is the schedule, not a wait.
        await asyncio.sleep(max(0.0, started + fault.at_s - loop.time()))
        done.append(await inject(fault, replicas))
    return done


async def all_ready(replicas: ReplicaSet, http: httpx.AsyncClient) -> None:
    async def waiting() -> list[str]:
        not_ready = []
        for replica in replicas.replicas:
            if replica.process is not None and replica.process.poll() is not None:
                # Only the schedule kills, and it restarts at once: a process that exited did so by itself, and
                # will not come back, so there is nothing to wait for.
                raise AssertionError(f"{replica.label} exited with {replica.process.returncode} (see its log)")
            try:
                answer = await http.get(f"{replica.url}/readyz")
                if answer.status_code != 200:
                    not_ready.append(replica.label)
            except httpx.TransportError:
                not_ready.append(replica.label)
        return not_ready

    await eventually(waiting, until=lambda names: not names, within=120, every=0.25)


async def run_out(replicas: ReplicaSet, tenants: list[FaultRunTenant]) -> None:
    """The thrifty accounts burn their last tiny keys: wait until the wallet has depleted them."""

    async def funded() -> list[str]:
        rows = await replicas.fetch(
            "SELECT id::text FROM wallet.account WHERE id = ANY($1::uuid[]) AND NOT depleted",
            [t.account_id for t in tenants],
        )
        return [r["id"] for r in rows]

    await eventually(funded, until=lambda left: not left, within=60, every=0.25)


# Each service's schema, its inbox's consumer name, and the events it subscribes to.
SUBSCRIBERS = (
    ("wallet", "wallet.events", WALLET_SUBSCRIPTIONS),
    ("contracts", "contracts.events", CONTRACTS_SUBSCRIPTIONS),
    ("provisioning", "provisioning.events", PROVISIONING_SUBSCRIPTIONS),
    ("licensing", "license-distributor.events", DISTRIBUTOR_SUBSCRIPTIONS),
)
SCHEMAS = tuple(schema for schema, _, _ in SUBSCRIBERS)


async def unhandled_events(replicas: ReplicaSet) -> list[str]:
    """Events published (sent from an outbox) that a subscribing service's inbox has not recorded yet.

    The queues alone cannot say it: a message that expired from a retry queue is on its way back to the work
    queue by the broker's at-least-once dead-lettering, and in neither queue's count meanwhile.
    """
    left = []
    for schema, consumer, subscriptions in SUBSCRIBERS:
        keys = sorted(event.routing_key() for event in subscriptions)
        for publisher in SCHEMAS:
            rows = await replicas.fetch(
                f"""SELECT o.routing_key, count(*) AS n FROM {publisher}.outbox_message o
                    WHERE o.sent_at IS NOT NULL AND o.routing_key = ANY($1::text[])
                      AND NOT EXISTS (SELECT 1 FROM {schema}.inbox_message i
                                       WHERE i.consumer = $2 AND i.message_id = o.id::text)
                    GROUP BY o.routing_key""",
                keys,
                consumer,
            )
            left += [f"{schema} has not handled {r['n']} {r['routing_key']}" for r in rows]
    return left


async def drained(replicas: ReplicaSet, gateways: list[SimulatedGateway], servers: Servers) -> None:
    """Outboxes empty, every work and retry queue of the run empty, every event published handled by each
    service subscribing to it, and every gateway holding the distributor's latest bundle for it."""

    async def pending() -> list[str]:
        left = await unhandled_events(replicas)
        for schema in SCHEMAS:
            unsent = await replicas.count(f"SELECT count(*) FROM {schema}.outbox_message WHERE sent_at IS NULL")
            if unsent:
                left.append(f"{schema} outbox {unsent}")
        for queue, messages in (await asyncio.to_thread(queue_depths, servers, replicas.broker_prefix)).items():
            # Dead letters are the checker's to judge; the unrouted queue keeps events nobody subscribes to.
            if messages and not queue.endswith((".dead", UNROUTED_EXCHANGE)):
                left.append(f"queue {queue} {messages} (ready or unacknowledged)")
        for gateway in gateways:
            current = await replicas.count(
                "SELECT current_seq FROM licensing.gateway WHERE hwid = $1 AND removed_at IS NULL", gateway.hwid
            )
            if gateway.state.highest_seq != current:
                left.append(f"gateway {gateway.hwid} at {gateway.state.highest_seq}, current {current}")
        return left

    await eventually(pending, until=lambda left: not left, within=90, every=0.25)


def queue_depths(servers: Servers, prefix: str) -> dict[str, int]:
    """Messages (ready and unacknowledged) in each of the run's queues."""
    return {row[0]: int(row[1].strip() or 0) for row in servers.rabbit.queue_rows(prefix, "messages")}


def dead_letter_counts(servers: Servers, prefix: str) -> dict[str, int]:
    return {name: n for name, n in queue_depths(servers, prefix).items() if name.endswith(".dead")}


async def wallet_snapshot(replicas: ReplicaSet, account_ids: list[str]) -> dict[str, list[asyncpg.Record]]:
    """The wallet's money of the run's accounts in one snapshot (a repeatable-read transaction): ledger, balances,
    reload orders, crossings and Auto-iSC settings agree with each other even if the scheduler were still at work."""
    queries = {
        "observed_at": "SELECT clock_timestamp() AS at",
        "ledger": """
            SELECT e.id::text, e.account_id::text, e.kind, e.amount, e.balance_after, e.key_id::text,
                   (SELECT coalesce(sum(l.amount), 0) FROM wallet.ledger_line l WHERE l.entry_seq = e.seq) AS lines_sum,
                   (SELECT coalesce(sum(l.amount), 0) FROM wallet.ledger_line l
                     WHERE l.entry_seq = e.seq AND l.book = 'reload_orders') AS reload_book
              FROM wallet.ledger_entry e WHERE e.account_id = ANY($1::uuid[])""",
        "accounts": "SELECT id::text, balance, depleted, depletes_at FROM wallet.account WHERE id = ANY($1::uuid[])",
        "orders": """SELECT id::text, account_id::text, amount, crossing, ledger_entry_id::text FROM wallet.reload_order
                      WHERE account_id = ANY($1::uuid[])""",
        "crossings": """SELECT account_id::text, crossing, outcome, order_id::text, reason
                          FROM wallet.auto_reload_crossing WHERE account_id = ANY($1::uuid[])""",
        "auto_reloads": """
            SELECT r.account_id::text, r.threshold_s, r.enabled, r.paused_by_depletion, r.crossings,
                   r.handled_depletes_at, r.retry_at, a.depletes_at, a.depleted
              FROM wallet.auto_reload r JOIN wallet.account a ON a.id = r.account_id
             WHERE r.account_id = ANY($1::uuid[])""",
    }
    conn = await asyncpg.connect(replicas.admin_database_url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            return {
                name: await conn.fetch(sql, *([] if name == "observed_at" else [account_ids]))
                for name, sql in queries.items()
            }
    finally:
        await conn.close()


def _epoch(at: datetime | None) -> float | None:
    return None if at is None else at.timestamp()


async def reloads_stopped(replicas: ReplicaSet, tenants: list[FaultRunTenant]) -> None:
    """The Auto-iSC accounts, suspended by their partners, refused the crossing due after it: nothing is due."""

    async def going_on() -> list[str]:
        rows = await replicas.fetch(
            """SELECT r.account_id::text FROM wallet.auto_reload r JOIN wallet.account a ON a.id = r.account_id
                WHERE r.account_id = ANY($1::uuid[])
                  AND NOT (r.suspended_by_partner AND r.handled_depletes_at = a.depletes_at
                           AND r.last_failure_reason = 'suspended_by_partner')""",
            [t.account_id for t in tenants],
        )
        return [r["account_id"] for r in rows]

    await eventually(going_on, until=lambda left: not left, within=60, every=0.25, what="the reloads refused")


async def recorded(
    replicas: ReplicaSet, workload: Workload, gateways: list[SimulatedGateway], servers: Servers
) -> Recorded:
    account_ids = [t.account_id for t in workload.tenants]
    money = await wallet_snapshot(replicas, account_ids)
    ledger_rows, account_rows, order_rows, crossing_rows = (
        money["ledger"],
        money["accounts"],
        money["orders"],
        money["crossings"],
    )
    wallets = {r["id"]: r for r in account_rows}
    rental_rows = await replicas.fetch(
        """
        SELECT r.id::text, c.account_id::text, r.hwid, r.status = 'active' AS active
          FROM contracts.rental r JOIN contracts.contract c ON c.id = r.contract_id
         WHERE c.account_id = ANY($1::uuid[])
        """,
        account_ids,
    )
    software_rows = await replicas.fetch(
        """
        SELECT s.id::text, c.account_id::text, s.type, s.count, s.status = 'active' AS active
          FROM contracts.software_rental s JOIN contracts.contract c ON c.id = s.contract_id
         WHERE c.account_id = ANY($1::uuid[])
        """,
        account_ids,
    )
    observed = []
    for tenant, gateway in zip(workload.tenants, gateways, strict=True):
        expected = await replicas.fetch(
            """
            SELECT r.hwid FROM contracts.rental r JOIN contracts.contract c ON c.id = r.contract_id
             WHERE r.domain_id = $1 AND r.status = 'active' AND c.status = 'active'
            """,
            uuid.UUID(tenant.domain_id),
        )
        current = await replicas.count(
            "SELECT current_seq FROM licensing.gateway WHERE hwid = $1 AND removed_at IS NULL", gateway.hwid
        )
        held = gateway.current
        wallet = wallets[tenant.account_id]
        # The paid expiry the distributor knew when it signed each of the gateway's bundles (the stored content's
        # `exp`, which the lease does not bound): what its phones may never run past.
        paid_until = {
            int(row["seq"]): None if row["exp"] is None else float(row["exp"])
            for row in await replicas.fetch(
                "SELECT seq, (content ->> 'exp')::bigint AS exp FROM licensing.bundle WHERE hwid = $1", gateway.hwid
            )
        }
        # Up to now on the gateway's clock: the test clock's time for the clocked tenant's.
        history = enforcement_history(gateway, paid_until=paid_until, until=gateway.clock())
        observed.append(
            history.of(
                Gateway(
                    hwid=gateway.hwid,
                    accepted_seqs=tuple(gateway.stats.accepted),
                    held_seq=gateway.state.highest_seq,
                    held_devices=tuple(d.hwid for d in held.devices) if held is not None else (),
                    expected_devices=frozenset(str(row["hwid"]) for row in expected),
                    current_seq=current,
                    held_exp=int(held.expires_at.timestamp()) if held is not None and held.expires_at else None,
                    held_lease=int(held.lease_ends_at.timestamp()) if held is not None and held.lease_ends_at else None,
                    run_out=wallet["depletes_at"].timestamp() if wallet["depletes_at"] is not None else None,
                    depleted=wallet["depleted"],
                )
            )
        )
    return Recorded(
        redemptions=tuple(workload.redemptions),
        ledger=tuple(
            LedgerEntry(
                r["id"],
                r["account_id"],
                r["kind"],
                r["amount"],
                r["balance_after"],
                r["key_id"],
                int(r["lines_sum"]),
                reload_book=int(r["reload_book"]),
            )
            for r in ledger_rows
        ),
        accounts=tuple(Account(r["id"], r["balance"]) for r in account_rows),
        gateways=tuple(observed),
        dead_letters=dead_letter_counts(servers, replicas.broker_prefix),
        rental_changes=tuple(workload.rental_changes),
        rentals=tuple(Rental(r["id"], r["account_id"], r["hwid"], r["active"]) for r in rental_rows),
        reload_orders=tuple(
            ReloadOrder(r["id"], r["account_id"], r["amount"], r["crossing"], r["ledger_entry_id"]) for r in order_rows
        ),
        reload_crossings=tuple(
            ReloadCrossing(r["account_id"], r["crossing"], r["outcome"], r["order_id"], r["reason"])
            for r in crossing_rows
        ),
        auto_reloads=tuple(
            AutoReloadState(
                r["account_id"],
                threshold_s=r["threshold_s"],
                enabled=r["enabled"],
                paused_by_depletion=r["paused_by_depletion"],
                crossings=r["crossings"],
                depletes_at=_epoch(r["depletes_at"]),
                handled_depletes_at=_epoch(r["handled_depletes_at"]),
                depleted=r["depleted"],
                retry_at=_epoch(r["retry_at"]),
            )
            for r in money["auto_reloads"]
        ),
        observed_at=float(money["observed_at"][0]["at"].timestamp()),
        software_changes=tuple(workload.software_changes),
        software_rentals=tuple(
            SoftwareRental(r["id"], r["account_id"], r["type"], r["count"], r["active"]) for r in software_rows
        ),
    )


class Phases:
    """How long each phase of a seed took, for the report: where a slow seed spent its time."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.last = self.loop.time()
        self.took: dict[str, float] = {}

    def mark(self, phase: str) -> float:
        now = self.loop.time()
        self.took[phase] = now - self.last
        self.last = now
        return now

    def render(self) -> str:
        return ", ".join(f"{phase} {seconds:.1f}s" for phase, seconds in self.took.items())


async def a_test_clock(client: Client, *, name: str) -> str:
    """A partner's test clock, starting now: the clocked tenant lives on it, and the run advances it."""
    start = datetime.now(UTC).replace(microsecond=0)
    clock = await client.ok(
        "wallet",
        "POST",
        "/v1/test-clocks",
        headers=client.replicas.platform.auth("partner"),
        json={"name": name, "frozen_time": start.isoformat()},
    )
    return str(clock["id"])


async def clocked_gateway_on_its_clock(client: Client, workload: Workload, clock_id: str) -> None:
    """The clocked tenant's gateway runs on its clock's time, under bundles signed on it: the checker's verdict on
    its enforcement is a verdict on simulated time, not on a gateway that never followed the clock."""
    [tenant] = [t for t in workload.tenants if t.test_clock_id == clock_id]
    clock = await client.ok("wallet", "GET", f"/v1/test-clocks/{clock_id}", headers=tenant.partner)
    gateway = workload.gateways[tenant.account_id]
    assert clock["status"] == "ready", clock
    frozen_time = datetime.fromisoformat(str(clock["frozen_time"]))
    assert gateway.test_clock_time == frozen_time, f"the gateway is at {gateway.test_clock_time}, the clock {clock}"
    assert gateway.current is not None, "the clocked gateway holds no bundle"
    assert gateway.current.test_clock_id == clock_id, "the clocked gateway's bundle is not signed on its clock"


async def fault_run(
    seed: int, replicas: ReplicaSet, servers: Servers, *, schedule: list[Fault], inject: Injector
) -> tuple[Report, list[str], Workload, DeliveryChaos, Phases]:
    phases = Phases()
    chaos = DeliveryChaos(
        amqp_url=replicas.platform.amqp_url, exchange_name=f"{replicas.broker_prefix}rental.events", seed=seed
    )
    await chaos.start()
    async with httpx.AsyncClient(timeout=10) as http:
        client = Client(replicas, http)
        await set_first_tariff(client)
        clock_id = await a_test_clock(client, name=f"Fault {seed}")
        tenants = list(
            await asyncio.gather(
                *(open_tenant(client, label=f"Fault {seed}.{n}") for n in range(ACCOUNTS)),
                open_tenant(client, label=f"Fault {seed}.clocked", test_clock_id=clock_id),
                open_tenant(client, label=f"Fault {seed}.reload", phones=1, phone_product=RELOAD_PRODUCT, mailed=False),
            )
        )
        tenants[0].thrifty = True
        tenants[-1].reloading = True
        workload = Workload(client=client, seed=seed, tenants=tenants)
        await workload.fund()  # credit first, so activations are possible from the start
        fleet = Fleet(
            states=[t.gateway for t in tenants],
            store=MemoryStore(),
            distributor_url=client.url("license-distributor"),
            client=http,
            backoff_base_s=0.1,
            backoff_cap_s=1.0,
            # Sandbox gateways: the clocked tenant's runs on its clock; the others get no simulated bundle.
            follow_test_clock=True,
        )
        fleet.start()
        workload.gateways = {t.account_id: g for t, g in zip(tenants, fleet.gateways, strict=True)}
        try:
            started = phases.mark("setup")
            workload.faults_pending = True

            async def faults() -> list[str]:
                try:
                    return await run_schedule(schedule, replicas, inject, started=started)
                finally:
                    workload.faults_pending = False

            faulted_from = datetime.now(UTC)
            injected, _ = await asyncio.gather(faults(), workload.run(until=started + WORKLOAD_S))
            faulted_until = datetime.now(UTC)
            phases.mark("workload and faults")
            await workload.stop_reloads()
            await chaos.stop()  # the delayed copies still due are published before the drain is awaited
            await all_ready(replicas, http)
            phases.mark("services ready")
            await workload.settle()
            await run_out(replicas, [t for t in tenants if t.thrifty])
            phases.mark("run-out")
            await reloads_stopped(replicas, [t for t in tenants if t.reloading])
            phases.mark("reloads stopped")
            await drained(replicas, fleet.gateways, servers)
            phases.mark("outboxes drained, gateways current")
            await clocked_gateway_on_its_clock(client, workload, clock_id)
            report = check(await recorded(replicas, workload, fleet.gateways, servers))
            workload.reloads_under_faults = await replicas.count(
                """SELECT count(*) FROM wallet.reload_order
                    WHERE account_id = ANY($1::uuid[]) AND ordered_at BETWEEN $2 AND $3""",
                [t.account_id for t in tenants],
                faulted_from,
                faulted_until,
            )
        finally:
            await fleet.stop()
            await chaos.stop()
    return report, injected, workload, chaos, phases


@pytest.mark.parametrize("seed", range(1, SEEDS + 1))
async def test_a_seeded_fault_run_loses_duplicates_and_wrongly_accepts_nothing(
    processes: ReplicaSet,
    servers: Servers,
    seed: int,
    infrastructure_faults: bool,
    seed_summaries: list[SeedSummary],
    smtp: tuple[SmtpSink, int],
) -> None:
    schedule = draw_schedule(
        seed=seed, duration_s=WORKLOAD_S, faults=FAULTS_PER_SEED, infrastructure=infrastructure_faults
    )
    report, injected, workload, chaos, phases = await fault_run(
        seed, processes, servers, schedule=schedule, inject=single_server_faults(servers)
    )
    kinds = set(SERVICE_FAULTS + INFRA_FAULTS) if infrastructure_faults else set(SERVICE_FAULTS)
    report_seed(seed, report, injected, workload, chaos, phases, seed_summaries, kinds=kinds)
    await notices_arrived_once_each(processes, workload, smtp[0], schedule=schedule)


def copies_a_fault_may_cause(schedule: list[Fault]) -> int:
    """How many e-mails the faults may send twice: a sender is sent a copy again only when it dies, or cannot mark
    the notice sent, between the SMTP server's acceptance and that mark. Each sender sends one notice at a time,
    so a wallet kill or a Postgres restart catches at most one."""
    return sum(
        (f.kind is FaultKind.KILL and f.service == "wallet") or f.kind is FaultKind.RESTART_POSTGRES for f in schedule
    )


async def notices_arrived_once_each(
    replicas: ReplicaSet, workload: Workload, sink: SmtpSink, *, schedule: list[Fault]
) -> None:
    """Every warning, run-out and restoration of the run's accounts was mailed, and arrived in the sink once, or
    twice where a fault caught its sender between the server's acceptance and its mark (`copies_a_fault_may_cause`).

    One notice per fact (`BalanceLow`, `BalanceDepleted`, `BalanceRestored` in the wallet's outbox), each sent
    (within a sender's lease, should a kill have caught one mid-send), and each `Message-ID` in the sink.
    """
    # The Auto-iSC account has no contact address: its mail (a notice per reload) would multiply the chances of a
    # kill between the SMTP server's acceptance and the sender's mark, which sends a copy again by design.
    account_ids = [t.account_id for t in workload.busy]
    facts = await replicas.count(
        """SELECT count(*) FROM wallet.outbox_message
           WHERE event_type IN ('BalanceLow', 'BalanceDepleted', 'BalanceRestored') AND subject = ANY($1::text[])""",
        account_ids,
    )

    async def notices() -> list[asyncpg.Record]:
        return await replicas.fetch(
            "SELECT id::text, status FROM wallet.email_notice WHERE account_id = ANY($1::uuid[])", account_ids
        )

    sent = await eventually(
        notices, until=lambda rows: len(rows) == facts and all(r["status"] == "sent" for r in rows), within=150
    )
    assert facts > 0, "no warning, run-out or restoration: the notices went unchecked"
    addresses = {notice_address(a) for a in account_ids}
    arrived = Counter(m.message_id for m in sink.messages if set(m.rcpt_tos) & addresses)
    assert set(arrived) == {f"<{r['id']}@wallet.rental.invalid>" for r in sent}, arrived
    copies = sum(n - 1 for n in arrived.values())
    allowed = copies_a_fault_may_cause(schedule)
    print(f"e-mail notices: {len(arrived)} arrived, {copies} sent again after a fault (at most {allowed} may be)")
    assert copies <= allowed, f"{copies} e-mails arrived more than once, the faults explain {allowed}: {arrived}"


def report_seed(
    seed: int,
    report: Report,
    injected: list[str],
    workload: Workload,
    chaos: DeliveryChaos,
    phases: Phases,
    seed_summaries: list[SeedSummary],
    *,
    kinds: set[FaultKind],
) -> None:
    """Print the seed's report, add it to the session's table, and fail the seed on any finding."""
    deliveries = ", ".join(f"{name} {n}" for name, n in sorted(chaos.counts.items()))
    done = ", ".join(f"{name} {n}" for name, n in sorted(workload.done.items()))
    print(f"\n=== seed {seed}: {workload.operations} operations ({done}), {len(injected)} faults;")
    print(f"deliveries: {deliveries}")
    print(f"phases: {phases.render()}")
    answers = ", ".join(f"{status} x {n}" for status, n in sorted(workload.client.server_errors.items()))
    print(f"server errors answered (and retried): {answers or 'none'}")
    print(
        f"Auto-iSC: {report.counts['reload orders']} reload orders ({workload.reloads_under_faults} while the faults"
        f" were injected), {report.counts['reload crossings refused']} crossings refused"
    )
    print(f"test clock: {workload.clock_advances} advances ready")
    print("\n".join(injected))
    print(report.render())
    seed_summaries.append(
        SeedSummary.of(seed, report, injected, workload.operations, chaos.counts, workload.client.server_errors)
    )
    assert report.counts["redemptions attempted"] > 0
    assert report.counts["rental changes attempted"] > 0
    assert report.counts["software changes attempted"] > 0
    assert report.counts["reload orders"] > 0, "no Auto-iSC reload: the reloads went unchecked"
    assert workload.clock_advances > 0, "the test clock never advanced: the clocked tenant went unchecked"
    assert report.counts["reload crossings refused"] > 0, "no crossing refused: refusals went unchecked"
    assert report.counts["depleted bundles checked"] > 0, "no account ran out: depleted bundles went unchecked"
    assert report.counts["expiries checked"] > 0, "no running gateway: bundle expiries went unchecked"
    assert report.counts["enforcement histories checked"] == len(workload.tenants), "enforcement went unchecked"
    assert report.counts["enforcement histories missing"] == 0
    assert chaos.counts["duplicated copies"] > 0, "no duplicate was injected: the dedupe went untested"
    assert chaos.counts["delayed copies"] > 0, "no delayed copy was injected: out-of-order went untested"
    for kind in kinds:
        assert any(f" {kind} " in line for line in injected), f"no {kind} was injected: {injected}"
    # 503 is a service asking for a retry while its database is away; any other 5xx is an error it did not
    # expect (the client retried it, so the checker may find no harm done, but it is a finding all the same).
    unexpected = {status: n for status, n in workload.client.server_errors.items() if status != 503}
    assert unexpected == {}, f"server errors other than 503: {unexpected} (see the services' logs)"
    assert report.valid, report.render() + "\n" + "\n".join(injected)
