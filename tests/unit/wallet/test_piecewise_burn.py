"""The run-out and the settlement over scheduled rate changes (a piecewise burn), as properties.

Each piece (a stretch at one rate between two scheduled steps) is charged at its own rate, rounded up on its
own; the run-out is the first microsecond at which the balance reads zero over every step; settling in many
steps across the steps costs exactly what settling once does, and the balance never goes below zero.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.money import MICRO_PER_ISC, SECONDS_PER_DAY
from wallet import domain
from wallet.domain import Burn, ContractRates, RateStep, usage_for

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
ONE_ISC_PER_SECOND = MICRO_PER_ISC * SECONDS_PER_DAY

rates = st.integers(min_value=0, max_value=10**12)
gaps_us = st.integers(min_value=1, max_value=20 * SECONDS_PER_DAY * 1_000_000)
balances = st.integers(min_value=1, max_value=10**12)


@st.composite
def schedules(draw: st.DrawFn, *, start: datetime = T0) -> tuple[int, tuple[RateStep, ...]]:
    """A rate at `start` and up to six later steps, ascending, each a real change (the wallet keeps only those:
    a step to the rate already burning is no piece of its own)."""
    rate = draw(rates)
    steps, at, previous = [], start, rate
    for gap, step_rate in draw(st.lists(st.tuples(gaps_us, rates), max_size=6)):
        at = at + timedelta(microseconds=gap)
        if step_rate != previous:
            steps.append(RateStep(effective_at=at, rate_per_day=step_rate))
            previous = step_rate
    return rate, tuple(steps)


def burning(balance: int, rate: int, steps: tuple[RateStep, ...]) -> Burn:
    burn = Burn(balance=0, settled_at=T0, rate_per_day=0, segment_start=T0)
    burn, _ = burn.load(amount=balance, at=T0)
    burn, usage = burn.change_rate(rate_per_day=rate, schedule=steps, at=T0)
    assert usage == 0
    return burn


def pieces_usage(rate: int, steps: tuple[RateStep, ...], until: datetime) -> int:
    """What the pieces up to `until` cost, each at its rate, worked out independently of `Burn`."""
    bounds = [(T0, rate), *((s.effective_at, s.rate_per_day) for s in steps)]
    total = 0
    for i, (start, piece_rate) in enumerate(bounds):
        end = bounds[i + 1][0] if i + 1 < len(bounds) else until
        end = min(end, until)
        if end > start:
            total += -(-piece_rate * ((end - start) // US) // (SECONDS_PER_DAY * 1_000_000))
    return total


@settings(max_examples=400)
@given(balance=balances, schedule=schedules())
def test_the_run_out_is_the_first_microsecond_the_balance_reads_zero_over_every_step(
    balance: int, schedule: tuple[int, tuple[RateStep, ...]]
) -> None:
    rate, steps = schedule
    burn = burning(balance, rate, steps)
    due = burn.depletes_at()
    last_rate = steps[-1].rate_per_day if steps else rate
    if due is None:
        # Nothing burns at the end and the pieces before never use the balance up.
        assert last_rate == 0
        far = (steps[-1].effective_at if steps else T0) + timedelta(days=1)
        assert burn.balance_at(far) == balance - pieces_usage(rate, steps, far) > 0
        return
    assert due > T0
    if due == domain.FAR_FUTURE:
        # Beyond what a datetime can say: shown as the far future, and the balance indeed lasts until then.
        assert balance >= pieces_usage(rate, steps, due)
        return
    assert burn.balance_at(due) == 0
    assert burn.balance_at(due - US) > 0
    # The same instant as the pieces worked out on their own: the usage reaches the balance there, not before.
    assert pieces_usage(rate, steps, due) >= balance > pieces_usage(rate, steps, due - US)


@settings(max_examples=300)
@given(
    balance=balances,
    schedule=schedules(),
    settle_points_us=st.lists(st.integers(min_value=0, max_value=60 * SECONDS_PER_DAY * 1_000_000), max_size=12),
    until_us=st.integers(min_value=0, max_value=60 * SECONDS_PER_DAY * 1_000_000),
)
def test_settling_across_the_steps_charges_each_piece_at_its_rate_and_the_pieces_sum_to_the_balance_drop(
    balance: int, schedule: tuple[int, tuple[RateStep, ...]], settle_points_us: list[int], until_us: int
) -> None:
    rate, steps = schedule
    until = T0 + timedelta(microseconds=until_us)
    once = burning(balance, rate, steps)
    many = once
    charged = []
    for point in sorted(settle_points_us):
        at = T0 + timedelta(microseconds=point)
        if at > until:
            break
        many, usage = many.settle(at)
        assert usage >= 0
        assert many.balance >= 0
        charged.append(usage)
    many, usage = many.settle(until)
    charged.append(usage)
    settled_once, usage_once = once.settle(until)
    # The sum of the settlements is the balance drop, the same as settling once, and never below zero.
    assert sum(charged) == balance - many.balance == usage_once == balance - settled_once.balance
    assert many.balance >= 0
    assert usage_once == min(balance, pieces_usage(rate, steps, until))


@given(
    contracts=st.lists(
        st.tuples(rates, st.lists(st.tuples(gaps_us, rates), max_size=3)),
        max_size=4,
    ),
    probe_us=st.lists(st.integers(min_value=0, max_value=80 * SECONDS_PER_DAY * 1_000_000), max_size=10),
)
def test_the_account_burns_at_the_sum_of_its_contracts_at_every_instant(
    contracts: list[tuple[int, list[tuple[int, int]]]], probe_us: list[int]
) -> None:
    rated = []
    for rate, gaps in contracts:
        at, steps = T0, []
        for gap, step_rate in gaps:
            at += timedelta(microseconds=gap)
            steps.append(RateStep(effective_at=at, rate_per_day=step_rate))
        rated.append(ContractRates(rate_per_day=rate, scheduled=tuple(steps)))
    rate, schedule = domain.account_rates(rated, start=T0)
    burn = burning(1, rate, schedule)
    for probe in probe_us:
        at = T0 + timedelta(microseconds=probe)
        assert burn.rate_at(at) == sum(c.rate_at(at) for c in rated)
    # Every step is a real change, ascending.
    assert all(a.effective_at < b.effective_at for a, b in itertools.pairwise(schedule))
    assert all(
        step.rate_per_day != before
        for step, before in zip(schedule, [rate, *(s.rate_per_day for s in schedule)], strict=False)
    )


def test_a_price_rise_scheduled_ahead_shortens_the_run_out_to_the_second() -> None:
    # 10 iSC at 1 iSC/s, doubling after 4 s: 4 iSC used by then, the other 6 take 3 s more.
    rise = RateStep(effective_at=T0 + timedelta(seconds=4), rate_per_day=2 * ONE_ISC_PER_SECOND)
    burn = burning(10 * MICRO_PER_ISC, ONE_ISC_PER_SECOND, (rise,))
    assert burn.depletes_at() == T0 + timedelta(seconds=7)
    settled, usage = burn.settle(T0 + timedelta(seconds=5))
    assert usage == 4 * MICRO_PER_ISC + 2 * MICRO_PER_ISC
    assert settled.depletes_at() == T0 + timedelta(seconds=7)
    assert burn.rate_at(T0 + timedelta(seconds=3)) == ONE_ISC_PER_SECOND
    assert burn.rate_at(T0 + timedelta(seconds=4)) == 2 * ONE_ISC_PER_SECOND


def test_a_new_segment_keeps_only_the_steps_ahead_of_it() -> None:
    rise = RateStep(effective_at=T0 + timedelta(seconds=4), rate_per_day=2 * ONE_ISC_PER_SECOND)
    burn = burning(10 * MICRO_PER_ISC, ONE_ISC_PER_SECOND, (rise,))
    later, usage = burn.change_rate(rate_per_day=ONE_ISC_PER_SECOND, schedule=(rise,), at=T0 + timedelta(seconds=5))
    assert usage == 6 * MICRO_PER_ISC
    # From 5 s on, the step at 4 s has already happened: the segment starts at its rate.
    assert (later.rate_per_day, later.schedule) == (2 * ONE_ISC_PER_SECOND, ())
    assert later.depletes_at() == T0 + timedelta(seconds=7)


def test_usage_of_a_piece_is_rounded_up_on_its_own() -> None:
    # Two pieces of 1 µs at 1 µiSC/day each cost 1 µiSC: rounding never creates credit, per piece.
    step = RateStep(effective_at=T0 + US, rate_per_day=2)
    burn = burning(MICRO_PER_ISC, 1, (step,))
    _, usage = burn.settle(T0 + 2 * US)
    assert usage == usage_for(rate_per_day=1, elapsed_us=1) + usage_for(rate_per_day=2, elapsed_us=1) == 2


def test_the_warning_ladder_as_instants_is_the_run_out_minus_each_threshold_ascending() -> None:
    due = T0 + timedelta(days=30)
    instants = domain.warning_instants(depletes_at=due, thresholds_s=[86_400, 7 * 86_400, 3 * 86_400])
    assert instants == [due - timedelta(days=7), due - timedelta(days=3), due - timedelta(days=1)]
    assert domain.warning_instants(depletes_at=None, thresholds_s=[86_400]) == []


def test_an_accounts_own_ladder_is_refused_outside_the_bounds() -> None:
    assert domain.checked_thresholds([60, 3600, 60], min_s=1, max_s=86_400, max_count=3) == (3600, 60)
    for ladder in ([], [0], [86_401], [1, 2, 3, 4]):
        with pytest.raises(domain.WarningThresholdsOutOfBounds) as refused:
            domain.checked_thresholds(ladder, min_s=1, max_s=86_400, max_count=3)
        assert refused.value.code == "warning_thresholds_out_of_bounds"
