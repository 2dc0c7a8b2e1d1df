"""The process around a service: pool, migrations, broker, outbox relay, inbox consumer, jobs, components.

Each service's `main.py` is its composition root: it describes the service as a `ServiceSpec` and calls
`create_app` (or `main`) with its settings and a clock. Nothing connects at import time; everything starts in the
app's lifespan and stops on shutdown, and every part gets the one `ServiceContext` built here.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import asyncpg
import structlog
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.types import ASGIApp

from shared.auth import TokenVerifier
from shared.clock import Clock, SystemClock
from shared.config import ServiceSettings
from shared.context import ServiceContext
from shared.db import connect, create_pool, is_database_away
from shared.errors import install_problem_handlers
from shared.events.base import Event
from shared.housekeeping import run_housekeeping
from shared.http import BodySizeLimit, RetryOnTransactionConflict, install_request_context, probes
from shared.logging import configure_logging
from shared.messaging.broker import Broker, is_broker_away, this_task_is_cancelled
from shared.messaging.consumer import Handler, InboxConsumer
from shared.messaging.outbox import OutboxRelay
from shared.migrations import SHARED_MIGRATIONS, migrate
from shared.openapi import install_offline_docs, install_problem_document

log = structlog.get_logger()

S = TypeVar("S", bound=ServiceSettings)
C = TypeVar("C")

BackgroundJob = Callable[["Runtime[S]"], Coroutine[Any, Any, None]]
# A long-lived part of the service (the distributor's hub of gateway sessions): entered after the broker and the
# inbox are up, left before they stop; what it yields is kept in `Runtime.components` under its name.
Component = Callable[["Runtime[S]"], AbstractAsyncContextManager[object]]


@dataclass(frozen=True)
class ServiceSpec(Generic[S]):
    name: str
    title: str
    description: str
    migrations_dir: Path
    routers: Sequence[APIRouter] = ()
    # Routers served outside the `/v1` prefix (the distributor's `/.well-known/jwks.json`).
    root_routers: Sequence[APIRouter] = ()
    subscriptions: Mapping[type[Event], Handler] = field(default_factory=dict)
    # Long-running tasks started with the service (schedulers); each must be safe with replicas.
    background_jobs: Sequence[BackgroundJob[S]] = ()
    components: Mapping[str, Component[S]] = field(default_factory=dict)
    # Pure ASGI apps put in front of the whole middleware stack (the distributor serves its gateway socket there,
    # ahead of FastAPI's routing); each is called with the app it wraps.
    front: Sequence[Callable[[ASGIApp], ASGIApp]] = ()
    max_body_bytes: int = 64 * 1024
    # Extra keyword arguments for uvicorn (e.g. WebSocket limits) when the service runs as `python -m`.
    server_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Runtime(Generic[S]):
    spec: ServiceSpec[S]
    context: ServiceContext[S]
    relay: OutboxRelay
    consumer: InboxConsumer | None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    components: dict[str, object] = field(default_factory=dict)

    @property
    def settings(self) -> S:
        return self.context.settings

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @property
    def pool(self) -> asyncpg.Pool:
        return self.context.pool

    @property
    def broker(self) -> Broker:
        return self.context.broker

    def component(self, name: str, kind: type[C]) -> C:
        value = self.components[name]
        if not isinstance(value, kind):
            raise TypeError(f"component {name!r} is a {type(value).__name__}, not a {kind.__name__}")
        return value


async def apply_migrations(spec: ServiceSpec[Any], settings: ServiceSettings) -> list[str]:
    conn = await connect(dsn=settings.database_url, schema=settings.database_schema)
    try:
        return await migrate(
            conn,
            schema=settings.database_schema,
            sources=[("shared", SHARED_MIGRATIONS), (spec.name, spec.migrations_dir)],
        )
    finally:
        await conn.close()


T = TypeVar("T")


# What a dependency that is restarting or not yet up answers; anything else (a wrong password, a missing
# database) is a configuration error and fails at once.
def broker_away(exc: BaseException) -> bool:
    # Refused or closed while the broker boots (aiormq's AMQPConnectionError is a ConnectionError), and a node lost
    # in the middle of a step's declarations (a closed channel, aiormq's CancelledError): `is_broker_away`.
    return is_broker_away(exc)


def database_away_at_start(exc: BaseException) -> bool:
    # Before the pool exists the server may also just not listen yet, or time out, or have no connection slot
    # left for a moment (a container's migration step met a server that other clients had filled).
    return isinstance(exc, OSError | asyncpg.TooManyConnectionsError) or is_database_away(exc)


_FIRST_WAIT_S = 0.2
_LONGEST_WAIT_S = 5.0
# One attempt of a broker step (the inbox's declarations and subscription) may wait on a robust channel for a
# reconnect that keeps failing; past this it is given up (its channel closed) and tried afresh.
BROKER_STEP_TIMEOUT_S = 60.0


async def until_reachable(
    dependency: str,
    step: Callable[[], Awaitable[T]],
    *,
    away: Callable[[BaseException], bool],
    within_s: float,
    attempt_within_s: float | None = None,
) -> T:
    """Run a step that needs `dependency`, again and again while it is away, for up to `within_s`.

    A service started while Postgres or RabbitMQ restarts comes up once they answer instead of exiting (the
    fault run found a wallet, restarted during a RabbitMQ restart, exiting and staying down); a sender that
    has just handed a message over records that it did, rather than sending it again later. With
    `attempt_within_s`, an attempt that has not finished by then is cancelled and counts as the dependency away
    (a `TimeoutError`). A `CancelledError` that is not this task being cancelled (aiormq's, for a lost
    connection) is retried when `away` says so.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    wait_s = _FIRST_WAIT_S
    attempt = 1
    while True:
        try:
            if attempt_within_s is None:
                return await step()
            return await asyncio.wait_for(step(), timeout=attempt_within_s)
        except (Exception, asyncio.CancelledError) as exc:
            if isinstance(exc, asyncio.CancelledError) and this_task_is_cancelled():
                raise
            if not away(exc):
                raise
            if loop.time() + wait_s > deadline:
                log.error("service.dependency_unreachable", dependency=dependency, attempts=attempt, error=repr(exc))
                raise
            log.warning(
                "service.waiting_for", dependency=dependency, attempt=attempt, error=repr(exc), retry_in_s=wait_s
            )
        # The back-off between two attempts to reach the dependency.
        await asyncio.sleep(wait_s)
        wait_s = min(wait_s * 2, _LONGEST_WAIT_S)
        attempt += 1


@asynccontextmanager
async def run_service(spec: ServiceSpec[S], settings: S, clock: Clock) -> AsyncIterator[Runtime[S]]:
    """Start everything the service needs; stop it all in reverse order on exit."""
    if settings.migrate_on_start:
        await until_reachable(
            "database",
            lambda: apply_migrations(spec, settings),
            away=database_away_at_start,
            within_s=settings.startup_wait_s,
        )
    async with _pool(settings) as pool, _broker(spec, settings) as broker:
        context = ServiceContext(settings=settings, clock=clock, pool=pool, broker=broker)
        runtime = Runtime(spec=spec, context=context, relay=_relay(spec, context), consumer=_consumer(spec, context))
        async with _running(runtime):
            log.info("service.started", service=spec.name)
            yield runtime
    log.info("service.stopped", service=spec.name)


@asynccontextmanager
async def _pool(settings: ServiceSettings) -> AsyncIterator[asyncpg.Pool]:
    pool = await until_reachable(
        "database",
        lambda: create_pool(
            dsn=settings.database_url,
            schema=settings.database_schema,
            min_size=settings.database_pool_min,
            max_size=settings.database_pool_max,
        ),
        away=database_away_at_start,
        within_s=settings.startup_wait_s,
    )
    try:
        yield pool
    finally:
        await pool.close()


@asynccontextmanager
async def _broker(spec: ServiceSpec[Any], settings: ServiceSettings) -> AsyncIterator[Broker]:
    broker = Broker(url=settings.amqp_url, prefix=settings.broker_prefix, service=spec.name)
    try:
        await until_reachable("broker", broker.connect, away=broker_away, within_s=settings.startup_wait_s)
        yield broker
    finally:
        await broker.close()


def _relay(spec: ServiceSpec[Any], context: ServiceContext[ServiceSettings]) -> OutboxRelay:
    settings = context.settings
    return OutboxRelay(
        pool=context.pool,
        broker=context.broker,
        schema=settings.database_schema,
        source=spec.name,
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_s,
    )


def _consumer(spec: ServiceSpec[Any], context: ServiceContext[ServiceSettings]) -> InboxConsumer | None:
    if not spec.subscriptions:
        return None
    settings = context.settings
    return InboxConsumer(
        context=context,
        queue=f"{spec.name}.events",
        subscriptions=spec.subscriptions,
        prefetch=settings.consumer_prefetch,
        batch_size=settings.consumer_batch_size,
        max_attempts=settings.consumer_max_attempts,
        retry_delays_s=settings.consumer_retry_delays_s,
        delivery_limit=settings.queue_delivery_limit,
    )


@asynccontextmanager
async def _running(runtime: Runtime[S]) -> AsyncIterator[None]:
    """The relay, housekeeping, the inbox, then the components and jobs; stopped in reverse on exit."""
    name = runtime.spec.name
    runtime.tasks.append(asyncio.create_task(runtime.relay.run(), name=f"{name}-outbox-relay"))
    runtime.tasks.append(asyncio.create_task(run_housekeeping(runtime.pool), name=f"{name}-housekeeping"))
    try:
        if runtime.consumer is not None:
            # Its node may be lost in the middle of the declarations (a restarted service meeting a node that
            # pauses): `start` leaves nothing behind when it fails, so it is simply tried again, on the next node.
            await until_reachable(
                "broker",
                runtime.consumer.start,
                away=broker_away,
                within_s=runtime.settings.startup_wait_s,
                attempt_within_s=BROKER_STEP_TIMEOUT_S,
            )
        async with AsyncExitStack() as components:
            for component_name, component in runtime.spec.components.items():
                runtime.components[component_name] = await components.enter_async_context(component(runtime))
            for job in runtime.spec.background_jobs:
                runtime.tasks.append(asyncio.create_task(job(runtime), name=f"{name}-{job.__name__}"))
            yield
    finally:
        runtime.relay.stop()
        if runtime.consumer is not None:
            await runtime.consumer.stop()
        for task in runtime.tasks:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)


def create_app(spec: ServiceSpec[S], settings: S, *, clock: Clock | None = None) -> FastAPI:
    """The service as an ASGI app; `clock` defaults to the machine's (tests pass one they move)."""
    configure_logging(service=spec.name, level=settings.log_level, json=settings.log_json)
    service_clock = clock if clock is not None else SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with run_service(spec, settings, service_clock) as runtime:
            app.state.runtime = runtime
            yield

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = service_clock
    app.state.token_verifier = TokenVerifier(
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        jwks_url=settings.auth_jwks_url,
        jwks_path=None if settings.auth_jwks_url else settings.auth_jwks_path,
    )
    install_problem_handlers(app)
    install_problem_document(app)
    install_offline_docs(app)
    # Inside the request context (the last added is the outermost): a request run again is one request, with
    # one id and one line in the metrics.
    app.add_middleware(RetryOnTransactionConflict, service=spec.name)
    install_request_context(app, service=spec.name)
    app.add_middleware(BodySizeLimit, max_bytes=spec.max_body_bytes)
    app.include_router(probes)
    for router in spec.routers:
        app.include_router(router, prefix="/v1")
    for router in spec.root_routers:
        app.include_router(router)
    if spec.front:
        _put_in_front(app, spec.front)
    return app


def _put_in_front(app: FastAPI, fronts: Sequence[Callable[[ASGIApp], ASGIApp]]) -> None:
    """Wrap the whole middleware stack Starlette builds, its error middleware included, in `fronts` (the first
    outermost). What a front serves itself (the distributor's ten thousand gateway sockets) then keeps no frame of
    the HTTP stack for as long as it lives; everything else goes through the stack as before. Starlette sets
    `scope["app"]` before it calls the stack, so a front finds the runtime there."""
    build = app.build_middleware_stack

    def build_with_fronts() -> ASGIApp:
        stack = build()
        for front in reversed(fronts):
            stack = front(stack)
        return stack

    app.build_middleware_stack = build_with_fronts  # type: ignore[method-assign]


def get_runtime(request: Request) -> Runtime[Any]:
    runtime: Runtime[Any] = request.app.state.runtime
    return runtime


async def request_now(request: Request) -> datetime:
    """The service's clock, read once per request."""
    return clock_now(request)


def clock_now(request: Request) -> datetime:
    """`request_now` for a dependency that reads the request itself rather than declaring `Now`."""
    clock: Clock = request.app.state.clock
    return clock.now()


Now = Annotated[datetime, Depends(request_now)]


async def get_pool(request: Request) -> asyncpg.Pool:
    # Dependencies are coroutines: FastAPI runs a plain function in a worker thread, a round trip per request.
    return get_runtime(request).pool


DbPool = Annotated[asyncpg.Pool, Depends(get_pool)]


def main(spec: ServiceSpec[S], settings: S) -> None:
    """`python -m <service>` serves; `python -m <service> migrate` only applies migrations and exits."""
    if sys.argv[1:] == ["migrate"]:
        configure_logging(service=spec.name, level=settings.log_level, json=settings.log_json)
        # An init step may start before its database answers: wait for it as a serving start-up does.
        applied = asyncio.run(
            until_reachable(
                "database",
                lambda: apply_migrations(spec, settings),
                away=database_away_at_start,
                within_s=settings.startup_wait_s,
            )
        )
        print(f"{spec.name}: {len(applied)} migration(s) applied")
        return
    if sys.argv[1:]:
        raise SystemExit(f"usage: python -m {spec.name} [migrate]")
    uvicorn.run(
        create_app(spec, settings, clock=SystemClock()),
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        **spec.server_options,
    )
