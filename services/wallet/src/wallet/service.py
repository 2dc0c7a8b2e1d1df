"""Wallet use cases: one function, one transaction, its events written to the outbox inside it.

Every use case that changes an account's money locks its row (`FOR UPDATE`), first catches up a run-out
that is already due (so `BalanceDepleted` always carries the exact instant), then applies its change,
posts to the ledger, and publishes the new runway with the next version.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

import asyncpg
import structlog

from shared.db import is_database_away, transaction, writes_together
from shared.errors import BadRequest, Conflict, NotFound, Unprocessable
from shared.events.base import Event
from shared.events.wallet import (
    AccountOpened,
    BalanceDepleted,
    BalanceLow,
    BalanceRestored,
    CreditsLoaded,
    RunwayChanged,
)
from shared.idempotency import (
    claim_idempotency_key,
    replay_of_claimed,
    request_fingerprint,
    store_idempotent_response,
)
from shared.messaging.outbox import add_all_to_outbox, add_to_outbox
from shared.money import format_isc
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.rate_limit import ensure_all_below_limits, ensure_hits_below_limits, record_hit, window_start
from wallet import domain, repository
from wallet.schemas import (
    AccountRead,
    ActivationKeyRead,
    AdjustmentRead,
    IssuedKey,
    KeyBatchRead,
    LedgerEntryRead,
    RedemptionRead,
)

log = structlog.get_logger()


@dataclass(frozen=True)
class RedemptionLimits:
    failures_per_account: int
    failures_per_client: int
    window_s: int


class UnknownActivationKey(Unprocessable):
    code, title = "unknown_key", "Unknown activation key"


@dataclass(frozen=True)
class _Account:
    """An account row as the burn-down sees it, with the version of its last published runway."""

    id: uuid.UUID
    burn: domain.Burn
    version: int
    low_check_at: datetime | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> _Account:
        burn = domain.Burn(
            balance=row["balance"],
            settled_at=row["settled_at"],
            rate_per_day=row["burn_rate_per_day"],
            segment_start=row["segment_start"],
            segment_used=row["segment_used"],
            depleted=row["depleted"],
        )
        return cls(id=row["id"], burn=burn, version=row["version"], low_check_at=row["low_check_at"])


# --- Accounts -----------------------------------------------------------------------------------------


async def open_account(pool: asyncpg.Pool, *, name: str, opened_by: str, now: datetime) -> AccountRead:
    account_id = uuid.uuid4()
    async with transaction(pool) as conn:
        await repository.insert_account(conn, account_id=account_id, name=name, opened_by=opened_by, opened_at=now)
        await add_to_outbox(conn, AccountOpened(account_id=account_id, name=name))
    log.info("wallet.account.opened", account_id=str(account_id))
    return _account_read(name=name, account=_Account(account_id, domain.Burn.opened(now), 0, None), now=now)


async def read_account(pool: asyncpg.Pool, *, account_id: uuid.UUID, now: datetime) -> AccountRead:
    row = await repository.get_account(pool, account_id)
    if row is None:
        raise NotFound("account not found")
    return _account_read(name=row["name"], account=_Account.of(row), now=now)


def _account_read(*, name: str, account: _Account, now: datetime) -> AccountRead:
    burn = account.burn
    return AccountRead(
        id=account.id,
        name=name,
        balance=burn.balance_at(now),
        burn_rate_per_day=burn.rate_per_day,
        depletes_at=burn.depletes_at(),
        status="funded" if burn.balance_at(now) > 0 else "depleted",
        version=account.version,
    )


async def list_ledger(
    pool: asyncpg.Pool, *, account_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[LedgerEntryRead]:
    if not await repository.account_exists(pool, account_id):
        raise NotFound("account not found")
    position = decode_cursor(cursor)
    before = position.get("before") if position else None
    if before is not None and not isinstance(before, int):
        raise BadRequest("the cursor is not one this service issued", code="invalid_cursor")
    rows = await repository.list_ledger_entries(pool, account_id=account_id, before_seq=before, limit=limit + 1)
    items = [
        LedgerEntryRead(
            id=row["id"],
            at=row["at"],
            kind=row["kind"],
            amount=format_isc(row["amount"]),
            balance_after=row["balance_after"],
            key_id=row["key_id"],
            period_start=row["period_start"],
            period_end=row["period_end"],
            note=row["note"],
        )
        for row in rows[:limit]
    ]
    next_cursor = encode_cursor({"before": rows[limit - 1]["seq"]}) if len(rows) > limit else None
    return Page[LedgerEntryRead](items=items, next_cursor=next_cursor)


# --- Activation keys ----------------------------------------------------------------------------------


async def issue_key_batch(
    pool: asyncpg.Pool, *, amount: int, count: int, issued_by: str, idempotency_key: str, now: datetime
) -> KeyBatchRead:
    """The codes exist in this answer only. A retry with the same Idempotency-Key does not show them again
    (that would mean keeping them): it is told the batch's id and key ids, so the partner can revoke them."""
    batch_id = uuid.uuid4()
    keys = [IssuedKey(id=uuid.uuid4(), code=domain.new_activation_code()) for _ in range(count)]
    scope = f"key-batch:{issued_by}"
    async with transaction(pool) as conn:
        replay = await claim_idempotency_key(
            conn, scope=scope, key=idempotency_key, request={"amount": amount, "count": count}
        )
        if replay is not None:
            raise Conflict(
                "this batch was already issued and its codes are shown only once; revoke its keys if they were lost",
                code="codes_already_shown",
                **replay.response,
            )
        await repository.insert_key_batch(
            conn, batch_id=batch_id, amount=amount, key_count=count, issued_by=issued_by, issued_at=now
        )
        await repository.insert_activation_keys(
            conn,
            batch_id=batch_id,
            amount=amount,
            key_ids=[key.id for key in keys],
            code_hashes=[domain.code_hash(domain.canonical_code(key.code)) for key in keys],
        )
        await store_idempotent_response(
            conn,
            scope=scope,
            key=idempotency_key,
            status_code=201,
            response={"batch_id": str(batch_id), "key_ids": [str(key.id) for key in keys]},
        )
    log.info("wallet.key_batch.issued", batch_id=str(batch_id), count=count, amount=amount, issued_by=issued_by)
    return KeyBatchRead(batch_id=batch_id, amount=amount, keys=keys)


async def revoke_activation_key(
    pool: asyncpg.Pool,
    *,
    key_id: uuid.UUID,
    revoked_by: str,
    may_revoke_any: bool,
    idempotency_key: str,
    now: datetime,
) -> ActivationKeyRead:
    """A partner revokes keys of its own batches, an operator any; a redeemed key stays redeemed."""
    scope = f"revocation:{revoked_by}:{key_id}"
    async with transaction(pool) as conn:
        replay = await claim_idempotency_key(conn, scope=scope, key=idempotency_key, request={})
        if replay is not None:
            return ActivationKeyRead.model_validate(replay.response)
        key = await repository.lock_activation_key(conn, key_id)
        if key is None or not (may_revoke_any or key["issued_by"] == revoked_by):
            raise NotFound("activation key not found")
        if key["status"] == "redeemed":
            raise Conflict("this key was already redeemed and cannot be revoked", code="key_already_redeemed")
        revoked_at = key["revoked_at"]
        if key["status"] == "issued":
            await repository.mark_key_revoked(conn, key_id=key_id, revoked_by=revoked_by, at=now)
            revoked_at = now
        result = ActivationKeyRead(
            id=key_id, batch_id=key["batch_id"], amount=key["amount"], status="revoked", revoked_at=revoked_at
        )
        await store_idempotent_response(
            conn, scope=scope, key=idempotency_key, status_code=200, response=result.model_dump(mode="json")
        )
    log.info("wallet.key.revoked", key_id=str(key_id), revoked_by=revoked_by)
    return result


def _canonical_code(code: str) -> str:
    try:
        return domain.canonical_code(code)
    except domain.MistypedCode as exc:
        raise Unprocessable(str(exc), code="code_mistyped") from exc
    except domain.MalformedCode as exc:
        raise Unprocessable(str(exc), code="code_malformed") from exc


async def redeem_activation_key(
    pool: asyncpg.Pool,
    *,
    account_id: uuid.UUID,
    code: str,
    client: str,
    idempotency_key: str,
    limits: RedemptionLimits,
    now: datetime,
) -> RedemptionRead:
    """Load a key's credit into the account. A key redeems once: its row is locked, then its status checked.

    One transaction does it all, the rate-limit check and the Idempotency-Key included. Wrong codes are
    counted per account and per client in a transaction of their own (the failing one rolls back); past
    the limit every attempt gets 429 until the window ends. A mistyped code (check symbol) is not counted:
    it tells nothing about which keys exist.
    """
    failure_limits = {
        f"redeem-failures:account:{account_id}": (limits.failures_per_account, "wrong activation codes for account"),
        f"redeem-failures:client:{client}": (limits.failures_per_client, "wrong activation codes from this client"),
    }
    try:
        return await _redeem(
            pool,
            account_id=account_id,
            code=code,
            idempotency_key=idempotency_key,
            failure_limits=failure_limits,
            window_s=limits.window_s,
            now=now,
        )
    except UnknownActivationKey:
        for bucket in failure_limits:
            await record_hit(pool, bucket=bucket, window_s=limits.window_s, now=now)
        log.warning("wallet.key.redeem.unknown", account_id=str(account_id), client=client)
        raise


async def _redeem(
    pool: asyncpg.Pool,
    *,
    account_id: uuid.UUID,
    code: str,
    idempotency_key: str,
    failure_limits: dict[str, tuple[int, str]],
    window_s: int,
    now: datetime,
) -> RedemptionRead:
    scope = f"redemption:{account_id}"
    try:
        canonical = _canonical_code(code)
    except Unprocessable:
        # Refused as the code is, but in the order of the other refusals: no account, then too many failures.
        async with transaction(pool) as conn:
            if await repository.lock_account(conn, account_id) is None:
                raise NotFound("account not found") from None
            await ensure_all_below_limits(conn, limits=failure_limits, window_s=window_s, now=now)
        raise
    fingerprint = request_fingerprint({"code": canonical})
    code_hash = domain.code_hash(canonical)
    async with transaction(pool) as conn:
        row = await repository.begin_redemption(
            conn,
            account_id=account_id,
            failure_buckets=list(failure_limits),
            window_start=window_start(now, window_s),
            scope=scope,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
            code_hash=code_hash,
            at=now,
        )
        if row["id"] is None:
            raise NotFound("account not found")
        ensure_hits_below_limits(row["failure_hits"], limits=failure_limits, window_s=window_s, now=now)
        if not row["claimed"]:
            replay = await replay_of_claimed(conn, scope=scope, key=idempotency_key, fingerprint=fingerprint)
            return RedemptionRead.model_validate(replay.response)
        if row["key_id"] is None:
            await _refuse_key(conn, code_hash)
        key = {"id": row["key_id"], "amount": row["key_amount"]}
        account = await _catch_up_run_out(conn, _Account.of(row), now=now)
        was_depleted = account.burn.depleted
        burn, usage = account.burn.load(amount=key["amount"], at=now)
        # The writes from here on read nothing back: one round trip (their errors surface at the block's end).
        async with writes_together(conn):
            await _post_usage(conn, account_id=account_id, before=account.burn, usage=usage, at=burn.settled_at)
            await _post(
                conn,
                account_id=account_id,
                posting=domain.redemption_posting(key["amount"]),
                balance_after=burn.balance,
                at=now,
                key_id=key["id"],
            )
            account = await _save_runway(conn, account=account, burn=burn, at=now)
            events: list[Event] = [
                _runway_event(account_id, burn, version=account.version, at=now),
                CreditsLoaded(
                    account_id=account_id, amount=key["amount"], key_id=key["id"], balance_after=burn.balance
                ),
            ]
            if was_depleted:
                events.append(
                    BalanceRestored(
                        account_id=account_id,
                        balance=burn.balance,
                        depletes_at=burn.depletes_at(),
                        version=account.version,
                    )
                )
            await add_all_to_outbox(conn, events)
            result = RedemptionRead(
                key_id=key["id"], amount=key["amount"], balance=burn.balance, depletes_at=burn.depletes_at()
            )
            await store_idempotent_response(
                conn, scope=scope, key=idempotency_key, status_code=201, response=result.model_dump(mode="json")
            )
    log.info("wallet.key.redeemed", account_id=str(account_id), key_id=str(key["id"]), amount=key["amount"])
    return result


async def _refuse_key(conn: asyncpg.Connection, code_hash: bytes) -> NoReturn:
    """No issued key has this code: say why. The claim is the key's one `UPDATE ... WHERE status = 'issued'`
    (`repository.begin_redemption`), so a key redeems once however many requests race for it (the loser waits on
    the row lock, then finds it spent)."""
    status = await repository.activation_key_status(conn, code_hash)
    if status is None:
        raise UnknownActivationKey("no activation key has this code")
    if status == "revoked":
        raise Conflict("this key was revoked", code="key_revoked")
    raise Conflict("this key was already redeemed", code="key_already_redeemed")


# --- Adjustments -------------------------------------------------------------------------------------------


async def adjust_balance(
    pool: asyncpg.Pool,
    *,
    account_id: uuid.UUID,
    amount: int,
    reason: str,
    adjusted_by: str,
    idempotency_key: str,
    now: datetime,
) -> AdjustmentRead:
    """An operator's correction as a new ledger entry (`amount` > 0 credits, < 0 debits); never an edit."""
    scope = f"adjustment:{account_id}"
    async with transaction(pool) as conn:
        replay = await claim_idempotency_key(
            conn, scope=scope, key=idempotency_key, request={"amount": amount, "reason": reason}
        )
        if replay is not None:
            return AdjustmentRead.model_validate(replay.response)
        row = await repository.lock_account(conn, account_id)
        if row is None:
            raise NotFound("account not found")
        account = await _catch_up_run_out(conn, _Account.of(row), now=now)
        was_depleted = account.burn.depleted
        try:
            burn, usage = account.burn.adjust(amount=amount, at=now)
        except domain.InsufficientBalance as exc:
            raise Conflict(str(exc), code="insufficient_balance") from exc
        await _post_usage(conn, account_id=account_id, before=account.burn, usage=usage, at=burn.settled_at)
        entry_id = await _post(
            conn,
            account_id=account_id,
            posting=domain.adjustment_posting(amount),
            balance_after=burn.balance,
            at=now,
            note=f"{reason} (by {adjusted_by})",
        )
        account = await _publish_runway(conn, account=account, burn=burn, at=now)
        if was_depleted and not burn.depleted:
            await add_to_outbox(
                conn,
                BalanceRestored(
                    account_id=account_id, balance=burn.balance, depletes_at=burn.depletes_at(), version=account.version
                ),
            )
        result = AdjustmentRead(
            entry_id=entry_id, amount=format_isc(amount), balance=burn.balance, depletes_at=burn.depletes_at()
        )
        await store_idempotent_response(
            conn, scope=scope, key=idempotency_key, status_code=201, response=result.model_dump(mode="json")
        )
    log.info("wallet.balance.adjusted", account_id=str(account_id), amount=amount, adjusted_by=adjusted_by)
    return result


# --- Burn rates -----------------------------------------------------------------------------------------


async def apply_rental_change(
    conn: asyncpg.Connection,
    *,
    account_id: uuid.UUID,
    contract_id: uuid.UUID,
    burn_rate_per_day: int,
    version: int,
    changed_at: datetime,
    now: datetime,
) -> None:
    """Keep the contract's rate if this version is newer; the account burns at the sum over its contracts.

    Runs inside the inbox transaction. The new rate counts from when the contract changed (the event's
    time), but never before the account's last settlement nor after now.
    """
    if burn_rate_per_day < 0:
        raise ValueError(f"contract {contract_id} reports a negative burn rate")
    row = await repository.lock_account(conn, account_id)
    if row is None:
        # The account is the wallet's own: a contract naming an unknown one is a defect upstream.
        raise LookupError(f"RentalChanged names account {account_id}, which the wallet does not know")
    applied = await repository.upsert_contract_rate_if_newer(
        conn,
        contract_id=contract_id,
        account_id=account_id,
        burn_rate_per_day=burn_rate_per_day,
        version=version,
        applied_at=now,
    )
    if not applied:
        log.info("wallet.rate.stale_ignored", contract_id=str(contract_id), version=version)
        return
    total = await repository.total_contract_rate(conn, account_id)
    account = _Account.of(row)
    if total == account.burn.rate_per_day:
        return
    at = min(now, max(changed_at, account.burn.settled_at))
    account = await _catch_up_run_out(conn, account, now=at)
    burn, usage = account.burn.change_rate(rate_per_day=total, at=at)
    await _post_usage(conn, account_id=account_id, before=account.burn, usage=usage, at=burn.settled_at)
    await _publish_runway(conn, account=account, burn=burn, at=at)
    log.info("wallet.rate.changed", account_id=str(account_id), burn_rate_per_day=total, contract_id=str(contract_id))


# --- The scheduler's use cases: each handles one due account, in its own transaction --------------------


class AccountWorkFailed(Exception):
    """The scheduler's work on one account failed for a reason of that account's own (not the database being
    away): the scheduler holds that account back for a while and goes on with the others."""

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"scheduled work on account {account_id} failed")
        self.account_id = account_id


@dataclass
class _Claim:
    account_id: uuid.UUID | None = None


@asynccontextmanager
async def _account_work(pool: asyncpg.Pool) -> AsyncIterator[tuple[asyncpg.Connection, _Claim]]:
    """One transaction of scheduled work on the account it claims. A failure once an account is claimed, the
    commit included (the ledger's balance check is a deferred constraint), is that account's AccountWorkFailed,
    unless the database is away: every account would then fail alike, so the whole round stops."""
    claim = _Claim()
    try:
        async with transaction(pool) as conn:
            yield conn, claim
    except Exception as exc:
        if claim.account_id is None or is_database_away(exc):
            raise
        raise AccountWorkFailed(claim.account_id) from exc


async def deplete_next_due_account(
    pool: asyncpg.Pool, *, now: datetime, held_back: Collection[uuid.UUID] = ()
) -> uuid.UUID | None:
    """Announce one run-out that is due, settling the balance to exactly zero. The account, or None when none
    is due (accounts in `held_back` are passed over)."""
    async with _account_work(pool) as (conn, claim):
        row = await repository.lock_next_due_depletion(conn, now=now, held_back=held_back)
        if row is None:
            return None
        claim.account_id = row["id"]
        await _catch_up_run_out(conn, _Account.of(row), now=now)
    return claim.account_id


async def settle_next_unsettled_account(
    pool: asyncpg.Pool, *, now: datetime, every: timedelta, held_back: Collection[uuid.UUID] = ()
) -> uuid.UUID | None:
    """Settle the usage of one account that burns and was last settled longer than `every` ago."""
    async with _account_work(pool) as (conn, claim):
        row = await repository.lock_next_unsettled_account(conn, settled_before=now - every, held_back=held_back)
        if row is None:
            return None
        claim.account_id = row["id"]
        account = await _catch_up_run_out(conn, _Account.of(row), now=now)
        burn, usage = account.burn.settle(now)
        await _post_usage(conn, account_id=account.id, before=account.burn, usage=usage, at=now)
        await _save(conn, account=account, burn=burn, version=account.version, low_check_at=account.low_check_at)
    return claim.account_id


async def warn_next_low_balance(
    pool: asyncpg.Pool, *, now: datetime, thresholds_s: Sequence[int], held_back: Collection[uuid.UUID] = ()
) -> uuid.UUID | None:
    """Evaluate one account whose low-balance check is due; announce `BalanceLow` if a threshold was reached."""
    async with _account_work(pool) as (conn, claim):
        row = await repository.lock_next_due_low_balance_check(conn, now=now, held_back=held_back)
        if row is None:
            return None
        claim.account_id = row["id"]
        depletes_at = row["depletes_at"]
        check = domain.check_low_balance(
            thresholds_s=thresholds_s,
            depletes_at=depletes_at,
            now=now,
            warned_threshold_s=row["low_warned_threshold_s"],
        )
        if check.warn_threshold_s is not None and depletes_at is not None:
            time_left_s = max(0, int((depletes_at - now).total_seconds()))
            await add_to_outbox(
                conn,
                BalanceLow(
                    account_id=row["id"],
                    time_left_s=time_left_s,
                    threshold_s=check.warn_threshold_s,
                    depletes_at=depletes_at,
                ),
            )
            log.info("wallet.balance.low", account_id=str(row["id"]), threshold_s=check.warn_threshold_s)
        await repository.update_low_balance_state(
            conn,
            account_id=row["id"],
            warned_threshold_s=check.warned_threshold_s,
            low_check_at=check.next_check_at,
        )
    return claim.account_id


async def next_scheduled_instant(
    pool: asyncpg.Pool, *, every: timedelta, held_back: Collection[uuid.UUID] = ()
) -> datetime | None:
    return await repository.next_scheduled_instant(pool, daily=every, held_back=held_back)


# --- Shared steps of the use cases above ------------------------------------------------------------------


async def _catch_up_run_out(conn: asyncpg.Connection, account: _Account, *, now: datetime) -> _Account:
    """If the run-out instant has passed, settle to zero at that instant and announce it (once)."""
    due = account.burn.depletes_at()
    if due is None or due > now:
        return account
    burn, usage = account.burn.deplete()
    await _post_usage(conn, account_id=account.id, before=account.burn, usage=usage, at=due)
    version = account.version + 1
    # The run-down is over: the next one warns at every threshold again.
    await _save(conn, account=account, burn=burn, version=version, low_check_at=None, clear_warning=True)
    await add_to_outbox(conn, BalanceDepleted(account_id=account.id, at=due, version=version))
    await add_to_outbox(conn, _runway_event(account.id, burn, version=version, at=due))
    log.info("wallet.balance.depleted", account_id=str(account.id), at=due.isoformat())
    return _Account(id=account.id, burn=burn, version=version, low_check_at=None)


async def _publish_runway(conn: asyncpg.Connection, *, account: _Account, burn: domain.Burn, at: datetime) -> _Account:
    """Store the new burn state with the next version and announce it; warnings are re-checked at once."""
    account = await _save_runway(conn, account=account, burn=burn, at=at)
    await add_to_outbox(conn, _runway_event(account.id, burn, version=account.version, at=at))
    return account


async def _save_runway(conn: asyncpg.Connection, *, account: _Account, burn: domain.Burn, at: datetime) -> _Account:
    """Store the new burn state with the next version; the caller announces it (`_runway_event`).

    Warnings are re-checked at once by the scheduler while the account burns. When nothing burns no warning
    can be due, and the check's whole outcome is known here (no threshold warned, nothing to check until it
    burns again): it is stored with the change instead of costing the scheduler a transaction.
    """
    version = account.version + 1
    burns = burn.depletes_at() is not None
    low_check_at = at if burns else None
    await _save(conn, account=account, burn=burn, version=version, low_check_at=low_check_at, clear_warning=not burns)
    return _Account(id=account.id, burn=burn, version=version, low_check_at=low_check_at)


def _runway_event(account_id: uuid.UUID, burn: domain.Burn, *, version: int, at: datetime) -> RunwayChanged:
    return RunwayChanged(
        account_id=account_id,
        balance=burn.balance,
        burn_rate_per_day=burn.rate_per_day,
        depletes_at=burn.depletes_at(),
        version=version,
        at=at,
    )


async def _save(
    conn: asyncpg.Connection,
    *,
    account: _Account,
    burn: domain.Burn,
    version: int,
    low_check_at: datetime | None,
    clear_warning: bool = False,
) -> None:
    await repository.update_account_burn(
        conn,
        account_id=account.id,
        balance=burn.balance,
        burn_rate_per_day=burn.rate_per_day,
        settled_at=burn.settled_at,
        segment_start=burn.segment_start,
        segment_used=burn.segment_used,
        depleted=burn.depleted,
        depletes_at=burn.depletes_at(),
        version=version,
        low_check_at=low_check_at,
        clear_warning=clear_warning,
    )


async def _post_usage(
    conn: asyncpg.Connection, *, account_id: uuid.UUID, before: domain.Burn, usage: int, at: datetime
) -> None:
    if usage == 0:
        return
    await _post(
        conn,
        account_id=account_id,
        posting=domain.usage_posting(usage),
        balance_after=before.balance - usage,
        at=at,
        period=(before.settled_at, at),
    )


async def _post(
    conn: asyncpg.Connection,
    *,
    account_id: uuid.UUID,
    posting: domain.Posting,
    balance_after: int,
    at: datetime,
    key_id: uuid.UUID | None = None,
    period: tuple[datetime, datetime] | None = None,
    note: str | None = None,
) -> uuid.UUID:
    entry_id = uuid.uuid4()
    await repository.insert_ledger_entry(
        conn,
        entry_id=entry_id,
        account_id=account_id,
        kind=posting.kind.value,
        amount=posting.wallet_change,
        balance_after=balance_after,
        at=at,
        key_id=key_id,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
        note=note,
        books=[book.value for book, _ in posting.lines],
        line_amounts=[amount for _, amount in posting.lines],
    )
    return entry_id
