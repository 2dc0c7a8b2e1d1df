"""The clock every use case, handler and job reads time from.

The composition root (`shared.runtime.main`) hands a `SystemClock` down; tests hand a `MovableClock` and move it.
Nothing below the composition root reads the wall clock itself, so a test can put an account days ahead
without waiting, and a later test clock (one simulated time per tenant) needs no change to the use cases.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...

    async def sleep_until(self, instant: datetime, *, at_most_s: float) -> None:
        """Wait until `instant` on this clock, or `at_most_s` seconds, or until the clock is moved."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, instant: datetime, *, at_most_s: float) -> None:
        await asyncio.sleep(max(0.0, min(at_most_s, (instant - self.now()).total_seconds())))


class MovableClock:
    """The machine's clock, moved forward by `advance`, or held still at one instant inside `held_at`.

    For tests (an account's run-out a day ahead without waiting a day) and for rehearsals of what real time
    would do; production runs on `SystemClock`.
    """

    def __init__(self) -> None:
        self.offset = timedelta()
        self._held: datetime | None = None
        # Set (and replaced) whenever the clock is moved: whoever sleeps on it wakes and looks again.
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._held if self._held is not None else datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta():
            raise ValueError("a clock moves forward only")
        self.offset += by
        if self._held is not None:
            self._held += by
        self._wake_sleepers()
        return self.now()

    async def sleep_until(self, instant: datetime, *, at_most_s: float) -> None:
        moved = self._moved
        wait_s = max(0.0, min(at_most_s, (instant - self.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(moved.wait(), timeout=wait_s)

    def _wake_sleepers(self) -> None:
        self._moved.set()
        self._moved = asyncio.Event()

    @contextmanager
    def held_at(self, instant: datetime) -> Iterator[None]:
        """Every reading inside the block is `instant`; afterwards the clock runs on as before."""
        if instant.tzinfo is None:
            raise ValueError("a clock's instants are timezone-aware")
        before, self._held = self._held, instant
        self._wake_sleepers()
        try:
            yield
        finally:
            self._held = before
            self._wake_sleepers()
