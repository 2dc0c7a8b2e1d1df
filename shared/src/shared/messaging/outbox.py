"""Transactional outbox: events are written in the caller's transaction and published later by the relay.

The relay claims unsent rows with `FOR UPDATE SKIP LOCKED` (so replicas share the work), publishes them
with publisher confirms, and marks them sent only after the broker confirmed. A crash in between means
the event is published again; consumers' inboxes make that harmless.

Waking: the transaction that wrote outbox rows wakes this process's relays right after its commit
(`shared.db.after_commit`), so the writer's own replica publishes at once. Nothing notifies through
Postgres: a transaction that queued a NOTIFY takes an instance-wide lock at commit and holds it through
the WAL flush, so every outbox-writing commit of every service would wait for the others. Other replicas
find rows left behind (their writer crashed before publishing, or wrote them outside `transaction()`) by
a short poll, which costs one indexed query per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

import aio_pika
import asyncpg
import structlog
from prometheus_client import Counter

from shared.db import Write, after_commit
from shared.events.base import Event
from shared.messaging.broker import Broker, discard_channel, this_task_is_cancelled
from shared.messaging.envelope import CONTENT_TYPE, Envelope
from shared.tracing import current_traceparent

log = structlog.get_logger()
PUBLISHED = Counter("outbox_published_total", "Events published and confirmed by the broker", ["service"])
PUBLISH_FAILED = Counter("outbox_publish_failed_total", "Publish attempts that failed", ["service"])


# WITH ORDINALITY keeps the events' order in `created_at` (clock_timestamp() per row, in insertion order).
_INSERT = """INSERT INTO outbox_message (id, routing_key, event_type, subject, payload, traceparent)
             SELECT m.id, m.routing_key, m.event_type, m.subject, m.payload, {5}
             FROM unnest({0}::uuid[], {1}::text[], {2}::text[], {3}::text[], {4}::jsonb[])
                  WITH ORDINALITY AS m (id, routing_key, event_type, subject, payload, position)
             ORDER BY m.position"""

# The relays running in this process: a committed outbox row wakes them (each publishes only its own
# service's table, so waking a relay of another service in the same process only costs it one query).
_local_relays: weakref.WeakSet[OutboxRelay] = weakref.WeakSet()


def wake_local_relays() -> None:
    for relay in list(_local_relays):
        relay.wake()


async def add_to_outbox(conn: asyncpg.Connection, event: Event) -> uuid.UUID:
    """Record `event` for publication. Call inside the transaction that makes the change it reports."""
    (message_id,) = await add_all_to_outbox(conn, [event])
    return message_id


async def add_all_to_outbox(conn: asyncpg.Connection, events: Sequence[Event]) -> list[uuid.UUID]:
    """Record several events in one round trip, in order; the relay wakes once the transaction commits."""
    if not events:
        return []
    statement, args = outbox_insert(events)
    if not conn.is_in_transaction():
        raise RuntimeError("add_to_outbox must run inside the business transaction")
    await conn.execute(statement, *args)
    return list(args[0])


def outbox_insert(events: Sequence[Event], *, first_parameter: int = 1) -> tuple[str, list[Any]]:
    """The INSERT of `events` into the outbox and its arguments, numbered from `first_parameter`, for a use
    case that sends it in one statement with a write of its own (`Claim.answer`). The caller runs it inside the
    business transaction; the relay wakes once that commits."""
    traceparent = current_traceparent.get()
    rows = [
        (uuid.uuid4(), event.routing_key(), type(event).__name__, event.subject(), event.model_dump(mode="json"))
        for event in events
    ]
    # One statement over arrays: cheaper for asyncpg than executemany's pipeline of binds.
    columns: list[Any] = [list(column) for column in zip(*rows, strict=True)]
    statement = _INSERT.format(*(f"${first_parameter + i}" for i in range(6)))
    after_commit(wake_local_relays)
    return statement, [*columns, traceparent]


def outbox_write(events: Sequence[Event]) -> Write:
    """The events' outbox rows as a `Write`, to send in one statement with the use case's other writes."""
    insert, args = outbox_insert(events)
    return Write(ctes=(f"{{w}}outbox AS ({insert})",), args=tuple(args))


class OutboxRelay:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        broker: Broker,
        schema: str,
        source: str,
        batch_size: int = 200,
        poll_interval_s: float = 1.0,
    ) -> None:
        self.pool = pool
        self.broker = broker
        self.schema = schema
        self.source = source
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def run(self) -> None:
        _local_relays.add(self)
        try:
            while not self._stopping.is_set():
                try:
                    published = await self.publish_pending()
                except asyncio.CancelledError:
                    if this_task_is_cancelled():
                        raise
                    log.warning("outbox.relay.failed", error="in-flight work cancelled by a lost connection")
                    self._exchange = None
                    await self._sleep(self.poll_interval_s)
                    continue
                except Exception as exc:  # noqa: BLE001 - the relay outlives any fault; unsent rows are retried
                    log.warning("outbox.relay.failed", error=repr(exc))
                    self._exchange = None
                    await self._sleep(self.poll_interval_s)
                    continue
                if published >= self.batch_size:
                    continue  # more waiting: no sleep
                await self._sleep(self.poll_interval_s)
        finally:
            _local_relays.discard(self)

    def wake(self) -> None:
        """Publish now rather than at the next poll (called after a commit that wrote outbox rows)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _exchange_for_publish(self) -> aio_pika.abc.AbstractExchange:
        if self._exchange is None or self._channel is None or self._channel.is_closed:
            # After a failed publish, a channel of its own: a quorum queue can refuse (Basic.Nack) every later
            # publish of a channel that began publishing to it on a node that had not yet learnt of its new leader.
            # The old one is closed, or the robust connection would reopen it on every reconnect for the life of
            # the process. (`Broker.channel` waits for a reconnect in progress.)
            old, self._channel, self._exchange = self._channel, None, None
            if old is not None:
                await discard_channel(old)
            channel = await self.broker.channel()
            try:
                self._exchange = await self.broker.topology.declare_exchanges(channel)
            except BaseException:
                await discard_channel(channel)
                raise
            self._channel = channel
        return self._exchange

    async def publish_pending(self) -> int:
        """Publish one batch of unsent events; returns how many were confirmed."""
        exchange = await self._exchange_for_publish()
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """SELECT id, routing_key, subject, payload, traceparent, created_at
                   FROM outbox_message WHERE sent_at IS NULL
                   ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
                self.batch_size,
            )
            if not rows:
                return 0
            results = await asyncio.gather(*(self._publish_one(exchange, row) for row in rows), return_exceptions=True)
            sent = [row["id"] for row, result in zip(rows, results, strict=True) if result is None]
            failed = [(row["id"], repr(r)) for row, r in zip(rows, results, strict=True) if r is not None]
            await self.mark_sent(conn, sent)
            for message_id, error in failed:
                await conn.execute(
                    """UPDATE outbox_message SET publish_attempts = publish_attempts + 1, last_error = $2
                       WHERE id = $1""",
                    message_id,
                    error[:500],
                )
        PUBLISHED.labels(self.source).inc(len(sent))
        if failed:
            PUBLISH_FAILED.labels(self.source).inc(len(failed))
            log.warning("outbox.publish.failed", count=len(failed), first_error=failed[0][1])
            self._exchange = None
        return len(sent)

    async def mark_sent(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
        """Only after the broker confirmed. A separate method so fault-injection tests can fail it."""
        if ids:
            await conn.execute("UPDATE outbox_message SET sent_at = clock_timestamp() WHERE id = ANY($1)", ids)

    async def _publish_one(self, exchange: aio_pika.abc.AbstractExchange, row: asyncpg.Record) -> None:
        envelope = Envelope.of(
            id=row["id"],
            source=f"/{self.source}",
            type=row["routing_key"],
            time=row["created_at"],
            subject=row["subject"],
            data=row["payload"],
            traceparent=row["traceparent"],
        )
        await exchange.publish(
            aio_pika.Message(
                envelope.to_bytes(),
                content_type=CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=str(row["id"]),
                # When the event happened (the row's commit-time instant), not when it was relayed.
                timestamp=row["created_at"],
                type=row["routing_key"],
                headers=_headers(row["traceparent"]),
            ),
            routing_key=row["routing_key"],
            mandatory=False,
            timeout=10,
        )


def _headers(traceparent: str | None) -> dict[str, Any]:
    return {"traceparent": traceparent} if traceparent else {}


async def delete_sent(pool: asyncpg.Pool, *, older_than_days: int = 7) -> int:
    """Sent rows are kept a while for diagnosis, then removed."""
    result = await pool.execute(
        "DELETE FROM outbox_message WHERE sent_at < now() - make_interval(days => $1)", older_than_days
    )
    return int(result.split()[-1])
