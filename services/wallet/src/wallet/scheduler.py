"""The wallet's durable scheduler: run-outs (`BalanceDepleted`), Auto-iSC reloads, low-balance warnings, daily
settlement.

Its state is the account rows themselves (`depletes_at`, `low_check_at`, `settled_at`; a reload is due at
`depletes_at` minus the account's Auto-iSC threshold), so a restart loses
nothing: whatever fell due while no wallet ran is handled at the next start, with its exact instant.
Every replica runs it; each due account is claimed with `FOR UPDATE SKIP LOCKED`, so exactly one handles it.

An account whose work fails for a reason of its own (it would take a bug or bad data) is held back, with a
back-off doubling from 1 s to 5 min, and the others due behind it go on: one broken account must not stop the
run-outs of all the rest. When the database itself is away, the whole round waits instead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
import structlog

from shared.db import is_database_away
from shared.runtime import Runtime
from wallet import service
from wallet.config import Settings

log = structlog.get_logger()
# Accounts handled per kind of work before the loop looks at the others again.
_BATCH = 200
_MIN_SLEEP_S = 0.005


_HOLD_BACK_FIRST_S = 1.0
_HOLD_BACK_MAX_S = 300.0


@dataclass
class HeldBack:
    """Accounts whose scheduled work failed, each passed over until its retry instant."""

    retry_at: dict[uuid.UUID, datetime] = field(default_factory=dict)
    failures: dict[uuid.UUID, int] = field(default_factory=dict)

    def now_held(self, now: datetime) -> set[uuid.UUID]:
        # An account not failing again within the longest back-off after its retry is forgotten: it stopped
        # being due (or works now), and a later failure starts over from the first back-off.
        forget_before = now - timedelta(seconds=_HOLD_BACK_MAX_S)
        for account_id in [a for a, at in self.retry_at.items() if at < forget_before]:
            self.succeeded(account_id)
        return {account_id for account_id, at in self.retry_at.items() if at > now}

    def failed(self, account_id: uuid.UUID, now: datetime) -> datetime:
        failures = self.failures.get(account_id, 0) + 1
        self.failures[account_id] = failures
        delay_s = min(_HOLD_BACK_MAX_S, _HOLD_BACK_FIRST_S * 2 ** (failures - 1))
        self.retry_at[account_id] = now + timedelta(seconds=delay_s)
        return self.retry_at[account_id]

    def succeeded(self, account_id: uuid.UUID) -> None:
        self.retry_at.pop(account_id, None)
        self.failures.pop(account_id, None)

    def next_retry(self, now: datetime) -> datetime | None:
        return min((at for at in self.retry_at.values() if at > now), default=None)


async def run_wallet_scheduler(runtime: Runtime[Settings]) -> None:
    settings, pool, clock = runtime.settings, runtime.pool, runtime.clock
    every = timedelta(seconds=settings.settle_every_s)
    held_back = HeldBack()
    log.info("wallet.scheduler.started")
    while True:
        next_at: datetime | None = None
        try:
            await _work_through_due(pool, settings=settings, now=clock.now(), every=every, held_back=held_back)
            now = clock.now()
            next_at = await service.next_scheduled_instant(pool, every=every, held_back=held_back.now_held(now))
            retry_at = held_back.next_retry(now)
            if retry_at is not None:
                next_at = retry_at if next_at is None else min(next_at, retry_at)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The scheduler outlives any fault; the work stays due and is tried again next round.
            if is_database_away(exc):
                log.warning("wallet.scheduler.database_failed", error=repr(exc))
            else:
                log.error("wallet.scheduler.failed", exc_info=exc)
        # Until the next due instant on the service's clock (woken early if that clock is moved), at least a
        # moment (no busy loop on work that stays due), at most `scheduler_max_sleep_s`.
        now = clock.now()
        wake_at = now + timedelta(seconds=settings.scheduler_max_sleep_s) if next_at is None else next_at
        await clock.sleep_until(
            max(wake_at, now + timedelta(seconds=_MIN_SLEEP_S)), at_most_s=settings.scheduler_max_sleep_s
        )


async def _work_through_due(
    pool: asyncpg.Pool, *, settings: Settings, now: datetime, every: timedelta, held_back: HeldBack
) -> None:

    async def deplete(held: set[uuid.UUID]) -> uuid.UUID | None:
        return await service.deplete_next_due_account(pool, now=now, held_back=held)

    async def reload(held: set[uuid.UUID]) -> uuid.UUID | None:
        ladder = settings.low_balance_thresholds_s
        return await service.auto_reload_next_due_account(pool, now=now, ladder_s=ladder, held_back=held)

    async def warn(held: set[uuid.UUID]) -> uuid.UUID | None:
        thresholds = settings.low_balance_thresholds_s
        return await service.warn_next_low_balance(pool, now=now, thresholds_s=thresholds, held_back=held)

    async def settle(held: set[uuid.UUID]) -> uuid.UUID | None:
        return await service.settle_next_unsettled_account(pool, now=now, every=every, held_back=held)

    # Run-outs first: a reload never lands on an account whose run-out was already due (it stays depleted).
    for work in (deplete, reload, warn, settle):
        await _work_through(work, now=now, held_back=held_back)


async def _work_through(
    work: Callable[[set[uuid.UUID]], Awaitable[uuid.UUID | None]], *, now: datetime, held_back: HeldBack
) -> None:
    """Up to `_BATCH` due accounts of one kind of work, passing over the held-back ones."""
    held = held_back.now_held(now)
    for _ in range(_BATCH):
        try:
            account_id = await work(held)
        except service.AccountWorkFailed as failure:
            retry_at = held_back.failed(failure.account_id, now)
            held.add(failure.account_id)
            log.error(
                "wallet.scheduler.account_failed",
                account_id=str(failure.account_id),
                work=getattr(work, "__name__", "work"),
                failures=held_back.failures[failure.account_id],
                retry_at=retry_at.isoformat(),
                exc_info=failure.__cause__,
            )
            continue
        if account_id is None:
            return
        held_back.succeeded(account_id)
