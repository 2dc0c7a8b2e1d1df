"""Exchanges and queues. Names are prefixed so that test runs sharing one broker never meet.

- `rental.events`: the topic exchange every service publishes to (routing key `<publisher>.<event>`).
  Unroutable messages go to its alternate exchange `rental.unrouted`, never silently dropped (its queue keeps
  the last 100,000 for a week, for diagnosis).
- Per consumer: a durable quorum work queue with a delivery limit, dead-lettering at-least-once to
  `rental.dead` (queue `<name>.dead`), and retry queues (one per back-off step) whose message TTL
  dead-letters back into the work queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

EVENTS_EXCHANGE = "rental.events"
DEAD_EXCHANGE = "rental.dead"
UNROUTED_EXCHANGE = "rental.unrouted"
UNROUTED_MAX_LENGTH = 100_000
UNROUTED_TTL_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True)
class ConsumerQueue:
    work: AbstractQueue
    retry_queue_names: list[str]
    dead_queue_name: str


@dataclass(frozen=True)
class Topology:
    prefix: str = ""

    def name(self, base: str) -> str:
        return f"{self.prefix}{base}"

    @property
    def events_exchange(self) -> str:
        return self.name(EVENTS_EXCHANGE)

    @property
    def dead_exchange(self) -> str:
        return self.name(DEAD_EXCHANGE)

    def retry_queue_name(self, queue: str, delay_s: float) -> str:
        return f"{self.name(queue)}.retry.{int(delay_s * 1000)}ms"

    def dead_queue_name(self, queue: str) -> str:
        return f"{self.name(queue)}.dead"

    async def declare_exchanges(self, channel: AbstractChannel) -> AbstractExchange:
        unrouted = await channel.declare_exchange(self.name(UNROUTED_EXCHANGE), ExchangeType.FANOUT, durable=True)
        # Events nobody subscribes to (e.g. GatewayReconnected) land here on every publish: kept for diagnosis,
        # but bounded, so the queue cannot grow without end. Changing these arguments means deleting the queue.
        unrouted_queue = await channel.declare_queue(
            self.name(UNROUTED_EXCHANGE),
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-max-length": UNROUTED_MAX_LENGTH,
                "x-overflow": "drop-head",
                "x-message-ttl": UNROUTED_TTL_MS,
            },
        )
        await unrouted_queue.bind(unrouted, routing_key="")
        await channel.declare_exchange(self.dead_exchange, ExchangeType.DIRECT, durable=True)
        return await channel.declare_exchange(
            self.events_exchange,
            ExchangeType.TOPIC,
            durable=True,
            arguments={"alternate-exchange": self.name(UNROUTED_EXCHANGE)},
        )

    async def declare_consumer_queue(
        self,
        channel: AbstractChannel,
        *,
        queue: str,
        routing_keys: list[str],
        delivery_limit: int,
        retry_delays_s: list[float],
    ) -> ConsumerQueue:
        events = await self.declare_exchanges(channel)
        dead_exchange = await channel.declare_exchange(self.dead_exchange, ExchangeType.DIRECT, durable=True)
        work_name = self.name(queue)
        dead = await channel.declare_queue(
            self.dead_queue_name(queue), durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead.bind(dead_exchange, routing_key=work_name)
        work = await channel.declare_queue(
            work_name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": delivery_limit,
                "x-dead-letter-exchange": self.dead_exchange,
                "x-dead-letter-routing-key": work_name,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        for key in routing_keys:
            await work.bind(events, routing_key=key)
        retry_names = []
        for delay in retry_delays_s:
            retry_name = self.retry_queue_name(queue, delay)
            await channel.declare_queue(
                retry_name,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-message-ttl": int(delay * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": work_name,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )
            retry_names.append(retry_name)
        return ConsumerQueue(work=work, retry_queue_names=retry_names, dead_queue_name=dead.name)
