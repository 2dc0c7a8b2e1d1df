"""The services' connection to several RabbitMQ nodes (shared.messaging.broker), on the run's own cluster, and the
harness's partition of one node (reliability/cluster.py).

`ClusterConnection` relies on how aio-pika's robust connection reconnects (it clears `transport` before each
attempt, then connects to `self.url`): these tests fail if a version of aio-pika stops doing so.
"""

from __future__ import annotations

import asyncio

import aio_pika
import pytest
from reliability.cluster import CLI_TIMEOUT_S, Servers
from reliability.failover import PublishProbe

from shared.messaging.broker import Broker, ClusterConnection, split_urls
from tests.harness import eventually, free_port

# Each RabbitMQ CLI call boots an Erlang VM: on a loaded machine the cut alone takes a minute.
pytestmark = pytest.mark.timeout(600)


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


async def test_a_node_cut_off_pauses_alone_and_a_publisher_on_it_goes_on_on_the_others(servers: Servers) -> None:
    """The cut is a clean partition: the node alone pauses (pause_minority) and drops its clients, the two others
    stay running and clustered with each other, and a publisher that was on the node publishes again on them while
    the partition lasts. (Cut one link after the other, a peer could report a partial partition and pause too.)"""
    rabbit = servers.rabbit
    cut = rabbit.nodes[2]
    others = sorted(node.name for node in rabbit.nodes if node is not cut)
    urls = split_urls(rabbit.url(heartbeat_s=3))
    async with PublishProbe(urls, first_node=2, queue="nodes-test.cut-off-probe") as probe:
        lost = await asyncio.to_thread(rabbit.cut_off, cut)
        try:
            await probe.publishing_again(after=lost, within=60)
            for peer in rabbit.nodes:
                if peer is not cut:
                    assert await asyncio.to_thread(rabbit.running_nodes, peer) == others, peer.name
            paused = await asyncio.to_thread(cut.ctl, "eval", "rabbit:is_running().", timeout=CLI_TIMEOUT_S)
            assert paused.stdout.strip() == "false", paused.stdout
        finally:
            await asyncio.to_thread(rabbit.reconnect, cut)
        await rabbit.wait_all_running(within=180)
