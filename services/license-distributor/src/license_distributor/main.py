"""Composition root of the licence distributor: its routes, its subscriptions."""

from __future__ import annotations

from pathlib import Path

from license_distributor.api import router
from license_distributor.config import Settings
from license_distributor.expiry import sweep_expired_bundles
from license_distributor.handlers import SUBSCRIPTIONS
from shared.runtime import ServiceSpec, create_app

SPEC = ServiceSpec(
    name="license-distributor",
    title="Licence distributor",
    description="Signing keys, licence bundles per gateway, gateway sessions, delivery and acknowledgement.",
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    routers=[router],
    subscriptions=SUBSCRIPTIONS,
    background_jobs=[sweep_expired_bundles],
)


def app_factory() -> object:
    """For `uvicorn --factory license_distributor.main:app_factory`."""
    return create_app(SPEC, Settings())
