"""The test platform: a fresh database and a broker name prefix per test run, so runs never meet.

URLs come from the environment (`RENTAL_TEST_POSTGRES_ADMIN_URL`, `RENTAL_TEST_AMQP_URL`), else the local
defaults; with neither given and a Docker engine present, testcontainers starts Postgres and RabbitMQ.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
from fastapi import FastAPI

from scripts.bootstrap_db import bootstrap
from shared.clock import MovableClock
from shared.config import ServiceSettings
from shared.dev_issuer import issue_token, load_or_create_key
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
        return issue_token(key, roles=[role], account_id=str(account_id) if account_id else None)

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


def clock_of(client: httpx.AsyncClient) -> MovableClock:
    """The clock of a service started by `running_service`: its routes, handlers and jobs all read it."""
    clock = client.app.state.clock  # type: ignore[attr-defined]
    assert isinstance(clock, MovableClock)
    return clock


T = TypeVar("T")


async def admin_fetchval(platform: TestPlatform, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def admin_fetch(platform: TestPlatform, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def ready(value: T) -> T:
    """`value` as an awaitable, for `eventually` over something the test reads without waiting."""
    return value


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    within: float = 10.0,
    every: float = 0.05,
) -> T:
    """Poll `probe` until `until(result)` holds; fail with the last result after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s; last result: {result!r}")
        await asyncio.sleep(every)
