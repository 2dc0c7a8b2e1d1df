"""Which accounts a partner may see and act on: those it opened or that an operator assigned to it.

Every service keeps `partner_account` (a shared migration) as a read model: the wallet writes it where it opens and
assigns accounts, the others from `AccountOpened` and `AccountAssigned` (`record_account_opened`,
`record_account_assigned`, in their SUBSCRIPTIONS). A partner asking about another partner's account gets 404, like a
customer asking about another account; creating something for an account no partner is known for here yet (its
`AccountOpened` is on its way) is 409 `not_yet_known`, which a client may retry.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.auth import Principal, Role
from shared.config import ServiceSettings
from shared.context import HandlerContext
from shared.events.wallet import AccountAssigned, AccountOpened
from shared.refusals import NotFound, NotYetKnown


async def record_partner(db: asyncpg.Connection | asyncpg.Pool, *, account_id: UUID, partner: str) -> None:
    await db.execute(
        "INSERT INTO partner_account (account_id, partner) VALUES ($1, $2) ON CONFLICT DO NOTHING", account_id, partner
    )


async def ensure_account_access(
    db: asyncpg.Connection | asyncpg.Pool,
    principal: Principal,
    account_id: UUID,
    *,
    what: str = "account",
    retry_if_unknown: bool = False,
) -> None:
    """An operator, the account's customer, or a partner the account is scoped to; anyone else learns nothing (404).
    `retry_if_unknown`: where a partner creates something for an account no partner is known for here yet (its
    `AccountOpened` is on its way), 409 `not_yet_known` instead, which the client retries."""
    if principal.can_access_account(account_id):
        return
    if Role.PARTNER in principal.roles:
        row = await db.fetchrow(
            """SELECT bool_or(partner = $2) AS mine FROM partner_account WHERE account_id = $1""",
            account_id,
            principal.subject,
        )
        mine = None if row is None else row["mine"]
        if mine:
            return
        if mine is None and retry_if_unknown:
            # No partner known for it here yet: its AccountOpened has not arrived (or the id names nothing).
            raise NotYetKnown(f"{what} is not known here yet; retry shortly", code="not_yet_known")
    raise NotFound(f"{what} not found")


def partner_filter(principal: Principal) -> str | None:
    """For a list: the partner whose accounts alone are listed, or None when the caller is not scoped that way (an
    operator; a customer is scoped by its account)."""
    if Role.OPERATOR in principal.roles or Role.PARTNER not in principal.roles:
        return None
    return principal.subject


async def record_account_opened(ctx: HandlerContext[ServiceSettings], event: AccountOpened) -> None:
    if event.opened_by is not None:
        await record_partner(ctx.conn, account_id=event.account_id, partner=event.opened_by)


async def record_account_assigned(ctx: HandlerContext[ServiceSettings], event: AccountAssigned) -> None:
    await record_partner(ctx.conn, account_id=event.account_id, partner=event.partner)
