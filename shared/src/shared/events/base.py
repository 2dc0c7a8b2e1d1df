"""Event schema base: every event is a past-tense fact, a pydantic model owned by its publisher."""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Event(BaseModel):
    """Payload (`data`) of a CloudEvent. `publisher` is the service; the routing key is derived from both."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    publisher: ClassVar[str]
    # The aggregate the event is about (the CloudEvents `subject`); a field name of the model.
    subject_field: ClassVar[str | None] = None

    @classmethod
    def event_name(cls) -> str:
        return _snake(cls.__name__)

    @classmethod
    def routing_key(cls) -> str:
        return f"{cls.publisher}.{cls.event_name()}"

    def subject(self) -> str | None:
        if self.subject_field is None:
            return None
        return str(getattr(self, self.subject_field))


class RentalVersion(BaseModel):
    """One version of a contract's rental (`RentalChanged.version`)."""

    contract_id: UUID
    version: int


class CaughtUpWithTestClock(Event):
    """A service did all its own due work for a test clock's accounts up to `frozen_time` (`TestClockAdvanced`);
    `next_due_at` is its next instant with work due on that clock (None: nothing scheduled), which the wallet's
    next step of the clock does not pass. Each follower publishes its own subclass."""

    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name
    subject_field: ClassVar[str | None] = "clock_id"
    clock_id: UUID
    frozen_time: datetime
    next_due_at: datetime | None = None
    # The announcement answered (`TestClockAdvanced.step`).
    step: int = 0
    # The rental versions (`RentalChanged`) the catch-up published: the wallet moves the clock on only once it has
    # applied them (another replica of it may be at one still).
    rental_versions: list[RentalVersion] = []
