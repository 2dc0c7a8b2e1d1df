"""Events contracts consumes, wired as data."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from contracts import repository
from shared.events.base import Event
from shared.events.provisioning import DomainCreated
from shared.events.wallet import AccountOpened
from shared.messaging.consumer import Handler
from shared.messaging.envelope import Envelope


async def on_account_opened(conn: asyncpg.Connection, event: AccountOpened, envelope: Envelope) -> None:
    await repository.upsert_known_account(conn, account_id=event.account_id, name=event.name)


async def on_domain_created(conn: asyncpg.Connection, event: DomainCreated, envelope: Envelope) -> None:
    await repository.upsert_known_domain(conn, domain_id=event.domain_id, account_id=event.account_id, name=event.name)


SUBSCRIPTIONS: Mapping[type[Event], Handler] = {
    AccountOpened: on_account_opened,
    DomainCreated: on_domain_created,
}
