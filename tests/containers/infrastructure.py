"""Postgres and RabbitMQ for a test run through testcontainers, where a Docker engine answers (tests/harness.py).

Images: `RENTAL_TEST_POSTGRES_IMAGE` (default `postgres:15`) and `RENTAL_TEST_RABBITMQ_IMAGE` (default
`rabbitmq:3.13-management`); `make test-containers` points them at the stand-ins of deploy/base-images/ where no
registry can be reached.

Networking: an engine with a bridge publishes each container's port on a free host port, as testcontainers
does by default. An engine without one (`dockerd --bridge=none`, as on machines that allow no traffic beyond
loopback) runs both containers on the host's network instead, each server on a free port of 127.0.0.1, and
RabbitMQ under its own node name and Erlang port mapper port, so it never meets a broker the machine runs
itself. `RENTAL_TEST_DOCKER_NETWORK=host|bridge` chooses without asking the engine.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import docker  # type: ignore[import-untyped]
from testcontainers.community.postgres import PostgresContainer
from testcontainers.community.rabbitmq import RabbitMqContainer
from testcontainers.core.container import DockerContainer

from tests.harness import free_ports

DEFAULT_POSTGRES_IMAGE = "postgres:15"
DEFAULT_RABBITMQ_IMAGE = "rabbitmq:3.13-management"
POSTGRES_PASSWORD = "postgres"  # a throw-away server's superuser, reachable only from this machine


def images() -> tuple[str, str]:
    return (
        os.environ.get("RENTAL_TEST_POSTGRES_IMAGE", DEFAULT_POSTGRES_IMAGE),
        os.environ.get("RENTAL_TEST_RABBITMQ_IMAGE", DEFAULT_RABBITMQ_IMAGE),
    )


def engine_has_a_bridge() -> bool:
    chosen = os.environ.get("RENTAL_TEST_DOCKER_NETWORK")
    if chosen:
        if chosen not in ("host", "bridge"):
            raise ValueError(f"RENTAL_TEST_DOCKER_NETWORK must be host or bridge, not {chosen!r}")
        return chosen == "bridge"
    client = docker.from_env()
    try:
        return bool(client.networks.list(names=["bridge"]))
    finally:
        client.close()


class _OnTheHostNetwork(DockerContainer):
    """A container on the host's network: its server's port is a port of 127.0.0.1, nothing is published."""

    def get_container_host_ip(self) -> str:
        return "127.0.0.1"

    def get_exposed_port(self, port: int) -> int:
        return port


class HostNetworkPostgres(_OnTheHostNetwork, PostgresContainer):
    pass


class HostNetworkRabbitMq(_OnTheHostNetwork, RabbitMqContainer):
    pass


def postgres_container(image: str, *, bridge: bool) -> PostgresContainer:
    if bridge:
        return PostgresContainer(image, username="postgres", password=POSTGRES_PASSWORD, dbname="postgres")
    (port,) = free_ports(1)
    container = HostNetworkPostgres(
        image, port=port, username="postgres", password=POSTGRES_PASSWORD, dbname="postgres"
    )
    container.ports = {}
    # PGPORT moves the server and also the psql that testcontainers runs inside the container to see it ready
    # (without it, that psql would find the machine's own server on 5432 and call a server ready that is not).
    container.with_env("PGPORT", str(port))
    container.with_command("postgres -c listen_addresses=127.0.0.1")
    container.with_kwargs(network_mode="host")
    return container


def rabbitmq_container(image: str, *, bridge: bool) -> RabbitMqContainer:
    if bridge:
        return RabbitMqContainer(image)
    port, dist_port, epmd_port = free_ports(3)
    container = HostNetworkRabbitMq(image, port=port)
    container.ports = {}
    container.with_env("RABBITMQ_NODENAME", f"test-{uuid.uuid4().hex[:8]}@localhost")
    container.with_env("RABBITMQ_DIST_PORT", str(dist_port))
    container.with_env("ERL_EPMD_PORT", str(epmd_port))
    container.with_kwargs(network_mode="host")
    return container


@contextmanager
def testcontainers_infrastructure() -> Iterator[tuple[str, str]]:
    """Start both servers, yield (Postgres superuser URL, AMQP URL), remove both containers at the end."""
    postgres_image, rabbitmq_image = images()
    bridge = engine_has_a_bridge()
    with ExitStack() as stack:
        pg = stack.enter_context(postgres_container(postgres_image, bridge=bridge))
        mq = stack.enter_context(rabbitmq_container(rabbitmq_image, bridge=bridge))
        pg_host, pg_port = pg.get_container_host_ip(), pg.get_exposed_port(pg.port)
        mq_host, mq_port = mq.get_container_host_ip(), mq.get_exposed_port(mq.port)
        yield (
            f"postgresql://postgres:{POSTGRES_PASSWORD}@{pg_host}:{pg_port}/postgres",
            f"amqp://{mq.username}:{mq.password}@{mq_host}:{mq_port}/",
        )
