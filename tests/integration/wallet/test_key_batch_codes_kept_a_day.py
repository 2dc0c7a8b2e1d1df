"""A key batch's codes are kept, sealed, for 24 hours: a retry within them gets the first answer, one after them
is told `codes_already_shown` with the ids (never the codes), and the sealed copy is gone.

The wallet's clock is moved a day ahead, so this module has a platform (database, broker prefix) of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from shared.dev_issuer import issue_token, load_or_create_key
from tests.harness import TestPlatform, admin_fetchval, clock_of, fresh_platform, running_service
from wallet import domain
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET


@pytest.fixture(scope="module")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    dev_dir: Path = tmp_path_factory.mktemp("key-batch-codes")
    async with fresh_platform(*infrastructure, dev_dir) as own:
        yield own


async def test_a_retry_gets_the_codes_for_a_day_and_then_only_the_ids(platform: TestPlatform) -> None:
    token = issue_token(load_or_create_key(platform.dev_dir), roles=["partner"], subject="partner-kept")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "batch-kept"}
    body = {"amount": "3", "count": 2}
    async with running_service(WALLET, platform.settings(WalletSettings)) as wallet:
        clock = clock_of(wallet)
        first = await wallet.post("/v1/activation-keys", json=body, headers=headers)
        assert first.status_code == 201, first.text

        clock.advance(domain.SHOWN_CODES_KEPT - timedelta(seconds=1))
        within = await wallet.post("/v1/activation-keys", json=body, headers=headers)
        assert (within.status_code, within.json()) == (201, first.json())

        clock.advance(timedelta(seconds=1))
        after = await wallet.post("/v1/activation-keys", json=body, headers=headers)
        assert after.status_code == 409, after.text
        problem = after.json()
        assert problem["code"] == "codes_already_shown"
        assert problem["batch_id"] == first.json()["batch_id"]
        assert problem["key_ids"] == [key["id"] for key in first.json()["keys"]]
        assert not any(key["code"] in after.text for key in first.json()["keys"])

        # The next batch sweeps the expired sealed copy away.
        other = await wallet.post("/v1/activation-keys", json=body, headers={**headers, "Idempotency-Key": "next"})
        assert other.status_code == 201
        kept = await admin_fetchval(
            platform,
            "SELECT count(*) FROM wallet.shown_key_batch WHERE batch_id = $1",
            uuid.UUID(first.json()["batch_id"]),
        )
        assert kept == 0


async def test_codes_sealed_under_another_key_are_not_shown(platform: TestPlatform) -> None:
    token = issue_token(load_or_create_key(platform.dev_dir), roles=["partner"], subject="partner-rekeyed")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "batch-rekeyed"}
    body = {"amount": "2", "count": 1}
    async with running_service(WALLET, platform.settings(WalletSettings)) as wallet:
        first = await wallet.post("/v1/activation-keys", json=body, headers=headers)
        assert first.status_code == 201, first.text
    rekeyed = platform.settings(WalletSettings, key_batch_codes_key="A" * 43 + "=")
    async with running_service(WALLET, rekeyed) as wallet:
        retry = await wallet.post("/v1/activation-keys", json=body, headers=headers)
    assert retry.status_code == 409, retry.text
    assert retry.json()["batch_id"] == first.json()["batch_id"]
    assert first.json()["keys"][0]["code"] not in retry.text
