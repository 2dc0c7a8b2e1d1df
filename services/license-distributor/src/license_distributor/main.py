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
from license_distributor.key_encryption import KeyEncryptionKey, installed, resolve_kek
from license_distributor.limits import raise_open_file_limit, tune_garbage_collector
from license_distributor.rotation import KEY_ROTATIONS, KeyRotationWorker
from license_distributor.service import seal_plaintext_keys
from shared.runtime import Runtime, ServiceSpec, create_app

# The name of the key-encryption key among the runtime's components.
KEY_ENCRYPTION = "key_encryption"

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
async def key_encryption(runtime: Runtime[Settings]) -> AsyncIterator[KeyEncryptionKey]:
    """The key-encryption key of the environment, installed for the use cases before anything signs; keys stored
    in plaintext (before they were encrypted) are sealed with it here, once."""
    settings = runtime.settings
    secret = settings.key_encryption_key
    kek = resolve_kek(
        value=secret.get_secret_value() if secret is not None else None, file=settings.key_encryption_key_file
    )
    with installed(kek):
        await seal_plaintext_keys(runtime.pool, kek=kek)
        yield kek


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
        delivery_deadline_s=settings.delivery_deadline_s,
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
        lease=settings.lease,
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
    # The KEK first: the hub and the rotation worker sign with keys it opens.
    components={KEY_ENCRYPTION: key_encryption, HUB: gateway_hub, KEY_ROTATIONS: key_rotations},
    front=[GatewaySockets],
    server_options=SERVER_OPTIONS,
)


def app_factory() -> FastAPI:
    """For `uvicorn --factory license_distributor.main:app_factory`."""
    return create_app(SPEC, Settings())
