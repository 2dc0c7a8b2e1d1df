"""The retention job of the wallet's outbound rows, on every replica (its deletes are idempotent and batched).

Finished webhook deliveries with their attempts, and the messages left without a delivery, go after
`webhook_retention_days`; sent or given-up e-mail notices after `notice_retention_days`; the answers kept sealed for
a retry (key batches, webhook registrations) once past their 24 hours. On the service's clock. Never sooner than the
inbox's 30 days (the settings refuse it), so an event redelivered within them still finds what it wrote and is told
once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog

from shared.db import is_database_away
from shared.runtime import Runtime
from wallet import notices, webhooks, webhooks_repository
from wallet import repository as wallet_repository
from wallet.config import Settings

log = structlog.get_logger()


async def sweep_outbound(runtime: Runtime[Settings], *, now: datetime) -> dict[str, int]:
    """One retention round at `now`: how many rows of each kind went."""
    settings, pool = runtime.settings, runtime.pool
    return {
        "webhook_rows": await webhooks.delete_old_rows(
            pool, before=now - timedelta(days=settings.webhook_retention_days)
        ),
        "email_notices": await notices.delete_old_notices(
            pool, before=now - timedelta(days=settings.notice_retention_days)
        ),
        "shown_answers": await webhooks_repository.delete_shown_endpoints(pool, now=now)
        + await wallet_repository.delete_expired_shown_key_batches(pool, now=now),
    }


async def run_outbound_retention(runtime: Runtime[Settings]) -> None:
    """The background job: a retention round, then a sleep of `outbound_retention_interval_s` on the service's
    clock (woken when the clock moves). A failed round is logged; what it left is deleted by the next."""
    interval_s = runtime.settings.outbound_retention_interval_s
    while True:
        try:
            deleted = await sweep_outbound(runtime, now=runtime.clock.now())
            if any(deleted.values()):
                log.info("wallet.outbound.retention_swept", **deleted)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_database_away(exc):
                log.warning("wallet.outbound.retention_database_failed", error=repr(exc))
            else:
                log.error("wallet.outbound.retention_failed", exc_info=exc)
        clock = runtime.clock
        await clock.sleep_until(clock.now() + timedelta(seconds=interval_s), at_most_s=interval_s)
