"""SQL of the wallet's webhooks, one function per query. Never commits: the caller's transaction decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeAlias
from uuid import UUID

import asyncpg

from wallet.domain import SealedAnswer

EndpointStatus = Literal["enabled", "disabled", "deleted"]
DeliveryStatus = Literal["pending", "delivered", "failed"]
Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class Endpoint:
    id: UUID
    account_id: UUID
    url: str
    description: str
    event_types: list[str]
    secret: str
    status: EndpointStatus
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Delivery:
    id: UUID
    message_id: str
    endpoint_id: UUID
    account_id: UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery with what sending it needs."""

    id: UUID
    message_id: str
    endpoint_id: UUID
    account_id: UUID
    url: str
    secret: str
    body: str
    attempts: int


_ENDPOINT = """id, account_id, url, description, event_types, secret, status, disabled_reason, failing_since,
    created_at"""


def _endpoint(row: asyncpg.Record) -> Endpoint:
    return Endpoint(
        id=row["id"],
        account_id=row["account_id"],
        url=row["url"],
        description=row["description"],
        event_types=list(row["event_types"]),
        secret=row["secret"],
        status=row["status"],
        disabled_reason=row["disabled_reason"],
        failing_since=row["failing_since"],
        created_at=row["created_at"],
    )


async def insert_shown_endpoint(
    conn: asyncpg.Connection, *, endpoint_id: UUID, registered_by: str, answer: SealedAnswer, expires_at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO shown_webhook_endpoint (endpoint_id, registered_by, nonce, sealed, expires_at)
           VALUES ($1, $2, $3, $4, $5)""",
        endpoint_id,
        registered_by,
        answer.nonce,
        answer.sealed,
        expires_at,
    )


async def shown_endpoint(
    conn: asyncpg.Connection, *, endpoint_id: UUID, registered_by: str, now: datetime
) -> SealedAnswer | None:
    """The sealed registration answer for the principal that registered it, while it is kept."""
    row = await conn.fetchrow(
        """SELECT nonce, sealed FROM shown_webhook_endpoint
           WHERE endpoint_id = $1 AND registered_by = $2 AND expires_at > $3""",
        endpoint_id,
        registered_by,
        now,
    )
    return None if row is None else SealedAnswer(nonce=bytes(row["nonce"]), sealed=bytes(row["sealed"]))


async def delete_shown_endpoints(
    conn: asyncpg.Connection | asyncpg.Pool, *, now: datetime, endpoint_id: UUID | None = None
) -> int:
    """The kept answers past their 24 hours, and the one of `endpoint_id` (deleted: its secret is never shown)."""
    result = await conn.execute(
        "DELETE FROM shown_webhook_endpoint WHERE expires_at <= $1 OR endpoint_id = $2", now, endpoint_id
    )
    return int(result.split()[-1])


async def insert_endpoint(
    conn: asyncpg.Connection,
    *,
    endpoint_id: UUID,
    account_id: UUID,
    url: str,
    description: str,
    event_types: list[str],
    secret: str,
    created_by: str,
    at: datetime,
) -> Endpoint:
    row = await conn.fetchrow(
        f"""INSERT INTO webhook_endpoint (id, account_id, url, description, event_types, secret, status, created_by,
                                          created_at, status_changed_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'enabled', $7, $8, $8)
            RETURNING {_ENDPOINT}""",  # noqa: S608 - fixed column list
        endpoint_id,
        account_id,
        url,
        description,
        event_types,
        secret,
        created_by,
        at,
    )
    assert row is not None
    return _endpoint(row)


async def get_endpoint(db: Db, *, account_id: UUID, endpoint_id: UUID, for_update: bool = False) -> Endpoint | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await db.fetchrow(
        f"""SELECT {_ENDPOINT} FROM webhook_endpoint
            WHERE id = $1 AND account_id = $2 AND status <> 'deleted'{lock}""",  # noqa: S608 - fixed column list
        endpoint_id,
        account_id,
    )
    return None if row is None else _endpoint(row)


async def list_endpoints(db: Db, *, account_id: UUID) -> list[Endpoint]:
    rows = await db.fetch(
        f"""SELECT {_ENDPOINT} FROM webhook_endpoint WHERE account_id = $1 AND status <> 'deleted'
            ORDER BY created_at, id""",  # noqa: S608 - fixed column list
        account_id,
    )
    return [_endpoint(r) for r in rows]


async def enabled_endpoints(conn: asyncpg.Connection, *, account_id: UUID) -> list[Endpoint]:
    rows = await conn.fetch(
        f"SELECT {_ENDPOINT} FROM webhook_endpoint WHERE account_id = $1 AND status = 'enabled' ORDER BY id",  # noqa: S608 - fixed column list
        account_id,
    )
    return [_endpoint(r) for r in rows]


async def set_endpoint_status(
    conn: asyncpg.Connection, *, endpoint_id: UUID, status: EndpointStatus, reason: str | None, at: datetime
) -> None:
    await conn.execute(
        """UPDATE webhook_endpoint SET status = $2, disabled_reason = $3, status_changed_at = $4, failing_since = NULL
           WHERE id = $1""",
        endpoint_id,
        status,
        reason,
        at,
    )


async def mark_endpoint_failing(conn: asyncpg.Connection, *, endpoint_id: UUID, at: datetime) -> Endpoint | None:
    """Start the endpoint's failure streak at `at` unless one runs; the endpoint, locked, if still enabled."""
    row = await conn.fetchrow(
        f"""UPDATE webhook_endpoint SET failing_since = COALESCE(failing_since, $2)
            WHERE id = $1 AND status = 'enabled'
            RETURNING {_ENDPOINT}""",  # noqa: S608 - fixed column list
        endpoint_id,
        at,
    )
    return None if row is None else _endpoint(row)


async def mark_endpoint_healthy(conn: asyncpg.Connection, *, endpoint_id: UUID) -> None:
    await conn.execute(
        "UPDATE webhook_endpoint SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL", endpoint_id
    )


async def insert_message(
    conn: asyncpg.Connection,
    *,
    message_id: str,
    account_id: UUID,
    event_type: str,
    body: str,
    occurred_at: datetime,
    at: datetime,
) -> bool:
    """False when the message was already there (the event handled before)."""
    status = await conn.execute(
        """INSERT INTO webhook_message (id, account_id, event_type, body, occurred_at, created_at)
           VALUES ($1, $2, $3, $4::text::jsonb, $5, $6) ON CONFLICT (id) DO NOTHING""",
        message_id,
        account_id,
        event_type,
        body,
        occurred_at,
        at,
    )
    return bool(status.endswith(" 1"))


async def insert_deliveries(
    conn: asyncpg.Connection,
    *,
    message_id: str,
    account_id: UUID,
    endpoint_ids: list[UUID],
    delivery_ids: list[UUID],
    at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO webhook_delivery (id, message_id, endpoint_id, account_id, status, next_attempt_at, created_at)
           SELECT d, $2, e, $3, 'pending', $4, $4 FROM unnest($1::uuid[], $5::uuid[]) AS t (d, e)
           ON CONFLICT (message_id, endpoint_id) DO NOTHING""",
        delivery_ids,
        message_id,
        account_id,
        at,
        endpoint_ids,
    )


async def claim_due_deliveries(
    pool: asyncpg.Pool, *, now: datetime, lease_until: datetime, limit: int
) -> list[DueDelivery]:
    """Due deliveries of enabled endpoints, claimed by moving their next attempt to `lease_until` (one replica
    each: `SKIP LOCKED`); a sender that dies mid-attempt leaves them due again when the lease ends."""
    rows = await pool.fetch(
        """WITH due AS (
               SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id
               WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.status = 'enabled'
               ORDER BY d.next_attempt_at, d.created_at
               LIMIT $3
               FOR UPDATE OF d SKIP LOCKED)
           UPDATE webhook_delivery d SET next_attempt_at = $2, attempts = d.attempts + 1
           FROM due, webhook_endpoint e, webhook_message m
           WHERE d.id = due.id AND e.id = d.endpoint_id AND m.id = d.message_id
           RETURNING d.id, d.message_id, d.endpoint_id, d.account_id, e.url, e.secret, m.body::text AS body,
                     d.attempts""",
        now,
        lease_until,
        limit,
    )
    return [
        DueDelivery(
            id=r["id"],
            message_id=r["message_id"],
            endpoint_id=r["endpoint_id"],
            account_id=r["account_id"],
            url=r["url"],
            secret=r["secret"],
            body=r["body"],
            attempts=r["attempts"],
        )
        for r in rows
    ]


async def record_attempt(
    conn: asyncpg.Connection,
    *,
    delivery_id: UUID,
    attempt: int,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    await conn.execute(
        """INSERT INTO webhook_attempt (delivery_id, attempt, at, status_code, error, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (delivery_id, attempt) DO NOTHING""",
        delivery_id,
        attempt,
        at,
        status_code,
        error,
        duration_ms,
    )


async def finish_delivery(
    conn: asyncpg.Connection,
    *,
    delivery_id: UUID,
    status: DeliveryStatus,
    next_attempt_at: datetime,
    delivered_at: datetime | None,
) -> None:
    await conn.execute(
        """UPDATE webhook_delivery SET status = $2, next_attempt_at = $3, delivered_at = $4
           WHERE id = $1 AND status = 'pending'""",
        delivery_id,
        status,
        next_attempt_at,
        delivered_at,
    )


_DELIVERY = """d.id, d.message_id, d.endpoint_id, d.account_id, m.event_type, d.status, d.attempts, d.next_attempt_at,
    d.created_at, d.delivered_at"""


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(
        id=row["id"],
        message_id=row["message_id"],
        endpoint_id=row["endpoint_id"],
        account_id=row["account_id"],
        event_type=row["event_type"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        delivered_at=row["delivered_at"],
    )


async def list_deliveries(
    db: Db, *, endpoint_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> list[Delivery]:
    """Newest first."""
    args: list[Any] = [endpoint_id, limit]
    where = ""
    if after is not None:
        where = " AND (d.created_at, d.id) < ($3::timestamptz, $4::uuid)"
        args += list(after)
    rows = await db.fetch(
        f"""SELECT {_DELIVERY} FROM webhook_delivery d JOIN webhook_message m ON m.id = d.message_id
            WHERE d.endpoint_id = $1{where}
            ORDER BY d.created_at DESC, d.id DESC LIMIT $2""",  # noqa: S608 - fixed column list
        *args,
    )
    return [_delivery(r) for r in rows]


async def get_delivery(db: Db, *, endpoint_id: UUID, delivery_id: UUID, for_update: bool = False) -> Delivery | None:
    lock = " FOR UPDATE OF d" if for_update else ""
    row = await db.fetchrow(
        f"""SELECT {_DELIVERY} FROM webhook_delivery d JOIN webhook_message m ON m.id = d.message_id
            WHERE d.id = $1 AND d.endpoint_id = $2{lock}""",  # noqa: S608 - fixed column list
        delivery_id,
        endpoint_id,
    )
    return None if row is None else _delivery(row)


async def attempts_of(db: Db, delivery_ids: list[UUID]) -> dict[UUID, list[Attempt]]:
    rows = await db.fetch(
        """SELECT delivery_id, attempt, at, status_code, error, duration_ms FROM webhook_attempt
           WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, attempt""",
        delivery_ids,
    )
    found: dict[UUID, list[Attempt]] = {}
    for r in rows:
        found.setdefault(r["delivery_id"], []).append(
            Attempt(
                attempt=r["attempt"],
                at=r["at"],
                status_code=r["status_code"],
                error=r["error"],
                duration_ms=r["duration_ms"],
            )
        )
    return found


async def requeue_delivery(conn: asyncpg.Connection, *, delivery_id: UUID, at: datetime) -> None:
    """A replay: the delivery is due again now, with the same message (and so the same `webhook-id`)."""
    await conn.execute(
        "UPDATE webhook_delivery SET status = 'pending', next_attempt_at = $2, delivered_at = NULL WHERE id = $1",
        delivery_id,
        at,
    )


async def requeue_pending_of(conn: asyncpg.Connection, *, endpoint_id: UUID, at: datetime) -> None:
    """A re-enabled endpoint: what waited for it is due now."""
    await conn.execute(
        "UPDATE webhook_delivery SET next_attempt_at = $2 WHERE endpoint_id = $1 AND status = 'pending'",
        endpoint_id,
        at,
    )


async def next_due_instant(db: Db) -> datetime | None:
    value: datetime | None = await db.fetchval(
        """SELECT min(d.next_attempt_at) FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id
           WHERE d.status = 'pending' AND e.status = 'enabled'"""
    )
    return value


async def delete_old_deliveries(conn: asyncpg.Connection | asyncpg.Pool, *, before: datetime, limit: int) -> int:
    """At most `limit` deliveries created before `before` that are finished (delivered, given up) or whose endpoint
    is deleted, with their attempts. A pending delivery of a live endpoint is never deleted."""
    result = await conn.execute(
        """WITH old AS (
               SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id
               WHERE d.created_at < $1 AND (d.status <> 'pending' OR e.status = 'deleted')
               LIMIT $2
           ), attempts AS (
               DELETE FROM webhook_attempt a USING old WHERE a.delivery_id = old.id
           )
           DELETE FROM webhook_delivery d USING old WHERE d.id = old.id""",
        before,
        limit,
    )
    return int(result.split()[-1])


async def delete_old_messages(conn: asyncpg.Connection | asyncpg.Pool, *, before: datetime, limit: int) -> int:
    """At most `limit` messages created before `before` that no delivery refers to any more."""
    result = await conn.execute(
        """DELETE FROM webhook_message WHERE id IN (
               SELECT m.id FROM webhook_message m
               WHERE m.created_at < $1 AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.message_id = m.id)
               LIMIT $2
           )""",
        before,
        limit,
    )
    return int(result.split()[-1])
