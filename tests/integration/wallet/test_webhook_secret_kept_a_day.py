"""A webhook registration's answer, secret included, is kept sealed for 24 hours, as a key batch's codes are: a
retry by the same principal within them gets the first answer; after them, by another principal of the account, or
once the endpoint is deleted, it is told `webhook_secret_already_shown` with the endpoint's id, never the secret.

The wallet's clock is moved a day ahead, so this module has a platform (database, broker prefix) of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.harness import TestPlatform, admin_fetchval, clock_of, fresh_platform, running_service
from tests.integration.wallet.wallet_rig import open_account
from wallet import domain
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET


@pytest.fixture(scope="module")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    dev_dir: Path = tmp_path_factory.mktemp("webhook-secrets")
    async with fresh_platform(*infrastructure, dev_dir) as own:
        yield own


def settings(platform: TestPlatform, **overrides: object) -> WalletSettings:
    return platform.settings(WalletSettings, webhook_allow_private_targets=True, **overrides)


async def register(
    wallet: httpx.AsyncClient, headers: dict[str, str], account_id: str, key: str, url: str
) -> httpx.Response:
    return await wallet.post(
        f"/v1/accounts/{account_id}/webhook-endpoints", json={"url": url}, headers={**headers, "Idempotency-Key": key}
    )


def refused_without_the_secret(answer: httpx.Response, first: httpx.Response) -> None:
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "webhook_secret_already_shown"
    assert answer.json()["endpoint_id"] == first.json()["id"]
    assert first.json()["secret"] not in answer.text


async def kept_copies(platform: TestPlatform, endpoint_id: str) -> object:
    return await admin_fetchval(
        platform, "SELECT count(*) FROM wallet.shown_webhook_endpoint WHERE endpoint_id = $1", uuid.UUID(endpoint_id)
    )


async def test_a_retry_gets_the_secret_for_a_day_then_only_the_endpoint_id(platform: TestPlatform) -> None:
    async with running_service(WALLET, settings(platform)) as wallet:
        clock = clock_of(wallet)
        account = await open_account(wallet, platform, "Hooked")
        customer = platform.auth("customer", account_id=account)
        first = await register(wallet, customer, account, "hook-kept", "http://127.0.0.1:9/a")
        assert first.status_code == 201, first.text
        assert first.json()["secret"].startswith("whsec_")
        # Sealed at rest: the secret is not in the kept copy's bytes.
        sealed = await admin_fetchval(
            platform,
            "SELECT sealed FROM wallet.shown_webhook_endpoint WHERE endpoint_id = $1",
            uuid.UUID(first.json()["id"]),
        )
        assert isinstance(sealed, bytes)
        assert first.json()["secret"].encode() not in sealed

        clock.advance(domain.SHOWN_ANSWER_KEPT - timedelta(seconds=1))
        within = await register(wallet, customer, account, "hook-kept", "http://127.0.0.1:9/a")
        assert (within.status_code, within.json()) == (201, first.json())
        # Another principal of the account replaying the key learns the endpoint, not its secret.
        partner = await register(wallet, platform.auth("partner"), account, "hook-kept", "http://127.0.0.1:9/a")
        refused_without_the_secret(partner, first)
        # Another body under the key is refused as such, as everywhere.
        other_body = await register(wallet, customer, account, "hook-kept", "http://127.0.0.1:9/b")
        assert other_body.status_code == 422, other_body.text

        clock.advance(timedelta(seconds=1))
        after = await register(wallet, customer, account, "hook-kept", "http://127.0.0.1:9/a")
        refused_without_the_secret(after, first)

        # The next registration sweeps the expired sealed copy away.
        second = await register(wallet, customer, account, "hook-next", "http://127.0.0.1:9/c")
        assert second.status_code == 201, second.text
        assert await kept_copies(platform, first.json()["id"]) == 0

        # A deleted endpoint's secret is never shown again, even within the day.
        deleted = await wallet.delete(
            f"/v1/accounts/{account}/webhook-endpoints/{second.json()['id']}", headers=customer
        )
        assert deleted.status_code == 204, deleted.text
        assert await kept_copies(platform, second.json()["id"]) == 0
        refused_without_the_secret(
            await register(wallet, customer, account, "hook-next", "http://127.0.0.1:9/c"), second
        )


async def test_a_secret_sealed_under_another_key_is_not_shown(platform: TestPlatform) -> None:
    async with running_service(WALLET, settings(platform)) as wallet:
        account = await open_account(wallet, platform, "Rekeyed")
        customer = platform.auth("customer", account_id=account)
        first = await register(wallet, customer, account, "hook-rekeyed", "http://127.0.0.1:9/r")
        assert first.status_code == 201, first.text
    async with running_service(WALLET, settings(platform, key_batch_codes_key="A" * 43 + "=")) as wallet:
        retry = await register(wallet, customer, account, "hook-rekeyed", "http://127.0.0.1:9/r")
    refused_without_the_secret(retry, first)
