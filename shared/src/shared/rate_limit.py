"""Fixed-window rate limits kept in Postgres, so every replica counts against the same budget.

Counting failures (wrong activation codes, unknown provisioning codes) must survive the failing request's
rollback: record them with `record_hit` in a transaction of their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from shared.errors import TooManyRequests


def _window_start(now: datetime, window_s: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_s, tz=now.tzinfo)


async def record_hit(conn: asyncpg.Connection | asyncpg.Pool, *, bucket: str, window_s: int, now: datetime) -> int:
    """Count one hit in the current window; returns the window's count including it."""
    count = await conn.fetchval(
        """INSERT INTO rate_limit_counter (bucket, window_start, hits) VALUES ($1, $2, 1)
           ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_counter.hits + 1
           RETURNING hits""",
        bucket,
        _window_start(now, window_s),
    )
    return int(count)


async def ensure_below_limit(
    conn: asyncpg.Connection | asyncpg.Pool, *, bucket: str, limit: int, window_s: int, now: datetime, what: str
) -> None:
    """429 `rate_limited` with the seconds to wait, when the window already holds `limit` hits."""
    start = _window_start(now, window_s)
    hits = await conn.fetchval(
        "SELECT hits FROM rate_limit_counter WHERE bucket = $1 AND window_start = $2", bucket, start
    )
    if hits is not None and hits >= limit:
        retry_after = max(1, int((start + timedelta(seconds=window_s) - now).total_seconds()))
        raise TooManyRequests(f"too many {what}; try again in {retry_after} s", retry_after_s=retry_after)


async def delete_old_windows(pool: asyncpg.Pool, *, older_than: timedelta = timedelta(days=1)) -> int:
    result = await pool.execute("DELETE FROM rate_limit_counter WHERE window_start < now() - $1::interval", older_than)
    return int(result.split()[-1])
