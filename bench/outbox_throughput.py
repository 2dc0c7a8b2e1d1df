"""Events per second through outbox → relay → broker → inbox, next to raw aio-pika publish (confirmed) +
consume (acked) of the same number of persistent messages through a quorum queue.

Run: `make bench` (or `uv run python -m bench.outbox_throughput --events 5000`). Uses a scratch database
and a broker name prefix of its own on the local Postgres and RabbitMQ, and removes both afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from typing import Any

import aio_pika
import asyncpg

from bench.results import Row, print_rows, ratio_row, save
from bench.scratch import ADMIN_URL, scratch_database
from shared.clock import SystemClock
from shared.config import ServiceSettings
from shared.context import HandlerContext, ServiceContext
from shared.db import connect, create_pool, transaction
from shared.events.wallet import AccountOpened
from shared.logging import configure_logging
from shared.messaging.broker import Broker
from shared.messaging.consumer import InboxConsumer
from shared.messaging.outbox import OutboxRelay, add_to_outbox
from shared.migrations import SHARED_MIGRATIONS, migrate

AMQP_URL = os.environ.get("RENTAL_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BATCH = 200  # the relay's default batch: the raw baseline publishes with the same concurrency


async def raw_publish_and_consume(prefix: str, events: int) -> float:
    """The baseline: aio-pika alone, persistent messages to a quorum queue, confirms awaited per batch, and a
    consumer acking each one; the rate at which they are consumed."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(f"{prefix}raw", aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(f"{prefix}raw", durable=True, arguments={"x-queue-type": "quorum"})
        await queue.bind(exchange, routing_key="#")
        consuming = await connection.channel()
        await consuming.set_qos(prefetch_count=BATCH)
        consumed = 0
        all_consumed = asyncio.Event()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal consumed
            await message.ack()
            consumed += 1
            if consumed == events:
                all_consumed.set()

        await (await consuming.get_queue(queue.name)).consume(on_message)
        body = b'{"specversion":"1.0","data":{"name":"raw"}}' * 3
        started = time.perf_counter()
        for offset in range(0, events, BATCH):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key="raw.x"
                    )
                    for _ in range(min(BATCH, events - offset))
                )
            )
        await asyncio.wait_for(all_consumed.wait(), timeout=120)
        elapsed = time.perf_counter() - started
        await consuming.close()
        await queue.delete(if_unused=False, if_empty=False)
        await exchange.delete()
        return events / elapsed
    finally:
        await connection.close()


async def migrate_scratch_schemas(dsn: str, *schemas: str) -> None:
    """Each schema with the shared messaging tables (outbox, inbox), as a service's own schema has them."""
    setup = await asyncpg.connect(dsn)
    for schema in schemas:
        await setup.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    await setup.close()
    for schema in schemas:
        conn = await connect(dsn=dsn, schema=schema)
        await migrate(conn, schema=schema, sources=[("shared", SHARED_MIGRATIONS)])
        await conn.close()


async def delete_bench_queues(broker: Broker, prefix: str) -> None:
    channel = await broker.channel()
    for name in (
        "bench.events",
        "bench.events.dead",
        "bench.events.retry.200ms",
        "bench.events.retry.1000ms",
        "bench.events.retry.5000ms",
        "bench.events.retry.30000ms",
        "rental.unrouted",
    ):
        await channel.queue_delete(prefix + name)


async def pipeline(database: str, prefix: str, events: int, writers: int) -> tuple[float, float, float]:
    """Rates: the relay alone, draining pre-written events, and end to end with `writers` writing."""
    dsn = ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    await migrate_scratch_schemas(dsn, "bench_pub", "bench_sub")
    publisher = await create_pool(dsn=dsn, schema="bench_pub", max_size=writers + 2)
    subscriber = await create_pool(dsn=dsn, schema="bench_sub", max_size=10)
    await subscriber.execute("CREATE TABLE IF NOT EXISTS effect (id bigserial PRIMARY KEY, name text)")
    broker = Broker(url=AMQP_URL, prefix=prefix, service="bench")
    await broker.connect()

    async def record(ctx: HandlerContext[Any], event: AccountOpened) -> None:
        await ctx.conn.execute("INSERT INTO effect (name) VALUES ($1)", event.name)

    defaults = ServiceSettings()  # the consumer as every service runs it
    consumer = InboxConsumer(
        context=ServiceContext(settings=defaults, clock=SystemClock(), pool=subscriber, broker=broker),
        queue="bench.events",
        subscriptions={AccountOpened: record},
        prefetch=defaults.consumer_prefetch,
        batch_size=defaults.consumer_batch_size,
    )
    # Declare the consumer's queue now (so nothing is unroutable) but consume only after the relay phase.
    setup_channel = await broker.channel()
    await broker.topology.declare_consumer_queue(
        setup_channel,
        queue="bench.events",
        routing_keys=[AccountOpened.routing_key()],
        delivery_limit=20,
        retry_delays_s=[0.2, 1.0, 5.0, 30.0],
    )
    await setup_channel.close()

    async def write(count: int, label: str) -> None:
        for _ in range(count):
            async with transaction(publisher) as conn:
                await add_to_outbox(conn, AccountOpened(account_id=uuid.uuid4(), name=label))

    async def wait_for(total: int) -> None:
        while await subscriber.fetchval("SELECT count(*) FROM effect") < total:
            await asyncio.sleep(0.02)

    try:
        # 1. Relay alone, then the consumer drains: events already in the outbox when the clock starts.
        await asyncio.gather(*(write(events // writers, "drain") for _ in range(writers)))
        written = (events // writers) * writers
        relay = OutboxRelay(pool=publisher, broker=broker, schema="bench_pub", source="bench")
        started = time.perf_counter()
        relay_task = asyncio.create_task(relay.run())
        while await publisher.fetchval("SELECT count(*) FROM outbox_message WHERE sent_at IS NULL") > 0:
            await asyncio.sleep(0.02)
        relay_rate = written / (time.perf_counter() - started)
        await consumer.start()  # after the relay phase, so that phase measures the relay alone
        await wait_for(written)
        drain_rate = written / (time.perf_counter() - started)  # relay + consumer, one after the other

        # 2. End to end: concurrent business transactions write while the relay and consumer run.
        started = time.perf_counter()
        await asyncio.gather(*(write(events // writers, "e2e") for _ in range(writers)))
        await wait_for(2 * written)
        e2e_rate = written / (time.perf_counter() - started)
        relay.stop()
        await relay_task
        return relay_rate, drain_rate, e2e_rate
    finally:
        await consumer.stop()
        await delete_bench_queues(broker, prefix)
        await broker.close()
        await publisher.close()
        await subscriber.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=16)
    args = parser.parse_args()
    configure_logging(service="bench", level="WARNING", json=True)
    async with scratch_database("rental_bench") as database:
        prefix = f"{database}."
        raw = await raw_publish_and_consume(prefix, args.events)
        relay, drain, e2e = await pipeline(database, prefix, args.events, args.writers)
    rows = [
        Row("raw aio-pika publish (confirmed) + consume (acked) (baseline)", raw, "ev/s"),
        Row("outbox relay -> broker (confirmed)", relay, "ev/s", raw),
        # The pipeline itself: events in the outbox, relayed, routed, handled by the inbox consumer.
        ratio_row("outbox drain -> broker -> inbox (handled)", drain, "ev/s", baseline=raw, at_least=0.5),
        # The same with the writers' business transactions running in the same process at the same time.
        Row(f"{args.writers} writers + outbox -> broker -> inbox (handled)", e2e, "ev/s", raw),
    ]
    save("outbox_throughput", rows, parameters={"events": args.events, "writers": args.writers, "batch": BATCH})
    print_rows("outbox_throughput", rows)


if __name__ == "__main__":
    asyncio.run(main())
