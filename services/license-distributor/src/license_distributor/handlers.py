"""Events the licence distributor consumes, wired as data. Each runs inside the inbox transaction.

Every event that changes what a gateway may run rebuilds the bundles of the domains it touches; the
rebuild issues a new seq only where the content changed.
"""

from __future__ import annotations

from collections.abc import Mapping

from license_distributor import service
from license_distributor.config import Settings
from license_distributor.repository import ContractTerms, RentalShare
from shared.context import HandlerContext
from shared.events.base import Event
from shared.events.contracts import RentalChanged
from shared.events.provisioning import DomainCreated, GatewayRegistered, GatewayRemoved
from shared.events.wallet import BalanceDepleted, BalanceRestored, RunwayChanged
from shared.messaging.consumer import Handler


async def on_domain_created(ctx: HandlerContext[Settings], event: DomainCreated) -> None:
    await service.record_known_domain(ctx.conn, domain_id=event.domain_id, account_id=event.account_id, name=event.name)


async def on_gateway_registered(ctx: HandlerContext[Settings], event: GatewayRegistered) -> None:
    await service.register_gateway(
        ctx.conn,
        gateway_id=event.gateway_id,
        domain_id=event.domain_id,
        account_id=event.account_id,
        hwid=event.hwid,
        product=event.product,
        public_key=event.public_key,
        now=ctx.now(),
        issuer=ctx.settings.bundle_issuer,
    )


async def on_gateway_removed(ctx: HandlerContext[Settings], event: GatewayRemoved) -> None:
    await service.remove_gateway(
        ctx.conn,
        gateway_id=event.gateway_id,
        domain_id=event.domain_id,
        account_id=event.account_id,
        hwid=event.hwid,
        product=event.product,
        now=ctx.now(),
    )


async def on_rental_changed(ctx: HandlerContext[Settings], event: RentalChanged) -> None:
    await service.apply_rental_snapshot(
        ctx.conn,
        contract_id=event.contract_id,
        version=event.version,
        terms=ContractTerms(
            account_id=event.account_id,
            active=event.active,
            ends_at=event.ends_at,
            burn_rate_per_day=event.burn_rate_per_day,
        ),
        shares=[
            RentalShare(
                domain_id=d.domain_id,
                devices=[{"hwid": dev.hwid, "product": dev.product} for dev in d.devices],
                licences=[{"type": lic.type, "count": lic.count} for lic in d.licences],
            )
            for d in event.domains
        ],
        now=ctx.now(),
        issuer=ctx.settings.bundle_issuer,
    )


async def on_runway_changed(ctx: HandlerContext[Settings], event: RunwayChanged) -> None:
    await service.apply_runway(
        ctx.conn,
        account_id=event.account_id,
        version=event.version,
        depleted=event.balance <= 0,
        depletes_at=event.depletes_at,
        balance=event.balance,
        burn_rate_per_day=event.burn_rate_per_day,
        at=event.at,
        now=ctx.now(),
        issuer=ctx.settings.bundle_issuer,
    )


async def on_balance_depleted(ctx: HandlerContext[Settings], event: BalanceDepleted) -> None:
    await service.apply_runway(
        ctx.conn,
        account_id=event.account_id,
        version=event.version,
        depleted=True,
        depletes_at=event.at,
        balance=0,
        burn_rate_per_day=None,
        at=event.at,
        now=ctx.now(),
        issuer=ctx.settings.bundle_issuer,
    )


async def on_balance_restored(ctx: HandlerContext[Settings], event: BalanceRestored) -> None:
    await service.apply_runway(
        ctx.conn,
        account_id=event.account_id,
        version=event.version,
        depleted=event.balance <= 0,
        depletes_at=event.depletes_at,
        balance=event.balance,
        # The restoration does not say the rate; the one held stays, the time is the event's.
        burn_rate_per_day=None,
        at=ctx.envelope.time,
        now=ctx.now(),
        issuer=ctx.settings.bundle_issuer,
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
