"""SQL of the licence distributor, one function per query. Never commits."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def upsert_known_domain(conn: asyncpg.Connection, *, domain_id: UUID, account_id: UUID, name: str) -> None:
    await conn.execute(
        """INSERT INTO known_domain (id, account_id, name) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = $3""",
        domain_id,
        account_id,
        name,
    )
