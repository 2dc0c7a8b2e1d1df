"""Provisioning use cases: one function, one transaction, events into the outbox inside it."""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from provisioning import repository
from provisioning.schemas import DomainRead
from shared.auth import Principal, ensure_account_access
from shared.db import transaction
from shared.errors import Conflict, NotFound, NotYetKnown
from shared.events.provisioning import DomainCreated
from shared.messaging.outbox import add_to_outbox

log = structlog.get_logger()


async def create_domain(pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, name: str) -> DomainRead:
    ensure_account_access(principal, account_id)
    domain_id = uuid.uuid4()
    async with transaction(pool) as conn:
        if not await repository.account_is_known(conn, account_id):
            raise NotYetKnown(f"account {account_id} is not known here yet; retry shortly")
        if not await repository.insert_domain(conn, domain_id=domain_id, account_id=account_id, name=name):
            raise Conflict(f"the account already has a domain named {name!r}", code="domain_name_taken")
        await add_to_outbox(conn, DomainCreated(domain_id=domain_id, account_id=account_id, name=name))
    log.info("provisioning.domain.created", domain_id=str(domain_id), account_id=str(account_id))
    return DomainRead(id=domain_id, account_id=account_id, name=name)


async def read_domain(pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID) -> DomainRead:
    row = await repository.get_domain(pool, domain_id)
    if row is None or not principal.can_access_account(row["account_id"]):
        raise NotFound("domain not found")
    return DomainRead(id=row["id"], account_id=row["account_id"], name=row["name"])
