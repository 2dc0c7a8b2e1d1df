"""SQL of the wallet, one function per query. Never commits: the caller's transaction decides.

Reads return frozen dataclasses (defined here), never asyncpg records: the rows' column names stay in this file.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg

from shared import auto_reload
from shared.db import Write
from shared.idempotency import Claim, claim_with
from wallet import domain
from wallet.domain import Burn, ContractRates, RateStep

KeyStatus = Literal["issued", "redeemed", "revoked"]
EntryKind = Literal["redemption", "usage", "adjustment", "auto_reload"]


@dataclass(frozen=True)
class Account:
    """An account as the burn-down sees it, with the version of its last published runway."""

    id: UUID
    name: str
    burn: Burn
    version: int
    # When the scheduler next looks for a low-balance warning to announce; None while none can be due.
    low_check_at: datetime | None
    # The account's own warning ladder (seconds of time left, largest first); None: the deployment's.
    warning_thresholds_s: tuple[int, ...] | None = None
    # The test clock it lives on (`wallet.clocks`); None: a live account.
    test_clock_id: UUID | None = None

    def ladder(self, default_s: Sequence[int]) -> tuple[int, ...]:
        """The warning ladder this account is warned by: its own, else the deployment's."""
        return self.warning_thresholds_s if self.warning_thresholds_s is not None else tuple(default_s)


@dataclass(frozen=True)
class LowBalanceCheckDue:
    """An account (`id`) whose low-balance check is due, as the warning ladder needs it."""

    id: UUID
    depletes_at: datetime | None
    # The smallest threshold already announced in this run-down.
    warned_threshold_s: int | None
    # The account's own ladder; None: the deployment's.
    thresholds_s: tuple[int, ...] | None = None


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


def _steps(stored: list[dict[str, object]]) -> tuple[RateStep, ...]:
    return tuple(
        RateStep(effective_at=datetime.fromisoformat(str(s["effective_at"])), rate_per_day=int(str(s["rate_per_day"])))
        for s in stored
    )


def steps_json(steps: Sequence[RateStep]) -> list[dict[str, object]]:
    return [{"effective_at": s.effective_at.isoformat(), "rate_per_day": s.rate_per_day} for s in steps]


def _ladder(stored: list[int] | None) -> tuple[int, ...] | None:
    return None if stored is None else tuple(stored)


def _account(row: asyncpg.Record | None) -> Account | None:
    if row is None:
        return None
    burn = Burn(
        **{column: row[column] for column in _BURN_COLUMNS},
        rate_per_day=row["burn_rate_per_day"],
        schedule=_steps(row["rate_schedule"]),
    )
    return Account(
        id=row["id"],
        name=row["name"],
        burn=burn,
        version=row["version"],
        low_check_at=row["low_check_at"],
        warning_thresholds_s=_ladder(row["warning_thresholds_s"]),
        test_clock_id=row["test_clock_id"],
    )


# --- Accounts -----------------------------------------------------------------------------------------


async def insert_account(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    name: str,
    opened_by: str,
    opened_at: datetime,
    test_clock_id: UUID | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO account (id, name, opened_by, opened_at, settled_at, segment_start, test_clock_id)
           VALUES ($1, $2, $3, $4, $4, $4, $5)""",
        account_id,
        name,
        opened_by,
        opened_at,
        test_clock_id,
    )


# What `_account` reads, in every query that returns an account.
_ACCOUNT_COLUMNS = """id, name, balance, burn_rate_per_day, settled_at, segment_start, segment_used, depleted,
    depletes_at, low_warned_threshold_s, low_check_at, version, rate_schedule, warning_thresholds_s, test_clock_id"""


async def get_account(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> Account | None:
    row = await conn.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM account WHERE id = $1",  # noqa: S608 - fixed column list
        account_id,
    )
    return _account(row)


async def lock_account(conn: asyncpg.Connection, account_id: UUID) -> Account | None:
    row = await conn.fetchrow(
        f"SELECT {_ACCOUNT_COLUMNS} FROM account WHERE id = $1 FOR UPDATE",  # noqa: S608 - fixed column list
        account_id,
    )
    return _account(row)


async def account_exists(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM account WHERE id = $1)", account_id))


def account_burn_write(
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
    rate_schedule: Sequence[RateStep] = (),
    clear_warning: bool = False,
) -> Write:
    """The account's new burn state, to send along the use case's other writes (`shared.db.send_writes`).
    `clear_warning`: forget the last threshold warned (a run-down ended or nothing burns any more)."""
    return Write(
        ctes=(
            """{w}account AS (
               UPDATE account SET balance = $2, burn_rate_per_day = $3, settled_at = $4, segment_start = $5,
                  segment_used = $6, depleted = $7, depletes_at = $8, version = $9, low_check_at = $10,
                  low_warned_threshold_s = CASE WHEN $11 THEN NULL ELSE low_warned_threshold_s END,
                  rate_schedule = $12
               WHERE id = $1)""",
        ),
        args=(
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
            steps_json(rate_schedule),
        ),
    )


async def set_warning_thresholds(
    conn: asyncpg.Connection, *, account_id: UUID, thresholds_s: Sequence[int] | None
) -> None:
    await conn.execute(
        "UPDATE account SET warning_thresholds_s = $2 WHERE id = $1",
        account_id,
        None if thresholds_s is None else list(thresholds_s),
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


def _on_clock(parameter: int, account: str = "") -> str:
    """Each list is of the live accounts (clock NULL) or of one test clock's (`wallet.clocks`), never both: the live
    scheduler never touches a clocked account, and advancing a clock touches only its own. `parameter` is the
    number of the clock's query parameter, `account` the alias of the account table (if any)."""
    column = f"{account}.test_clock_id" if account else "test_clock_id"
    return f"{column} IS NOT DISTINCT FROM ${parameter}::uuid"


async def lock_next_due_depletion(
    conn: asyncpg.Connection, *, now: datetime, held_back: Collection[UUID], clock_id: UUID | None
) -> Account | None:
    row = await conn.fetchrow(
        f"""SELECT {_ACCOUNT_COLUMNS}
           FROM account WHERE depletes_at <= $1 AND id <> ALL($2::uuid[]) AND {_on_clock(3)}
            ORDER BY depletes_at LIMIT 1 FOR UPDATE SKIP LOCKED""",  # noqa: S608 - fixed column list
        now,
        list(held_back),
        clock_id,
    )
    return _account(row)


async def lock_next_due_low_balance_check(
    conn: asyncpg.Connection, *, now: datetime, held_back: Collection[UUID], clock_id: UUID | None
) -> LowBalanceCheckDue | None:
    # Only what the warning ladder reads: the row lock is what claims the account.
    row = await conn.fetchrow(
        f"""SELECT id, depletes_at, low_warned_threshold_s, warning_thresholds_s
           FROM account WHERE low_check_at <= $1 AND id <> ALL($2::uuid[]) AND {_on_clock(3)}
            ORDER BY low_check_at LIMIT 1 FOR UPDATE SKIP LOCKED""",  # noqa: S608 - fixed condition
        now,
        list(held_back),
        clock_id,
    )
    if row is None:
        return None
    return LowBalanceCheckDue(
        id=row["id"],
        depletes_at=row["depletes_at"],
        warned_threshold_s=row["low_warned_threshold_s"],
        thresholds_s=_ladder(row["warning_thresholds_s"]),
    )


async def lock_next_unsettled_account(
    conn: asyncpg.Connection, *, settled_by: datetime, held_back: Collection[UUID], clock_id: UUID | None
) -> Account | None:
    """An account that burns and was last settled at or before `settled_by`."""
    row = await conn.fetchrow(
        f"""SELECT {_ACCOUNT_COLUMNS}
           FROM account
            WHERE burn_rate_per_day > 0 AND balance > 0 AND settled_at <= $1 AND id <> ALL($2::uuid[])
              AND {_on_clock(3)}
            ORDER BY settled_at LIMIT 1 FOR UPDATE SKIP LOCKED""",  # noqa: S608 - fixed column list
        settled_by,
        list(held_back),
        clock_id,
    )
    return _account(row)


async def next_scheduled_instant(
    conn: asyncpg.Connection | asyncpg.Pool, *, daily: timedelta, held_back: Collection[UUID], clock_id: UUID | None
) -> datetime | None:
    """The earliest instant at which the scheduler has work: a run-out, a warning or a daily settlement."""
    value: datetime | None = await conn.fetchval(
        f"""SELECT least(
               (SELECT min(depletes_at) FROM account
                 WHERE depletes_at IS NOT NULL AND id <> ALL($2::uuid[]) AND {_on_clock(3)}),
               (SELECT min(low_check_at) FROM account
                 WHERE low_check_at IS NOT NULL AND id <> ALL($2::uuid[]) AND {_on_clock(3)}),
               (SELECT min(settled_at) + $1::interval FROM account
                 WHERE burn_rate_per_day > 0 AND balance > 0 AND id <> ALL($2::uuid[]) AND {_on_clock(3)}))""",  # noqa: S608
        daily,
        list(held_back),
        clock_id,
    )
    return value


# --- The ledger ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewLedgerEntry:
    """A ledger entry decided by a use case, with its lines (one per book, summing to zero)."""

    entry_id: UUID
    account_id: UUID
    kind: str
    amount: int
    balance_after: int
    at: datetime
    books: list[str]
    line_amounts: list[int]
    key_id: UUID | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    note: str | None = None


def ledger_entries_write(entries: Sequence[NewLedgerEntry]) -> Write:
    """The entries, in this order, and their lines, to send along the use case's other writes.

    One INSERT for all of them, its rows ordered: the writes of one statement run in no set order, and the
    entries' `seq` must follow the order they were decided in (the usage settled before the credit loaded)."""
    lines = [(e.entry_id, book, amount) for e in entries for book, amount in zip(e.books, e.line_amounts, strict=True)]
    return Write(
        ctes=(
            """{w}entries AS (
               INSERT INTO ledger_entry (id, account_id, kind, amount, balance_after, at, key_id, period_start,
                                         period_end, note)
               SELECT e.id, e.account_id, e.kind, e.amount, e.balance_after, e.at, e.key_id, e.period_start,
                      e.period_end, e.note
               FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::bigint[], $6::timestamptz[],
                           $7::uuid[], $8::timestamptz[], $9::timestamptz[], $10::text[]) WITH ORDINALITY
                    AS e (id, account_id, kind, amount, balance_after, at, key_id, period_start, period_end, note,
                          position)
               ORDER BY e.position
               RETURNING id, seq)""",
            """{w}lines AS (
               INSERT INTO ledger_line (entry_seq, book, amount)
               SELECT {w}entries.seq, line.book, line.amount
               FROM unnest($11::uuid[], $12::text[], $13::bigint[]) AS line (entry_id, book, amount)
               JOIN {w}entries ON {w}entries.id = line.entry_id)""",
        ),
        args=(
            [e.entry_id for e in entries],
            [e.account_id for e in entries],
            [e.kind for e in entries],
            [e.amount for e in entries],
            [e.balance_after for e in entries],
            [e.at for e in entries],
            [e.key_id for e in entries],
            [e.period_start for e in entries],
            [e.period_end for e in entries],
            [e.note for e in entries],
            [entry_id for entry_id, _, _ in lines],
            [book for _, book, _ in lines],
            [amount for _, _, amount in lines],
        ),
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
    codes: domain.SealedAnswer,
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
) -> domain.SealedAnswer | None:
    """The sealed codes of the partner's batch while they are kept (`expires_at` still ahead)."""
    row = await conn.fetchrow(
        "SELECT nonce, sealed FROM shown_key_batch WHERE batch_id = $1 AND issued_by = $2 AND expires_at > $3",
        batch_id,
        issued_by,
        now,
    )
    return None if row is None else domain.SealedAnswer(nonce=bytes(row["nonce"]), sealed=bytes(row["sealed"]))


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


@dataclass(frozen=True)
class RedemptionClaimed:
    """What the redemption's one statement found: the claim, and for the first request with its key the account
    (locked) with its failure counts and the key redeemed into it (None: no such account, or no issued key)."""

    once: Claim
    account: Account | None
    hits: dict[str, int]
    key: RedeemedKey | None


async def lock_account_and_redeem_key(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    buckets: list[str],
    window_start: datetime,
    idempotency_key: str,
    request: dict[str, str],
    code_hash: bytes,
    at: datetime,
) -> RedemptionClaimed:
    """In one statement: the account locked with the hits of the rate-limit `buckets` in the window, the
    redemption's Idempotency-Key claimed, and the key marked redeemed into the account if it was still issued
    (see `claim_with`). The account is locked before the key, as everywhere else. A refusal that follows (no
    account, a full bucket, no issued key) rolls all of it back."""
    once, row = await claim_with(
        conn,
        operation="redemption",
        owner=account_id,
        key=idempotency_key,
        request=request,
        lead=f"""SELECT {_ACCOUNT_COLUMNS},
                        ARRAY(SELECT coalesce(c.hits, 0)
                              FROM unnest($7::text[]) WITH ORDINALITY AS b (bucket, position)
                              LEFT JOIN rate_limit_counter c ON c.bucket = b.bucket AND c.window_start = $8
                              ORDER BY b.position) AS hits
                 FROM account WHERE id = $5 FOR UPDATE""",  # noqa: S608 - fixed column list
        statement="""UPDATE activation_key SET status = 'redeemed', redeemed_into = $5, redeemed_at = $6
                     WHERE code_hash = $4 AND status = 'issued'
                       AND EXISTS (SELECT FROM claimed) AND EXISTS (SELECT FROM lead)
                     RETURNING id AS key_id, amount AS key_amount""",
        args=[code_hash, account_id, at, buckets, window_start],
    )
    if row is None or row["id"] is None:  # a replay, or no such account (the lead's `id`)
        return RedemptionClaimed(once=once, account=None, hits={}, key=None)
    key = RedeemedKey(id=row["key_id"], amount=row["key_amount"]) if row["matched"] else None
    return RedemptionClaimed(
        once=once, account=_account(row), hits=dict(zip(buckets, row["hits"], strict=True)), key=key
    )


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
    changed_at: datetime | None = None,
    scheduled_rates: Sequence[RateStep] = (),
    active: bool = True,
) -> bool:
    """True if this version was newer than the one held (or the first); an older or equal one changes nothing."""
    applied = await conn.fetchval(
        """INSERT INTO contract_rate (contract_id, account_id, burn_rate_per_day, version, applied_at, changed_at,
                                      scheduled_rates, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (contract_id) DO UPDATE
               SET burn_rate_per_day = EXCLUDED.burn_rate_per_day, version = EXCLUDED.version,
                   applied_at = EXCLUDED.applied_at, changed_at = EXCLUDED.changed_at,
                   scheduled_rates = EXCLUDED.scheduled_rates, active = EXCLUDED.active
               WHERE contract_rate.version < EXCLUDED.version AND contract_rate.account_id = EXCLUDED.account_id
           RETURNING true""",
        contract_id,
        account_id,
        burn_rate_per_day,
        version,
        applied_at,
        changed_at,
        steps_json(scheduled_rates),
        active,
    )
    return bool(applied)


async def contract_rates_of_account(conn: asyncpg.Connection, account_id: UUID) -> list[ContractRates]:
    """Every contract the account funds, each with its rate and its scheduled steps."""
    rows = await conn.fetch(
        "SELECT burn_rate_per_day, scheduled_rates FROM contract_rate WHERE account_id = $1 ORDER BY contract_id",
        account_id,
    )
    return [ContractRates(rate_per_day=r["burn_rate_per_day"], scheduled=_steps(r["scheduled_rates"])) for r in rows]


# --- Auto-iSC -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutoReload:
    """An account's Auto-iSC setting and where its crossings stand."""

    account_id: UUID
    threshold_s: int
    amount: int
    monthly_cap: int
    enabled: bool
    suspended_by_partner: bool
    paused_by_depletion: bool
    crossings: int
    handled_depletes_at: datetime | None
    # When the crossing handled at `handled_depletes_at` is tried again with the runway unchanged (a cap's refusal:
    # the next month), or None.
    retry_at: datetime | None
    last_reload_at: datetime | None
    last_failure_at: datetime | None
    last_failure_reason: str | None
    set_by: str
    set_at: datetime

    @property
    def setting(self) -> auto_reload.ReloadSetting:
        return auto_reload.ReloadSetting(threshold_s=self.threshold_s, amount=self.amount, monthly_cap=self.monthly_cap)


_AUTO_RELOAD_COLUMNS = """account_id, threshold_s, amount, monthly_cap, enabled, suspended_by_partner,
    paused_by_depletion, crossings, handled_depletes_at, retry_at, last_reload_at, last_failure_at,
    last_failure_reason, set_by, set_at"""


async def get_auto_reload(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> AutoReload | None:
    row = await conn.fetchrow(
        f"SELECT {_AUTO_RELOAD_COLUMNS} FROM auto_reload WHERE account_id = $1",  # noqa: S608 - fixed column list
        account_id,
    )
    return None if row is None else AutoReload(**row)


async def upsert_auto_reload(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    threshold_s: int,
    amount: int,
    monthly_cap: int,
    enabled: bool,
    set_by: str,
    set_at: datetime,
) -> None:
    """Setting Auto-iSC is the customer acting: a pause after a run-out ends, and the next crossing is evaluated
    afresh (`handled_depletes_at` forgotten). A partner's suspension stays."""
    await conn.execute(
        """INSERT INTO auto_reload (account_id, threshold_s, amount, monthly_cap, enabled, set_by, set_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (account_id) DO UPDATE
               SET threshold_s = EXCLUDED.threshold_s, amount = EXCLUDED.amount, monthly_cap = EXCLUDED.monthly_cap,
                   enabled = EXCLUDED.enabled, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at,
                   paused_by_depletion = false, handled_depletes_at = NULL""",
        account_id,
        threshold_s,
        amount,
        monthly_cap,
        enabled,
        set_by,
        set_at,
    )


async def delete_auto_reload(conn: asyncpg.Connection, account_id: UUID) -> bool:
    return bool(await conn.execute("DELETE FROM auto_reload WHERE account_id = $1", account_id) == "DELETE 1")


async def set_auto_reload_suspended(conn: asyncpg.Connection, *, account_id: UUID, suspended: bool) -> bool:
    """A partner's suspension (or its end: the next crossing is evaluated afresh). False if Auto-iSC is not set."""
    result = await conn.execute(
        """UPDATE auto_reload SET suspended_by_partner = $2,
                  handled_depletes_at = CASE WHEN $2 THEN handled_depletes_at END
           WHERE account_id = $1""",
        account_id,
        suspended,
    )
    return bool(result == "UPDATE 1")


async def pause_auto_reload_on_depletion(conn: asyncpg.Connection, account_id: UUID) -> None:
    await conn.execute("UPDATE auto_reload SET paused_by_depletion = true WHERE account_id = $1", account_id)


async def resume_auto_reload_by_customer(conn: asyncpg.Connection, account_id: UUID) -> None:
    await conn.execute(
        """UPDATE auto_reload SET paused_by_depletion = false, handled_depletes_at = NULL
           WHERE account_id = $1 AND paused_by_depletion""",
        account_id,
    )


async def has_active_contract(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM contract_rate WHERE account_id = $1 AND active)", account_id)
    )


async def loaded_manually(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> int:
    """What the account's redeemed keys loaded, in all (micro-iSC)."""
    total = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM ledger_entry WHERE account_id = $1 AND kind = 'redemption'", account_id
    )
    return int(total)


async def reloaded_since(conn: asyncpg.Connection | asyncpg.Pool, *, account_id: UUID, since: datetime) -> int:
    total = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM reload_order WHERE account_id = $1 AND ordered_at >= $2",
        account_id,
        since,
    )
    return int(total)


# When the next crossing is due: the run-out minus the threshold while this runway is not handled yet, else the
# handled crossing's retry (NULL: none).
_AUTO_RELOAD_DUE_AT = """CASE WHEN r.handled_depletes_at IS DISTINCT FROM a.depletes_at
    THEN a.depletes_at - make_interval(secs => r.threshold_s) ELSE r.retry_at END"""
# Which accounts may reload at all: enabled, not paused by a run-out, burning towards a run-out.
_AUTO_RELOAD_LIVE = """r.enabled AND NOT r.paused_by_depletion AND a.depletes_at IS NOT NULL AND NOT a.depleted"""


async def lock_next_due_auto_reload(
    conn: asyncpg.Connection, *, now: datetime, held_back: Collection[UUID], clock_id: UUID | None
) -> tuple[Account, AutoReload] | None:
    """The next account whose Auto-iSC crossing is due, its row and its setting locked (`SKIP LOCKED`: another
    replica's claim is passed over, so one crossing is handled by one replica)."""
    row = await conn.fetchrow(
        f"""SELECT a.id FROM auto_reload r JOIN account a ON a.id = r.account_id
            WHERE {_AUTO_RELOAD_LIVE} AND {_AUTO_RELOAD_DUE_AT} <= $1 AND a.id <> ALL($2::uuid[])
              AND {_on_clock(3, "a")}
            ORDER BY {_AUTO_RELOAD_DUE_AT}
            LIMIT 1 FOR UPDATE OF a, r SKIP LOCKED""",  # noqa: S608 - fixed condition
        now,
        list(held_back),
        clock_id,
    )
    if row is None:
        return None
    account = await get_account(conn, row["id"])
    setting = await get_auto_reload(conn, row["id"])
    if account is None or setting is None:
        return None
    return account, setting


async def next_auto_reload_instant(
    conn: asyncpg.Connection | asyncpg.Pool, *, held_back: Collection[UUID], clock_id: UUID | None
) -> datetime | None:
    value: datetime | None = await conn.fetchval(
        f"""SELECT min({_AUTO_RELOAD_DUE_AT}) FROM auto_reload r JOIN account a ON a.id = r.account_id
            WHERE {_AUTO_RELOAD_LIVE} AND a.id <> ALL($1::uuid[])
              AND {_on_clock(2, "a")}""",  # noqa: S608 - fixed condition
        list(held_back),
        clock_id,
    )
    return value


async def record_crossing(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    crossing: int,
    at: datetime,
    outcome: Literal["reloaded", "failed"],
    reason: str | None,
    order_id: UUID | None,
    handled_depletes_at: datetime | None,
    retry_at: datetime | None,
) -> bool:
    """The crossing handled, once: False if it was (its key is taken), and then nothing else changes either."""
    inserted = await conn.fetchval(
        """WITH crossed AS (
               INSERT INTO auto_reload_crossing (account_id, crossing, at, outcome, reason, order_id)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1
           ), advanced AS (
               UPDATE auto_reload SET crossings = $2, handled_depletes_at = $7, retry_at = $8,
                      last_reload_at = CASE WHEN $4 = 'reloaded' THEN $3 ELSE last_reload_at END,
                      last_failure_at = CASE WHEN $4 = 'failed' THEN $3 ELSE last_failure_at END,
                      last_failure_reason = CASE WHEN $4 = 'failed' THEN $5 ELSE last_failure_reason END
               WHERE account_id = $1 AND EXISTS (SELECT FROM crossed) RETURNING 1
           )
           SELECT EXISTS (SELECT FROM advanced)""",
        account_id,
        crossing,
        at,
        outcome,
        reason,
        order_id,
        handled_depletes_at,
        retry_at,
    )
    return bool(inserted)


async def insert_reload_order(
    conn: asyncpg.Connection,
    *,
    order_id: UUID,
    account_id: UUID,
    partner: str,
    amount: int,
    ordered_at: datetime,
    crossing: int,
    ledger_entry_id: UUID,
) -> None:
    await conn.execute(
        """INSERT INTO reload_order (id, account_id, partner, amount, ordered_at, crossing, ledger_entry_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        order_id,
        account_id,
        partner,
        amount,
        ordered_at,
        crossing,
        ledger_entry_id,
    )


async def assign_partner(conn: asyncpg.Connection, *, account_id: UUID, partner: str) -> bool:
    """True if this changed the assigned partner."""
    result = await conn.execute(
        "UPDATE account SET assigned_partner = $2 WHERE id = $1 AND assigned_partner IS DISTINCT FROM $2",
        account_id,
        partner,
    )
    return bool(result == "UPDATE 1")


async def partner_of_account(conn: asyncpg.Connection | asyncpg.Pool, account_id: UUID) -> str | None:
    """The partner that fulfils the account's reloads: the one an operator assigned, else the one that opened it."""
    value: str | None = await conn.fetchval(
        "SELECT coalesce(assigned_partner, opened_by) FROM account WHERE id = $1", account_id
    )
    return value


@dataclass(frozen=True)
class ReloadOrder:
    id: UUID
    account_id: UUID
    partner: str
    amount: int
    ordered_at: datetime
    crossing: int
    ledger_entry_id: UUID


async def list_reload_orders(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    partner: str | None,
    account_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[ReloadOrder]:
    """Newest first; `partner` None: every partner's (an operator)."""
    rows = await conn.fetch(
        """SELECT id, account_id, partner, amount, ordered_at, crossing, ledger_entry_id FROM reload_order
           WHERE ($1::text IS NULL OR partner = $1) AND ($2::uuid IS NULL OR account_id = $2)
             AND ($3::timestamptz IS NULL OR (ordered_at, id) < ($3, $4::uuid))
           ORDER BY ordered_at DESC, id DESC LIMIT $5""",
        partner,
        account_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [ReloadOrder(**row) for row in rows]
