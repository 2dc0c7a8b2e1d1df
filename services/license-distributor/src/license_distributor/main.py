"""Composition root of the licence distributor: its routes, subscriptions, jobs and long-lived components."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from license_distributor.api import router, well_known
from license_distributor.config import Settings
from license_distributor.expiry import sweep_expired_bundles
from license_distributor.gateway_session import HUB, GatewaySockets, GatewayWebSocketProtocol
from license_distributor.handlers import SUBSCRIPTIONS
from license_distributor.hub import GatewayHub
from license_distributor.limits import raise_open_file_limit, tune_garbage_collector
from license_distributor.rotation import KEY_ROTATIONS, KeyRotationWorker
from shared.runtime import Runtime, ServiceSpec, create_app

# Thousands of idle gateway sockets per process: no per-message compression (a zlib context per connection
# for frames of a few hundred bytes), small frames and receive queues, a listen backlog for reconnect storms,
# and a bound on connections beyond which uvicorn answers 503 rather than run out of memory or files; uvicorn's
# WebSocket protocol with a lighter receive queue (`gateway_session.GatewayWebSocketProtocol`).
SERVER_OPTIONS: dict[str, object] = {
    "ws": GatewayWebSocketProtocol,
    "ws_per_message_deflate": False,
    "ws_max_size": 64 * 1024,
    "ws_max_queue": 8,
    "backlog": 4096,
    "limit_concurrency": 25_000,
}


@asynccontextmanager
async def gateway_hub(runtime: Runtime[Settings]) -> AsyncIterator[GatewayHub]:
    """This replica's hub of gateway sessions, up before the first gateway socket is served."""
    settings = runtime.settings
    # Every session is a socket: thousands of them need more than the usual 1,024 open files.
    raise_open_file_limit()
    tune_garbage_collector(settings.gc_thresholds)
    hub = GatewayHub(
        pool=runtime.pool,
        broker=runtime.broker,
        clock=runtime.clock,
        heartbeat_interval_s=settings.heartbeat_interval_s,
        issuer=settings.bundle_issuer,
        admission_batch=settings.admission_batch,
        admission_concurrency=settings.admission_concurrency,
        push_concurrency=settings.push_concurrency,
        write_interval_s=settings.session_write_interval_s,
        send_timeout_s=settings.send_timeout_s,
        handshake_limit=settings.handshake_limit,
        lease=settings.lease,
    )
    await hub.start(startup_wait_s=settings.startup_wait_s)
    try:
        yield hub
    finally:
        await hub.stop()


@asynccontextmanager
async def key_rotations(runtime: Runtime[Settings]) -> AsyncIterator[KeyRotationWorker]:
    """Re-signs every bundle after a rotation, in batches, resuming whatever a stopped replica left."""
    settings = runtime.settings
    rotations = KeyRotationWorker(
        pool=runtime.pool,
        issuer=settings.bundle_issuer,
        clock=runtime.clock,
        batch_domains=settings.rotation_batch_domains,
        poll_interval_s=settings.rotation_poll_interval_s,
    )
    rotations.start()
    try:
        yield rotations
    finally:
        await rotations.stop()


SPEC = ServiceSpec[Settings](
    name="license-distributor",
    title="Licence distributor",
    description="Signing keys, licence bundles per gateway, gateway sessions, delivery and acknowledgement.",
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    routers=[router],
    root_routers=[well_known],
    subscriptions=SUBSCRIPTIONS,
    background_jobs=[sweep_expired_bundles],
    components={HUB: gateway_hub, KEY_ROTATIONS: key_rotations},
    front=[GatewaySockets],
    server_options=SERVER_OPTIONS,
)


def app_factory() -> FastAPI:
    """For `uvicorn --factory license_distributor.main:app_factory`."""
    return create_app(SPEC, Settings())
