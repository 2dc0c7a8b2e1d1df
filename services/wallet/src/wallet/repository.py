"""SQL of the wallet, one function per query. Never commits: the caller's transaction decides."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

# --- Accounts -----------------------------------------------------------------------------------------


async def insert_account(
    conn: asyncpg.Connection, *, account_id: UUID, name: str, opened_by: str, opened_at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO account (id, name, opened_by, opened_at, settled_at, segment_start)
           VALUES ($1, $2, $3, $4, $4, $4)""",
        account_id,
        name,
        opened_by,
        opened_at,
    )


async def get_account(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted, depletes_at,
                  low_warned_threshold_s, low_check_at, version
           FROM account WHERE id = $1""",
        account_id,
    )


async def lock_account(conn: asyncpg.Connection, account_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted, depletes_at,
                  low_warned_threshold_s, low_check_at, version
           FROM account WHERE id = $1 FOR UPDATE""",
        account_id,
    )


async def account_exists(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM account WHERE id = $1)", account_id))


async def update_account_burn(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    balance: int,
    burn_rate_per_day: int,
    settled_at: datetime,
    segment_start: datetime,
    segment_used: int,
    depleted: bool,
    depletes_at: datetime | None,
    version: int,
    low_check_at: datetime | None,
    clear_warning: bool = False,
) -> None:
    """`clear_warning`: forget the last threshold warned (a run-down ended or nothing burns any more)."""
    await conn.execute(
        """UPDATE account SET balance = $2, burn_rate_per_day = $3, settled_at = $4, segment_start = $5,
                  segment_used = $6, depleted = $7, depletes_at = $8, version = $9, low_check_at = $10,
                  low_warned_threshold_s = CASE WHEN $11 THEN NULL ELSE low_warned_threshold_s END
           WHERE id = $1""",
        account_id,
        balance,
        burn_rate_per_day,
        settled_at,
        segment_start,
        segment_used,
        depleted,
        depletes_at,
        version,
        low_check_at,
        clear_warning,
    )


async def update_low_balance_state(
    conn: asyncpg.Connection, *, account_id: UUID, warned_threshold_s: int | None, low_check_at: datetime | None
) -> None:
    await conn.execute(
        "UPDATE account SET low_warned_threshold_s = $2, low_check_at = $3 WHERE id = $1",
        account_id,
        warned_threshold_s,
        low_check_at,
    )


# --- The scheduler's work lists: one due account at a time, skipping those another replica holds -------


async def lock_next_due_depletion(
    conn: asyncpg.Connection, *, now: datetime, held_back: Collection[UUID]
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted, depletes_at,
                  low_warned_threshold_s, low_check_at, version
           FROM account WHERE depletes_at <= $1 AND id <> ALL($2::uuid[])
            ORDER BY depletes_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
        now,
        list(held_back),
    )


async def lock_next_due_low_balance_check(
    conn: asyncpg.Connection, *, now: datetime, held_back: Collection[UUID]
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted, depletes_at,
                  low_warned_threshold_s, low_check_at, version
           FROM account WHERE low_check_at <= $1 AND id <> ALL($2::uuid[])
            ORDER BY low_check_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
        now,
        list(held_back),
    )


async def lock_next_unsettled_account(
    conn: asyncpg.Connection, *, settled_before: datetime, held_back: Collection[UUID]
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted, depletes_at,
                  low_warned_threshold_s, low_check_at, version
           FROM account
            WHERE burn_rate_per_day > 0 AND balance > 0 AND settled_at < $1 AND id <> ALL($2::uuid[])
            ORDER BY settled_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
        settled_before,
        list(held_back),
    )


async def next_scheduled_instant(
    conn: asyncpg.Connection | asyncpg.Pool, *, daily: timedelta, held_back: Collection[UUID]
) -> datetime | None:
    """The earliest instant at which the scheduler has work: a run-out, a warning or a daily settlement."""
    value: datetime | None = await conn.fetchval(
        """SELECT least(
               (SELECT min(depletes_at) FROM account WHERE depletes_at IS NOT NULL AND id <> ALL($2::uuid[])),
               (SELECT min(low_check_at) FROM account WHERE low_check_at IS NOT NULL AND id <> ALL($2::uuid[])),
               (SELECT min(settled_at) + $1::interval FROM account
                 WHERE burn_rate_per_day > 0 AND balance > 0 AND id <> ALL($2::uuid[])))""",
        daily,
        list(held_back),
    )
    return value


# --- The ledger ---------------------------------------------------------------------------------------


async def insert_ledger_entry(
    conn: asyncpg.Connection,
    *,
    entry_id: UUID,
    account_id: UUID,
    kind: str,
    amount: int,
    balance_after: int,
    at: datetime,
    books: list[str],
    line_amounts: list[int],
    key_id: UUID | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    note: str | None = None,
) -> None:
    """The entry and its lines (one per book, summing to zero) in one statement."""
    await conn.execute(
        """WITH entry AS (
               INSERT INTO ledger_entry (id, account_id, kind, amount, balance_after, at, key_id, period_start,
                                         period_end, note)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq
           )
           INSERT INTO ledger_line (entry_seq, book, amount)
           SELECT entry.seq, line.book, line.amount
           FROM entry, unnest($11::text[], $12::bigint[]) AS line (book, amount)""",
        entry_id,
        account_id,
        kind,
        amount,
        balance_after,
        at,
        key_id,
        period_start,
        period_end,
        note,
        books,
        line_amounts,
    )


async def list_ledger_entries(
    conn: asyncpg.Connection | asyncpg.Pool, *, account_id: UUID, before_seq: int | None, limit: int
) -> list[asyncpg.Record]:
    """Newest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT seq, id, kind, amount, balance_after, at, key_id, period_start, period_end, note
           FROM ledger_entry WHERE account_id = $1 AND ($2::bigint IS NULL OR seq < $2)
           ORDER BY seq DESC LIMIT $3""",
        account_id,
        before_seq,
        limit,
    )
    return rows


# --- Activation keys ----------------------------------------------------------------------------------


async def insert_key_batch(
    conn: asyncpg.Connection, *, batch_id: UUID, amount: int, key_count: int, issued_by: str, issued_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO key_batch (id, amount, key_count, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5)",
        batch_id,
        amount,
        key_count,
        issued_by,
        issued_at,
    )


async def insert_activation_keys(
    conn: asyncpg.Connection, *, batch_id: UUID, amount: int, key_ids: list[UUID], code_hashes: list[bytes]
) -> None:
    await conn.execute(
        """INSERT INTO activation_key (id, batch_id, code_hash, amount)
           SELECT id, $1, code_hash, $2 FROM unnest($3::uuid[], $4::bytea[]) AS k (id, code_hash)""",
        batch_id,
        amount,
        key_ids,
        code_hashes,
    )


async def redeem_issued_key(
    conn: asyncpg.Connection, *, code_hash: bytes, account_id: UUID, at: datetime
) -> asyncpg.Record | None:
    """The key, now redeemed into the account; None if no issued key has this code (unknown, spent, revoked)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """UPDATE activation_key SET status = 'redeemed', redeemed_into = $2, redeemed_at = $3
           WHERE code_hash = $1 AND status = 'issued' RETURNING id, amount""",
        code_hash,
        account_id,
        at,
    )
    return row


async def begin_redemption(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    failure_buckets: list[str],
    window_start: datetime,
    scope: str,
    idempotency_key: str,
    request_hash: str,
    code_hash: bytes,
    at: datetime,
) -> asyncpg.Record:
    """A redemption's reads and claims in one round trip (the claim only if the account exists, the key only
    if the claim is new):

    the account locked (its columns are NULL if there is none); the failure counts of `failure_buckets` in the
    window (`failure_hits`, `{bucket: hits}`); the Idempotency-Key claimed as `claim_idempotency_key` does
    (`claimed` false: an earlier request holds it); and then the key redeemed into the account as
    `redeem_issued_key` does (`key_id`, `key_amount`; NULL if no issued key has this code). The caller refuses
    what the counts or the claim call for, and its transaction's rollback undoes the claim and the key with it.
    """
    row: asyncpg.Record = await conn.fetchrow(
        """WITH locked AS (
               SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted,
                      depletes_at, low_warned_threshold_s, low_check_at, version
               FROM account WHERE id = $1 FOR UPDATE
           ), failures AS (
               SELECT coalesce(jsonb_object_agg(bucket, hits), '{}'::jsonb) AS failure_hits
               FROM rate_limit_counter WHERE bucket = ANY($2::text[]) AND window_start = $3
           ), claim AS (
               INSERT INTO idempotency_record (scope, key, request_hash)
               SELECT $4, $5, $6 WHERE EXISTS (SELECT FROM locked)
               ON CONFLICT (scope, key) DO NOTHING RETURNING true
           ), redeemed AS (
               UPDATE activation_key SET status = 'redeemed', redeemed_into = $1, redeemed_at = $8
               WHERE code_hash = $7 AND status = 'issued' AND EXISTS (SELECT FROM claim)
               RETURNING id, amount
           )
           SELECT locked.*, failures.failure_hits, EXISTS (SELECT FROM claim) AS claimed,
                  redeemed.id AS key_id, redeemed.amount AS key_amount
           FROM failures LEFT JOIN locked ON true LEFT JOIN redeemed ON true""",
        account_id,
        failure_buckets,
        window_start,
        scope,
        idempotency_key,
        request_hash,
        code_hash,
        at,
    )
    return row


async def activation_key_status(conn: asyncpg.Connection, code_hash: bytes) -> str | None:
    status: str | None = await conn.fetchval("SELECT status FROM activation_key WHERE code_hash = $1", code_hash)
    return status


async def lock_activation_key(conn: asyncpg.Connection, key_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT k.id, k.batch_id, k.amount, k.status, k.redeemed_at, k.revoked_at, b.issued_by
           FROM activation_key k JOIN key_batch b ON b.id = k.batch_id
           WHERE k.id = $1 FOR UPDATE OF k""",
        key_id,
    )


async def mark_key_revoked(conn: asyncpg.Connection, *, key_id: UUID, revoked_by: str, at: datetime) -> bool:
    result = await conn.execute(
        """UPDATE activation_key SET status = 'revoked', revoked_at = $3, revoked_by = $2
           WHERE id = $1 AND status = 'issued'""",
        key_id,
        revoked_by,
        at,
    )
    return bool(result == "UPDATE 1")


# --- Burn rates per contract (read model of RentalChanged) --------------------------------------------


async def upsert_contract_rate_if_newer(
    conn: asyncpg.Connection,
    *,
    contract_id: UUID,
    account_id: UUID,
    burn_rate_per_day: int,
    version: int,
    applied_at: datetime,
) -> bool:
    """True if this version was newer than the one held (or the first); an older or equal one changes nothing."""
    applied = await conn.fetchval(
        """INSERT INTO contract_rate (contract_id, account_id, burn_rate_per_day, version, applied_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (contract_id) DO UPDATE
               SET burn_rate_per_day = EXCLUDED.burn_rate_per_day, version = EXCLUDED.version,
                   applied_at = EXCLUDED.applied_at
               WHERE contract_rate.version < EXCLUDED.version AND contract_rate.account_id = EXCLUDED.account_id
           RETURNING true""",
        contract_id,
        account_id,
        burn_rate_per_day,
        version,
        applied_at,
    )
    return bool(applied)


async def total_contract_rate(conn: asyncpg.Connection, account_id: UUID) -> int:
    return int(
        await conn.fetchval(
            "SELECT coalesce(sum(burn_rate_per_day), 0) FROM contract_rate WHERE account_id = $1", account_id
        )
    )
