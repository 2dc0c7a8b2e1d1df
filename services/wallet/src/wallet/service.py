"""Wallet use cases: one function, one transaction, its events written to the outbox inside it.

Every use case that changes an account's money locks its row (`FOR UPDATE`), first catches up a run-out
that is already due (so `BalanceDepleted` always carries the exact instant), then applies its change,
posts to the ledger, and publishes the new runway with the next version.

Who may act on an account is checked here (`shared.partner_scope.ensure_account_access`: its customer, a partner
that opened it or was assigned it, or an operator; anyone else gets 404); which roles may call at all, by the routes.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, NoReturn, Protocol, TypeVar

import asyncpg
import structlog

from shared import auto_reload
from shared.auth import Principal, Role
from shared.burn import burn_state
from shared.db import Write, is_database_away, send_writes, transaction
from shared.events.base import Event
from shared.events.wallet import (
    AccountAssigned,
    AccountOpened,
    AutoReloadChanged,
    AutoReloadFailed,
    AutoReloadTriggered,
    BalanceDepleted,
    BalanceLow,
    BalanceRestored,
    CreditsLoaded,
    RunwayChanged,
)
from shared.idempotency import claim
from shared.messaging.outbox import add_all_to_outbox, add_to_outbox, outbox_write
from shared.money import SECONDS_PER_DAY, format_isc
from shared.pagination import Keyset, Page
from shared.partner_scope import ensure_account_access, record_partner
from shared.rate_limit import record_hit, refuse_if_any_full, window_start
from shared.refusals import Conflict, NotFound, Unprocessable
from shared.sealing import KeyEncryptionKey
from wallet import clocks, domain, repository
from wallet.config import Settings
from wallet.repository import Account
from wallet.schemas import (
    AccountPartnerRead,
    AccountRead,
    ActivationKeyRead,
    AdjustmentCreate,
    AdjustmentRead,
    AutoReloadRead,
    AutoReloadWrite,
    IssuedKey,
    KeyBatchRead,
    KeyBatchReceipt,
    LedgerEntryRead,
    RedemptionRead,
    ReloadOrderRead,
    ScheduledRateRead,
)

log = structlog.get_logger()
# Newest first by the ledger's sequence; the cursor's field keeps its name from before (`before`), so cursors
# handed out earlier still read.
LEDGER_PAGES = Keyset(("before", int))
# Reload orders, newest first.
ORDER_PAGES = Keyset(("ordered_at", datetime), ("id", uuid.UUID))


@dataclass(frozen=True)
class RedemptionLimits:
    failures_per_account: int
    failures_per_client: int
    window_s: int

    @classmethod
    def of(cls, settings: Settings) -> RedemptionLimits:
        return cls(
            failures_per_account=settings.redeem_failures_per_account,
            failures_per_client=settings.redeem_failures_per_client,
            window_s=settings.redeem_failure_window_s,
        )

    def failure_buckets(self, *, account_id: uuid.UUID, client: str) -> dict[str, tuple[int, str]]:
        """Where wrong codes are counted, each with its limit and what the 429 says."""
        return {
            f"redeem-failures:account:{account_id}": (self.failures_per_account, "wrong activation codes for account"),
            f"redeem-failures:client:{client}": (self.failures_per_client, "wrong activation codes from this client"),
        }


class UnknownActivationKey(Unprocessable):
    code, title = "unknown_key", "Unknown activation key"


def _existing(account: Account | None) -> Account:
    if account is None:
        raise NotFound("account not found")
    return account


# --- Accounts -----------------------------------------------------------------------------------------


async def open_account(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    name: str,
    idempotency_key: str | None,
    ladder_s: Sequence[int],
    now: datetime,
    test_clock_id: uuid.UUID | None = None,
) -> AccountRead:
    """A partner opens an account, live or on a test clock of its own (opened at the clock's time). A retry with
    the same Idempotency-Key gets the first answer, not a second account; the key is the opener's own (the
    account does not exist yet)."""
    opened_by = principal.subject
    request: dict[str, str] = {"name": name} if test_clock_id is None else {"name": name, "clock": str(test_clock_id)}
    async with transaction(pool) as conn:
        once = await claim(conn, operation="account-opening", owner=opened_by, key=idempotency_key, request=request)
        if (replay := once.replayed(AccountRead)) is not None:
            return replay
        clock_time = None
        if test_clock_id is not None:
            clock_time = await clocks.clock_time_for_new_account(conn, principal=principal, clock_id=test_clock_id)
            now = clock_time
        account = Account(
            id=uuid.uuid4(),
            name=name,
            burn=domain.Burn.opened(now),
            version=0,
            low_check_at=None,
            test_clock_id=test_clock_id,
        )
        await repository.insert_account(
            conn, account_id=account.id, name=name, opened_by=opened_by, opened_at=now, test_clock_id=test_clock_id
        )
        # The opener sees and acts on the account from now on, here and (by the event) in every other service.
        await record_partner(conn, account_id=account.id, partner=opened_by)
        opened = AccountOpened(
            account_id=account.id,
            name=name,
            opened_by=opened_by,
            test_clock_id=test_clock_id,
            test_clock_time=clock_time,
        )
        await add_to_outbox(conn, opened)
        result = await once.answer(_account_read(account, now=now, ladder_s=ladder_s), status_code=201)
    log.info("wallet.account.opened", account_id=str(account.id))
    return result


async def assign_partner(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, partner: str
) -> AccountPartnerRead:
    """An operator assigns the account to a partner: it sees and acts on the account too, and fulfils its Auto-iSC
    reloads from now on. Assigning the same partner again changes nothing."""
    async with transaction(pool) as conn:
        _existing(await repository.lock_account(conn, account_id))
        if await repository.assign_partner(conn, account_id=account_id, partner=partner):
            await record_partner(conn, account_id=account_id, partner=partner)
            await add_to_outbox(conn, AccountAssigned(account_id=account_id, partner=partner))
            log.info("wallet.account.assigned", account_id=str(account_id), partner=partner, by=principal.subject)
        opened_by = await repository.partner_of_account(conn, account_id)
    return AccountPartnerRead(account_id=account_id, partner=opened_by or partner)


async def read_account(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, ladder_s: Sequence[int], now: datetime
) -> AccountRead:
    await ensure_account_access(pool, principal, account_id)
    account = _existing(await repository.get_account(pool, account_id))
    return _account_read(account, now=now, ladder_s=ladder_s)


def _account_read(account: Account, *, now: datetime, ladder_s: Sequence[int]) -> AccountRead:
    """The account now; `ladder_s` is the deployment's warning ladder, shown unless the account has its own."""
    burn = account.burn
    _, ahead = burn.rates_from(now)
    return AccountRead(
        id=account.id,
        name=account.name,
        balance=burn.balance_at(now),
        burn_rate_per_day=burn.rate_at(now),
        depletes_at=burn.depletes_at(),
        status="funded" if burn.balance_at(now) > 0 else "depleted",
        version=account.version,
        scheduled_rates=[
            ScheduledRateRead(effective_at=s.effective_at, burn_rate_per_day=s.rate_per_day) for s in ahead
        ],
        warning_thresholds_s=list(account.ladder(ladder_s)),
        warning_thresholds_source="default" if account.warning_thresholds_s is None else "account",
        test_clock_id=account.test_clock_id,
        test_clock_time=now if account.test_clock_id is not None else None,
    )


@dataclass(frozen=True)
class LadderBounds:
    """What an account's own warning ladder may be (the deployment's settings)."""

    min_s: int
    max_s: int
    max_count: int

    @classmethod
    def of(cls, settings: Settings) -> LadderBounds:
        return cls(
            min_s=settings.warning_threshold_min_s,
            max_s=settings.warning_threshold_max_s,
            max_count=settings.warning_thresholds_max_count,
        )


async def set_warning_thresholds(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    account_id: uuid.UUID,
    thresholds_s: Sequence[int] | None,
    bounds: LadderBounds,
    ladder_s: Sequence[int],
    now: datetime,
) -> AccountRead:
    """The account's own warning ladder (None: the deployment's again). It is the one ladder: `BalanceLow` warns by
    it and the new `RunwayChanged` carries it as `warnings_at`, so the next bundles sign it in. Setting the same
    ladder again changes nothing (no new version)."""
    await ensure_account_access(pool, principal, account_id)
    own = None
    if thresholds_s is not None:
        own = domain.checked_thresholds(
            thresholds_s, min_s=bounds.min_s, max_s=bounds.max_s, max_count=bounds.max_count
        )
    async with transaction(pool) as conn:
        account = _existing(await repository.lock_account(conn, account_id))
        account = await _catch_up_run_out(conn, account, now=now)
        if own != account.warning_thresholds_s:
            await repository.set_warning_thresholds(conn, account_id=account_id, thresholds_s=own)
            account = replace(account, warning_thresholds_s=own)
            # A new version, so the ladder reaches every consumer of the runway; warnings are re-checked at once.
            account = await _publish_runway(conn, account=account, burn=account.burn, at=now, ladder_s=ladder_s)
            log.info("wallet.warning_thresholds.set", account_id=str(account_id), thresholds_s=own)
    return _account_read(account, now=now, ladder_s=ladder_s)


async def list_ledger(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[LedgerEntryRead]:
    await ensure_account_access(pool, principal, account_id)
    if not await repository.account_exists(pool, account_id):
        raise NotFound("account not found")
    request = LEDGER_PAGES.request(cursor, limit)
    (before_seq,) = request.after or (None,)
    entries = await repository.list_ledger_entries(
        pool, account_id=account_id, before_seq=before_seq, limit=request.fetch
    )
    page = LEDGER_PAGES.page(entries, request, key=lambda entry: (entry.seq,))
    return Page[LedgerEntryRead](items=[_ledger_entry_read(e) for e in page.items], next_cursor=page.next_cursor)


def _ledger_entry_read(entry: repository.LedgerEntry) -> LedgerEntryRead:
    return LedgerEntryRead(
        id=entry.id,
        at=entry.at,
        kind=entry.kind,
        amount=format_isc(entry.amount),
        balance_after=entry.balance_after,
        key_id=entry.key_id,
        period_start=entry.period_start,
        period_end=entry.period_end,
        note=entry.note,
    )


# --- Activation keys ----------------------------------------------------------------------------------


async def issue_key_batch(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    amount: int,
    count: int,
    idempotency_key: str,
    codes_key: KeyEncryptionKey,
    now: datetime,
) -> KeyBatchRead:
    """The wallet keeps each code as a hash only; the answer that shows them is kept for 24 hours, sealed with
    AES-GCM under `codes_key` for the partner that issued the batch, so that partner's retry with the same
    Idempotency-Key and body gets the first answer again. After that a retry is told the batch's id and key ids
    (409 `codes_already_shown`), so the partner can revoke keys whose codes were lost."""
    keys = [IssuedKey(id=uuid.uuid4(), code=domain.new_activation_code()) for _ in range(count)]
    batch = KeyBatchRead(batch_id=uuid.uuid4(), amount=amount, keys=keys)
    issued_by = principal.subject
    async with transaction(pool) as conn:
        request = {"amount": amount, "count": count}
        once = await claim(conn, operation="key-batch", owner=issued_by, key=idempotency_key, request=request)
        if (receipt := once.replayed(KeyBatchReceipt)) is not None:
            return await _shown_again(conn, receipt, issued_by=issued_by, codes_key=codes_key, now=now)
        await repository.delete_expired_shown_key_batches(conn, now=now)
        await _store_key_batch(conn, batch, issued_by=issued_by, at=now)
        sealed = domain.seal_codes(
            codes_key, batch_id=batch.batch_id, issued_by=issued_by, answer=batch.model_dump_json().encode()
        )
        await repository.insert_shown_key_batch(
            conn, batch_id=batch.batch_id, issued_by=issued_by, codes=sealed, expires_at=now + domain.SHOWN_CODES_KEPT
        )
        await once.answer(KeyBatchReceipt(batch_id=batch.batch_id, key_ids=[k.id for k in keys]), status_code=201)
    log.info("wallet.key_batch.issued", batch_id=str(batch.batch_id), count=count, amount=amount, issued_by=issued_by)
    return batch


async def _shown_again(
    conn: asyncpg.Connection, receipt: KeyBatchReceipt, *, issued_by: str, codes_key: KeyEncryptionKey, now: datetime
) -> KeyBatchRead:
    """A retried batch: its first answer while it is kept (and opens under the current key), else 409."""
    sealed = await repository.shown_key_batch(conn, batch_id=receipt.batch_id, issued_by=issued_by, now=now)
    answer = None
    if sealed is not None:
        answer = domain.open_codes(codes_key, batch_id=receipt.batch_id, issued_by=issued_by, codes=sealed)
    if answer is None:
        raise Conflict(
            "this batch was issued more than 24 hours ago and its codes are no longer kept; revoke its keys if they "
            "were lost",
            code="codes_already_shown",
            **receipt.model_dump(mode="json"),
        )
    log.info("wallet.key_batch.shown_again", batch_id=str(receipt.batch_id), issued_by=issued_by)
    return KeyBatchRead.model_validate_json(answer)


async def _store_key_batch(conn: asyncpg.Connection, batch: KeyBatchRead, *, issued_by: str, at: datetime) -> None:
    """The batch and its keys, each key as the hash of its code only."""
    await repository.insert_key_batch(
        conn, batch_id=batch.batch_id, amount=batch.amount, key_count=len(batch.keys), issued_by=issued_by, issued_at=at
    )
    await repository.insert_activation_keys(
        conn,
        batch_id=batch.batch_id,
        amount=batch.amount,
        key_ids=[key.id for key in batch.keys],
        code_hashes=[domain.code_hash(domain.canonical_code(key.code)) for key in batch.keys],
    )


async def revoke_activation_key(
    pool: asyncpg.Pool, *, principal: Principal, key_id: uuid.UUID, idempotency_key: str, now: datetime
) -> ActivationKeyRead:
    """A partner revokes keys of its own batches, an operator any; a redeemed key stays redeemed."""
    async with transaction(pool) as conn:
        # The body is empty and the path names the key, so the key is part of the scope: one Idempotency-Key
        # may serve the revocations of several keys.
        owner = f"{principal.subject}:{key_id}"
        once = await claim(conn, operation="revocation", owner=owner, key=idempotency_key, request={})
        if (replay := once.replayed(ActivationKeyRead)) is not None:
            return replay
        key = _revocable(await repository.lock_activation_key(conn, key_id), by=principal)
        revoked_at = key.revoked_at
        if key.status == "issued":
            await repository.mark_key_revoked(conn, key_id=key_id, revoked_by=principal.subject, at=now)
            revoked_at = now
        revoked = ActivationKeyRead(
            id=key_id, batch_id=key.batch_id, amount=key.amount, status="revoked", revoked_at=revoked_at
        )
        result = await once.answer(revoked, status_code=200)
    log.info("wallet.key.revoked", key_id=str(key_id), revoked_by=principal.subject)
    return result


def _revocable(key: repository.ActivationKey | None, *, by: Principal) -> repository.ActivationKey:
    """The key, if `by` may revoke it: another partner's key is not found, a redeemed one cannot be revoked."""
    if key is None or not (by.has_any(Role.OPERATOR) or key.issued_by == by.subject):
        raise NotFound("activation key not found")
    if key.status == "redeemed":
        raise Conflict("this key was already redeemed and cannot be revoked", code="key_already_redeemed")
    return key


async def redeem_activation_key(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    account_id: uuid.UUID,
    code: str,
    idempotency_key: str,
    limits: RedemptionLimits,
    ladder_s: Sequence[int],
    now: datetime,
) -> RedemptionRead:
    """Load a key's credit into the account. A key redeems once: its row is locked, then its status checked.

    One transaction does it all, the rate-limit check and the Idempotency-Key included. Wrong codes are
    counted per account and per client in a transaction of their own (the failing one rolls back); past
    the limit every attempt gets 429 until the window ends. A mistyped code (check symbol) is not counted:
    it tells nothing about which keys exist.
    """
    await ensure_account_access(pool, principal, account_id)
    failure_limits = limits.failure_buckets(account_id=account_id, client=principal.subject)
    try:
        return await _redeem(
            pool,
            account_id=account_id,
            code=code,
            idempotency_key=idempotency_key,
            failure_limits=failure_limits,
            window_s=limits.window_s,
            ladder_s=ladder_s,
            now=now,
        )
    except UnknownActivationKey:
        for bucket in failure_limits:
            await record_hit(pool, bucket=bucket, window_s=limits.window_s, now=now)
        log.warning("wallet.key.redeem.unknown", account_id=str(account_id), client=principal.subject)
        raise


async def _redeem(
    pool: asyncpg.Pool,
    *,
    account_id: uuid.UUID,
    code: str,
    idempotency_key: str,
    failure_limits: dict[str, tuple[int, str]],
    window_s: int,
    ladder_s: Sequence[int],
    now: datetime,
) -> RedemptionRead:
    # Few round trips on the happy path: the account locked with its failure counts, the Idempotency-Key claimed
    # and the key marked, in one statement; the ledger entries, the balance, the answer and its events in one more.
    async with transaction(pool) as conn:
        canonical = domain.canonical_code(code)
        code_hash = domain.code_hash(canonical)
        claimed = await repository.lock_account_and_redeem_key(
            conn,
            account_id=account_id,
            buckets=list(failure_limits),
            window_start=window_start(now, window_s),
            idempotency_key=idempotency_key,
            request={"code": canonical},
            code_hash=code_hash,
            at=now,
        )
        once = claimed.once
        if (replay := once.replayed(RedemptionRead)) is not None:
            return replay
        account = _existing(claimed.account)
        refuse_if_any_full(claimed.hits, limits=failure_limits, window_s=window_s, now=now)
        key = claimed.key
        if key is None:
            await _refuse_unredeemable(conn, code_hash=code_hash)
        result, writes, events = await _load_credit(conn, account, key=key, ladder_s=ladder_s, at=now)
        await once.answer(result, status_code=201, announcing=events, along=writes)
    log.info("wallet.key.redeemed", account_id=str(account_id), key_id=str(key.id), amount=key.amount)
    return result


async def _refuse_unredeemable(conn: asyncpg.Connection, *, code_hash: bytes) -> NoReturn:
    """Why no issued key has this code (the redemption's claim matched none): unknown, revoked or spent. A key
    redeems once however many requests race for it: the loser waited on the row lock, then found it spent."""
    status = await repository.activation_key_status(conn, code_hash)
    if status is None:
        raise UnknownActivationKey("no activation key has this code")
    if status == "revoked":
        raise Conflict("this key was revoked", code="key_revoked")
    raise Conflict("this key was already redeemed", code="key_already_redeemed")


async def _load_credit(
    conn: asyncpg.Connection, account: Account, *, key: repository.RedeemedKey, ladder_s: Sequence[int], at: datetime
) -> tuple[RedemptionRead, list[Write], list[Event]]:
    """The key's credit onto the balance and in the ledger: the answer, the writes (sent with it) and the events
    announcing it."""
    before = await _catch_up_run_out(conn, account, now=at)
    if before.burn.depleted:
        # The customer acted after a run-out: Auto-iSC may reload again.
        await repository.resume_auto_reload_by_customer(conn, account.id)
    burn, usage = before.burn.load(amount=key.amount, at=at)
    posting = domain.redemption_posting(key.amount)
    after, _, writes = _booked(before, burn=burn, usage=usage, posting=posting, at=at, key_id=key.id)
    loaded = CreditsLoaded(
        account_id=after.id, amount=key.amount, key_id=key.id, balance_after=burn.balance, source="activation_key"
    )
    result = RedemptionRead(key_id=key.id, amount=key.amount, balance=burn.balance, depletes_at=burn.depletes_at())
    return result, writes, [_runway_event(after, at=at, ladder_s=ladder_s), loaded, *_restored(before, after)]


# --- Adjustments -------------------------------------------------------------------------------------------


async def adjust_balance(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    account_id: uuid.UUID,
    adjustment: AdjustmentCreate,
    idempotency_key: str,
    ladder_s: Sequence[int],
    now: datetime,
) -> AdjustmentRead:
    """An operator's correction as a new ledger entry (a credit or a debit); never an edit."""
    amount, reason = adjustment.signed_amount, adjustment.reason
    async with transaction(pool) as conn:
        request = {"amount": amount, "reason": reason}
        once = await claim(conn, operation="adjustment", owner=account_id, key=idempotency_key, request=request)
        if (replay := once.replayed(AdjustmentRead)) is not None:
            return replay
        account = _existing(await repository.lock_account(conn, account_id))
        note = f"{reason} (by {principal.subject})"
        corrected, writes, events = await _correct(conn, account, amount=amount, note=note, ladder_s=ladder_s, at=now)
        result = await once.answer(corrected, status_code=201, announcing=events, along=writes)
    log.info("wallet.balance.adjusted", account_id=str(account_id), amount=amount, adjusted_by=principal.subject)
    return result


async def _correct(
    conn: asyncpg.Connection, account: Account, *, amount: int, note: str, ladder_s: Sequence[int], at: datetime
) -> tuple[AdjustmentRead, list[Write], list[Event]]:
    """The correction onto the balance (a debit never below zero) and in the ledger: the answer, the writes (sent
    with it) and the events announcing it."""
    before = await _catch_up_run_out(conn, account, now=at)
    burn, usage = before.burn.adjust(amount=amount, at=at)
    posting = domain.adjustment_posting(amount)
    after, entry_id, writes = _booked(before, burn=burn, usage=usage, posting=posting, at=at, note=note)
    corrected = AdjustmentRead(
        entry_id=entry_id, amount=format_isc(amount), balance=burn.balance, depletes_at=burn.depletes_at()
    )
    return corrected, writes, [_runway_event(after, at=at, ladder_s=ladder_s), *_restored(before, after)]


# --- Auto-iSC ------------------------------------------------------------------------------------------------


async def set_auto_reload(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, body: AutoReloadWrite, now: datetime
) -> AutoReloadRead:
    """The account's Auto-iSC, once a contract is active and a month's worth was loaded by hand (409 otherwise).
    Setting it is the customer acting: a pause after a run-out ends."""
    await ensure_account_access(pool, principal, account_id)
    async with transaction(pool) as conn:
        account = _existing(await repository.lock_account(conn, account_id))
        account = await _catch_up_run_out(conn, account, now=now)
        domain.check_auto_reload_allowed(
            has_active_contract=await repository.has_active_contract(conn, account_id),
            rate_per_day=account.burn.rate_at(now),
            loaded_manually=await repository.loaded_manually(conn, account_id),
        )
        await repository.upsert_auto_reload(
            conn,
            account_id=account_id,
            threshold_s=body.threshold_days * SECONDS_PER_DAY,
            amount=body.amount,
            monthly_cap=body.monthly_cap,
            enabled=body.enabled,
            set_by=principal.subject,
            set_at=now,
        )
        await _announce_auto_reload(conn, account_id, now=now)
        read = await _auto_reload_read(conn, account, now=now)
    log.info("wallet.auto_reload.set", account_id=str(account_id), enabled=body.enabled, set_by=principal.subject)
    return read


async def read_auto_reload(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, now: datetime
) -> AutoReloadRead:
    await ensure_account_access(pool, principal, account_id)
    async with transaction(pool) as conn:
        account = _existing(await repository.get_account(conn, account_id))
        return await _auto_reload_read(conn, account, now=now)


async def end_auto_reload(pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, now: datetime) -> None:
    """Auto-iSC ends; ending it when it is not set changes nothing (a repeated DELETE is not an error)."""
    await ensure_account_access(pool, principal, account_id)
    async with transaction(pool) as conn:
        _existing(await repository.lock_account(conn, account_id))
        ended = await repository.delete_auto_reload(conn, account_id)
        if ended:
            await _announce_auto_reload(conn, account_id, now=now)
    log.info("wallet.auto_reload.ended", account_id=str(account_id), ended_by=principal.subject, was_set=ended)


async def suspend_auto_reload(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, suspended: bool, now: datetime
) -> AutoReloadRead:
    """A partner (or an operator) stops the account's reloads, or allows them again."""
    await ensure_account_access(pool, principal, account_id)
    async with transaction(pool) as conn:
        account = await _catch_up_run_out(conn, _existing(await repository.lock_account(conn, account_id)), now=now)
        if not await repository.set_auto_reload_suspended(conn, account_id=account_id, suspended=suspended):
            raise NotFound("Auto-iSC is not set on this account")
        await _announce_auto_reload(conn, account_id, now=now)
        read = await _auto_reload_read(conn, account, now=now)
    log.info("wallet.auto_reload.suspension", account_id=str(account_id), suspended=suspended, by=principal.subject)
    return read


async def _auto_reload_read(conn: asyncpg.Connection, account: Account, *, now: datetime) -> AutoReloadRead:
    setting = await repository.get_auto_reload(conn, account.id)
    reloaded = await repository.reloaded_since(conn, account_id=account.id, since=auto_reload.month_start(now))
    last = await repository.list_reload_orders(conn, partner=None, account_id=account.id, after=None, limit=1)
    last_reload = _order_read(last[0]) if last else None
    if setting is None:
        return AutoReloadRead(
            account_id=account.id,
            threshold_days=None,
            amount=None,
            monthly_cap=None,
            enabled=False,
            state="not_set",
            suspended_by_partner=False,
            reloaded_this_month=reloaded,
            last_reload=last_reload,
            last_failure_at=None,
            last_failure_reason=None,
            next_reload_at=None,
            set_at=None,
        )
    state: Literal["active", "disabled", "suspended_by_partner", "paused_after_run_out"] = "active"
    if not setting.enabled:
        state = "disabled"
    elif setting.suspended_by_partner:
        state = "suspended_by_partner"
    elif setting.paused_by_depletion or _ran_out(account.burn, now=now):
        state = "paused_after_run_out"
    next_at = None
    if state == "active":
        # The plan refuses again where the scheduler would (a crossing the cap refused, until the next month), so
        # its first reload is the next one.
        plan = auto_reload.planned_reloads(
            account.burn, setting=setting.setting, now=now, until=domain.FAR_FUTURE, reloaded_this_month=reloaded
        )
        next_at = next((p.at for p, _ in plan if isinstance(p, auto_reload.PlannedReload)), None)
    reason = setting.last_failure_reason
    return AutoReloadRead(
        account_id=account.id,
        threshold_days=setting.threshold_s // SECONDS_PER_DAY,
        amount=setting.amount,
        monthly_cap=setting.monthly_cap,
        enabled=setting.enabled,
        state=state,
        suspended_by_partner=setting.suspended_by_partner,
        reloaded_this_month=reloaded,
        last_reload=last_reload,
        last_failure_at=setting.last_failure_at,
        last_failure_reason=reason if reason in ("monthly_cap_reached", "suspended_by_partner") else None,
        next_reload_at=next_at,
        set_at=setting.set_at,
    )


async def _announce_auto_reload(conn: asyncpg.Connection, account_id: uuid.UUID, *, now: datetime) -> None:
    """`AutoReloadChanged`: the setting as it is now, for read models elsewhere (a forecast)."""
    setting = await repository.get_auto_reload(conn, account_id)
    await add_to_outbox(
        conn,
        AutoReloadChanged(
            account_id=account_id,
            enabled=setting is not None and setting.enabled,
            suspended_by_partner=setting is not None and setting.suspended_by_partner,
            threshold_s=None if setting is None else setting.threshold_s,
            amount=None if setting is None else setting.amount,
            monthly_cap=None if setting is None else setting.monthly_cap,
            changed_at=now,
        ),
    )


def _ran_out(burn: domain.Burn, *, now: datetime) -> bool:
    """Depleted, or its run-out passed (a read does not wait for the scheduler to announce it)."""
    depletes_at = burn.depletes_at()
    return burn.depleted or (depletes_at is not None and depletes_at <= now)


def _order_read(order: repository.ReloadOrder) -> ReloadOrderRead:
    return ReloadOrderRead(
        id=order.id,
        account_id=order.account_id,
        partner=order.partner,
        amount=order.amount,
        ordered_at=order.ordered_at,
        crossing=order.crossing,
        ledger_entry_id=order.ledger_entry_id,
    )


async def list_reload_orders(
    pool: asyncpg.Pool,
    *,
    partner: str | None,
    account_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> Page[ReloadOrderRead]:
    """A partner's own orders (`partner` is its subject), or, for an operator, everyone's (`partner` None)."""
    request = ORDER_PAGES.request(cursor, limit)
    after = None
    if request.after is not None:
        ordered_at, order_id = request.after
        assert isinstance(ordered_at, datetime)
        assert isinstance(order_id, uuid.UUID)
        after = (ordered_at, order_id)
    orders = await repository.list_reload_orders(
        pool, partner=partner, account_id=account_id, after=after, limit=request.fetch
    )
    page = ORDER_PAGES.page(orders, request, key=lambda o: (o.ordered_at, o.id))
    return Page[ReloadOrderRead](items=[_order_read(o) for o in page.items], next_cursor=page.next_cursor)


# --- Burn rates -----------------------------------------------------------------------------------------


async def apply_rental_change(
    conn: asyncpg.Connection,
    *,
    account_id: uuid.UUID,
    contract_id: uuid.UUID,
    burn_rate_per_day: int,
    scheduled_rates: Sequence[domain.RateStep] = (),
    version: int,
    changed_at: datetime,
    ladder_s: Sequence[int],
    now: datetime,
    active: bool = True,
) -> None:
    """Keep the contract's rate and its scheduled steps if this version is newer; the account burns along the sum
    over its contracts.

    Runs inside the inbox transaction. The new burn counts from when the contract changed (the event's
    `changed_at`), but never before the account's last settlement (what is settled stays settled) nor after now
    (a change is not charged ahead of the wallet's own clock).
    """
    # A negative rate or an unknown account is a defect upstream, not a refusal: the message fails (and ends in
    # the dead-letter queue) rather than being applied.
    if burn_rate_per_day < 0 or any(step.rate_per_day < 0 for step in scheduled_rates):
        raise ValueError(f"contract {contract_id} reports a negative burn rate")
    account = await repository.lock_account(conn, account_id)
    if account is None:
        raise LookupError(f"RentalChanged names account {account_id}, which the wallet does not know")
    applied = await repository.upsert_contract_rate_if_newer(
        conn,
        contract_id=contract_id,
        account_id=account_id,
        burn_rate_per_day=burn_rate_per_day,
        version=version,
        applied_at=now,
        changed_at=changed_at,
        scheduled_rates=scheduled_rates,
        active=active,
    )
    if not applied:
        log.info("wallet.rate.stale_ignored", contract_id=str(contract_id), version=version)
        return
    # (An account on a test clock that is advancing may be settled past its clock's time: never before that.)
    at = max(min(now, changed_at), account.burn.settled_at)
    contracts = await repository.contract_rates_of_account(conn, account_id)
    rates = domain.new_rates(account.burn, contracts, at=at)
    if rates is not None:
        rate, schedule = rates
        await _change_rate(conn, account, rate_per_day=rate, schedule=schedule, at=at, ladder_s=ladder_s)
        log.info(
            "wallet.rate.changed",
            account_id=str(account_id),
            burn_rate_per_day=rate,
            scheduled=len(schedule),
            contract_id=str(contract_id),
        )


async def _change_rate(
    conn: asyncpg.Connection,
    account: Account,
    *,
    rate_per_day: int,
    schedule: Sequence[domain.RateStep],
    at: datetime,
    ladder_s: Sequence[int],
) -> None:
    """Settle at the old rates up to `at`, burn along the new ones from there, and announce the new runway."""
    account = await _catch_up_run_out(conn, account, now=at)
    burn, usage = account.burn.change_rate(rate_per_day=rate_per_day, schedule=schedule, at=at)
    settled = _usage_entry(account_id=account.id, before=account.burn, usage=usage, at=burn.settled_at)
    await _publish_runway(conn, account=account, burn=burn, at=at, ladder_s=ladder_s, along=_ledger(settled))


# --- The scheduler's use cases: each handles one due account, in its own transaction --------------------


class AccountWorkFailed(Exception):
    """The scheduler's work on one account failed for a reason of that account's own (not the database being
    away): the scheduler holds that account back for a while and goes on with the others."""

    def __init__(self, account_id: uuid.UUID) -> None:
        super().__init__(f"scheduled work on account {account_id} failed")
        self.account_id = account_id


class _DueAccount(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


DueT = TypeVar("DueT", bound=_DueAccount)


async def _work_on_next_due(
    pool: asyncpg.Pool,
    lock_next: Callable[[asyncpg.Connection], Awaitable[DueT | None]],
    work: Callable[[asyncpg.Connection, DueT], Awaitable[object]],
) -> uuid.UUID | None:
    """One transaction of scheduled work on the next due account `lock_next` claims: its id, or None when none is
    due. A failure once an account is claimed, the commit included (the ledger's balance check is a deferred
    constraint), is that account's AccountWorkFailed, unless the database is away: every account would then fail
    alike, so the whole round stops."""
    due: DueT | None = None
    try:
        async with transaction(pool) as conn:
            due = await lock_next(conn)
            if due is not None:
                await work(conn, due)
    except Exception as exc:
        if due is None or is_database_away(exc):
            raise
        raise AccountWorkFailed(due.id) from exc
    return None if due is None else due.id


async def deplete_next_due_account(
    pool: asyncpg.Pool, *, now: datetime, held_back: Collection[uuid.UUID] = (), clock_id: uuid.UUID | None = None
) -> uuid.UUID | None:
    """Announce one run-out that is due, settling the balance to exactly zero. The account, or None when none
    is due (accounts in `held_back` are passed over)."""

    async def deplete(conn: asyncpg.Connection, account: Account) -> None:
        await _catch_up_run_out(conn, account, now=now)

    return await _work_on_next_due(
        pool,
        lambda conn: repository.lock_next_due_depletion(conn, now=now, held_back=held_back, clock_id=clock_id),
        deplete,
    )


async def settle_next_unsettled_account(
    pool: asyncpg.Pool,
    *,
    now: datetime,
    every: timedelta,
    held_back: Collection[uuid.UUID] = (),
    clock_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Settle the usage of one account that burns and was last settled `every` ago or longer."""

    async def settle(conn: asyncpg.Connection, account: Account) -> None:
        account = await _catch_up_run_out(conn, account, now=now)
        burn, usage = account.burn.settle(now)
        settled = _usage_entry(account_id=account.id, before=account.burn, usage=usage, at=now)
        await send_writes(conn, [*_ledger(settled), _stored(replace(account, burn=burn))])

    return await _work_on_next_due(
        pool,
        lambda conn: repository.lock_next_unsettled_account(
            conn, settled_by=now - every, held_back=held_back, clock_id=clock_id
        ),
        settle,
    )


async def warn_next_low_balance(
    pool: asyncpg.Pool,
    *,
    now: datetime,
    thresholds_s: Sequence[int],
    held_back: Collection[uuid.UUID] = (),
    clock_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Evaluate one account whose low-balance check is due; announce `BalanceLow` if a threshold was reached. The
    ladder is the account's own, else `thresholds_s` (the deployment's): the same one `RunwayChanged` carries."""

    async def warn(conn: asyncpg.Connection, due: repository.LowBalanceCheckDue) -> None:
        ladder = due.thresholds_s if due.thresholds_s is not None else thresholds_s
        check = domain.check_low_balance(
            thresholds_s=ladder, depletes_at=due.depletes_at, now=now, warned_threshold_s=due.warned_threshold_s
        )
        if check.warn_threshold_s is not None and due.depletes_at is not None:
            await _announce_low_balance(
                conn, due.id, depletes_at=due.depletes_at, threshold_s=check.warn_threshold_s, now=now
            )
        await repository.update_low_balance_state(
            conn, account_id=due.id, warned_threshold_s=check.warned_threshold_s, low_check_at=check.next_check_at
        )

    return await _work_on_next_due(
        pool,
        lambda conn: repository.lock_next_due_low_balance_check(conn, now=now, held_back=held_back, clock_id=clock_id),
        warn,
    )


async def _announce_low_balance(
    conn: asyncpg.Connection, account_id: uuid.UUID, *, depletes_at: datetime, threshold_s: int, now: datetime
) -> None:
    time_left_s = max(0, int((depletes_at - now).total_seconds()))
    await add_to_outbox(
        conn,
        BalanceLow(account_id=account_id, time_left_s=time_left_s, threshold_s=threshold_s, depletes_at=depletes_at),
    )
    log.info("wallet.balance.low", account_id=str(account_id), threshold_s=threshold_s)


async def next_scheduled_instant(
    pool: asyncpg.Pool, *, every: timedelta, held_back: Collection[uuid.UUID] = (), clock_id: uuid.UUID | None = None
) -> datetime | None:
    """The earliest instant with scheduled work for the live accounts (`clock_id` None) or one test clock's."""
    instants = [
        await repository.next_scheduled_instant(pool, daily=every, held_back=held_back, clock_id=clock_id),
        await repository.next_auto_reload_instant(pool, held_back=held_back, clock_id=clock_id),
    ]
    return min((i for i in instants if i is not None), default=None)


async def auto_reload_next_due_account(
    pool: asyncpg.Pool,
    *,
    now: datetime,
    ladder_s: Sequence[int],
    held_back: Collection[uuid.UUID] = (),
    clock_id: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """Handle one Auto-iSC crossing that is due: reload, or refuse with `AutoReloadFailed`. The account, or None."""

    async def lock_next(conn: asyncpg.Connection) -> _Claimed | None:
        found = await repository.lock_next_due_auto_reload(conn, now=now, held_back=held_back, clock_id=clock_id)
        return None if found is None else _Claimed(found)

    async def work(conn: asyncpg.Connection, claimed: _Claimed) -> None:
        account, setting = claimed.due
        await _handle_crossing(conn, account, setting, ladder_s=ladder_s, now=now)

    return await _work_on_next_due(pool, lock_next, work)


@dataclass(frozen=True)
class _Claimed:
    due: tuple[Account, repository.AutoReload]

    @property
    def id(self) -> uuid.UUID:
        return self.due[0].id


async def _handle_crossing(
    conn: asyncpg.Connection,
    account: Account,
    setting: repository.AutoReload,
    *,
    ladder_s: Sequence[int],
    now: datetime,
) -> None:
    """The time left fell to the threshold (`auto_reload.due_at`, over the run-out the burn-down computes): this
    crossing is claimed once by its number, then the reload is refused (cap, partner) or ordered and credited."""
    account = await _catch_up_run_out(conn, account, now=now)
    depletes_at = account.burn.depletes_at()
    due = auto_reload.due_at(depletes_at=depletes_at, threshold_s=setting.threshold_s)
    if account.burn.depleted or due is None or due > now:
        return
    crossing = setting.crossings + 1
    time_left_s = max(0, int((depletes_at - now).total_seconds())) if depletes_at else 0
    reloaded = await repository.reloaded_since(conn, account_id=account.id, since=auto_reload.month_start(now))
    reason = auto_reload.refusal(
        setting=setting.setting, reloaded_this_month=reloaded, suspended_by_partner=setting.suspended_by_partner
    )
    order_id = None if reason is not None else uuid.uuid4()
    claimed = await repository.record_crossing(
        conn,
        account_id=account.id,
        crossing=crossing,
        at=now,
        outcome="failed" if reason is not None else "reloaded",
        reason=reason,
        order_id=order_id,
        handled_depletes_at=depletes_at,
        retry_at=None if reason is None else auto_reload.retried_at(reason, at=now),
    )
    if not claimed:
        log.warning("wallet.auto_reload.crossing_already_handled", account_id=str(account.id), crossing=crossing)
        return
    if reason is not None:
        await add_to_outbox(
            conn,
            AutoReloadFailed(
                account_id=account.id,
                reason=reason,
                amount=setting.amount,
                threshold_s=setting.threshold_s,
                time_left_s=time_left_s,
                crossing=crossing,
                monthly_cap=setting.monthly_cap,
                reloaded_this_month=reloaded,
            ),
        )
        log.warning("wallet.auto_reload.failed", account_id=str(account.id), reason=reason, crossing=crossing)
        return
    assert order_id is not None
    partner = await repository.partner_of_account(conn, account.id) or "unknown"
    burn, usage = account.burn.load(amount=setting.amount, at=now)
    posting = domain.auto_reload_posting(setting.amount)
    note = f"Auto-iSC reload, order {order_id}"
    after, entry_id, writes = _booked(account, burn=burn, usage=usage, posting=posting, at=now, note=note)
    # The entry first: the order names it.
    await send_writes(conn, writes)
    await repository.insert_reload_order(
        conn,
        order_id=order_id,
        account_id=account.id,
        partner=partner,
        amount=setting.amount,
        ordered_at=now,
        crossing=crossing,
        ledger_entry_id=entry_id,
    )
    events: list[Event] = [
        _runway_event(after, at=now, ladder_s=ladder_s),
        AutoReloadTriggered(
            account_id=account.id,
            order_id=order_id,
            partner=partner,
            amount=setting.amount,
            threshold_s=setting.threshold_s,
            time_left_s=time_left_s,
            crossing=crossing,
            depletes_at=burn.depletes_at(),
        ),
        CreditsLoaded(
            account_id=account.id,
            amount=setting.amount,
            balance_after=burn.balance,
            source="auto_reload",
            order_id=order_id,
        ),
    ]
    await add_all_to_outbox(conn, events)
    log.info("wallet.auto_reload.reloaded", account_id=str(account.id), order_id=str(order_id), crossing=crossing)


# --- Shared steps of the use cases above ------------------------------------------------------------------


async def _catch_up_run_out(conn: asyncpg.Connection, account: Account, *, now: datetime) -> Account:
    """If the run-out instant has passed, settle to zero at that instant and announce it (once)."""
    due = account.burn.depletes_at()
    if due is None or due > now:
        return account
    burn, usage = account.burn.deplete()
    depleted = replace(account, burn=burn, version=account.version + 1, low_check_at=None)
    announced: list[Event] = [
        BalanceDepleted(account_id=account.id, at=due, version=depleted.version),
        _runway_event(depleted, at=due, ladder_s=()),
    ]
    # Auto-iSC waits for the customer after a run-out (a reload never restarts a depleted, suspended contract).
    await repository.pause_auto_reload_on_depletion(conn, account.id)
    await send_writes(
        conn,
        [
            *_ledger(_usage_entry(account_id=account.id, before=account.burn, usage=usage, at=due)),
            # The run-down is over: the next one warns at every threshold again.
            _stored(depleted, clear_warning=True),
            outbox_write(announced),
        ],
    )
    log.info("wallet.balance.depleted", account_id=str(account.id), at=due.isoformat())
    return depleted


def _booked(
    account: Account,
    *,
    burn: domain.Burn,
    usage: int,
    posting: domain.Posting,
    at: datetime,
    key_id: uuid.UUID | None = None,
    note: str | None = None,
) -> tuple[Account, uuid.UUID, list[Write]]:
    """A money movement into the ledger (after the usage settled on the way) and the new runway stored: the
    account as it is then, the entry's id, and the writes, which the caller sends with the rest of its commit
    (`Claim.answer(..., along=...)`), one round trip for all. The caller announces the runway (`_runway_event`)."""
    settled = _usage_entry(account_id=account.id, before=account.burn, usage=usage, at=burn.settled_at)
    entry = _entry(account_id=account.id, posting=posting, balance_after=burn.balance, at=at, key_id=key_id, note=note)
    after, stored = _runway_saved(account, burn=burn, at=at)
    return after, entry.entry_id, [*_ledger([*settled, entry]), stored]


def _restored(before: Account, after: Account) -> list[Event]:
    """`BalanceRestored` when credit came back to a depleted account."""
    if not before.burn.depleted or after.burn.depleted:
        return []
    burn = after.burn
    return [
        BalanceRestored(
            account_id=after.id, balance=burn.balance, depletes_at=burn.depletes_at(), version=after.version
        )
    ]


async def _publish_runway(
    conn: asyncpg.Connection,
    *,
    account: Account,
    burn: domain.Burn,
    at: datetime,
    ladder_s: Sequence[int],
    along: Sequence[Write] = (),
) -> Account:
    """Store the new burn state with the next version and announce it, in one statement with the writes
    `along` (the usage settled on the way); warnings are re-checked at once."""
    account, stored = _runway_saved(account, burn=burn, at=at)
    await send_writes(conn, [*along, stored, outbox_write([_runway_event(account, at=at, ladder_s=ladder_s)])])
    return account


def _runway_saved(account: Account, *, burn: domain.Burn, at: datetime) -> tuple[Account, Write]:
    """The new burn state with the next version, and its write; the caller announces it (`_runway_event`).

    Warnings are re-checked at once by the scheduler while the account burns. When nothing burns no warning
    can be due, and the check's whole outcome is known here (no threshold warned, nothing to check until it
    burns again): it is stored with the change instead of costing the scheduler a transaction.
    """
    burns = burn.depletes_at() is not None
    changed = replace(account, burn=burn, version=account.version + 1, low_check_at=at if burns else None)
    return changed, _stored(changed, clear_warning=not burns)


def _runway_event(account: Account, *, at: datetime, ladder_s: Sequence[int]) -> RunwayChanged:
    """The runway as it is at `at`: the rate burning then, the run-out over every scheduled step, and the warning
    ladder as instants (the account's own ladder, else `ladder_s`, the deployment's)."""
    burn = account.burn
    depletes_at = burn.depletes_at()
    return RunwayChanged(
        account_id=account.id,
        balance=burn.balance,
        burn_rate_per_day=burn.rate_at(at),
        depletes_at=depletes_at,
        version=account.version,
        at=at,
        warnings_at=domain.warning_instants(depletes_at=depletes_at, thresholds_s=account.ladder(ladder_s)),
        burn=burn_state(burn),
    )


def _stored(account: Account, *, clear_warning: bool = False) -> Write:
    """The write of the account's burn state, version and next low-balance check as they are now;
    `clear_warning` forgets the last threshold warned."""
    burn = account.burn
    return repository.account_burn_write(
        account_id=account.id,
        balance=burn.balance,
        burn_rate_per_day=burn.rate_per_day,
        settled_at=burn.settled_at,
        segment_start=burn.segment_start,
        segment_used=burn.segment_used,
        depleted=burn.depleted,
        depletes_at=burn.depletes_at(),
        version=account.version,
        low_check_at=account.low_check_at,
        rate_schedule=burn.schedule,
        clear_warning=clear_warning,
    )


def _usage_entry(
    *, account_id: uuid.UUID, before: domain.Burn, usage: int, at: datetime
) -> list[repository.NewLedgerEntry]:
    """The ledger entry of the usage settled up to `at` (none if nothing was used)."""
    if usage == 0:
        return []
    return [
        _entry(
            account_id=account_id,
            posting=domain.usage_posting(usage),
            balance_after=before.balance - usage,
            at=at,
            period=(before.settled_at, at),
        )
    ]


def _entry(
    *,
    account_id: uuid.UUID,
    posting: domain.Posting,
    balance_after: int,
    at: datetime,
    key_id: uuid.UUID | None = None,
    period: tuple[datetime, datetime] | None = None,
    note: str | None = None,
) -> repository.NewLedgerEntry:
    return repository.NewLedgerEntry(
        entry_id=uuid.uuid4(),
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


def _ledger(entries: Sequence[repository.NewLedgerEntry]) -> list[Write]:
    """The write of these entries, in order (none for none)."""
    return [repository.ledger_entries_write(entries)] if entries else []
