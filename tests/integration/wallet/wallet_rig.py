"""What the wallet's integration tests do again and again: open, fund, drive rates (its events: `event_tap`)."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from shared.events.contracts import RentalChanged
from tests.harness import TestPlatform, admin_fetchval, publish_event

ONE_ISC_PER_SECOND_PER_DAY = 86_400 * 1_000_000  # micro-iSC per day


def idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def open_account(wallet: httpx.AsyncClient, platform: TestPlatform, name: str = "Acme") -> str:
    response = await wallet.post("/v1/accounts", json={"name": name}, headers=platform.auth("partner"))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def issue_codes(
    wallet: httpx.AsyncClient, headers: dict[str, str], *, amount: str, count: int = 1
) -> list[dict[str, str]]:
    response = await wallet.post(
        "/v1/activation-keys", json={"amount": amount, "count": count}, headers={**headers, **idem()}
    )
    assert response.status_code == 201, response.text
    keys: list[dict[str, str]] = response.json()["keys"]
    return keys


async def fund(wallet: httpx.AsyncClient, platform: TestPlatform, account_id: str, *, amount: str) -> httpx.Response:
    [key] = await issue_codes(wallet, platform.auth("partner"), amount=amount)
    response = await wallet.post(
        f"/v1/accounts/{account_id}/redemptions",
        json={"code": key["code"]},
        headers={**platform.auth("customer", account_id=account_id), **idem()},
    )
    assert response.status_code == 201, response.text
    return response


async def read_account(wallet: httpx.AsyncClient, platform: TestPlatform, account_id: str) -> dict[str, object]:
    response = await wallet.get(f"/v1/accounts/{account_id}", headers=platform.auth("customer", account_id=account_id))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def publish_rental_changed(
    platform: TestPlatform,
    *,
    account_id: str,
    contract_id: uuid.UUID,
    rate_per_day: int,
    version: int,
    active: bool = True,
    message_id: str | None = None,
) -> str:
    """Publish as the contracts service would: a CloudEvents envelope on the events exchange, confirmed."""
    event = RentalChanged(
        contract_id=contract_id,
        account_id=uuid.UUID(account_id),
        burn_rate_per_day=rate_per_day,
        domains=[],
        version=version,
        active=active,
    )
    return await publish_event(platform, event, message_id=message_id)


async def handled_by_wallet(platform: TestPlatform, message_id: str) -> bool:
    """The wallet's inbox holds the message: it was handled (or ignored) and committed."""
    found = await admin_fetchval(
        platform, "SELECT EXISTS (SELECT 1 FROM wallet.inbox_message WHERE message_id = $1)", message_id
    )
    return bool(found)


async def wait_seconds_of_wall_clock(seconds: float) -> None:
    """Only to let real time pass inside a run-down (the thing under test is time), never to await a result."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(min(0.05, deadline - time.monotonic()))
