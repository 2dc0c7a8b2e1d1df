"""Inbox consumer: each message is handled once, in one transaction with its inbox row, acked after commit.

Failures: a handler error is retried through the retry queues with back-off (the attempt count travels in
the `x-attempt` header); after `max_attempts` the message goes to the dead-letter queue with the error.
A message that cannot even be read (bad envelope, unknown type, invalid payload) is dead-lettered at once.
Either way it is acked only after the broker confirmed the copy, so nothing is dropped and the messages
behind it keep flowing. A crash mid-handling leaves the message unacked: the broker redelivers it and
dead-letters it itself past the queue's delivery limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aio_pika
import asyncpg
import structlog
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter
from pydantic import ValidationError

from shared.events.base import Event
from shared.messaging.broker import Broker
from shared.messaging.envelope import Envelope
from shared.tracing import child_traceparent, current_traceparent

log = structlog.get_logger()
HANDLED = Counter("consumer_messages_total", "Messages by outcome", ["queue", "outcome"])

Handler = Callable[[asyncpg.Connection, Any, Envelope], Awaitable[None]]
"""`async def on_x(conn, event, envelope)`: runs inside the inbox transaction; must not commit."""


@dataclass(frozen=True)
class Subscription:
    event: type[Event]
    handler: Handler


class PoisonMessage(Exception):
    """The message can never be handled; it goes straight to the dead-letter queue."""


class InboxConsumer:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        broker: Broker,
        queue: str,
        subscriptions: Mapping[type[Event], Handler],
        prefetch: int = 32,
        max_attempts: int = 5,
        retry_delays_s: list[float] | None = None,
        delivery_limit: int = 20,
    ) -> None:
        self.pool = pool
        self.broker = broker
        self.queue = queue
        self.handlers = {event.routing_key(): (event, handler) for event, handler in subscriptions.items()}
        self.prefetch = prefetch
        self.max_attempts = max_attempts
        self.retry_delays_s = retry_delays_s or [0.2, 1.0, 5.0, 30.0]
        self.delivery_limit = delivery_limit
        self._channel: aio_pika.abc.AbstractRobustChannel | None = None
        self._retry_queues: list[str] = []
        self._consumer_tag: str | None = None

    async def start(self) -> None:
        self._channel = await self.broker.channel(prefetch=self.prefetch)
        declared = await self.broker.topology.declare_consumer_queue(
            self._channel,
            queue=self.queue,
            routing_keys=sorted(self.handlers),
            delivery_limit=self.delivery_limit,
            retry_delays_s=self.retry_delays_s,
        )
        self._retry_queues = declared.retry_queue_names
        self._consumer_tag = await declared.work.consume(self._on_message)
        log.info("consumer.started", queue=self.queue, routing_keys=sorted(self.handlers))

    async def stop(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._channel = None

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        raw_attempt = message.headers.get("x-attempt", 1)
        attempt = raw_attempt if isinstance(raw_attempt, int) and raw_attempt > 0 else 1
        try:
            envelope, event, handler = self._decode(message)
        except PoisonMessage as exc:
            await self._dead_letter(message, reason="poison", error=str(exc), attempt=attempt)
            return
        token = current_traceparent.set(child_traceparent(envelope.traceparent))
        bound = structlog.contextvars.bound_contextvars(
            message_id=envelope.id, event_type=envelope.type, attempt=attempt
        )
        try:
            with bound:
                try:
                    handled = await self._handle_once(envelope, event, handler)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
                    await self._retry_or_dead_letter(message, exc=exc, attempt=attempt)
                    return
                await message.ack()
                HANDLED.labels(self.queue, "handled" if handled else "duplicate").inc()
                log.debug("consumer.message.handled" if handled else "consumer.message.duplicate")
        finally:
            current_traceparent.reset(token)

    def _decode(self, message: AbstractIncomingMessage) -> tuple[Envelope, Event, Handler]:
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
        return envelope, event, handler

    async def _handle_once(self, envelope: Envelope, event: Event, handler: Handler) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            first_time = await conn.fetchval(
                """INSERT INTO inbox_message (consumer, message_id, event_type) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING RETURNING true""",
                self.queue,
                envelope.id,
                envelope.type,
            )
            if not first_time:
                return False
            await handler(conn, event, envelope)
            return True

    async def _retry_or_dead_letter(self, message: AbstractIncomingMessage, *, exc: Exception, attempt: int) -> None:
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
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await message.nack(requeue=True)
            return
        await message.ack()
