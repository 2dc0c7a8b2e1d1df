"""Two replicas of every service, as real processes against one Postgres and one RabbitMQ: no double effect.

Requests alternate between the replicas; every event must be published once (the outbox relays of both
replicas compete with SKIP LOCKED), consumed once (both replicas consume one quorum queue; the inbox absorbs
redeliveries), and applied once to every read model.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.harness import TestPlatform, eventually
from tests.integration.scale.replicas import (
    ALL_SERVICES,
    CONTRACTS,
    LICENSING,
    PROVISIONING,
    ROOT,
    WALLET,
    ReplicaSet,
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
    consumed = {PROVISIONING: accounts, CONTRACTS: accounts + domains, LICENSING: domains}
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
