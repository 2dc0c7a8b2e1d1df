"""HTTP endpoints of provisioning: thin, they check who asks and call one use case."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status

from provisioning import service
from provisioning.config import Settings
from provisioning.domain import DeviceType
from provisioning.schemas import (
    DeviceRead,
    DomainCreate,
    DomainRead,
    Enrolment,
    GatewayCreate,
    GatewayRead,
    ProvisioningCodeCreate,
    ProvisioningCodeIssued,
    ProvisioningCodeRead,
)
from shared.auth import AnyRolePrincipal
from shared.errors import problem_responses
from shared.idempotency import OptionalIdempotencyKey
from shared.pagination import Cursor, Page
from shared.runtime import DbPool, Now

router = APIRouter()


async def client_address(request: Request) -> str:
    # Behind a proxy, uvicorn's --forwarded-allow-ips decides whether X-Forwarded-For may set this.
    return request.client.host if request.client else "unknown"


async def enrolment_limits(request: Request) -> service.EnrolmentLimits:
    settings = request.app.state.settings
    assert isinstance(settings, Settings)
    return service.EnrolmentLimits(
        window_s=settings.enrolment_window_s,
        failures=settings.enrolment_failures_per_window,
        attempts=settings.enrolment_attempts_per_window,
    )


ClientAddress = Annotated[str, Depends(client_address)]
Limits = Annotated[service.EnrolmentLimits, Depends(enrolment_limits)]
Limit = Annotated[int, Query(ge=1, le=200)]

# Each route declares the refusals its use case gives; 401, 403, 413 and 422 are declared for every operation
# by shared.openapi.
_NO_DOMAIN = (404, "`not_found`: no such domain (or not yours)")
_BAD_CURSOR = (400, "`invalid_cursor`")
_GATEWAY = "/domains/{domain_id}/gateways/{gateway_id}"
_NO_GATEWAY = problem_responses((404, "`not_found`: no such domain or gateway"))
_DEVICE = "/domains/{domain_id}/devices/{device_id}"
_NO_DEVICE = problem_responses((404, "`not_found`: no such domain or device"))

# --- domains ------------------------------------------------------------------------------------


@router.post(
    "/domains",
    operation_id="createDomain",
    status_code=status.HTTP_201_CREATED,
    tags=["domains"],
    responses=problem_responses(
        (404, "`not_found`: no such account (or not yours)"),
        (409, "`domain_name_taken`; `not_yet_known`: the account's event has not arrived yet, retry"),
    ),
)
async def create_domain(
    body: DomainCreate, principal: AnyRolePrincipal, pool: DbPool, idempotency_key: OptionalIdempotencyKey
) -> DomainRead:
    return await service.create_domain(
        pool, principal=principal, account_id=body.account_id, name=body.name, idempotency_key=idempotency_key
    )


@router.get(
    "/domains",
    operation_id="listDomains",
    tags=["domains"],
    responses=problem_responses(_BAD_CURSOR, (404, "`not_found`: not your account")),
)
async def list_domains(
    principal: AnyRolePrincipal,
    pool: DbPool,
    account_id: UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[DomainRead]:
    """A customer's own domains by default; partners and operators may name an account, or see all."""
    return await service.list_domains(pool, principal=principal, account_id=account_id, cursor=cursor, limit=limit)


@router.get("/domains/{domain_id}", operation_id="getDomain", tags=["domains"], responses=problem_responses(_NO_DOMAIN))
async def read_domain(domain_id: UUID, principal: AnyRolePrincipal, pool: DbPool) -> DomainRead:
    return await service.read_domain(pool, principal=principal, domain_id=domain_id)


# --- gateways -----------------------------------------------------------------------------------


@router.post(
    "/domains/{domain_id}/gateways",
    operation_id="registerGateway",
    status_code=status.HTTP_201_CREATED,
    tags=["gateways"],
    responses={
        200: {"model": GatewayRead, "description": "The same gateway was already registered; nothing changed"},
        **problem_responses(
            _NO_DOMAIN,
            (409, "`gateway_hwid_taken`, `hwid_in_other_domain`"),
            (422, "`validation_failed`, `invalid_hwid`, `invalid_product`, `invalid_public_key`"),
        ),
    },
)
async def register_gateway(
    domain_id: UUID,
    body: GatewayCreate,
    principal: AnyRolePrincipal,
    pool: DbPool,
    idempotency_key: OptionalIdempotencyKey,
    now: Now,
    response: Response,
) -> GatewayRead:
    gateway, created = await service.register_gateway(
        pool, principal=principal, domain_id=domain_id, gateway=body, idempotency_key=idempotency_key, now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return gateway


@router.get(
    "/domains/{domain_id}/gateways",
    operation_id="listGateways",
    tags=["gateways"],
    responses=problem_responses(_BAD_CURSOR, _NO_DOMAIN),
)
async def list_gateways(
    domain_id: UUID, principal: AnyRolePrincipal, pool: DbPool, cursor: Cursor = None, limit: Limit = 50
) -> Page[GatewayRead]:
    return await service.list_gateways(pool, principal=principal, domain_id=domain_id, cursor=cursor, limit=limit)


@router.get(_GATEWAY, operation_id="getGateway", tags=["gateways"], responses=_NO_GATEWAY)
async def read_gateway(domain_id: UUID, gateway_id: UUID, principal: AnyRolePrincipal, pool: DbPool) -> GatewayRead:
    return await service.read_gateway(pool, principal=principal, domain_id=domain_id, gateway_id=gateway_id)


@router.delete(
    _GATEWAY,
    operation_id="removeGateway",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["gateways"],
    responses=_NO_GATEWAY,
)
async def remove_gateway(
    domain_id: UUID, gateway_id: UUID, principal: AnyRolePrincipal, pool: DbPool, now: Now
) -> None:
    await service.remove_gateway(pool, principal=principal, domain_id=domain_id, gateway_id=gateway_id, now=now)


# --- provisioning codes -------------------------------------------------------------------------


@router.post(
    "/domains/{domain_id}/provisioning-codes",
    operation_id="issueProvisioningCode",
    status_code=status.HTTP_201_CREATED,
    tags=["provisioning"],
    description="The code is shown in this answer only. A retry with the same `Idempotency-Key` is told which "
    "code was issued (409 `provisioning_code_already_shown`, with `code_id`), never the code itself: revoke it if "
    "its answer was lost.",
    responses=problem_responses(
        _NO_DOMAIN,
        (409, "`provisioning_code_already_shown`, with `code_id`, `domain_id` and `expires_at`"),
        (422, "`validation_failed`, `invalid_code_validity`"),
    ),
)
async def issue_provisioning_code(
    domain_id: UUID,
    principal: AnyRolePrincipal,
    pool: DbPool,
    idempotency_key: OptionalIdempotencyKey,
    now: Now,
    body: ProvisioningCodeCreate | None = None,
) -> ProvisioningCodeIssued:
    request = body or ProvisioningCodeCreate()
    return await service.issue_provisioning_code(
        pool,
        principal=principal,
        domain_id=domain_id,
        max_uses=request.max_uses,
        valid_for=None if request.valid_for_s is None else timedelta(seconds=request.valid_for_s),
        idempotency_key=idempotency_key,
        now=now,
    )


@router.get(
    "/domains/{domain_id}/provisioning-codes",
    operation_id="listProvisioningCodes",
    tags=["provisioning"],
    responses=problem_responses(_BAD_CURSOR, _NO_DOMAIN),
)
async def list_provisioning_codes(
    domain_id: UUID, principal: AnyRolePrincipal, pool: DbPool, cursor: Cursor = None, limit: Limit = 50
) -> Page[ProvisioningCodeRead]:
    return await service.list_provisioning_codes(
        pool, principal=principal, domain_id=domain_id, cursor=cursor, limit=limit
    )


@router.post(
    "/domains/{domain_id}/provisioning-codes/{code_id}/revocation",
    operation_id="revokeProvisioningCode",
    tags=["provisioning"],
    responses=problem_responses((404, "`not_found`: no such domain or code")),
)
async def revoke_provisioning_code(
    domain_id: UUID, code_id: UUID, principal: AnyRolePrincipal, pool: DbPool, now: Now
) -> ProvisioningCodeRead:
    return await service.revoke_provisioning_code(
        pool, principal=principal, domain_id=domain_id, code_id=code_id, now=now
    )


@router.post(
    "/provisioning",
    operation_id="enrolDevice",
    status_code=status.HTTP_201_CREATED,
    tags=["provisioning"],
    summary="A device enrols itself with a provisioning code (no token; rate-limited per client address)",
    description="Idempotent by hardware id, so it takes no `Idempotency-Key`: the same device enrolling again "
    "into the code's domain gets its device back (200), whatever the code's state now, with no second event; "
    "nothing new is granted. With another product or type it is 409 `device_details_differ`.",
    responses={
        200: {
            "model": DeviceRead,
            "description": "This device had already enrolled into the code's domain; nothing changed",
        },
        **problem_responses(
            (404, "`provisioning_code_unknown`"),
            (409, "`hwid_in_other_domain`, `device_details_differ`"),
            (410, "`provisioning_code_expired`, `provisioning_code_used_up`, `provisioning_code_revoked`"),
            (422, "`validation_failed`, `invalid_hwid`, `invalid_product`"),
            (429, "`rate_limited`, with `retry_after_s`"),
        ),
    },
)
async def enrol_device(
    body: Enrolment, pool: DbPool, client: ClientAddress, limits: Limits, now: Now, response: Response
) -> DeviceRead:
    device, created = await service.enrol_device(pool, enrolment=body, client=client, limits=limits, now=now)
    if not created:
        response.status_code = status.HTTP_200_OK
    return device


# --- devices ------------------------------------------------------------------------------------


@router.get(
    "/domains/{domain_id}/devices",
    operation_id="listDevices",
    tags=["devices"],
    responses=problem_responses(_BAD_CURSOR, _NO_DOMAIN),
)
async def list_devices(
    domain_id: UUID,
    principal: AnyRolePrincipal,
    pool: DbPool,
    device_type: Annotated[DeviceType | None, Query(alias="type")] = None,
    product: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[DeviceRead]:
    return await service.list_devices(
        pool,
        principal=principal,
        domain_id=domain_id,
        device_type=device_type,
        product=product,
        cursor=cursor,
        limit=limit,
    )


@router.get(_DEVICE, operation_id="getDevice", tags=["devices"], responses=_NO_DEVICE)
async def read_device(domain_id: UUID, device_id: UUID, principal: AnyRolePrincipal, pool: DbPool) -> DeviceRead:
    return await service.read_device(pool, principal=principal, domain_id=domain_id, device_id=device_id)


@router.delete(
    _DEVICE, operation_id="removeDevice", status_code=status.HTTP_204_NO_CONTENT, tags=["devices"], responses=_NO_DEVICE
)
async def remove_device(domain_id: UUID, device_id: UUID, principal: AnyRolePrincipal, pool: DbPool, now: Now) -> None:
    await service.remove_device(pool, principal=principal, domain_id=domain_id, device_id=device_id, now=now)
