"""HTTP and WebSocket shapes of the licence distributor."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

HWID_PATTERN = r"^[0-9a-fA-F]{12}$"
# A signing key's id as the distributor makes them (`bundle-<12 hex>`), in the JWK `kid` character set.
KID_PATTERN = r"^[A-Za-z0-9._-]{1,100}$"


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


class RejectMessage(BaseModel):
    """The gateway refused the bundle `seq` it was sent; `reason` is its refusal (the simulator's `Rejection`)."""

    type: Literal["reject"]
    seq: int = Field(ge=1)
    reason: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")


class BundleRead(BaseModel):
    """A pull's answer: the current bundle, when the gateway's seq is older."""

    seq: int
    jws: str


class PullChallengeRead(BaseModel):
    nonce: str
    expires_at: datetime
    # What the gateway signs, as on the WebSocket; sent back in `X-Gateway-Signature`.
    signs: str


class LicensedDeviceRead(BaseModel):
    """A device a bundle lets run (provisioning's `DeviceRead` is the provisioned device itself)."""

    hwid: str
    product: str


class LicenceRead(BaseModel):
    type: str
    count: int


class BundleContentRead(BaseModel):
    devices: list[LicensedDeviceRead]
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


class JwkRead(BaseModel):
    """A public Ed25519 key that signs bundles (RFC 8037): a bundle's `kid` names one of these."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    # The public key, unpadded base64url.
    x: str
    kid: str
    use: Literal["sig"] = "sig"
    alg: Literal["EdDSA"] = "EdDSA"


class JwksRead(BaseModel):
    keys: list[JwkRead]


class KeyRevocationRead(BaseModel):
    """What a revocation did: the key left the JWKS, and every bundle it signed was re-signed with `replaced_by`."""

    kid: str
    status: Literal["revoked"]
    revoked_at: datetime
    # The key that signs from now on; `rotated`: a new key made for it, because the revoked key was the one signing
    # (its rotation, `rotation_id`, re-signs whatever still waited for an earlier rotation).
    replaced_by: str
    rotated: bool
    rotation_id: UUID | None
    # Re-signed in the revocation's own transaction: the bundles (one per gateway) and the domains they belong to.
    bundles_resigned: int
    domains_resigned: int
