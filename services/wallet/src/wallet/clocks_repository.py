"""The wallet's test clocks in Postgres: the clocks themselves, and which accounts live on which."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from uuid import UUID

import asyncpg


@dataclass(frozen=True)
class TestClock:
    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name
    id: UUID
    name: str
    owner: str
    frozen_time: datetime
    # Set while an advance is in progress: the instant asked for (`frozen_time` is how far it got).
    advancing_to: datetime | None
    created_at: datetime
    deleted_at: datetime | None


_COLUMNS = "id, name, owner, frozen_time, advancing_to, created_at, deleted_at"


def _clock(row: asyncpg.Record | None) -> TestClock | None:
    return None if row is None else TestClock(**row)


async def insert_clock(conn: asyncpg.Connection, clock: TestClock) -> None:
    await conn.execute(
        """INSERT INTO test_clock (id, name, owner, frozen_time, created_at) VALUES ($1, $2, $3, $4, $5)""",
        clock.id,
        clock.name,
        clock.owner,
        clock.frozen_time,
        clock.created_at,
    )


async def get_clock(conn: asyncpg.Connection | asyncpg.Pool, clock_id: UUID) -> TestClock | None:
    """A clock that is not deleted."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM test_clock WHERE id = $1 AND deleted_at IS NULL",  # noqa: S608 - fixed columns
        clock_id,
    )
    return _clock(row)


async def lock_clock(conn: asyncpg.Connection, clock_id: UUID) -> TestClock | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM test_clock WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",  # noqa: S608
        clock_id,
    )
    return _clock(row)


async def list_clocks(
    conn: asyncpg.Connection | asyncpg.Pool, *, owner: str | None, after: tuple[datetime, UUID] | None, limit: int
) -> list[TestClock]:
    """Oldest first; `owner` None: everyone's (an operator)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM test_clock
            WHERE deleted_at IS NULL AND ($1::text IS NULL OR owner = $1)
              AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
            ORDER BY created_at, id LIMIT $4""",  # noqa: S608 - fixed columns
        owner,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [TestClock(**row) for row in rows]


async def start_advance(conn: asyncpg.Connection, *, clock_id: UUID, to: datetime) -> None:
    await conn.execute(
        """UPDATE test_clock SET advancing_to = $2, advanced_by = NULL, advanced_until = NULL, announced_time = NULL
           WHERE id = $1""",
        clock_id,
        to,
    )


async def mark_deleted(conn: asyncpg.Connection, *, clock_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE test_clock SET deleted_at = $2, advancing_to = NULL, advanced_by = NULL WHERE id = $1", clock_id, at
    )


@dataclass(frozen=True)
class ClaimedClock:
    """An advancing clock leased to one replica, with where its followers stand."""

    clock: TestClock
    # The last instant announced since the advance was asked for (None: none yet).
    announced_time: datetime | None
    # The earliest instant a follower has work due on the clock (None: none said).
    followers_next_due_at: datetime | None


def _followers_caught_up(followers_parameter: int) -> str:
    """SQL: every follower named in the query's parameter `followers_parameter` (text[]) caught up with clock `c`'s
    last announced instant, and the rental versions its catch-up published are applied here."""
    return f"""NOT EXISTS (
        SELECT 1 FROM unnest(${followers_parameter}::text[]) AS f(name)
        WHERE NOT EXISTS (
            SELECT 1 FROM test_clock_follower tf
            WHERE tf.test_clock_id = c.id AND tf.follower = f.name AND tf.step >= c.announced_step
              AND NOT EXISTS (
                  SELECT 1 FROM jsonb_to_recordset(tf.awaits) AS w(contract_id uuid, version bigint)
                  WHERE NOT EXISTS (
                      SELECT 1 FROM contract_rate r
                      WHERE r.contract_id = w.contract_id AND r.version >= w.version))))"""  # noqa: S608


async def claim_advancing_clock(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    replica: str,
    now: datetime,
    lease_until: datetime,
    followers: list[str],
) -> ClaimedClock | None:
    """An advancing clock no other replica holds (or whose holder's lease ran out) and whose every follower caught
    up with its last announced instant (the rental versions its catch-up published applied here), now leased to
    `replica` until `lease_until` (`record_progress` renews it). None when no clock may move on."""
    row = await conn.fetchrow(
        f"""UPDATE test_clock SET advanced_by = $1, advanced_until = $3
            WHERE id = (SELECT c.id FROM test_clock c
                        WHERE c.advancing_to IS NOT NULL AND c.deleted_at IS NULL
                          AND (c.advanced_by IS NULL OR c.advanced_by = $1 OR c.advanced_until < $2)
                          AND (c.announced_time IS NULL OR {_followers_caught_up(4)})
                        ORDER BY c.advancing_to LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING {_COLUMNS}, announced_time,
                (SELECT min(tf.next_due_at) FROM test_clock_follower tf
                 WHERE tf.test_clock_id = test_clock.id AND tf.follower = ANY($4::text[])) AS followers_next_due_at""",  # noqa: S608
        replica,
        now,
        lease_until,
        followers,
    )
    if row is None:
        return None
    fields = dict(row)
    announced, next_due = fields.pop("announced_time"), fields.pop("followers_next_due_at")
    return ClaimedClock(clock=TestClock(**fields), announced_time=announced, followers_next_due_at=next_due)


async def record_progress(
    conn: asyncpg.Connection | asyncpg.Pool, *, clock_id: UUID, replica: str, at: datetime, lease_until: datetime
) -> bool:
    """The advance's work is done up to `at`: the clock shows it, and `replica`'s lease runs until `lease_until`.
    False if `replica` no longer holds the clock (its lease was taken over, or the clock was deleted)."""
    result = await conn.execute(
        """UPDATE test_clock SET frozen_time = $3, advanced_until = $4
           WHERE id = $1 AND advanced_by = $2 AND deleted_at IS NULL AND frozen_time <= $3""",
        clock_id,
        replica,
        at,
        lease_until,
    )
    return bool(result == "UPDATE 1")


async def announce(
    conn: asyncpg.Connection, *, clock_id: UUID, replica: str, at: datetime, announced_at: datetime
) -> int | None:
    """The clock's followers are told it stands at `at` (its `frozen_time`), at `announced_at` on the wallet's
    clock; the next step waits for them. The announcement's number, or None if `replica` no longer holds it."""
    step: int | None = await conn.fetchval(
        """UPDATE test_clock SET frozen_time = $3, announced_time = $3, announced_at = $4,
                  announced_step = announced_step + 1
           WHERE id = $1 AND advanced_by = $2 AND deleted_at IS NULL AND frozen_time <= $3
           RETURNING announced_step""",
        clock_id,
        replica,
        at,
        announced_at,
    )
    return step


@dataclass(frozen=True)
class UnansweredStep:
    clock_id: UUID
    announced_time: datetime
    advancing_to: datetime
    announced_step: int


async def claim_unanswered_steps(
    conn: asyncpg.Connection, *, announced_before: datetime, now: datetime, followers: list[str]
) -> list[UnansweredStep]:
    """The advancing clocks whose last step, announced before `announced_before`, some follower has not caught up
    with yet: marked announced again at `now` (so one replica announces each once), for the caller to announce."""
    rows = await conn.fetch(
        f"""UPDATE test_clock SET announced_at = $2
            WHERE id IN (SELECT c.id FROM test_clock c
                         WHERE c.advancing_to IS NOT NULL AND c.deleted_at IS NULL AND c.announced_time IS NOT NULL
                           AND c.announced_at < $1 AND NOT {_followers_caught_up(3)}
                         FOR UPDATE SKIP LOCKED)
            RETURNING id, announced_time, advancing_to, announced_step""",  # noqa: S608 - a fixed fragment
        announced_before,
        now,
        followers,
    )
    return [UnansweredStep(r["id"], r["announced_time"], r["advancing_to"], r["announced_step"]) for r in rows]


async def finish_advance(conn: asyncpg.Connection, *, clock_id: UUID, replica: str) -> datetime | None:
    """The clock reaches the instant it was advanced to and is ready: that instant, or None if `replica` no longer
    holds it."""
    reached: datetime | None = await conn.fetchval(
        """UPDATE test_clock SET frozen_time = advancing_to, advancing_to = NULL, advanced_by = NULL,
                  advanced_until = NULL, announced_time = NULL
           WHERE id = $1 AND advanced_by = $2 AND deleted_at IS NULL
           RETURNING frozen_time""",
        clock_id,
        replica,
    )
    return reached


async def record_follower_caught_up(
    conn: asyncpg.Connection,
    *,
    clock_id: UUID,
    follower: str,
    caught_up_to: datetime,
    next_due_at: datetime | None,
    awaits: list[tuple[UUID, int]],
    step: int,
) -> None:
    """A follower answered the clock's announcement `step`: it did its work up to `caught_up_to`, publishing the
    rental versions `awaits`. A report of an earlier announcement changes nothing (a redelivery, or overtaken)."""
    await conn.execute(
        """INSERT INTO test_clock_follower (test_clock_id, follower, caught_up_to, next_due_at, awaits, step)
           SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM test_clock WHERE id = $1)
           ON CONFLICT (test_clock_id, follower) DO UPDATE
           SET caught_up_to = excluded.caught_up_to, next_due_at = excluded.next_due_at, awaits = excluded.awaits,
               step = excluded.step
           WHERE test_clock_follower.step <= excluded.step""",
        clock_id,
        follower,
        caught_up_to,
        next_due_at,
        [{"contract_id": str(contract_id), "version": version} for contract_id, version in awaits],
        step,
    )


@dataclass(frozen=True)
class AccountClock:
    """The test clock an account lives on, as the account's use cases need it."""

    time: datetime
    advancing: bool


async def clock_of_account(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID
) -> tuple[bool, AccountClock | None]:
    """(whether the account exists, the clock it lives on: None for a live account)."""
    row = await conn.fetchrow(
        """SELECT a.test_clock_id, c.frozen_time, c.advancing_to IS NOT NULL AS advancing
           FROM account a LEFT JOIN test_clock c ON c.id = a.test_clock_id WHERE a.id = $1""",
        account_id,
    )
    if row is None:
        return False, None
    if row["test_clock_id"] is None:
        return True, None
    return True, AccountClock(time=row["frozen_time"], advancing=row["advancing"])
