"""Events provisioning consumes, wired as data."""

from __future__ import annotations

from collections.abc import Mapping

from provisioning import service
from provisioning.config import Settings
from shared import partner_scope
from shared.context import HandlerContext
from shared.events.base import Event
from shared.events.wallet import AccountAssigned, AccountOpened
from shared.messaging.consumer import Handler


async def on_account_opened(ctx: HandlerContext[Settings], event: AccountOpened) -> None:
    await service.note_account_opened(ctx.conn, account_id=event.account_id, name=event.name)
    await partner_scope.record_account_opened(ctx, event)


SUBSCRIPTIONS: Mapping[type[Event], Handler] = {
    AccountOpened: on_account_opened,
    AccountAssigned: partner_scope.record_account_assigned,
}
