"""Two replicas of every service, as real processes against one Postgres and one RabbitMQ: no double effect.

Requests alternate between the replicas; every event must be published once (the outbox relays of both
replicas compete with SKIP LOCKED), consumed once (both replicas consume one quorum queue; the inbox absorbs
redeliveries), and applied once to every read model.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gateway_simulator.fleet import Fleet, register_gateways
from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from tests.harness import TestPlatform, eventually
from tests.integration.scale.replicas import (
    ALL_SERVICES,
    CONTRACTS,
    LICENSE_DISTRIBUTOR,
    PROVISIONING,
    ROOT,
    WALLET,
    ReplicaSet,
    ServiceKind,
    running_replicas,
)

ACCOUNTS_PER_REPLICA = 4
DOMAINS_PER_REPLICA = 4

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
async def replicas(platform: TestPlatform, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ReplicaSet]:
    log_dir: Path = tmp_path_factory.mktemp("scale-replica-logs")
    async with running_replicas(platform, log_dir, count=2) as replica_set:
        yield replica_set


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def test_two_replicas_of_every_service_start_together_and_all_become_ready(replicas: ReplicaSet) -> None:
    assert [(r.kind.name, r.index) for r in replicas.replicas] == [(k.name, i) for k in ALL_SERVICES for i in (0, 1)]
    assert len({r.port for r in replicas.replicas}) == 8
    # They raced to migrate the same schemas at once; under the advisory lock every migration applied, once.
    for kind in ALL_SERVICES:
        files = len(list((ROOT / "services" / kind.name / "migrations").glob("*.sql")))
        applied = await replicas.count(
            f"SELECT count(*) FROM {kind.schema}.schema_migration WHERE source = $1", kind.name
        )
        assert applied == files >= 1, (kind.name, applied, files)


async def test_accounts_and_domains_made_through_either_replica_are_published_consumed_and_applied_once(
    replicas: ReplicaSet, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    partner = platform.auth("partner")
    wallets, provisionings = replicas.of(WALLET), replicas.of(PROVISIONING)

    # Accounts opened alternately in wallet replica 1 and 2.
    account_ids: list[str] = []
    for n in range(2 * ACCOUNTS_PER_REPLICA):
        wallet = wallets[n % 2]
        opened = await http.post(
            f"{wallet.url}/v1/accounts",
            json={"name": f"Scale {n}"},
            headers={**partner, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert opened.status_code == 201, f"{wallet.label}: {opened.text}"
        account_ids.append(opened.json()["id"])

    # Each becomes known to provisioning (and contracts) whichever replica consumed it; domains are then created
    # alternately in provisioning replica 1 and 2 (409 not_yet_known until the account has arrived).
    domain_ids: list[str] = []
    for n in range(2 * DOMAINS_PER_REPLICA):
        provisioning = provisionings[n % 2]
        account_id = account_ids[n % len(account_ids)]
        body = {"account_id": account_id, "name": f"scale-{n}.example"}

        async def create_domain(url: str = provisioning.url, body: dict[str, str] = body) -> httpx.Response:
            return await http.post(
                f"{url}/v1/domains", json=body, headers={**partner, "Idempotency-Key": str(uuid.uuid4())}
            )

        created = await eventually(create_domain, until=lambda r: r.status_code != 409, within=20)
        assert created.status_code == 201, f"{provisioning.label}: {created.text}"
        domain_ids.append(created.json()["id"])

    accounts, domains = len(account_ids), len(domain_ids)

    async def applied() -> dict[str, int]:
        return {
            "provisioning.known_account": await replicas.count(
                "SELECT count(*) FROM provisioning.known_account WHERE id = ANY($1::uuid[])", account_ids
            ),
            "contracts.known_account": await replicas.count(
                "SELECT count(*) FROM contracts.known_account WHERE id = ANY($1::uuid[])", account_ids
            ),
            "contracts.known_domain": await replicas.count(
                "SELECT count(*) FROM contracts.known_domain WHERE id = ANY($1::uuid[])", domain_ids
            ),
            "licensing.known_domain": await replicas.count(
                "SELECT count(*) FROM licensing.known_domain WHERE id = ANY($1::uuid[])", domain_ids
            ),
        }

    expected = {
        "provisioning.known_account": accounts,
        "contracts.known_account": accounts,
        "contracts.known_domain": domains,
        "licensing.known_domain": domains,
    }
    await eventually(applied, until=lambda counts: counts == expected, within=20)

    # Published once: one outbox row per fact, each sent, and the relays of both replicas together confirmed
    # exactly that many (a row published by both would count twice).
    for kind, event_type, facts in ((WALLET, "AccountOpened", accounts), (PROVISIONING, "DomainCreated", domains)):
        rows = await replicas.count(
            f"SELECT count(*) FROM {kind.schema}.outbox_message WHERE event_type = $1 AND sent_at IS NOT NULL",
            event_type,
        )
        assert rows == facts, (kind.name, event_type, rows)
        published = await replicas.metric_per_replica(kind, "outbox_published_total", service=kind.name)
        unsent = await replicas.count(f"SELECT count(*) FROM {kind.schema}.outbox_message WHERE sent_at IS NULL")
        sent_all = await replicas.count(f"SELECT count(*) FROM {kind.schema}.outbox_message WHERE sent_at IS NOT NULL")
        assert unsent == 0
        assert sum(published) == sent_all, (kind.name, published, sent_all)

    # Consumed once: one inbox row per message, every message handled by exactly one replica, none twice.
    consumed = {PROVISIONING: accounts, CONTRACTS: accounts + domains, LICENSE_DISTRIBUTOR: domains}
    for kind, messages in consumed.items():
        inbox = await replicas.count(f"SELECT count(*) FROM {kind.schema}.inbox_message")
        handled = await replicas.metric_per_replica(
            kind, "consumer_messages_total", queue=f"*{kind.name}.events", outcome="handled"
        )
        duplicates = await replicas.metric_per_replica(
            kind, "consumer_messages_total", queue=f"*{kind.name}.events", outcome="duplicate"
        )
        assert inbox >= messages, (kind.name, inbox)
        assert sum(handled) == inbox, (kind.name, handled, inbox)
        assert sum(duplicates) == 0, (kind.name, duplicates)
        # The work is shared: both replicas consume the one queue.
        assert all(count > 0 for count in handled), (kind.name, handled)

    # Every replica answered requests of its own (no silent single-instance fallback).
    for replica in [*wallets, *provisionings]:
        served = await replicas.metric(replica, "http_requests_total", method="POST", status="201")
        assert served >= 1, replica.label


PHONE_PRODUCT = "PHONE-SCALE"


@dataclass(frozen=True)
class Story:
    account_id: str
    contract_id: str
    hwids: list[str]
    # The distributor replica holding each gateway's WebSocket while its phone ran.
    sessions: list[str | None]


@pytest.fixture(scope="module")
async def story(replicas: ReplicaSet, http: httpx.AsyncClient, platform: TestPlatform) -> Story:
    # A deadline of its own, so that a step that never ends fails where it waits, with its traceback.
    async with asyncio.timeout(150):
        return await run_story(replicas, http, platform)


@dataclass
class Storyteller:
    """The story's requests: each through the replica the story names, as the role it names."""

    replicas: ReplicaSet
    http: httpx.AsyncClient
    platform: TestPlatform

    def urls(self, kind: ServiceKind) -> tuple[str, str]:
        first, second = (r.url for r in self.replicas.of(kind))
        return first, second

    async def call(
        self, method: str, url: str, *, role: dict[str, str], json: object = None, also_retry: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """One request, retried while another service's event has not arrived yet (409 not_yet_known, or the
        `also_retry` codes that mean the same at that step)."""
        retry_codes = ("not_yet_known", *also_retry)

        async def attempt() -> httpx.Response:
            headers = {**role, "Idempotency-Key": str(uuid.uuid4())}
            return await self.http.request(method, url, json=json, headers=headers)

        response = await eventually(
            attempt, until=lambda r: not (r.status_code == 409 and r.json().get("code") in retry_codes), within=20
        )
        assert response.status_code in (200, 201), f"{method} {url}: {response.text}"
        body: dict[str, Any] = response.json()
        return body


async def run_story(replicas: ReplicaSet, http: httpx.AsyncClient, platform: TestPlatform) -> Story:
    """The rental story through both replicas of every service, up to the run-down and the empty bundles."""
    teller = Storyteller(replicas, http, platform)
    account_id, domain_id, contract_id = await _an_active_contract(teller)
    customer = platform.auth("customer", account_id=account_id)
    # Two gateways of the domain, each with a phone, registered through provisioning replica 2; gateway A holds
    # its WebSocket on distributor replica 1, gateway B on replica 2.
    states = [GatewayState.generate(phones=1, phone_product=PHONE_PRODUCT) for _ in range(2)]
    registered = await register_gateways(
        states,
        provisioning_url=teller.urls(PROVISIONING)[1],
        domain_id=domain_id,
        token=platform.token("partner"),
        client=http,
    )
    assert registered == [s.hwid for s in states]
    fleets = [
        Fleet(
            states=[state], store=MemoryStore(), distributor_url=url, client=http, backoff_base_s=0.1, backoff_cap_s=0.5
        )
        for state, url in zip(states, teller.urls(LICENSE_DISTRIBUTOR), strict=True)
    ]
    gateways = [fleet.gateways[0] for fleet in fleets]
    for fleet in fleets:
        fleet.start()
    try:
        for gateway in gateways:
            await eventually(partial(_same, gateway), until=lambda g: g.connected and g.current is not None, within=20)
        device_ids = await _enrol_the_phones(teller, states, domain_id=domain_id, customer=customer)
        await _fund_and_rent(teller, device_ids, account_id=account_id, contract_id=contract_id)
        # Each gateway runs its phone, pushed by whichever distributor replica holds its session.
        for gateway, state in zip(gateways, states, strict=True):
            phone = state.phones[0].hwid
            await eventually(partial(_same, gateway), until=_running_only(phone), within=10)
        sessions = [
            await replicas.fetchval("SELECT connected_replica FROM licensing.gateway WHERE hwid = $1", s.hwid)
            for s in states
        ]
        await _the_run_down(teller, gateways, states, account_id=account_id, contract_id=contract_id)
    finally:
        async with asyncio.timeout(30):
            for fleet in fleets:
                await fleet.stop()
    return Story(
        account_id=account_id,
        contract_id=contract_id,
        hwids=[s.hwid for s in states],
        sessions=[str(s) if s is not None else None for s in sessions],
    )


async def _an_active_contract(teller: Storyteller) -> tuple[str, str, str]:
    """A tariff of 1 iSC per second per phone; an account, its domain and its active contract, linked."""
    (_, w2), (c1, c2), (p1, _) = teller.urls(WALLET), teller.urls(CONTRACTS), teller.urls(PROVISIONING)
    operator, partner = teller.platform.auth("operator"), teller.platform.auth("partner")
    call = teller.call
    await call("PUT", f"{c1}/v1/tariffs/{PHONE_PRODUCT}", role=operator, json={"rate_per_day": "86400", "licences": []})
    account_id = (await call("POST", f"{w2}/v1/accounts", role=partner, json={"name": "Two Replicas Ltd"}))["id"]
    customer = teller.platform.auth("customer", account_id=account_id)
    domain_id = (
        await call("POST", f"{p1}/v1/domains", role=partner, json={"account_id": account_id, "name": "two.example"})
    )["id"]
    contract_id = (await call("POST", f"{c2}/v1/contracts", role=partner, json={"account_id": account_id}))["id"]
    await call("POST", f"{c1}/v1/contracts/{contract_id}/domains", role=customer, json={"domain_id": domain_id})
    await call("POST", f"{c2}/v1/contracts/{contract_id}/acceptance", role=customer)
    assert (await call("POST", f"{c1}/v1/contracts/{contract_id}/approval", role=operator))["status"] == "active"
    return account_id, domain_id, contract_id


async def _enrol_the_phones(
    teller: Storyteller, states: list[GatewayState], *, domain_id: str, customer: dict[str, str]
) -> list[str]:
    """Each phone enrolled with a code from one provisioning replica, through the other."""
    p1, p2 = teller.urls(PROVISIONING)
    device_ids = []
    for state, code_from, enrol_at in zip(states, (p1, p2), (p2, p1), strict=True):
        code = await teller.call(
            "POST", f"{code_from}/v1/domains/{domain_id}/provisioning-codes", role=customer, json={}
        )
        enrolment = {"code": code["code"], "hwid": state.phones[0].hwid, "product": PHONE_PRODUCT, "type": "PHONE"}
        device_ids.append((await teller.call("POST", f"{enrol_at}/v1/provisioning", role={}, json=enrolment))["id"])
    return device_ids


async def _fund_and_rent(teller: Storyteller, device_ids: list[str], *, account_id: str, contract_id: str) -> None:
    """8 iSC at 2 iSC per second: four seconds of rental once both phones run; each rented through a replica."""
    (w1, w2), (c1, c2) = teller.urls(WALLET), teller.urls(CONTRACTS)
    partner, customer = teller.platform.auth("partner"), teller.platform.auth("customer", account_id=account_id)
    key = await teller.call("POST", f"{w1}/v1/activation-keys", role=partner, json={"amount": "8", "count": 1})
    await teller.call(
        "POST", f"{w2}/v1/accounts/{account_id}/redemptions", role=customer, json={"code": key["keys"][0]["code"]}
    )

    async def rentable() -> set[str]:
        response = await teller.http.get(f"{c2}/v1/contracts/{contract_id}/hardware", headers=customer)
        return {item["device_id"] for item in response.json()["items"] if item["rentable"]}

    await eventually(rentable, until=lambda ids: set(device_ids) <= ids, within=20)
    for device_id, contracts_url in zip(device_ids, (c1, c2), strict=True):
        # The wallet's news of the redemption reaches contracts by event: until then it answers no_credit.
        await teller.call(
            "POST",
            f"{contracts_url}/v1/contracts/{contract_id}/rentals",
            role=customer,
            json={"device_id": device_id},
            also_retry=("no_credit",),
        )


async def _the_run_down(
    teller: Storyteller,
    gateways: list[SimulatedGateway],
    states: list[GatewayState],
    *,
    account_id: str,
    contract_id: str,
) -> None:
    """Both gateways reboot at expiry, the account is depleted, the contract suspended, the bundles empty."""
    (w1, _), (c1, _) = teller.urls(WALLET), teller.urls(CONTRACTS)
    customer = teller.platform.auth("customer", account_id=account_id)
    for gateway in gateways:
        await eventually(partial(_same, gateway), until=lambda g: "rental_expired" in g.stats.reboot_reasons, within=20)

    async def account_status() -> str:
        return str((await teller.http.get(f"{w1}/v1/accounts/{account_id}", headers=customer)).json()["status"])

    async def contract_status() -> str:
        return str((await teller.http.get(f"{c1}/v1/contracts/{contract_id}", headers=customer)).json()["status"])

    await eventually(account_status, until=lambda s: s == "depleted", within=10)
    await eventually(contract_status, until=lambda s: s == "suspended", within=10)

    async def final_bundles() -> list[int]:
        return [
            await teller.replicas.count(
                "SELECT count(*) FROM licensing.bundle b JOIN licensing.gateway g ON g.hwid = b.hwid"
                " WHERE b.hwid = $1 AND b.seq = g.current_seq AND b.content->'devices' = '[]'::jsonb",
                state.hwid,
            )
            for state in states
        ]

    await eventually(final_bundles, until=lambda found: found == [1, 1], within=10)
    for gateway in gateways:
        assert gateway.stats.rejected == []


async def test_each_gateway_is_served_by_the_distributor_replica_it_reached(story: Story) -> None:
    # Gateway A connected to replica 1, B to replica 2; each got every change, whichever replica consumed it.
    assert None not in story.sessions
    assert len(set(story.sessions)) == 2, story.sessions


async def test_one_run_down_is_announced_once_and_suspends_the_contract_once(
    story: Story, replicas: ReplicaSet
) -> None:
    # Both wallet replicas run the depletion scheduler; one BalanceDepleted, consumed once, one suspension.
    assert await _outbox(replicas, "wallet", "BalanceDepleted", story.account_id) == 1
    depletions_consumed = await replicas.count(
        "SELECT count(*) FROM contracts.inbox_message WHERE event_type = 'wallet.balance_depleted'"
    )
    assert depletions_consumed == 1
    assert await _outbox(replicas, "contracts", "ContractSuspended", story.contract_id) == 1


async def test_every_bundle_has_the_next_seq_and_is_published_once(story: Story, replicas: ReplicaSet) -> None:
    for hwid in story.hwids:
        rows = await _bundles(replicas, hwid)
        assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1))
        assert len(rows) >= 3  # nothing rented, phones running, nothing after the run-down
        for row in rows:
            announced = await replicas.count(
                """SELECT count(*) FROM licensing.outbox_message WHERE event_type = 'BundlesChanged' AND payload
                   -> 'bundles' @> jsonb_build_array(jsonb_build_object('gateway_id', $1::text, 'seq', $2::int))""",
                str(row["gateway_id"]),
                row["seq"],
            )
            assert announced == 1


async def test_one_bundle_and_one_reboot_order_per_change_per_gateway(story: Story, replicas: ReplicaSet) -> None:
    sequences = []
    for hwid in story.hwids:
        rows = await _bundles(replicas, hwid)
        contents = [json.loads(row["content"]) for row in rows]
        told = [
            (r["seq"], r["issued_at"].isoformat(), c["exp"], [d["hwid"] for d in c["devices"]])
            for r, c in zip(rows, contents, strict=True)
        ]
        # A new bundle only when what it says changed: two equal neighbours are one change issued twice.
        assert all(a != b for a, b in itertools.pairwise(contents)), (hwid, told)
        gateway_id = str(rows[0]["gateway_id"])
        assert await _outbox(replicas, "licensing", "GatewayRebootOrdered", gateway_id) == 1, (hwid, told)
        sequences.append(contents)
    # The same changes reached both gateways, each through its own replica.
    assert sequences[0] == sequences[1]


async def _bundles(replicas: ReplicaSet, hwid: str) -> list[asyncpg.Record]:
    return await replicas.fetch(
        "SELECT seq, content, gateway_id, issued_at FROM licensing.bundle WHERE hwid = $1 ORDER BY seq", hwid
    )


def _running_only(phone: str) -> Callable[[SimulatedGateway], bool]:
    return lambda gateway: gateway.phones_running() == [phone]


async def _same(gateway: SimulatedGateway) -> SimulatedGateway:
    return gateway


async def _outbox(replicas: ReplicaSet, schema: str, event_type: str, subject: str) -> int:
    return await replicas.count(
        f"SELECT count(*) FROM {schema}.outbox_message WHERE event_type = $1 AND subject = $2", event_type, subject
    )
