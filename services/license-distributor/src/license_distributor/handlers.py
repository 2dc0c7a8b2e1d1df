"""Events the licence distributor consumes, wired as data. Each runs inside the inbox transaction.

Every event that changes what a gateway may run rebuilds the bundles of the domains it touches; the
rebuild issues a new seq only where the content changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache

import asyncpg

from license_distributor import repository, service
from license_distributor.config import Settings
from shared.events.base import Event
from shared.events.contracts import RentalChanged
from shared.events.provisioning import DomainCreated, GatewayRegistered, GatewayRemoved
from shared.events.wallet import BalanceDepleted, BalanceRestored, RunwayChanged
from shared.messaging.consumer import Handler
from shared.messaging.envelope import Envelope


@cache
def _issuer() -> str:
    # Handlers get no settings; the issuer is read from the environment once, on the first event.
    return Settings().bundle_issuer


def _now() -> datetime:
    return datetime.now(UTC)


async def on_domain_created(conn: asyncpg.Connection, event: DomainCreated, envelope: Envelope) -> None:
    await repository.upsert_known_domain(conn, domain_id=event.domain_id, account_id=event.account_id, name=event.name)


async def on_gateway_registered(conn: asyncpg.Connection, event: GatewayRegistered, envelope: Envelope) -> None:
    await service.register_gateway(
        conn,
        gateway_id=event.gateway_id,
        domain_id=event.domain_id,
        account_id=event.account_id,
        hwid=event.hwid,
        product=event.product,
        public_key=event.public_key,
        now=_now(),
        issuer=_issuer(),
    )


async def on_gateway_removed(conn: asyncpg.Connection, event: GatewayRemoved, envelope: Envelope) -> None:
    await service.remove_gateway(
        conn,
        gateway_id=event.gateway_id,
        domain_id=event.domain_id,
        account_id=event.account_id,
        hwid=event.hwid,
        product=event.product,
        now=_now(),
    )


async def on_rental_changed(conn: asyncpg.Connection, event: RentalChanged, envelope: Envelope) -> None:
    await service.apply_rental_snapshot(
        conn,
        contract_id=event.contract_id,
        account_id=event.account_id,
        version=event.version,
        active=event.active,
        ends_at=event.ends_at,
        burn_rate_per_day=event.burn_rate_per_day,
        domains=[
            (
                d.domain_id,
                [{"hwid": dev.hwid, "product": dev.product} for dev in d.devices],
                [{"type": lic.type, "count": lic.count} for lic in d.licences],
            )
            for d in event.domains
        ],
        now=_now(),
        issuer=_issuer(),
    )


async def on_runway_changed(conn: asyncpg.Connection, event: RunwayChanged, envelope: Envelope) -> None:
    await service.apply_runway(
        conn,
        account_id=event.account_id,
        version=event.version,
        depleted=event.balance <= 0,
        depletes_at=event.depletes_at,
        balance=event.balance,
        burn_rate_per_day=event.burn_rate_per_day,
        at=event.at,
        now=_now(),
        issuer=_issuer(),
    )


async def on_balance_depleted(conn: asyncpg.Connection, event: BalanceDepleted, envelope: Envelope) -> None:
    await service.apply_runway(
        conn,
        account_id=event.account_id,
        version=event.version,
        depleted=True,
        depletes_at=event.at,
        balance=0,
        burn_rate_per_day=None,
        at=event.at,
        now=_now(),
        issuer=_issuer(),
    )


async def on_balance_restored(conn: asyncpg.Connection, event: BalanceRestored, envelope: Envelope) -> None:
    await service.apply_runway(
        conn,
        account_id=event.account_id,
        version=event.version,
        depleted=event.balance <= 0,
        depletes_at=event.depletes_at,
        balance=event.balance,
        # The restoration does not say the rate; the one held stays, the time is the event's.
        burn_rate_per_day=None,
        at=envelope.time,
        now=_now(),
        issuer=_issuer(),
    )


SUBSCRIPTIONS: Mapping[type[Event], Handler] = {
    DomainCreated: on_domain_created,
    GatewayRegistered: on_gateway_registered,
    GatewayRemoved: on_gateway_removed,
    RentalChanged: on_rental_changed,
    RunwayChanged: on_runway_changed,
    BalanceDepleted: on_balance_depleted,
    BalanceRestored: on_balance_restored,
}
