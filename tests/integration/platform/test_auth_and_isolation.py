"""Authentication answers as problem+json, and each service's role is walled into its own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.harness import TestPlatform, running_service
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

SCHEMAS = ["wallet", "contracts", "provisioning", "licensing"]


@pytest.fixture(scope="module")
async def wallet(platform: TestPlatform) -> AsyncIterator[httpx.AsyncClient]:
    async with running_service(WALLET, platform.settings(WalletSettings)) as client:
        yield client


async def test_a_request_without_a_token_gets_401_problem_json(wallet: httpx.AsyncClient) -> None:
    response = await wallet.post("/v1/accounts", json={"name": "Acme"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "missing_token"


async def test_a_forged_or_garbled_token_gets_401(wallet: httpx.AsyncClient, platform: TestPlatform) -> None:
    token = platform.token("operator")
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    for bad in (forged, "not-a-jwt", f"{header}.{payload}."):
        response = await wallet.post("/v1/accounts", json={"name": "Acme"}, headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
        assert response.json()["code"] == "invalid_token"


async def test_a_token_of_the_wrong_role_gets_403_problem_json(
    wallet: httpx.AsyncClient, platform: TestPlatform
) -> None:
    customer = platform.auth("customer", account_id="00000000-0000-4000-8000-000000000002")
    response = await wallet.post("/v1/accounts", json={"name": "Acme"}, headers=customer)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "role_required"


async def test_bad_input_and_unknown_routes_are_problem_json(wallet: httpx.AsyncClient, platform: TestPlatform) -> None:
    partner = platform.auth("partner")
    unknown_field = await wallet.post("/v1/accounts", json={"name": "A", "balance": "100"}, headers=partner)
    assert unknown_field.status_code == 422
    assert unknown_field.json()["code"] == "validation_failed"
    missing = await wallet.get("/v1/no-such-thing", headers=partner)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    huge = await wallet.post("/v1/accounts", content=b"{" + b" " * 200_000 + b"}", headers=partner)
    assert huge.status_code == 413
    assert huge.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("role", SCHEMAS)
async def test_a_service_role_is_refused_in_every_other_schema(platform: TestPlatform, role: str) -> None:
    # Make sure every schema has a table to try (the services migrate on start; this test may run first).
    admin = await asyncpg.connect(platform.admin_database_url)
    try:
        for schema in SCHEMAS:
            await admin.execute(f"CREATE TABLE IF NOT EXISTS {schema}.isolation_probe (id int)")
            await admin.execute(f"ALTER TABLE {schema}.isolation_probe OWNER TO {schema}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(platform.database_url(role))
    try:
        assert await conn.fetchval(f"SELECT count(*) FROM {role}.isolation_probe") == 0
        for other in SCHEMAS:
            if other == role:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {other}.isolation_probe")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f"CREATE TABLE {other}.intruder (id int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE public.intruder (id int)")
    finally:
        await conn.close()
