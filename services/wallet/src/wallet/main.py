"""Composition root of the wallet: its routes, its subscriptions, its background jobs."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.runtime import ServiceSpec, create_app
from wallet.api import router
from wallet.clocks_api import router as clocks_router
from wallet.config import Settings
from wallet.handlers import SUBSCRIPTIONS
from wallet.integrations_api import router as integrations_router
from wallet.notices import run_notice_sender
from wallet.retention import run_outbound_retention
from wallet.scheduler import run_test_clocks, run_wallet_scheduler
from wallet.webhooks import run_webhook_sender

SPEC = ServiceSpec[Settings](
    name="wallet",
    title="Wallet",
    description="Accounts, activation keys, the ledger, burn-down and run-out of prepaid service credits (iSC).",
    migrations_dir=Path(__file__).resolve().parents[2] / "migrations",
    routers=[router, integrations_router, clocks_router],
    subscriptions=SUBSCRIPTIONS,
    background_jobs=[
        run_wallet_scheduler,
        run_test_clocks,
        run_webhook_sender,
        run_notice_sender,
        run_outbound_retention,
    ],
)


def app_factory() -> FastAPI:
    """For `uvicorn --factory wallet.main:app_factory`."""
    return create_app(SPEC, Settings())
