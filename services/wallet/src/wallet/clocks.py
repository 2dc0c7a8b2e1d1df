"""Test clocks: a simulated time that accounts opened on it live by, moved forward by a client (issue 18).

A clock belongs to whoever created it (a partner for its own sandbox, or an operator). An account opened with
`test_clock_id` reads the clock's time wherever a live account reads the wallet's clock: its balance, its
redemptions and adjustments, the rate changes contracts announce for it (`account_now`). The wallet's scheduler
leaves such accounts alone; advancing the clock does their work instead: every run-out, Auto-iSC reload, warning
and daily settlement due up to the new instant, in time order, each at its own instant, so a run in steps books
exactly what one advance to the same instant books, and what real time would have. While it works, the clock is
`advancing` and its `frozen_time` is how far it got; `ready` again, it announces `TestClockReady`. The
advancing itself is the scheduler's (`wallet.scheduler.run_test_clocks`).

Contracts and the licence distributor follow each clock by its events: the wallet moves a clock in steps, each
announced (`TestClockAdvanced`), and each follower does its own due work up to the announced instant (tariff
changes; lease renewals, expiries and the bundles' time) and says so with its next instant of work due
(`CaughtUpWithTestClock`). The next step never passes that instant, so the work of all services interleaves in
time order as it would have in real time, and the clock reads `ready` only once every follower caught up.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

import asyncpg
import structlog

from shared.auth import Principal, Role
from shared.db import after_commit, transaction
from shared.events.base import CaughtUpWithTestClock
from shared.idempotency import claim
from shared.pagination import Keyset, Page
from shared.refusals import Conflict, NotFound, Unprocessable
from wallet import clocks_repository as repository
from wallet.clocks_repository import AccountClock, TestClock
from wallet.schemas import TestClockRead

log = structlog.get_logger()

CLOCK_PAGES = Keyset(("created_at", datetime), ("id", uuid.UUID))
# The furthest one advance may move a clock: two years of 365 days and one leap day.
LONGEST_ADVANCE = timedelta(days=2 * 365 + 1)


class UnknownTestClock(Unprocessable):
    code, title = "unknown_test_clock", "Unknown test clock"


def _read(clock: TestClock) -> TestClockRead:
    return TestClockRead(
        id=clock.id,
        name=clock.name,
        frozen_time=clock.frozen_time,
        status="advancing" if clock.advancing_to is not None else "ready",
        advancing_to=clock.advancing_to,
        created_at=clock.created_at,
    )


def _may_use(clock: TestClock, principal: Principal) -> bool:
    """Its creator or an operator sees and moves a clock, and opens accounts on it."""
    return principal.has_any(Role.OPERATOR) or clock.owner == principal.subject


def _visible(clock: TestClock | None, principal: Principal) -> TestClock:
    """The clock, if `principal` may use it; anyone else learns nothing (404)."""
    if clock is None or not _may_use(clock, principal):
        raise NotFound("test clock not found")
    return clock


async def create_clock(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    name: str,
    frozen_time: datetime,
    idempotency_key: str | None,
    now: datetime,
) -> TestClockRead:
    async with transaction(pool) as conn:
        once = await claim(
            conn,
            operation="test-clock",
            owner=principal.subject,
            key=idempotency_key,
            request={"name": name, "frozen_time": frozen_time.isoformat()},
        )
        if (replay := once.replayed(TestClockRead)) is not None:
            return replay
        clock = TestClock(
            id=uuid.uuid4(),
            name=name,
            owner=principal.subject,
            frozen_time=frozen_time,
            advancing_to=None,
            created_at=now,
            deleted_at=None,
        )
        await repository.insert_clock(conn, clock)
        result = await once.answer(_read(clock), status_code=201)
    log.info("wallet.test_clock.created", clock_id=str(clock.id), owner=principal.subject)
    return result


async def read_clock(pool: asyncpg.Pool, *, principal: Principal, clock_id: uuid.UUID) -> TestClockRead:
    return _read(_visible(await repository.get_clock(pool, clock_id), principal))


async def list_clocks(
    pool: asyncpg.Pool, *, principal: Principal, cursor: str | None, limit: int
) -> Page[TestClockRead]:
    """A partner's own clocks, an operator's view of all; oldest first."""
    request = CLOCK_PAGES.request(cursor, limit)
    after = None
    if request.after is not None:
        created_at, clock_id = request.after
        assert isinstance(created_at, datetime)
        assert isinstance(clock_id, uuid.UUID)
        after = (created_at, clock_id)
    owner = None if principal.has_any(Role.OPERATOR) else principal.subject
    clocks = await repository.list_clocks(pool, owner=owner, after=after, limit=request.fetch)
    page = CLOCK_PAGES.page(clocks, request, key=lambda c: (c.created_at, c.id))
    return Page[TestClockRead](items=[_read(c) for c in page.items], next_cursor=page.next_cursor)


async def advance_clock(
    pool: asyncpg.Pool, *, principal: Principal, clock_id: uuid.UUID, to: datetime, idempotency_key: str
) -> TestClockRead:
    """Ask for the clock to be moved forward to `to`; the scheduler does the work in the background."""
    async with transaction(pool) as conn:
        once = await claim(
            conn, operation="test-clock-advance", owner=clock_id, key=idempotency_key, request={"to": to.isoformat()}
        )
        if (replay := once.replayed(TestClockRead)) is not None:
            return replay
        clock = _visible(await repository.lock_clock(conn, clock_id), principal)
        if clock.advancing_to is not None:
            raise Conflict("the clock is still advancing; wait until it is ready", code="test_clock_advancing")
        if to <= clock.frozen_time:
            raise Unprocessable("a test clock moves forward only", code="test_clock_not_forward")
        if to - clock.frozen_time > LONGEST_ADVANCE:
            raise Unprocessable("one advance moves a clock by at most two years", code="test_clock_advance_too_far")
        await repository.start_advance(conn, clock_id=clock_id, to=to)
        after_commit(wake_advancers)
        result = await once.answer(_read(replace(clock, advancing_to=to)), status_code=202)
    log.info("wallet.test_clock.advancing", clock_id=str(clock_id), to=to.isoformat())
    return result


async def delete_clock(pool: asyncpg.Pool, *, principal: Principal, clock_id: uuid.UUID, now: datetime) -> None:
    """The clock stops: nothing is due on it again. Its accounts stay readable at its last time; no live account
    is touched (none can be on a clock)."""
    async with transaction(pool) as conn:
        _visible(await repository.lock_clock(conn, clock_id), principal)
        await repository.mark_deleted(conn, clock_id=clock_id, at=now)
    log.info("wallet.test_clock.deleted", clock_id=str(clock_id), by=principal.subject)


async def clock_time_for_new_account(
    conn: asyncpg.Connection, *, principal: Principal, clock_id: uuid.UUID
) -> datetime:
    """The time an account opened on this clock starts at; 422 if the caller has no such clock."""
    clock = await repository.lock_clock(conn, clock_id)
    if clock is None or not _may_use(clock, principal):
        raise UnknownTestClock("no test clock of yours has this id")
    return clock.frozen_time


# The advancing jobs of this process (`wallet.scheduler.run_test_clocks`), woken when an advance commits here so
# that it starts at once; another replica's job finds it at its next look.
_advancers: set[asyncio.Event] = set()


@contextmanager
def woken_by_advances() -> Iterator[asyncio.Event]:
    """An event set whenever an advance is asked for in this process, for as long as the block runs."""
    wake = asyncio.Event()
    _advancers.add(wake)
    try:
        yield wake
    finally:
        _advancers.discard(wake)


def wake_advancers() -> None:
    for wake in _advancers:
        wake.set()


# --- Which time an account lives by ------------------------------------------------------------------------

# Accounts known to be live. An account's clock never changes, so once read this needs no second look; bounded,
# and simply forgotten when full (the next read of each asks the database again).
_LIVE_ACCOUNTS: set[uuid.UUID] = set()
_LIVE_ACCOUNTS_MAX = 100_000


async def clock_of(db: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID) -> AccountClock | None:
    """The test clock this account lives on; None for a live account (and for an id that names no account: the
    use case then answers 404)."""
    if account_id in _LIVE_ACCOUNTS:
        return None
    exists, clock = await repository.clock_of_account(db, account_id)
    if exists and clock is None:
        if len(_LIVE_ACCOUNTS) >= _LIVE_ACCOUNTS_MAX:
            _LIVE_ACCOUNTS.clear()
        _LIVE_ACCOUNTS.add(account_id)
    return clock


async def account_now(db: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID, *, now: datetime) -> datetime:
    """The instant a request on this account acts at: its test clock's time, or `now` (the wallet's clock's).
    While the clock advances its accounts wait (409): their work is being done at later instants than the clock
    shows yet."""
    clock = await clock_of(db, account_id)
    if clock is None:
        return now
    if clock.advancing:
        raise Conflict("the account's test clock is advancing; try again once it is ready", code="test_clock_advancing")
    return clock.time


async def record_follower_caught_up(conn: asyncpg.Connection, event: CaughtUpWithTestClock) -> None:
    """A follower caught up with a clock: the clock's next step may go once the rental changes its catch-up
    published are applied here (woken here at once, elsewhere at the next look)."""
    versions = event.rental_versions
    await repository.record_follower_caught_up(
        conn,
        clock_id=event.clock_id,
        follower=event.publisher,
        caught_up_to=event.frozen_time,
        next_due_at=event.next_due_at,
        awaits=[(v.contract_id, v.version) for v in versions],
        step=event.step,
    )
    log.info(
        "wallet.test_clock.follower_caught_up",
        clock_id=str(event.clock_id),
        follower=event.publisher,
        at=event.frozen_time.isoformat(),
        awaits=len(versions),
    )
    after_commit(wake_advancers)
