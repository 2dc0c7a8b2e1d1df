"""HTTP endpoints of the wallet: thin, they check who asks and call one use case."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from shared.auth import AnyRolePrincipal, PartnerPrincipal, ensure_account_access
from shared.runtime import DbPool
from wallet import service
from wallet.schemas import AccountCreate, AccountRead

router = APIRouter(tags=["accounts"])


@router.post("/accounts", status_code=status.HTTP_201_CREATED)
async def open_account(body: AccountCreate, principal: PartnerPrincipal, pool: DbPool) -> AccountRead:
    return await service.open_account(pool, name=body.name, opened_by=principal.subject)


@router.get("/accounts/{account_id}")
async def read_account(account_id: UUID, principal: AnyRolePrincipal, pool: DbPool) -> AccountRead:
    ensure_account_access(principal, account_id)
    return await service.read_account(pool, account_id=account_id)
