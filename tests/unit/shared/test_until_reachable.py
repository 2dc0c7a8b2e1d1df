"""Start-up steps retry while their dependency is away, and only then: `shared.runtime.until_reachable`."""

from __future__ import annotations

import asyncpg
import pytest

from shared.runtime import broker_away, database_away_at_start, until_reachable


class Flaky:
    """A start-up step that fails with `error` the first `failures` times."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "up"


async def test_a_step_is_retried_while_its_dependency_is_away_and_then_succeeds() -> None:
    step = Flaky(2, asyncpg.CannotConnectNowError("the database system is starting up"))
    assert await until_reachable("database", step, away=database_away_at_start, within_s=10) == "up"
    assert step.calls == 3


async def test_a_server_with_no_connection_slot_left_is_waited_for_at_start() -> None:
    step = Flaky(2, asyncpg.TooManyConnectionsError("remaining connection slots are reserved"))
    assert await until_reachable("database", step, away=database_away_at_start, within_s=10) == "up"
    assert step.calls == 3


async def test_an_error_that_is_not_the_dependency_away_fails_at_once() -> None:
    step = Flaky(5, asyncpg.InvalidPasswordError("password authentication failed"))
    with pytest.raises(asyncpg.InvalidPasswordError):
        await until_reachable("database", step, away=database_away_at_start, within_s=10)
    assert step.calls == 1


async def test_it_gives_up_after_its_budget() -> None:
    step = Flaky(100, ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(ConnectionRefusedError):
        await until_reachable("broker", step, away=broker_away, within_s=0.5)
    assert 2 <= step.calls <= 3  # waits of 0.2 s, then 0.4 s would pass the budget
