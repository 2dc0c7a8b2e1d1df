"""HTTP and WebSocket endpoints of the licence distributor. Thin: each calls one use case."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response, WebSocket, status

from license_distributor import service
from license_distributor.config import Settings
from license_distributor.gateway_session import HUB, serve_gateway
from license_distributor.hub import GatewayHub
from license_distributor.rotation import KEY_ROTATIONS, KeyRotationWorker
from license_distributor.schemas import (
    BundleContentRead,
    BundleRead,
    DeviceRead,
    DomainLicencesRead,
    GatewayLicenceRead,
    JwksRead,
    KeyRotationRead,
    LicenceRead,
    PullChallengeRead,
)
from license_distributor.signing import auth_message
from shared.auth import AnyRolePrincipal, OperatorPrincipal, Role, require_roles
from shared.errors import problem_responses
from shared.idempotency import OptionalIdempotencyKey
from shared.runtime import DbPool, Now, Runtime, get_runtime


def _settings(app: FastAPI) -> Settings:
    settings = app.state.settings
    assert isinstance(settings, Settings)
    return settings


router = APIRouter(tags=["licences"])
# The JWKS lives at the well-known path, outside the `/v1` prefix every service router gets.
well_known = APIRouter(tags=["licences"])


@well_known.get("/.well-known/jwks.json", response_model=JwksRead, summary="Public keys that sign bundles")
async def jwks(request: Request, response: Response) -> JwksRead:
    # Short cache: during a rotation gateways must see the new key soon.
    response.headers["Cache-Control"] = "public, max-age=60"
    return JwksRead.model_validate(await service.published_jwks(get_runtime(request).pool))


@router.websocket("/gateways/connect")
async def gateway_connect(websocket: WebSocket) -> None:
    # Served by `GatewaySockets` ahead of the app; this route is for anything that calls the router directly.
    runtime: Runtime[Settings] = websocket.app.state.runtime
    await serve_gateway(websocket, hub=runtime.component(HUB, GatewayHub), settings=runtime.settings)


@router.post(
    "/gateways/{hwid}/challenge",
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
    floor: Annotated[int | None, Header(alias="X-Gateway-Floor", ge=0)] = None,
) -> Response | BundleRead:
    settings = _settings(request.app)
    pull = service.Identify(hwid=hwid, nonce=nonce, signature=signature, seq_held=seq_held, floor=floor)
    delivery = await service.pull_bundle(pool, pull=pull, now=now, issuer=settings.bundle_issuer, lease=settings.lease)
    if delivery is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return BundleRead(seq=delivery.seq, jws=delivery.jws)


@router.get(
    "/domains/{domain_id}/licences",
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
    )
    return _domain_licences_read(view)


def _domain_licences_read(view: service.DomainLicences) -> DomainLicencesRead:
    content = view.content
    return DomainLicencesRead(
        domain_id=view.domain_id,
        account_id=view.account_id,
        bundle=BundleContentRead(
            devices=[DeviceRead(hwid=d.hwid, product=d.product) for d in content.devices],
            licences=[LicenceRead(type=lic.type, count=lic.count) for lic in content.licences],
            expires_at=content.expires_at,
            stop_reason=content.stop_reason,
            warnings_at=list(content.warnings),
        ),
        gateways=[GatewayLicenceRead.model_validate(g, from_attributes=True) for g in view.gateways],
    )


@router.post(
    "/signing-keys/rotation",
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
    rotation = await service.request_key_rotation(pool, principal=principal, idempotency_key=idempotency_key, now=now)
    get_runtime(request).component(KEY_ROTATIONS, KeyRotationWorker).wake()
    response.headers["Location"] = f"/v1/signing-keys/rotations/{rotation.id}"
    return rotation


@router.get(
    "/signing-keys/rotations/{rotation_id}",
    response_model=KeyRotationRead,
    summary="Operator: how far a signing-key rotation has got",
    responses=problem_responses((404, "`not_found`: no such rotation")),
    dependencies=[Depends(require_roles(Role.OPERATOR))],
)
async def get_key_rotation(rotation_id: UUID, pool: DbPool) -> KeyRotationRead:
    return await service.key_rotation(pool, rotation_id=rotation_id)
