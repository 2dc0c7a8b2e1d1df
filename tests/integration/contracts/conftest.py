"""The contracts service for real (Postgres, RabbitMQ, its consumer and relay), fed by real CloudEvents.

Wallet and provisioning events are published through a real outbox and relay from a scratch schema, so
contracts receives exactly what it would receive from those services. An observer queue records what
contracts publishes. The rig uses its own broker prefix, so other suites' services never see these events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg
import httpx
import pytest

from contracts.config import Settings
from contracts.main import SPEC
from shared.db import connect, create_pool, transaction
from shared.events.base import Event
from shared.events.contracts import RentalChanged
from shared.events.provisioning import DeviceProvisioned, DeviceRemoved, DomainCreated
from shared.events.wallet import AccountOpened, RunwayChanged
from shared.messaging.broker import Broker
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import OutboxRelay, add_to_outbox
from shared.migrations import SHARED_MIGRATIONS, migrate
from tests.harness import EventTap, TestPlatform, delete_prefixed_broker_objects, event_tap, eventually, running_service

ISC = 1_000_000
DeviceEvent = TypeVar("DeviceEvent", DeviceProvisioned, DeviceRemoved)


def device_event(
    event_type: type[DeviceEvent], device_id: uuid.UUID, *, domain_id: uuid.UUID, account_id: uuid.UUID, product: str
) -> DeviceEvent:
    """A phone's event as provisioning publishes it (the hardware id this rig gives a device: from its id)."""
    return event_type(
        device_id=device_id,
        domain_id=domain_id,
        account_id=account_id,
        hwid=device_id.hex[:12],
        product=product,
        type="PHONE",
    )


@dataclass
class ContractsRig:
    platform: TestPlatform
    client: httpx.AsyncClient
    feed_pool: asyncpg.Pool
    db: asyncpg.Pool
    published: EventTap  # what contracts publishes

    # --- feeding other services' events ---------------------------------------------------------------------

    async def feed(self, *events: Event) -> list[str]:
        """Publish events as the wallet or provisioning would: through an outbox, a relay and the broker."""
        ids = []
        async with transaction(self.feed_pool) as conn:
            for event in events:
                ids.append(str(await add_to_outbox(conn, event)))
        return ids

    async def consumed(self, message_ids: list[str]) -> bool:
        count = await self.db.fetchval(
            "SELECT count(*) FROM contracts.inbox_message WHERE message_id = ANY($1::text[])", message_ids
        )
        return bool(count == len(message_ids))

    async def feed_and_wait(self, *events: Event) -> list[str]:
        ids = await self.feed(*events)
        await eventually(lambda: self.consumed(ids))
        return ids

    # --- what contracts published ---------------------------------------------------------------------------

    def events(self, event_type: str, *, contract_id: uuid.UUID | str) -> list[Envelope]:
        return [
            r.envelope
            for r in self.published.received
            if r.envelope.type == f"contracts.{event_type}" and r.envelope.data.get("contract_id") == str(contract_id)
        ]

    def rental_changes(self, contract_id: uuid.UUID | str) -> list[RentalChanged]:
        return [RentalChanged.model_validate(e.data) for e in self.events("rental_changed", contract_id=contract_id)]

    async def latest_rental(self, contract_id: uuid.UUID | str, *, version: int) -> RentalChanged:
        """The newest RentalChanged once the one with `version` has arrived."""

        async def newest() -> RentalChanged | None:
            changes = self.rental_changes(contract_id)
            return max(changes, key=lambda c: c.version) if changes else None

        found = await eventually(newest, until=lambda c: c is not None and c.version >= version)
        assert found is not None
        return found

    # --- stories ------------------------------------------------------------------------------------------

    def auth(self, role: str, account_id: uuid.UUID | None = None) -> dict[str, str]:
        return self.platform.auth(role, account_id=account_id)

    @staticmethod
    def keyed(headers: dict[str, str]) -> dict[str, str]:
        """The headers with a fresh Idempotency-Key, which every request changing what is burnt needs."""
        return {**headers, "Idempotency-Key": uuid.uuid4().hex}

    async def funded_account(self, *, balance: int = 100 * ISC, version: int = 1) -> uuid.UUID:
        account_id = uuid.uuid4()
        await self.feed_and_wait(
            AccountOpened(account_id=account_id, name=f"acct-{account_id.hex[:6]}", opened_by="dev-partner"),
            RunwayChanged(
                account_id=account_id,
                balance=balance,
                burn_rate_per_day=0,
                depletes_at=None,
                version=version,
                at=datetime.now(UTC),
            ),
        )
        return account_id

    async def domain_with_devices(
        self, account_id: uuid.UUID, *, products: list[str]
    ) -> tuple[uuid.UUID, list[uuid.UUID]]:
        domain_id = uuid.uuid4()
        devices = [uuid.uuid4() for _ in products]
        await self.feed_and_wait(
            DomainCreated(domain_id=domain_id, account_id=account_id, name=f"pbx-{domain_id.hex[:6]}"),
            *(
                device_event(DeviceProvisioned, device_id, domain_id=domain_id, account_id=account_id, product=product)
                for device_id, product in zip(devices, products, strict=True)
            ),
        )
        return domain_id, devices

    async def open_contract(self, account_id: uuid.UUID) -> uuid.UUID:
        response = await self.client.post(
            "/v1/contracts", json={"account_id": str(account_id)}, headers=self.auth("partner")
        )
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["id"])

    async def active_contract(self, account_id: uuid.UUID) -> uuid.UUID:
        contract_id = await self.open_contract(account_id)
        accepted = await self.client.post(
            f"/v1/contracts/{contract_id}/acceptance", headers=self.auth("customer", account_id)
        )
        assert accepted.status_code == 200, accepted.text
        approved = await self.client.post(f"/v1/contracts/{contract_id}/approval", headers=self.auth("operator"))
        assert approved.status_code == 200, approved.text
        return contract_id

    async def link(self, contract_id: uuid.UUID, domain_id: uuid.UUID) -> None:
        response = await self.client.post(
            f"/v1/contracts/{contract_id}/domains", json={"domain_id": str(domain_id)}, headers=self.auth("operator")
        )
        assert response.status_code == 201, response.text

    async def tariff(self, product: str, rate: str = "2", licences: list[dict[str, object]] | None = None) -> None:
        body = {"rate_per_day": rate, "licences": licences if licences is not None else [{"type": "PORT", "count": 1}]}
        response = await self.client.put(f"/v1/tariffs/{product}", json=body, headers=self.auth("operator"))
        assert response.status_code == 200, response.text

    async def activate(self, contract_id: uuid.UUID, device_id: uuid.UUID, account_id: uuid.UUID) -> httpx.Response:
        return await self.client.post(
            f"/v1/contracts/{contract_id}/rentals",
            json={"device_id": str(device_id)},
            headers=self.keyed(self.auth("customer", account_id)),
        )

    async def renting_story(
        self, *, products: list[str], rate: str = "2"
    ) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, list[uuid.UUID]]:
        """A funded account with an active contract, a linked domain with devices, tariffs for their products."""
        account_id = await self.funded_account()
        domain_id, devices = await self.domain_with_devices(account_id, products=products)
        for product in set(products):
            await self.tariff(product, rate)
        contract_id = await self.active_contract(account_id)
        await self.link(contract_id, domain_id)
        return account_id, contract_id, domain_id, devices


def product_name() -> str:
    return f"phone-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def feeding_outbox(platform: TestPlatform, *, schema: str, broker_prefix: str) -> AsyncIterator[asyncpg.Pool]:
    """A scratch schema with the shared outbox and a real relay publishing it: other services' events arrive
    exactly as those services would send them. Yields the pool to write the outbox with."""
    admin = await asyncpg.connect(platform.admin_database_url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
    finally:
        await admin.close()
    conn = await connect(dsn=platform.admin_database_url, schema=schema)
    try:
        await migrate(conn, schema=schema, sources=[("shared", SHARED_MIGRATIONS)])
    finally:
        await conn.close()
    feed_pool = await create_pool(dsn=platform.admin_database_url, schema=schema)
    feed_broker = Broker(url=platform.amqp_url, prefix=broker_prefix, service=f"feed-{schema}")
    await feed_broker.connect()
    relay = OutboxRelay(pool=feed_pool, broker=feed_broker, schema=schema, source="test-feed", poll_interval_s=0.2)
    relay_task = asyncio.create_task(relay.run())
    try:
        yield feed_pool
    finally:
        relay.stop()
        await asyncio.gather(relay_task, return_exceptions=True)
        await feed_broker.close()
        await feed_pool.close()


@asynccontextmanager
async def contracts_rig(platform: TestPlatform) -> AsyncIterator[ContractsRig]:
    """Contracts for real on its own broker prefix, fed through an outbox, with a tap on what it publishes."""
    suffix = uuid.uuid4().hex[:8]
    prefix = f"{platform.broker_prefix}contracts-{suffix}."
    settings = platform.settings(Settings, broker_prefix=prefix, database_pool_max=20)
    try:
        async with (
            feeding_outbox(platform, schema=f"feed_{suffix}", broker_prefix=prefix) as feed_pool,
            running_service(SPEC, settings) as client,
            event_tap(platform, "contracts.#", broker_prefix=prefix) as published,
        ):
            db = await create_pool(dsn=platform.admin_database_url, schema="contracts", max_size=4)
            try:
                yield ContractsRig(platform=platform, client=client, feed_pool=feed_pool, db=db, published=published)
            finally:
                await db.close()
    finally:
        await delete_prefixed_broker_objects(platform.amqp_url, prefix)


@pytest.fixture(scope="module")
async def rig(platform: TestPlatform) -> AsyncIterator[ContractsRig]:
    async with contracts_rig(platform) as running:
        yield running
