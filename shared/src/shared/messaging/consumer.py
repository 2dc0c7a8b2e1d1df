"""Inbox consumer: each message is handled once, in one transaction with its inbox row, acked after commit.

Batches: the deliveries that have arrived while the previous batch was being handled (up to `batch_size`)
are handled together in one transaction: one statement records their inbox rows, the handlers run one
after the other in delivery order, one commit makes them durable, and every message is acked after it.
A duplicate (its inbox row already there) is skipped and acked. If anything in the batch fails (a
handler, or the commit itself: a deferred constraint, a deadlock with another replica), the whole batch
rolls back and each of its messages is handled again alone, so a failing message never holds back or
changes the outcome of the others.

Failures of a message alone: a handler error is retried through the retry queues with back-off (the
attempt count travels in the `x-attempt` header); after `max_attempts` the message goes to the
dead-letter queue with the error. The database being away (a restart, a failover) is no failure of the
message: it goes round the retry queue of `DATABASE_AWAY_RETRY_S` as often as the outage lasts, its attempt
count unchanged, so an outage longer than the back-off never dead-letters a message that can be handled.
A message that cannot even be read (bad envelope, unknown type, invalid payload) is dead-lettered at
once. Either way it is acked only after the broker confirmed the copy, so nothing is dropped and the
messages behind it keep flowing. A crash mid-handling leaves the messages unacked: the broker redelivers
them and dead-letters one itself past the queue's delivery limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from shared.context import HandlerContext, ServiceContext
from shared.db import is_database_away, transaction
from shared.events.base import Event
from shared.messaging.broker import discard_channel, this_task_is_cancelled
from shared.messaging.envelope import Envelope
from shared.tracing import child_traceparent, current_traceparent

log = structlog.get_logger()
HANDLED = Counter("consumer_messages_total", "Messages by outcome", ["queue", "outcome"])
BATCH_SIZE = Histogram(
    "consumer_batch_size", "Deliveries handled in one transaction", ["queue"], buckets=(1, 2, 4, 8, 16, 32, 64, 128)
)

# The back-off step a message waits on while the database is away (one of the retry queues' delays).
DATABASE_AWAY_RETRY_S = 1.0

Handler = Callable[[HandlerContext[Any], Any], Awaitable[None]]
"""`async def on_x(ctx, event)`: runs inside the inbox transaction (`ctx.conn`); must not commit."""


class PoisonMessage(Exception):
    """The message can never be handled; it goes straight to the dead-letter queue."""


@dataclass(frozen=True)
class _Delivery:
    """A delivery that could be read: what the handler needs, and the message to ack or forward."""

    message: AbstractIncomingMessage
    envelope: Envelope
    event: Event
    handler: Handler
    attempt: int


class InboxConsumer:
    def __init__(
        self,
        *,
        context: ServiceContext[Any],
        queue: str,
        subscriptions: Mapping[type[Event], Handler],
        prefetch: int = 32,
        batch_size: int = 32,
        max_attempts: int = 5,
        retry_delays_s: list[float] | None = None,
        delivery_limit: int = 20,
    ) -> None:
        self.context = context
        self.pool = context.pool
        self.broker = context.broker
        self.queue = queue
        self.handlers = {event.routing_key(): (event, handler) for event, handler in subscriptions.items()}
        self.prefetch = prefetch
        self.batch_size = max(1, min(batch_size, prefetch))
        self.max_attempts = max_attempts
        self.retry_delays_s = retry_delays_s or [0.2, DATABASE_AWAY_RETRY_S, 5.0, 30.0]
        self.delivery_limit = delivery_limit
        self._channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._retry_queues: list[str] = []
        self._consumer_tag: str | None = None
        # Bounded by the prefetch: the broker never has more unacked deliveries out to this consumer.
        self._arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Declare the queues on a channel of its own and consume from the work queue.

        Safe to call again after it failed (the broker's node lost in the middle of the declarations: the
        start-up retries it, `shared.runtime`): a failed attempt closes its channel, so the robust connection
        never reopens it with what was declared on it, and only the attempt that succeeds leaves a consumer
        (one per queue and process, however many attempts it took) and starts the worker.
        """
        if self._consumer_tag is not None:
            return
        channel = await self.broker.channel(prefetch=self.prefetch)
        try:
            declared = await self.broker.topology.declare_consumer_queue(
                channel,
                queue=self.queue,
                routing_keys=sorted(self.handlers),
                delivery_limit=self.delivery_limit,
                retry_delays_s=self.retry_delays_s,
            )
            consumer_tag = await declared.work.consume(self._arrived.put)
        except BaseException:
            # A consume that failed left no consumer: the broker ends one with its channel, and aio-pika records
            # one for restoring only once the broker confirmed it.
            await discard_channel(channel)
            raise
        self._channel = channel
        self._retry_queues = declared.retry_queue_names
        self._consumer_tag = consumer_tag
        self._worker = asyncio.create_task(self._handle_forever(), name=f"{self.queue}-inbox")
        log.info("consumer.started", queue=self.queue, routing_keys=sorted(self.handlers), batch_size=self.batch_size)

    async def stop(self) -> None:
        # The worker first: a batch cut short rolls back and its messages, unacked, come back to another consumer.
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
        if self._channel is not None:
            await discard_channel(self._channel)
        self._channel = None
        self._consumer_tag = None

    def waiting(self) -> int:
        """Deliveries received from the broker and not yet taken into a batch."""
        return self._arrived.qsize()

    async def _handle_forever(self) -> None:
        while True:
            batch = [await self._arrived.get()]
            while len(batch) < self.batch_size and not self._arrived.empty():
                batch.append(self._arrived.get_nowait())
            try:
                await self._handle_batch(batch)
            except asyncio.CancelledError:
                if this_task_is_cancelled():
                    raise
                # aiormq cancelled a publish or ack in flight on a lost connection: the broker redelivers what
                # was not acked, and the worker goes on.
                log.warning("consumer.batch.interrupted", size=len(batch))
            except Exception as exc:
                # The worker outlives any fault; the unacked messages of the batch come back from the broker.
                log.error("consumer.batch.failed", error=repr(exc), exc_info=exc)

    async def _handle_batch(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        readable: list[_Delivery] = []
        for message in messages:
            attempt = _attempt_of(message)
            try:
                readable.append(self._decode(message, attempt=attempt))
            except PoisonMessage as exc:
                await self._dead_letter(message, reason="poison", error=str(exc), attempt=attempt)
        if not readable:
            return
        BATCH_SIZE.labels(self.queue).observe(len(readable))
        if len(readable) > 1:
            try:
                handled = await self._handle_together(readable)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the batch rolled back: each message is handled alone
                log.info("consumer.batch.split", size=len(readable), error=repr(exc))
            else:
                for delivery, was_handled in zip(readable, handled, strict=True):
                    await self._acked(delivery, handled=was_handled)
                return
        for delivery in readable:
            await self._handle_alone(delivery)

    async def _handle_together(self, deliveries: Sequence[_Delivery]) -> list[bool]:
        """All of them in one transaction; whether each was handled now (False: a duplicate)."""
        handled = [False] * len(deliveries)
        async with transaction(self.pool) as conn:
            first_time = await _record_in_inbox(conn, self.queue, deliveries)
            for index, delivery in enumerate(deliveries):
                if delivery.envelope.id not in first_time:
                    continue
                first_time.discard(delivery.envelope.id)  # the same message twice in one batch: once
                with _context_of(delivery):
                    await delivery.handler(self._handler_context(conn, delivery), delivery.event)
                handled[index] = True
        return handled

    async def _handle_alone(self, delivery: _Delivery) -> None:
        with _context_of(delivery):
            try:
                async with transaction(self.pool) as conn:
                    handled = bool(await _record_in_inbox(conn, self.queue, [delivery]))
                    if handled:
                        await delivery.handler(self._handler_context(conn, delivery), delivery.event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                await self._retry_or_dead_letter(delivery.message, exc=exc, attempt=delivery.attempt)
                return
            await self._acked(delivery, handled=handled)

    def _handler_context(self, conn: asyncpg.Connection, delivery: _Delivery) -> HandlerContext[Any]:
        return HandlerContext(conn=conn, envelope=delivery.envelope, service=self.context)

    async def _acked(self, delivery: _Delivery, *, handled: bool) -> None:
        # After the commit. If the channel went away meanwhile the broker redelivers, and the inbox row
        # makes the copy a duplicate.
        with contextlib.suppress(aio_pika.exceptions.AMQPError, RuntimeError):
            await delivery.message.ack()
        HANDLED.labels(self.queue, "handled" if handled else "duplicate").inc()
        outcome = "consumer.message.handled" if handled else "consumer.message.duplicate"
        log.debug(outcome, message_id=delivery.envelope.id)

    def _decode(self, message: AbstractIncomingMessage, *, attempt: int) -> _Delivery:
        try:
            envelope = Envelope.from_bytes(message.body)
        except ValidationError as exc:
            raise PoisonMessage(f"not a CloudEvents envelope: {exc.error_count()} errors") from exc
        entry = self.handlers.get(envelope.type)
        if entry is None:
            raise PoisonMessage(f"no handler for event type {envelope.type!r}")
        model, handler = entry
        try:
            event = model.model_validate(envelope.data)
        except ValidationError as exc:
            raise PoisonMessage(f"invalid {envelope.type} payload: {exc}") from exc
        return _Delivery(message=message, envelope=envelope, event=event, handler=handler, attempt=attempt)

    async def _retry_or_dead_letter(self, message: AbstractIncomingMessage, *, exc: Exception, attempt: int) -> None:
        if is_database_away(exc):
            log.warning("consumer.message.waits_for_database", error=repr(exc), attempt=attempt)
            HANDLED.labels(self.queue, "database_away").inc()
            await self._forward(
                message,
                exchange="",
                routing_key=self._retry_queues[self._database_away_step()],
                attempt=attempt,
                extra={"x-last-error": repr(exc)[:500]},
            )
            return
        if attempt >= self.max_attempts:
            await self._dead_letter(message, reason="attempts_exhausted", error=repr(exc), attempt=attempt)
            return
        delay_index = min(attempt - 1, len(self._retry_queues) - 1)
        log.warning("consumer.message.retry", error=repr(exc), next_attempt=attempt + 1)
        HANDLED.labels(self.queue, "retried").inc()
        await self._forward(
            message,
            exchange="",
            routing_key=self._retry_queues[delay_index],
            attempt=attempt + 1,
            extra={"x-last-error": repr(exc)[:500]},
        )

    def _database_away_step(self) -> int:
        """The retry queue whose delay is nearest `DATABASE_AWAY_RETRY_S`."""
        return min(range(len(self.retry_delays_s)), key=lambda i: abs(self.retry_delays_s[i] - DATABASE_AWAY_RETRY_S))

    async def _dead_letter(self, message: AbstractIncomingMessage, *, reason: str, error: str, attempt: int) -> None:
        log.error("consumer.message.dead_lettered", reason=reason, error=error, message_id=message.message_id)
        HANDLED.labels(self.queue, "dead_lettered").inc()
        await self._forward(
            message,
            exchange=self.broker.topology.dead_exchange,
            routing_key=self.broker.topology.name(self.queue),
            attempt=attempt,
            extra={"x-dead-reason": reason, "x-last-error": error[:500]},
        )

    async def _forward(
        self,
        message: AbstractIncomingMessage,
        *,
        exchange: str,
        routing_key: str,
        attempt: int,
        extra: dict[str, Any],
    ) -> None:
        """Publish a copy (confirmed) and only then ack the original; if that fails, requeue it."""
        assert self._channel is not None
        copy = aio_pika.Message(
            message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            headers={**dict(message.headers), "x-attempt": attempt, **extra},
        )
        try:
            target = self._channel.default_exchange if exchange == "" else await self._channel.get_exchange(exchange)
            await target.publish(copy, routing_key=routing_key, mandatory=False, timeout=10)
        except (TimeoutError, aio_pika.exceptions.AMQPError, OSError) as exc:
            log.warning("consumer.forward.failed", error=repr(exc))
            # If the channel is gone, the broker redelivers the unacked message by itself.
            with contextlib.suppress(aio_pika.exceptions.AMQPError, RuntimeError):
                await message.nack(requeue=True)
            return
        # If the channel went away since, the broker redelivers the original too: the inbox makes it harmless.
        with contextlib.suppress(aio_pika.exceptions.AMQPError, RuntimeError):
            await message.ack()


def _attempt_of(message: AbstractIncomingMessage) -> int:
    raw_attempt = message.headers.get("x-attempt", 1)
    return raw_attempt if isinstance(raw_attempt, int) and raw_attempt > 0 else 1


@contextlib.contextmanager
def _context_of(delivery: _Delivery) -> Iterator[None]:
    """The message's trace and log context while its handler runs."""
    token = current_traceparent.set(child_traceparent(delivery.envelope.traceparent))
    try:
        with structlog.contextvars.bound_contextvars(
            message_id=delivery.envelope.id, event_type=delivery.envelope.type, attempt=delivery.attempt
        ):
            yield
    finally:
        current_traceparent.reset(token)


async def _record_in_inbox(conn: asyncpg.Connection, consumer: str, deliveries: Sequence[_Delivery]) -> set[str]:
    """Insert the inbox rows of these messages; the ids seen for the first time."""
    rows = await conn.fetch(
        """INSERT INTO inbox_message (consumer, message_id, event_type)
           SELECT $1, message_id, event_type FROM unnest($2::text[], $3::text[]) AS m (message_id, event_type)
           ON CONFLICT DO NOTHING RETURNING message_id""",
        consumer,
        [d.envelope.id for d in deliveries],
        [d.envelope.type for d in deliveries],
    )
    return {row["message_id"] for row in rows}
