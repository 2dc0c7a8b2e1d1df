"""Fixed-window rate limits kept in Postgres, so every replica counts against the same budget.

Counting failures (wrong activation codes, unknown provisioning codes) must survive the failing request's
rollback: record them with `record_hit` in a transaction of their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from shared.refusals import TooManyRequests


def window_start(now: datetime, window_s: int) -> datetime:
    """The start of the fixed window `now` falls in: the key its hits are counted under."""
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_s, tz=now.tzinfo)


async def record_hit(conn: asyncpg.Connection | asyncpg.Pool, *, bucket: str, window_s: int, now: datetime) -> int:
    """Count one hit in the current window; returns the window's count including it."""
    count = await conn.fetchval(
        """INSERT INTO rate_limit_counter (bucket, window_start, hits) VALUES ($1, $2, 1)
           ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_counter.hits + 1
           RETURNING hits""",
        bucket,
        window_start(now, window_s),
    )
    return int(count)


async def ensure_below_limit(
    conn: asyncpg.Connection | asyncpg.Pool, *, bucket: str, limit: int, window_s: int, now: datetime, what: str
) -> None:
    """429 `rate_limited` with the seconds to wait, when the window already holds `limit` hits."""
    await ensure_all_below_limits(conn, limits={bucket: (limit, what)}, window_s=window_s, now=now)


async def ensure_all_below_limits(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    limits: dict[str, tuple[int, str]],
    window_s: int,
    now: datetime,
) -> None:
    """`ensure_below_limit` for several buckets (`{bucket: (limit, what)}`) in one query; the first in the
    mapping's order that is full decides the answer."""
    start = window_start(now, window_s)
    rows = await conn.fetch(
        "SELECT bucket, hits FROM rate_limit_counter WHERE bucket = ANY($1::text[]) AND window_start = $2",
        list(limits),
        start,
    )
    refuse_if_any_full({row["bucket"]: row["hits"] for row in rows}, limits=limits, window_s=window_s, now=now)


def refuse_if_any_full(
    hits: dict[str, int], *, limits: dict[str, tuple[int, str]], window_s: int, now: datetime
) -> None:
    """The check of `ensure_all_below_limits` on hits a use case read itself (in a statement it sends anyway)."""
    start = window_start(now, window_s)
    for bucket, (limit, what) in limits.items():
        if hits.get(bucket, 0) >= limit:
            retry_after = max(1, int((start + timedelta(seconds=window_s) - now).total_seconds()))
            raise TooManyRequests(f"too many {what}; try again in {retry_after} s", retry_after_s=retry_after)


async def delete_old_windows(pool: asyncpg.Pool, *, older_than: timedelta = timedelta(days=1)) -> int:
    result = await pool.execute("DELETE FROM rate_limit_counter WHERE window_start < now() - $1::interval", older_than)
    return int(result.split()[-1])
