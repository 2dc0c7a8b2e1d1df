"""Events the wallet consumes: `RentalChanged` sets the burn rate a contract draws from its account."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import asyncpg

from shared.events.base import Event
from shared.events.contracts import RentalChanged
from shared.messaging.consumer import Handler
from shared.messaging.envelope import Envelope
from wallet import service


async def on_rental_changed(conn: asyncpg.Connection, event: RentalChanged, envelope: Envelope) -> None:
    # A contract that is not active draws nothing, whatever devices it lists.
    await service.apply_rental_change(
        conn,
        account_id=event.account_id,
        contract_id=event.contract_id,
        burn_rate_per_day=event.burn_rate_per_day if event.active else 0,
        version=event.version,
        changed_at=envelope.time,
        now=datetime.now(UTC),
    )


SUBSCRIPTIONS: Mapping[type[Event], Handler] = {
    RentalChanged: on_rental_changed,
}
