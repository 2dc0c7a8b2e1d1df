"""Start-up steps retry while their dependency is away, and only then: `shared.runtime.until_reachable`."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from aiormq.exceptions import (
    ChannelAccessRefused,
    ChannelClosed,
    ChannelInvalidStateError,
    ChannelPreconditionFailed,
    ConnectionClosed,
)

from shared.messaging.broker import is_broker_away
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


# How a node lost in the middle of a step's declarations shows (aiormq 7): the cluster fault run found a restarted
# contracts process exiting at start-up on the first of these, its node pausing while it declared its queue.
LOST_MID_STEP: list[BaseException] = [
    ChannelInvalidStateError("<Channel: 1> closed"),
    ChannelClosed(320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"),
    ChannelClosed(None, None),
    ConnectionClosed(320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"),
    TimeoutError(),
    asyncio.CancelledError(),  # aiormq's, failing what was in flight: not this task being cancelled
]


@pytest.mark.parametrize("error", LOST_MID_STEP, ids=lambda e: type(e).__name__)
async def test_a_broker_node_lost_in_the_middle_of_a_step_is_the_broker_away(error: BaseException) -> None:
    assert is_broker_away(error)
    step = Flaky(2, error)  # type: ignore[arg-type]  # CancelledError is a BaseException
    assert await until_reachable("broker", step, away=broker_away, within_s=10) == "up"
    assert step.calls == 3


@pytest.mark.parametrize(
    "error",
    [
        ChannelPreconditionFailed("PRECONDITION_FAILED - inequivalent arg 'x-queue-type'"),
        ChannelAccessRefused("ACCESS_REFUSED"),
        ValueError("a bug"),
        RuntimeError("broker not connected"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_refused_declaration_is_not_the_broker_away_and_fails_at_once(error: Exception) -> None:
    assert not is_broker_away(error)
    step = Flaky(5, error)
    with pytest.raises(type(error)):
        await until_reachable("broker", step, away=broker_away, within_s=10)
    assert step.calls == 1


async def test_cancelling_the_task_itself_is_never_retried() -> None:
    started = asyncio.Event()

    async def forever() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    task = asyncio.create_task(until_reachable("broker", forever, away=broker_away, within_s=10))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_attempt_past_its_own_deadline_is_given_up_and_tried_again() -> None:
    calls = 0

    async def hangs_once() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.Event().wait()  # a declaration waiting on a reconnect that never comes
        return "up"

    assert await until_reachable("broker", hangs_once, away=broker_away, within_s=10, attempt_within_s=0.2) == "up"
    assert calls == 2
