"""Revocable signing keys, their grace period and their encryption at rest.

Real Postgres, RabbitMQ and WebSockets; the gateways are the project's simulator. The grace period is crossed by
moving the distributor's clock (and the simulators' with it), never by waiting.
"""

from __future__ import annotations

import base64
import functools
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.verifier import AcceptedBundle
from license_distributor import service
from license_distributor.config import Settings
from license_distributor.key_encryption import KeyEncryptionError, KeyEncryptionKey, open_private_jwk, resolve_kek
from license_distributor.main import SPEC
from license_distributor.signing import b64url_decode, b64url_encode, generate_signing_key
from shared.auth import Principal, Role
from shared.db import create_pool
from tests.harness import (
    TestPlatform,
    admin_fetch,
    admin_fetchval,
    eventually,
    running_gateway,
    running_service,
)
from tests.integration.license_distributor.conftest import (
    Distributor,
    TenantFeed,
    registered_gateways,
    serving_distributor,
)

OPERATOR = Principal(subject="operator-of-the-key-tests", roles=frozenset({Role.OPERATOR}), account_id=None)
ISSUER = "urn:rental:license-distributor"
PHONE = "00aa11bb33cc"


@pytest.fixture(scope="module")
async def distributor(platform: TestPlatform) -> AsyncIterator[Distributor]:
    async with serving_distributor(platform) as running:
        yield running


async def _published(http: httpx.AsyncClient, url: str) -> set[str]:
    response = await http.get(f"{url}/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    return {str(k["kid"]) for k in response.json()["keys"]}


async def _signing_kid(platform: TestPlatform) -> str:
    kid = await admin_fetchval(
        platform,
        """SELECT kid FROM licensing.signing_key WHERE revoked_at IS NULL
           ORDER BY created_at DESC, kid DESC LIMIT 1""",
    )
    assert isinstance(kid, str)
    return kid


async def _metric(http: httpx.AsyncClient, url: str, name: str) -> float:
    text = (await http.get(f"{url}/metrics")).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)


async def _current_kid(gateway: SimulatedGateway) -> str | None:
    return None if gateway.current is None else gateway.current.kid


async def _held_kids(platform: TestPlatform, hwids: list[str]) -> dict[str, str]:
    rows = await admin_fetch(
        platform,
        """SELECT g.hwid, b.kid FROM licensing.gateway g JOIN licensing.bundle b ON b.hwid = g.hwid
           AND b.seq = g.current_seq WHERE g.hwid = ANY($1) AND g.removed_at IS NULL""",
        hwids,
    )
    return {r["hwid"]: r["kid"] for r in rows}


async def test_revoking_the_signing_key_unpublishes_it_at_once_and_every_connected_gateway_gets_a_bundle_signed_by_its_successor(  # noqa: E501
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    await tenant.runway(depletes_in=None, balance=10**12)
    states = await registered_gateways(tenant, platform, 3)
    revoked = await _signing_kid(platform)
    url = distributor.url
    operator = {**platform.auth("operator"), "Idempotency-Key": f"revoke-{uuid.uuid4()}"}
    async with (
        running_gateway(states[0], distributor_url=url, client=http) as first,
        running_gateway(states[1], distributor_url=url, client=http) as second,
        running_gateway(states[2], distributor_url=url, client=http) as third,
    ):
        gateways = [first, second, third]
        for gateway in gateways:
            assert await eventually(functools.partial(_current_kid, gateway), until=lambda k: k == revoked)
        assert revoked in await _published(http, url)
        revocations_before = await _metric(http, url, "license_distributor_signing_key_revocations_total")

        answered = await http.post(f"{url}/v1/signing-keys/{revoked}/revocation", headers=operator)
        assert answered.status_code == 200, answered.text
        body = answered.json()
        successor = body["replaced_by"]
        assert body["kid"] == revoked
        assert body["status"] == "revoked"
        assert body["rotated"] is True  # it was the key signing: a new one was made first
        assert successor != revoked
        assert body["bundles_resigned"] >= 3  # these three, and whatever other live gateway it signed for
        # At once: the answer is given after the commit that unpublished it.
        published = await _published(http, url)
        assert revoked not in published
        assert successor in published
        # Every connected gateway is pushed a bundle signed by the successor, and verifies it.
        for gateway in gateways:
            await eventually(functools.partial(_current_kid, gateway), until=lambda k: k == successor, within=10)
        assert set((await _held_kids(platform, [s.hwid for s in states])).values()) == {successor}
        assert not any(g.stats.rejected for g in gateways)
        # Recorded: a log line (not checked here), a metric, a row.
        assert await _metric(http, url, "license_distributor_signing_key_revocations_total") == revocations_before + 1
        row = await admin_fetch(platform, "SELECT * FROM licensing.key_revocation WHERE kid = $1", revoked)
        assert row[0]["replaced_by"] == successor

        # From then on it signs nothing: the next change is signed by the successor, and it never comes back.
        seqs = {g.hwid: g.current.seq if g.current is not None else 0 for g in gateways}
        await tenant.rent(PHONE)
        for gateway in gateways:
            bundle = await eventually(
                functools.partial(_current_bundle, gateway),
                until=functools.partial(_newer_than, seq=seqs[gateway.hwid]),
            )
            assert bundle is not None
            assert bundle.kid == successor
            assert [d.hwid for d in bundle.devices] == [PHONE]
    assert await _signing_kid(platform) == successor
    assert revoked not in await _published(http, url)
    signed_since = await admin_fetchval(
        platform,
        """SELECT count(*) FROM licensing.bundle WHERE kid = $1 AND hwid = ANY($2)
           AND issued_at > (SELECT revoked_at FROM licensing.signing_key WHERE kid = $1)""",
        revoked,
        [s.hwid for s in states],
    )
    assert signed_since == 0


def _newer_than(bundle: AcceptedBundle | None, *, seq: int) -> bool:
    return bundle is not None and bundle.seq > seq


async def _current_bundle(gateway: SimulatedGateway) -> AcceptedBundle | None:
    return gateway.current


async def test_a_revocation_needs_an_operator_and_an_idempotency_key_a_retry_replays_it_and_a_second_is_refused(
    distributor: Distributor, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    url = distributor.url
    rotated = await http.post(f"{url}/v1/signing-keys/rotation", headers=platform.auth("operator"))
    assert rotated.status_code == 202, rotated.text
    kid = rotated.json()["kid"]
    revocation = f"{url}/v1/signing-keys/{kid}/revocation"
    operator = {**platform.auth("operator"), "Idempotency-Key": f"revoke-{uuid.uuid4()}"}

    refused = await http.post(revocation, headers=platform.auth("operator"))
    assert (refused.status_code, refused.json()["code"]) == (400, "idempotency_key_required")
    for role in ("partner", "customer"):
        forbidden = await http.post(revocation, headers={**platform.auth(role), "Idempotency-Key": "k"})
        assert forbidden.status_code == 403
    assert (await http.post(revocation, headers={"Idempotency-Key": "k"})).status_code == 401
    unknown = await http.post(f"{url}/v1/signing-keys/bundle-000000000000/revocation", headers=operator)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    malformed = await http.post(f"{url}/v1/signing-keys/not%20a%20kid/revocation", headers=operator)
    assert malformed.status_code == 422
    assert kid in await _published(http, url)  # none of those did anything

    first = await http.post(revocation, headers=operator)
    assert first.status_code == 200, first.text
    revocations = await _metric(http, url, "license_distributor_signing_key_revocations_total")
    keys = await admin_fetchval(platform, "SELECT count(*) FROM licensing.signing_key")
    # A retry with the same key is a replay: the same answer, nothing done twice (no third key, no count).
    replay = await http.post(revocation, headers=operator)
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert await _metric(http, url, "license_distributor_signing_key_revocations_total") == revocations
    assert await admin_fetchval(platform, "SELECT count(*) FROM licensing.signing_key") == keys
    # Another request to revoke it again is refused.
    again = await http.post(revocation, headers={**operator, "Idempotency-Key": f"revoke-{uuid.uuid4()}"})
    assert (again.status_code, again.json()["code"]) == (409, "signing_key_already_revoked")
    assert kid not in await _published(http, url)


async def test_revoking_a_rotated_out_key_resigns_the_gateways_still_on_it_with_the_signing_key(
    distributor: Distributor, tenant: TenantFeed, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    await tenant.runway(depletes_in=None, balance=10**12)
    (state,) = await registered_gateways(tenant, platform, 1)
    old = (await _held_kids(platform, [state.hwid]))[state.hwid]
    pool = await create_pool(dsn=platform.database_url("licensing"), schema="licensing", max_size=2)
    try:
        # A rotation whose background work has not reached this gateway yet (no worker is woken by it).
        rotation = await service.request_key_rotation(
            pool, principal=OPERATOR, idempotency_key=None, now=datetime.now(UTC), grace=timedelta(days=1)
        )
    finally:
        await pool.close()
    headers = {**platform.auth("operator"), "Idempotency-Key": f"revoke-{uuid.uuid4()}"}
    answered = await http.post(f"{distributor.url}/v1/signing-keys/{old}/revocation", headers=headers)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert (body["rotated"], body["rotation_id"], body["replaced_by"]) == (False, None, rotation.kid)
    assert body["bundles_resigned"] >= 1
    assert (await _held_kids(platform, [state.hwid]))[state.hwid] == rotation.kid
    published = await _published(http, distributor.url)
    assert old not in published
    assert rotation.kid in published
    # The gateway, coming back, is handed the re-signed bundle and trusts it.
    async with running_gateway(state, distributor_url=distributor.url, client=http) as gateway:
        assert await eventually(functools.partial(_current_kid, gateway), until=lambda k: k == rotation.kid)


# ---- encryption at rest -----------------------------------------------------------------------------------------


async def test_the_stored_private_key_is_sealed_and_opens_only_with_the_right_kek_and_kid(
    distributor: Distributor, http: httpx.AsyncClient, platform: TestPlatform
) -> None:
    await _published(http, distributor.url)  # a key exists
    rows = await admin_fetch(
        platform,
        "SELECT kid, private_jwk, private_jwk_sealed, public_jwk FROM licensing.signing_key ORDER BY created_at",
    )
    assert rows
    kek = resolve_kek(value=None, file=Settings().key_encryption_key_file)
    wrong = KeyEncryptionKey.generate()
    for row in rows:
        assert row["private_jwk"] is None, row["kid"]
        sealed = bytes(row["private_jwk_sealed"])
        opened = open_private_jwk(kek, kid=row["kid"], sealed=sealed)
        public = json.loads(row["public_jwk"]) if isinstance(row["public_jwk"], str) else row["public_jwk"]
        # The private half is not in the row in any form we could read without the KEK...
        assert opened["d"].encode() not in sealed
        assert b64url_decode(opened["d"]) not in sealed
        # (Not `b'"d"' not in sealed`: three given bytes turn up in random ciphertext now and then, and did in CI.)
        assert json.dumps(opened).encode() not in sealed
        # ...and what opens is the private half of the published key.
        raw_public = Ed25519PrivateKey.from_private_bytes(b64url_decode(opened["d"])).public_key().public_bytes_raw()
        assert b64url_encode(raw_public).decode() == public["x"]
        with pytest.raises(KeyEncryptionError):
            open_private_jwk(wrong, kid=row["kid"], sealed=sealed)
        with pytest.raises(KeyEncryptionError):
            open_private_jwk(
                kek, kid=row["kid"] + "x", sealed=sealed
            )  # the kid is bound: no moving a sealed key to another row
    kek_text = base64.b64decode(kek.to_base64())
    assert all(kek_text not in bytes(r["private_jwk_sealed"]) for r in rows)


async def test_a_key_stored_in_plaintext_before_encryption_is_sealed_when_the_distributor_starts(
    platform: TestPlatform,
) -> None:
    legacy = generate_signing_key()
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        # As a database migrated from before keys were encrypted holds it: long retired, so it signs nothing here.
        await conn.execute(
            """INSERT INTO licensing.signing_key (kid, private_jwk, public_jwk, created_at, retired_at, published_until)
               VALUES ($1, $2::jsonb, $3::jsonb, '2000-01-01', '2000-01-02', '2000-01-03')""",
            legacy.kid,
            json.dumps(legacy.private_jwk),
            json.dumps(legacy.public_jwk),
        )
    finally:
        await conn.close()
    async with running_service(SPEC, platform.settings(Settings)):
        row = await admin_fetch(
            platform, "SELECT private_jwk, private_jwk_sealed FROM licensing.signing_key WHERE kid = $1", legacy.kid
        )
    assert row[0]["private_jwk"] is None
    kek = resolve_kek(value=None, file=Settings().key_encryption_key_file)
    assert open_private_jwk(kek, kid=legacy.kid, sealed=bytes(row[0]["private_jwk_sealed"])) == legacy.private_jwk
