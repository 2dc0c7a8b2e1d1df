"""SQL of provisioning, one function per query. Never commits."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def upsert_known_account(conn: asyncpg.Connection, *, account_id: UUID, name: str) -> None:
    await conn.execute(
        "INSERT INTO known_account (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = $2",
        account_id,
        name,
    )


async def account_is_known(conn: asyncpg.Connection, account_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM known_account WHERE id = $1", account_id))


async def insert_domain(conn: asyncpg.Connection, *, domain_id: UUID, account_id: UUID, name: str) -> bool:
    """False when the account already has a domain of that name."""
    inserted = await conn.fetchval(
        """INSERT INTO domain (id, account_id, name) VALUES ($1, $2, $3)
           ON CONFLICT (account_id, name) DO NOTHING RETURNING true""",
        domain_id,
        account_id,
        name,
    )
    return bool(inserted)


async def get_domain(conn: asyncpg.Connection | asyncpg.Pool, domain_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, account_id, name FROM domain WHERE id = $1", domain_id)
