"""Composition root of contracts: its routes, its subscriptions."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from contracts.api import router
from contracts.config import Settings
from contracts.handlers import SUBSCRIPTIONS
from contracts.scheduler import run_tariff_scheduler
from shared.runtime import ServiceSpec, create_app

SPEC = ServiceSpec[Settings](
    name="contracts",
    title="Contracts",
    description="Rental contracts and their life cycle, tariffs, domain links, rentals and history.",
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    routers=[router],
    subscriptions=SUBSCRIPTIONS,
    background_jobs=[run_tariff_scheduler],
)


def app_factory() -> FastAPI:
    """For `uvicorn --factory contracts.main:app_factory`."""
    return create_app(SPEC, Settings())
