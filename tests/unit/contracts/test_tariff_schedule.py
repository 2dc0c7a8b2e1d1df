"""The increase rule of scheduled tariff changes and a contract's scheduled rates, as properties."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import domain
from contracts.domain import RateChange, RentedUnit, TariffIncreaseTooSoon

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(days=7)

rates = st.integers(min_value=0, max_value=10**9)
offsets_s = st.integers(min_value=-86_400, max_value=20 * 86_400)
pending_changes = st.lists(st.tuples(st.integers(min_value=1, max_value=20 * 86_400), rates), max_size=4)


def changes(raw: list[tuple[int, int]]) -> list[RateChange]:
    return sorted(
        {RateChange(NOW + timedelta(seconds=s), r) for s, r in {s: r for s, r in raw}.items()},
        key=lambda c: c.effective_at,
    )


@given(rate=rates, raw=pending_changes, new_rate=rates, offset_s=offsets_s)
def test_an_accepted_change_never_raises_the_announced_price_before_one_lease(
    rate: int, raw: list[tuple[int, int]], new_rate: int, offset_s: int
) -> None:
    pending = changes(raw)
    effective = max(NOW, NOW + timedelta(seconds=offset_s))
    try:
        domain.check_tariff_change(
            rate_per_day=rate,
            pending=pending,
            new_rate_per_day=new_rate,
            effective_at=effective,
            rented=True,
            now=NOW,
            lease=LEASE,
        )
    except TariffIncreaseTooSoon:
        return
    if effective == NOW:
        new_base, new_pending = new_rate, []
    else:
        new_base, new_pending = (
            rate,
            [*(c for c in pending if c.effective_at < effective), RateChange(effective, new_rate)],
        )
    # Every second of the lease ahead: the new price is never above the one bundles were signed with.
    for second in range(0, int(LEASE.total_seconds()), 3_600):
        at = NOW + timedelta(seconds=second)
        assert domain.rate_at(new_base, new_pending, at) <= domain.rate_at(rate, pending, at)


def test_a_rise_one_lease_ahead_is_accepted_a_moment_sooner_refused_and_an_unrented_product_changes_at_once() -> None:
    def check(effective: datetime, *, rented: bool = True) -> None:
        domain.check_tariff_change(
            rate_per_day=2,
            pending=[],
            new_rate_per_day=3,
            effective_at=effective,
            rented=rented,
            now=NOW,
            lease=LEASE,
        )

    check(NOW + LEASE)
    with pytest.raises(TariffIncreaseTooSoon) as refused:
        check(NOW + LEASE - timedelta(microseconds=1))
    assert refused.value.code == "tariff_increase_too_soon"
    assert refused.value.extra["earliest_effective_at"] == (NOW + LEASE).isoformat()
    check(NOW, rented=False)


def test_cancelling_a_scheduled_decrease_is_a_rise_and_waits_a_lease_too() -> None:
    decrease = RateChange(NOW + timedelta(days=1), 1)
    with pytest.raises(TariffIncreaseTooSoon):
        # Back to 2 at once would undo the decrease announced for tomorrow: tomorrow's price rises.
        domain.check_tariff_change(
            rate_per_day=2,
            pending=[decrease],
            new_rate_per_day=2,
            effective_at=NOW + timedelta(hours=1),
            rented=True,
            now=NOW,
            lease=LEASE,
        )


def test_a_contracts_scheduled_rates_are_its_whole_rate_from_each_change_on() -> None:
    domain_id = uuid.uuid4()

    def unit(product: str, rate: int) -> RentedUnit:
        return RentedUnit(domain_id, uuid.uuid4(), uuid.uuid4().hex[:12], product, rate, ())

    units = [unit("a", 2), unit("a", 2), unit("b", 5)]
    at_1, at_2, at_3 = (NOW + timedelta(days=d) for d in (8, 9, 10))
    pending = {"a": [RateChange(at_1, 3), RateChange(at_3, 3)], "b": [RateChange(at_2, 5)], "c": [RateChange(at_1, 9)]}
    # b's change keeps its rate, and a's second change too: only real changes are listed.
    assert domain.scheduled_contract_rates(units, pending, active=True) == [RateChange(at_1, 11)]
    assert domain.scheduled_contract_rates(units, pending, active=False) == []
