"""Events the wallet consumes: `RentalChanged` sets the burn rate a contract draws from its account; it, the
wallet's own account events (consumed back from the exchange, like any consumer) and the distributor's licence
delivery failures become webhook deliveries (and the account events e-mail notices), written in the same inbox
transaction (`webhooks.py`, `notices.py`). The followers of test clocks report their catch-up (`clocks.py`)."""

from __future__ import annotations

from collections.abc import Mapping

from shared.context import HandlerContext
from shared.db import after_commit
from shared.events.base import CaughtUpWithTestClock, Event
from shared.events.contracts import RentalChanged, TariffsCaughtUp
from shared.events.licensing import BundlesCaughtUp, LicenceDeliveryFailed
from shared.events.wallet import (
    AutoReloadFailed,
    AutoReloadTriggered,
    BalanceDepleted,
    BalanceLow,
    BalanceRestored,
    CreditsLoaded,
    WalletEvent,
)
from shared.messaging.consumer import Handler
from wallet import clocks, domain, notices, service, webhooks
from wallet.config import Settings


async def on_rental_changed(ctx: HandlerContext[Settings], event: RentalChanged) -> None:
    # A contract that is not active draws nothing, whatever devices it lists or tariff changes it expects.
    steps = [
        domain.RateStep(effective_at=s.effective_at, rate_per_day=s.burn_rate_per_day) for s in event.scheduled_rates
    ]
    # Charged from the instant of the change; an older publisher's event, from when it was published. An account
    # on a test clock is charged at its clock's time: a tariff change contracts applied on the clock at its own
    # instant (up to the clock's time), any other change (announced on contracts' own clock) at the clock's time.
    now, changed_at = ctx.now(), event.changed_at or ctx.envelope.time
    if (clock := await clocks.clock_of(ctx.conn, event.account_id)) is not None:
        now, changed_at = clock.time, min(changed_at, clock.time)
        # A clock's next step may be waiting for this change (`clocks.record_follower_caught_up`).
        after_commit(clocks.wake_advancers)
    await service.apply_rental_change(
        ctx.conn,
        account_id=event.account_id,
        contract_id=event.contract_id,
        burn_rate_per_day=event.burn_rate_per_day if event.active else 0,
        scheduled_rates=steps if event.active else (),
        version=event.version,
        changed_at=changed_at,
        ladder_s=ctx.settings.low_balance_thresholds_s,
        now=now,
        active=event.active,
    )
    await webhooks.record_event(
        ctx.conn,
        envelope_id=ctx.envelope.id,
        account_id=event.account_id,
        event=event,
        occurred_at=event.changed_at or ctx.envelope.time,
        now=ctx.now(),
    )


async def on_account_event(ctx: HandlerContext[Settings], event: WalletEvent) -> None:
    """The wallet's own event, as published: told to the account's webhook endpoints and contact addresses."""
    await webhooks.record_event(
        ctx.conn,
        envelope_id=ctx.envelope.id,
        account_id=event.account_id,
        event=event,
        occurred_at=ctx.envelope.time,
        now=ctx.now(),
    )
    await notices.record_event(
        ctx.conn,
        settings=ctx.settings,
        message_id=ctx.envelope.id,
        account_id=event.account_id,
        event=event,
        now=ctx.now(),
    )


async def on_licence_delivery_failed(ctx: HandlerContext[Settings], event: LicenceDeliveryFailed) -> None:
    """A bundle the account's gateway did not take: told to the account's own webhook endpoints only."""
    await webhooks.record_event(
        ctx.conn,
        envelope_id=ctx.envelope.id,
        account_id=event.account_id,
        event=event,
        occurred_at=event.at,
        now=ctx.now(),
    )


async def on_follower_caught_up(ctx: HandlerContext[Settings], event: CaughtUpWithTestClock) -> None:
    await clocks.record_follower_caught_up(ctx.conn, event)


SUBSCRIPTIONS: Mapping[type[Event], Handler] = {
    RentalChanged: on_rental_changed,
    CreditsLoaded: on_account_event,
    BalanceLow: on_account_event,
    BalanceDepleted: on_account_event,
    BalanceRestored: on_account_event,
    LicenceDeliveryFailed: on_licence_delivery_failed,
    AutoReloadTriggered: on_account_event,
    AutoReloadFailed: on_account_event,
    TariffsCaughtUp: on_follower_caught_up,
    BundlesCaughtUp: on_follower_caught_up,
}
