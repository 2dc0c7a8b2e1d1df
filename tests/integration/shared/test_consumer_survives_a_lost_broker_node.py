"""A broker node lost at any moment of a consumer's start-up, or of its restoration after a reconnect, costs a retry
on the next node: never the process, never a second consumer.

The cluster fault run found it: a contracts process, restarted by the schedule, met its node pausing (cut off from
its peers) while it declared its work queue; `ChannelInvalidStateError` ended the start-up and the process. Here a
cutter, a real TCP forwarder in front of the real broker, reads the AMQP frames the client sends and drops the
connection at the first frame of a chosen method (before the broker sees it, or right after, so that only the
answer is lost): each step of the start-up in turn. The consumer then runs exactly once on its queue (the broker's
own consumer count) and handles every event once.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest

from shared.messaging.broker import Broker
from shared.messaging.consumer import InboxConsumer
from shared.runtime import broker_away, until_reachable
from tests.harness import TestPlatform, eventually, running_service
from tests.integration.shared.messaging_rig import Rig, messaging_rig
from wallet.config import Settings as WalletSettings
from wallet.main import SPEC as WALLET

PROTOCOL_HEADER = 8  # b"AMQP\x00\x00\x09\x01"
METHOD_FRAME = 1
CHANNEL_OPEN = (20, 10)
EXCHANGE_DECLARE = (40, 10)
QUEUE_DECLARE = (50, 10)
QUEUE_BIND = (50, 20)
BASIC_QOS = (60, 10)
BASIC_CONSUME = (60, 20)
BASIC_PUBLISH = (60, 40)


@dataclass
class Cut:
    """Drop the connection at the next client frame of `method` whose queue or exchange name ends with `name`,
    `times` times."""

    method: tuple[int, int]
    name: str = ""
    forward: bool = False  # the frame reaches the broker first: only its answer is lost
    times: int = 1


@dataclass
class Cutter:
    target_port: int
    cuts: list[Cut] = field(default_factory=list)
    done: int = 0
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _links: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = field(default_factory=list)
    _pipes: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def drop_all(self) -> None:
        """Every connection through the cutter lost at once (a node killed under its clients)."""
        for client, upstream in self._links:
            client.transport.abort()
            upstream.transport.abort()
        self._links.clear()

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        link = (writer, upstream_writer)
        self._links.append(link)
        for task in (
            asyncio.create_task(self._client_to_broker(reader, upstream_writer, link)),
            asyncio.create_task(self._pipe(upstream_reader, writer)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    def _cut_for(self, frame: bytes) -> Cut | None:
        # A frame: type, channel, size, then a method's class and method ids; the declarations, bindings,
        # subscriptions and publishes then carry a reserved short and the name (a short string) of their queue or
        # exchange.
        if frame[0] != METHOD_FRAME:
            return None
        method = struct.unpack(">HH", frame[7:11])
        length = frame[13] if len(frame) > 14 else 0
        name = frame[14 : 14 + length].decode(errors="replace")
        for cut in self.cuts:
            if cut.times > 0 and cut.method == method and name.endswith(cut.name):
                return cut
        return None

    async def _client_to_broker(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        link: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        try:
            sink.write(await source.readexactly(PROTOCOL_HEADER))
            while True:
                header = await source.readexactly(7)
                (size,) = struct.unpack(">I", header[3:7])
                frame = header + await source.readexactly(size + 1)
                cut = self._cut_for(frame)
                if cut is not None:
                    cut.times -= 1
                    self.done += 1
                    if cut.forward:
                        sink.write(frame)
                        await sink.drain()
                        await asyncio.sleep(0.05)  # the broker acts on it; its answer is what is lost
                    for side in link:
                        side.transport.abort()
                    return
                sink.write(frame)
                await sink.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            sink.close()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.close()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self.drop_all()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)


@contextlib.asynccontextmanager
async def cutter_to(port: int) -> AsyncIterator[Cutter]:
    cutter = Cutter(target_port=port)
    await cutter.start()
    try:
        yield cutter
    finally:
        await cutter.stop()


async def consumers_on(amqp_url: str, queue: str) -> int:
    """The broker's own count of consumers on `queue` (a passive declaration on a connection of the test's own)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        result = declared.declaration_result
        return int(result.consumer_count or 0) if result is not None else 0
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def broker_through(cutter: Cutter, rig: Rig) -> AsyncIterator[Broker]:
    # The rig's own prefix, so the consumer's queue is the rig's and its events reach it.
    broker = Broker(url=cutter.url, prefix=rig.broker.topology.prefix, service=f"cut-{uuid.uuid4().hex[:6]}")
    await broker.connect()
    try:
        yield broker
    finally:
        await broker.close()


def consumer_on(rig: Rig, broker: Broker) -> InboxConsumer:
    consumer = rig.consumer()
    consumer.broker = broker
    return consumer


async def start_as_the_runtime_does(consumer: InboxConsumer) -> None:
    await until_reachable("broker", consumer.start, away=broker_away, within_s=60, attempt_within_s=30)


async def every_event_handled_once(rig: Rig, names: list[str]) -> None:
    relay = rig.relay()
    relay_task = asyncio.create_task(relay.run())
    expected = sorted([*await rig.effects(), *names])
    try:
        await rig.publish(*names)
        await eventually(rig.effects, until=lambda seen: sorted(seen) == expected, within=30)
    finally:
        relay.stop()
        await relay_task


MOMENTS: dict[str, list[Cut]] = {
    "opening its channel": [Cut(CHANNEL_OPEN)],
    "setting its prefetch": [Cut(BASIC_QOS)],
    "declaring an exchange": [Cut(EXCHANGE_DECLARE, "rental.dead")],
    "declaring its work queue": [Cut(QUEUE_DECLARE, "rig.events")],
    "declaring its work queue, three times in a row": [Cut(QUEUE_DECLARE, "rig.events", times=3)],
    "declaring a retry queue, the declaration done": [Cut(QUEUE_DECLARE, "ms", forward=True)],
    "binding its work queue": [Cut(QUEUE_BIND, "rig.events")],
    "subscribing, the subscription done": [Cut(BASIC_CONSUME, "rig.events", forward=True)],
    "at every step once": [
        Cut(CHANNEL_OPEN),
        Cut(QUEUE_DECLARE, "rig.events"),
        Cut(QUEUE_BIND, "rig.events"),
        Cut(BASIC_CONSUME, "rig.events", forward=True),
    ],
}


@pytest.mark.parametrize("moment", list(MOMENTS))
async def test_a_consumer_whose_node_is_lost_during_its_start_up_starts_once_on_the_next(
    platform: TestPlatform, moment: str
) -> None:
    async with messaging_rig(platform) as rig, cutter_to(5672) as cutter, broker_through(cutter, rig) as broker:
        cuts = MOMENTS[moment]
        cutter.cuts = cuts
        consumer = consumer_on(rig, broker)
        try:
            await start_as_the_runtime_does(consumer)
            assert all(cut.times == 0 for cut in cuts), cuts  # every cut armed was made
            queue = broker.topology.name(rig.queue)
            assert await consumers_on(platform.amqp_url, queue) == 1
            await every_event_handled_once(rig, [f"{moment}-{n}" for n in range(5)])
            # Later reconnects restore that one consumer, not one per failed attempt.
            cutter.drop_all()
            await eventually(lambda: consumers_on(platform.amqp_url, queue), until=lambda n: n == 1, within=30)
            await every_event_handled_once(rig, [f"{moment}-{n}" for n in range(5, 10)])
            assert await consumers_on(platform.amqp_url, queue) == 1
        finally:
            await consumer.stop()


async def test_a_consumer_whose_node_is_lost_while_it_is_restored_after_a_reconnect_consumes_once(
    platform: TestPlatform,
) -> None:
    async with messaging_rig(platform) as rig, cutter_to(5672) as cutter, broker_through(cutter, rig) as broker:
        consumer = consumer_on(rig, broker)
        await start_as_the_runtime_does(consumer)
        queue = broker.topology.name(rig.queue)
        try:
            # The node is lost; on the next, the restoration of the queue and of the subscription is cut short too.
            cutter.cuts = [
                Cut(QUEUE_DECLARE, "rig.events"),
                Cut(BASIC_CONSUME, "rig.events", forward=True),
                Cut(QUEUE_BIND, "rig.events"),
            ]
            connections = cutter.connections
            cutter.drop_all()
            # The loss, then three restorations cut short, then one that succeeds.
            await eventually(
                lambda: asyncio.sleep(0, cutter.connections), until=lambda n: n >= connections + 4, within=30
            )
            assert all(cut.times == 0 for cut in cutter.cuts), cutter.cuts
            await eventually(lambda: consumers_on(platform.amqp_url, queue), until=lambda n: n == 1, within=30)
            await every_event_handled_once(rig, [f"restored-{n}" for n in range(10)])
            assert await consumers_on(platform.amqp_url, queue) == 1
        finally:
            await consumer.stop()


async def test_the_relay_closes_the_channel_it_gives_up_after_a_failed_publish(platform: TestPlatform) -> None:
    async with messaging_rig(platform) as rig, cutter_to(5672) as cutter, broker_through(cutter, rig) as broker:
        consumer = rig.consumer()  # on the rig's own broker: only the relay's connection is cut
        await consumer.start()
        relay = rig.relay()
        relay.broker = broker
        relay_task = asyncio.create_task(relay.run())
        try:
            cutter.cuts = [Cut(BASIC_PUBLISH, times=4)]
            names = [f"relayed-{n}" for n in range(10)]
            await rig.publish(*names)
            await eventually(rig.effects, until=lambda seen: sorted(set(seen)) == sorted(names), within=60)
            assert cutter.cuts[0].times == 0
            # Each failed publish gave its channel up for a new one; a channel given up but not closed would be
            # reopened by the robust connection on every reconnect since (one more after each of the four).
            transport: Any = broker.connection.transport
            assert transport is not None
            assert len(transport.connection.channels) == 1, transport.connection.channels
        finally:
            relay.stop()
            await relay_task
            await consumer.stop()


async def test_a_service_whose_node_is_lost_while_its_inbox_declares_its_queue_comes_up(
    platform: TestPlatform,
) -> None:
    async with cutter_to(5672) as cutter:
        # A restarted wallet meeting its node pausing: every queue declaration of its inbox cut, twice.
        cutter.cuts = [Cut(QUEUE_DECLARE, "wallet.events", times=2)]
        settings = platform.settings(WalletSettings, startup_wait_s=60)
        settings.amqp_url = cutter.url
        async with running_service(WALLET, settings) as wallet:
            answer = await wallet.get("/readyz")
            assert answer.status_code == 200, answer.text
            assert cutter.cuts[0].times == 0
            queue = f"{platform.broker_prefix}wallet.events"
            assert await consumers_on(platform.amqp_url, queue) == 1
