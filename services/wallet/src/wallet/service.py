"""Wallet use cases: one function, one transaction, its events written to the outbox inside it."""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from shared.db import transaction
from shared.errors import NotFound
from shared.events.wallet import AccountOpened
from shared.messaging.outbox import add_to_outbox
from wallet import repository
from wallet.schemas import AccountRead

log = structlog.get_logger()


async def open_account(pool: asyncpg.Pool, *, name: str, opened_by: str) -> AccountRead:
    account_id = uuid.uuid4()
    async with transaction(pool) as conn:
        await repository.insert_account(conn, account_id=account_id, name=name, opened_by=opened_by)
        await add_to_outbox(conn, AccountOpened(account_id=account_id, name=name))
    log.info("wallet.account.opened", account_id=str(account_id))
    return AccountRead(id=account_id, name=name)


async def read_account(pool: asyncpg.Pool, *, account_id: uuid.UUID) -> AccountRead:
    row = await repository.get_account(pool, account_id)
    if row is None:
        raise NotFound("account not found")
    return AccountRead(id=row["id"], name=row["name"])
