"""Outbox → broker → inbox on the real Postgres and RabbitMQ, with the faults the design must survive."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import pytest
from prometheus_client import REGISTRY
from typing_extensions import override

from shared.context import HandlerContext
from shared.events.wallet import AccountOpened
from shared.messaging.consumer import HANDLED, Handler, InboxConsumer
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import PUBLISHED, OutboxRelay
from tests.harness import TestPlatform, eventually, ready
from tests.integration.shared.messaging_rig import Rig, messaging_rig, record_effect


async def test_an_event_written_to_the_outbox_is_handled_exactly_once(platform: TestPlatform) -> None:
    async with messaging_rig(platform) as rig, rig.flowing():
        published_before, seen_before = _published_by_rig(), _seen_by(rig.queue)
        names = [f"acct-{i}" for i in range(50)]
        await rig.publish(*names)
        await eventually(rig.unsent, until=lambda n: n == 0)
        # Every copy the relay had confirmed (a redelivered one included) has reached the consumer, handled or
        # recognised as a duplicate: only then is "exactly once" judged, with no copy still on its way.
        await eventually(
            lambda: ready(_seen_by(rig.queue) - seen_before),
            until=lambda seen: seen >= _published_by_rig() - published_before,
            what="every published copy handled or skipped",
        )
        effects = await rig.effects()
        assert sorted(effects) == sorted(names)
        inbox = await rig.subscriber_pool.fetchval("SELECT count(*) FROM inbox_message")
        assert inbox == 50


def _published_by_rig() -> float:
    return float(PUBLISHED.labels("rig")._value.get())


def _seen_by(queue: str) -> float:
    return sum(float(HANDLED.labels(queue, outcome)._value.get()) for outcome in ("handled", "duplicate"))


class RelayDyingAfterPublish(OutboxRelay):
    """Publishes (confirmed by the broker) and dies before marking the rows sent."""

    @override
    async def mark_sent(self, conn: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
        raise ConnectionResetError("relay killed between publish and mark-sent")


async def test_a_relay_killed_between_publish_and_mark_sent_delivers_twice_but_the_effect_happens_once(
    platform: TestPlatform,
) -> None:
    async with messaging_rig(platform) as rig:
        consumer = rig.consumer()
        await consumer.start()
        await rig.publish("first", "second", "third")
        with pytest.raises(ConnectionResetError):
            await rig.relay(RelayDyingAfterPublish).publish_pending()
        assert await rig.unsent() == 3  # the crash lost the "sent" marks, so the rows are published again
        await eventually(rig.effects, until=lambda e: len(e) == 3)

        duplicates_before = HANDLED.labels(rig.queue, "duplicate")._value.get()
        assert await rig.relay().publish_pending() == 3
        await eventually(
            lambda: asyncio.sleep(0, HANDLED.labels(rig.queue, "duplicate")._value.get()),
            until=lambda n: n >= duplicates_before + 3,
        )
        assert sorted(await rig.effects()) == ["first", "second", "third"]
        await consumer.stop()


def _close_connections_from_server(name_fragment: str) -> int:
    listed = subprocess.run(
        ["rabbitmqctl", "list_connections", "-q", "--no-table-headers", "pid", "client_properties"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    closed = 0
    for line in listed.stdout.splitlines():
        if name_fragment in line:
            pid = line.split()[0]
            subprocess.run(  # noqa: S603
                ["rabbitmqctl", "close_connection", pid, "test: connection dropped by the server"],  # noqa: S607
                capture_output=True,
                check=True,
                timeout=60,
            )
            closed += 1
    return closed


async def _drop_connection(rig: Rig) -> None:
    if shutil.which("rabbitmqctl"):
        closed = await asyncio.to_thread(_close_connections_from_server, rig.broker.service)
        assert closed == 1
    else:  # no broker CLI here (e.g. testcontainers): cut the TCP connection under the client instead
        transport = rig.broker.connection.transport
        assert transport is not None
        writer = getattr(transport.connection, "writer", None)  # aiormq's connection: not in its abstract type
        assert writer is not None
        writer.transport.abort()


async def test_a_dropped_broker_connection_recovers_by_itself_and_nothing_is_lost(
    platform: TestPlatform,
) -> None:
    async with messaging_rig(platform) as rig, rig.flowing():
        names = [f"before-{i}" for i in range(20)]
        await rig.publish(*names)

        async def keep_publishing() -> None:
            for i in range(40):
                await rig.publish(f"during-{i}")
                await asyncio.sleep(0.02)

        writer = asyncio.create_task(keep_publishing())
        # Drop the connection while events flow: once the first of the new ones has been handled.
        await eventually(rig.effects, until=lambda e: any(name.startswith("during-") for name in e))
        await _drop_connection(rig)
        await writer
        names += [f"during-{i}" for i in range(40)]
        await rig.publish("after")
        names.append("after")

        effects = await eventually(rig.effects, until=lambda e: set(e) >= set(names), within=30)
        await eventually(rig.unsent, until=lambda n: n == 0, within=30)
        counts = Counter(effects)
        assert set(counts) == set(names)
        assert max(counts.values()) == 1


async def test_a_message_whose_handler_always_fails_is_dead_lettered_and_the_rest_still_flow(
    platform: TestPlatform,
) -> None:
    attempts: Counter[str] = Counter()

    async def fails_on_poison(ctx: HandlerContext[Any], event: AccountOpened) -> None:
        attempts[event.name] += 1
        if event.name == "poison":
            raise RuntimeError("this message can never be handled")
        await record_effect(ctx, event)

    async with messaging_rig(platform) as rig:
        consumer = rig.consumer(fails_on_poison)
        await consumer.start()
        await rig.publish("ok-1", "poison", "ok-2", "ok-3")
        assert await rig.relay().publish_pending() == 4
        # Messages published after the poison one are handled while it is being retried.
        await eventually(rig.effects, until=lambda e: sorted(e) == ["ok-1", "ok-2", "ok-3"])

        channel = await rig.broker.channel()
        dead_queue = await channel.declare_queue(
            rig.broker.topology.dead_queue_name(rig.queue), durable=True, arguments={"x-queue-type": "quorum"}
        )

        async def get_dead() -> aio_pika.abc.AbstractIncomingMessage | None:
            return await dead_queue.get(fail=False, no_ack=True)

        dead = await eventually(get_dead, within=15)
        assert dead is not None
        assert Envelope.from_bytes(dead.body).data["name"] == "poison"
        assert dead.headers["x-dead-reason"] == "attempts_exhausted"
        assert "never be handled" in str(dead.headers["x-last-error"])
        assert dead.headers["x-attempt"] == 3  # max_attempts of the rig
        # Three attempts of its own, plus at most one in a batch with the others, which rolled back.
        assert 3 <= attempts["poison"] <= 4
        # The failed attempts left nothing behind: no effect and no inbox row for the poison message.
        assert await rig.subscriber_pool.fetchval("SELECT count(*) FROM inbox_message") == 3
        await channel.close()
        await consumer.stop()


async def test_a_database_outage_longer_than_the_back_off_dead_letters_nothing(platform: TestPlatform) -> None:
    """The database away is no failure of the message: however many times it is met (here more than the rig's
    three attempts), the message waits and is handled once the database answers, its attempts untouched."""
    outage_left = {"flaky": 6}
    attempts: Counter[str] = Counter()

    async def database_away_at_first(ctx: HandlerContext[Any], event: AccountOpened) -> None:
        attempts[event.name] += 1
        if outage_left.get(event.name, 0) > 0:
            outage_left[event.name] -= 1
            # What asyncpg raises while a restarted Postgres is starting up.
            raise asyncpg.CannotConnectNowError("the database system is starting up")
        await record_effect(ctx, event)

    async with messaging_rig(platform) as rig:
        consumer = rig.consumer(database_away_at_first)
        await consumer.start()
        await rig.publish("flaky", "steady")
        assert await rig.relay().publish_pending() == 2
        effects = await eventually(rig.effects, until=lambda e: sorted(e) == ["flaky", "steady"], within=30)
        assert sorted(effects) == ["flaky", "steady"]
        assert attempts["flaky"] >= 7  # six outages met, then handled
        channel = await rig.broker.channel()
        dead_queue = await channel.declare_queue(
            rig.broker.topology.dead_queue_name(rig.queue), durable=True, arguments={"x-queue-type": "quorum"}
        )
        assert await dead_queue.get(fail=False, no_ack=True) is None
        await channel.close()
        await consumer.stop()


async def test_an_unreadable_message_goes_straight_to_the_dead_letter_queue(platform: TestPlatform) -> None:
    async with messaging_rig(platform) as rig:
        consumer = rig.consumer()
        await consumer.start()
        channel = await rig.broker.channel()
        exchange = await rig.broker.topology.declare_exchanges(channel)
        await exchange.publish(
            aio_pika.Message(b"{not json", message_id="garbage"), routing_key=AccountOpened.routing_key()
        )
        await rig.publish("fine")
        await rig.relay().publish_pending()
        await eventually(rig.effects, until=lambda e: e == ["fine"])
        dead_queue = await channel.declare_queue(
            rig.broker.topology.dead_queue_name(rig.queue), durable=True, arguments={"x-queue-type": "quorum"}
        )
        dead = await eventually(lambda: dead_queue.get(fail=False, no_ack=True))
        assert dead is not None
        assert dead.body == b"{not json"
        assert dead.headers["x-dead-reason"] == "poison"
        await channel.close()
        await consumer.stop()


class Gate:
    """Holds the handler of the message named `first` until released, so that deliveries pile up behind it."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.released = asyncio.Event()

    async def hold(self, event: AccountOpened) -> None:
        if event.name == "first":
            self.entered.set()
            await self.released.wait()

    def recording(self) -> Handler:
        """A handler that records the effect, once the gate lets it."""

        async def gated(ctx: HandlerContext[Any], event: AccountOpened) -> None:
            await self.hold(event)
            await record_effect(ctx, event)

        return gated

    @asynccontextmanager
    async def opened_at_exit(self) -> AsyncIterator[None]:
        """Release the held handler when the block ends, failed or not (else it holds its connection forever)."""
        try:
            yield
        finally:
            self.released.set()


def waiting_in(consumer: InboxConsumer) -> Callable[[], Awaitable[int]]:
    async def waiting() -> int:
        return consumer.waiting()

    return waiting


def batches_observed(queue: str) -> tuple[float, float]:
    """(transactions, messages in them) the consumers of `queue` have handled in batches so far."""
    count = REGISTRY.get_sample_value("consumer_batch_size_count", {"queue": queue}) or 0.0
    total = REGISTRY.get_sample_value("consumer_batch_size_sum", {"queue": queue}) or 0.0
    return count, total


async def test_deliveries_that_pile_up_are_handled_in_one_transaction_per_batch(platform: TestPlatform) -> None:
    gate = Gate()
    gated = gate.recording()

    async with messaging_rig(platform) as rig:
        consumer = rig.consumer(gated, prefetch=32, batch_size=8)
        await consumer.start()
        before = batches_observed(rig.queue)
        names = [f"piled-{i}" for i in range(20)]
        async with gate.opened_at_exit():
            await rig.publish("first")
            await rig.relay().publish_pending()
            await asyncio.wait_for(gate.entered.wait(), timeout=10)
            await rig.publish(*names)
            await rig.relay().publish_pending()
            await eventually(waiting_in(consumer), until=lambda n: n == 20)
        effects = await eventually(rig.effects, until=lambda e: len(e) == 21)
        assert sorted(effects) == sorted(["first", *names])
        count, total = batches_observed(rig.queue)
        # "first" alone, then the 20 behind it in batches of at most 8: four transactions in all.
        assert (count - before[0], total - before[1]) == (4, 21)
        await consumer.stop()


async def test_a_failing_message_in_a_batch_leaves_the_others_handled_once_and_is_dead_lettered(
    platform: TestPlatform,
) -> None:
    gate = Gate()

    async def gated_poison(ctx: HandlerContext[Any], event: AccountOpened) -> None:
        await gate.hold(event)
        await record_effect(ctx, event)  # written, then rolled back with the batch
        if event.name == "poison":
            raise RuntimeError("this message can never be handled")

    async with messaging_rig(platform) as rig:
        consumer = rig.consumer(gated_poison)
        await consumer.start()
        async with gate.opened_at_exit():
            await rig.publish("first")
            await rig.relay().publish_pending()
            await asyncio.wait_for(gate.entered.wait(), timeout=10)
            await rig.publish("ok-1", "poison", "ok-2")
            await rig.relay().publish_pending()
            await eventually(waiting_in(consumer), until=lambda n: n == 3)
        channel = await rig.broker.channel()
        dead_queue = await channel.declare_queue(
            rig.broker.topology.dead_queue_name(rig.queue), durable=True, arguments={"x-queue-type": "quorum"}
        )
        dead = await eventually(lambda: dead_queue.get(fail=False, no_ack=True), within=15)
        assert dead is not None
        assert Envelope.from_bytes(dead.body).data["name"] == "poison"
        # The batch of three rolled back and its messages ran alone: the good ones once, the poison not at all.
        assert sorted(await rig.effects()) == ["first", "ok-1", "ok-2"]
        await channel.close()
        await consumer.stop()


async def test_the_same_message_twice_in_one_batch_has_one_effect(platform: TestPlatform) -> None:
    gate = Gate()
    gated = gate.recording()

    async with messaging_rig(platform) as rig:
        consumer = rig.consumer(gated)
        await consumer.start()
        channel = await rig.broker.channel()
        exchange = await rig.broker.topology.declare_exchanges(channel)
        copy = Envelope.of(
            id=uuid.uuid4(),
            source="/test",
            type=AccountOpened.routing_key(),
            time=datetime.now(UTC),
            subject=None,
            data=AccountOpened(account_id=uuid.uuid4(), name="twice").model_dump(mode="json"),
            traceparent=None,
        ).to_bytes()
        async with gate.opened_at_exit():
            await rig.publish("first")
            await rig.relay().publish_pending()
            await asyncio.wait_for(gate.entered.wait(), timeout=10)
            for _ in range(2):
                await exchange.publish(aio_pika.Message(copy), routing_key=AccountOpened.routing_key())
            await eventually(waiting_in(consumer), until=lambda n: n == 2)
        await eventually(rig.effects, until=lambda e: len(e) == 2)
        assert sorted(await rig.effects()) == ["first", "twice"]
        await channel.close()
        await consumer.stop()


async def test_a_commit_that_wrote_outbox_rows_wakes_the_relay_of_its_process_at_once(platform: TestPlatform) -> None:
    # A poll this long never fires within the test: only the wake after the commit can publish.
    async with messaging_rig(platform) as rig, rig.flowing(poll_interval_s=600):
        await eventually(rig.unsent, until=lambda n: n == 0)  # the relay's first round has run
        await rig.publish("woken")
        assert await eventually(rig.effects, within=5) == ["woken"]
