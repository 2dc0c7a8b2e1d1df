"""The seeded fault run: a workload on the four services as real processes while a schedule from the seed
SIGKILLs and restarts them and closes their broker connections; then the checker over what was recorded.

`make test` runs seeds 1 and 2. `make reliability` (RENTAL_FAULT_SEEDS=50) runs seeds 1..50 and prints the
checker's report per seed. Restarting the machine's RabbitMQ and Postgres is opt-in (RENTAL_FAULTS_INFRA=1,
reliability/infra.py); see docs/reliability.md for why it is not yet in `make test`.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest
from reliability.chaos import DeliveryChaos
from reliability.checker import Account, Gateway, LedgerEntry, Recorded, Redemption, Report, check
from reliability.infra import restart_postgres, restart_rabbitmq
from reliability.schedule import Fault, FaultKind, draw_schedule

from gateway_simulator.fleet import Fleet
from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from tests.harness import TestPlatform, eventually
from tests.integration.scale.replicas import (
    CONTRACTS,
    LICENSING,
    PROVISIONING,
    ROOT,
    WALLET,
    Replica,
    ReplicaSet,
    replica_env,
    running_replicas,
)

SEEDS = int(os.environ.get("RENTAL_FAULT_SEEDS", "2"))
INFRASTRUCTURE_FAULTS = os.environ.get("RENTAL_FAULTS_INFRA") == "1"
WORKLOAD_S = float(os.environ.get("RENTAL_FAULT_WORKLOAD_S", "12"))
FAULTS_PER_SEED = int(os.environ.get("RENTAL_FAULTS_PER_SEED", "4"))
PHONE = "PHONE-FAULT"
ACCOUNTS = 2
PHONES_PER_GATEWAY = 5  # spares, so that an RMA has a device to replace onto
# Tariffs the workload switches between (iSC per device and day): high, so that the first account, which
# redeems keys of 1-3 iSC only, runs out within seconds, while the others redeem keys of 1,000-5,000 iSC.
TARIFF_RATES = ("86400", "172800", "259200")
KIND_BY_NAME = {kind.name: kind for kind in (WALLET, CONTRACTS, PROVISIONING, LICENSING)}

pytestmark = pytest.mark.timeout(max(300, 120 * SEEDS))


@pytest.fixture(scope="module")
async def processes(platform: TestPlatform, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReplicaSet]:
    log_dir: Path = tmp_path_factory.mktemp("fault-run-logs")
    async with running_replicas(platform, log_dir, count=1) as replica_set:
        yield replica_set


@dataclass
class Tenant:
    account_id: str
    customer: dict[str, str]
    domain_id: str
    contract_id: str
    gateway: GatewayState
    device_ids: dict[str, str] = field(default_factory=dict)  # phone hwid -> device id
    rentals: dict[str, str] = field(default_factory=dict)  # device id -> active rental id
    replaced: set[str] = field(default_factory=set)  # device ids replaced away by an RMA: never rented again
    thrifty: bool = False  # redeems tiny keys: runs out


class Client:
    """The workload's HTTP client: a request is retried with the same Idempotency-Key while its service is down."""

    def __init__(self, replicas: ReplicaSet, http: httpx.AsyncClient) -> None:
        self.replicas = replicas
        self.http = http
        self.partner = replicas.platform.auth("partner")
        self.operator = replicas.platform.auth("operator")

    def url(self, service: str) -> str:
        return self.replicas.of(KIND_BY_NAME[service])[0].url

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json: dict[str, object] | None = None,
        within: float = 40,
    ) -> httpx.Response | None:
        """The final answer, or None when the service never answered (the outcome is then unknown)."""
        headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}

        async def attempt() -> httpx.Response | None:
            try:
                return await self.http.request(method, f"{self.url(service)}{path}", headers=headers, json=json)
            except httpx.TransportError:
                return None

        def settled(response: httpx.Response | None) -> bool:
            if response is None or response.status_code >= 500:
                return False
            return not (response.status_code == 409 and response.json().get("code") == "not_yet_known")

        try:
            return await eventually(attempt, until=settled, within=within, every=0.2)
        except AssertionError:
            return None

    async def ok(
        self, service: str, method: str, path: str, *, headers: dict[str, str], json: dict[str, object] | None = None
    ) -> dict[str, object]:
        response = await self.request(service, method, path, headers=headers, json=json)
        assert response is not None, f"{method} {path}: no answer"
        assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
        body: dict[str, object] = response.json()
        return body


async def open_tenant(client: Client, *, label: str) -> Tenant:
    account = await client.ok("wallet", "POST", "/v1/accounts", headers=client.partner, json={"name": label})
    account_id = str(account["id"])
    customer = client.replicas.platform.auth("customer", account_id=account_id)
    domain = await client.ok(
        "provisioning",
        "POST",
        "/v1/domains",
        headers=client.partner,
        json={"account_id": account_id, "name": f"{uuid.uuid4().hex[:10]}.example"},
    )
    contract = await client.ok(
        "contracts", "POST", "/v1/contracts", headers=client.partner, json={"account_id": account_id}
    )
    contract_id = str(contract["id"])
    await client.ok(
        "contracts", "POST", f"/v1/contracts/{contract_id}/domains", headers=customer, json={"domain_id": domain["id"]}
    )
    await client.ok("contracts", "POST", f"/v1/contracts/{contract_id}/acceptance", headers=customer)
    await client.ok("contracts", "POST", f"/v1/contracts/{contract_id}/approval", headers=client.operator)
    gateway = GatewayState.generate(phones=PHONES_PER_GATEWAY, phone_product=PHONE)
    await client.ok(
        "provisioning",
        "POST",
        f"/v1/domains/{domain['id']}/gateways",
        headers=client.partner,
        json={"hwid": gateway.hwid, "product": gateway.product, "public_key": gateway.public_key},
    )
    tenant = Tenant(account_id, customer, str(domain["id"]), contract_id, gateway)
    for phone in gateway.phones:
        code = await client.ok(
            "provisioning", "POST", f"/v1/domains/{tenant.domain_id}/provisioning-codes", headers=customer, json={}
        )
        device = await client.ok(
            "provisioning",
            "POST",
            "/v1/provisioning",
            headers={},
            json={"code": code["code"], "hwid": phone.hwid, "product": PHONE, "type": "PHONE"},
        )
        tenant.device_ids[phone.hwid] = str(device["id"])
    return tenant


@dataclass
class Workload:
    client: Client
    rng: random.Random
    tenants: list[Tenant]
    redemptions: list[Redemption] = field(default_factory=list)
    gateways: dict[str, SimulatedGateway] = field(default_factory=dict)  # account id -> its gateway
    operations: int = 0
    done: Counter[str] = field(default_factory=Counter)

    async def redeem(self, tenant: Tenant) -> None:
        amount = self.rng.randrange(1, 4) if tenant.thrifty else self.rng.randrange(1000, 5000)
        batch = await self.client.request(
            "wallet",
            "POST",
            "/v1/activation-keys",
            headers=self.client.partner,
            json={"amount": str(amount), "count": 1},
        )
        if batch is None or batch.status_code != 201:
            return  # no code in hand (the answer was lost): nothing to redeem, nothing recorded
        key = batch.json()["keys"][0]
        answer = await self.client.request(
            "wallet",
            "POST",
            f"/v1/accounts/{tenant.account_id}/redemptions",
            headers=tenant.customer,
            json={"code": key["code"]},
        )
        confirmed = answer is not None and answer.status_code in (200, 201)
        self.done["redeem"] += 1
        self.redemptions.append(Redemption(str(key["id"]), tenant.account_id, amount * 1_000_000, confirmed))

    def idle(self, tenant: Tenant) -> list[str]:
        return [d for d in tenant.device_ids.values() if d not in tenant.rentals and d not in tenant.replaced]

    async def activate(self, tenant: Tenant) -> None:
        idle = self.idle(tenant)
        if not idle:
            return
        device_id = self.rng.choice(idle)
        answer = await self.client.request(
            "contracts",
            "POST",
            f"/v1/contracts/{tenant.contract_id}/rentals",
            headers=tenant.customer,
            json={"device_id": device_id},
        )
        if answer is not None and answer.status_code == 201:
            tenant.rentals[device_id] = str(answer.json()["id"])
            self.done["activate"] += 1

    async def deactivate(self, tenant: Tenant) -> None:
        if not tenant.rentals:
            return
        device_id = self.rng.choice(sorted(tenant.rentals))
        answer = await self.client.request(
            "contracts",
            "POST",
            f"/v1/contracts/{tenant.contract_id}/rentals/{tenant.rentals[device_id]}/deactivation",
            headers=tenant.customer,
            json={},
        )
        if answer is not None and answer.status_code == 200:
            del tenant.rentals[device_id]
            self.done["deactivate"] += 1

    async def replace_device(self, tenant: Tenant) -> None:
        """RMA: a rented device is replaced by an idle one; the rental carries on on the new device."""
        idle = self.idle(tenant)
        if not tenant.rentals or not idle:
            return
        old = self.rng.choice(sorted(tenant.rentals))
        new = self.rng.choice(idle)
        answer = await self.client.request(
            "contracts",
            "POST",
            f"/v1/contracts/{tenant.contract_id}/rentals/{tenant.rentals[old]}/replacement",
            headers=tenant.customer,
            json={"device_id": new},
        )
        if answer is not None and answer.status_code == 201:
            del tenant.rentals[old]
            tenant.rentals[new] = str(answer.json()["id"])
            tenant.replaced.add(old)
            self.done["replace (RMA)"] += 1

    async def change_tariff(self, tenant: Tenant) -> None:
        del tenant  # the tariff is the product's, for every account
        answer = await self.client.request(
            "contracts",
            "PUT",
            f"/v1/tariffs/{PHONE}",
            headers=self.client.operator,
            json={"rate_per_day": self.rng.choice(TARIFF_RATES), "licences": [{"type": "PORT", "count": 1}]},
        )
        if answer is not None and answer.status_code in (200, 201):
            self.done["change tariff"] += 1

    async def drop_gateway(self, tenant: Tenant) -> None:
        gateway = self.gateways.get(tenant.account_id)
        if gateway is not None:
            await gateway.disconnect()  # its run loop reconnects after its back-off
            self.done["drop gateway"] += 1

    async def run(self, *, until: float) -> None:
        loop = asyncio.get_running_loop()
        actions: list[Callable[[Tenant], Awaitable[None]]] = [
            self.redeem,
            self.activate,
            self.deactivate,
            self.replace_device,
            self.change_tariff,
            self.drop_gateway,
        ]
        weights = [3, 3, 2, 1, 1, 1]
        while loop.time() < until:
            await self.rng.choices(actions, weights)[0](self.rng.choice(self.tenants))
            self.operations += 1

    async def settle(self) -> None:
        """After the faults: every account burns (so expiries are checked) and the thrifty ones run out."""
        for tenant in self.tenants:
            if tenant.thrifty:
                for _ in self.idle(tenant):
                    await self.activate(tenant)
            elif not tenant.rentals:
                await self.activate(tenant)


def restart(replica: Replica, replicas: ReplicaSet) -> None:
    assert replica.log_file is not None
    replica.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module name
        [sys.executable, "-m", replica.kind.package],
        cwd=ROOT,
        env=replica_env(replica, replicas),
        stdout=replica.log_file,
        stderr=subprocess.STDOUT,
    )


def close_broker_connections(replica: Replica) -> int:
    """Close this process's own broker connections: matched by its client ports, named by its service."""
    assert replica.process is not None
    sockets = subprocess.run(
        ["ss", "-tnpH", "state", "established", "dport", "= :5672"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    ports = {
        line.split()[2].rsplit(":", 1)[1] for line in sockets.splitlines() if f"pid={replica.process.pid}," in line
    }
    listing = subprocess.run(
        ["rabbitmqctl", "list_connections", "-q", "--no-table-headers", "pid", "peer_port", "client_properties"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    closed = 0
    for line in listing.splitlines():
        pid, peer_port, properties = line.split("\t", 2)
        if peer_port in ports and f'{{"connection_name","{replica.kind.name}"}}' in properties:
            subprocess.run(  # noqa: S603 - a connection pid rabbitmqctl itself listed
                ["rabbitmqctl", "close_connection", pid, "fault run"],  # noqa: S607
                capture_output=True,
                check=True,
                timeout=60,
            )
            closed += 1
    return closed


async def inject(fault: Fault, replicas: ReplicaSet) -> str:
    if fault.kind is FaultKind.RESTART_POSTGRES:  # drawn only when RENTAL_FAULTS_INFRA=1
        started = asyncio.get_running_loop().time()
        await asyncio.to_thread(restart_postgres)
        await answering_postgres(replicas.platform.admin_url)
        return f"{fault.describe()}: restarted, answering after {asyncio.get_running_loop().time() - started:.1f}s"
    if fault.kind is FaultKind.RESTART_RABBITMQ:
        started = asyncio.get_running_loop().time()
        await restart_rabbitmq(fault.hold_s)
        await answering_rabbitmq(replicas.platform.amqp_url)
        return f"{fault.describe()}: restarted, answering after {asyncio.get_running_loop().time() - started:.1f}s"
    assert fault.service is not None
    replica = replicas.of(KIND_BY_NAME[fault.service])[0]
    if fault.kind is FaultKind.KILL:
        assert replica.process is not None
        replica.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(replica.process.wait, 30)
        # The service stays down for hold_s: that gap is the fault itself, drawn from the seed.
        await asyncio.sleep(fault.hold_s)
        restart(replica, replicas)
        return f"{fault.describe()}: killed and restarted"
    closed = await asyncio.to_thread(close_broker_connections, replica)
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


async def run_schedule(schedule: list[Fault], replicas: ReplicaSet, *, started: float) -> list[str]:
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
            try:
                answer = await http.get(f"{replica.url}/readyz")
                if answer.status_code != 200:
                    not_ready.append(replica.label)
            except httpx.TransportError:
                not_ready.append(replica.label)
        return not_ready

    await eventually(waiting, until=lambda names: not names, within=120, every=0.25)


async def run_out(replicas: ReplicaSet, tenants: list[Tenant]) -> None:
    """The thrifty accounts burn their last tiny keys: wait until the wallet has depleted them."""

    async def funded() -> list[str]:
        rows = await replicas.fetch(
            "SELECT id::text FROM wallet.account WHERE id = ANY($1::uuid[]) AND NOT depleted",
            [t.account_id for t in tenants],
        )
        return [r["id"] for r in rows]

    await eventually(funded, until=lambda left: not left, within=60, every=0.25)


async def drained(replicas: ReplicaSet, tenants: list[Tenant], gateways: list[SimulatedGateway]) -> None:
    """Outboxes empty, and every gateway holding the distributor's latest bundle for it."""

    async def pending() -> list[str]:
        left = []
        for schema in ("wallet", "contracts", "provisioning", "licensing"):
            unsent = await replicas.count(f"SELECT count(*) FROM {schema}.outbox_message WHERE sent_at IS NULL")
            if unsent:
                left.append(f"{schema} outbox {unsent}")
        for gateway in gateways:
            current = await replicas.count(
                "SELECT current_seq FROM licensing.gateway WHERE hwid = $1 AND removed_at IS NULL", gateway.hwid
            )
            if gateway.state.highest_seq != current:
                left.append(f"gateway {gateway.hwid} at {gateway.state.highest_seq}, current {current}")
        return left

    await eventually(pending, until=lambda left: not left, within=90, every=0.25)


def dead_letter_counts(prefix: str) -> dict[str, int]:
    listing = subprocess.run(
        ["rabbitmqctl", "list_queues", "-q", "--no-table-headers", "name", "messages"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    counts = {}
    for line in listing.splitlines():
        name, _, messages = line.partition("\t")
        if name.startswith(prefix) and name.endswith(".dead"):
            counts[name] = int(messages.strip() or 0)
    return counts


async def recorded(replicas: ReplicaSet, workload: Workload, gateways: list[SimulatedGateway]) -> Recorded:
    account_ids = [t.account_id for t in workload.tenants]
    ledger_rows = await replicas.fetch(
        """
        SELECT e.id::text, e.account_id::text, e.kind, e.amount, e.balance_after, e.key_id::text,
               (SELECT coalesce(sum(l.amount), 0) FROM wallet.ledger_line l WHERE l.entry_seq = e.seq) AS lines_sum
          FROM wallet.ledger_entry e WHERE e.account_id = ANY($1::uuid[])
        """,
        account_ids,
    )
    account_rows = await replicas.fetch(
        "SELECT id::text, balance, depleted, depletes_at FROM wallet.account WHERE id = ANY($1::uuid[])",
        account_ids,
    )
    wallets = {r["id"]: r for r in account_rows}
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
        observed.append(
            Gateway(
                hwid=gateway.hwid,
                accepted_seqs=tuple(gateway.stats.accepted),
                held_seq=gateway.state.highest_seq,
                held_devices=frozenset(d.hwid for d in held.devices) if held is not None else frozenset(),
                expected_devices=frozenset(str(row["hwid"]) for row in expected),
                current_seq=current,
                held_exp=int(held.expires_at.timestamp()) if held is not None and held.expires_at else None,
                run_out=wallet["depletes_at"].timestamp() if wallet["depletes_at"] is not None else None,
                depleted=wallet["depleted"],
            )
        )
    return Recorded(
        redemptions=tuple(workload.redemptions),
        ledger=tuple(
            LedgerEntry(
                r["id"], r["account_id"], r["kind"], r["amount"], r["balance_after"], r["key_id"], int(r["lines_sum"])
            )
            for r in ledger_rows
        ),
        accounts=tuple(Account(r["id"], r["balance"]) for r in account_rows),
        gateways=tuple(observed),
        dead_letters=dead_letter_counts(replicas.broker_prefix),
    )


async def fault_run(seed: int, replicas: ReplicaSet) -> tuple[Report, list[str], Workload, DeliveryChaos]:
    rng = random.Random(f"workload:{seed}")
    schedule = draw_schedule(
        seed=seed, duration_s=WORKLOAD_S, faults=FAULTS_PER_SEED, infrastructure=INFRASTRUCTURE_FAULTS
    )
    chaos = DeliveryChaos(
        amqp_url=replicas.platform.amqp_url, exchange_name=f"{replicas.broker_prefix}rental.events", seed=seed
    )
    await chaos.start()
    async with httpx.AsyncClient(timeout=10) as http:
        client = Client(replicas, http)
        await client.ok(
            "contracts",
            "PUT",
            f"/v1/tariffs/{PHONE}",
            headers=client.operator,
            json={"rate_per_day": TARIFF_RATES[1], "licences": [{"type": "PORT", "count": 1}]},
        )
        tenants = [await open_tenant(client, label=f"Fault {seed}.{n}") for n in range(ACCOUNTS)]
        tenants[0].thrifty = True
        workload = Workload(client=client, rng=rng, tenants=tenants)
        for tenant in tenants:
            await workload.redeem(tenant)  # credit first, so activations are possible from the start
        fleet = Fleet(
            states=[t.gateway for t in tenants],
            store=MemoryStore(),
            distributor_url=client.url("license-distributor"),
            client=http,
            backoff_base_s=0.1,
            backoff_cap_s=1.0,
        )
        fleet.start()
        workload.gateways = {t.account_id: g for t, g in zip(tenants, fleet.gateways, strict=True)}
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            injected, _ = await asyncio.gather(
                run_schedule(schedule, replicas, started=started), workload.run(until=started + WORKLOAD_S)
            )
            await chaos.stop()  # the delayed copies still due are published before the drain is awaited
            await all_ready(replicas, http)
            await workload.settle()
            await run_out(replicas, [t for t in tenants if t.thrifty])
            await drained(replicas, tenants, fleet.gateways)
            report = check(await recorded(replicas, workload, fleet.gateways))
        finally:
            await fleet.stop()
            await chaos.stop()
    return report, injected, workload, chaos


@pytest.mark.parametrize("seed", range(1, SEEDS + 1))
async def test_a_seeded_fault_run_loses_duplicates_and_wrongly_accepts_nothing(
    processes: ReplicaSet, seed: int
) -> None:
    report, injected, workload, chaos = await fault_run(seed, processes)
    deliveries = ", ".join(f"{name} {n}" for name, n in sorted(chaos.counts.items()))
    done = ", ".join(f"{name} {n}" for name, n in sorted(workload.done.items()))
    print(f"\n=== seed {seed}: {workload.operations} operations ({done}), {len(injected)} faults;")
    print(f"deliveries: {deliveries}")
    print("\n".join(injected))
    print(report.render())
    assert report.counts["redemptions attempted"] > 0
    assert report.counts["depleted bundles checked"] > 0, "no account ran out: depleted bundles went unchecked"
    assert report.counts["expiries checked"] > 0, "no running gateway: bundle expiries went unchecked"
    assert chaos.counts["duplicated copies"] > 0, "no duplicate was injected: the dedupe went untested"
    assert chaos.counts["delayed copies"] > 0, "no delayed copy was injected: out-of-order went untested"
    assert report.valid, report.render() + "\n" + "\n".join(injected)
