"""Duplicated and delayed deliveries injected at the broker, without touching the services.

A "chaos" consumer binds its own exclusive queue to the run's `<prefix>rental.events` exchange (`#`), and for
each event it sees draws from the seed whether to publish a copy at once (a duplicate), a copy after a drawn
delay (an old event arriving after newer ones: out-of-order), or nothing. A copy is the same body (so the same
CloudEvents id: the consumers' inboxes must dedupe it), routing key and properties, and carries the header
`x-fault-copy` so the chaos consumer never copies its own copies.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)

from shared.messaging.broker import CONNECT_TIMEOUT_S, ClusterConnection, split_urls

COPY_HEADER = "x-fault-copy"


@dataclass
class DeliveryChaos:
    amqp_url: str
    exchange_name: str
    seed: int
    duplicate_p: float = 0.3
    delay_p: float = 0.2
    delay_range_s: tuple[float, float] = (0.5, 3.0)
    counts: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(init=False)
    _connection: AbstractConnection | None = field(default=None, init=False)
    _channel: AbstractChannel | None = field(default=None, init=False)
    _exchange: AbstractExchange | None = field(default=None, init=False)
    _pending: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _queue: AbstractQueue | None = field(default=None, init=False)
    _consumer_tag: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"delivery-chaos:{self.seed}")

    async def start(self) -> None:
        # Several nodes (the cluster run) are tried in turn, on every reconnect too, as the services do.
        connection = ClusterConnection(split_urls(self.amqp_url), client_properties={"connection_name": "chaos"})
        await connection.connect(timeout=CONNECT_TIMEOUT_S)
        self._connection = connection
        self._channel = await self._connection.channel()
        self._exchange = await self._channel.get_exchange(self.exchange_name, ensure=True)
        queue = await self._channel.declare_queue("", exclusive=True, auto_delete=True)
        await queue.bind(self._exchange, routing_key="#")
        self._queue = queue
        self._consumer_tag = await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if message.headers.get(COPY_HEADER):
            return
        self.counts["events seen"] += 1
        draw = self._rng.random()
        if draw < self.duplicate_p:
            await self._publish_copy(message, kind="duplicated")
        elif draw < self.duplicate_p + self.delay_p:
            delay = round(self._rng.uniform(*self.delay_range_s), 1)
            task = asyncio.create_task(self._publish_later(message, delay))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _publish_later(self, message: AbstractIncomingMessage, delay_s: float) -> None:
        # The delay is the injected fault itself (drawn from the seed), not a wait for a condition.
        await asyncio.sleep(delay_s)
        await self._publish_copy(message, kind="delayed")

    async def _publish_copy(self, message: AbstractIncomingMessage, *, kind: str) -> None:
        assert self._exchange is not None
        copy = aio_pika.Message(
            body=message.body,
            headers={**message.headers, COPY_HEADER: kind},
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            timestamp=message.timestamp,
            type=message.type,
            app_id=message.app_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            await self._exchange.publish(copy, routing_key=message.routing_key or "")
        except Exception:  # noqa: BLE001 - a copy that could not be published is simply not injected
            self.counts[f"{kind} copies not published"] += 1
            return
        self.counts[f"{kind} copies"] += 1

    async def stop(self) -> None:
        """Stop copying, publish the delayed copies still due, and close."""
        if self._queue is not None and self._consumer_tag is not None:
            tag, self._consumer_tag = self._consumer_tag, None
            try:
                await asyncio.wait_for(self._queue.cancel(tag), timeout=10)
            except Exception:  # noqa: BLE001 - a channel lost with a broker restart has no consumer left to cancel
                self.counts["cancel failed"] += 1
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()
