"""The one test harness: the platform every run gets, and the parts every rig is built from.

- The platform: a fresh database and a broker name prefix per test run, so runs never meet. URLs come from the
  environment (`RENTAL_TEST_POSTGRES_ADMIN_URL`, `RENTAL_TEST_AMQP_URL`), else the local defaults; with
  neither given and a Docker engine present, testcontainers starts Postgres and RabbitMQ.
- Services: `running_service` (in this process, over ASGI, on a movable clock), `serving_service` and
  `serving` (on a real socket of a `free_port`, for WebSockets, browsers and fuzzers).
- Events: `publish_event` and `EventPublisher` publish as another service's relay would; `event_tap` records
  what a service publishes, as a consumer would receive it.
- Waiting: `eventually`, never a fixed sleep.

A rig is an async context manager that yields a small dataclass of what its tests need, built from these.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
import uvicorn
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from fastapi import FastAPI

from gateway_simulator.gateway import JwksCache, SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from scripts.bootstrap_db import bootstrap
from shared.clock import Clock, MovableClock
from shared.config import ServiceSettings
from shared.dev_issuer import issue_token, load_or_create_key
from shared.events import CATALOGUE
from shared.events.base import Event
from shared.messaging.envelope import CONTENT_TYPE, Envelope
from shared.messaging.topology import Topology
from shared.runtime import ServiceSpec, create_app

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=20).returncode == 0  # noqa: S607


@contextmanager
def infrastructure_urls() -> Iterator[tuple[str, str]]:
    admin_url = os.environ.get("RENTAL_TEST_POSTGRES_ADMIN_URL")
    amqp_url = os.environ.get("RENTAL_TEST_AMQP_URL")
    if admin_url or amqp_url or not _docker_available():
        yield admin_url or DEFAULT_ADMIN_URL, amqp_url or DEFAULT_AMQP_URL
        return
    # Images, and host networking for an engine without a bridge: tests/containers/infrastructure.py.
    from tests.containers.infrastructure import testcontainers_infrastructure

    with testcontainers_infrastructure() as urls:
        yield urls


@dataclass
class TestPlatform:
    __test__ = False  # not a test class, despite its name

    admin_url: str
    amqp_url: str
    database: str
    broker_prefix: str
    dev_dir: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def database_url(self, role: str, *, database: str | None = None) -> str:
        """The DSN of `role` (dev password = role name) on this run's database."""
        parts = urlsplit(self.admin_url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 5432
        return urlunsplit(("postgresql", f"{role}:{role}@{host}:{port}", f"/{database or self.database}", "", ""))

    @property
    def admin_database_url(self) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{self.database}", "", ""))

    def settings(self, settings_cls: type[SettingsT], **overrides: Any) -> SettingsT:
        base = settings_cls()
        values: dict[str, Any] = {
            "database_url": self.database_url(base.database_schema),
            "amqp_url": self.amqp_url,
            "broker_prefix": self.broker_prefix,
            "auth_jwks_path": self.dev_dir / "jwks.json",
            "auth_jwks_url": None,
            "log_json": True,
            "outbox_poll_interval_s": 0.5,
            "consumer_retry_delays_s": [0.1, 0.3],
            "consumer_max_attempts": 3,
        }
        values.update(overrides)
        return settings_cls(**values)

    def token(self, role: str, *, account_id: uuid.UUID | str | None = None) -> str:
        key = load_or_create_key(self.dev_dir)
        # One partner for the whole run (partners are scoped to the accounts they open); a test that needs two
        # names their subjects (`issue_token(..., subject=...)`).
        subject = "dev-partner" if role == "partner" else None
        return issue_token(key, roles=[role], account_id=str(account_id) if account_id else None, subject=subject)

    def auth(self, role: str, *, account_id: uuid.UUID | str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, account_id=account_id)}"}


async def create_platform(admin_url: str, amqp_url: str, dev_dir: Path) -> TestPlatform:
    run_id = uuid.uuid4().hex[:10]
    platform = TestPlatform(
        admin_url=admin_url,
        amqp_url=amqp_url,
        database=f"rental_test_{run_id}",
        broker_prefix=f"test-{run_id}.",
        dev_dir=dev_dir,
    )
    await bootstrap(admin_url=admin_url, database=platform.database)
    load_or_create_key(dev_dir)
    return platform


async def drop_platform(platform: TestPlatform) -> None:
    admin = await asyncpg.connect(platform.admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{platform.database}" WITH (FORCE)')
    finally:
        await admin.close()
    await delete_prefixed_broker_objects(platform.amqp_url, platform.broker_prefix)


@asynccontextmanager
async def fresh_platform(admin_url: str, amqp_url: str, dev_dir: Path) -> AsyncIterator[TestPlatform]:
    """A platform of its own (database, broker prefix, issuer in `dev_dir`) until the block ends, then dropped."""
    platform = await create_platform(admin_url, amqp_url, dev_dir)
    try:
        yield platform
    finally:
        await drop_platform(platform)


async def delete_prefixed_broker_objects(amqp_url: str, prefix: str) -> None:
    """Quorum queues cost the broker memory: remove what this run declared (names known by prefix)."""
    names = _list_queues_with_prefix(prefix)
    if not names:
        return
    connection = await aio_pika.connect(amqp_url)
    try:
        for name in names:
            channel = await connection.channel()
            try:
                await channel.queue_delete(name)
            except aio_pika.exceptions.AMQPError:
                pass  # already gone
            finally:
                if not channel.is_closed:
                    await channel.close()
        for name in ("rental.events", "rental.dead", "rental.unrouted"):
            channel = await connection.channel()
            try:
                await channel.exchange_delete(prefix + name)
            except aio_pika.exceptions.AMQPError:
                pass  # already gone
            finally:
                if not channel.is_closed:
                    await channel.close()
    finally:
        await connection.close()


def _list_queues_with_prefix(prefix: str) -> list[str]:
    if shutil.which("rabbitmqctl") is None:
        return []
    result = subprocess.run(
        ["rabbitmqctl", "list_queues", "-q", "--no-table-headers", "name"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return [line.strip() for line in result.stdout.splitlines() if line.strip().startswith(prefix)]


@asynccontextmanager
async def running_service(
    spec: ServiceSpec[Any], settings: ServiceSettings, *, clock: MovableClock | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The service's real app with its full lifespan (migrations, broker, relay, consumer), in this process.

    It runs on a `MovableClock` (`clock_of(client)`): a test moves time instead of waiting for it.
    """
    app: FastAPI = create_app(spec, settings, clock=clock if clock is not None else MovableClock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{spec.name}") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@asynccontextmanager
async def running_services(
    platform: TestPlatform, services: Mapping[str, tuple[ServiceSpec[Any], type[ServiceSettings]]]
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """Each service (spec, settings class) by `running_service` on the run's settings, started in order; yields
    their clients by name."""
    async with AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(running_service(spec, platform.settings(settings_cls)))
            for name, (spec, settings_cls) in services.items()
        }


def clock_of(client: httpx.AsyncClient) -> MovableClock:
    """The clock of a service started by `running_service`: its routes, handlers and jobs all read it."""
    clock = client.app.state.clock  # type: ignore[attr-defined]
    assert isinstance(clock, MovableClock)
    return clock


# --- servers on real sockets ---------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Ports of 127.0.0.1 that nobody listens on now, all different (held open together while chosen)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


def free_port() -> int:
    """A port of 127.0.0.1 that nobody listens on now (the kernel's choice of an ephemeral port)."""
    (port,) = free_ports(1)
    return port


@asynccontextmanager
async def serving(
    app: Any, *, port: int | None = None, within: float = 60, **server_options: Any
) -> AsyncIterator[str]:
    """`app` under a real uvicorn on 127.0.0.1, in this event loop, until the block ends; yields its base URL.

    For what ASGI transport cannot carry: WebSockets, a browser, a fuzzer's raw requests, other processes.
    """
    port = port if port is not None else free_port()
    # The server keeps idle connections longer than the client's pool does (httpx: 5 s): with both at 5 s, a
    # request sent on a connection the server is just closing fails with a ReadError (seen in CI).
    options: dict[str, Any] = {"log_level": "warning", "lifespan": "on", "timeout_keep_alive": 30, **server_options}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # a failed start shows its own error
            raise AssertionError(f"the server on port {port} stopped while starting")
        return bool(server.started)

    try:
        await eventually(started, within=within, what=f"the server on port {port} started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


@asynccontextmanager
async def serving_service(
    spec: ServiceSpec[Any], settings: ServiceSettings, *, clock: Clock | None = None
) -> AsyncIterator[str]:
    """The service's real app with its full lifespan on a real socket at `settings.http_port`; yields its URL."""
    app = create_app(spec, settings, clock=clock)
    async with serving(app, port=settings.http_port, **spec.server_options) as url:
        yield url


@asynccontextmanager
async def running_gateway(
    state: GatewayState,
    *,
    distributor_url: str,
    client: httpx.AsyncClient,
    store: MemoryStore | None = None,
    backoff_base_s: float = 0.1,
    backoff_cap_s: float = 0.5,
    issuer: str | None = None,
    follow_test_clock: bool = False,
) -> AsyncIterator[SimulatedGateway]:
    """The project's gateway simulator holding its session with the distributor, as hardware would, until the
    block ends. JWKS fetched as often as asked (tests rotate keys), reconnects within a second. An `issuer` other
    than the distributor's makes it refuse every bundle (`wrong_issuer`); `follow_test_clock` makes it a sandbox
    gateway (it accepts bundles signed on a test clock and runs on the clock's time)."""
    gateway = SimulatedGateway(
        follow_test_clock=follow_test_clock,
        issuer=issuer,
        state=state,
        store=store or MemoryStore(),
        distributor_url=distributor_url,
        jwks=JwksCache(url=f"{distributor_url}/.well-known/jwks.json", client=client, min_refresh_s=0),
        backoff_base_s=backoff_base_s,
        backoff_cap_s=backoff_cap_s,
    )
    task = asyncio.create_task(gateway.run())
    try:
        yield gateway
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        gateway.shut_down()  # powered off: its enforcement (expiry, warnings) stops with it


# --- events on the real broker ---------------------------------------------------------------------------------


def envelope_of(event: Event, *, message_id: str | None = None) -> Envelope:
    """The CloudEvents envelope the event's publisher would write to its outbox (`message_id`: the row id)."""
    return Envelope.of(
        id=message_id or str(uuid.uuid4()),
        source=f"/{event.publisher}",
        type=event.routing_key(),
        time=datetime.now(UTC),
        subject=event.subject(),
        data=event.model_dump(mode="json"),
        traceparent=None,
    )


class EventPublisher:
    """Publishes other services' events straight onto the events exchange, confirmed, as their relays would."""

    def __init__(self, connection: AbstractConnection, *, broker_prefix: str) -> None:
        self.connection = connection
        self.topology = Topology(prefix=broker_prefix)

    async def publish(self, event: Event, *, message_id: str | None = None) -> str:
        """Publish `event`; returns its message id (the envelope id)."""
        envelope = envelope_of(event, message_id=message_id)
        channel = await self.connection.channel(publisher_confirms=True)
        try:
            exchange = await self.topology.declare_exchanges(channel)
            await exchange.publish(
                aio_pika.Message(
                    envelope.to_bytes(),
                    content_type=CONTENT_TYPE,
                    message_id=envelope.id,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=event.routing_key(),
            )
        finally:
            await channel.close()
        return envelope.id


@asynccontextmanager
async def event_publisher(platform: TestPlatform, *, broker_prefix: str | None = None) -> AsyncIterator[EventPublisher]:
    connection = await aio_pika.connect_robust(platform.amqp_url)
    try:
        yield EventPublisher(connection, broker_prefix=broker_prefix or platform.broker_prefix)
    finally:
        await connection.close()


async def publish_event(platform: TestPlatform, event: Event, *, message_id: str | None = None) -> str:
    """Publish one event on its own connection; returns its message id."""
    async with event_publisher(platform) as publisher:
        return await publisher.publish(event, message_id=message_id)


E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class Received(Generic[E]):
    envelope: Envelope
    event: E  # the catalogue's model of the payload, as a consuming service reads it
    received_at: datetime  # the wall-clock instant at which the tap received it


def _matches(event: Event, fields: dict[str, Any]) -> bool:
    # A UUID field matches its string form too: tests hold ids as they travel in JSON.
    return all(getattr(event, k) == v or str(getattr(event, k)) == str(v) for k, v in fields.items())


@dataclass
class EventTap:
    """Every event a service publishes (by routing key), as a consumer would receive it from the broker."""

    received: list[Received[Event]] = field(default_factory=list)

    def of(self, event_type: type[E], **fields: Any) -> list[Received[E]]:
        """What arrived so far of `event_type` whose payload has these field values."""
        return [
            Received(envelope=r.envelope, event=r.event, received_at=r.received_at)
            for r in self.received
            if isinstance(r.event, event_type) and _matches(r.event, fields)
        ]

    async def wait_for(
        self, event_type: type[E], *, count: int = 1, within: float = 10.0, **fields: Any
    ) -> list[Received[E]]:
        """At least `count` of them, once they have arrived."""
        return await eventually(
            lambda: ready(self.of(event_type, **fields)), until=lambda found: len(found) >= count, within=within
        )

    async def one(self, event_type: type[E], **fields: Any) -> Received[E]:
        """The one such event, once it has arrived; fails if there are several."""
        found = await self.wait_for(event_type, **fields)
        assert len(found) == 1, found
        return found[0]


@asynccontextmanager
async def event_tap(
    platform: TestPlatform, routing_key: str, *, broker_prefix: str | None = None
) -> AsyncIterator[EventTap]:
    """A tap bound to `routing_key` (e.g. `wallet.#`) on the run's events exchange, until the block ends."""
    prefix = broker_prefix or platform.broker_prefix
    tap = EventTap()
    connection = await aio_pika.connect(platform.amqp_url)
    try:
        channel = await connection.channel()
        exchange = await Topology(prefix=prefix).declare_exchanges(channel)
        queue = await channel.declare_queue(f"{prefix}tap.{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=routing_key)

        async def on_message(message: AbstractIncomingMessage) -> None:
            async with message.process():
                envelope = Envelope.from_bytes(message.body)
                event = CATALOGUE[envelope.type].model_validate(envelope.data)
                tap.received.append(Received(envelope=envelope, event=event, received_at=datetime.now(UTC)))

        await queue.consume(on_message)
        yield tap
    finally:
        await connection.close()


# --- tenants --------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Tenant:
    """One account of a test and what it owns, ids as they travel in JSON ("" until made).

    Rigs extend it with what their stories add (the security suite's seeded objects, the fault run's phones, the
    distributor's event feed); every tenant of every suite has these fields with these meanings.
    """

    account_id: str
    name: str = ""
    customer: dict[str, str] = field(default_factory=dict)  # the auth headers of the account's customer
    domain_id: str = ""
    contract_id: str = ""


# --- database look-ups and waiting -----------------------------------------------------------------------------

T = TypeVar("T")


async def fetchval_at(database_url: str, sql: str, *args: object) -> object:
    """One value, on a connection of its own (so a test reads what is committed, as another client would)."""
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def fetch_at(database_url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def admin_fetchval(platform: TestPlatform, sql: str, *args: object) -> object:
    return await fetchval_at(platform.admin_database_url, sql, *args)


async def admin_count(platform: TestPlatform, sql: str, *args: object) -> int:
    """A `SELECT count(*) ...` on the run's database."""
    return int(str(await admin_fetchval(platform, sql, *args)))


async def admin_fetch(platform: TestPlatform, sql: str, *args: object) -> list[asyncpg.Record]:
    return await fetch_at(platform.admin_database_url, sql, *args)


async def ready(value: T) -> T:
    """`value` as an awaitable, for `eventually` over something the test reads without waiting."""
    return value


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    within: float = 10.0,
    every: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll `probe` until `until(result)` holds; fail naming `what` and the last result after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {within}s; last result: {result!r}")
        await asyncio.sleep(every)
