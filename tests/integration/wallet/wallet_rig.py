"""What the wallet's integration tests do again and again: open, fund, drive rates, watch published events."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aio_pika
import httpx
from aio_pika.abc import AbstractIncomingMessage

from shared.events.contracts import RentalChanged
from shared.messaging.envelope import CONTENT_TYPE, Envelope
from shared.messaging.topology import Topology
from tests.harness import TestPlatform, admin_fetchval, eventually

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
    envelope = Envelope.of(
        id=message_id or str(uuid.uuid4()),
        source="/contracts",
        type=RentalChanged.routing_key(),
        time=datetime.now(UTC),
        subject=str(contract_id),
        data=event.model_dump(mode="json"),
        traceparent=None,
    )
    connection = await aio_pika.connect(platform.amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await Topology(prefix=platform.broker_prefix).declare_exchanges(channel)
        await exchange.publish(
            aio_pika.Message(
                envelope.to_bytes(),
                content_type=CONTENT_TYPE,
                message_id=envelope.id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=RentalChanged.routing_key(),
        )
    finally:
        await connection.close()
    return envelope.id


async def handled_by_wallet(platform: TestPlatform, message_id: str) -> bool:
    """The wallet's inbox holds the message: it was handled (or ignored) and committed."""
    found = await admin_fetchval(
        platform, "SELECT EXISTS (SELECT 1 FROM wallet.inbox_message WHERE message_id = $1)", message_id
    )
    return bool(found)


@dataclass(frozen=True)
class Received:
    envelope: Envelope
    # Wall-clock instant at which the test received the message.
    received_at: datetime


@dataclass
class EventTap:
    """Every event the wallet publishes, as a consumer would receive it from the broker."""

    received: list[Received] = field(default_factory=list)

    def of(self, account_id: str, event_type: str) -> list[Received]:
        return [r for r in self.received if r.envelope.subject == account_id and r.envelope.type == event_type]

    async def wait_for(
        self, account_id: str, event_type: str, *, count: int = 1, within: float = 10.0
    ) -> list[Received]:
        async def probe() -> list[Received]:
            return self.of(account_id, event_type)

        return await eventually(probe, until=lambda found: len(found) >= count, within=within)


@asynccontextmanager
async def event_tap(platform: TestPlatform) -> AsyncIterator[EventTap]:
    tap = EventTap()
    connection = await aio_pika.connect(platform.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await Topology(prefix=platform.broker_prefix).declare_exchanges(channel)
        queue = await channel.declare_queue(
            f"{platform.broker_prefix}tap.{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True
        )
        await queue.bind(exchange, routing_key="wallet.#")

        async def on_message(message: AbstractIncomingMessage) -> None:
            async with message.process():
                tap.received.append(Received(Envelope.from_bytes(message.body), datetime.now(UTC)))

        await queue.consume(on_message)
        yield tap
    finally:
        await connection.close()


async def wait_seconds_of_wall_clock(seconds: float) -> None:
    """Only to let real time pass inside a run-down (the thing under test is time), never to await a result."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(min(0.05, deadline - time.monotonic()))
