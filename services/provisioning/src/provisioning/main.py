"""Composition root of provisioning: its routes, its subscriptions."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from provisioning.api import router
from provisioning.config import Settings
from provisioning.handlers import SUBSCRIPTIONS
from shared.runtime import ServiceSpec, create_app

SPEC = ServiceSpec[Settings](
    name="provisioning",
    title="Provisioning",
    description="Domains, gateways and their public keys, provisioning codes and provisioned devices.",
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    routers=[router],
    subscriptions=SUBSCRIPTIONS,
)


def app_factory() -> FastAPI:
    """For `uvicorn --factory provisioning.main:app_factory`."""
    return create_app(SPEC, Settings())
