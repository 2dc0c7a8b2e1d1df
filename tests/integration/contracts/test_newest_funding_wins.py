"""Which wallet fact wins is one SQL statement (the funding upsert): proven here against the real database.

The wallet's RunwayChanged, BalanceRestored and BalanceDepleted events arrive in any order and possibly
twice; contracts keeps only the newest (version, rank). They go through the real handlers, inside a real
inbox-like transaction of the running service, so the rank each event carries is part of what is tested.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.config import Settings
from contracts.domain import WalletFact
from contracts.handlers import SUBSCRIPTIONS
from shared.context import HandlerContext, ServiceContext
from shared.db import transaction
from shared.events.base import Event
from shared.events.wallet import BalanceDepleted, BalanceRestored, RunwayChanged
from shared.messaging.envelope import Envelope
from tests.integration.contracts.conftest import ContractsRig

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FundingFact = tuple[int, WalletFact]  # (account version, rank)


def balance_of(fact: FundingFact) -> int:
    """A balance that names its fact, so the test sees whose payload is held (a depletion holds 0)."""
    version, rank = fact
    return 0 if rank is WalletFact.BALANCE_DEPLETED else 1_000 * version + rank + 1


def wallet_event(account_id: uuid.UUID, fact: FundingFact) -> Event:
    version, rank = fact
    if rank is WalletFact.BALANCE_DEPLETED:
        return BalanceDepleted(account_id=account_id, at=AT, version=version)
    if rank is WalletFact.BALANCE_RESTORED:
        return BalanceRestored(account_id=account_id, balance=balance_of(fact), depletes_at=None, version=version)
    return RunwayChanged(
        account_id=account_id, balance=balance_of(fact), burn_rate_per_day=0, depletes_at=None, version=version, at=AT
    )


async def handle(rig: ContractsRig, event: Event) -> None:
    """The event through its handler, in one transaction of the service's own pool, as the inbox runs it."""
    service: ServiceContext[Settings] = rig.client.app.state.runtime.context  # type: ignore[attr-defined]
    envelope = Envelope.of(
        id=uuid.uuid4(),
        source="wallet",
        type=type(event).__name__,
        time=AT,
        subject=None,
        data=event.model_dump(mode="json"),
        traceparent=None,
    )
    async with transaction(service.pool) as conn:
        await SUBSCRIPTIONS[type(event)](HandlerContext(conn=conn, envelope=envelope, service=service), event)


async def held(rig: ContractsRig, account_id: uuid.UUID) -> tuple[int, WalletFact, int]:
    row = await rig.db.fetchrow("SELECT version, rank, balance FROM account_funding WHERE account_id = $1", account_id)
    assert row is not None
    return row["version"], WalletFact(row["rank"]), row["balance"]


facts = st.lists(
    st.tuples(st.integers(min_value=1, max_value=6), st.sampled_from(list(WalletFact))), min_size=1, max_size=6
)


@settings(max_examples=30, deadline=None)
@given(delivered=facts.flatmap(lambda some: st.permutations(some + some)))
async def test_wallet_facts_in_any_order_and_each_twice_leave_the_newest_version_and_rank_held(
    rig: ContractsRig, delivered: list[FundingFact]
) -> None:
    account_id = uuid.uuid4()
    for fact in delivered:
        await handle(rig, wallet_event(account_id, fact))
    newest = max(delivered)
    assert await held(rig, account_id) == (*newest, balance_of(newest))


async def test_a_late_depletion_never_overrides_a_newer_restoration_and_outranks_its_own_runway(
    rig: ContractsRig,
) -> None:
    account_id = uuid.uuid4()
    restored, depleted = (8, WalletFact.BALANCE_RESTORED), (7, WalletFact.BALANCE_DEPLETED)
    for fact in (restored, depleted):
        await handle(rig, wallet_event(account_id, fact))
    assert await held(rig, account_id) == (*restored, balance_of(restored))

    other = uuid.uuid4()
    runway, ends_it = (5, WalletFact.RUNWAY_CHANGED), (5, WalletFact.BALANCE_DEPLETED)
    for fact in (ends_it, runway):
        await handle(rig, wallet_event(other, fact))
    assert await held(rig, other) == (*ends_it, 0)
