"""Events published by provisioning."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from shared.events.base import Event


class DomainCreated(Event):
    publisher: ClassVar[str] = "provisioning"
    subject_field: ClassVar[str | None] = "domain_id"
    domain_id: UUID
    account_id: UUID
    name: str


class GatewayEvent(Event):
    publisher: ClassVar[str] = "provisioning"
    subject_field: ClassVar[str | None] = "gateway_id"
    gateway_id: UUID
    domain_id: UUID
    account_id: UUID
    hwid: str
    product: str


class GatewayRegistered(GatewayEvent):
    # base64url of the raw 32-byte Ed25519 public key
    public_key: str


class GatewayRemoved(GatewayEvent):
    pass


class DeviceType(StrEnum):
    """What kind of hardware enrols. Kept small on purpose: contracts and the licences key off it."""

    PHONE = "PHONE"  # a desk IP phone
    DECT = "DECT"  # a DECT base station or handset
    GW = "GW"  # a gateway enrolled as rentable hardware
    ATA = "ATA"  # an analogue telephone adapter
    CONFERENCE = "CONFERENCE"  # a conference phone


class DeviceEvent(Event):
    publisher: ClassVar[str] = "provisioning"
    subject_field: ClassVar[str | None] = "device_id"
    device_id: UUID
    domain_id: UUID
    account_id: UUID
    hwid: str
    product: str
    type: str


class DeviceProvisioned(DeviceEvent):
    pass


class DeviceRemoved(DeviceEvent):
    pass
