"""Events published by the licence distributor."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from shared.events.base import Event


class LicensingEvent(Event):
    publisher: ClassVar[str] = "licensing"
    subject_field: ClassVar[str | None] = "gateway_id"
    gateway_id: UUID


class BundleIssued(LicensingEvent):
    domain_id: UUID
    seq: int
    expires_at: datetime | None


class GatewayReconnected(LicensingEvent):
    domain_id: UUID
    seq_held: int


class GatewayRebootOrdered(LicensingEvent):
    reason: str
