"""Fan-out proportional to what changed, reconnect storms, and key rotations in the background.

Real Postgres, RabbitMQ and WebSockets. These tests check behaviour (how many notifications, which gateways
get a bundle, that a rotation resumes); how fast it goes is the fleet benchmark's business (`bench/fleet.py`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from gateway_simulator.gateway import JwksCache, SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from license_distributor import repository, service
from license_distributor.rotation import KeyRotationWorker
from shared.auth import Principal, Role
from shared.clock import SystemClock
from shared.db import create_pool
from shared.events.contracts import DomainRental, Licence, RentalChanged, RentedDevice
from tests.harness import EventPublisher, TestPlatform, admin_fetch, eventually
from tests.integration.license_distributor.conftest import (
    Distributor,
    TenantFeed,
    registered_gateways,
    serving_distributor,
    wait_registered,
)

OPERATOR = Principal(subject="operator-of-the-test", roles=frozenset({Role.OPERATOR}), account_id=None)
PHONE = "00aa11bb22ee"
CHANGES_HEARD = "license_distributor_changes_heard_total"
OTHER_PHONE = "00aa11bb22ff"
GRACE = timedelta(days=1)


@pytest.fixture(scope="module")
async def distributor(platform: TestPlatform) -> AsyncIterator[Distributor]:
    # Small admission batches, so a storm of a few dozen gateways is admitted over several of them; and a
    # rotation worker that only moves when told to (the rotation tests drive batches themselves).
    async with serving_distributor(
        platform, admission_batch=8, admission_concurrency=1, rotation_poll_interval_s=3600.0
    ) as running:
        yield running


@pytest.fixture
async def pool(platform: TestPlatform) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(dsn=platform.database_url("licensing"), schema="licensing", max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


async def _seqs(platform: TestPlatform, hwids: list[str]) -> dict[str, int]:
    rows = await admin_fetch(
        platform, "SELECT hwid, current_seq FROM licensing.gateway WHERE hwid = ANY($1) AND removed_at IS NULL", hwids
    )
    return {r["hwid"]: r["current_seq"] for r in rows}


@asynccontextmanager
async def _fleet(
    states: list[GatewayState], *, distributor: Distributor, http: httpx.AsyncClient
) -> AsyncIterator[list[SimulatedGateway]]:
    jwks = JwksCache(url=f"{distributor.url}/.well-known/jwks.json", client=http, min_refresh_s=0)
    gateways = [
        SimulatedGateway(
            state=s,
            store=MemoryStore(),
            distributor_url=distributor.url,
            jwks=jwks,
            backoff_base_s=0.1,
            backoff_cap_s=1,
        )
        for s in states
    ]
    tasks = [asyncio.create_task(g.run()) for g in gateways]
    try:
        yield gateways
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _metric(http: httpx.AsyncClient, distributor: Distributor, name: str, **labels: str) -> float:
    text = (await http.get(f"{distributor.url}/metrics")).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _rental(tenant: TenantFeed, *, version: int, shares: dict[uuid.UUID, list[str]], rate: int) -> RentalChanged:
    return RentalChanged(
        contract_id=tenant.contract_id,
        account_id=tenant.account_id,
        burn_rate_per_day=rate,
        domains=[
            DomainRental(
                domain_id=domain_id,
                devices=[
                    RentedDevice(device_id=uuid.uuid5(uuid.NAMESPACE_OID, p), hwid=p, product="PHONE-1") for p in phones
                ],
                licences=[Licence(type="PORT", count=len(phones))] if phones else [],
            )
            for domain_id, phones in shares.items()
        ],
        version=version,
        active=True,
    )


async def test_a_change_in_one_domain_is_one_notification_and_every_gateway_of_it_gets_the_bundle(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    await tenant.runway(depletes_in=None, balance=10**12)
    states = await registered_gateways(tenant, platform, 6)
    async with _fleet(states, distributor=distributor, http=http) as gateways:
        await eventually(lambda: _true(all(g.connected and g.current for g in gateways)), within=15)
        pushed_before = {
            trigger: await _metric(http, distributor, "license_distributor_bundles_pushed_total", trigger=trigger)
            for trigger in ("local", "change")
        }
        skipped_before = await _metric(http, distributor, CHANGES_HEARD, trigger="change", outcome="skipped")
        await tenant.rent(PHONE)

        def all_run_the_phone() -> bool:
            return all(g.current is not None and [d.hwid for d in g.current.devices] == [PHONE] for g in gateways)

        await eventually(lambda: _true(all_run_the_phone()), within=10)

        async def broker_copies_skipped() -> float:
            return await _metric(http, distributor, CHANGES_HEARD, trigger="change", outcome="skipped")

        await eventually(broker_copies_skipped, until=lambda n: n > skipped_before, what="the broker's copy heard")
        pushed = {
            trigger: await _metric(http, distributor, "license_distributor_bundles_pushed_total", trigger=trigger)
            - pushed_before[trigger]
            for trigger in ("local", "change")
        }
    # Pushed by the process that committed the change, at once; the broker's copy of the notification then
    # found nothing left to send.
    assert pushed == {"local": 6, "change": 0}
    gateway_ids = [
        r["id"]
        for r in await admin_fetch(
            platform, "SELECT id FROM licensing.gateway WHERE hwid = ANY($1)", [s.hwid for s in states]
        )
    ]
    # One message for the replicas names all six, and is the public record of each bundle issued.
    notifications = await admin_fetch(
        platform,
        """SELECT payload FROM licensing.outbox_message WHERE event_type = 'BundlesChanged'
           AND payload -> 'bundles' @> $1::jsonb""",
        json.dumps([{"gateway_id": str(g)} for g in gateway_ids]),
    )
    assert len(notifications) == 1
    bundles = json.loads(notifications[0]["payload"])["bundles"]
    assert sorted(b["gateway_id"] for b in bundles) == sorted(str(g) for g in gateway_ids)
    assert {(b["seq"], b["domain_id"]) for b in bundles} == {(2, tenant.domain_id)}
    assert {(b["hwid"] in {s.hwid for s in states}, tuple(b["devices"])) for b in bundles} == {(True, (PHONE,))}


@pytest.mark.usefixtures("distributor")
async def test_a_contract_with_many_domains_rebuilds_only_the_domain_whose_share_changed(
    publisher: EventPublisher,
    tenant: TenantFeed,
    platform: TestPlatform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await tenant.runway(depletes_in=None, balance=10**12)
    domains = [uuid.uuid4() for _ in range(3)]
    states = {d: GatewayState.generate(phones=0) for d in domains}
    for domain_id, state in states.items():
        tenant.domain_id = str(domain_id)
        await tenant.create_domain()
        await tenant.register(state)
    hwids = [s.hwid for s in states.values()]
    for hwid in hwids:
        await wait_registered(platform, hwid)
    first = {domains[0]: [PHONE], domains[1]: [OTHER_PHONE], domains[2]: []}
    await publisher.publish(_rental(tenant, version=1, shares=first, rate=2_000_000))
    await eventually(lambda: _seqs(platform, hwids), until=lambda s: s == {hwids[0]: 2, hwids[1]: 2, hwids[2]: 1})
    # The distributor runs in this process: note which of these domains each rebuild is asked to look at.
    rebuilt: list[set[uuid.UUID]] = []
    real_reissue = service.reissue_bundles

    async def noting(conn: asyncpg.Connection, **kwargs: Any) -> list[service.IssuedBundle]:
        asked = set(kwargs["domain_ids"]) & set(domains)
        if asked:
            rebuilt.append(asked)
        return await real_reissue(conn, **kwargs)

    monkeypatch.setattr(service, "reissue_bundles", noting)
    # The first domain's phone is swapped for another (an RMA: same rate): only that domain is rebuilt.
    second = {**first, domains[0]: ["00aa11bb2200"]}
    await publisher.publish(_rental(tenant, version=2, shares=second, rate=2_000_000))
    await eventually(lambda: _seqs(platform, hwids), until=lambda s: s[hwids[0]] == 3)
    await publisher.publish(_rental(tenant, version=3, shares=second, rate=2_000_000))  # nothing changed
    await eventually(
        lambda: admin_fetch(
            platform, "SELECT version FROM licensing.contract_rental WHERE contract_id = $1", tenant.contract_id
        ),
        until=lambda rows: rows[0]["version"] == 3,
    )
    assert rebuilt == [{domains[0]}]
    assert await _seqs(platform, hwids) == {hwids[0]: 3, hwids[1]: 2, hwids[2]: 1}


async def test_a_reconnect_storm_is_admitted_in_batches_and_only_stale_gateways_get_a_bundle(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    states = await registered_gateways(tenant, platform, 40)
    sessions_before = await _metric(http, distributor, "license_distributor_gateway_sessions")
    async with _fleet(states, distributor=distributor, http=http) as gateways:
        # All forty at once, eight per admission batch: every one is welcomed, none refused or timed out.
        await eventually(lambda: _true(all(g.connected and g.current for g in gateways)), within=20)
        assert await _metric(http, distributor, "license_distributor_gateway_sessions") == sessions_before + 40
        assert all(g.stats.connects == 1 and not g.stats.refusals for g in gateways)
        pushed = await _metric(http, distributor, "license_distributor_bundles_pushed_total")

        # Everyone drops at once; nothing changed meanwhile, so nobody is sent a bundle on the way back.
        await asyncio.gather(*(g.disconnect() for g in gateways))
        await eventually(lambda: _true(all(g.connected and g.stats.connects == 2 for g in gateways)), within=20)
        assert await _metric(http, distributor, "license_distributor_bundles_pushed_total") == pushed
        assert await _metric(http, distributor, "license_distributor_gateway_sessions") == sessions_before + 40
        assert all(not g.stats.rejected and not g.stats.refusals for g in gateways)
    await eventually(
        lambda: _metric(http, distributor, "license_distributor_gateway_sessions"), until=lambda n: n == sessions_before
    )
    # Every session that ended was recorded as such (the batched writes caught up).
    await eventually(
        lambda: admin_fetch(
            platform,
            "SELECT count(*) AS n FROM licensing.gateway WHERE hwid = ANY($1) AND connected_replica IS NOT NULL",
            [s.hwid for s in states],
        ),
        until=lambda rows: rows[0]["n"] == 0,
    )


class Crash(Exception):
    pass


@contextmanager
def crashing_before_commit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process dies after re-signing a batch and before its commit (the transaction rolls back)."""

    async def crash(*_args: object, **_kwargs: object) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(repository, "count_rotation_progress", crash)
        yield


async def test_a_rotation_answers_at_once_and_resumes_after_a_crash_mid_batch_without_re_signing_twice(
    distributor: Distributor,
    tenant: TenantFeed,
    http: httpx.AsyncClient,
    platform: TestPlatform,
    pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    states = await registered_gateways(tenant, platform, 3)
    hwids = [s.hwid for s in states]
    before = await _seqs(platform, hwids)
    rotation = await service.request_key_rotation(
        pool, principal=OPERATOR, idempotency_key=None, now=_now(), grace=GRACE
    )
    assert rotation.status == "in_progress"
    issuer = "urn:rental:license-distributor"
    worker = KeyRotationWorker(pool=pool, issuer=issuer, clock=SystemClock(), batch_domains=1, poll_interval_s=0.1)

    with crashing_before_commit(monkeypatch), pytest.raises(Crash):
        await service.resign_next_batch(pool, now=_now(), issuer=issuer, max_domains=1)
    assert await _seqs(platform, hwids) == before  # the crashed batch left nothing behind

    # Another replica holds one batch while this one works: it skips that domain and cannot finish.
    async with pool.acquire() as held, held.transaction():
        claimed = await repository.claim_domains_signed_by_other_keys(held, kid=rotation.kid, limit=1)
        assert claimed
        while await worker.step():
            pass
        pending = await service.key_rotation(pool, rotation_id=rotation.id)
        assert pending.status == "in_progress"
    # Released (that replica crashed too): the next steps finish the rotation.
    await eventually(worker.step, until=lambda claimed: claimed is None, within=30)
    done = await service.key_rotation(pool, rotation_id=rotation.id)
    assert done.status == "completed"
    assert done.gateways_resigned == done.gateways_live
    # Each gateway was re-signed exactly once, with the new key.
    assert await _seqs(platform, hwids) == {h: s + 1 for h, s in before.items()}
    kids = await admin_fetch(
        platform,
        """SELECT DISTINCT b.kid FROM licensing.gateway g JOIN licensing.bundle b ON b.hwid = g.hwid
           AND b.seq = g.current_seq WHERE g.hwid = ANY($1)""",
        hwids,
    )
    assert [r["kid"] for r in kids] == [rotation.kid]
    # The status resource tells the operator the same.
    status_url = f"{distributor.url}/v1/signing-keys/rotations/{rotation.id}"
    assert (await http.get(status_url, headers=platform.auth("partner"))).status_code == 403
    body = (await http.get(status_url, headers=platform.auth("operator"))).json()
    assert body["status"] == "completed"
    assert body["kid"] == rotation.kid
    missing = await http.get(
        f"{distributor.url}/v1/signing-keys/rotations/{uuid.uuid4()}", headers=platform.auth("operator")
    )
    assert missing.status_code == 404


async def test_a_newer_rotation_supersedes_an_unfinished_one(
    distributor: Distributor, http: httpx.AsyncClient, platform: TestPlatform, pool: asyncpg.Pool
) -> None:
    first = await service.request_key_rotation(pool, principal=OPERATOR, idempotency_key=None, now=_now(), grace=GRACE)
    answered = await http.post(f"{distributor.url}/v1/signing-keys/rotation", headers=platform.auth("operator"))
    assert answered.status_code == 202, answered.text
    assert answered.headers["Location"] == f"/v1/signing-keys/rotations/{answered.json()['id']}"
    superseded = await service.key_rotation(pool, rotation_id=first.id)
    assert superseded.status == "superseded"

    async def status() -> str:
        body = (
            await http.get(f"{distributor.url}{answered.headers['Location']}", headers=platform.auth("operator"))
        ).json()
        return str(body["status"])

    # The POST woke the distributor's own worker: it finishes without being polled.
    await eventually(status, until=lambda s: s == "completed", within=20)


async def test_a_rotation_retried_with_its_idempotency_key_answers_the_first_and_starts_no_other(
    distributor: Distributor, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    url = f"{distributor.url}/v1/signing-keys/rotation"
    headers = {**platform.auth("operator"), "Idempotency-Key": f"rotate-{uuid.uuid4()}"}
    first = await http.post(url, headers=headers)
    assert first.status_code == 202, first.text
    rotations_after_first = await _count_rows(platform, "key_rotation")
    keys_after_first = await _count_rows(platform, "signing_key")

    retried = await http.post(url, headers=headers)
    assert retried.status_code == 202, retried.text
    assert retried.json() == first.json()
    assert retried.headers["Location"] == first.headers["Location"]
    # No second rotation: no new key, no new rotation, and the first one is not superseded by its own retry.
    assert await _count_rows(platform, "key_rotation") == rotations_after_first
    assert await _count_rows(platform, "signing_key") == keys_after_first
    status = await http.get(f"{distributor.url}{first.headers['Location']}", headers=platform.auth("operator"))
    assert status.json()["status"] != "superseded"

    # Another key is another request: it starts a rotation of its own.
    other = await http.post(url, headers={**headers, "Idempotency-Key": f"rotate-{uuid.uuid4()}"})
    assert other.status_code == 202, other.text
    assert other.json()["id"] != first.json()["id"]
    assert await _count_rows(platform, "key_rotation") == rotations_after_first + 1


async def _count_rows(platform: TestPlatform, table: str) -> int:
    rows = await admin_fetch(platform, f"SELECT count(*) AS n FROM licensing.{table}")
    return int(rows[0]["n"])


async def _true(value: bool) -> bool:
    return value


def _now() -> datetime:
    return datetime.now(UTC)


async def test_beyond_the_handshake_limit_a_connection_is_refused_at_once_with_503_and_let_in_once_a_slot_frees(
    platform: TestPlatform,
) -> None:
    async with serving_distributor(platform, handshake_limit=2) as limited:
        first = await connect(limited.ws_url)
        second = await connect(limited.ws_url)
        try:
            # Both are between their upgrade and their welcome (they never identify): no slot is left.
            with pytest.raises(InvalidStatus) as refused:
                await connect(limited.ws_url)
            assert refused.value.response.status_code == 503
            assert refused.value.response.headers["Retry-After"] in {"1", "2", "3", "4", "5"}
            await first.close()

            async def admitted() -> bool:
                try:
                    third = await connect(limited.ws_url)
                except InvalidStatus:
                    return False
                await third.close()
                return True

            assert await eventually(admitted, within=10)
        finally:
            await second.close()
