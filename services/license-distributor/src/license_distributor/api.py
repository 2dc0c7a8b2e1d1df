"""HTTP and WebSocket endpoints of the licence distributor. Thin: each calls one use case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, FastAPI, Header, Request, Response, WebSocket, status

from license_distributor import service
from license_distributor.config import Settings
from license_distributor.gateway_session import serve_gateway
from license_distributor.hub import GatewayHub
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
from shared.auth import AnyRolePrincipal, OperatorPrincipal
from shared.errors import problem_responses
from shared.runtime import DbPool, get_runtime


def _settings(app: FastAPI) -> Settings:
    settings = app.state.settings
    assert isinstance(settings, Settings)
    return settings


@asynccontextmanager
async def gateway_hub_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs inside the service's lifespan (pool and broker are up): this replica's hub of gateway sessions."""
    runtime = app.state.runtime
    hub = GatewayHub(pool=runtime.pool, broker=runtime.broker, heartbeat_interval_s=_settings(app).heartbeat_interval_s)
    await hub.start(startup_wait_s=_settings(app).startup_wait_s)
    app.state.gateway_hub = hub
    if not any(getattr(r, "path", None) == "/.well-known/jwks.json" for r in app.routes):
        # The JWKS lives at the well-known path, outside the `/v1` prefix every service router gets.
        app.include_router(well_known)
    try:
        yield
    finally:
        await hub.stop()


router = APIRouter(tags=["licences"], lifespan=gateway_hub_lifespan)
well_known = APIRouter(tags=["licences"])


@well_known.get("/.well-known/jwks.json", response_model=JwksRead, summary="Public keys that sign bundles")
async def jwks(request: Request, response: Response) -> JwksRead:
    # Short cache: during a rotation gateways must see the new key soon.
    response.headers["Cache-Control"] = "public, max-age=60"
    return JwksRead.model_validate(await service.published_jwks(get_runtime(request).pool))


@router.websocket("/gateways/connect")
async def gateway_connect(websocket: WebSocket) -> None:
    await serve_gateway(websocket, hub=websocket.app.state.gateway_hub, settings=_settings(websocket.app))


@router.post(
    "/gateways/{hwid}/challenge",
    status_code=status.HTTP_201_CREATED,
    response_model=PullChallengeRead,
    summary="A one-time nonce for pulling a bundle over HTTP",
)
async def create_pull_challenge(hwid: str, request: Request, pool: DbPool) -> PullChallengeRead:
    ttl = timedelta(seconds=_settings(request.app).pull_challenge_ttl_s)
    nonce, expires_at = await service.issue_pull_challenge(pool, hwid=hwid, now=datetime.now(UTC), ttl=ttl)
    return PullChallengeRead(nonce=nonce, expires_at=expires_at, signs=auth_message(nonce=nonce, hwid=hwid).decode())


@router.get(
    "/gateways/{hwid}/bundle",
    response_model=BundleRead,
    summary="Pull the current bundle (204 when the gateway already holds it)",
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
    seq_held: Annotated[int, Header(alias="X-Gateway-Seq", ge=0)] = 0,
) -> Response | BundleRead:
    delivery = await service.pull_bundle(
        pool,
        hwid=hwid,
        nonce=nonce,
        signature=signature,
        seq_held=seq_held,
        now=datetime.now(UTC),
        issuer=_settings(request.app).bundle_issuer,
    )
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
    domain_id: UUID, request: Request, pool: DbPool, principal: AnyRolePrincipal
) -> DomainLicencesRead:
    view = await service.domain_licences(
        pool,
        principal=principal,
        domain_id=domain_id,
        now=datetime.now(UTC),
        heartbeat_interval_s=_settings(request.app).heartbeat_interval_s,
    )
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
        gateways=[
            GatewayLicenceRead(
                gateway_id=g.gateway_id,
                hwid=g.hwid,
                product=g.product,
                online=g.online,
                seq=g.current_seq,
                acknowledged_seq=g.acknowledged_seq,
                last_seen_at=g.last_seen_at,
            )
            for g in view.gateways
        ],
    )


@router.post(
    "/signing-keys/rotation",
    status_code=status.HTTP_201_CREATED,
    response_model=KeyRotationRead,
    summary="Operator: a new signing key; every gateway's bundle is re-signed with it",
)
async def rotate_signing_key(request: Request, pool: DbPool, principal: OperatorPrincipal) -> KeyRotationRead:
    kid, reissued = await service.rotate_signing_key(
        pool, now=datetime.now(UTC), issuer=_settings(request.app).bundle_issuer
    )
    return KeyRotationRead(kid=kid, bundles_reissued=reissued)
