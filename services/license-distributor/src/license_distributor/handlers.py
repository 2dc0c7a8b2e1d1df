"""Events the licence distributor consumes, wired as data. Each runs inside the inbox transaction.

Every event that changes what a gateway may run rebuilds the bundles of the domains it touches; the
rebuild issues a new seq only where the content changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from license_distributor import repository, service
from license_distributor.config import Settings
from license_distributor.repository import AccountRunway, ContractTerms, GatewayRecord, RentalShare
from shared import partner_scope
from shared.context import HandlerContext
from shared.events.base import Event
from shared.events.contracts import RentalChanged
from shared.events.provisioning import DomainCreated, GatewayEvent, GatewayRegistered, GatewayRemoved
from shared.events.wallet import (
    AccountAssigned,
    AccountOpened,
    BalanceDepleted,
    BalanceRestored,
    RunwayChanged,
    TestClockAdvanced,
)
from shared.messaging.consumer import Handler


async def on_account_opened(ctx: HandlerContext[Settings], event: AccountOpened) -> None:
    # Which partner sees the account's licences (shared.partner_scope), and the test clock its domains live on.
    await partner_scope.record_account_opened(ctx, event)
    if event.test_clock_id is not None and event.test_clock_time is not None:
        await repository.record_account_on_test_clock(
            ctx.conn, account_id=event.account_id, test_clock_id=event.test_clock_id, time=event.test_clock_time
        )


async def on_test_clock_advanced(ctx: HandlerContext[Settings], event: TestClockAdvanced) -> None:
    await service.catch_up_with_clock(
        ctx.conn,
        clock_id=event.clock_id,
        to=event.frozen_time,
        step=event.step,
        issuer=ctx.settings.bundle_issuer,
        lease=ctx.settings.lease,
    )


async def on_domain_created(ctx: HandlerContext[Settings], event: DomainCreated) -> None:
    await service.record_known_domain(ctx.conn, domain_id=event.domain_id, account_id=event.account_id, name=event.name)


async def on_gateway_registered(ctx: HandlerContext[Settings], event: GatewayRegistered) -> None:
    await service.register_gateway(
        ctx.conn,
        gateway=_gateway(event),
        public_key=event.public_key,
        now=ctx.now(),
        issuer=ctx.settings.bundle_issuer,
        lease=ctx.settings.lease,
    )


async def on_gateway_removed(ctx: HandlerContext[Settings], event: GatewayRemoved) -> None:
    await service.remove_gateway(ctx.conn, gateway=_gateway(event), now=ctx.now())


def _gateway(event: GatewayEvent) -> GatewayRecord:
    return GatewayRecord(
        gateway_id=event.gateway_id,
        domain_id=event.domain_id,
        account_id=event.account_id,
        hwid=event.hwid,
        product=event.product,
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
        lease=ctx.settings.lease,
    )


async def on_runway_changed(ctx: HandlerContext[Settings], event: RunwayChanged) -> None:
    await _apply_runway(
        ctx,
        event,
        balance=event.balance,
        depletes_at=event.depletes_at,
        rate=event.burn_rate_per_day,
        at=event.at,
        warnings_at=tuple(event.warnings_at),
    )


async def on_balance_depleted(ctx: HandlerContext[Settings], event: BalanceDepleted) -> None:
    # An account on a test clock runs out when its clock reaches the run-out: the clock is there already, and the
    # stopped bundle is signed at that instant (a gateway following the clock stops its phones then, not earlier).
    await repository.clock_reached(ctx.conn, account_id=event.account_id, at=event.at)
    await _apply_runway(ctx, event, balance=0, depletes_at=event.at, rate=None, at=event.at)


async def on_balance_restored(ctx: HandlerContext[Settings], event: BalanceRestored) -> None:
    # The restoration does not say the rate nor the ladder: the rate held stays, the time is the event's; the
    # ladder of the old run-out no longer holds, the RunwayChanged that follows brings the new one.
    await _apply_runway(
        ctx, event, balance=event.balance, depletes_at=event.depletes_at, rate=None, at=ctx.envelope.time
    )


async def _apply_runway(
    ctx: HandlerContext[Settings],
    event: RunwayChanged | BalanceDepleted | BalanceRestored,
    *,
    balance: int,
    depletes_at: datetime | None,
    rate: int | None,
    at: datetime,
    warnings_at: tuple[datetime, ...] = (),
) -> None:
    """The wallet's news of an account, whichever event brought it: depleted means no balance left (and no
    warnings: the ladder comes with RunwayChanged only)."""
    runway = AccountRunway(
        account_id=event.account_id,
        version=event.version,
        depleted=balance <= 0,
        depletes_at=depletes_at,
        balance=balance,
        burn_rate_per_day=rate,
        at=at,
        warnings_at=warnings_at,
    )
    await service.apply_runway(
        ctx.conn, runway=runway, now=ctx.now(), issuer=ctx.settings.bundle_issuer, lease=ctx.settings.lease
    )


SUBSCRIPTIONS: Mapping[type[Event], Handler] = {
    AccountOpened: on_account_opened,
    AccountAssigned: partner_scope.record_account_assigned,
    DomainCreated: on_domain_created,
    GatewayRegistered: on_gateway_registered,
    GatewayRemoved: on_gateway_removed,
    RentalChanged: on_rental_changed,
    RunwayChanged: on_runway_changed,
    BalanceDepleted: on_balance_depleted,
    BalanceRestored: on_balance_restored,
    TestClockAdvanced: on_test_clock_advanced,
}
