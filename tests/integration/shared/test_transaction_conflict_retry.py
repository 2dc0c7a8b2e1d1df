"""A request whose transaction Postgres aborts to resolve a deadlock is run again, not answered 500.

Two requests lock the same two rows of the real Postgres in opposite orders, each waiting at a barrier until the
other holds its first row: one of them is the deadlock's victim. Through `RetryOnTransactionConflict` both are
answered 200 and both writes are there once; without it, the victim's request fails.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared.db import create_pool, transaction
from shared.errors import install_problem_handlers
from shared.http import RetryOnTransactionConflict
from tests.harness import TestPlatform


@pytest.fixture
async def pool(platform: TestPlatform) -> AsyncIterator[asyncpg.Pool]:
    schema = f"conflict_{uuid.uuid4().hex[:8]}"
    setup = await asyncpg.connect(platform.admin_database_url)
    try:
        await setup.execute(f"CREATE SCHEMA {schema}")
        await setup.execute(f"CREATE TABLE {schema}.slot (name text PRIMARY KEY, writes int NOT NULL DEFAULT 0)")
        await setup.execute(f"INSERT INTO {schema}.slot (name) VALUES ('a'), ('b')")
        await setup.execute(f"CREATE TABLE {schema}.done (request text PRIMARY KEY)")
    finally:
        await setup.close()
    pool = await create_pool(dsn=platform.admin_database_url, schema=schema)
    try:
        yield pool
    finally:
        await pool.close()
        await drop_schema(platform, schema)


async def drop_schema(platform: TestPlatform, schema: str) -> None:
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await conn.close()


def deadlocking_app(pool: asyncpg.Pool, *, retried: bool) -> tuple[FastAPI, dict[str, int]]:
    """`POST /lock/{first}/{second}`: lock both rows in that order, the first try of each waiting for the other
    request to hold its first row, so the two first tries deadlock."""
    app = FastAPI()
    install_problem_handlers(app)
    both_hold_their_first = asyncio.Barrier(2)
    tries: dict[str, int] = {}

    @app.post("/lock/{first}/{second}")
    async def lock(first: str, second: str) -> dict[str, str]:
        request = f"{first}{second}"
        tries[request] = tries.get(request, 0) + 1
        async with transaction(pool) as conn:
            await conn.execute("UPDATE slot SET writes = writes + 1 WHERE name = $1", first)
            if tries[request] == 1:
                await asyncio.wait_for(both_hold_their_first.wait(), timeout=10)
            await conn.execute("UPDATE slot SET writes = writes + 1 WHERE name = $1", second)
            await conn.execute("INSERT INTO done (request) VALUES ($1)", request)
        return {"done": request}

    if retried:
        app.add_middleware(RetryOnTransactionConflict, service="test")
    return app, tries


async def both_requests(app: FastAPI) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return list(await asyncio.gather(client.post("/lock/a/b"), client.post("/lock/b/a")))


async def test_the_deadlocks_victim_is_run_again_and_both_requests_succeed_once(pool: asyncpg.Pool) -> None:
    app, tries = deadlocking_app(pool, retried=True)
    answers = await both_requests(app)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert sorted(tries.values()) == [1, 2]  # the victim ran twice, the other once
    assert await pool.fetchval("SELECT count(*) FROM done") == 2
    # Each request's two writes once: the victim's first try was rolled back whole.
    assert await pool.fetchval("SELECT sum(writes) FROM slot") == 4


async def test_without_the_retry_the_victim_is_answered_500(pool: asyncpg.Pool) -> None:
    app, _ = deadlocking_app(pool, retried=False)
    answers = await both_requests(app)
    assert sorted(a.status_code for a in answers) == [200, 500]
    assert await pool.fetchval("SELECT count(*) FROM done") == 1
