"""Idempotency keys and rate limits on the real Postgres, including concurrent retries."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from pydantic import BaseModel

from shared.db import connect, create_pool, transaction
from shared.events.wallet import CreditsLoaded
from shared.housekeeping import Retention, sweep
from shared.idempotency import Claim, claim_idempotency_key, claim_with, store_idempotent_response
from shared.migrations import SHARED_MIGRATIONS, migrate
from shared.rate_limit import ensure_below_limit, record_hit
from shared.refusals import TooManyRequests, Unprocessable
from tests.harness import TestPlatform


@pytest.fixture
async def pool(platform: TestPlatform) -> AsyncIterator[asyncpg.Pool]:
    schema = f"idem_{uuid.uuid4().hex[:8]}"
    conn = await connect(dsn=platform.admin_database_url, schema="public")
    await conn.execute(f"CREATE SCHEMA {schema}")
    await conn.close()
    conn = await connect(dsn=platform.admin_database_url, schema=schema)
    await migrate(conn, schema=schema, sources=[("shared", SHARED_MIGRATIONS)])
    await conn.execute("CREATE TABLE effect (id serial PRIMARY KEY, amount int)")
    await conn.close()
    created = await create_pool(dsn=platform.admin_database_url, schema=schema, max_size=20)
    yield created
    await created.close()


async def _pay(pool: asyncpg.Pool, *, key: str, amount: int) -> object:
    async with transaction(pool) as conn:
        replay = await claim_idempotency_key(conn, scope="pay:acct-1", key=key, request={"amount": amount})
        if replay is not None:
            return replay.response
        effect_id = await conn.fetchval("INSERT INTO effect (amount) VALUES ($1) RETURNING id", amount)
        await asyncio.sleep(0.05)  # widen the window in which concurrent retries arrive
        response = {"effect_id": effect_id, "amount": amount}
        await store_idempotent_response(conn, scope="pay:acct-1", key=key, status_code=201, response=response)
        return response


async def test_twenty_concurrent_retries_of_one_key_have_one_effect_and_one_answer(pool: asyncpg.Pool) -> None:
    answers = await asyncio.gather(*(_pay(pool, key="k-1", amount=5) for _ in range(20)))
    assert all(answer == answers[0] for answer in answers), answers
    assert await pool.fetchval("SELECT count(*) FROM effect") == 1


async def test_the_same_key_with_another_body_is_refused(pool: asyncpg.Pool) -> None:
    await _pay(pool, key="k-2", amount=5)
    with pytest.raises(Unprocessable) as refused:
        await _pay(pool, key="k-2", amount=6)
    assert refused.value.code == "idempotency_key_reused"


async def test_a_failed_first_attempt_leaves_the_key_free_for_the_retry(pool: asyncpg.Pool) -> None:
    async def crash_after_claiming() -> None:
        async with transaction(pool) as conn:
            await claim_idempotency_key(conn, scope="pay:acct-1", key="k-3", request={"amount": 1})
            raise RuntimeError("crash before the answer")

    with pytest.raises(RuntimeError):
        await crash_after_claiming()
    assert await _pay(pool, key="k-3", amount=1) == {
        "effect_id": await pool.fetchval("SELECT max(id) FROM effect"),
        "amount": 1,
    }


class Paid(BaseModel):
    effect_id: int
    amount: int


async def _pay_in_one_statement(pool: asyncpg.Pool, *, key: str, amount: int) -> Paid:
    """`_pay` with the claim and the effect in one statement and the answer with its event in another."""
    async with transaction(pool) as conn:
        once, row = await claim_with(
            conn,
            operation="pay",
            owner="acct-1",
            key=key,
            request={"amount": amount},
            statement="INSERT INTO effect (amount) SELECT $4 WHERE EXISTS (SELECT FROM claimed) RETURNING id",
            args=[amount],
        )
        if (replay := once.replayed(Paid)) is not None:
            return replay
        assert row is not None
        assert row["matched"]
        await asyncio.sleep(0.05)  # widen the window in which concurrent retries arrive
        event = CreditsLoaded(account_id=uuid.uuid4(), amount=amount, key_id=uuid.uuid4(), balance_after=amount)
        return await once.answer(Paid(effect_id=row["id"], amount=amount), status_code=201, announcing=[event])


async def test_a_claim_sent_with_the_first_write_has_one_effect_one_answer_and_one_event(pool: asyncpg.Pool) -> None:
    answers = await asyncio.gather(*(_pay_in_one_statement(pool, key="k-5", amount=7) for _ in range(20)))
    assert all(answer == answers[0] for answer in answers), answers
    assert await pool.fetchval("SELECT count(*) FROM effect") == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox_message WHERE event_type = 'CreditsLoaded'") == 1
    with pytest.raises(Unprocessable) as refused:
        await _pay_in_one_statement(pool, key="k-5", amount=8)
    assert refused.value.code == "idempotency_key_reused"


async def test_a_claim_whose_write_matched_nothing_is_first_and_says_so(pool: asyncpg.Pool) -> None:
    async with transaction(pool) as conn:
        once, row = await claim_with(
            conn,
            operation="pay",
            owner="acct-1",
            key="k-6",
            request={},
            statement="UPDATE effect SET amount = 0 WHERE id = -1 AND EXISTS (SELECT FROM claimed) RETURNING id",
            args=[],
        )
    assert once.replay is None
    assert row is not None
    assert not row["matched"]
    assert isinstance(once, Claim)


async def test_a_claim_with_a_lead_writes_only_where_the_lead_found_its_row(pool: asyncpg.Pool) -> None:
    """The lead (here: an effect locked) comes back with the write; where it finds nothing, nothing is written."""
    existing = await pool.fetchval("INSERT INTO effect (amount) VALUES (1) RETURNING id")
    rows = []
    for key, lead_id in (("k-7", existing), ("k-8", -1)):
        async with transaction(pool) as conn:
            _, row = await claim_with(
                conn,
                operation="pay",
                owner="acct-1",
                key=key,
                request={"lead": lead_id},
                lead="SELECT id AS lead_id, amount AS lead_amount FROM effect WHERE id = $5 FOR UPDATE",
                statement="""INSERT INTO effect (amount) SELECT $4
                             WHERE EXISTS (SELECT FROM claimed) AND EXISTS (SELECT FROM lead) RETURNING id""",
                args=[9, lead_id],
            )
        assert row is not None
        rows.append((row["matched"], row["lead_id"], row["lead_amount"], row["id"] is not None))
    assert rows == [(True, existing, 1, True), (False, None, None, False)]
    assert await pool.fetchval("SELECT count(*) FROM effect WHERE amount = 9") == 1


async def test_a_rate_limit_refuses_past_the_limit_until_the_window_passes(pool: asyncpg.Pool) -> None:
    now = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    for _ in range(3):
        await ensure_below_limit(pool, bucket="redeem:a", limit=3, window_s=60, now=now, what="wrong codes")
        await record_hit(pool, bucket="redeem:a", window_s=60, now=now)
    with pytest.raises(TooManyRequests) as limited:
        await ensure_below_limit(pool, bucket="redeem:a", limit=3, window_s=60, now=now, what="wrong codes")
    assert limited.value.extra["retry_after_s"] == 50
    await ensure_below_limit(pool, bucket="redeem:b", limit=3, window_s=60, now=now, what="wrong codes")
    later = now + timedelta(seconds=60)
    await ensure_below_limit(pool, bucket="redeem:a", limit=3, window_s=60, now=later, what="wrong codes")


async def test_housekeeping_removes_only_rows_past_their_retention(pool: asyncpg.Pool) -> None:
    await pool.execute(
        """INSERT INTO outbox_message (id, routing_key, event_type, payload, sent_at, created_at) VALUES
           (gen_random_uuid(), 'x.old', 'Old', '{}', now() - interval '8 days', now() - interval '8 days'),
           (gen_random_uuid(), 'x.new', 'New', '{}', now(), now()),
           (gen_random_uuid(), 'x.unsent', 'Unsent', '{}', NULL, now() - interval '30 days')"""
    )
    await pool.execute(
        """INSERT INTO inbox_message (consumer, message_id, event_type, received_at) VALUES
           ('q', 'old', 'x', now() - interval '31 days'), ('q', 'new', 'x', now())"""
    )
    deleted = await sweep(pool, Retention())
    assert deleted["outbox"] == 1
    assert deleted["inbox"] == 1
    kept = {r["routing_key"] for r in await pool.fetch("SELECT routing_key FROM outbox_message")}
    assert kept == {"x.new", "x.unsent"}  # an unsent row is never removed, however old
    assert [r["message_id"] for r in await pool.fetch("SELECT message_id FROM inbox_message")] == ["new"]
