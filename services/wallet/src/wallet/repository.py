"""SQL of the wallet, one function per query. Never commits: the caller's transaction decides.

Reads return frozen dataclasses (defined here), never asyncpg records: the rows' column names stay in this file.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg

from wallet import domain
from wallet.domain import Burn

KeyStatus = Literal["issued", "redeemed", "revoked"]
EntryKind = Literal["redemption", "usage", "adjustment"]


@dataclass(frozen=True)
class Account:
    """An account as the burn-down sees it, with the version of its last published runway."""

    id: UUID
    name: str
    burn: Burn
    version: int
    # When the scheduler next looks for a low-balance warning to announce; None while none can be due.
    low_check_at: datetime | None


@dataclass(frozen=True)
class LowBalanceCheckDue:
    """An account (`id`) whose low-balance check is due, as the warning ladder needs it."""

    id: UUID
    depletes_at: datetime | None
    # The smallest threshold already announced in this run-down.
    warned_threshold_s: int | None


@dataclass(frozen=True)
class LedgerEntry:
    """One entry of an account's ledger; `seq` orders the ledger."""

    seq: int
    id: UUID
    kind: EntryKind
    # Signed change of the customer's wallet, in micro-iSC.
    amount: int
    balance_after: int
    at: datetime
    key_id: UUID | None
    period_start: datetime | None
    period_end: datetime | None
    note: str | None


@dataclass(frozen=True)
class ActivationKey:
    """A key with its batch's issuer, as its revocation needs it."""

    id: UUID
    batch_id: UUID
    amount: int
    status: KeyStatus
    redeemed_at: datetime | None
    revoked_at: datetime | None
    # The partner whose batch it is.
    issued_by: str


# The columns that carry Burn's fields under the same names; the rate is `burn_rate_per_day` in the table.
_BURN_COLUMNS = ("balance", "settled_at", "segment_start", "segment_used", "depleted")


def _account(row: asyncpg.Record | None) -> Account | None:
    if row is None:
        return None
    burn = Burn(**{column: row[column] for column in _BURN_COLUMNS}, rate_per_day=row["burn_rate_per_day"])
    return Account(id=row["id"], name=row["name"], burn=burn, version=row["version"], low_check_at=row["low_check_at"])


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


async def get_account(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> Account | None:
    row = await conn.fetchrow(
        """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted, depletes_at,
                  low_warned_threshold_s, low_check_at, version
           FROM account WHERE id = $1""",
        account_id,
    )
    return _account(row)


async def lock_account(conn: asyncpg.Connection, account_id: UUID) -> Account | None:
    row = await conn.fetchrow(
        """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted, depletes_at,
                  low_warned_threshold_s, low_check_at, version
           FROM account WHERE id = $1 FOR UPDATE""",
        account_id,
    )
    return _account(row)


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
) -> Account | None:
    row = await conn.fetchrow(
        """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted, depletes_at,
                  low_warned_threshold_s, low_check_at, version
           FROM account WHERE depletes_at <= $1 AND id <> ALL($2::uuid[])
            ORDER BY depletes_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
        now,
        list(held_back),
    )
    return _account(row)


async def lock_next_due_low_balance_check(
    conn: asyncpg.Connection, *, now: datetime, held_back: Collection[UUID]
) -> LowBalanceCheckDue | None:
    # Only what the warning ladder reads: the row lock is what claims the account.
    row = await conn.fetchrow(
        """SELECT id, depletes_at, low_warned_threshold_s
           FROM account WHERE low_check_at <= $1 AND id <> ALL($2::uuid[])
            ORDER BY low_check_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
        now,
        list(held_back),
    )
    if row is None:
        return None
    return LowBalanceCheckDue(
        id=row["id"], depletes_at=row["depletes_at"], warned_threshold_s=row["low_warned_threshold_s"]
    )


async def lock_next_unsettled_account(
    conn: asyncpg.Connection, *, settled_before: datetime, held_back: Collection[UUID]
) -> Account | None:
    row = await conn.fetchrow(
        """SELECT id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted, depletes_at,
                  low_warned_threshold_s, low_check_at, version
           FROM account
            WHERE burn_rate_per_day > 0 AND balance > 0 AND settled_at < $1 AND id <> ALL($2::uuid[])
            ORDER BY settled_at LIMIT 1 FOR UPDATE SKIP LOCKED""",
        settled_before,
        list(held_back),
    )
    return _account(row)


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
) -> list[LedgerEntry]:
    """Newest first."""
    rows = await conn.fetch(
        """SELECT seq, id, kind, amount, balance_after, at, key_id, period_start, period_end, note
           FROM ledger_entry WHERE account_id = $1 AND ($2::bigint IS NULL OR seq < $2)
           ORDER BY seq DESC LIMIT $3""",
        account_id,
        before_seq,
        limit,
    )
    return [LedgerEntry(**row) for row in rows]


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


async def insert_shown_key_batch(
    conn: asyncpg.Connection,
    *,
    batch_id: UUID,
    issued_by: str,
    codes: domain.SealedCodes,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO shown_key_batch (batch_id, issued_by, nonce, sealed, expires_at) VALUES ($1, $2, $3, $4, $5)",
        batch_id,
        issued_by,
        codes.nonce,
        codes.sealed,
        expires_at,
    )


async def shown_key_batch(
    conn: asyncpg.Connection, *, batch_id: UUID, issued_by: str, now: datetime
) -> domain.SealedCodes | None:
    """The sealed codes of the partner's batch while they are kept (`expires_at` still ahead)."""
    row = await conn.fetchrow(
        "SELECT nonce, sealed FROM shown_key_batch WHERE batch_id = $1 AND issued_by = $2 AND expires_at > $3",
        batch_id,
        issued_by,
        now,
    )
    return None if row is None else domain.SealedCodes(nonce=bytes(row["nonce"]), sealed=bytes(row["sealed"]))


async def delete_expired_shown_key_batches(conn: asyncpg.Connection | asyncpg.Pool, *, now: datetime) -> int:
    result = await conn.execute("DELETE FROM shown_key_batch WHERE expires_at <= $1", now)
    return int(result.split()[-1])


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


@dataclass(frozen=True)
class RedeemedKey:
    """A key just redeemed, with the credit it loads."""

    id: UUID
    amount: int


async def redeem_issued_key(
    conn: asyncpg.Connection, *, code_hash: bytes, account_id: UUID, at: datetime
) -> RedeemedKey | None:
    """The key, now redeemed into the account; None if no issued key has this code (unknown, spent, revoked)."""
    row = await conn.fetchrow(
        """UPDATE activation_key SET status = 'redeemed', redeemed_into = $2, redeemed_at = $3
           WHERE code_hash = $1 AND status = 'issued' RETURNING id, amount""",
        code_hash,
        account_id,
        at,
    )
    return None if row is None else RedeemedKey(**row)


async def activation_key_status(conn: asyncpg.Connection, code_hash: bytes) -> KeyStatus | None:
    status: KeyStatus | None = await conn.fetchval("SELECT status FROM activation_key WHERE code_hash = $1", code_hash)
    return status


async def lock_activation_key(conn: asyncpg.Connection, key_id: UUID) -> ActivationKey | None:
    row = await conn.fetchrow(
        """SELECT k.id, k.batch_id, k.amount, k.status, k.redeemed_at, k.revoked_at, b.issued_by
           FROM activation_key k JOIN key_batch b ON b.id = k.batch_id
           WHERE k.id = $1 FOR UPDATE OF k""",
        key_id,
    )
    return None if row is None else ActivationKey(**row)


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
