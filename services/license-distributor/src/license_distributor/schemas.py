"""HTTP and WebSocket shapes of the licence distributor."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

HWID_PATTERN = r"^[0-9a-fA-F]{12}$"


class IdentifyMessage(BaseModel):
    type: Literal["identify"]
    hwid: str = Field(pattern=HWID_PATTERN)
    product: str = Field(max_length=100)
    version: str = Field(default="", max_length=100)
    # The bundle it holds and enforces (0: none).
    seq: int = Field(ge=0)
    # The highest seq it ever accepted (default: `seq`, as an older gateway sends only that).
    floor: int | None = Field(default=None, ge=0)
    signature: str = Field(max_length=200)


class AckMessage(BaseModel):
    type: Literal["ack"]
    seq: int = Field(ge=0)


class BundleRead(BaseModel):
    """A pull's answer: the current bundle, when the gateway's seq is older."""

    seq: int
    jws: str


class PullChallengeRead(BaseModel):
    nonce: str
    expires_at: datetime
    # What the gateway signs, as on the WebSocket; sent back in `X-Gateway-Signature`.
    signs: str


class DeviceRead(BaseModel):
    hwid: str
    product: str


class LicenceRead(BaseModel):
    type: str
    count: int


class BundleContentRead(BaseModel):
    devices: list[DeviceRead]
    licences: list[LicenceRead]
    expires_at: datetime | None
    # Why nothing may run, when nothing may: nothing_rented, contract_inactive, contract_ended, depleted.
    stop_reason: str | None
    warnings_at: list[datetime]


class GatewayLicenceRead(BaseModel):
    gateway_id: UUID
    hwid: str
    product: str
    online: bool
    seq: int
    acknowledged_seq: int
    last_seen_at: datetime | None


class DomainLicencesRead(BaseModel):
    domain_id: UUID
    account_id: UUID
    bundle: BundleContentRead
    gateways: list[GatewayLicenceRead]


class KeyRotationRead(BaseModel):
    """A signing-key rotation, carried out in the background; follow it until `status` is `completed`."""

    id: UUID
    kid: str
    # in_progress, completed, or superseded (a newer rotation took over the rest of its work).
    status: Literal["in_progress", "completed", "superseded"]
    requested_at: datetime
    completed_at: datetime | None
    # Live gateways when it was requested; bundles it has re-signed so far.
    gateways_total: int
    bundles_reissued: int
    # Over the live gateways now: how many hold a bundle signed with the new key, and acknowledged it.
    gateways_live: int
    gateways_resigned: int
    gateways_acknowledged: int


class JwksRead(BaseModel):
    keys: list[dict[str, str]]
