"""The forecast's arithmetic (`shared.burn`): the run-out after a change, as the wallet would compute it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.auto_reload import ReloadSetting, planned_reloads
from shared.burn import FAR_FUTURE, Burn, ContractRates, RateStep, ReloadPlan, rerated, runway_of

T0 = datetime(2026, 12, 1, tzinfo=UTC)
ISC = 1_000_000

rates = st.integers(min_value=0, max_value=500 * ISC)


def burning(balance: int, rate: int) -> Burn:
    opened, _ = Burn.opened(T0).load(amount=balance, at=T0)
    burn, _ = opened.change_rate(rate_per_day=rate, at=T0)
    return burn


@given(
    balance=st.integers(min_value=1, max_value=10_000 * ISC),
    rate=rates,
    first=rates,
    second=rates,
    step=rates,
    offset_s=st.integers(min_value=0, max_value=30 * 86_400),
)
def test_a_forecast_of_one_change_equals_the_wallet_doing_the_changes_one_by_one_at_that_instant(
    balance: int, rate: int, first: int, second: int, step: int, offset_s: int
) -> None:
    at = T0 + timedelta(seconds=offset_s)
    burn = burning(balance, rate)
    scheduled = (RateStep(effective_at=at + timedelta(days=2), rate_per_day=step),)
    planned = [ContractRates(rate_per_day=first), ContractRates(rate_per_day=second, scheduled=scheduled)]
    forecast = rerated(burn, planned, at=at)
    # The real change arrives as two RentalChanged at the same instant: the first contract, then the second.
    one = rerated(burn, [ContractRates(rate_per_day=first)], at=at)
    both = rerated(one, planned, at=at)
    assert both.depletes_at() == forecast.depletes_at()
    assert both.balance_at(at + timedelta(days=3)) == forecast.balance_at(at + timedelta(days=3))


def test_a_run_out_before_the_change_is_announced_first_whichever_way_the_change_arrives() -> None:
    # One micro-iSC at one micro-iSC a day is gone after the first microsecond (usage rounds up): a change a
    # second later meets an account that ran out, as the wallet announces it before the change (found by the
    # property above: the forecast kept the past run-out, the change one by one moved it to the change).
    burn = burning(1, 1)
    assert burn.depletes_at() == T0 + timedelta(microseconds=1)
    at = T0 + timedelta(seconds=1)
    forecast = rerated(burn, [ContractRates(rate_per_day=0), ContractRates(rate_per_day=1)], at=at)
    one_by_one = rerated(rerated(burn, [ContractRates(rate_per_day=0)], at=at), [ContractRates(rate_per_day=1)], at=at)
    for after in (forecast, one_by_one):
        assert (after.depleted, after.balance, after.depletes_at()) == (True, 0, None)


def test_unchanged_rates_leave_the_burn_as_it_is() -> None:
    burn = burning(10 * ISC, 3 * ISC)
    assert rerated(burn, [ContractRates(rate_per_day=3 * ISC)], at=T0 + timedelta(hours=5)) is burn


def test_the_runway_counts_the_reloads_a_plan_would_make_within_the_cap() -> None:
    burn = burning(10 * ISC, 1 * ISC)  # ten days
    plain = runway_of(burn, at=T0)
    # Usage rounds up, so the last micro-iSC goes up to a tenth of a second early.
    assert plain.depletes_at is not None
    assert timedelta(0) <= T0 + timedelta(days=10) - plain.depletes_at < timedelta(seconds=1)
    # Two days before each run-out, five iSC, ten a month: two reloads (both in December), then the cap refuses.
    setting = ReloadSetting(threshold_s=2 * 86_400, amount=5 * ISC, monthly_cap=10 * ISC)
    reloaded = runway_of(burn, at=T0, reload_plan=ReloadPlan(setting))
    assert reloaded.depletes_at is not None
    assert timedelta(0) <= T0 + timedelta(days=20) - reloaded.depletes_at < timedelta(seconds=1)
    assert reloaded.rate_per_day == 1 * ISC
    # What the month already reloaded counts against the cap; a partner's suspension stops them all.
    once = runway_of(burn, at=T0, reload_plan=ReloadPlan(setting, reloaded_this_month=5 * ISC))
    assert once.depletes_at is not None
    assert timedelta(0) <= T0 + timedelta(days=15) - once.depletes_at < timedelta(seconds=1)
    assert runway_of(burn, at=T0, reload_plan=ReloadPlan(setting, suspended_by_partner=True)) == plain


def test_the_runway_counts_exactly_the_reloads_the_wallet_rules_plan() -> None:
    burn = burning(10 * ISC, 3 * ISC)
    setting = ReloadSetting(threshold_s=3 * 86_400, amount=7 * ISC, monthly_cap=100 * ISC)
    planned = list(planned_reloads(burn, setting=setting, now=T0, until=FAR_FUTURE))
    assert planned
    assert runway_of(burn, at=T0, reload_plan=ReloadPlan(setting)).depletes_at == planned[-1][1].depletes_at()
