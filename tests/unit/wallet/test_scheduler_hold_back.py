"""The scheduler's hold-back of a failing account: a back-off doubling from 1 s to 5 min, reset by a success,
and forgotten once the account has not failed again for the longest back-off. Time is passed in, not read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from wallet.scheduler import HeldBack

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ACCOUNT = uuid.uuid4()


def test_each_failure_doubles_the_back_off_up_to_five_minutes() -> None:
    held = HeldBack()
    delays = [(held.failed(ACCOUNT, T0) - T0).total_seconds() for _ in range(12)]
    assert delays[:5] == [1, 2, 4, 8, 16]
    assert delays[-1] == 300
    assert held.now_held(T0) == {ACCOUNT}
    assert held.next_retry(T0) == T0 + timedelta(seconds=300)


def test_an_account_is_passed_over_until_its_retry_and_a_success_resets_it() -> None:
    held = HeldBack()
    held.failed(ACCOUNT, T0)
    held.failed(ACCOUNT, T0)  # retry at T0 + 2 s
    assert held.now_held(T0 + timedelta(seconds=1)) == {ACCOUNT}
    assert held.now_held(T0 + timedelta(seconds=3)) == set()
    held.succeeded(ACCOUNT)
    assert (held.failed(ACCOUNT, T0) - T0).total_seconds() == 1


def test_an_account_that_stops_failing_is_forgotten_after_the_longest_back_off() -> None:
    held = HeldBack()
    for _ in range(4):
        held.failed(ACCOUNT, T0)  # retry at T0 + 8 s, fourth failure
    held.now_held(T0 + timedelta(seconds=8 + 299))
    assert ACCOUNT in held.failures
    held.now_held(T0 + timedelta(seconds=8 + 301))
    assert ACCOUNT not in held.failures
    assert (held.failed(ACCOUNT, T0) - T0).total_seconds() == 1
