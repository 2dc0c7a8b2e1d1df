"""HTTP endpoints of contracts: thin; who may call what, then one service call.

Roles: partners and operators open and terminate contracts; the account's customer accepts; operators
approve and set tariffs; the customer (or staff) links domains and rents. Another account's contract is 404.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, status

from contracts import service
from contracts.config import Settings
from contracts.domain import RentalStatus
from contracts.schemas import (
    LICENCE_TYPE_PATTERN,
    PRODUCT_PATTERN,
    ContractCreate,
    ContractRead,
    DeactivationCreate,
    DomainLinkCreate,
    ForecastCreate,
    ForecastRead,
    HardwareItem,
    HistoryEntryRead,
    RentalCreate,
    RentalRead,
    ReplacementCreate,
    SoftwareCountChange,
    SoftwareRentalCreate,
    SoftwareRentalEnd,
    SoftwareRentalRead,
    SoftwareTariffRead,
    SoftwareTariffWrite,
    TariffRead,
    TariffWrite,
    TerminationCreate,
)
from shared.auth import AnyRolePrincipal, OperatorPrincipal, PartnerPrincipal, Principal, Role, require_roles
from shared.errors import problem_responses
from shared.idempotency import OptionalIdempotencyKey, RequiredIdempotencyKey
from shared.pagination import Cursor, Page
from shared.runtime import DbPool, Now, clock_now, get_runtime

CustomerOrOperator = Annotated[Principal, Depends(require_roles(Role.CUSTOMER, Role.OPERATOR))]
# For routes that only ask who may call: the use case needs no principal.
ANY_ROLE = [Depends(require_roles(Role.CUSTOMER, Role.PARTNER, Role.OPERATOR))]
PARTNERS = [Depends(require_roles(Role.PARTNER, Role.OPERATOR))]
OPERATORS = [Depends(require_roles(Role.OPERATOR))]
Limit = Annotated[int, Query(ge=1, le=200)]
Product = Annotated[str, Path(pattern=PRODUCT_PATTERN)]


async def contract_now(contract_id: UUID, request: Request) -> datetime:
    """The instant a request on the contract in the path acts at: the time of the test clock its account lives on,
    or contracts' own clock's. Reads the pool and the clock off the request (each declared dependency costs a
    request more than reading them)."""
    return await service.contract_now(get_runtime(request).pool, contract_id, now=clock_now(request))


ContractNow = Annotated[datetime, Depends(contract_now)]

router = APIRouter(tags=["contracts"])

# Each route declares the refusals its use case gives; 401, 403, 413, 422 and the Idempotency-Key's 400 are
# declared for every operation by shared.openapi.
_NO_CONTRACT = (404, "`not_found`: no such contract (or not yours)")
_BAD_CURSOR = (400, "`invalid_cursor`")


@router.post(
    "/contracts",
    operation_id="openContract",
    status_code=status.HTTP_201_CREATED,
    summary="Open a contract (draft) for an account",
    responses=problem_responses(
        (404, "`not_found`: no such account (or not yours)"),
        (409, "`not_yet_known`: the account's event has not arrived yet, retry"),
    ),
)
async def open_contract(
    body: ContractCreate, principal: PartnerPrincipal, pool: DbPool, now: Now, key: OptionalIdempotencyKey
) -> ContractRead:
    return await service.open_contract(
        pool, principal=principal, account_id=body.account_id, idempotency_key=key, now=now
    )


@router.get(
    "/contracts",
    operation_id="listContracts",
    summary="Contracts (a customer sees only their account's)",
    responses=problem_responses(_BAD_CURSOR),
)
async def list_contracts(
    principal: AnyRolePrincipal,
    pool: DbPool,
    account_id: UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ContractRead]:
    return await service.list_contracts(pool, principal=principal, account_id=account_id, cursor=cursor, limit=limit)


@router.get(
    "/contracts/{contract_id}",
    operation_id="getContract",
    summary="A contract",
    responses=problem_responses(_NO_CONTRACT),
)
async def get_contract(contract_id: UUID, principal: AnyRolePrincipal, pool: DbPool) -> ContractRead:
    return await service.get_contract(pool, principal=principal, contract_id=contract_id)


@router.post(
    "/contracts/{contract_id}/acceptance",
    operation_id="acceptContract",
    summary="The customer accepts the draft",
    responses=problem_responses(_NO_CONTRACT, (409, "`contract_not_draft`")),
)
async def accept_contract(
    contract_id: UUID, principal: CustomerOrOperator, pool: DbPool, now: ContractNow
) -> ContractRead:
    return await service.accept_contract(pool, principal=principal, contract_id=contract_id, now=now)


@router.post(
    "/contracts/{contract_id}/approval",
    operation_id="approveContract",
    summary="An operator approves: the contract is active",
    responses=problem_responses(_NO_CONTRACT, (409, "`contract_not_pending_approval`")),
)
async def approve_contract(
    contract_id: UUID, principal: OperatorPrincipal, pool: DbPool, now: ContractNow
) -> ContractRead:
    return await service.approve_contract(pool, principal=principal, contract_id=contract_id, now=now)


@router.post(
    "/contracts/{contract_id}/termination",
    operation_id="terminateContract",
    summary="Terminate: every rental ends",
    responses=problem_responses(_NO_CONTRACT, (409, "`contract_already_terminated`")),
)
async def terminate_contract(
    contract_id: UUID,
    principal: PartnerPrincipal,
    pool: DbPool,
    now: ContractNow,
    key: RequiredIdempotencyKey,
    body: TerminationCreate | None = None,
) -> ContractRead:
    # It ends every rental, so it moves money: a retry must return the first answer, as activations do.
    reason = (body or TerminationCreate()).reason
    return await service.terminate_contract(
        pool, principal=principal, contract_id=contract_id, reason=reason, idempotency_key=key, now=now
    )


@router.post(
    "/contracts/{contract_id}/domains",
    operation_id="linkDomain",
    status_code=status.HTTP_201_CREATED,
    summary="Link a domain of the account",
    responses=problem_responses(
        (404, "`not_found`: no such contract or domain (or not yours)"),
        (
            409,
            "`contract_already_terminated`, `domain_of_another_account`, `domain_already_linked`, "
            "`domain_linked_elsewhere`; `not_yet_known`: the domain's event has not arrived yet, retry",
        ),
    ),
)
async def link_domain(
    contract_id: UUID,
    body: DomainLinkCreate,
    principal: AnyRolePrincipal,
    pool: DbPool,
    now: ContractNow,
    key: OptionalIdempotencyKey,
) -> ContractRead:
    return await service.link_domain(
        pool, principal=principal, contract_id=contract_id, domain_id=body.domain_id, idempotency_key=key, now=now
    )


@router.delete(
    "/contracts/{contract_id}/domains/{domain_id}",
    operation_id="unlinkDomain",
    summary="Unlink a domain (nothing of it rented)",
    responses=problem_responses(_NO_CONTRACT, (409, "`domain_not_linked`, `domain_has_active_rentals`")),
)
async def unlink_domain(
    contract_id: UUID, domain_id: UUID, principal: AnyRolePrincipal, pool: DbPool, now: ContractNow
) -> ContractRead:
    return await service.unlink_domain(pool, principal=principal, contract_id=contract_id, domain_id=domain_id, now=now)


@router.get(
    "/contracts/{contract_id}/hardware",
    operation_id="listHardware",
    summary="Provisioned devices of the linked domains",
    responses=problem_responses(_BAD_CURSOR, _NO_CONTRACT),
)
async def list_hardware(
    contract_id: UUID, principal: AnyRolePrincipal, pool: DbPool, cursor: Cursor = None, limit: Limit = 100
) -> Page[HardwareItem]:
    return await service.list_hardware(pool, principal=principal, contract_id=contract_id, cursor=cursor, limit=limit)


@router.post(
    "/contracts/{contract_id}/rentals",
    operation_id="activateRental",
    status_code=status.HTTP_201_CREATED,
    summary="Activate a device's rental",
    responses=problem_responses(
        (404, "`not_found`: no such contract or device (or not yours)"),
        (
            409,
            "`contract_not_active`, `no_credit`, `device_removed`, `domain_not_linked`, `product_not_rentable`, "
            "`device_already_rented`; `not_yet_known`: the device's event has not arrived yet, retry",
        ),
    ),
)
async def activate_rental(
    contract_id: UUID,
    body: RentalCreate,
    principal: AnyRolePrincipal,
    pool: DbPool,
    now: ContractNow,
    key: RequiredIdempotencyKey,
) -> RentalRead:
    return await service.activate_rental(
        pool, principal=principal, contract_id=contract_id, device_id=body.device_id, idempotency_key=key, now=now
    )


@router.get(
    "/contracts/{contract_id}/rentals",
    operation_id="listRentals",
    summary="Rentals of the contract, newest first",
    responses=problem_responses(_BAD_CURSOR, _NO_CONTRACT),
)
async def list_rentals(
    contract_id: UUID,
    principal: AnyRolePrincipal,
    pool: DbPool,
    rental_status: Annotated[RentalStatus | None, Query(alias="status")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[RentalRead]:
    return await service.list_rentals(
        pool, principal=principal, contract_id=contract_id, status=rental_status, cursor=cursor, limit=limit
    )


@router.get(
    "/contracts/{contract_id}/rentals/{rental_id}",
    operation_id="getRental",
    summary="A rental",
    responses=problem_responses((404, "`not_found`: no such contract or rental (or not yours)")),
)
async def get_rental(contract_id: UUID, rental_id: UUID, principal: AnyRolePrincipal, pool: DbPool) -> RentalRead:
    return await service.get_rental(pool, principal=principal, contract_id=contract_id, rental_id=rental_id)


@router.post(
    "/contracts/{contract_id}/rentals/{rental_id}/replacement",
    operation_id="replaceDevice",
    status_code=status.HTTP_201_CREATED,
    summary="Replace the device (RMA): the rental carries on on the new device",
    responses=problem_responses(
        (404, "`not_found`: no such contract, rental or device (or not yours)"),
        (
            409,
            "`contract_not_active`, `rental_not_active`, `replacement_is_same_device`, `device_already_rented` "
            "and the other activation rules; `not_yet_known`: the device's event has not arrived yet, retry",
        ),
    ),
)
async def replace_device(
    contract_id: UUID,
    rental_id: UUID,
    body: ReplacementCreate,
    principal: AnyRolePrincipal,
    pool: DbPool,
    now: ContractNow,
    key: RequiredIdempotencyKey,
) -> RentalRead:
    return await service.replace_device(
        pool,
        principal=principal,
        contract_id=contract_id,
        rental_id=rental_id,
        device_id=body.device_id,
        idempotency_key=key,
        now=now,
    )


@router.post(
    "/contracts/{contract_id}/rentals/{rental_id}/deactivation",
    operation_id="deactivateRental",
    summary="End a rental",
    responses=problem_responses(
        (404, "`not_found`: no such contract or rental (or not yours)"), (409, "`rental_not_active`")
    ),
)
async def deactivate_rental(
    contract_id: UUID,
    rental_id: UUID,
    principal: AnyRolePrincipal,
    pool: DbPool,
    now: ContractNow,
    key: RequiredIdempotencyKey,
    body: DeactivationCreate | None = None,
) -> RentalRead:
    return await service.deactivate_rental(
        pool,
        principal=principal,
        contract_id=contract_id,
        rental_id=rental_id,
        reason=(body or DeactivationCreate()).reason,
        idempotency_key=key,
        now=now,
    )


@router.get(
    "/contracts/{contract_id}/history",
    operation_id="listHistory",
    summary="Everything that happened, newest first",
    responses=problem_responses(_BAD_CURSOR, _NO_CONTRACT),
)
async def history(
    contract_id: UUID, principal: AnyRolePrincipal, pool: DbPool, cursor: Cursor = None, limit: Limit = 50
) -> Page[HistoryEntryRead]:
    return await service.history(pool, principal=principal, contract_id=contract_id, cursor=cursor, limit=limit)


async def contracts_settings(request: Request) -> Settings:
    settings = request.app.state.settings
    if not isinstance(settings, Settings):
        raise TypeError("contracts runs with the contracts settings")
    return settings


@router.put(
    "/tariffs/{product}",
    operation_id="setTariff",
    summary="Set a product's tariff, at once or from `effective_at`; active rentals follow from then on",
    dependencies=OPERATORS,
    responses=problem_responses(
        (
            409,
            "`tariff_increase_too_soon` (with `earliest_effective_at`): a rented product's price rises no earlier "
            "than one lease after it is set",
        ),
        (422, "`first_tariff_takes_effect_at_once`"),
    ),
)
async def set_tariff(
    product: Product,
    body: TariffWrite,
    pool: DbPool,
    settings: Annotated[Settings, Depends(contracts_settings)],
    now: Now,
) -> TariffRead:
    return await service.set_tariff(
        pool,
        product=product,
        rate_per_day=body.rate_per_day,
        licences=body.licences,
        effective_at=body.effective_at,
        lease=timedelta(seconds=settings.lease_s),
        now=now,
    )


@router.get(
    "/tariffs",
    operation_id="listTariffs",
    summary="Every tariff (a product without one is not rentable)",
    dependencies=ANY_ROLE,
)
async def list_tariffs(pool: DbPool) -> Page[TariffRead]:
    return await service.list_tariffs(pool)


@router.get(
    "/tariffs/{product}",
    operation_id="getTariff",
    summary="A product's tariff",
    responses=problem_responses((404, "`not_found`: no tariff for this product")),
    dependencies=ANY_ROLE,
)
async def get_tariff(product: Product, pool: DbPool) -> TariffRead:
    return await service.get_tariff(pool, product=product)


# --- software rental ----------------------------------------------------------------------------------------

LicenceType = Annotated[str, Path(pattern=LICENCE_TYPE_PATTERN)]
_NO_SOFTWARE_RENTAL = (404, "`not_found`: no such contract or software rental (or not yours)")


@router.put(
    "/software-tariffs/{licence_type}",
    operation_id="setSoftwareTariff",
    summary="Set a licence type's tariff per licence per day, at once or from `effective_at`",
    dependencies=OPERATORS,
    responses=problem_responses(
        (
            409,
            "`tariff_increase_too_soon` (with `earliest_effective_at`): a rented type's price rises no earlier "
            "than one lease after it is set",
        ),
        (422, "`first_tariff_takes_effect_at_once`"),
    ),
)
async def set_software_tariff(
    licence_type: LicenceType,
    body: SoftwareTariffWrite,
    pool: DbPool,
    settings: Annotated[Settings, Depends(contracts_settings)],
    now: Now,
) -> SoftwareTariffRead:
    return await service.set_software_tariff(
        pool,
        licence_type=licence_type,
        rate_per_day=body.rate_per_day,
        effective_at=body.effective_at,
        lease=timedelta(seconds=settings.lease_s),
        now=now,
    )


@router.get(
    "/software-tariffs",
    operation_id="listSoftwareTariffs",
    summary="Every software tariff (a licence type without one is not rentable)",
    dependencies=ANY_ROLE,
)
async def list_software_tariffs(pool: DbPool) -> Page[SoftwareTariffRead]:
    return await service.list_software_tariffs(pool)


@router.get(
    "/software-tariffs/{licence_type}",
    operation_id="getSoftwareTariff",
    summary="A licence type's tariff",
    responses=problem_responses((404, "`not_found`: no tariff for this licence type")),
    dependencies=ANY_ROLE,
)
async def get_software_tariff(licence_type: LicenceType, pool: DbPool) -> SoftwareTariffRead:
    return await service.get_software_tariff(pool, licence_type=licence_type)


@router.post(
    "/contracts/{contract_id}/software-rentals",
    operation_id="startSoftwareRental",
    status_code=status.HTTP_201_CREATED,
    summary="Rent software licences for a linked domain",
    responses=problem_responses(
        _NO_CONTRACT,
        (
            409,
            "`contract_not_active`, `no_credit`, `domain_not_linked`, `licence_type_not_rentable`, "
            "`software_rental_exists`",
        ),
    ),
)
async def start_software_rental(
    contract_id: UUID,
    body: SoftwareRentalCreate,
    principal: AnyRolePrincipal,
    pool: DbPool,
    now: ContractNow,
    key: RequiredIdempotencyKey,
) -> SoftwareRentalRead:
    return await service.start_software_rental(
        pool,
        principal=principal,
        contract_id=contract_id,
        domain_id=body.domain_id,
        licence_type=body.type,
        count=body.count,
        idempotency_key=key,
        now=now,
    )


@router.get(
    "/contracts/{contract_id}/software-rentals",
    operation_id="listSoftwareRentals",
    summary="Software rentals of the contract, newest first",
    responses=problem_responses(_BAD_CURSOR, _NO_CONTRACT),
)
async def list_software_rentals(
    contract_id: UUID,
    principal: AnyRolePrincipal,
    pool: DbPool,
    active: bool = False,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[SoftwareRentalRead]:
    return await service.list_software_rentals(
        pool, principal=principal, contract_id=contract_id, active_only=active, cursor=cursor, limit=limit
    )


@router.get(
    "/contracts/{contract_id}/software-rentals/{rental_id}",
    operation_id="getSoftwareRental",
    summary="A software rental",
    responses=problem_responses(_NO_SOFTWARE_RENTAL),
)
async def get_software_rental(
    contract_id: UUID, rental_id: UUID, principal: AnyRolePrincipal, pool: DbPool
) -> SoftwareRentalRead:
    return await service.get_software_rental(pool, principal=principal, contract_id=contract_id, rental_id=rental_id)


@router.post(
    "/contracts/{contract_id}/software-rentals/{rental_id}/count-change",
    operation_id="changeSoftwareCount",
    summary="Change how many licences the rental holds",
    responses=problem_responses(_NO_SOFTWARE_RENTAL, (409, "`contract_not_active`, `no_credit`, `rental_not_active`")),
)
async def change_software_count(
    contract_id: UUID,
    rental_id: UUID,
    body: SoftwareCountChange,
    principal: AnyRolePrincipal,
    pool: DbPool,
    now: ContractNow,
    key: RequiredIdempotencyKey,
) -> SoftwareRentalRead:
    return await service.change_software_count(
        pool,
        principal=principal,
        contract_id=contract_id,
        rental_id=rental_id,
        count=body.count,
        idempotency_key=key,
        now=now,
    )


@router.post(
    "/contracts/{contract_id}/software-rentals/{rental_id}/ending",
    operation_id="endSoftwareRental",
    summary="End a software rental",
    responses=problem_responses(_NO_SOFTWARE_RENTAL, (409, "`rental_not_active`")),
)
async def end_software_rental(
    contract_id: UUID,
    rental_id: UUID,
    principal: AnyRolePrincipal,
    pool: DbPool,
    now: ContractNow,
    key: RequiredIdempotencyKey,
    body: SoftwareRentalEnd | None = None,
) -> SoftwareRentalRead:
    return await service.end_software_rental(
        pool,
        principal=principal,
        contract_id=contract_id,
        rental_id=rental_id,
        reason=(body or SoftwareRentalEnd()).reason,
        idempotency_key=key,
        now=now,
    )


# --- forecast -------------------------------------------------------------------------------------------------


@router.post(
    "/contracts/{contract_id}/forecast",
    operation_id="forecastRunway",
    summary="What if: the account's burn rate and run-out now and after a change, committing nothing",
    responses=problem_responses(
        (404, "`not_found`: no such contract, rental or device (or not yours)"),
        (
            409,
            "the refusals the real change would give (`rental_not_active`, `device_already_rented`, "
            "`product_not_rentable`, `device_removed`, `domain_not_linked`, `licence_type_not_rentable`); "
            "`not_yet_known`: the account's runway or a device has not arrived yet, retry",
        ),
    ),
)
async def forecast(
    contract_id: UUID, body: ForecastCreate, principal: AnyRolePrincipal, pool: DbPool, now: ContractNow
) -> ForecastRead:
    return await service.forecast(pool, principal=principal, contract_id=contract_id, plan=body, now=now)
