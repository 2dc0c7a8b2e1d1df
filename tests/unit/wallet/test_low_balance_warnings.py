"""BalanceLow: each threshold once per run-down, weekly from 7 weeks, then 3 days and 1 day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wallet import domain

DAY = 86_400
NOW = datetime(2026, 11, 28, tzinfo=UTC)
THRESHOLDS = domain.DEFAULT_LOW_BALANCE_THRESHOLDS_S


def _walk_down(depletes_at: datetime, *, start: datetime, warned: int | None = None) -> tuple[list[int], int | None]:
    """Follow the scheduler: evaluate at each next_check_at until none is left; return the warnings."""
    warnings: list[int] = []
    at: datetime | None = start
    while at is not None:
        check = domain.check_low_balance(
            thresholds_s=THRESHOLDS, depletes_at=depletes_at, now=at, warned_threshold_s=warned
        )
        if check.warn_threshold_s is not None:
            warnings.append(check.warn_threshold_s)
        warned, at = check.warned_threshold_s, check.next_check_at
    return warnings, warned


def test_the_defaults_are_weekly_from_seven_weeks_then_three_days_and_one_day() -> None:
    assert [t // DAY for t in THRESHOLDS] == [49, 42, 35, 28, 21, 14, 7, 3, 1]


def test_a_full_run_down_announces_every_threshold_exactly_once_in_order() -> None:
    warnings, _ = _walk_down(NOW + timedelta(days=60), start=NOW)
    assert warnings == list(THRESHOLDS)


def test_a_sudden_drop_announces_only_the_tightest_threshold_crossed() -> None:
    warnings, _ = _walk_down(NOW + timedelta(days=2), start=NOW)
    assert warnings == [3 * DAY, 1 * DAY]


def test_a_top_up_starts_a_new_run_down_without_repeating_what_still_applies() -> None:
    _, warned = _walk_down(NOW + timedelta(days=2), start=NOW)  # warned down to 1 day
    assert warned == 1 * DAY
    # Credit pushes the run-out to 10 days away: 14 days still applies (not repeated); 7, 3, 1 are due again.
    warnings, _ = _walk_down(NOW + timedelta(days=10), start=NOW, warned=warned)
    assert warnings == [7 * DAY, 3 * DAY, 1 * DAY]


def test_nothing_is_announced_while_nothing_burns() -> None:
    check = domain.check_low_balance(thresholds_s=THRESHOLDS, depletes_at=None, now=NOW, warned_threshold_s=DAY)
    assert check == domain.LowBalanceCheck(warn_threshold_s=None, warned_threshold_s=None, next_check_at=None)
