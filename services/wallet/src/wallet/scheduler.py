"""The wallet's durable scheduler: run-outs (`BalanceDepleted`), Auto-iSC reloads, low-balance warnings, daily
settlement.

Its state is the account rows themselves (`depletes_at`, `low_check_at`, `settled_at`; a reload is due at
`depletes_at` minus the account's Auto-iSC threshold), so a restart loses
nothing: whatever fell due while no wallet ran is handled at the next start, with its exact instant.
Every replica runs it; each due account is claimed with `FOR UPDATE SKIP LOCKED`, so exactly one handles it.

An account whose work fails for a reason of its own (it would take a bug or bad data) is held back, with a
back-off doubling from 1 s to 5 min, and the others due behind it go on: one broken account must not stop the
run-outs of all the rest. When the database itself is away, the whole round waits instead.

Accounts on a test clock (`wallet.clocks`) are never the live scheduler's: `run_test_clocks` does the same work
for them when their clock is advanced, each due instant in turn, at that instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
import structlog

from shared.clock import Clock
from shared.db import is_database_away, transaction
from shared.events.wallet import TestClockAdvanced, TestClockReady
from shared.messaging.outbox import add_to_outbox
from shared.runtime import Runtime
from wallet import clocks, clocks_repository, service
from wallet.clocks_repository import TestClock
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
            await work_through_due(pool, settings=settings, now=clock.now(), every=every, held_back=held_back)
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


async def work_through_due(
    pool: asyncpg.Pool,
    *,
    settings: Settings,
    now: datetime,
    every: timedelta,
    held_back: HeldBack,
    clock_id: uuid.UUID | None = None,
) -> int:
    """The work due at `now` of the live accounts (`clock_id` None) or of one test clock's: how many accounts it
    handled."""

    async def deplete(held: set[uuid.UUID]) -> uuid.UUID | None:
        return await service.deplete_next_due_account(pool, now=now, held_back=held, clock_id=clock_id)

    async def reload(held: set[uuid.UUID]) -> uuid.UUID | None:
        ladder = settings.low_balance_thresholds_s
        return await service.auto_reload_next_due_account(
            pool, now=now, ladder_s=ladder, held_back=held, clock_id=clock_id
        )

    async def warn(held: set[uuid.UUID]) -> uuid.UUID | None:
        thresholds = settings.low_balance_thresholds_s
        return await service.warn_next_low_balance(
            pool, now=now, thresholds_s=thresholds, held_back=held, clock_id=clock_id
        )

    async def settle(held: set[uuid.UUID]) -> uuid.UUID | None:
        return await service.settle_next_unsettled_account(
            pool, now=now, every=every, held_back=held, clock_id=clock_id
        )

    # Run-outs first: a reload never lands on an account whose run-out was already due (it stays depleted).
    handled = 0
    for work in (deplete, reload, warn, settle):
        handled += await _work_through(work, now=now, held_back=held_back)
    return handled


async def _work_through(
    work: Callable[[set[uuid.UUID]], Awaitable[uuid.UUID | None]], *, now: datetime, held_back: HeldBack
) -> int:
    """Up to `_BATCH` due accounts of one kind of work, passing over the held-back ones; how many it handled
    (failed ones included)."""
    held = held_back.now_held(now)
    handled = 0
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
            handled += 1
            continue
        if account_id is None:
            return handled
        handled += 1
        held_back.succeeded(account_id)
    return handled


# --- Test clocks (`wallet.clocks`) --------------------------------------------------------------------------

# How long a replica holds a clock it advances without renewing; another takes the clock over after that.
_CLOCK_LEASE = timedelta(seconds=30)
_CLOCK_POLL_S = 0.5
# The wait before work due at an instant, found locked by another transaction, is looked at again (at most
# `_CLOCK_ROUNDS_AT_ONE_INSTANT` times: 20 s).
_CLOCK_BUSY_RETRY_S = 0.02
# How long the followers have to answer a step before it is announced again.
_CLOCK_ANSWER_WITHIN = timedelta(seconds=10)
# Rounds of work at one instant before an advance gives up on it: each round handles up to `_BATCH` accounts of
# each kind, so only a defect (work that stays due once done) needs more.
_CLOCK_ROUNDS_AT_ONE_INSTANT = 1_000


async def run_test_clocks(runtime: Runtime[Settings]) -> None:
    """Advance every test clock asked to move, one at a time per replica. A clock another replica holds is left
    to it, and taken over when that replica's lease runs out (it died): the work goes on from the clock's time,
    since each instant's work commits before the clock moves past it."""
    replica = f"wallet-{uuid.uuid4().hex[:12]}"
    log.info("wallet.test_clocks.started", replica=replica)
    with clocks.woken_by_advances() as asked:
        while True:
            asked.clear()
            try:
                advanced = await advance_one_clock(
                    runtime.pool, settings=runtime.settings, replica=replica, clock=runtime.clock
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # The job outlives any fault; the clock stays advancing and is tried again.
                if is_database_away(exc):
                    log.warning("wallet.test_clocks.database_failed", error=repr(exc))
                else:
                    log.error("wallet.test_clocks.failed", exc_info=exc)
                advanced = False
            if not advanced:
                with contextlib.suppress(Exception):
                    # At worst tried again at the next look (the database away is the loop's to report).
                    await announce_unanswered_steps(runtime.pool, settings=runtime.settings, clock=runtime.clock)
                # An advance asked for here wakes the job at once; one asked for at another replica, or left by
                # a replica that died, is found at the next look.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asked.wait(), timeout=_CLOCK_POLL_S)


async def advance_one_clock(pool: asyncpg.Pool, *, settings: Settings, replica: str, clock: Clock) -> bool:
    """Claim one advancing test clock whose followers caught up with it, and take it one step: to its target, or
    to the earliest instant a follower has work due if that comes first. The wallet's own work on the way is done
    at each due instant in turn, the same work at the same instants the live scheduler would have done, so steps
    and one advance book alike. Then the step's end is announced (`TestClockAdvanced`) and the followers do their
    work up to it; the clock is ready once it stands at its target and all of them caught up. The first step of
    an advance only announces where the clock stands, so that the followers say what they have due from there.
    False when no clock may move on."""
    claimed = await clocks_repository.claim_advancing_clock(
        pool,
        replica=replica,
        now=clock.now(),
        lease_until=clock.now() + _CLOCK_LEASE,
        followers=settings.test_clock_followers,
    )
    if claimed is None:
        return False
    test_clock = claimed.clock
    assert test_clock.advancing_to is not None
    target, at = test_clock.advancing_to, test_clock.frozen_time
    if claimed.announced_time is not None and at >= target:
        return await _finish_advance(pool, test_clock, replica=replica)
    if claimed.announced_time is not None:
        # A follower's next work is always after the instant it caught up with; were it not, the step would
        # stand still, so it goes to the target instead.
        next_due = claimed.followers_next_due_at
        step_to = min(target, next_due) if next_due is not None and next_due > at else target
        reached = await _work_up_to(
            pool, test_clock, settings=settings, replica=replica, clock=clock, at=at, step_to=step_to
        )
        if reached is None:
            return True
        at = max(reached, step_to)
    async with transaction(pool) as conn:
        step = await clocks_repository.announce(
            conn, clock_id=test_clock.id, replica=replica, at=at, announced_at=clock.now()
        )
        if step is None:
            log.warning("wallet.test_clock.lost", clock_id=str(test_clock.id), replica=replica)
            return True
        await add_to_outbox(
            conn, TestClockAdvanced(clock_id=test_clock.id, frozen_time=at, advancing_to=target, step=step)
        )
    log.info("wallet.test_clock.step_announced", clock_id=str(test_clock.id), at=at.isoformat())
    return True


async def announce_unanswered_steps(pool: asyncpg.Pool, *, settings: Settings, clock: Clock) -> int:
    """Announce again every step a follower has not answered for `_CLOCK_ANSWER_WITHIN` (its catch-up lost, or
    dead-lettered after a fault): a follower's catch-up is idempotent, so a clock never stays advancing for good
    because one message went missing. How many were announced again."""
    now = clock.now()
    async with transaction(pool) as conn:
        steps = await clocks_repository.claim_unanswered_steps(
            conn, announced_before=now - _CLOCK_ANSWER_WITHIN, now=now, followers=settings.test_clock_followers
        )
        for step in steps:
            await add_to_outbox(
                conn,
                TestClockAdvanced(
                    clock_id=step.clock_id,
                    frozen_time=step.announced_time,
                    advancing_to=step.advancing_to,
                    step=step.announced_step,
                ),
            )
    for step in steps:
        log.warning(
            "wallet.test_clock.step_announced_again",
            clock_id=str(step.clock_id),
            at=step.announced_time.isoformat(),
        )
    return len(steps)


async def _work_up_to(
    pool: asyncpg.Pool,
    test_clock: TestClock,
    *,
    settings: Settings,
    replica: str,
    clock: Clock,
    at: datetime,
    step_to: datetime,
) -> datetime | None:
    """The wallet's work due on the clock up to `step_to`, each instant in turn, committed (and the clock moved to
    it) before the next: the instant reached, or None if another replica took the clock over meanwhile."""
    every = timedelta(seconds=settings.settle_every_s)
    held_back = HeldBack()
    rounds_at_this_instant = 0
    while True:
        due = await service.next_scheduled_instant(
            pool, every=every, held_back=held_back.now_held(at), clock_id=test_clock.id
        )
        if due is None or due > step_to:
            return at
        # Work that fell due before the clock's time (an account opened on it with work already due) is done now.
        rounds_at_this_instant = rounds_at_this_instant + 1 if due <= at else 1
        at = max(at, due)
        handled = await work_through_due(
            pool, settings=settings, now=at, every=every, held_back=held_back, clock_id=test_clock.id
        )
        if rounds_at_this_instant > _CLOCK_ROUNDS_AT_ONE_INSTANT:
            # Due by the schedule but never done, or done again and again: a defect. The clock still reaches its
            # target rather than spinning here.
            log.error("wallet.test_clock.due_work_not_done", clock_id=str(test_clock.id), at=at.isoformat())
            return at
        if handled == 0:
            # Due, but its account's row is locked just now (a rental change being applied, a request): every kind
            # of work passes over a locked account. Looked at again shortly, at the same instant.
            await asyncio.sleep(_CLOCK_BUSY_RETRY_S)
            continue
        # The progress, with the lease renewed: a replica taking over goes on from here.
        if not await clocks_repository.record_progress(
            pool, clock_id=test_clock.id, replica=replica, at=at, lease_until=clock.now() + _CLOCK_LEASE
        ):
            log.warning("wallet.test_clock.lost", clock_id=str(test_clock.id), replica=replica)
            return None


async def _finish_advance(pool: asyncpg.Pool, test_clock: TestClock, *, replica: str) -> bool:
    async with transaction(pool) as conn:
        reached = await clocks_repository.finish_advance(conn, clock_id=test_clock.id, replica=replica)
        if reached is None:
            log.warning("wallet.test_clock.lost", clock_id=str(test_clock.id), replica=replica)
            return True
        await add_to_outbox(conn, TestClockReady(clock_id=test_clock.id, frozen_time=reached))
    log.info("wallet.test_clock.ready", clock_id=str(test_clock.id), frozen_time=reached.isoformat())
    return True
