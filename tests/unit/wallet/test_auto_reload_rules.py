"""Auto-iSC's pure rules over the wallet's own burn-down: when reloads fall due, the cap, and the ledger they make.

`shared.auto_reload.planned_reloads` is what the scheduler's crossings follow and what a forecast may call; here it
walks a `Burn` along random rates and scheduled steps, and the ledger its reloads would post must balance.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import auto_reload
from shared.auto_reload import PlannedFailure, PlannedReload, ReloadSetting
from shared.money import MICRO_PER_ISC, SECONDS_PER_DAY
from tests.unit.wallet.test_piecewise_burn import T0, burning, schedules
from wallet import domain
from wallet.domain import Book, Burn

DAY = timedelta(days=1)


def test_a_reload_is_due_when_the_time_left_falls_to_the_threshold() -> None:
    burn = burning(30 * MICRO_PER_ISC, MICRO_PER_ISC, ())
    depletes_at = burn.depletes_at()
    # The first microsecond the balance reads zero (usage rounds up): just before 30 days.
    assert depletes_at is not None
    assert T0 + 30 * DAY - timedelta(seconds=1) < depletes_at <= T0 + 30 * DAY
    assert auto_reload.due_at(depletes_at=depletes_at, threshold_s=7 * SECONDS_PER_DAY) == depletes_at - 7 * DAY
    assert auto_reload.due_at(depletes_at=None, threshold_s=7 * SECONDS_PER_DAY) is None


def test_reloads_under_the_threshold_follow_at_once_until_the_cap_refuses() -> None:
    # 5 days left under a 7-day threshold: 1 iSC at once, again at 6 days, refused by the cap of 2 iSC at 7 days.
    burn = burning(5 * MICRO_PER_ISC, MICRO_PER_ISC, ())
    setting = ReloadSetting(threshold_s=7 * SECONDS_PER_DAY, amount=MICRO_PER_ISC, monthly_cap=2 * MICRO_PER_ISC)
    plan = [p for p, _ in auto_reload.planned_reloads(burn, setting=setting, now=T0, until=T0 + 60 * DAY)]
    assert [type(p) for p in plan] == [PlannedReload, PlannedReload, PlannedFailure]
    assert [p.at for p in plan] == [T0, T0, T0]
    assert isinstance(plan[-1], PlannedFailure)
    assert plan[-1].reason == "monthly_cap_reached"


def test_a_partner_s_suspension_refuses_the_first_due_reload() -> None:
    burn = burning(10 * MICRO_PER_ISC, MICRO_PER_ISC, ())
    setting = ReloadSetting(threshold_s=7 * SECONDS_PER_DAY, amount=MICRO_PER_ISC, monthly_cap=10 * MICRO_PER_ISC)
    plan = auto_reload.planned_reloads(burn, setting=setting, now=T0, until=T0 + 60 * DAY, suspended_by_partner=True)
    [(failure, _)] = list(plan)
    depletes_at = burn.depletes_at()
    assert depletes_at is not None
    assert failure == PlannedFailure(at=depletes_at - 7 * DAY, reason="suspended_by_partner")


def test_the_cap_counts_per_calendar_month() -> None:
    assert auto_reload.month_start(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == datetime(2026, 12, 1, tzinfo=UTC)
    # 10 iSC a month at 1 iSC/day, reloads of 10 iSC with a cap of 10: one reload per month, never two.
    burn = burning(30 * MICRO_PER_ISC, MICRO_PER_ISC, ())
    setting = ReloadSetting(threshold_s=7 * SECONDS_PER_DAY, amount=10 * MICRO_PER_ISC, monthly_cap=10 * MICRO_PER_ISC)
    plan = [p for p, _ in auto_reload.planned_reloads(burn, setting=setting, now=T0, until=T0 + 120 * DAY)]
    months = [auto_reload.month_start(p.at) for p in plan if isinstance(p, PlannedReload)]
    assert len(months) == len(set(months)) >= 2


def test_a_crossing_the_cap_refused_is_tried_again_when_the_next_month_starts() -> None:
    # 5 days left on 30 December under a 7-day threshold, a cap of one 1-iSC reload a month: a reload, the cap's
    # refusal, the same crossing reloaded on 1 January, refused again, and nothing in February (run out by then).
    start = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)
    burn = Burn.opened(start).load(amount=5 * MICRO_PER_ISC, at=start)[0]
    burn, _ = burn.change_rate(rate_per_day=MICRO_PER_ISC, schedule=(), at=start)
    setting = ReloadSetting(threshold_s=7 * SECONDS_PER_DAY, amount=MICRO_PER_ISC, monthly_cap=MICRO_PER_ISC)
    plan = [p for p, _ in auto_reload.planned_reloads(burn, setting=setting, now=start, until=start + 60 * DAY)]
    january = datetime(2027, 1, 1, tzinfo=UTC)
    assert [(type(p), p.at) for p in plan] == [
        (PlannedReload, start),
        (PlannedFailure, start),
        (PlannedReload, january),
        (PlannedFailure, january),
    ]
    assert auto_reload.retried_at("monthly_cap_reached", at=start) == january
    assert auto_reload.retried_at("suspended_by_partner", at=start) is None
    assert auto_reload.next_month_start(datetime(2027, 1, 31, 23, 59, tzinfo=UTC)) == datetime(2027, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize("threshold_days", [1, 14, 28])
def test_nothing_burning_never_reloads(threshold_days: int) -> None:
    burn = burning(MICRO_PER_ISC, 0, ())
    setting = ReloadSetting(
        threshold_s=threshold_days * SECONDS_PER_DAY, amount=MICRO_PER_ISC, monthly_cap=MICRO_PER_ISC
    )
    assert list(auto_reload.planned_reloads(burn, setting=setting, now=T0, until=T0 + 365 * DAY)) == []


settings_of = st.builds(
    ReloadSetting,
    threshold_s=st.integers(min_value=1, max_value=60 * SECONDS_PER_DAY),
    amount=st.integers(min_value=1, max_value=100 * MICRO_PER_ISC),
    monthly_cap=st.integers(min_value=1, max_value=1000 * MICRO_PER_ISC),
)


@settings(max_examples=200, deadline=None)
@given(
    balance=st.integers(min_value=1, max_value=100 * MICRO_PER_ISC),
    schedule=schedules(),
    setting=settings_of,
    horizon_days=st.integers(min_value=1, max_value=400),
)
def test_the_ledger_with_reloads_balances_and_never_goes_negative(
    balance: int, schedule: tuple[int, tuple[domain.RateStep, ...]], setting: ReloadSetting, horizon_days: int
) -> None:
    """Post what the plan does (the redemption, then per reload the usage settled on the way and the reload's entry):
    every entry sums to zero, the wallet's book equals the balance, no balance is negative, each reload was due when
    it happened, and no month reloads beyond its cap."""
    rate, steps = schedule
    burn: Burn = burning(balance, rate, steps)
    books: dict[Book, int] = defaultdict(int)
    postings = [domain.redemption_posting(balance)]
    per_month: dict[datetime, int] = defaultdict(int)
    previous, before = T0, burn
    until = T0 + horizon_days * DAY
    for planned, after in auto_reload.planned_reloads(burn, setting=setting, now=T0, until=until):
        assert planned.at >= previous
        due = auto_reload.due_at(depletes_at=before.depletes_at(), threshold_s=setting.threshold_s)
        assert due is not None
        assert due <= planned.at <= until
        if isinstance(planned, PlannedReload):
            _, usage = before.settle(planned.at)
            if usage:
                postings.append(domain.usage_posting(usage))
            postings.append(domain.auto_reload_posting(planned.amount))
            per_month[auto_reload.month_start(planned.at)] += planned.amount
            assert after.balance >= 0
            assert after.balance == before.balance_at(planned.at) + planned.amount
        previous, before = planned.at, after
    for posting in postings:
        for book, amount in posting.lines:
            books[book] += amount
    assert sum(books.values()) == 0
    assert books[Book.CUSTOMER_WALLET] == before.balance
    assert -books[Book.RELOAD_ORDERS] == sum(per_month.values())
    assert all(total <= setting.monthly_cap for total in per_month.values())
