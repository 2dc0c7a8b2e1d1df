"""HTTP request and response shapes of provisioning.

Hardware ids, products and keys arrive as plain (length-capped) strings and are checked by the rules in
`domain`, so a bad one is refused with its own `code` (`invalid_hwid`, `invalid_public_key`, ...). The
document states the same formats (`pattern`), so a client (or a fuzzer) knows them beforehand; a public key
that has the format but is no usable Ed25519 point is still refused (422 `invalid_public_key`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from provisioning.domain import MAX_CODE_VALIDITY, DeviceType
from shared.validation import NO_NUL, WholeNumber

# The formats `domain` checks, for the document only (the domain refuses with its own codes).
HWID_PATTERN = r"^([0-9a-fA-F]{12}|[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}|[0-9a-fA-F]{2}(-[0-9a-fA-F]{2}){5})$"
PRODUCT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
# 32 bytes in unpadded base64url: 43 symbols, the last one with its two unused low bits clear.
PUBLIC_KEY_PATTERN = r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"
_MAX_VALID_FOR_S = int(MAX_CODE_VALIDITY.total_seconds())


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
    hwid: str = Field(max_length=64, examples=["0004f2a1b2c3"], json_schema_extra={"pattern": HWID_PATTERN})
    product: str = Field(max_length=64, examples=["GW4"], json_schema_extra={"pattern": PRODUCT_PATTERN})
    public_key: str = Field(
        max_length=128,
        description="base64url of the raw 32-byte Ed25519 public key",
        json_schema_extra={"pattern": PUBLIC_KEY_PATTERN},
    )


class GatewayRead(BaseModel):
    id: UUID
    domain_id: UUID
    hwid: str
    product: str
    public_key: str
    registered_at: datetime


class ProvisioningCodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Whole numbers: a JSON `true` or "5" is not a number of uses or seconds (found by the fuzzer); 5.0 is 5.
    max_uses: WholeNumber = Field(default=1, ge=1, le=10_000, description="devices this code may enrol")
    # The bounds are the domain's (422 `invalid_code_validity`), stated in the document too.
    valid_for_s: (
        Annotated[WholeNumber, Field(json_schema_extra={"minimum": 60, "maximum": _MAX_VALID_FOR_S})] | None
    ) = Field(default=None, description="lifetime in seconds; 24 h when omitted")


class ProvisioningCodeIssued(BaseModel):
    """The only time the code itself is shown: it is stored as a hash."""

    id: UUID
    domain_id: UUID
    code: str
    expires_at: datetime
    max_uses: int


class ProvisioningCodeAlreadyShown(BaseModel):
    """What a retry of an issue with the same Idempotency-Key is told (409 `provisioning_code_already_shown`).

    The code itself is not kept for the retry (it exists only as a hash): the caller learns which code was
    issued, so they can revoke it if its answer was lost, and issue another with a new key.
    """

    code_id: UUID
    domain_id: UUID
    expires_at: datetime


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
    hwid: str = Field(max_length=64, examples=["0004f2a1b2c3"], json_schema_extra={"pattern": HWID_PATTERN})
    product: str = Field(max_length=64, examples=["D717"], json_schema_extra={"pattern": PRODUCT_PATTERN})
    type: DeviceType


class DeviceRead(BaseModel):
    id: UUID
    domain_id: UUID
    hwid: str
    product: str
    type: DeviceType
    provisioned_at: datetime
