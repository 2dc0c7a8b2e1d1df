"""SQL of the wallet, one function per query. Never commits: the caller's transaction decides."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def insert_account(conn: asyncpg.Connection, *, account_id: UUID, name: str, opened_by: str) -> None:
    await conn.execute("INSERT INTO account (id, name, opened_by) VALUES ($1, $2, $3)", account_id, name, opened_by)


async def get_account(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, name FROM account WHERE id = $1", account_id)
