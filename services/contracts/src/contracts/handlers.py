"""Events contracts consumes, wired as data. Each handler runs inside the inbox transaction.

Every handler is idempotent by itself as well (not only by the inbox): read models are upserts, device
removal is final, funding keeps only the newest (version, rank), wallet history entries carry a natural
key. So the same fact delivered again under another message id changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import asyncpg

from contracts import repository, service
from contracts.domain import Funding, WalletFact
from shared.events.base import Event
from shared.events.provisioning import DeviceProvisioned, DeviceRemoved, DomainCreated
from shared.events.wallet import (
    AccountOpened,
    BalanceDepleted,
    BalanceLow,
    BalanceRestored,
    CreditsLoaded,
    RunwayChanged,
)
from shared.messaging.consumer import Handler
from shared.messaging.envelope import Envelope
from shared.money import format_isc


async def on_account_opened(conn: asyncpg.Connection, event: AccountOpened, envelope: Envelope) -> None:
    await repository.upsert_known_account(conn, account_id=event.account_id, name=event.name)


async def on_domain_created(conn: asyncpg.Connection, event: DomainCreated, envelope: Envelope) -> None:
    await repository.upsert_known_domain(conn, domain_id=event.domain_id, account_id=event.account_id, name=event.name)


async def on_device_provisioned(conn: asyncpg.Connection, event: DeviceProvisioned, envelope: Envelope) -> None:
    await repository.upsert_provisioned_device(
        conn,
        device_id=event.device_id,
        domain_id=event.domain_id,
        account_id=event.account_id,
        hwid=event.hwid,
        product=event.product,
        type=event.type,
    )


async def on_device_removed(conn: asyncpg.Connection, event: DeviceRemoved, envelope: Envelope) -> None:
    now = datetime.now(UTC)
    await repository.mark_device_removed(
        conn,
        device_id=event.device_id,
        domain_id=event.domain_id,
        account_id=event.account_id,
        hwid=event.hwid,
        product=event.product,
        type=event.type,
        now=now,
    )
    await service.end_rental_of_removed_device(conn, device_id=event.device_id, now=now)


async def on_runway_changed(conn: asyncpg.Connection, event: RunwayChanged, envelope: Envelope) -> None:
    funding = Funding(
        balance=event.balance, depletes_at=event.depletes_at, version=event.version, rank=WalletFact.RUNWAY_CHANGED
    )
    await service.apply_funding(conn, account_id=event.account_id, funding=funding, now=datetime.now(UTC))


async def on_balance_depleted(conn: asyncpg.Connection, event: BalanceDepleted, envelope: Envelope) -> None:
    await service.record_account_event(
        conn,
        account_id=event.account_id,
        at=event.at,
        type="BalanceDepleted",
        summary="the balance is depleted: rentals stop",
        data=event.model_dump(mode="json"),
        source_key=f"balance_depleted:{event.account_id}:{event.version}",
    )
    funding = Funding(balance=0, depletes_at=event.at, version=event.version, rank=WalletFact.BALANCE_DEPLETED)
    await service.apply_funding(conn, account_id=event.account_id, funding=funding, now=datetime.now(UTC))


async def on_balance_restored(conn: asyncpg.Connection, event: BalanceRestored, envelope: Envelope) -> None:
    await service.record_account_event(
        conn,
        account_id=event.account_id,
        at=envelope.time,
        type="BalanceRestored",
        summary=f"the balance is restored to {format_isc(event.balance)} iSC",
        data=event.model_dump(mode="json"),
        source_key=f"balance_restored:{event.account_id}:{event.version}",
    )
    funding = Funding(
        balance=event.balance, depletes_at=event.depletes_at, version=event.version, rank=WalletFact.BALANCE_RESTORED
    )
    await service.apply_funding(conn, account_id=event.account_id, funding=funding, now=datetime.now(UTC))


async def on_credits_loaded(conn: asyncpg.Connection, event: CreditsLoaded, envelope: Envelope) -> None:
    await service.record_account_event(
        conn,
        account_id=event.account_id,
        at=envelope.time,
        type="CreditsLoaded",
        summary=f"{format_isc(event.amount)} iSC loaded; balance {format_isc(event.balance_after)} iSC",
        data=event.model_dump(mode="json"),
        source_key=f"credits_loaded:{event.key_id}",
    )


async def on_balance_low(conn: asyncpg.Connection, event: BalanceLow, envelope: Envelope) -> None:
    days_left = event.time_left_s // 86_400
    await service.record_account_event(
        conn,
        account_id=event.account_id,
        at=envelope.time,
        type="BalanceLow",
        summary=f"the balance runs out in about {days_left} day(s), at {event.depletes_at.isoformat()}",
        data=event.model_dump(mode="json"),
        source_key=f"balance_low:{event.account_id}:{event.threshold_s}:{event.depletes_at.isoformat()}",
    )


SUBSCRIPTIONS: Mapping[type[Event], Handler] = {
    AccountOpened: on_account_opened,
    DomainCreated: on_domain_created,
    DeviceProvisioned: on_device_provisioned,
    DeviceRemoved: on_device_removed,
    RunwayChanged: on_runway_changed,
    BalanceDepleted: on_balance_depleted,
    BalanceRestored: on_balance_restored,
    CreditsLoaded: on_credits_loaded,
    BalanceLow: on_balance_low,
}
