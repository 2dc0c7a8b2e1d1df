"""The services' connection to several RabbitMQ nodes (shared.messaging.broker), on the run's own cluster.

`ClusterConnection` relies on how aio-pika's robust connection reconnects (it clears `transport` before each
attempt, then connects to `self.url`): these tests fail if a version of aio-pika stops doing so.
"""

from __future__ import annotations

import asyncio

import aio_pika
from reliability.cluster import Servers

from shared.messaging.broker import Broker, ClusterConnection
from tests.harness import eventually, free_port


async def test_the_broker_connects_to_a_live_node_when_the_others_refuse(servers: Servers) -> None:
    refused = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    live = servers.rabbit.nodes[1]
    for _ in range(4):  # the first node tried is drawn at random: every order ends on the live one
        broker = Broker(url=f"{refused},{refused},{live.url}", prefix="nodes-test.", service="nodes-test")
        await broker.connect()
        try:
            assert broker.is_connected()
            assert broker.node == f"127.0.0.1:{live.amqp_port}"
        finally:
            await broker.close()


async def test_a_connection_whose_node_dropped_it_reconnects_to_the_next_node(servers: Servers) -> None:
    first, second = servers.rabbit.nodes[0], servers.rabbit.nodes[1]
    connection = ClusterConnection([first.url, second.url], start=0, client_properties={"connection_name": "hop"})
    await connection.connect(timeout=5)
    try:
        assert connection.url.port == first.amqp_port
        channel = await connection.channel(publisher_confirms=True)

        def close_on_first() -> int:
            listing = first.ctl("list_connections", "-q", "--no-table-headers", "pid", "client_properties")
            closed = 0
            for line in listing.stdout.splitlines():
                pid, properties = line.split("\t", 1)
                # A connection's pid names the node it is on: <rmq-...-1@localhost.1.2.3>.
                if pid.startswith(f"<{first.name}.") and '"hop"' in properties:
                    first.ctl("close_connection", pid, "moving on")
                    closed += 1
            return closed

        assert await asyncio.to_thread(close_on_first) == 1

        async def on_second() -> bool:
            return connection.url.port == second.amqp_port and connection.connected.is_set()

        await eventually(on_second, within=30, every=0.1)
        # The channel is restored on the new node, and the node confirms a publish on it.
        await channel.default_exchange.publish(aio_pika.Message(b"here"), routing_key="nobody", timeout=10)
    finally:
        await connection.close()
