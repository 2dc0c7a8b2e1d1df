"""The tariff job: each scheduled tariff change takes effect at its `effective_at`, on the service's clock.

Its state is the `tariff_change` rows, so a restart loses nothing: a change that fell due while no contracts ran
takes effect at the next start, still at its own instant (the wallet charges it from there). Every replica runs
it; the tariff row lock, then the change's status, make exactly one of them apply each change.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from contracts import service
from contracts.config import Settings
from shared.db import is_database_away
from shared.runtime import Runtime

log = structlog.get_logger()
_MIN_SLEEP_S = 0.005
# Changes applied before the loop looks at the clock again.
_BATCH = 100


async def run_tariff_scheduler(runtime: Runtime[Settings]) -> None:
    settings, pool, clock = runtime.settings, runtime.pool, runtime.clock
    log.info("contracts.tariff_scheduler.started")
    while True:
        next_at = None
        try:
            for _ in range(_BATCH):
                if not await service.apply_next_due_tariff_change(pool, now=clock.now()):
                    break
            next_at = await service.next_tariff_change_at(pool)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The job outlives any fault; the change stays scheduled and is tried again next round.
            if is_database_away(exc):
                log.warning("contracts.tariff_scheduler.database_failed", error=repr(exc))
            else:
                log.error("contracts.tariff_scheduler.failed", exc_info=exc)
        now = clock.now()
        most = settings.tariff_scheduler_max_sleep_s
        wake_at = now + timedelta(seconds=most) if next_at is None else next_at
        await clock.sleep_until(max(wake_at, now + timedelta(seconds=_MIN_SLEEP_S)), at_most_s=most)
