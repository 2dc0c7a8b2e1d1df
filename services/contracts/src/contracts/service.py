"""Contracts use cases: one function, one transaction, events into the outbox inside it.

HTTP use cases take the pool and open their own transaction; event-driven ones take the connection of the
inbox transaction they run in. Every change of what a contract rents publishes its fact event and a new
`RentalChanged` (a full snapshot with the next version) while the contract row is locked, so versions
follow commit order and the snapshot of version N is exactly the state version N committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

import asyncpg
import structlog

from contracts import domain, repository
from contracts.domain import (
    ContractStatus,
    DeviceFacts,
    DomainSnapshot,
    FirstTariffTakesEffectAtOnce,
    Funding,
    RentalStatus,
    RentedUnit,
    SoftwareRentalStatus,
    SoftwareUnit,
    Transition,
)
from contracts.repository import (
    ActiveRental,
    Contract,
    KnownDevice,
    KnownDomain,
    LockedContract,
    Rental,
    SoftwareRental,
    Tariff,
    TariffChange,
)
from contracts.schemas import (
    ContractRead,
    ForecastCreate,
    ForecastRead,
    HardwareItem,
    HistoryEntryRead,
    LicenceSpec,
    RentalRead,
    RunwayForecast,
    ScheduledSoftwareTariffRead,
    ScheduledTariffRead,
    SoftwareRentalRead,
    SoftwareTariffRead,
    TariffRead,
)
from shared import auto_reload
from shared.auth import Principal, Role
from shared.burn import Burn, ContractRates, RateStep, ReloadPlan, burn_of, rerated, runway_of
from shared.db import transaction
from shared.events.base import Event, RentalVersion
from shared.events.contracts import (
    ContractActivated,
    ContractResumed,
    ContractSuspended,
    ContractTerminated,
    DeviceActivated,
    DeviceDeactivated,
    DeviceReplaced,
    DomainRental,
    Licence,
    RentalChanged,
    RentedDevice,
    ScheduledRate,
    TariffsCaughtUp,
)
from shared.events.provisioning import DeviceRemoved
from shared.events.wallet import BurnState
from shared.idempotency import Claim, claim
from shared.messaging.outbox import add_all_to_outbox, add_to_outbox
from shared.money import format_isc
from shared.pagination import Keyset, Page
from shared.partner_scope import ensure_account_access, partner_filter
from shared.refusals import Conflict, NotFound, NotYetKnown

log = structlog.get_logger()

# The keys the lists are paged by, newest first (the device list in id order).
BY_INSTANT = Keyset(("at", datetime), ("id", UUID))
BY_DEVICE = Keyset(("id", UUID))
BY_HISTORY_ENTRY = Keyset(("at", datetime), ("id", int))

Fact = tuple[Event, str]
"""An event and its line in the contract's history."""

AnyContract = TypeVar("AnyContract", bound=LockedContract)


# --- reading ---------------------------------------------------------------------------------------------


def _contract_read(contract: Contract) -> ContractRead:
    return ContractRead(
        id=contract.id,
        account_id=contract.account_id,
        status=contract.status,
        domain_ids=list(contract.domain_ids),
        burn_rate_per_day=contract.rented_rate_per_day if contract.status is ContractStatus.ACTIVE else 0,
        rental_version=contract.rental_version,
        created_at=contract.created_at,
        updated_at=contract.updated_at,
    )


def _rental_read(rental: Rental) -> RentalRead:
    return RentalRead.model_validate(rental, from_attributes=True)


def _licence_specs(licences: Sequence[domain.LicenceGrant]) -> list[LicenceSpec]:
    return [LicenceSpec(type=grant.type, count=grant.count) for grant in licences]


def _tariff_read(tariff: Tariff, scheduled: Sequence[TariffChange] = ()) -> TariffRead:
    return TariffRead(
        product=tariff.product,
        rate_per_day=tariff.rate_per_day,
        licences=_licence_specs(tariff.licences),
        updated_at=tariff.updated_at,
        scheduled=[
            ScheduledTariffRead(
                effective_at=change.effective_at,
                rate_per_day=change.rate_per_day,
                licences=_licence_specs(change.licences),
                scheduled_at=change.scheduled_at,
            )
            for change in scheduled
        ],
    )


def _rented_device(rental: Rental) -> RentedDevice:
    return RentedDevice(device_id=rental.device_id, hwid=rental.hwid, product=rental.product)


def _tariff_name(product: str) -> str:
    """A product as a customer reads it: a software tariff's key names its licence type."""
    if product.startswith(domain.SOFTWARE_PREFIX):
        return f"{product.removeprefix(domain.SOFTWARE_PREFIX)} licences (per licence)"
    return product


def _per_day(micro: int) -> str:
    return f"{format_isc(micro)} iSC/day"


async def _visible(conn: asyncpg.Connection, principal: Principal, contract: AnyContract | None) -> AnyContract:
    """The contract if the caller may see it (its customer, a partner of its account, an operator); another
    account's contract is as absent as a missing one."""
    if contract is None:
        raise NotFound("contract not found")
    await ensure_account_access(conn, principal, contract.account_id, what="contract")
    return contract


async def _visible_contract(conn: asyncpg.Connection, *, principal: Principal, contract_id: UUID) -> Contract:
    return await _visible(conn, principal, await repository.get_contract(conn, contract_id))


async def _locked_contract(conn: asyncpg.Connection, *, principal: Principal, contract_id: UUID) -> LockedContract:
    """The visible contract, locked for a change of it."""
    return await _visible(conn, principal, await repository.lock_contract(conn, contract_id))


async def _contract_now(conn: asyncpg.Connection, contract_id: UUID) -> ContractRead:
    """The contract as the caller's change left it."""
    contract = await repository.get_contract(conn, contract_id)
    assert contract is not None  # contracts are never deleted
    return _contract_read(contract)


async def _claim_on_contract(
    conn: asyncpg.Connection, principal: Principal, contract_id: UUID, operation: str, key: str | None, **request: str
) -> tuple[Contract, Claim]:
    """The request's Idempotency-Key for `operation`, claimed for the contract's account once the caller may see
    the contract (so a stranger learns nothing from a replay); `request` is what else the request says."""
    contract = await _visible_contract(conn, principal=principal, contract_id=contract_id)
    request["contract"] = str(contract_id)
    once = await claim(conn, operation=operation, owner=contract.account_id, key=key, request=request)
    return contract, once


async def _rental_of(conn: asyncpg.Connection, *, contract_id: UUID, rental_id: UUID) -> Rental:
    rental = await repository.get_rental(conn, contract_id=contract_id, rental_id=rental_id)
    if rental is None:
        raise NotFound("rental not found")
    return rental


async def _owned_device(conn: asyncpg.Connection, *, device_id: UUID, account_id: UUID) -> KnownDevice:
    """The device, share-locked; unknown yet is a retryable 409, another account's device a 404."""
    device = await repository.share_lock_device(conn, device_id)
    if device is None:
        raise NotYetKnown(f"device {device_id} is not known yet; retry shortly", code="not_yet_known")
    if device.account_id != account_id:
        raise NotFound("device not found")
    return device


async def _device_facts(
    conn: asyncpg.Connection, *, device: KnownDevice, contract_id: UUID
) -> tuple[DeviceFacts, Tariff | None]:
    """What the rules need to know of the device, and its tariff (None: not rentable)."""
    linked = device.domain_id in await repository.linked_domain_ids(conn, contract_id)
    rented = await repository.active_rental_of_device(conn, device.id) is not None
    tariff = await repository.get_tariff(conn, device.product)
    facts = DeviceFacts(
        device_id=device.id, removed=device.removed, domain_linked=linked, rentable=tariff is not None, rented=rented
    )
    return facts, tariff


# --- publishing --------------------------------------------------------------------------------------------


async def _record(
    conn: asyncpg.Connection,
    *,
    contract: LockedContract,
    now: datetime,
    type: str,
    summary: str,
    data: dict[str, object],
) -> None:
    """A history line of the contract that is no event."""
    await repository.insert_history(
        conn, account_id=contract.account_id, contract_id=contract.id, at=now, type=type, summary=summary, data=data
    )


async def _publish(
    conn: asyncpg.Connection,
    *,
    contract: LockedContract,
    facts: Sequence[Fact],
    status: ContractStatus,
    now: datetime,
    at_clock_time: bool = True,
) -> RentalChanged:
    """The facts of a change, then the next version of the rental it leaves (`status`), which it returns: into the
    outbox and the
    contract's history, in order, in the caller's transaction. The caller holds the contract row lock. `now` is the
    instant of the change (the use case's clock instant; a scheduled tariff change's `effective_at`): the rental
    burns from it (`RentalChanged.changed_at`). A contract of an account on a test clock changes at the clock's
    time instead, unless `now` is already an instant on that clock (`at_clock_time` False)."""
    if at_clock_time and (clock_time := await repository.test_clock_time_of_account(conn, contract.account_id)):
        now = clock_time
    rental = await _rental_changed(conn, contract=contract, status=status, changed_at=now)
    everything: list[Fact] = [*facts, rental]
    await add_all_to_outbox(conn, [event for event, _ in everything])
    await repository.insert_history_entries(
        conn,
        account_id=contract.account_id,
        contract_id=contract.id,
        at=now,
        entries=[(type(event).__name__, summary, event.model_dump(mode="json")) for event, summary in everything],
    )
    return rental[0]


async def _republish_if_running(conn: asyncpg.Connection, *, contract: LockedContract, now: datetime) -> None:
    """A new snapshot after a change of the linked domains, for a contract whose rental is (or may run) again."""
    if contract.status in (ContractStatus.ACTIVE, ContractStatus.SUSPENDED):
        await _publish(conn, contract=contract, facts=(), status=contract.status, now=now)


def _rented_unit(rental: ActiveRental) -> RentedUnit:
    return RentedUnit(
        domain_id=rental.domain_id,
        device_id=rental.device_id,
        hwid=rental.hwid,
        product=rental.product,
        rate_per_day=rental.rate_per_day,
        licences=rental.licences,
    )


def _software_unit(rental: SoftwareRental) -> SoftwareUnit:
    return SoftwareUnit(
        domain_id=rental.domain_id,
        rental_id=rental.id,
        type=rental.type,
        count=rental.count,
        rate_per_day=rental.rate_per_day,
    )


def _domain_rental(snapshot: DomainSnapshot) -> DomainRental:
    return DomainRental(
        domain_id=snapshot.domain_id,
        devices=[RentedDevice(device_id=u.device_id, hwid=u.hwid, product=u.product) for u in snapshot.units],
        licences=[Licence(type=grant.type, count=grant.count) for grant in snapshot.licences],
    )


async def _rented_now(conn: asyncpg.Connection, contract_id: UUID) -> tuple[list[RentedUnit], list[SoftwareUnit]]:
    """What the contract rents now: its active devices and software rentals."""
    units = [_rented_unit(rental) for rental in await repository.active_rentals_of_contract(conn, contract_id)]
    software = [_software_unit(rental) for rental in await repository.active_software_of_contract(conn, contract_id)]
    return units, software


async def _rental_of_units(
    conn: asyncpg.Connection,
    *,
    status: ContractStatus,
    linked_domain_ids: Sequence[UUID],
    units: Sequence[RentedUnit],
    software: Sequence[SoftwareUnit],
) -> tuple[domain.RentalSnapshot, list[domain.RateChange]]:
    """The rental these units make (what RentalChanged says) and the contract's whole rate from each scheduled tariff
    change on. One computation for the published rental and for a forecast's."""
    snapshot = domain.rental_snapshot(
        status=status, linked_domain_ids=linked_domain_ids, units=units, software=software
    )
    products = sorted({unit.product for unit in units} | {s.product for s in software})
    pending = await repository.pending_tariff_changes(conn, products)
    scheduled = domain.scheduled_contract_rates(
        units,
        {product: [c.rate_change for c in changes] for product, changes in pending.items()},
        active=snapshot.active,
        software=software,
    )
    return snapshot, scheduled


async def _rental_changed(
    conn: asyncpg.Connection, *, contract: LockedContract, status: ContractStatus, changed_at: datetime
) -> tuple[RentalChanged, str]:
    """The next version of the contract's whole rental and its history line. It carries the contract's whole rate
    from each scheduled tariff change of its rented products on, so the wallet's run-out already counts them."""
    version = await repository.next_rental_version(conn, contract.id)
    linked = await repository.linked_domain_ids(conn, contract.id)
    units, software = await _rented_now(conn, contract.id)
    snapshot, scheduled = await _rental_of_units(
        conn, status=status, linked_domain_ids=linked, units=units, software=software
    )
    event = RentalChanged(
        contract_id=contract.id,
        account_id=contract.account_id,
        burn_rate_per_day=snapshot.burn_rate_per_day,
        domains=[_domain_rental(d) for d in snapshot.domains],
        version=version,
        active=snapshot.active,
        changed_at=changed_at,
        scheduled_rates=[
            ScheduledRate(effective_at=r.effective_at, burn_rate_per_day=r.rate_per_day) for r in scheduled
        ],
    )
    devices = sum(len(d.units) for d in snapshot.domains)
    licences = sum(s.count for s in software)
    summary = (
        f"rental v{version}: {devices} device(s), {licences} software licence(s), burning "
        f"{_per_day(snapshot.burn_rate_per_day)}" + ("" if snapshot.active else " (not running)")
    )
    return event, summary


async def _change_status(
    conn: asyncpg.Connection, *, contract: LockedContract, action: Transition, now: datetime
) -> ContractStatus:
    status = domain.transition(contract.status, action)
    await repository.set_contract_status(conn, contract_id=contract.id, status=status, now=now)
    log.info("contracts.contract.transition", contract_id=str(contract.id), action=str(action), status=str(status))
    return status


# --- contracts and their life cycle -----------------------------------------------------------------------


async def open_contract(
    pool: asyncpg.Pool, *, principal: Principal, account_id: UUID, idempotency_key: str | None, now: datetime
) -> ContractRead:
    """A partner opens a contract for one of its accounts (an operator for any)."""
    async with transaction(pool) as conn:
        await ensure_account_access(conn, principal, account_id, retry_if_unknown=True)
        request = {"account_id": str(account_id)}
        once = await claim(conn, operation="contract_opening", owner=account_id, key=idempotency_key, request=request)
        if (replay := once.replayed(ContractRead)) is not None:
            return replay
        if not await repository.account_is_known(conn, account_id):
            raise NotYetKnown(f"account {account_id} is not known yet; retry shortly", code="not_yet_known")
        # An account on a test clock opens its contracts at the clock's time.
        now = await repository.test_clock_time_of_account(conn, account_id) or now
        contract_id = uuid.uuid4()
        await repository.insert_contract(
            conn, contract_id=contract_id, account_id=account_id, status=ContractStatus.DRAFT, now=now
        )
        contract = await repository.get_contract(conn, contract_id)
        assert contract is not None
        await _record(
            conn, contract=contract, now=now, type="ContractOpened", summary="contract opened (draft)", data={}
        )
        return await once.answer(_contract_read(contract), status_code=201)


async def get_contract(pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID) -> ContractRead:
    async with pool.acquire() as conn:
        return _contract_read(await _visible_contract(conn, principal=principal, contract_id=contract_id))


async def list_contracts(
    pool: asyncpg.Pool, *, principal: Principal, account_id: UUID | None, cursor: str | None, limit: int
) -> Page[ContractRead]:
    if not principal.has_any(Role.OPERATOR, Role.PARTNER):
        account_id = principal.account_id  # a customer lists only their own account's contracts
    page = BY_INSTANT.request(cursor, limit)
    async with pool.acquire() as conn:
        contracts = await repository.list_contracts(
            conn, account_id=account_id, partner=partner_filter(principal), after=page.after, limit=page.fetch
        )
    return BY_INSTANT.page([_contract_read(c) for c in contracts], page, key=lambda c: (c.created_at, c.id))


async def accept_contract(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, now: datetime
) -> ContractRead:
    async with transaction(pool) as conn:
        contract = await _locked_contract(conn, principal=principal, contract_id=contract_id)
        await _change_status(conn, contract=contract, action=Transition.ACCEPT, now=now)
        await _record(
            conn, contract=contract, now=now, type="ContractAccepted", summary="accepted by the customer", data={}
        )
        return await _contract_now(conn, contract_id)


async def approve_contract(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, now: datetime
) -> ContractRead:
    async with transaction(pool) as conn:
        contract = await _locked_contract(conn, principal=principal, contract_id=contract_id)
        status = await _change_status(conn, contract=contract, action=Transition.APPROVE, now=now)
        event = ContractActivated(contract_id=contract_id, account_id=contract.account_id, reason="approved")
        await _publish(
            conn, contract=contract, facts=[(event, "approved by an operator: active")], status=status, now=now
        )
        return await _contract_now(conn, contract_id)


async def terminate_contract(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, reason: str, idempotency_key: str, now: datetime
) -> ContractRead:
    """Terminated is final: every rental ends and every domain link is released."""
    async with transaction(pool) as conn:
        _, once = await _claim_on_contract(conn, principal, contract_id, "termination", idempotency_key, reason=reason)
        if (replay := once.replayed(ContractRead)) is not None:
            return replay
        contract = await _locked_contract(conn, principal=principal, contract_id=contract_id)
        status = await _change_status(conn, contract=contract, action=Transition.TERMINATE, now=now)
        ended = await _end_every_rental(conn, contract=contract, reason="contract_terminated", now=now)
        await repository.end_all_links(conn, contract_id=contract_id, now=now)
        terminated = ContractTerminated(contract_id=contract_id, account_id=contract.account_id, reason=reason)
        summary = f"terminated ({reason}); {len(ended)} rental(s) ended"
        await _publish(conn, contract=contract, facts=[*ended, (terminated, summary)], status=status, now=now)
        return await once.answer(await _contract_now(conn, contract_id), status_code=200)


async def _end_every_rental(
    conn: asyncpg.Connection, *, contract: LockedContract, reason: str, now: datetime
) -> list[Fact]:
    """End the contract's active rentals; the DeviceDeactivated of each. The caller holds the contract lock."""
    ended = []
    for rental in await repository.active_rentals_of_contract(conn, contract.id):
        await repository.end_rental(conn, rental_id=rental.id, status=RentalStatus.DEACTIVATED, reason=reason, now=now)
        ended.append(_device_deactivated(contract=contract, rental=rental, reason=reason))
    for software in await repository.active_software_of_contract(conn, contract.id):
        await repository.end_software_rental(conn, rental_id=software.id, reason=reason, now=now)
        await _record_software(conn, contract=contract, rental=software, now=now, type="SoftwareRentalEnded")
    return ended


# --- domain links (access rights) -------------------------------------------------------------------------


async def link_domain(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    domain_id: UUID,
    idempotency_key: str | None,
    now: datetime,
) -> ContractRead:
    async with transaction(pool) as conn:
        _, once = await _claim_on_contract(
            conn, principal, contract_id, "domain_link", idempotency_key, domain=str(domain_id)
        )
        if (replay := once.replayed(ContractRead)) is not None:
            return replay
        contract = await _locked_contract(conn, principal=principal, contract_id=contract_id)
        if not domain.allows_domain_changes(contract.status):
            raise Conflict("a terminated contract takes no domains", code="contract_already_terminated")
        known = await _linkable_domain(conn, principal=principal, contract=contract, domain_id=domain_id)
        await _insert_link(conn, contract_id=contract_id, domain_id=domain_id, now=now)
        data: dict[str, object] = {"domain_id": str(domain_id), "name": known.name}
        await _record(
            conn, contract=contract, now=now, type="DomainLinked", summary=f"domain {known.name} linked", data=data
        )
        await _republish_if_running(conn, contract=contract, now=now)
        return await once.answer(await _contract_now(conn, contract_id), status_code=201)


async def _linkable_domain(
    conn: asyncpg.Connection, *, principal: Principal, contract: LockedContract, domain_id: UUID
) -> KnownDomain:
    """A domain of the contract's account that no contract holds. Staff learn why another is refused; a customer
    learns nothing of another account's domain."""
    known = await repository.get_known_domain(conn, domain_id)
    if known is None:
        raise NotYetKnown(f"domain {domain_id} is not known yet; retry shortly", code="not_yet_known")
    if known.account_id != contract.account_id:
        # Only who may see the domain's own account learns why (an operator, a partner of both accounts).
        await ensure_account_access(conn, principal, known.account_id, what="domain")
        raise Conflict("the domain belongs to another account", code="domain_of_another_account")
    holder = await repository.live_link_of_domain(conn, domain_id)
    if holder == contract.id:
        raise Conflict("the domain is already linked to this contract", code="domain_already_linked")
    if holder is not None:
        raise Conflict("the domain is linked to another contract", code="domain_linked_elsewhere")
    return known


async def _insert_link(conn: asyncpg.Connection, *, contract_id: UUID, domain_id: UUID, now: datetime) -> None:
    try:
        async with conn.transaction():  # a savepoint: a racing link of the same domain loses cleanly
            await repository.insert_link(conn, contract_id=contract_id, domain_id=domain_id, now=now)
    except asyncpg.UniqueViolationError as exc:
        raise Conflict("the domain is linked to another contract", code="domain_linked_elsewhere") from exc


async def unlink_domain(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, domain_id: UUID, now: datetime
) -> ContractRead:
    """Refused while devices of the domain are rented: ending rentals is the customer's explicit choice."""
    async with transaction(pool) as conn:
        contract = await _locked_contract(conn, principal=principal, contract_id=contract_id)
        if await repository.count_active_rentals_in_domain(
            conn, contract_id=contract_id, domain_id=domain_id
        ) or await repository.count_active_software_in_domain(conn, contract_id=contract_id, domain_id=domain_id):
            raise Conflict("devices of this domain are rented; deactivate them first", code="domain_has_active_rentals")
        if not await repository.end_link(conn, contract_id=contract_id, domain_id=domain_id, now=now):
            raise Conflict("the domain is not linked to this contract", code="domain_not_linked")
        data: dict[str, object] = {"domain_id": str(domain_id)}
        await _record(conn, contract=contract, now=now, type="DomainUnlinked", summary="domain unlinked", data=data)
        await _republish_if_running(conn, contract=contract, now=now)
        return await _contract_now(conn, contract_id)


async def list_hardware(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, cursor: str | None, limit: int
) -> Page[HardwareItem]:
    page = BY_DEVICE.request(cursor, limit)
    async with pool.acquire() as conn:
        await _visible_contract(conn, principal=principal, contract_id=contract_id)
        devices = await repository.list_hardware(conn, contract_id=contract_id, after=page.after, limit=page.fetch)
    return BY_DEVICE.page(devices, page, key=lambda device: (device.device_id,))


# --- rentals ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RentalStart:
    """What a new rental of a device starts from, read under the locks: device, tariff, contract, in that order."""

    contract: LockedContract
    device: KnownDevice
    facts: DeviceFacts
    tariff: Tariff | None


async def _lock_rental_start(conn: asyncpg.Connection, *, contract: Contract, device_id: UUID) -> RentalStart:
    device = await _owned_device(conn, device_id=device_id, account_id=contract.account_id)
    await repository.share_lock_tariff(conn, device.product)  # lock order: device, tariff, contract
    locked = await repository.lock_contract(conn, contract.id)
    assert locked is not None  # contracts are never deleted
    # Read under the contract lock: a rental committed while we waited counts.
    facts, tariff = await _device_facts(conn, device=device, contract_id=contract.id)
    return RentalStart(contract=locked, device=device, facts=facts, tariff=tariff)


async def _start_rental(conn: asyncpg.Connection, start: RentalStart, *, now: datetime) -> Rental:
    """A new active rental of the device at its tariff, burning from `now`, once the rules allowed it. The partial
    unique index is the last word on whether the device is already rented (a racing activation loses here)."""
    assert start.tariff is not None  # the rules refuse a device without a tariff, and FOR SHARE holds it
    device = start.device
    rental = await repository.insert_rental(
        conn,
        rental_id=uuid.uuid4(),
        contract_id=start.contract.id,
        domain_id=device.domain_id,
        device_id=device.id,
        hwid=device.hwid,
        product=device.product,
        rate_per_day=start.tariff.rate_per_day,
        now=now,
    )
    if rental is None:
        raise Conflict("the device is already rented", code="device_already_rented")
    return rental


async def _end_rental(
    conn: asyncpg.Connection,
    *,
    rental_id: UUID,
    status: RentalStatus,
    reason: str,
    now: datetime,
    replaced_by: UUID | None = None,
) -> Rental:
    """End the active rental; a rental that ended meanwhile (the loser of a race) is refused."""
    ended = await repository.end_rental(
        conn, rental_id=rental_id, status=status, reason=reason, now=now, replaced_by=replaced_by
    )
    if ended is None:
        raise Conflict("the rental has already ended", code="rental_not_active")
    return ended


async def _carry_over(conn: asyncpg.Connection, start: RentalStart, *, old: Rental, now: datetime) -> Rental:
    """RMA: the new rental starts at the very instant the old one ends as `replaced` by it."""
    new = await _start_rental(conn, start, now=now)
    await _end_rental(
        conn, rental_id=old.id, status=RentalStatus.REPLACED, reason="replaced", now=now, replaced_by=new.id
    )
    # Inserted before the old rental pointed at it: the row read back could not name what it replaces yet.
    return replace(new, replaces=old.id)


def _device_activated(start: RentalStart, rental: Rental) -> Fact:
    event = DeviceActivated(
        contract_id=start.contract.id,
        account_id=start.contract.account_id,
        domain_id=rental.domain_id,
        rental_id=rental.id,
        device=_rented_device(rental),
        rate_per_day=rental.rate_per_day,
    )
    return event, f"{rental.hwid} ({rental.product}) rented at {_per_day(rental.rate_per_day)}"


def _device_deactivated(*, contract: LockedContract, rental: Rental, reason: str) -> Fact:
    event = DeviceDeactivated(
        contract_id=contract.id,
        account_id=contract.account_id,
        domain_id=rental.domain_id,
        rental_id=rental.id,
        device=_rented_device(rental),
        rate_per_day=rental.rate_per_day,
        reason=reason,
    )
    return event, f"rental of {rental.hwid} ended ({reason})"


def _device_replaced(start: RentalStart, *, old: Rental, new: Rental) -> Fact:
    event = DeviceReplaced(
        contract_id=start.contract.id,
        account_id=start.contract.account_id,
        domain_id=new.domain_id,
        old_rental_id=old.id,
        new_rental_id=new.id,
        old_device=_rented_device(old),
        new_device=_rented_device(new),
        rate_per_day=new.rate_per_day,
    )
    return event, f"{old.hwid} replaced by {new.hwid} (RMA), rental carries on"


async def activate_rental(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, device_id: UUID, idempotency_key: str, now: datetime
) -> RentalRead:
    """Start renting a device: it burns from this second on."""
    async with transaction(pool) as conn:
        visible, once = await _claim_on_contract(
            conn, principal, contract_id, "rental_activation", idempotency_key, device=str(device_id)
        )
        if (replay := once.replayed(RentalRead)) is not None:
            return replay
        start = await _lock_rental_start(conn, contract=visible, device_id=device_id)
        funding = await repository.get_funding(conn, visible.account_id)
        domain.check_activation(contract_status=start.contract.status, funding=funding, device=start.facts, now=now)
        rental = await _start_rental(conn, start, now=now)
        fact = _device_activated(start, rental)
        await _publish(conn, contract=start.contract, facts=[fact], status=start.contract.status, now=now)
        log.info("contracts.rental.activated", contract_id=str(contract_id), rental_id=str(rental.id))
        return await once.answer(_rental_read(rental), status_code=201)


async def deactivate_rental(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    rental_id: UUID,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> RentalRead:
    async with transaction(pool) as conn:
        _, once = await _claim_on_contract(
            conn, principal, contract_id, "rental_deactivation", idempotency_key, rental=str(rental_id), reason=reason
        )
        if (replay := once.replayed(RentalRead)) is not None:
            return replay
        contract = await _locked_contract(conn, principal=principal, contract_id=contract_id)
        rental = await _rental_of(conn, contract_id=contract_id, rental_id=rental_id)
        domain.check_rental_is_active(rental.status)
        ended = await _end_rental(conn, rental_id=rental_id, status=RentalStatus.DEACTIVATED, reason=reason, now=now)
        fact = _device_deactivated(contract=contract, rental=rental, reason=reason)
        await _publish(conn, contract=contract, facts=[fact], status=contract.status, now=now)
        log.info("contracts.rental.deactivated", contract_id=str(contract_id), rental_id=str(rental_id))
        return await once.answer(_rental_read(ended), status_code=200)


async def replace_device(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    rental_id: UUID,
    device_id: UUID,
    idempotency_key: str,
    now: datetime,
) -> RentalRead:
    """RMA in one transaction: the old rental ends as `replaced` at the very instant the new one starts, so
    the burn rate never counts both (no double charge) and never neither (no gap)."""
    async with transaction(pool) as conn:
        visible, once = await _claim_on_contract(
            conn,
            principal,
            contract_id,
            "rental_replacement",
            idempotency_key,
            rental=str(rental_id),
            device=str(device_id),
        )
        if (replay := once.replayed(RentalRead)) is not None:
            return replay
        start = await _lock_rental_start(conn, contract=visible, device_id=device_id)
        old = await _rental_of(conn, contract_id=contract_id, rental_id=rental_id)
        domain.check_replacement(
            contract_status=start.contract.status,
            rental_status=old.status,
            old_device_id=old.device_id,
            new_device=start.facts,
        )
        new = await _carry_over(conn, start, old=old, now=now)
        fact = _device_replaced(start, old=old, new=new)
        await _publish(conn, contract=start.contract, facts=[fact], status=start.contract.status, now=now)
        log.info("contracts.rental.replaced", contract_id=str(contract_id), old=str(rental_id), new=str(new.id))
        return await once.answer(_rental_read(new), status_code=201)


async def get_rental(pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, rental_id: UUID) -> RentalRead:
    async with pool.acquire() as conn:
        await _visible_contract(conn, principal=principal, contract_id=contract_id)
        return _rental_read(await _rental_of(conn, contract_id=contract_id, rental_id=rental_id))


async def list_rentals(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    status: RentalStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[RentalRead]:
    page = BY_INSTANT.request(cursor, limit)
    async with pool.acquire() as conn:
        await _visible_contract(conn, principal=principal, contract_id=contract_id)
        rentals = await repository.list_rentals(
            conn, contract_id=contract_id, status=status, after=page.after, limit=page.fetch
        )
    return BY_INSTANT.page([_rental_read(r) for r in rentals], page, key=lambda r: (r.activated_at, r.id))


# --- tariffs -------------------------------------------------------------------------------------------------


async def set_tariff(
    pool: asyncpg.Pool,
    *,
    product: str,
    rate_per_day: int,
    licences: list[LicenceSpec],
    effective_at: datetime | None,
    lease: timedelta,
    now: datetime,
) -> TariffRead:
    """Set a product's tariff at once (no `effective_at`, or one already past) or schedule it for `effective_at`.

    The new change supersedes the scheduled ones taking effect at or after it (at once: all of them). A rise of a
    rented product's price before `now + lease` is refused (`domain.check_tariff_change`). Every contract renting
    the product gets a new RentalChanged at once, with the new rate or with its new `scheduled_rates`, and a history
    line; a scheduled change takes effect in `apply_next_due_tariff_change`. The tariff row lock makes a concurrent
    activation either wait for the change or be seen by it. Locking every contract renting the product, it can
    lose a deadlock to an inbox batch holding some of them in its messages' order: the request is then run again
    (`shared.http.RetryOnTransactionConflict`)."""
    effective = now if effective_at is None or effective_at <= now else effective_at
    at_once = effective == now
    async with transaction(pool) as conn:
        grants: list[dict[str, object]] = [grant.model_dump() for grant in licences]
        current = await repository.lock_tariff(conn, product)
        if current is None and not at_once:
            raise FirstTariffTakesEffectAtOnce(
                f"{product} has no tariff yet: its first one takes effect at once (no `effective_at` ahead)"
            )
        renting = await repository.contracts_renting_product(conn, product)
        pending = (await repository.pending_tariff_changes(conn, [product])).get(product, [])
        if current is not None:
            domain.check_tariff_change(
                rate_per_day=current.rate_per_day,
                pending=[c.rate_change for c in pending],
                new_rate_per_day=rate_per_day,
                effective_at=effective,
                rented=bool(renting),
                now=now,
                lease=lease,
            )
        await repository.supersede_tariff_changes(
            conn, product=product, from_effective_at=None if at_once else effective, now=now
        )
        await repository.insert_tariff_change(
            conn,
            change_id=uuid.uuid4(),
            product=product,
            rate_per_day=rate_per_day,
            licences=grants,
            effective_at=effective,
            now=now,
            applied=at_once,
        )
        if at_once:
            tariff = await _apply_tariff(conn, product=product, rate_per_day=rate_per_day, licences=grants, at=now)
        else:
            assert current is not None
            tariff = current
            await _announce_scheduled_tariff(
                conn, product=product, rate_per_day=rate_per_day, licences=licences, effective_at=effective, now=now
            )
        scheduled = (await repository.pending_tariff_changes(conn, [product])).get(product, [])
        log.info(
            "contracts.tariff.set",
            product=product,
            rate_per_day=rate_per_day,
            effective_at=effective.isoformat(),
            contracts=len(renting),
        )
        return _tariff_read(tariff, scheduled)


async def _apply_tariff(
    conn: asyncpg.Connection,
    *,
    product: str,
    rate_per_day: int,
    licences: list[dict[str, object]],
    at: datetime,
    scheduled: bool = False,
) -> Tariff:
    """The tariff takes effect at `at`: the product's active rentals are repriced, and each contract renting it
    records `TariffChanged` and publishes a RentalChanged burning at the new rate from `at`. The caller holds the
    tariff row lock. A change set at once reaches every contract (one on a test clock at its clock's time); a
    scheduled one only the live contracts: each clock's take it when the clock passes `at` (`catch_up_with_clock`)."""
    tariff = await repository.upsert_tariff(conn, product=product, rate_per_day=rate_per_day, licences=licences, now=at)
    renting = (
        await repository.contracts_renting_product_on(conn, product, test_clock_id=None)
        if scheduled
        else await repository.contracts_renting_product(conn, product)
    )
    await _reprice(conn, tariff=tariff, contract_ids=renting, at=at, at_clock_time=not scheduled)
    return tariff


async def _reprice(
    conn: asyncpg.Connection, *, tariff: Tariff, contract_ids: list[UUID], at: datetime, at_clock_time: bool
) -> list[RentalVersion]:
    """These contracts' rentals of the tariff's product burn at its rate from `at` (a contract on a test clock from
    its clock's time instead, if `at_clock_time`): the rental versions published."""
    contracts = await repository.lock_contracts(conn, contract_ids)
    await repository.reprice_active_rentals(
        conn, product=tariff.product, rate_per_day=tariff.rate_per_day, contract_ids=[c.id for c in contracts]
    )
    summary = f"tariff of {_tariff_name(tariff.product)} now {_per_day(tariff.rate_per_day)}"
    data = _tariff_read(tariff).model_dump(mode="json")
    published = []
    for contract in contracts:
        await _record(conn, contract=contract, now=at, type="TariffChanged", summary=summary, data=data)
        rental = await _publish(
            conn, contract=contract, facts=(), status=contract.status, now=at, at_clock_time=at_clock_time
        )
        published.append(RentalVersion(contract_id=contract.id, version=rental.version))
    return published


async def _announce_scheduled_tariff(
    conn: asyncpg.Connection,
    *,
    product: str,
    rate_per_day: int,
    licences: list[LicenceSpec],
    effective_at: datetime,
    now: datetime,
) -> None:
    """Each contract renting the product records the scheduling and publishes its new `scheduled_rates`."""
    contracts = await repository.lock_contracts(conn, await repository.contracts_renting_product(conn, product))
    summary = f"tariff of {_tariff_name(product)} goes to {_per_day(rate_per_day)} from {effective_at.isoformat()}"
    data: dict[str, object] = {
        "product": product,
        "rate_per_day": format_isc(rate_per_day),
        "licences": [grant.model_dump() for grant in licences],
        "effective_at": effective_at.isoformat(),
    }
    for contract in contracts:
        await _record(conn, contract=contract, now=now, type="TariffChangeScheduled", summary=summary, data=data)
        await _publish(conn, contract=contract, facts=(), status=contract.status, now=now)


async def apply_next_due_tariff_change(pool: asyncpg.Pool, *, now: datetime) -> bool:
    """The tariff job's one step: the earliest scheduled change due at `now` takes effect at its own instant
    (`effective_at`, not when the job gets to it), in one transaction. False when none is due.

    Lock order as everywhere: the tariff row, then the change (still scheduled: a replica that applied it first
    leaves nothing to do), then the contracts."""
    async with transaction(pool) as conn:
        due = await repository.next_due_tariff_change(conn, now=now)
        if due is None:
            return False
        await repository.lock_tariff(conn, due.product)
        change = await repository.lock_scheduled_tariff_change(conn, due.id)
        if change is None:
            return True
        await repository.mark_tariff_change_applied(conn, change_id=change.id, now=now)
        grants: list[dict[str, object]] = [{"type": g.type, "count": g.count} for g in change.licences]
        await _apply_tariff(
            conn,
            product=change.product,
            rate_per_day=change.rate_per_day,
            licences=grants,
            at=change.effective_at,
            scheduled=True,
        )
        log.info(
            "contracts.tariff.took_effect",
            product=change.product,
            rate_per_day=change.rate_per_day,
            effective_at=change.effective_at.isoformat(),
        )
        return True


async def contract_now(pool: asyncpg.Pool, contract_id: UUID, *, now: datetime) -> datetime:
    """The instant a use case on this contract acts at: its account's test clock's time, or `now` (contracts'
    clock's; also for an id that names no contract, which the use case then refuses)."""
    clock_time = await repository.test_clock_time_of_contract(pool, contract_id)
    return clock_time if clock_time is not None else now


async def catch_up_with_clock(conn: asyncpg.Connection, *, clock_id: UUID, to: datetime, step: int = 0) -> None:
    """A test clock moved to `to`: every tariff change it passed takes effect on its contracts, in time order, each
    at its own `effective_at` (the tariff itself, the live price list, is the tariff job's). Then contracts says it
    caught up, with its next change ahead. In the inbox transaction of the clock's `TestClockAdvanced`.

    Lock order: the clock, then as the tariff job: the tariff row, then the contracts."""
    await repository.know_test_clock(conn, clock_id=clock_id, time=to)
    caught_up_to = await repository.lock_test_clock(conn, clock_id)
    published: list[RentalVersion] = []
    for change in await repository.tariff_changes_due_on_clock(conn, after=caught_up_to, up_to=to):
        await repository.lock_tariff(conn, change.product)
        renting = await repository.contracts_renting_product_on(conn, change.product, test_clock_id=clock_id)
        tariff = Tariff(
            product=change.product,
            rate_per_day=change.rate_per_day,
            licences=change.licences,
            updated_at=change.effective_at,
        )
        published += await _reprice(
            conn, tariff=tariff, contract_ids=renting, at=change.effective_at, at_clock_time=False
        )
        log.info(
            "contracts.tariff.took_effect_on_test_clock",
            clock_id=str(clock_id),
            product=change.product,
            effective_at=change.effective_at.isoformat(),
            contracts=len(renting),
        )
    await repository.move_test_clock(conn, clock_id=clock_id, to=to)
    next_due_at = await repository.next_tariff_change_on_clock_after(conn, max(to, caught_up_to))
    caught_up = TariffsCaughtUp(
        clock_id=clock_id, frozen_time=to, next_due_at=next_due_at, rental_versions=published, step=step
    )
    await add_to_outbox(conn, caught_up)
    log.info("contracts.test_clock.caught_up", clock_id=str(clock_id), at=to.isoformat(), published=len(published))


async def next_tariff_change_at(pool: asyncpg.Pool) -> datetime | None:
    return await repository.next_tariff_change_at(pool)


async def get_tariff(pool: asyncpg.Pool, *, product: str) -> TariffRead:
    async with pool.acquire() as conn:
        tariff = await repository.get_tariff(conn, product)
        scheduled = (await repository.pending_tariff_changes(conn, [product])).get(product, [])
    if tariff is None:
        raise NotFound(f"no tariff for {product}: it is not rentable")
    return _tariff_read(tariff, scheduled)


async def list_tariffs(pool: asyncpg.Pool) -> Page[TariffRead]:
    async with pool.acquire() as conn:
        tariffs = await repository.list_tariffs(conn, software=False)
        pending = await repository.pending_tariff_changes(conn, [t.product for t in tariffs])
    return Page[TariffRead](items=[_tariff_read(t, pending.get(t.product, [])) for t in tariffs], next_cursor=None)


# --- software rental ------------------------------------------------------------------------------------------


def _software_tariff_read(tariff: TariffRead) -> SoftwareTariffRead:
    return SoftwareTariffRead(
        type=tariff.product.removeprefix(domain.SOFTWARE_PREFIX),
        rate_per_day=tariff.rate_per_day,
        updated_at=tariff.updated_at,
        scheduled=[
            ScheduledSoftwareTariffRead(
                effective_at=s.effective_at, rate_per_day=s.rate_per_day, scheduled_at=s.scheduled_at
            )
            for s in tariff.scheduled
        ],
    )


async def set_software_tariff(
    pool: asyncpg.Pool,
    *,
    licence_type: str,
    rate_per_day: int,
    effective_at: datetime | None,
    lease: timedelta,
    now: datetime,
) -> SoftwareTariffRead:
    """A licence type's tariff per licence per day: the hardware tariff's use case under the type's `licence:`
    key, so it is scheduled, bounded by the lease and applied by the tariff job exactly as a product's is."""
    tariff = await set_tariff(
        pool,
        product=domain.software_product(licence_type),
        rate_per_day=rate_per_day,
        licences=[],
        effective_at=effective_at,
        lease=lease,
        now=now,
    )
    return _software_tariff_read(tariff)


async def get_software_tariff(pool: asyncpg.Pool, *, licence_type: str) -> SoftwareTariffRead:
    try:
        return _software_tariff_read(await get_tariff(pool, product=domain.software_product(licence_type)))
    except NotFound as exc:
        raise NotFound(f"no software tariff for {licence_type}: it is not rentable") from exc


async def list_software_tariffs(pool: asyncpg.Pool) -> Page[SoftwareTariffRead]:
    async with pool.acquire() as conn:
        tariffs = await repository.list_tariffs(conn, software=True)
        pending = await repository.pending_tariff_changes(conn, [t.product for t in tariffs])
    items = [_software_tariff_read(_tariff_read(t, pending.get(t.product, []))) for t in tariffs]
    return Page[SoftwareTariffRead](items=items, next_cursor=None)


def _software_read(rental: SoftwareRental) -> SoftwareRentalRead:
    return SoftwareRentalRead(
        id=rental.id,
        contract_id=rental.contract_id,
        domain_id=rental.domain_id,
        type=rental.type,
        count=rental.count,
        rate_per_day=rental.rate_per_day,
        burn_rate_per_day=rental.count * rental.rate_per_day,
        status=SoftwareRentalStatus(rental.status),
        started_at=rental.started_at,
        updated_at=rental.updated_at,
        ended_at=rental.ended_at,
        end_reason=rental.end_reason,
    )


_SOFTWARE_SUMMARIES = {
    "SoftwareRentalStarted": "{count} {type} licence(s) rented at {rate} each",
    "SoftwareRentalChanged": "{type} licences now {count}, at {rate} each",
    "SoftwareRentalEnded": "rental of {count} {type} licence(s) ended ({reason})",
}


async def _record_software(
    conn: asyncpg.Connection, *, contract: LockedContract, rental: SoftwareRental, now: datetime, type: str
) -> None:
    """A software rental's change in the contract's history (a line, not an event: its RentalChanged says it)."""
    summary = _SOFTWARE_SUMMARIES[type].format(
        count=rental.count, type=rental.type, rate=_per_day(rental.rate_per_day), reason=rental.end_reason or ""
    )
    data = _software_read(rental).model_dump(mode="json")
    await repository.insert_history(
        conn, account_id=contract.account_id, contract_id=contract.id, at=now, type=type, summary=summary, data=data
    )


async def _software_of(conn: asyncpg.Connection, *, contract_id: UUID, rental_id: UUID) -> SoftwareRental:
    rental = await repository.get_software_rental(conn, contract_id=contract_id, rental_id=rental_id)
    if rental is None:
        raise NotFound("software rental not found")
    return rental


async def start_software_rental(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    domain_id: UUID,
    licence_type: str,
    count: int,
    idempotency_key: str,
    now: datetime,
) -> SoftwareRentalRead:
    """Rent `count` licences of a type into a linked domain: they burn from this second and go into its bundle."""
    async with transaction(pool) as conn:
        visible, once = await _claim_on_contract(
            conn,
            principal,
            contract_id,
            "software_rental",
            idempotency_key,
            domain=str(domain_id),
            type=licence_type,
            count=str(count),
        )
        if (replay := once.replayed(SoftwareRentalRead)) is not None:
            return replay
        # Lock order as for hardware: the tariff row, then the contract.
        tariff = await repository.share_lock_tariff(conn, domain.software_product(licence_type))
        contract = await _locked_contract(conn, principal=principal, contract_id=contract_id)
        linked = domain_id in await repository.linked_domain_ids(conn, contract_id)
        domain.check_software_rental(
            contract_status=contract.status,
            funding=await repository.get_funding(conn, visible.account_id),
            domain_linked=linked,
            rentable=tariff is not None,
            now=now,
        )
        assert tariff is not None
        rental = await repository.insert_software_rental(
            conn,
            rental_id=uuid.uuid4(),
            contract_id=contract_id,
            domain_id=domain_id,
            licence_type=licence_type,
            count=count,
            rate_per_day=tariff.rate_per_day,
            now=now,
        )
        if rental is None:
            raise Conflict(
                f"the domain already rents {licence_type} licences; change their count", code="software_rental_exists"
            )
        await _record_software(conn, contract=contract, rental=rental, now=now, type="SoftwareRentalStarted")
        await _publish(conn, contract=contract, facts=(), status=contract.status, now=now)
        log.info("contracts.software.started", contract_id=str(contract_id), rental_id=str(rental.id), count=count)
        return await once.answer(_software_read(rental), status_code=201)


async def change_software_count(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    rental_id: UUID,
    count: int,
    idempotency_key: str,
    now: datetime,
) -> SoftwareRentalRead:
    """More or fewer licences of a rental, burning at the new count from this second. The same count changes
    nothing (no new rental version)."""
    async with transaction(pool) as conn:
        visible, once = await _claim_on_contract(
            conn, principal, contract_id, "software_count", idempotency_key, rental=str(rental_id), count=str(count)
        )
        if (replay := once.replayed(SoftwareRentalRead)) is not None:
            return replay
        contract = await _locked_contract(conn, principal=principal, contract_id=contract_id)
        rental = await _software_of(conn, contract_id=contract_id, rental_id=rental_id)
        if rental.status != SoftwareRentalStatus.ACTIVE:
            raise Conflict("the software rental has already ended", code="rental_not_active")
        if count == rental.count:
            return await once.answer(_software_read(rental), status_code=200)
        domain.check_software_count_change(
            contract_status=contract.status,
            funding=await repository.get_funding(conn, visible.account_id),
            more=count > rental.count,
            now=now,
        )
        changed = await repository.set_software_count(conn, rental_id=rental_id, count=count, now=now)
        assert changed is not None  # the contract lock keeps it active
        await _record_software(conn, contract=contract, rental=changed, now=now, type="SoftwareRentalChanged")
        await _publish(conn, contract=contract, facts=(), status=contract.status, now=now)
        return await once.answer(_software_read(changed), status_code=200)


async def end_software_rental(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    rental_id: UUID,
    reason: str,
    idempotency_key: str,
    now: datetime,
) -> SoftwareRentalRead:
    async with transaction(pool) as conn:
        _, once = await _claim_on_contract(
            conn, principal, contract_id, "software_end", idempotency_key, rental=str(rental_id), reason=reason
        )
        if (replay := once.replayed(SoftwareRentalRead)) is not None:
            return replay
        contract = await _locked_contract(conn, principal=principal, contract_id=contract_id)
        await _software_of(conn, contract_id=contract_id, rental_id=rental_id)
        ended = await repository.end_software_rental(conn, rental_id=rental_id, reason=reason, now=now)
        if ended is None:
            raise Conflict("the software rental has already ended", code="rental_not_active")
        await _record_software(conn, contract=contract, rental=ended, now=now, type="SoftwareRentalEnded")
        await _publish(conn, contract=contract, facts=(), status=contract.status, now=now)
        return await once.answer(_software_read(ended), status_code=200)


async def get_software_rental(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, rental_id: UUID
) -> SoftwareRentalRead:
    async with pool.acquire() as conn:
        await _visible_contract(conn, principal=principal, contract_id=contract_id)
        return _software_read(await _software_of(conn, contract_id=contract_id, rental_id=rental_id))


async def list_software_rentals(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, active_only: bool, cursor: str | None, limit: int
) -> Page[SoftwareRentalRead]:
    page = BY_INSTANT.request(cursor, limit)
    async with pool.acquire() as conn:
        await _visible_contract(conn, principal=principal, contract_id=contract_id)
        rentals = await repository.list_software_rentals(
            conn, contract_id=contract_id, active_only=active_only, after=page.after, limit=page.fetch
        )
    return BY_INSTANT.page([_software_read(r) for r in rentals], page, key=lambda r: (r.started_at, r.id))


# --- forecast (what if) -------------------------------------------------------------------------------------


async def _planned_units(
    conn: asyncpg.Connection, *, contract: Contract, plan: ForecastCreate
) -> tuple[list[RentedUnit], list[SoftwareUnit]]:
    """What the contract would rent after the plan, each part checked by the rules the real change obeys (the same
    refusal codes), so a forecast never shows a change that would be refused."""
    units, software = await _rented_now(conn, contract.id)
    return await _planned_hardware(conn, contract=contract, plan=plan, units=units), await _planned_software(
        conn, contract=contract, plan=plan, software=software
    )


async def _planned_hardware(
    conn: asyncpg.Connection, *, contract: Contract, plan: ForecastCreate, units: list[RentedUnit]
) -> list[RentedUnit]:
    by_rental = {rental.id: rental for rental in await repository.active_rentals_of_contract(conn, contract.id)}
    ending = [*plan.deactivate, *(r.rental_id for r in plan.replace)]
    for rental_id in ending:
        if rental_id not in by_rental:
            domain.check_rental_is_active((await _rental_of(conn, contract_id=contract.id, rental_id=rental_id)).status)
            raise Conflict("the rental is ended twice in this plan", code="rental_not_active")
        del by_rental[rental_id]
    units = [u for u in units if any(r.device_id == u.device_id for r in by_rental.values())]
    taken = {u.device_id for u in units}
    for device_id in [*plan.activate, *(r.device_id for r in plan.replace)]:
        device = await repository.get_known_device(conn, device_id)
        if device is None:
            raise NotYetKnown(f"device {device_id} is not known yet; retry shortly", code="not_yet_known")
        if device.account_id != contract.account_id:
            raise NotFound("device not found")
        facts, tariff = await _device_facts(conn, device=device, contract_id=contract.id)
        if device_id in taken:  # rented here now, or earlier in this plan
            facts = replace(facts, rented=True)
        domain.check_rentable_device(facts)
        assert tariff is not None
        taken.add(device_id)
        units.append(
            RentedUnit(
                domain_id=device.domain_id,
                device_id=device.id,
                hwid=device.hwid,
                product=device.product,
                rate_per_day=tariff.rate_per_day,
                licences=tariff.licences,
            )
        )
    return units


async def _planned_software(
    conn: asyncpg.Connection, *, contract: Contract, plan: ForecastCreate, software: list[SoftwareUnit]
) -> list[SoftwareUnit]:
    linked = await repository.linked_domain_ids(conn, contract.id)
    for change in plan.software:
        kept = [s for s in software if not (s.domain_id == change.domain_id and s.type == change.type)]
        current = [s for s in software if s.domain_id == change.domain_id and s.type == change.type]
        if change.count == 0:
            software = kept
            continue
        if current:
            software = [*kept, replace(current[0], count=change.count)]
            continue
        tariff = await repository.get_tariff(conn, domain.software_product(change.type))
        if change.domain_id not in linked:
            raise Conflict("the domain is not linked to this contract", code="domain_not_linked")
        if tariff is None:
            raise Conflict(
                "the licence type has no software tariff and cannot be rented", code="licence_type_not_rentable"
            )
        software = [
            *kept,
            SoftwareUnit(
                domain_id=change.domain_id,
                rental_id=uuid.uuid4(),
                type=change.type,
                count=change.count,
                rate_per_day=tariff.rate_per_day,
            ),
        ]
    return software


async def _contract_rates(
    conn: asyncpg.Connection,
    contract: LockedContract,
    *,
    units: Sequence[RentedUnit] | None = None,
    software: Sequence[SoftwareUnit] | None = None,
) -> ContractRates:
    """The contract's rate as its RentalChanged tells the wallet: what burns now and each scheduled step."""
    if units is None or software is None:
        units, software = await _rented_now(conn, contract.id)
    linked = await repository.linked_domain_ids(conn, contract.id)
    snapshot, scheduled = await _rental_of_units(
        conn, status=contract.status, linked_domain_ids=linked, units=units, software=software
    )
    return ContractRates(
        rate_per_day=snapshot.burn_rate_per_day,
        scheduled=tuple(RateStep(effective_at=r.effective_at, rate_per_day=r.rate_per_day) for r in scheduled),
    )


def _runway_forecast(burn: Burn, *, now: datetime, reload_plan: ReloadPlan | None) -> RunwayForecast:
    if burn.depleted or burn.balance_at(now) == 0:
        return RunwayForecast(
            burn_rate_per_day=0 if burn.depleted else burn.rate_at(now), depletes_at=None, time_left_s=0
        )
    runway = runway_of(burn, at=now, reload_plan=reload_plan)
    left = None if runway.depletes_at is None else max(0, int((runway.depletes_at - now).total_seconds()))
    return RunwayForecast(burn_rate_per_day=runway.rate_per_day, depletes_at=runway.depletes_at, time_left_s=left)


async def _reload_plan(conn: asyncpg.Connection, account_id: UUID, *, now: datetime) -> ReloadPlan | None:
    """The account's Auto-iSC as the forecast counts it; None when it is not set or ended."""
    setting = await repository.get_auto_reload(conn, account_id)
    if setting is None or not setting.enabled or setting.threshold_s is None or setting.amount is None:
        return None
    reloaded = await repository.auto_reloaded_since(conn, account_id=account_id, since=auto_reload.month_start(now))
    return ReloadPlan(
        setting=auto_reload.ReloadSetting(
            threshold_s=setting.threshold_s, amount=setting.amount, monthly_cap=setting.monthly_cap or 0
        ),
        reloaded_this_month=reloaded,
        suspended_by_partner=setting.suspended_by_partner,
    )


async def forecast(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    plan: ForecastCreate,
    now: datetime,
) -> ForecastRead:
    """The account's runway now and after the plan, by the wallet's own arithmetic (`shared.burn`) over the burn
    state it last announced: the after-runway is what the wallet computes when the real change's RentalChanged
    arrives with `changed_at = now`. Commits nothing (the transaction only reads, and rolls back).

    Both runways count the reloads the account's Auto-iSC would make (as the wallet last announced it, within
    what is left of the month's cap, none while the partner suspends it): `_reload_plan`."""
    async with transaction(pool) as conn:
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id)
        state = await repository.get_account_burn(conn, contract.account_id)
        if state is None:
            raise NotYetKnown("the account's runway is not known yet; retry shortly", code="not_yet_known")
        burn = burn_of(BurnState.model_validate(state))
        units, software = await _planned_units(conn, contract=contract, plan=plan)
        before, after = [], []
        for each in await repository.contracts_of_account(conn, contract.account_id):
            rates = await _contract_rates(conn, each)
            before.append(rates)
            after.append(
                rates if each.id != contract_id else await _contract_rates(conn, each, units=units, software=software)
            )
        now_burn = rerated(burn, before, at=now)
        after_burn = rerated(now_burn, after, at=now)
        reload_plan = await _reload_plan(conn, contract.account_id, now=now)
    return ForecastRead(
        at=now,
        now=_runway_forecast(now_burn, now=now, reload_plan=reload_plan),
        after=_runway_forecast(after_burn, now=now, reload_plan=reload_plan),
    )


# --- history ------------------------------------------------------------------------------------------------


async def history(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, cursor: str | None, limit: int
) -> Page[HistoryEntryRead]:
    page = BY_HISTORY_ENTRY.request(cursor, limit)
    async with pool.acquire() as conn:
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id)
        entries = await repository.list_history(
            conn, account_id=contract.account_id, contract_id=contract_id, after=page.after, limit=page.fetch
        )
    shown = BY_HISTORY_ENTRY.page(entries, page, key=lambda entry: (entry.at, entry.id))
    items = [HistoryEntryRead.model_validate(entry, from_attributes=True) for entry in shown.items]
    return Page[HistoryEntryRead](items=items, next_cursor=shown.next_cursor)


# --- driven by other services' events (inside the inbox transaction) ----------------------------------------

# What the account's funding does to a contract: the event it publishes, its reason and its history line.
_FUNDING_FACTS: dict[Transition, tuple[type[ContractSuspended | ContractResumed], str, str]] = {
    Transition.SUSPEND: (ContractSuspended, "balance_depleted", "suspended: the balance is depleted; rentals are kept"),
    Transition.RESUME: (ContractResumed, "balance_restored", "resumed: the balance is positive again"),
}


@dataclass(frozen=True)
class AccountEntry:
    """A wallet event's line in the history of every contract of the account; `source_key` names the fact."""

    at: datetime
    type: str
    summary: str
    data: dict[str, object]
    source_key: str


async def apply_funding(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    funding: Funding,
    entry: AccountEntry | None = None,
    now: datetime,
) -> None:
    """Hold the account's newest funding; suspend its active contracts at zero, resume suspended ones above.
    The wallet event that told it goes into the account's history (`entry`, if it has a line there).

    Older or repeated wallet events change nothing, so any order and any replay end in the same state."""
    if entry is not None:
        await record_account_event(conn, account_id=account_id, entry=entry)
    applied = await repository.apply_funding(
        conn,
        account_id=account_id,
        balance=funding.balance,
        depletes_at=funding.depletes_at,
        version=funding.version,
        rank=funding.rank,
        now=now,
    )
    if not applied:
        log.info("contracts.funding.stale_ignored", account_id=str(account_id), version=funding.version)
        return
    for contract in await repository.lock_contracts_of_account(conn, account_id):
        action = domain.reconcile(contract.status, funding)
        if action is not None:
            await _follow_funding(conn, contract=contract, action=action, now=now)


async def _follow_funding(
    conn: asyncpg.Connection, *, contract: LockedContract, action: Transition, now: datetime
) -> None:
    """Suspend or resume the contract, as the account's funding asks."""
    status = await _change_status(conn, contract=contract, action=action, now=now)
    event_type, reason, summary = _FUNDING_FACTS[action]
    event = event_type(contract_id=contract.id, account_id=contract.account_id, reason=reason)
    await _publish(conn, contract=contract, facts=[(event, summary)], status=status, now=now)


async def record_account_event(conn: asyncpg.Connection, *, account_id: UUID, entry: AccountEntry) -> None:
    """A wallet event in the history of every contract of the account; a replay of it adds nothing."""
    await repository.insert_history(
        conn,
        account_id=account_id,
        contract_id=None,
        at=entry.at,
        type=entry.type,
        summary=entry.summary,
        data=entry.data,
        source_key=entry.source_key,
    )


async def remove_device(conn: asyncpg.Connection, *, removed: DeviceRemoved, now: datetime) -> None:
    """Removal is final (a late DeviceProvisioned never brings the device back), and a removed device can no
    longer run: its rental ends. Marking it locks the device row first, as an activation does."""
    await repository.mark_device_removed(
        conn,
        device_id=removed.device_id,
        domain_id=removed.domain_id,
        account_id=removed.account_id,
        hwid=removed.hwid,
        product=removed.product,
        type=removed.type,
        now=now,
    )
    await _end_rental_of_removed_device(conn, device_id=removed.device_id, now=now)


async def _end_rental_of_removed_device(conn: asyncpg.Connection, *, device_id: UUID, now: datetime) -> None:
    rental = await repository.active_rental_of_device(conn, device_id)
    if rental is None:
        return
    contract = await repository.lock_contract(conn, rental.contract_id)
    assert contract is not None
    reason = "device_removed"
    if await repository.end_rental(conn, rental_id=rental.id, status=RentalStatus.DEACTIVATED, reason=reason, now=now):
        fact = _device_deactivated(contract=contract, rental=rental, reason=reason)
        await _publish(conn, contract=contract, facts=[fact], status=contract.status, now=now)
        log.info("contracts.rental.ended_by_device_removal", rental_id=str(rental.id), device_id=str(device_id))
