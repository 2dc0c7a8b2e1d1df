"""The wallet's durable scheduler: run-outs (`BalanceDepleted`), low-balance warnings, daily settlement.

Its state is the account rows themselves (`depletes_at`, `low_check_at`, `settled_at`), so a restart loses
nothing: whatever fell due while no wallet ran is handled at the next start, with its exact instant.
Every replica runs it; each due account is claimed with `FOR UPDATE SKIP LOCKED`, so exactly one handles it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from shared.runtime import Runtime
from wallet import service
from wallet.config import Settings

log = structlog.get_logger()
# Accounts handled per kind of work before the loop looks at the others again.
_BATCH = 200
_MIN_SLEEP_S = 0.005


async def run_wallet_scheduler(runtime: Runtime) -> None:
    settings = runtime.settings
    if not isinstance(settings, Settings):
        raise TypeError("the wallet scheduler needs the wallet's settings")
    pool = runtime.pool
    every = timedelta(seconds=settings.settle_every_s)
    log.info("wallet.scheduler.started")
    while True:
        next_at: datetime | None = None
        try:
            await _work_through_due(pool, settings=settings, every=every)
            next_at = await service.next_scheduled_instant(pool, every=every)
        except asyncio.CancelledError:
            raise
        except (asyncpg.PostgresError, OSError) as exc:
            # The database is away: the work stays due and is tried again next round.
            log.warning("wallet.scheduler.database_failed", error=repr(exc))
        except Exception as exc:
            # The scheduler outlives any fault; the account stays due and the error is logged each round.
            log.error("wallet.scheduler.failed", exc_info=exc)
        sleep_s = settings.scheduler_max_sleep_s
        if next_at is not None:
            sleep_s = min(sleep_s, max(_MIN_SLEEP_S, (next_at - datetime.now(UTC)).total_seconds()))
        await asyncio.sleep(sleep_s)


async def _work_through_due(pool: asyncpg.Pool, *, settings: Settings, every: timedelta) -> None:
    now = datetime.now(UTC)
    for _ in range(_BATCH):
        if not await service.deplete_next_due_account(pool, now=now):
            break
    for _ in range(_BATCH):
        if not await service.warn_next_low_balance(pool, now=now, thresholds_s=settings.low_balance_thresholds_s):
            break
    for _ in range(_BATCH):
        if not await service.settle_next_unsettled_account(pool, now=now, every=every):
            break
