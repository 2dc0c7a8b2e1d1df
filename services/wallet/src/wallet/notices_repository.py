"""SQL of the wallet's contact addresses and e-mail notices. Never commits: the caller's transaction decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias
from uuid import UUID

import asyncpg

NoticeStatus = Literal["pending", "sent", "failed"]
Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class Contacts:
    account_id: UUID
    emails: list[str]
    updated_at: datetime | None


@dataclass(frozen=True)
class Notice:
    id: UUID
    account_id: UUID
    kind: str
    recipients: list[str]
    subject: str
    text_body: str
    html_body: str
    status: NoticeStatus
    attempts: int
    created_at: datetime
    sent_at: datetime | None


async def get_contacts(db: Db, account_id: UUID) -> Contacts:
    row = await db.fetchrow("SELECT emails, updated_at FROM account_contact WHERE account_id = $1", account_id)
    if row is None:
        return Contacts(account_id=account_id, emails=[], updated_at=None)
    return Contacts(account_id=account_id, emails=list(row["emails"]), updated_at=row["updated_at"])


async def put_contacts(conn: asyncpg.Connection, *, account_id: UUID, emails: list[str], at: datetime) -> Contacts:
    await conn.execute(
        """INSERT INTO account_contact (account_id, emails, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (account_id) DO UPDATE SET emails = EXCLUDED.emails, updated_at = EXCLUDED.updated_at""",
        account_id,
        emails,
        at,
    )
    return Contacts(account_id=account_id, emails=emails, updated_at=at)


async def account_name(db: Db, account_id: UUID) -> str | None:
    name: str | None = await db.fetchval("SELECT name FROM account WHERE id = $1", account_id)
    return name


async def insert_notice(
    conn: asyncpg.Connection,
    *,
    notice_id: UUID,
    dedupe_key: str,
    account_id: UUID,
    kind: str,
    recipients: list[str],
    subject: str,
    text_body: str,
    html_body: str,
    at: datetime,
) -> bool:
    """False when this event's notice of this kind exists already."""
    status = await conn.execute(
        """INSERT INTO email_notice (id, dedupe_key, account_id, kind, recipients, subject, text_body, html_body,
                                     status, next_attempt_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9) ON CONFLICT (dedupe_key) DO NOTHING""",
        notice_id,
        dedupe_key,
        account_id,
        kind,
        recipients,
        subject,
        text_body,
        html_body,
        at,
    )
    return bool(status.endswith(" 1"))


_NOTICE = "id, account_id, kind, recipients, subject, text_body, html_body, status, attempts, created_at, sent_at"


def _notice(row: asyncpg.Record) -> Notice:
    return Notice(
        id=row["id"],
        account_id=row["account_id"],
        kind=row["kind"],
        recipients=list(row["recipients"]),
        subject=row["subject"],
        text_body=row["text_body"],
        html_body=row["html_body"],
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
    )


async def claim_due_notices(pool: asyncpg.Pool, *, now: datetime, lease_until: datetime, limit: int) -> list[Notice]:
    """Due notices, each claimed by one sender (`SKIP LOCKED`) by moving its next attempt to the lease's end."""
    rows = await pool.fetch(
        f"""WITH due AS (
                SELECT id FROM email_notice WHERE status = 'pending' AND next_attempt_at <= $1
                ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
            UPDATE email_notice n SET next_attempt_at = $2, attempts = n.attempts + 1
            FROM due WHERE n.id = due.id
            RETURNING {", ".join("n." + c.strip() for c in _NOTICE.split(","))}""",  # noqa: S608 - fixed column list
        now,
        lease_until,
        limit,
    )
    return [_notice(r) for r in rows]


async def mark_sent(conn: Db, *, notice_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE email_notice SET status = 'sent', sent_at = $2, last_error = NULL WHERE id = $1 AND status = 'pending'",
        notice_id,
        at,
    )


async def mark_failed_attempt(conn: Db, *, notice_id: UUID, error: str, next_attempt_at: datetime | None) -> None:
    await conn.execute(
        """UPDATE email_notice SET last_error = $2,
               status = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE status END,
               next_attempt_at = COALESCE($3::timestamptz, next_attempt_at)
           WHERE id = $1 AND status = 'pending'""",
        notice_id,
        error[:1000],
        next_attempt_at,
    )


async def list_notices(db: Db, *, account_id: UUID, limit: int) -> list[Notice]:
    rows = await db.fetch(
        f"SELECT {_NOTICE} FROM email_notice WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",  # noqa: S608 - fixed column list
        account_id,
        limit,
    )
    return [_notice(r) for r in rows]


async def next_due_instant(db: Db) -> datetime | None:
    value: datetime | None = await db.fetchval("SELECT min(next_attempt_at) FROM email_notice WHERE status = 'pending'")
    return value


async def delete_old_notices(conn: asyncpg.Connection | asyncpg.Pool, *, before: datetime, limit: int) -> int:
    """At most `limit` notices created before `before` that were sent or given up (a pending one is kept)."""
    result = await conn.execute(
        """DELETE FROM email_notice WHERE id IN (
               SELECT id FROM email_notice WHERE created_at < $1 AND status <> 'pending' LIMIT $2
           )""",
        before,
        limit,
    )
    return int(result.split()[-1])
