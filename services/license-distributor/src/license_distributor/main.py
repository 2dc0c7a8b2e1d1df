"""Composition root of the licence distributor: its routes, its subscriptions."""

from __future__ import annotations

from pathlib import Path

from license_distributor.api import router
from license_distributor.config import Settings
from license_distributor.expiry import sweep_expired_bundles
from license_distributor.gateway_session import GatewayWebSocketProtocol
from license_distributor.handlers import SUBSCRIPTIONS
from shared.runtime import ServiceSpec, create_app

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

SPEC = ServiceSpec(
    name="license-distributor",
    title="Licence distributor",
    description="Signing keys, licence bundles per gateway, gateway sessions, delivery and acknowledgement.",
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    routers=[router],
    subscriptions=SUBSCRIPTIONS,
    background_jobs=[sweep_expired_bundles],
    server_options=SERVER_OPTIONS,
)


def app_factory() -> object:
    """For `uvicorn --factory license_distributor.main:app_factory`."""
    return create_app(SPEC, Settings())
