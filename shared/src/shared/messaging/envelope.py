"""CloudEvents 1.0 envelope in JSON structured mode, plus the W3C `traceparent` extension."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict

CONTENT_TYPE = "application/cloudevents+json"


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = "1.0"
    # The outbox row id: stable across re-publishing, so the inbox can recognise duplicates.
    id: str
    source: str
    # The routing key, e.g. `wallet.balance_depleted`.
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any]
    traceparent: str | None = None

    @classmethod
    def of(
        cls,
        *,
        id: UUID | str,
        source: str,
        type: str,
        time: datetime,
        subject: str | None,
        data: dict[str, Any],
        traceparent: str | None,
    ) -> Envelope:
        return cls(
            id=str(id),
            source=source,
            type=type,
            time=time,
            subject=subject,
            data=data,
            traceparent=traceparent,
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> Envelope:
        return cls.model_validate_json(body)
