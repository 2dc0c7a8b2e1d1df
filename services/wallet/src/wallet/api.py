"""HTTP endpoints of the wallet: thin, they check who asks and call one use case."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from shared.auth import AnyRolePrincipal, OperatorPrincipal, PartnerPrincipal, Principal, Role, require_roles
from shared.errors import problem_responses
from shared.idempotency import OptionalIdempotencyKey, RequiredIdempotencyKey
from shared.pagination import Cursor, Page
from shared.runtime import DbPool, Now, clock_now, get_runtime
from wallet import clocks, service
from wallet.config import Settings
from wallet.schemas import (
    AccountCreate,
    AccountPartnerRead,
    AccountRead,
    ActivationKeyRead,
    AdjustmentCreate,
    AdjustmentRead,
    AutoReloadRead,
    AutoReloadSuspensionWrite,
    AutoReloadWrite,
    KeyBatchCreate,
    KeyBatchRead,
    LedgerEntryRead,
    PartnerAssignmentWrite,
    RedemptionCreate,
    RedemptionRead,
    ReloadOrderRead,
    WarningThresholdsWrite,
)

router = APIRouter()


async def wallet_settings(request: Request) -> Settings:
    settings = request.app.state.settings
    if not isinstance(settings, Settings):
        raise TypeError("the wallet runs with the wallet's settings")
    return settings


WalletSettings = Annotated[Settings, Depends(wallet_settings)]


async def account_now(account_id: UUID, request: Request) -> datetime:
    """The instant the account in the path lives at: its test clock's time, or the wallet's clock's. Reads the
    pool and the clock off the request (each declared dependency costs a request more than reading them)."""
    return await clocks.account_now(get_runtime(request).pool, account_id, now=clock_now(request))


AccountNow = Annotated[datetime, Depends(account_now)]

# Each route declares the refusals its use case gives; 401, 403, 413, 422 and the Idempotency-Key's 400 are
# declared for every operation by shared.openapi.
_NO_ACCOUNT = (404, "`not_found`: no such account (or not yours)")
# Any route on an account that lives on a test clock, while the clock advances (`wallet.clocks.account_now`).
_CLOCK_ADVANCING = (409, "`test_clock_advancing`: the account's test clock is advancing; retry once it is ready")


@router.post(
    "/accounts",
    operation_id="openAccount",
    status_code=status.HTTP_201_CREATED,
    tags=["accounts"],
    responses=problem_responses((422, "`unknown_test_clock`: no test clock of yours has this id")),
)
async def open_account(
    body: AccountCreate,
    principal: PartnerPrincipal,
    pool: DbPool,
    idempotency_key: OptionalIdempotencyKey,
    settings: WalletSettings,
    now: Now,
) -> AccountRead:
    return await service.open_account(
        pool,
        principal=principal,
        name=body.name,
        idempotency_key=idempotency_key,
        ladder_s=settings.low_balance_thresholds_s,
        now=now,
        test_clock_id=body.test_clock_id,
    )


@router.get(
    "/accounts/{account_id}",
    operation_id="getAccount",
    tags=["accounts"],
    responses=problem_responses(_NO_ACCOUNT, _CLOCK_ADVANCING),
)
async def read_account(
    account_id: UUID, principal: AnyRolePrincipal, pool: DbPool, settings: WalletSettings, now: AccountNow
) -> AccountRead:
    return await service.read_account(
        pool, principal=principal, account_id=account_id, ladder_s=settings.low_balance_thresholds_s, now=now
    )


@router.put(
    "/accounts/{account_id}/assigned-partner",
    operation_id="assignPartner",
    tags=["accounts"],
    responses=problem_responses(_NO_ACCOUNT),
)
async def assign_partner(
    account_id: UUID, body: PartnerAssignmentWrite, principal: OperatorPrincipal, pool: DbPool
) -> AccountPartnerRead:
    """Assign the account to a partner (its token's subject): besides the partner that opened it, this partner sees
    and acts on the account, its contracts, keys, orders and domains, in every service, and fulfils its Auto-iSC
    reloads from now on."""
    return await service.assign_partner(pool, principal=principal, account_id=account_id, partner=body.partner)


@router.put(
    "/accounts/{account_id}/warning-thresholds",
    operation_id="setWarningThresholds",
    tags=["accounts"],
    responses=problem_responses(
        _NO_ACCOUNT,
        _CLOCK_ADVANCING,
        (422, "`warning_thresholds_out_of_bounds`: a threshold outside the deployment's bounds, or too many"),
    ),
)
async def set_warning_thresholds(
    account_id: UUID,
    body: WarningThresholdsWrite,
    principal: AnyRolePrincipal,
    pool: DbPool,
    settings: WalletSettings,
    now: AccountNow,
) -> AccountRead:
    """The account's own warning ladder (seconds of time left); `null` returns to the deployment's ladder."""
    return await service.set_warning_thresholds(
        pool,
        principal=principal,
        account_id=account_id,
        thresholds_s=body.thresholds_s,
        bounds=service.LadderBounds.of(settings),
        ladder_s=settings.low_balance_thresholds_s,
        now=now,
    )


@router.post(
    "/accounts/{account_id}/redemptions",
    operation_id="redeemActivationKey",
    status_code=status.HTTP_201_CREATED,
    tags=["accounts"],
    responses=problem_responses(
        _NO_ACCOUNT,
        (409, f"`key_already_redeemed`, `key_revoked`; {_CLOCK_ADVANCING[1]}"),
        (422, "`code_malformed`, `code_mistyped`, `unknown_key`"),
        (429, "`rate_limited`: too many wrong codes for the account or the client, with `retry_after_s`"),
    ),
)
async def redeem_activation_key(
    account_id: UUID,
    body: RedemptionCreate,
    principal: AnyRolePrincipal,
    pool: DbPool,
    idempotency_key: RequiredIdempotencyKey,
    settings: WalletSettings,
    now: AccountNow,
) -> RedemptionRead:
    return await service.redeem_activation_key(
        pool,
        principal=principal,
        account_id=account_id,
        code=body.code,
        idempotency_key=idempotency_key,
        limits=service.RedemptionLimits.of(settings),
        ladder_s=settings.low_balance_thresholds_s,
        now=now,
    )


@router.post(
    "/accounts/{account_id}/adjustments",
    operation_id="adjustBalance",
    status_code=status.HTTP_201_CREATED,
    tags=["accounts"],
    responses=problem_responses(_NO_ACCOUNT, (409, f"`insufficient_balance`; {_CLOCK_ADVANCING[1]}")),
)
async def adjust_balance(
    account_id: UUID,
    body: AdjustmentCreate,
    principal: OperatorPrincipal,
    pool: DbPool,
    idempotency_key: RequiredIdempotencyKey,
    settings: WalletSettings,
    now: AccountNow,
) -> AdjustmentRead:
    return await service.adjust_balance(
        pool,
        principal=principal,
        account_id=account_id,
        adjustment=body,
        idempotency_key=idempotency_key,
        ladder_s=settings.low_balance_thresholds_s,
        now=now,
    )


@router.get(
    "/accounts/{account_id}/ledger",
    operation_id="listLedgerEntries",
    tags=["accounts"],
    responses=problem_responses((400, "`invalid_cursor`"), _NO_ACCOUNT),
)
async def read_ledger(
    account_id: UUID,
    principal: AnyRolePrincipal,
    pool: DbPool,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[LedgerEntryRead]:
    return await service.list_ledger(pool, principal=principal, account_id=account_id, cursor=cursor, limit=limit)


@router.post(
    "/activation-keys",
    operation_id="issueKeyBatch",
    status_code=status.HTTP_201_CREATED,
    tags=["activation keys"],
    responses=problem_responses(
        (409, "`codes_already_shown`: a retry more than 24 hours after the batch (its codes are no longer kept)")
    ),
)
async def issue_key_batch(
    body: KeyBatchCreate,
    principal: PartnerPrincipal,
    pool: DbPool,
    idempotency_key: RequiredIdempotencyKey,
    settings: WalletSettings,
    now: Now,
) -> KeyBatchRead:
    """Issue a batch of activation keys; the answer shows their codes. A retry by the same partner with the same
    Idempotency-Key and body within 24 hours gets the same answer (the codes are kept sealed, AES-GCM, for that
    long); later it is 409 `codes_already_shown` with the batch's id and key ids."""
    return await service.issue_key_batch(
        pool,
        principal=principal,
        amount=body.amount,
        count=body.count,
        idempotency_key=idempotency_key,
        codes_key=settings.sealing_key,
        now=now,
    )


@router.post(
    "/activation-keys/{key_id}/revocation",
    operation_id="revokeActivationKey",
    tags=["activation keys"],
    responses=problem_responses((404, "`not_found`: no such key (or not yours)"), (409, "`key_already_redeemed`")),
)
async def revoke_activation_key(
    key_id: UUID, principal: PartnerPrincipal, pool: DbPool, idempotency_key: RequiredIdempotencyKey, now: Now
) -> ActivationKeyRead:
    return await service.revoke_activation_key(
        pool, principal=principal, key_id=key_id, idempotency_key=idempotency_key, now=now
    )


# --- Auto-iSC ----------------------------------------------------------------------------------------------------

_NO_AUTO_RELOAD = (404, "`not_found`: no such account (or not yours), or Auto-iSC is not set on it")
# Only a partner has a sales channel of its own ("me"); an operator reads every order with `listReloadOrders`.
OnlyPartnerPrincipal = Annotated[Principal, Depends(require_roles(Role.PARTNER))]


@router.put(
    "/accounts/{account_id}/auto-reload",
    operation_id="setAutoReload",
    tags=["auto-iSC"],
    responses=problem_responses(
        _NO_ACCOUNT,
        (
            409,
            "`auto_reload_needs_active_contract`: no rental contract of the account is active; "
            "`auto_reload_needs_manual_loads`: less than 30 days' worth at the current rate loaded by hand; "
            f"{_CLOCK_ADVANCING[1]}",
        ),
    ),
)
async def set_auto_reload(
    account_id: UUID, body: AutoReloadWrite, principal: AnyRolePrincipal, pool: DbPool, now: AccountNow
) -> AutoReloadRead:
    """Auto-iSC: when the paid time left falls to `threshold_days`, `amount` is loaded at once under a standing order
    the account's partner fulfils (again while the time left is still under the threshold), at most `monthly_cap`
    per calendar month (UTC)."""
    return await service.set_auto_reload(pool, principal=principal, account_id=account_id, body=body, now=now)


@router.get(
    "/accounts/{account_id}/auto-reload",
    operation_id="getAutoReload",
    tags=["auto-iSC"],
    responses=problem_responses(_NO_ACCOUNT, _CLOCK_ADVANCING),
)
async def read_auto_reload(
    account_id: UUID, principal: AnyRolePrincipal, pool: DbPool, now: AccountNow
) -> AutoReloadRead:
    """Its state (`not_set` until it is set), the last reload and the next expected one (at the current rates)."""
    return await service.read_auto_reload(pool, principal=principal, account_id=account_id, now=now)


@router.delete(
    "/accounts/{account_id}/auto-reload",
    operation_id="endAutoReload",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auto-iSC"],
    responses=problem_responses(_NO_ACCOUNT, _CLOCK_ADVANCING),
)
async def end_auto_reload(account_id: UUID, principal: AnyRolePrincipal, pool: DbPool, now: AccountNow) -> Response:
    await service.end_auto_reload(pool, principal=principal, account_id=account_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/accounts/{account_id}/auto-reload/suspension",
    operation_id="setAutoReloadSuspension",
    tags=["auto-iSC"],
    responses=problem_responses(_NO_AUTO_RELOAD, _CLOCK_ADVANCING),
)
async def suspend_auto_reload(
    account_id: UUID, body: AutoReloadSuspensionWrite, principal: PartnerPrincipal, pool: DbPool, now: AccountNow
) -> AutoReloadRead:
    """The partner stops the account's reloads (`suspended: true`) or allows them again; while suspended, a due
    reload fails with `AutoReloadFailed` (`suspended_by_partner`) and the customer is warned."""
    return await service.suspend_auto_reload(
        pool, principal=principal, account_id=account_id, suspended=body.suspended, now=now
    )


@router.get(
    "/partners/me/orders",
    operation_id="listMyReloadOrders",
    tags=["auto-iSC"],
    responses=problem_responses((400, "`invalid_cursor`")),
)
async def list_my_reload_orders(
    principal: OnlyPartnerPrincipal,
    pool: DbPool,
    account_id: UUID | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ReloadOrderRead]:
    """The Auto-iSC reloads this partner fulfils and invoices, newest first."""
    return await service.list_reload_orders(
        pool, partner=principal.subject, account_id=account_id, cursor=cursor, limit=limit
    )


@router.get(
    "/reload-orders",
    operation_id="listReloadOrders",
    tags=["auto-iSC"],
    dependencies=[Depends(require_roles(Role.OPERATOR))],
    responses=problem_responses((400, "`invalid_cursor`")),
)
async def list_reload_orders(
    pool: DbPool,
    partner: Annotated[str | None, Query(max_length=200)] = None,
    account_id: UUID | None = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[ReloadOrderRead]:
    """Every partner's Auto-iSC reload orders (an operator), newest first."""
    return await service.list_reload_orders(pool, partner=partner, account_id=account_id, cursor=cursor, limit=limit)
