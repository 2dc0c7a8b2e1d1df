"""HTTP and WebSocket endpoints of the licence distributor. Thin: each calls one use case."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Request, Response, WebSocket, status

from license_distributor import service
from license_distributor.config import Settings
from license_distributor.gateway_session import HUB, serve_gateway
from license_distributor.hub import GatewayHub
from license_distributor.rotation import KEY_ROTATIONS, KeyRotationWorker
from license_distributor.schemas import (
    KID_PATTERN,
    BundleContentRead,
    BundleRead,
    DomainLicencesRead,
    GatewayLicenceRead,
    JwksRead,
    KeyRevocationRead,
    KeyRotationRead,
    LicenceRead,
    LicensedDeviceRead,
    PullChallengeRead,
)
from license_distributor.signing import auth_message
from shared.auth import AnyRolePrincipal, OperatorPrincipal, Role, require_roles
from shared.errors import problem_responses
from shared.idempotency import OptionalIdempotencyKey, RequiredIdempotencyKey
from shared.runtime import DbPool, Now, Runtime, get_runtime


def _settings(app: FastAPI) -> Settings:
    settings = app.state.settings
    assert isinstance(settings, Settings)
    return settings


router = APIRouter(tags=["licences"])
# The JWKS lives at the well-known path, outside the `/v1` prefix every service router gets.
well_known = APIRouter(tags=["licences"])


@well_known.get(
    "/.well-known/jwks.json", operation_id="getJwks", response_model=JwksRead, summary="Public keys that sign bundles"
)
async def jwks(request: Request, response: Response, now: Now) -> JwksRead:
    # Short cache: during a rotation gateways must see the new key soon, and a revoked key gone.
    response.headers["Cache-Control"] = "public, max-age=60"
    # A replica that missed three heartbeats is presumed gone, with its sessions.
    alive_after = now - timedelta(seconds=3 * _settings(request.app).heartbeat_interval_s)
    return JwksRead.model_validate(
        await service.published_jwks(get_runtime(request).pool, now=now, alive_after=alive_after)
    )


@router.websocket("/gateways/connect")
async def gateway_connect(websocket: WebSocket) -> None:
    # Served by `GatewaySockets` ahead of the app; this route is for anything that calls the router directly.
    runtime: Runtime[Settings] = websocket.app.state.runtime
    await serve_gateway(websocket, hub=runtime.component(HUB, GatewayHub), settings=runtime.settings)


@router.post(
    "/gateways/{hwid}/challenge",
    operation_id="createPullChallenge",
    status_code=status.HTTP_201_CREATED,
    response_model=PullChallengeRead,
    summary="A one-time nonce for pulling a bundle over HTTP",
    description="Not idempotent, by nature: each call issues a new nonce, which answers one pull only.",
)
async def create_pull_challenge(hwid: str, request: Request, pool: DbPool, now: Now) -> PullChallengeRead:
    ttl = timedelta(seconds=_settings(request.app).pull_challenge_ttl_s)
    nonce, expires_at = await service.issue_pull_challenge(pool, hwid=hwid, now=now, ttl=ttl)
    return PullChallengeRead(nonce=nonce, expires_at=expires_at, signs=auth_message(nonce=nonce, hwid=hwid).decode())


@router.get(
    "/gateways/{hwid}/bundle",
    operation_id="pullBundle",
    response_model=BundleRead,
    summary="Pull the current bundle (204 when the gateway already holds it)",
    description="`X-Gateway-Seq`: the bundle held (0: none); `X-Gateway-Floor`: the highest seq ever accepted "
    "(default: the seq held). The current bundle is sent whenever it is not the one held, above the floor.",
    responses={
        204: {"description": "The seq held is current"},
        **problem_responses((401, "`invalid_challenge`, `unknown_gateway`, `bad_signature`")),
    },
)
async def pull_bundle(
    hwid: str,
    request: Request,
    pool: DbPool,
    nonce: Annotated[str, Header(alias="X-Gateway-Nonce")],
    signature: Annotated[str, Header(alias="X-Gateway-Signature")],
    now: Now,
    seq_held: Annotated[int, Header(alias="X-Gateway-Seq", ge=0)] = 0,
    # Absent (an older gateway) or below the seq held: the seq held is the floor (`Identify.seq_floor`).
    floor: Annotated[int, Header(alias="X-Gateway-Floor", ge=0)] = 0,
) -> Response | BundleRead:
    settings = _settings(request.app)
    pull = service.Identify(hwid=hwid, nonce=nonce, signature=signature, seq_held=seq_held, floor=floor)
    delivery = await service.pull_bundle(pool, pull=pull, now=now, issuer=settings.bundle_issuer, lease=settings.lease)
    if delivery is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return BundleRead(seq=delivery.seq, jws=delivery.jws)


@router.get(
    "/domains/{domain_id}/licences",
    operation_id="getDomainLicences",
    response_model=DomainLicencesRead,
    summary="The domain's current bundle and, per gateway, online state and acknowledged seq",
    responses=problem_responses((404, "`not_found`: no such domain (or not yours)")),
)
async def domain_licences(
    domain_id: UUID, request: Request, pool: DbPool, principal: AnyRolePrincipal, now: Now
) -> DomainLicencesRead:
    view = await service.domain_licences(
        pool,
        principal=principal,
        domain_id=domain_id,
        now=now,
        heartbeat_interval_s=_settings(request.app).heartbeat_interval_s,
        lease=_settings(request.app).lease,
    )
    return _domain_licences_read(view)


def _domain_licences_read(view: service.DomainLicences) -> DomainLicencesRead:
    content = view.content
    return DomainLicencesRead(
        domain_id=view.domain_id,
        account_id=view.account_id,
        bundle=BundleContentRead(
            devices=[LicensedDeviceRead(hwid=d.hwid, product=d.product) for d in content.devices],
            licences=[LicenceRead(type=lic.type, count=lic.count) for lic in content.licences],
            expires_at=content.expires_at,
            stop_reason=content.stop_reason,
            warnings_at=list(content.warnings),
        ),
        gateways=[GatewayLicenceRead.model_validate(g, from_attributes=True) for g in view.gateways],
    )


@router.post(
    "/signing-keys/rotation",
    operation_id="rotateSigningKey",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=KeyRotationRead,
    summary="Operator: a new signing key; every gateway's bundle is re-signed with it in the background",
    responses={202: {"description": "Accepted; follow the rotation at the `Location` given"}},
)
async def rotate_signing_key(
    request: Request,
    response: Response,
    pool: DbPool,
    principal: OperatorPrincipal,
    idempotency_key: OptionalIdempotencyKey,
    now: Now,
) -> KeyRotationRead:
    grace = timedelta(seconds=_settings(request.app).key_grace_s)
    rotation = await service.request_key_rotation(
        pool, principal=principal, idempotency_key=idempotency_key, now=now, grace=grace
    )
    get_runtime(request).component(KEY_ROTATIONS, KeyRotationWorker).wake()
    response.headers["Location"] = f"/v1/signing-keys/rotations/{rotation.id}"
    return rotation


@router.get(
    "/signing-keys/rotations/{rotation_id}",
    operation_id="getKeyRotation",
    response_model=KeyRotationRead,
    summary="Operator: how far a signing-key rotation has got",
    responses=problem_responses((404, "`not_found`: no such rotation")),
    dependencies=[Depends(require_roles(Role.OPERATOR))],
)
async def get_key_rotation(rotation_id: UUID, pool: DbPool) -> KeyRotationRead:
    return await service.key_rotation(pool, rotation_id=rotation_id)


@router.post(
    "/signing-keys/{kid}/revocation",
    operation_id="revokeSigningKey",
    response_model=KeyRevocationRead,
    summary="Operator: unpublish a signing key at once and re-sign every bundle it signed with the current key",
    description="If the key is the one signing now, a new key is made first (a rotation). The key is never "
    "published or used again. Needs an Idempotency-Key: a retry answers the first revocation.",
    responses=problem_responses((404, "`not_found`: no such signing key"), (409, "`signing_key_already_revoked`")),
)
async def revoke_signing_key(
    kid: Annotated[str, Path(pattern=KID_PATTERN)],
    request: Request,
    pool: DbPool,
    principal: OperatorPrincipal,
    idempotency_key: RequiredIdempotencyKey,
    now: Now,
) -> KeyRevocationRead:
    settings = _settings(request.app)
    revocation = await service.revoke_signing_key(
        pool,
        principal=principal,
        kid=kid,
        idempotency_key=idempotency_key,
        now=now,
        issuer=settings.bundle_issuer,
        grace=timedelta(seconds=settings.key_grace_s),
        lease=settings.lease,
    )
    # Domains still on older keys (an earlier rotation unfinished) are the worker's; wake it for them.
    get_runtime(request).component(KEY_ROTATIONS, KeyRotationWorker).wake()
    return revocation
