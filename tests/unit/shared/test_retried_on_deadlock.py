"""A use case chosen as a deadlock's victim runs again; one that keeps losing gives up with the deadlock."""

from __future__ import annotations

import asyncpg
import pytest

from shared.db import retried_on_deadlock


class Flaky:
    """A step that loses `losses` deadlocks before it succeeds."""

    def __init__(self, losses: int) -> None:
        self.losses = losses
        self.tries = 0

    async def __call__(self) -> str:
        self.tries += 1
        if self.tries <= self.losses:
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        return "done"


async def test_a_step_that_lost_a_deadlock_runs_again_until_it_succeeds() -> None:
    step = Flaky(losses=2)
    assert await retried_on_deadlock(step, attempts=3) == "done"
    assert step.tries == 3


async def test_a_step_that_keeps_losing_gives_up_with_the_deadlock() -> None:
    step = Flaky(losses=3)
    with pytest.raises(asyncpg.DeadlockDetectedError):
        await retried_on_deadlock(step, attempts=3)
    assert step.tries == 3


async def test_any_other_failure_is_not_retried() -> None:
    tries = 0

    async def broken() -> None:
        nonlocal tries
        tries += 1
        raise asyncpg.UniqueViolationError("duplicate key")

    with pytest.raises(asyncpg.UniqueViolationError):
        await retried_on_deadlock(broken)
    assert tries == 1
