"""HTTP endpoints of provisioning."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from provisioning import service
from provisioning.schemas import DomainCreate, DomainRead
from shared.auth import AnyRolePrincipal
from shared.runtime import DbPool

router = APIRouter(tags=["domains"])


@router.post("/domains", status_code=status.HTTP_201_CREATED)
async def create_domain(body: DomainCreate, principal: AnyRolePrincipal, pool: DbPool) -> DomainRead:
    return await service.create_domain(pool, principal=principal, account_id=body.account_id, name=body.name)


@router.get("/domains/{domain_id}")
async def read_domain(domain_id: UUID, principal: AnyRolePrincipal, pool: DbPool) -> DomainRead:
    return await service.read_domain(pool, principal=principal, domain_id=domain_id)
