"""Events published by provisioning."""

from __future__ import annotations

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
