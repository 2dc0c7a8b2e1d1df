"""The migration runner: from an empty schema, idempotent, safe when replicas start at once, strict."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from shared.db import connect
from shared.migrations import SHARED_MIGRATIONS, MigrationError, migrate
from tests.harness import TestPlatform


async def _fresh_schema(platform: TestPlatform) -> str:
    schema = f"mig_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    return schema


@asynccontextmanager
async def _connected(platform: TestPlatform, schema: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the run's database with `schema` as its search path, until the block ends."""
    conn = await connect(dsn=platform.admin_database_url, schema=schema)
    try:
        yield conn
    finally:
        await conn.close()


def _write(folder: Path, name: str, sql: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(sql)


async def test_migrations_apply_from_empty_once_even_when_replicas_start_together(
    platform: TestPlatform, tmp_path: Path
) -> None:
    schema = await _fresh_schema(platform)
    _write(tmp_path, "0001_create_thing.sql", "CREATE TABLE thing (id int PRIMARY KEY);")
    _write(tmp_path, "0002_add_thing_name.sql", "ALTER TABLE thing ADD COLUMN name text;")
    sources = [("shared", SHARED_MIGRATIONS), ("svc", tmp_path)]

    async def replica() -> list[str]:
        async with _connected(platform, schema) as conn:
            return await migrate(conn, schema=schema, sources=sources)

    results = await asyncio.gather(*(replica() for _ in range(4)))
    applied = sorted(name for result in results for name in result)
    shared = [f"shared/{path.stem}" for path in sorted(SHARED_MIGRATIONS.glob("*.sql"))]
    assert applied == [*shared, "svc/0001_create_thing", "svc/0002_add_thing_name"]
    assert await replica() == []  # nothing left to do

    async with _connected(platform, schema) as conn:
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'thing'",
            schema,
        )
    assert {c["column_name"] for c in columns} == {"id", "name"}


async def test_an_applied_migration_that_was_edited_is_refused(platform: TestPlatform, tmp_path: Path) -> None:
    schema = await _fresh_schema(platform)
    _write(tmp_path, "0001_create_thing.sql", "CREATE TABLE thing (id int);")
    async with _connected(platform, schema) as conn:
        await migrate(conn, schema=schema, sources=[("svc", tmp_path)])
        _write(tmp_path, "0001_create_thing.sql", "CREATE TABLE thing (id bigint);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, schema=schema, sources=[("svc", tmp_path)])


async def test_a_failing_migration_leaves_nothing_half_applied(platform: TestPlatform, tmp_path: Path) -> None:
    schema = await _fresh_schema(platform)
    _write(tmp_path, "0001_create_thing.sql", "CREATE TABLE thing (id int); SELECT 1/0;")
    async with _connected(platform, schema) as conn:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate(conn, schema=schema, sources=[("svc", tmp_path)])
        assert await conn.fetchval("SELECT to_regclass('thing')") is None
        assert await conn.fetchval("SELECT count(*) FROM schema_migration") == 0
