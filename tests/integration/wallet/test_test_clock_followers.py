"""When a test clock may take its next step (issue 18), on a real Postgres with the wallet's schema and no wallet
running: the rule is the claim query's (`clocks_repository.claim_advancing_clock`), so it is asked directly.

After a step is announced, the clock moves on only once every follower reported catching up with it, and only once
the rental versions a follower published doing so are applied in the wallet: another replica of the wallet may
still be applying a `RentalChanged` of contracts' catch-up when its `TariffsCaughtUp` is handled, and the next step
must not settle past that change's instant first.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from shared.clock import MovableClock
from shared.db import create_pool, transaction
from shared.runtime import apply_migrations
from tests.harness import fresh_platform
from wallet import clocks_repository, repository, scheduler
from wallet.clocks_repository import TestClock
from wallet.config import Settings
from wallet.main import SPEC

START = datetime(2027, 3, 1, tzinfo=UTC)
LEASE = timedelta(seconds=30)
FOLLOWERS = ["contracts", "licensing"]


@pytest.fixture(scope="module")
async def pool(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[asyncpg.Pool]:
    dev_dir: Path = tmp_path_factory.mktemp("clock-followers")
    async with fresh_platform(*infrastructure, dev_dir) as own:
        await apply_migrations(SPEC, own.settings(Settings))
        db = await create_pool(dsn=own.database_url("wallet"), schema="wallet", max_size=2)
        try:
            yield db
        finally:
            await db.close()


async def an_announced_step(pool: asyncpg.Pool, replica: str) -> uuid.UUID:
    """A clock asked to advance a week, whose first step (where it stands) `replica` announced."""
    clock = TestClock(
        id=uuid.uuid4(),
        name="followers",
        owner="dev-partner",
        frozen_time=START,
        advancing_to=None,
        created_at=START,
        deleted_at=None,
    )
    async with transaction(pool) as conn:
        await clocks_repository.insert_clock(conn, clock)
        await clocks_repository.start_advance(conn, clock_id=clock.id, to=START + timedelta(days=7))
    assert await claim(pool, replica) == clock.id  # nothing announced yet: the first step may go
    async with transaction(pool) as conn:
        step = await clocks_repository.announce(
            conn, clock_id=clock.id, replica=replica, at=START, announced_at=datetime.now(UTC)
        )
    assert step == 1
    return clock.id


async def claim(pool: asyncpg.Pool, replica: str) -> uuid.UUID | None:
    claimed = await clocks_repository.claim_advancing_clock(
        pool, replica=replica, now=datetime.now(UTC), lease_until=datetime.now(UTC) + LEASE, followers=FOLLOWERS
    )
    return None if claimed is None else claimed.clock.id


async def caught_up(
    pool: asyncpg.Pool,
    clock_id: uuid.UUID,
    follower: str,
    *,
    at: datetime,
    step: int = 1,
    next_due_at: datetime | None = None,
    awaits: list[tuple[uuid.UUID, int]] | None = None,
) -> None:
    async with transaction(pool) as conn:
        await clocks_repository.record_follower_caught_up(
            conn,
            clock_id=clock_id,
            follower=follower,
            caught_up_to=at,
            next_due_at=next_due_at,
            awaits=awaits or [],
            step=step,
        )


async def test_the_next_step_waits_for_every_follower_and_the_rental_versions_it_published(pool: asyncpg.Pool) -> None:
    replica = f"wallet-{uuid.uuid4().hex[:8]}"
    clock_id = await an_announced_step(pool, replica)
    contract_id, account_id = uuid.uuid4(), uuid.uuid4()
    assert await claim(pool, replica) is None  # nobody caught up yet

    rise_at = START + timedelta(days=2)
    await caught_up(pool, clock_id, "licensing", at=START, next_due_at=START + timedelta(days=3, hours=12))
    assert await claim(pool, replica) is None  # contracts has not

    # Contracts caught up, having published version 2 of a contract's rental (a price change on the clock).
    await caught_up(pool, clock_id, "contracts", at=START, next_due_at=rise_at, awaits=[(contract_id, 2)])
    assert await claim(pool, replica) is None  # the wallet has not applied that version

    async with transaction(pool) as conn:
        await repository.insert_account(
            conn,
            account_id=account_id,
            name="on the clock",
            opened_by="dev-partner",
            opened_at=START,
            test_clock_id=clock_id,
        )
        for version in (1, 2):
            await repository.upsert_contract_rate_if_newer(
                conn,
                contract_id=contract_id,
                account_id=account_id,
                burn_rate_per_day=86_400_000_000 * version,
                version=version,
                applied_at=START,
            )
    claimed = await clocks_repository.claim_advancing_clock(
        pool, replica=replica, now=datetime.now(UTC), lease_until=datetime.now(UTC) + LEASE, followers=FOLLOWERS
    )
    assert claimed is not None
    assert claimed.clock.id == clock_id
    assert claimed.announced_time == START
    # The next step stops at the earliest instant a follower has work due.
    assert claimed.followers_next_due_at == rise_at


async def test_a_stale_or_repeated_report_changes_nothing(pool: asyncpg.Pool) -> None:
    replica = f"wallet-{uuid.uuid4().hex[:8]}"
    clock_id = await an_announced_step(pool, replica)
    for follower in FOLLOWERS:
        await caught_up(pool, clock_id, follower, at=START, step=1)
    later = START + timedelta(days=1)
    async with transaction(pool) as conn:
        step = await clocks_repository.announce(
            conn, clock_id=clock_id, replica=replica, at=later, announced_at=datetime.now(UTC)
        )
    assert step == 2
    # A redelivered report of the earlier step neither counts for the later one nor moves a follower back.
    await caught_up(pool, clock_id, "contracts", at=later, step=2)
    await caught_up(pool, clock_id, "licensing", at=START, step=1)
    assert await claim(pool, replica) is None
    await caught_up(pool, clock_id, "contracts", at=START, step=1)
    await caught_up(pool, clock_id, "licensing", at=later, step=2)
    assert await claim(pool, replica) == clock_id


async def test_the_reports_of_an_earlier_advance_do_not_answer_the_next_one_at_the_same_instant(
    pool: asyncpg.Pool,
) -> None:
    """An advance's first step announces where the clock stands, the instant its last advance ended at: the
    followers' reports of that end must not count for it, or their next instants due would be stale."""
    replica = f"wallet-{uuid.uuid4().hex[:8]}"
    clock_id = await an_announced_step(pool, replica)
    for follower in FOLLOWERS:
        await caught_up(pool, clock_id, follower, at=START, step=1)
    async with transaction(pool) as conn:
        assert await clocks_repository.finish_advance(conn, clock_id=clock_id, replica=replica) is not None
    async with transaction(pool) as conn:
        await clocks_repository.start_advance(conn, clock_id=clock_id, to=START + timedelta(days=14))
    assert await claim(pool, replica) == clock_id  # the new advance's first step
    async with transaction(pool) as conn:
        step = await clocks_repository.announce(
            conn, clock_id=clock_id, replica=replica, at=START + timedelta(days=7), announced_at=datetime.now(UTC)
        )
    assert step == 2
    assert await claim(pool, replica) is None  # the reports held answer step 1
    for follower in FOLLOWERS:
        await caught_up(pool, clock_id, follower, at=START + timedelta(days=7), step=2)
    assert await claim(pool, replica) == clock_id


async def test_a_step_no_follower_answered_is_announced_again_once_per_wait(pool: asyncpg.Pool) -> None:
    """A catch-up lost (or dead-lettered after a fault) does not leave the clock advancing for good: the step is
    announced again once the followers had `_CLOCK_ANSWER_WITHIN` to answer, by one replica, and not while they
    have all answered."""
    replica = f"wallet-{uuid.uuid4().hex[:8]}"
    clock_id = await an_announced_step(pool, replica)
    settings = Settings(test_clock_followers=FOLLOWERS)
    await caught_up(pool, clock_id, "licensing", at=START)
    assert await outbox_steps(pool, clock_id) == []  # the first announcement was the test's, not the outbox's

    # Answered in time: nothing is announced again.
    wallet_clock = MovableClock()
    assert await scheduler.announce_unanswered_steps(pool, settings=settings, clock=wallet_clock) == 0
    # Contracts never answered: after the wait, announced again, once for the wait, whichever replica looks.
    wallet_clock.advance(timedelta(seconds=11))
    assert await scheduler.announce_unanswered_steps(pool, settings=settings, clock=wallet_clock) == 1
    assert await scheduler.announce_unanswered_steps(pool, settings=settings, clock=wallet_clock) == 0
    assert await outbox_steps(pool, clock_id) == [START]
    # Once contracts answers, nothing more is announced, however long the next look waits.
    await caught_up(pool, clock_id, "contracts", at=START)
    wallet_clock.advance(timedelta(minutes=5))
    assert await scheduler.announce_unanswered_steps(pool, settings=settings, clock=wallet_clock) == 0


async def outbox_steps(pool: asyncpg.Pool, clock_id: uuid.UUID) -> list[datetime]:
    rows = await pool.fetch(
        """SELECT payload FROM outbox_message WHERE subject = $1 AND routing_key = 'wallet.test_clock_advanced'
           ORDER BY created_at""",
        str(clock_id),
    )
    return [datetime.fromisoformat(row["payload"]["frozen_time"]) for row in rows]
