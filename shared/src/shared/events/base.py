"""Event schema base: every event is a past-tense fact, a pydantic model owned by its publisher."""

from __future__ import annotations

import re
from typing import ClassVar

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
