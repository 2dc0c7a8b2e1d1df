"""Events contracts consumes, wired as data. Each handler runs inside the inbox transaction.

Every handler is idempotent by itself as well (not only by the inbox): read models are upserts, device
removal is final, funding keeps only the newest (version, rank), wallet history entries carry a natural
key. So the same fact delivered again under another message id changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts import repository, service
from contracts.config import Settings
from contracts.domain import Funding, WalletFact, time_left_words
from contracts.service import AccountEntry
from shared import partner_scope
from shared.context import HandlerContext
from shared.events.base import Event
from shared.events.provisioning import DeviceProvisioned, DeviceRemoved, DomainCreated
from shared.events.wallet import (
    AccountAssigned,
    AccountOpened,
    AutoReloadChanged,
    AutoReloadFailed,
    AutoReloadTriggered,
    BalanceDepleted,
    BalanceLow,
    BalanceRestored,
    CreditsLoaded,
    RunwayChanged,
    TestClockAdvanced,
)
from shared.messaging.consumer import Handler
from shared.money import format_isc


async def on_account_opened(ctx: HandlerContext[Settings], event: AccountOpened) -> None:
    await repository.upsert_known_account(
        ctx.conn, account_id=event.account_id, name=event.name, test_clock_id=event.test_clock_id
    )
    if event.test_clock_id is not None and event.test_clock_time is not None:
        await repository.know_test_clock(ctx.conn, clock_id=event.test_clock_id, time=event.test_clock_time)
    await partner_scope.record_account_opened(ctx, event)


async def on_test_clock_advanced(ctx: HandlerContext[Settings], event: TestClockAdvanced) -> None:
    await service.catch_up_with_clock(ctx.conn, clock_id=event.clock_id, to=event.frozen_time, step=event.step)


async def on_domain_created(ctx: HandlerContext[Settings], event: DomainCreated) -> None:
    await repository.upsert_known_domain(
        ctx.conn, domain_id=event.domain_id, account_id=event.account_id, name=event.name
    )


async def on_device_provisioned(ctx: HandlerContext[Settings], event: DeviceProvisioned) -> None:
    await repository.upsert_provisioned_device(
        ctx.conn,
        device_id=event.device_id,
        domain_id=event.domain_id,
        account_id=event.account_id,
        hwid=event.hwid,
        product=event.product,
        type=event.type,
    )


async def on_device_removed(ctx: HandlerContext[Settings], event: DeviceRemoved) -> None:
    await service.remove_device(ctx.conn, removed=event, now=ctx.now())


async def on_runway_changed(ctx: HandlerContext[Settings], event: RunwayChanged) -> None:
    funding = Funding(
        balance=event.balance, depletes_at=event.depletes_at, version=event.version, rank=WalletFact.RUNWAY_CHANGED
    )
    await service.apply_funding(ctx.conn, account_id=event.account_id, funding=funding, now=ctx.now())
    if event.burn is not None:
        await repository.apply_account_burn(
            ctx.conn,
            account_id=event.account_id,
            version=event.version,
            state=event.burn.model_dump(mode="json"),
            now=ctx.now(),
        )


async def on_balance_depleted(ctx: HandlerContext[Settings], event: BalanceDepleted) -> None:
    entry = AccountEntry(
        at=event.at,
        type="BalanceDepleted",
        summary="the balance is depleted: rentals stop",
        data=event.model_dump(mode="json"),
        source_key=f"balance_depleted:{event.account_id}:{event.version}",
    )
    funding = Funding(balance=0, depletes_at=event.at, version=event.version, rank=WalletFact.BALANCE_DEPLETED)
    await service.apply_funding(ctx.conn, account_id=event.account_id, funding=funding, entry=entry, now=ctx.now())


async def on_balance_restored(ctx: HandlerContext[Settings], event: BalanceRestored) -> None:
    entry = AccountEntry(
        at=ctx.envelope.time,
        type="BalanceRestored",
        summary=f"the balance is restored to {format_isc(event.balance)} iSC",
        data=event.model_dump(mode="json"),
        source_key=f"balance_restored:{event.account_id}:{event.version}",
    )
    funding = Funding(
        balance=event.balance, depletes_at=event.depletes_at, version=event.version, rank=WalletFact.BALANCE_RESTORED
    )
    await service.apply_funding(ctx.conn, account_id=event.account_id, funding=funding, entry=entry, now=ctx.now())


async def on_credits_loaded(ctx: HandlerContext[Settings], event: CreditsLoaded) -> None:
    how = " by Auto-iSC" if event.source == "auto_reload" else ""
    entry = AccountEntry(
        at=ctx.envelope.time,
        type="CreditsLoaded",
        summary=f"{format_isc(event.amount)} iSC loaded{how}; balance {format_isc(event.balance_after)} iSC",
        data=event.model_dump(mode="json"),
        # A key loads once, an Auto-iSC order once: either names the fact.
        source_key=f"credits_loaded:{event.key_id or event.order_id}",
    )
    await service.record_account_event(ctx.conn, account_id=event.account_id, entry=entry)


async def on_auto_reload_triggered(ctx: HandlerContext[Settings], event: AutoReloadTriggered) -> None:
    entry = AccountEntry(
        at=ctx.envelope.time,
        type="AutoReloadTriggered",
        summary=f"Auto-iSC ordered {format_isc(event.amount)} iSC from the partner: time left reached the threshold",
        data=event.model_dump(mode="json"),
        source_key=f"auto_reload:{event.account_id}:{event.crossing}",
    )
    await service.record_account_event(ctx.conn, account_id=event.account_id, entry=entry)
    # The forecast counts what is left of the month's cap from these. The event names no instant of its own: the
    # context's clock at delivery stands for it (late only by the delivery; a reload at a month's very end may count
    # in the next month here, never twice).
    await repository.record_auto_reload_done(
        ctx.conn, account_id=event.account_id, crossing=event.crossing, amount=event.amount, at=ctx.now()
    )


async def on_auto_reload_changed(ctx: HandlerContext[Settings], event: AutoReloadChanged) -> None:
    # A read model for the forecast only: the setting itself is no line in the history.
    await repository.apply_auto_reload(
        ctx.conn,
        account_id=event.account_id,
        enabled=event.enabled,
        suspended_by_partner=event.suspended_by_partner,
        threshold_s=event.threshold_s,
        amount=event.amount,
        monthly_cap=event.monthly_cap,
        changed_at=event.changed_at,
    )


_RELOAD_REFUSALS = {
    "monthly_cap_reached": "this month's limit is reached",
    "suspended_by_partner": "the partner suspended it",
}


async def on_auto_reload_failed(ctx: HandlerContext[Settings], event: AutoReloadFailed) -> None:
    entry = AccountEntry(
        at=ctx.envelope.time,
        type="AutoReloadFailed",
        summary=f"Auto-iSC could not reload {format_isc(event.amount)} iSC: {_RELOAD_REFUSALS[event.reason]}",
        data=event.model_dump(mode="json"),
        source_key=f"auto_reload:{event.account_id}:{event.crossing}",
    )
    await service.record_account_event(ctx.conn, account_id=event.account_id, entry=entry)


async def on_balance_low(ctx: HandlerContext[Settings], event: BalanceLow) -> None:
    entry = AccountEntry(
        at=ctx.envelope.time,
        type="BalanceLow",
        summary=f"the balance runs out in {time_left_words(event.time_left_s)}, at {event.depletes_at.isoformat()}",
        data=event.model_dump(mode="json"),
        source_key=f"balance_low:{event.account_id}:{event.threshold_s}:{event.depletes_at.isoformat()}",
    )
    await service.record_account_event(ctx.conn, account_id=event.account_id, entry=entry)


SUBSCRIPTIONS: Mapping[type[Event], Handler] = {
    AccountOpened: on_account_opened,
    AccountAssigned: partner_scope.record_account_assigned,
    DomainCreated: on_domain_created,
    DeviceProvisioned: on_device_provisioned,
    DeviceRemoved: on_device_removed,
    RunwayChanged: on_runway_changed,
    BalanceDepleted: on_balance_depleted,
    BalanceRestored: on_balance_restored,
    CreditsLoaded: on_credits_loaded,
    BalanceLow: on_balance_low,
    AutoReloadChanged: on_auto_reload_changed,
    AutoReloadTriggered: on_auto_reload_triggered,
    AutoReloadFailed: on_auto_reload_failed,
    TestClockAdvanced: on_test_clock_advanced,
}
