"""The burn-down arithmetic and the ledger postings, as properties over arbitrary histories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.money import MICRO_PER_ISC, SECONDS_PER_DAY
from wallet import domain
from wallet.domain import Book, Burn

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ONE_ISC_PER_SECOND = MICRO_PER_ISC * SECONDS_PER_DAY  # micro-iSC per day

rates = st.integers(min_value=0, max_value=10**12)
amounts = st.integers(min_value=1, max_value=10**12)
steps_us = st.integers(min_value=0, max_value=10 * SECONDS_PER_DAY * 1_000_000)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("load"), amounts, steps_us),
        st.tuples(st.just("rate"), rates, steps_us),
        st.tuples(st.just("scheduled"), rates, steps_us),
        st.tuples(st.just("settle"), st.just(0), steps_us),
        st.tuples(st.just("adjust"), st.integers(min_value=-(10**12), max_value=10**12).filter(bool), steps_us),
        st.tuples(st.just("run_out"), st.just(0), steps_us),
        st.tuples(st.just("settle_in_the_past"), steps_us, steps_us),
    ),
    max_size=40,
)


@dataclass
class Books:
    """What the service writes to the ledger, replayed in memory."""

    postings: list[domain.Posting] = field(default_factory=list)
    loaded: int = 0
    used: int = 0
    adjusted: int = 0

    def post_usage(self, usage: int) -> None:
        if usage:
            self.postings.append(domain.usage_posting(usage))
            self.used += usage

    def post_load(self, amount: int) -> None:
        self.postings.append(domain.redemption_posting(amount))
        self.loaded += amount

    def total(self, book: Book) -> int:
        return sum(amount for posting in self.postings for b, amount in posting.lines if b is book)


def _catch_up(burn: Burn, books: Books, at: datetime) -> Burn:
    due = burn.depletes_at()
    if due is not None and due <= at:
        burn, usage = burn.deplete()
        books.post_usage(usage)
    return burn


@settings(max_examples=300, deadline=None)
@given(operations)
def test_any_history_keeps_the_ledger_balanced_and_the_balance_equal_to_loaded_minus_used(
    ops: list[tuple[str, int, int]],
) -> None:
    burn, books, now = Burn.opened(T0), Books(), T0
    for kind, value, step in ops:
        now += timedelta(microseconds=step)
        assert burn.balance_at(now) >= 0
        if kind == "load":
            burn = _catch_up(burn, books, now)
            burn, usage = burn.load(amount=value, at=now)
            books.post_usage(usage)
            books.post_load(value)
        elif kind == "rate":
            burn = _catch_up(burn, books, now)
            burn, usage = burn.change_rate(rate_per_day=value, at=now)
            books.post_usage(usage)
        elif kind == "scheduled":
            # A rate now and a rise (or a fall) scheduled ahead: later operations cross the step, or not.
            burn = _catch_up(burn, books, now)
            ahead = domain.RateStep(effective_at=now + timedelta(microseconds=step + 1), rate_per_day=3 * value // 2)
            burn, usage = burn.change_rate(rate_per_day=value, schedule=(ahead,), at=now)
            books.post_usage(usage)
        elif kind == "adjust":
            burn = _catch_up(burn, books, now)
            try:
                burn, usage = burn.adjust(amount=value, at=now)
            except domain.InsufficientBalance:
                assert burn.balance_at(now) < -value
                continue
            books.post_usage(usage)
            books.postings.append(domain.adjustment_posting(value))
            books.adjusted += value
        elif kind == "settle":
            burn, usage = burn.settle(now)
            books.post_usage(usage)
        elif kind == "settle_in_the_past":
            # A clock that lags (another replica's) never moves the settlement back nor charges anything.
            earlier, usage = burn.settle(burn.settled_at - timedelta(microseconds=value))
            assert (earlier, usage) == (burn, 0)
        else:
            burn = _catch_up(burn, books, now)
        assert sum(amount for posting in books.postings for _, amount in posting.lines) == 0
        assert burn.balance == books.loaded + books.adjusted - books.used == books.total(Book.CUSTOMER_WALLET)
        assert burn.balance >= 0
        assert burn.segment_used >= 0
        due = burn.depletes_at()
        if due is not None and due < domain.FAR_FUTURE:
            assert burn.balance_at(due) == 0


@settings(max_examples=300, deadline=None)
@given(
    rate=rates,
    balance=amounts,
    steps=st.lists(st.integers(min_value=0, max_value=SECONDS_PER_DAY * 1_000_000), min_size=1, max_size=50),
)
def test_settling_in_many_small_steps_never_costs_more_than_settling_once(
    rate: int, balance: int, steps: list[int]
) -> None:
    start = Burn.opened(T0)
    start, _ = start.load(amount=balance, at=T0)
    start, _ = start.change_rate(rate_per_day=rate, at=T0)
    stepwise, total, now = start, 0, T0
    for step in steps:
        now += timedelta(microseconds=step)
        stepwise, usage = stepwise.settle(now)
        total += usage
    _, once = start.settle(now)
    assert total <= once
    assert once - total <= len(steps)
    assert stepwise.balance == start.balance - total


@settings(max_examples=300, deadline=None)
@given(rate=st.integers(min_value=1, max_value=10**12), balance=amounts, used_before=steps_us)
def test_depletes_at_is_the_first_microsecond_at_which_the_balance_reads_zero(
    rate: int, balance: int, used_before: int
) -> None:
    burn, _ = Burn.opened(T0).load(amount=balance, at=T0)
    burn, _ = burn.change_rate(rate_per_day=rate, at=T0)
    burn, _ = burn.settle(T0 + timedelta(microseconds=used_before))
    due = burn.depletes_at()
    if burn.balance == 0:
        assert due == burn.settled_at
        return
    assert due is not None
    if due == domain.FAR_FUTURE:
        return
    assert burn.balance_at(due) == 0
    assert burn.balance_at(due - timedelta(microseconds=1)) > 0
    depleted, usage = burn.deplete()
    assert usage == burn.balance
    assert depleted.balance == 0
    assert depleted.depletes_at() is None


def test_one_isc_per_second_runs_five_isc_out_in_exactly_five_seconds() -> None:
    burn, _ = Burn.opened(T0).load(amount=5 * MICRO_PER_ISC, at=T0)
    burn, _ = burn.change_rate(rate_per_day=ONE_ISC_PER_SECOND, at=T0)
    assert burn.depletes_at() == T0 + timedelta(seconds=5)
    assert burn.balance_at(T0 + timedelta(seconds=2, microseconds=500_000)) == 2_500_000
    assert burn.balance_at(T0 + timedelta(seconds=60)) == 0


def test_usage_is_rounded_up_so_rounding_never_creates_credit() -> None:
    burn, _ = Burn.opened(T0).load(amount=10, at=T0)
    burn, _ = burn.change_rate(rate_per_day=1, at=T0)  # one micro-iSC per day
    assert burn.balance_at(T0 + timedelta(microseconds=1)) == 9


def test_the_balance_never_goes_below_zero_however_late_it_is_settled() -> None:
    burn, _ = Burn.opened(T0).load(amount=MICRO_PER_ISC, at=T0)
    burn, _ = burn.change_rate(rate_per_day=ONE_ISC_PER_SECOND, at=T0)
    settled, usage = burn.settle(T0 + timedelta(days=30))
    assert (settled.balance, usage) == (0, MICRO_PER_ISC)


def test_credit_loaded_after_a_run_out_burns_from_the_load_not_from_the_run_out() -> None:
    burn, _ = Burn.opened(T0).load(amount=MICRO_PER_ISC, at=T0)
    burn, _ = burn.change_rate(rate_per_day=ONE_ISC_PER_SECOND, at=T0)
    burn, _ = burn.deplete()
    assert burn.depleted
    assert burn.depletes_at() is None
    later = T0 + timedelta(hours=1)
    burn, usage = burn.load(amount=3 * MICRO_PER_ISC, at=later)
    assert usage == 0
    assert burn.depletes_at() == later + timedelta(seconds=3)


def test_an_empty_balance_that_starts_burning_is_due_to_run_out_at_once() -> None:
    burn, _ = Burn.opened(T0).change_rate(rate_per_day=ONE_ISC_PER_SECOND, at=T0 + timedelta(seconds=1))
    assert burn.depletes_at() == T0 + timedelta(seconds=1)


def test_postings_that_do_not_sum_to_zero_are_refused() -> None:
    with pytest.raises(domain.BurnError):
        domain.Posting(domain.EntryKind.ADJUSTMENT, ((Book.CUSTOMER_WALLET, 5), (Book.ADJUSTMENTS, -4)))
