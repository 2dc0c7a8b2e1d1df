"""Retention of the wallet's outbound rows on real Postgres: finished webhook deliveries (with their attempts),
messages no delivery refers to, and sent e-mail notices go once older than their retention; a pending delivery, and
the message it needs, stay until its endpoint is deleted.

The retention round (`retention.sweep_outbound`, what the job runs) is called at chosen instants of the wallet's
time, so the test moves no clock; the senders deliver for real meanwhile.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from shared.runtime import Runtime
from tests.harness import TestPlatform, admin_count, clock_of, eventually, fresh_platform, running_service
from tests.integration.wallet.outbound_rig import (
    Receiver,
    put_contacts,
    register_endpoint,
    serving_receiver,
    smtp_sink,
)
from tests.integration.wallet.wallet_rig import fund, open_account, publish_rental_changed
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET
from wallet.retention import sweep_outbound

RETENTION_DAYS = 30


@pytest.fixture(scope="module")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    async with fresh_platform(*infrastructure, tmp_path_factory.mktemp("outbound-retention")) as own:
        yield own


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving_receiver() as running:
        yield running


def runtime_of(wallet: httpx.AsyncClient) -> Runtime[WalletSettings]:
    runtime = wallet.app.state.runtime  # type: ignore[attr-defined]
    assert isinstance(runtime, Runtime)
    return runtime


async def rows(platform: TestPlatform, table: str, column: str, value: str) -> int:
    return await admin_count(platform, f"SELECT count(*) FROM wallet.{table} WHERE {column} = $1", uuid.UUID(value))


async def test_finished_rows_go_after_their_retention_and_a_pending_delivery_stays_with_its_message(
    platform: TestPlatform, receiver: Receiver
) -> None:
    receiver.failing.add("down")
    async with (
        smtp_sink() as (sink, smtp_port),
        running_service(
            WALLET,
            platform.settings(
                WalletSettings,
                webhook_allow_private_targets=True,
                smtp_port=smtp_port,
                notice_retention_days=RETENTION_DAYS,
                webhook_retention_days=RETENTION_DAYS,
            ),
        ) as wallet,
    ):
        account = await open_account(wallet, platform, "Retained")
        customer = platform.auth("customer", account_id=account)
        await put_contacts(wallet, platform, account, ["ops@retained.example"])
        ok = await register_endpoint(wallet, customer, account, f"{receiver.url}/ok")
        down = await register_endpoint(wallet, customer, account, f"{receiver.url}/down")
        # A day of credit at this rate: the account is warned at once (the ladder's last rung), by webhook and mail.
        await fund(wallet, platform, account, amount="5")
        await publish_rental_changed(
            platform, account_id=account, contract_id=uuid.uuid4(), rate_per_day=5_000_000, version=1
        )
        await eventually(lambda: rows(platform, "email_notice", "account_id", account), until=lambda n: n >= 1)
        await eventually(lambda: _sent_notices(platform, account), until=lambda n: n >= 1, within=15)
        assert sink.to("ops@retained.example")
        delivered = await eventually(lambda: _delivered(platform, ok["id"]), until=lambda n: n >= 3, within=15)
        await eventually(lambda: _attempted(platform, down["id"]), until=lambda n: n >= delivered, within=15)
        pending = await rows(platform, "webhook_delivery", "endpoint_id", down["id"])
        notices = await _sent_notices(platform, account)

        runtime, now = runtime_of(wallet), clock_of(wallet).now()
        early = await sweep_outbound(runtime, now=now + timedelta(days=RETENTION_DAYS - 1))
        assert (early["webhook_rows"], early["email_notices"]) == (0, 0)

        late = await sweep_outbound(runtime, now=now + timedelta(days=RETENTION_DAYS + 1))
        # The delivered ones went with their attempts; the failing endpoint's, still pending, stayed, and so did
        # every message (each is still needed by a pending delivery); the sent notices went.
        assert late["webhook_rows"] >= delivered
        assert late["email_notices"] >= notices
        assert await rows(platform, "webhook_delivery", "endpoint_id", ok["id"]) == 0
        assert (
            await admin_count(
                platform,
                "SELECT count(*) FROM wallet.webhook_attempt a JOIN wallet.webhook_delivery d ON d.id = a.delivery_id"
                " WHERE d.endpoint_id = $1",
                uuid.UUID(ok["id"]),
            )
            == 0
        )
        assert await rows(platform, "webhook_delivery", "endpoint_id", down["id"]) == pending
        assert await rows(platform, "webhook_message", "account_id", account) >= pending
        assert await _sent_notices(platform, account) == 0

        # Once its endpoint is deleted, the pending delivery goes too, and then the messages.
        gone = await wallet.delete(f"/v1/accounts/{account}/webhook-endpoints/{down['id']}", headers=customer)
        assert gone.status_code == 204, gone.text
        await sweep_outbound(runtime, now=now + timedelta(days=RETENTION_DAYS + 1))
        assert await rows(platform, "webhook_delivery", "endpoint_id", down["id"]) == 0
        assert await rows(platform, "webhook_message", "account_id", account) == 0


async def _delivered(platform: TestPlatform, endpoint_id: str) -> int:
    return await admin_count(
        platform,
        "SELECT count(*) FROM wallet.webhook_delivery WHERE endpoint_id = $1 AND status = 'delivered'",
        uuid.UUID(endpoint_id),
    )


async def _attempted(platform: TestPlatform, endpoint_id: str) -> int:
    return await admin_count(
        platform,
        "SELECT count(*) FROM wallet.webhook_delivery WHERE endpoint_id = $1 AND attempts >= 1",
        uuid.UUID(endpoint_id),
    )


async def _sent_notices(platform: TestPlatform, account_id: str) -> int:
    return await admin_count(
        platform,
        "SELECT count(*) FROM wallet.email_notice WHERE account_id = $1 AND status = 'sent'",
        uuid.UUID(account_id),
    )
