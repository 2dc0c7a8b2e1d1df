"""The integration suite's session fixtures (`infrastructure`, `platform`) through testcontainers, for real.

Run by `make test-containers` (tests/containers/run.py) with a Docker engine and neither
`RENTAL_TEST_POSTGRES_ADMIN_URL` nor `RENTAL_TEST_AMQP_URL` set, so tests/harness.py starts Postgres and RabbitMQ
in containers; the run checks afterwards that both containers are gone. Elsewhere these tests are skipped: the
machine's own servers are what the rest of the suite uses.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import aio_pika
import asyncpg
import docker  # type: ignore[import-untyped]
import pytest

from tests.containers.infrastructure import images
from tests.harness import DEFAULT_ADMIN_URL, DEFAULT_AMQP_URL, TestPlatform

pytestmark = pytest.mark.skipif(
    os.environ.get("RENTAL_TEST_THROUGH_TESTCONTAINERS") != "1",
    reason="through testcontainers only in `make test-containers` (RENTAL_TEST_THROUGH_TESTCONTAINERS=1)",
)


@pytest.fixture(scope="module")
def engine() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    try:
        yield client
    finally:
        client.close()


def test_the_session_runs_on_one_postgres_and_one_rabbitmq_container_of_the_configured_images(
    infrastructure: tuple[str, str], engine: docker.DockerClient
) -> None:
    assert not os.environ.get("RENTAL_TEST_POSTGRES_ADMIN_URL")
    assert not os.environ.get("RENTAL_TEST_AMQP_URL")
    running = engine.containers.list(filters={"label": "org.testcontainers=true", "status": "running"})
    assert sorted(c.attrs["Config"]["Image"] for c in running) == sorted(images())
    admin_url, amqp_url = infrastructure
    assert admin_url != DEFAULT_ADMIN_URL
    assert amqp_url != DEFAULT_AMQP_URL


async def test_the_platform_database_lives_in_the_container_with_the_services_roles(platform: TestPlatform) -> None:
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        # The official image and the stand-in keep their data there; the machine's server does not.
        assert await conn.fetchval("SHOW data_directory") == "/var/lib/postgresql/data"
        assert await conn.fetchval("SELECT inet_server_port()") == urlsplit(platform.admin_url).port
        schemas = await conn.fetch("SELECT nspname FROM pg_namespace")
        assert {"wallet", "contracts", "provisioning", "licensing"} <= {row["nspname"] for row in schemas}
    finally:
        await conn.close()
    # Each service's own role logs in there with its development password and sees its own schema.
    role = await asyncpg.connect(platform.database_url("wallet"))
    try:
        assert await role.fetchval("SELECT current_schema()") == "wallet"
    finally:
        await role.close()


def node_name(connection: aio_pika.abc.AbstractConnection) -> str:
    """The broker's node, as it introduces itself when a connection opens."""
    assert connection.transport is not None
    return str(connection.transport.connection.server_properties["cluster_name"])


async def test_the_broker_is_the_containers_and_carries_a_message_under_the_run_prefix(platform: TestPlatform) -> None:
    machine = await aio_pika.connect(DEFAULT_AMQP_URL)
    try:
        machine_node = node_name(machine)
    finally:
        await machine.close()
    connection = await aio_pika.connect(platform.amqp_url)
    try:
        assert node_name(connection) != machine_node
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{platform.broker_prefix}probe", auto_delete=True)
        body = uuid.uuid4().bytes
        await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue.name)
        message = await queue.get(timeout=10)
        assert message is not None
        await message.ack()
        assert message.body == body
    finally:
        await connection.close()
