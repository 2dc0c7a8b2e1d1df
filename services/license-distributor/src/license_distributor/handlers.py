"""Events the licence distributor consumes, wired as data."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from license_distributor import repository
from shared.events.base import Event
from shared.events.provisioning import DomainCreated
from shared.messaging.consumer import Handler
from shared.messaging.envelope import Envelope


async def on_domain_created(conn: asyncpg.Connection, event: DomainCreated, envelope: Envelope) -> None:
    await repository.upsert_known_domain(conn, domain_id=event.domain_id, account_id=event.account_id, name=event.name)


SUBSCRIPTIONS: Mapping[type[Event], Handler] = {
    DomainCreated: on_domain_created,
}
