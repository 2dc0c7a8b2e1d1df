"""A publisher and a subscriber on the real Postgres and broker, in scratch schemas of the test database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.clock import SystemClock
from shared.config import ServiceSettings
from shared.context import HandlerContext, ServiceContext
from shared.db import connect, create_pool, transaction
from shared.events.wallet import AccountOpened
from shared.messaging.broker import Broker
from shared.messaging.consumer import Handler, InboxConsumer
from shared.messaging.outbox import OutboxRelay, add_to_outbox
from shared.migrations import SHARED_MIGRATIONS, migrate
from tests.harness import TestPlatform


@dataclass
class Rig:
    publisher_pool: asyncpg.Pool
    subscriber_pool: asyncpg.Pool
    publisher_schema: str
    subscriber_schema: str
    broker: Broker
    dsn: str
    queue: str

    async def publish(self, *names: str) -> None:
        for name in names:
            async with transaction(self.publisher_pool) as conn:
                await add_to_outbox(conn, AccountOpened(account_id=uuid.uuid4(), name=name))

    async def effects(self) -> list[str]:
        rows = await self.subscriber_pool.fetch("SELECT name FROM effect ORDER BY id")
        return [r["name"] for r in rows]

    async def unsent(self) -> int:
        return int(await self.publisher_pool.fetchval("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL"))

    def relay(
        self, relay_cls: type[OutboxRelay] = OutboxRelay, *, poll_interval_s: float = 0.2, **kwargs: object
    ) -> OutboxRelay:
        return relay_cls(
            pool=self.publisher_pool,
            broker=self.broker,
            schema=self.publisher_schema,
            source="rig",
            poll_interval_s=poll_interval_s,
            **kwargs,  # type: ignore[arg-type]
        )

    def consumer(self, handler: Handler | None = None, **kwargs: object) -> InboxConsumer:
        context = ServiceContext(
            settings=ServiceSettings(), clock=SystemClock(), pool=self.subscriber_pool, broker=self.broker
        )
        return InboxConsumer(
            context=context,
            queue=self.queue,
            subscriptions={AccountOpened: handler or record_effect},
            retry_delays_s=[0.05, 0.1],
            max_attempts=3,
            **kwargs,  # type: ignore[arg-type]
        )

    @asynccontextmanager
    async def flowing(self, *, poll_interval_s: float = 0.2) -> AsyncIterator[None]:
        """The consumer (recording effects) and a relay running until the block ends: events flow by themselves."""
        consumer = self.consumer()
        await consumer.start()
        relay = self.relay(poll_interval_s=poll_interval_s)
        relay_task = asyncio.create_task(relay.run())
        try:
            yield
        finally:
            relay.stop()
            await relay_task
            await consumer.stop()


async def record_effect(ctx: HandlerContext[Any], event: AccountOpened) -> None:
    await ctx.conn.execute("INSERT INTO effect (name, message_id) VALUES ($1, $2)", event.name, ctx.envelope.id)


@asynccontextmanager
async def messaging_rig(platform: TestPlatform) -> AsyncIterator[Rig]:
    suffix = uuid.uuid4().hex[:8]
    publisher_schema, subscriber_schema = f"rigpub_{suffix}", f"rigsub_{suffix}"
    dsn = platform.admin_database_url
    setup = await asyncpg.connect(dsn)
    try:
        for schema in (publisher_schema, subscriber_schema):
            await setup.execute(f"CREATE SCHEMA {schema}")
    finally:
        await setup.close()
    for schema in (publisher_schema, subscriber_schema):
        conn = await connect(dsn=dsn, schema=schema)
        try:
            await migrate(conn, schema=schema, sources=[("shared", SHARED_MIGRATIONS)])
        finally:
            await conn.close()
    publisher_pool = await create_pool(dsn=dsn, schema=publisher_schema)
    subscriber_pool = await create_pool(dsn=dsn, schema=subscriber_schema)
    await subscriber_pool.execute(
        "CREATE TABLE effect (id bigserial PRIMARY KEY, name text NOT NULL, message_id text NOT NULL)"
    )
    broker = Broker(url=platform.amqp_url, prefix=f"{platform.broker_prefix}{suffix}.", service=f"rig-{suffix}")
    await broker.connect()
    try:
        yield Rig(
            publisher_pool=publisher_pool,
            subscriber_pool=subscriber_pool,
            publisher_schema=publisher_schema,
            subscriber_schema=subscriber_schema,
            broker=broker,
            dsn=dsn,
            queue="rig.events",
        )
    finally:
        await broker.close()
        await publisher_pool.close()
        await subscriber_pool.close()
