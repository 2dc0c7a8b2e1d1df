"""Periodic removal of rows kept only for a while: sent outbox rows, old inbox ids, idempotency records and
rate-limit windows. Every replica may run it: the deletes are idempotent."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import structlog

from shared.db import is_database_away
from shared.idempotency import delete_expired_idempotency_records
from shared.messaging.outbox import delete_sent
from shared.rate_limit import delete_old_windows

log = structlog.get_logger()


@dataclass(frozen=True)
class Retention:
    sent_outbox_days: int = 7
    # Redeliveries come within minutes; a month of inbox ids leaves a wide margin for replays from a DLQ.
    inbox_days: int = 30
    idempotency_hours: int = 72


async def delete_old_inbox_ids(pool: asyncpg.Pool, *, older_than_days: int) -> int:
    result = await pool.execute(
        "DELETE FROM inbox_message WHERE received_at < now() - make_interval(days => $1)", older_than_days
    )
    return int(result.split()[-1])


async def sweep(pool: asyncpg.Pool, retention: Retention) -> dict[str, int]:
    return {
        "outbox": await delete_sent(pool, older_than_days=retention.sent_outbox_days),
        "inbox": await delete_old_inbox_ids(pool, older_than_days=retention.inbox_days),
        "idempotency": await delete_expired_idempotency_records(pool, older_than_hours=retention.idempotency_hours),
        "rate_limit": await delete_old_windows(pool),
    }


async def run_housekeeping(pool: asyncpg.Pool, *, every_s: float = 3600.0, retention: Retention | None = None) -> None:
    retention = retention or Retention()
    while True:
        try:
            deleted = await sweep(pool, retention)
            if any(deleted.values()):
                log.info("housekeeping.swept", **deleted)
        except Exception as exc:
            # Housekeeping outlives any failure; what it did not sweep is swept next time.
            if is_database_away(exc):
                log.warning("housekeeping.failed", error=repr(exc))
            else:
                log.error("housekeeping.failed", exc_info=exc)
        await asyncio.sleep(every_s)
