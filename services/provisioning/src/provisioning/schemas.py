"""HTTP request and response shapes of provisioning.

Hardware ids, products and keys arrive as plain (length-capped) strings and are checked by the rules in
`domain`, so a bad one is refused with its own `code` (`invalid_hwid`, `invalid_public_key`, ...).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from provisioning.domain import DeviceType
from shared.validation import NO_NUL


class DomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: UUID
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class DomainRead(BaseModel):
    id: UUID
    account_id: UUID
    name: str


class GatewayCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hwid: str = Field(max_length=64, examples=["0004f2a1b2c3"])
    product: str = Field(max_length=64, examples=["GW4"])
    public_key: str = Field(max_length=128, description="base64url of the raw 32-byte Ed25519 public key")


class GatewayRead(BaseModel):
    id: UUID
    domain_id: UUID
    hwid: str
    product: str
    public_key: str
    registered_at: datetime


class ProvisioningCodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Strict: a JSON `true` or "5" is not a number of uses or seconds (found by the fuzzer).
    max_uses: int = Field(default=1, ge=1, le=10_000, strict=True, description="devices this code may enrol")
    valid_for_s: int | None = Field(default=None, strict=True, description="lifetime in seconds; 24 h when omitted")


class ProvisioningCodeIssued(BaseModel):
    """The only time the code itself is shown: it is stored as a hash."""

    id: UUID
    domain_id: UUID
    code: str
    expires_at: datetime
    max_uses: int


class ProvisioningCodeRead(BaseModel):
    id: UUID
    domain_id: UUID
    hint: str = Field(description="the code's last four symbols")
    expires_at: datetime
    max_uses: int
    uses: int
    revoked_at: datetime | None
    created_at: datetime


class Enrolment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=64, examples=["7KQ4-M2ZD-9XHT"])
    hwid: str = Field(max_length=64, examples=["0004f2a1b2c3"])
    product: str = Field(max_length=64, examples=["D717"])
    type: DeviceType


class DeviceRead(BaseModel):
    id: UUID
    domain_id: UUID
    hwid: str
    product: str
    type: DeviceType
    provisioned_at: datetime
