"""What the wallet's integration tests do again and again: open, fund, drive rates (its events: `event_tap`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime

import httpx

from shared.events.contracts import RentalChanged
from shared.money import format_isc
from tests.harness import TestPlatform, admin_fetch, admin_fetchval, eventually, publish_event

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


async def account_where(
    wallet: httpx.AsyncClient, platform: TestPlatform, account_id: str, **expected: object
) -> dict[str, object]:
    """The account as read once every field of `expected` has its value."""

    async def probe() -> dict[str, object]:
        return await read_account(wallet, platform, account_id)

    return await eventually(probe, until=lambda a: all(a[k] == v for k, v in expected.items()))


async def usage_amounts(platform: TestPlatform, account_id: str) -> list[int]:
    """The usage entries settled into the account's ledger so far (micro-iSC, each negative)."""
    rows = await admin_fetch(
        platform,
        "SELECT amount FROM wallet.ledger_entry WHERE account_id = $1 AND kind = 'usage'",
        uuid.UUID(account_id),
    )
    return [int(r["amount"]) for r in rows]


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


async def start_burning(
    wallet: httpx.AsyncClient, platform: TestPlatform, account_id: str, *, rate_per_day: int
) -> datetime:
    """A first contract of the account rents at `rate_per_day` (micro-iSC); once the wallet burns at that rate,
    the instant it says the balance runs out."""
    await publish_rental_changed(
        platform, account_id=account_id, contract_id=uuid.uuid4(), rate_per_day=rate_per_day, version=1
    )
    burning = await account_where(wallet, platform, account_id, burn_rate_per_day=format_isc(rate_per_day))
    return datetime.fromisoformat(str(burning["depletes_at"]))


async def burning_account(
    wallet: httpx.AsyncClient, platform: TestPlatform, *, amount: str, rate_per_day: int
) -> tuple[str, datetime]:
    """A new account funded with `amount` iSC and burning at `rate_per_day`: its id and its run-out instant."""
    account_id = await open_account(wallet, platform)
    await fund(wallet, platform, account_id, amount=amount)
    return account_id, await start_burning(wallet, platform, account_id, rate_per_day=rate_per_day)


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
