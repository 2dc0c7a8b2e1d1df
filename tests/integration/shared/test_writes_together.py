"""`shared.db.writes_together`: a use case's last writes in one round trip, in order, or not at all."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from shared.db import combine_statements, connect, create_pool, transaction, writes_together
from tests.harness import TestPlatform

_ENTRY = """WITH entry AS (INSERT INTO entry_row (tag) VALUES ($1) RETURNING seq)
            INSERT INTO line_row (entry_seq, amount) SELECT entry.seq, amount FROM entry, unnest($2::int[]) AS amount"""


@pytest.fixture
async def pool(platform: TestPlatform) -> AsyncIterator[asyncpg.Pool]:
    schema = f"together_{uuid.uuid4().hex[:8]}"
    conn = await connect(dsn=platform.admin_database_url, schema="public")
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.close()
    conn = await connect(dsn=platform.admin_database_url, schema=schema)
    await conn.execute("CREATE TABLE entry_row (seq bigserial PRIMARY KEY, tag text NOT NULL)")
    await conn.execute("CREATE TABLE line_row (entry_seq bigint NOT NULL, amount int NOT NULL)")
    await conn.execute("CREATE TABLE account_row (id int PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))")
    await conn.execute("INSERT INTO account_row VALUES (1, 10)")
    await conn.close()
    created = await create_pool(dsn=platform.admin_database_url, schema=schema, max_size=2)
    yield created
    await created.close()
    conn = await connect(dsn=platform.admin_database_url, schema="public")
    await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    await conn.close()


async def test_the_writes_take_effect_in_the_order_they_were_made(pool: asyncpg.Pool) -> None:
    async with transaction(pool) as conn, writes_together(conn):
        for tag in ("first", "second", "third"):
            assert await conn.execute(_ENTRY, tag, [1, -1]) == "DEFERRED"
        await conn.execute("UPDATE account_row SET balance = balance + $2 WHERE id = $1", 1, 5)
    tags = [row["tag"] for row in await pool.fetch("SELECT tag FROM entry_row ORDER BY seq")]
    assert tags == ["first", "second", "third"]
    assert await pool.fetchval("SELECT count(*) FROM line_row") == 6
    assert await pool.fetchval("SELECT balance FROM account_row WHERE id = 1") == 15


async def test_a_failing_write_fails_the_block_and_the_transaction_keeps_nothing(pool: asyncpg.Pool) -> None:
    async def entry_then_negative_balance() -> None:
        async with transaction(pool) as conn, writes_together(conn):
            await conn.execute(_ENTRY, "kept?", [1, -1])
            await conn.execute("UPDATE account_row SET balance = $2 WHERE id = $1", 1, -1)

    with pytest.raises(asyncpg.CheckViolationError):
        await entry_then_negative_balance()
    assert await pool.fetchval("SELECT count(*) FROM entry_row") == 0
    assert await pool.fetchval("SELECT balance FROM account_row WHERE id = 1") == 10


async def test_a_query_inside_the_block_sees_the_writes_made_before_it(pool: asyncpg.Pool) -> None:
    async with transaction(pool) as conn, writes_together(conn):
        await conn.execute(_ENTRY, "seen", [2, -2])
        assert await conn.fetchval("SELECT count(*) FROM line_row") == 2
        await conn.execute("UPDATE account_row SET balance = $2 WHERE id = $1", 1, 3)
    assert await pool.fetchval("SELECT balance FROM account_row WHERE id = 1") == 3


def test_what_it_cannot_combine_it_leaves_to_one_round_trip_each() -> None:
    assert combine_statements([("SELECT $1", (1,)), ("UPDATE t SET a = $1", (1,))]) is None
    assert (
        combine_statements([("UPDATE t SET a = 'x' WHERE b = $1", (1,)), ("DELETE FROM t WHERE a = $1", (1,))]) is None
    )
    combined = combine_statements([(_ENTRY, ("a", [1])), (_ENTRY, ("b", [2]))])
    assert combined is not None
    query, args = combined
    assert args == ["a", [1], "b", [2]]
    assert "entry_1 AS (INSERT INTO entry_row (tag) VALUES ($3) RETURNING seq)" in query
