"""Contracts use cases: one function, one transaction, events into the outbox inside it.

HTTP use cases take the pool and open their own transaction; event-driven ones take the connection of the
inbox transaction they run in. Every change of what a contract rents publishes its fact event and a new
`RentalChanged` (a full snapshot with the next version) while the contract row is locked, so versions
follow commit order and the snapshot of version N is exactly the state version N committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import structlog

from contracts import domain, repository
from contracts.domain import ContractStatus, Funding, LicenceGrant, RentalStatus, RentedUnit, Transition
from contracts.schemas import (
    ContractRead,
    HardwareItem,
    HistoryEntryRead,
    LicenceSpec,
    RentalRead,
    TariffRead,
)
from shared.auth import Principal, Role
from shared.db import transaction
from shared.events.base import Event
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
)
from shared.idempotency import claim_idempotency_key, store_idempotent_response
from shared.messaging.outbox import add_all_to_outbox
from shared.money import format_isc
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.refusals import BadRequest, Conflict, NotFound, NotYetKnown

log = structlog.get_logger()


# --- reading ---------------------------------------------------------------------------------------------


def _contract_read(row: asyncpg.Record) -> ContractRead:
    status = ContractStatus(row["status"])
    return ContractRead(
        id=row["id"],
        account_id=row["account_id"],
        status=status,
        domain_ids=list(row["domain_ids"]),
        burn_rate_per_day=row["rented_rate_per_day"] if status is ContractStatus.ACTIVE else 0,
        rental_version=row["rental_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _rental_read(row: asyncpg.Record) -> RentalRead:
    return RentalRead(
        id=row["id"],
        device_id=row["device_id"],
        hwid=row["hwid"],
        product=row["product"],
        domain_id=row["domain_id"],
        status=RentalStatus(row["status"]),
        rate_per_day=row["rate_per_day"],
        activated_at=row["activated_at"],
        ended_at=row["ended_at"],
        end_reason=row["end_reason"],
        replaced_by=row["replaced_by"],
        replaces=row["replaces"],
    )


def _tariff_read(row: asyncpg.Record) -> TariffRead:
    return TariffRead(
        product=row["product"],
        rate_per_day=row["rate_per_day"],
        licences=[LicenceSpec(**grant) for grant in row["licences"]],
        updated_at=row["updated_at"],
    )


def _rented_device(row: asyncpg.Record) -> RentedDevice:
    return RentedDevice(device_id=row["device_id"], hwid=row["hwid"], product=row["product"])


def _per_day(micro: int) -> str:
    return f"{format_isc(micro)} iSC/day"


async def _visible_contract(
    conn: asyncpg.Connection, *, principal: Principal, contract_id: UUID, lock: bool = False
) -> asyncpg.Record:
    """The contract if the caller may see it; another account's contract is as absent as a missing one."""
    row = await (repository.lock_contract if lock else repository.get_contract)(conn, contract_id)
    if row is None or not principal.can_access_account(row["account_id"]):
        raise NotFound("contract not found", code="contract_not_found")
    return row


async def _owned_device(conn: asyncpg.Connection, *, device_id: UUID, account_id: UUID) -> asyncpg.Record:
    """The device, share-locked; unknown yet is a retryable 409, another account's device a 404."""
    device = await repository.share_lock_device(conn, device_id)
    if device is None:
        raise NotYetKnown(f"device {device_id} is not known yet; retry shortly", code="not_yet_known")
    if device["account_id"] != account_id:
        raise NotFound("device not found", code="device_not_found")
    return device


async def _device_facts(
    conn: asyncpg.Connection, *, device: asyncpg.Record, contract_id: UUID
) -> tuple[domain.DeviceFacts, asyncpg.Record | None]:
    """What the rules need to know of the device, and its tariff (None: not rentable)."""
    linked = device["domain_id"] in await repository.linked_domain_ids(conn, contract_id)
    rented = await repository.active_rental_of_device(conn, device["id"]) is not None
    tariff = await repository.get_tariff(conn, device["product"])
    facts = domain.DeviceFacts(
        device_id=device["id"],
        removed=device["removed"],
        domain_linked=linked,
        rentable=tariff is not None,
        rented=rented,
    )
    return facts, tariff


def _keyset(cursor: str | None, *keys: str) -> list[str] | None:
    """The values a cursor of ours carries, in `keys` order; anything else is a 400, never a 500."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    if not all(isinstance(position.get(k), str | int) for k in keys):
        raise BadRequest("the cursor is not one this service issued", code="invalid_cursor")
    return [str(position[k]) for k in keys]


def _after_instant(cursor: str | None) -> tuple[datetime, UUID] | None:
    values = _keyset(cursor, "at", "id")
    if values is None:
        return None
    try:
        return datetime.fromisoformat(values[0]), UUID(values[1])
    except ValueError as exc:
        raise BadRequest("the cursor is not one this service issued", code="invalid_cursor") from exc


def _funding(row: asyncpg.Record | None) -> Funding | None:
    if row is None:
        return None
    return Funding(
        balance=row["balance"],
        depletes_at=row["depletes_at"],
        version=row["version"],
        rank=domain.WalletFact(row["rank"]),
    )


# --- publishing --------------------------------------------------------------------------------------------


async def _record(
    conn: asyncpg.Connection,
    *,
    contract: asyncpg.Record,
    now: datetime,
    type: str,
    summary: str,
    data: dict[str, object],
) -> None:
    await repository.insert_history(
        conn,
        account_id=contract["account_id"],
        contract_id=contract["id"],
        at=now,
        type=type,
        summary=summary,
        data=data,
    )


async def _publish(
    conn: asyncpg.Connection, *, contract: asyncpg.Record, event: Event, summary: str, now: datetime
) -> None:
    """The fact goes to the outbox and into the contract's history, in the caller's transaction."""
    await _publish_all(conn, contract=contract, facts=[(event, summary)], now=now)


async def _publish_all(
    conn: asyncpg.Connection, *, contract: asyncpg.Record, facts: Sequence[tuple[Event, str]], now: datetime
) -> None:
    """Several facts, in order: one round trip to the outbox, one to the history."""
    await add_all_to_outbox(conn, [event for event, _ in facts])
    await repository.insert_history_entries(
        conn,
        account_id=contract["account_id"],
        contract_id=contract["id"],
        at=now,
        entries=[(type(event).__name__, summary, event.model_dump(mode="json")) for event, summary in facts],
    )


async def _publish_rental_changed(
    conn: asyncpg.Connection, *, contract: asyncpg.Record, status: ContractStatus, now: datetime
) -> RentalChanged:
    """The next version of the contract's whole rental. The caller holds the contract row lock."""
    event, summary = await _rental_changed(conn, contract=contract, status=status)
    await _publish(conn, contract=contract, event=event, summary=summary, now=now)
    return event


async def _rental_changed(
    conn: asyncpg.Connection, *, contract: asyncpg.Record, status: ContractStatus
) -> tuple[RentalChanged, str]:
    """The next version of the contract's whole rental and its history line, to publish with the change that
    caused it. The caller holds the contract row lock."""
    version = await repository.next_rental_version(conn, contract["id"])
    linked = await repository.linked_domain_ids(conn, contract["id"])
    units = [
        RentedUnit(
            domain_id=row["domain_id"],
            device_id=row["device_id"],
            hwid=row["hwid"],
            product=row["product"],
            rate_per_day=row["rate_per_day"],
            licences=tuple(LicenceGrant(type=g["type"], count=g["count"]) for g in row["licences"]),
        )
        for row in await repository.active_rentals_of_contract(conn, contract["id"])
    ]
    snapshot = domain.rental_snapshot(status=status, linked_domain_ids=linked, units=units)
    event = RentalChanged(
        contract_id=contract["id"],
        account_id=contract["account_id"],
        burn_rate_per_day=snapshot.burn_rate_per_day,
        domains=[
            DomainRental(
                domain_id=d.domain_id,
                devices=[RentedDevice(device_id=u.device_id, hwid=u.hwid, product=u.product) for u in d.units],
                licences=[Licence(type=g.type, count=g.count) for g in d.licences],
            )
            for d in snapshot.domains
        ],
        version=version,
        active=snapshot.active,
    )
    devices = sum(len(d.units) for d in snapshot.domains)
    summary = f"rental v{version}: {devices} device(s), burning {_per_day(snapshot.burn_rate_per_day)}" + (
        "" if snapshot.active else " (not running)"
    )
    return event, summary


async def _change_status(
    conn: asyncpg.Connection, *, contract: asyncpg.Record, action: Transition, now: datetime
) -> ContractStatus:
    status = domain.transition(ContractStatus(contract["status"]), action)
    await repository.set_contract_status(conn, contract_id=contract["id"], status=status, now=now)
    log.info("contracts.contract.transition", contract_id=str(contract["id"]), action=str(action), status=str(status))
    return status


# --- contracts and their life cycle -----------------------------------------------------------------------


async def open_contract(pool: asyncpg.Pool, *, account_id: UUID, now: datetime) -> ContractRead:
    async with transaction(pool) as conn:
        if not await repository.account_is_known(conn, account_id):
            raise NotYetKnown(f"account {account_id} is not known yet; retry shortly", code="not_yet_known")
        contract_id = uuid.uuid4()
        await repository.insert_contract(
            conn, contract_id=contract_id, account_id=account_id, status=ContractStatus.DRAFT, now=now
        )
        row = await repository.get_contract(conn, contract_id)
        assert row is not None
        await _record(conn, contract=row, now=now, type="ContractOpened", summary="contract opened (draft)", data={})
        return _contract_read(row)


async def get_contract(pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID) -> ContractRead:
    async with pool.acquire() as conn:
        return _contract_read(await _visible_contract(conn, principal=principal, contract_id=contract_id))


async def list_contracts(
    pool: asyncpg.Pool, *, principal: Principal, account_id: UUID | None, cursor: str | None, limit: int
) -> Page[ContractRead]:
    if not principal.has_any(Role.OPERATOR, Role.PARTNER):
        account_id = principal.account_id  # a customer lists only their own account's contracts
    after = _after_instant(cursor)
    async with pool.acquire() as conn:
        rows = await repository.list_contracts(conn, account_id=account_id, after=after, limit=limit + 1)
    items = [_contract_read(r) for r in rows[:limit]]
    next_cursor = (
        encode_cursor({"at": items[-1].created_at.isoformat(), "id": str(items[-1].id)}) if len(rows) > limit else None
    )
    return Page[ContractRead](items=items, next_cursor=next_cursor)


async def accept_contract(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, now: datetime
) -> ContractRead:
    async with transaction(pool) as conn:
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id, lock=True)
        await _change_status(conn, contract=contract, action=Transition.ACCEPT, now=now)
        await _record(
            conn, contract=contract, now=now, type="ContractAccepted", summary="accepted by the customer", data={}
        )
        return _contract_read(await repository.get_contract(conn, contract_id))


async def approve_contract(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, now: datetime
) -> ContractRead:
    async with transaction(pool) as conn:
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id, lock=True)
        status = await _change_status(conn, contract=contract, action=Transition.APPROVE, now=now)
        event = ContractActivated(contract_id=contract_id, account_id=contract["account_id"], reason="approved")
        await _publish(conn, contract=contract, event=event, summary="approved by an operator: active", now=now)
        await _publish_rental_changed(conn, contract=contract, status=status, now=now)
        return _contract_read(await repository.get_contract(conn, contract_id))


async def terminate_contract(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, reason: str, now: datetime
) -> ContractRead:
    """Terminated is final: every rental ends and every domain link is released."""
    async with transaction(pool) as conn:
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id, lock=True)
        status = await _change_status(conn, contract=contract, action=Transition.TERMINATE, now=now)
        ended = await repository.active_rentals_of_contract(conn, contract_id)
        for rental in ended:
            await repository.end_rental(
                conn, rental_id=rental["id"], status=RentalStatus.DEACTIVATED, reason="contract_terminated", now=now
            )
            await _publish_device_deactivated(
                conn, contract=contract, rental=rental, reason="contract_terminated", now=now
            )
        await repository.end_all_links(conn, contract_id=contract_id, now=now)
        event = ContractTerminated(contract_id=contract_id, account_id=contract["account_id"], reason=reason)
        await _publish(
            conn,
            contract=contract,
            event=event,
            summary=f"terminated ({reason}); {len(ended)} rental(s) ended",
            now=now,
        )
        await _publish_rental_changed(conn, contract=contract, status=status, now=now)
        return _contract_read(await repository.get_contract(conn, contract_id))


# --- domain links (access rights) -------------------------------------------------------------------------


async def link_domain(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, domain_id: UUID, now: datetime
) -> ContractRead:
    async with transaction(pool) as conn:
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id, lock=True)
        status = ContractStatus(contract["status"])
        if not domain.allows_domain_changes(status):
            raise Conflict("a terminated contract takes no domains", code="contract_already_terminated")
        known = await repository.get_known_domain(conn, domain_id)
        if known is None:
            raise NotYetKnown(f"domain {domain_id} is not known yet; retry shortly", code="not_yet_known")
        if known["account_id"] != contract["account_id"]:
            if not principal.has_any(Role.OPERATOR, Role.PARTNER):
                raise NotFound("domain not found", code="domain_not_found")
            raise Conflict("the domain belongs to another account", code="domain_of_another_account")
        holder = await repository.live_link_of_domain(conn, domain_id)
        if holder == contract_id:
            raise Conflict("the domain is already linked to this contract", code="domain_already_linked")
        if holder is not None:
            raise Conflict("the domain is linked to another contract", code="domain_linked_elsewhere")
        try:
            async with conn.transaction():  # a savepoint: a racing link of the same domain loses cleanly
                await repository.insert_link(conn, contract_id=contract_id, domain_id=domain_id, now=now)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict("the domain is linked to another contract", code="domain_linked_elsewhere") from exc
        await _record(
            conn,
            contract=contract,
            now=now,
            type="DomainLinked",
            summary=f"domain {known['name']} linked",
            data={"domain_id": str(domain_id), "name": known["name"]},
        )
        if status in (ContractStatus.ACTIVE, ContractStatus.SUSPENDED):
            await _publish_rental_changed(conn, contract=contract, status=status, now=now)
        return _contract_read(await repository.get_contract(conn, contract_id))


async def unlink_domain(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, domain_id: UUID, now: datetime
) -> ContractRead:
    """Refused while devices of the domain are rented: ending rentals is the customer's explicit choice."""
    async with transaction(pool) as conn:
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id, lock=True)
        status = ContractStatus(contract["status"])
        if await repository.count_active_rentals_in_domain(conn, contract_id=contract_id, domain_id=domain_id):
            raise Conflict("devices of this domain are rented; deactivate them first", code="domain_has_active_rentals")
        if not await repository.end_link(conn, contract_id=contract_id, domain_id=domain_id, now=now):
            raise Conflict("the domain is not linked to this contract", code="domain_not_linked")
        await _record(
            conn,
            contract=contract,
            now=now,
            type="DomainUnlinked",
            summary="domain unlinked",
            data={"domain_id": str(domain_id)},
        )
        if status in (ContractStatus.ACTIVE, ContractStatus.SUSPENDED):
            await _publish_rental_changed(conn, contract=contract, status=status, now=now)
        return _contract_read(await repository.get_contract(conn, contract_id))


async def list_hardware(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, cursor: str | None, limit: int
) -> Page[HardwareItem]:
    values = _keyset(cursor, "id")
    try:
        after = UUID(values[0]) if values else None
    except ValueError as exc:
        raise BadRequest("the cursor is not one this service issued", code="invalid_cursor") from exc
    async with pool.acquire() as conn:
        await _visible_contract(conn, principal=principal, contract_id=contract_id)
        rows = await repository.list_hardware(conn, contract_id=contract_id, after=after, limit=limit + 1)
    items = [HardwareItem(**dict(r)) for r in rows[:limit]]
    next_cursor = encode_cursor({"id": str(items[-1].device_id)}) if len(rows) > limit else None
    return Page[HardwareItem](items=items, next_cursor=next_cursor)


# --- rentals ---------------------------------------------------------------------------------------------


async def _publish_device_deactivated(
    conn: asyncpg.Connection, *, contract: asyncpg.Record, rental: asyncpg.Record, reason: str, now: datetime
) -> None:
    event, summary = _device_deactivated(contract=contract, rental=rental, reason=reason)
    await _publish(conn, contract=contract, event=event, summary=summary, now=now)


def _device_deactivated(*, contract: asyncpg.Record, rental: asyncpg.Record, reason: str) -> tuple[Event, str]:
    event = DeviceDeactivated(
        contract_id=contract["id"],
        account_id=contract["account_id"],
        domain_id=rental["domain_id"],
        rental_id=rental["id"],
        device=_rented_device(rental),
        rate_per_day=rental["rate_per_day"],
        reason=reason,
    )
    return event, f"rental of {rental['hwid']} ended ({reason})"


async def _start_rental(
    conn: asyncpg.Connection, *, contract_id: UUID, device: asyncpg.Record, tariff: asyncpg.Record, now: datetime
) -> asyncpg.Record:
    """A new active rental of the device at its tariff, burning from `now`; the partial unique index is the last
    word on whether the device is already rented (a racing activation loses here)."""
    rental = await repository.insert_rental(
        conn,
        rental_id=uuid.uuid4(),
        contract_id=contract_id,
        domain_id=device["domain_id"],
        device_id=device["id"],
        hwid=device["hwid"],
        product=device["product"],
        rate_per_day=tariff["rate_per_day"],
        now=now,
    )
    if rental is None:
        raise Conflict("the device is already rented", code="device_already_rented")
    return rental


async def activate_rental(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    device_id: UUID,
    idempotency_key: str | None,
    now: datetime,
) -> RentalRead:
    """Start renting a device: it burns from this second on."""
    async with transaction(pool) as conn:
        scope = f"contracts:{contract_id}:rental_activation"
        if idempotency_key is not None:
            replay = await claim_idempotency_key(
                conn, scope=scope, key=idempotency_key, request={"device_id": str(device_id)}
            )
            if replay is not None:
                return RentalRead.model_validate(replay.response)
        visible = await _visible_contract(conn, principal=principal, contract_id=contract_id)
        device = await _owned_device(conn, device_id=device_id, account_id=visible["account_id"])
        await repository.share_lock_tariff(conn, device["product"])  # lock order: device, tariff, contract
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id, lock=True)
        # Read under the contract lock: a rental committed while we waited counts.
        facts, tariff = await _device_facts(conn, device=device, contract_id=contract_id)
        funding = _funding(await repository.get_funding(conn, contract["account_id"]))
        domain.check_activation(
            contract_status=ContractStatus(contract["status"]), funding=funding, device=facts, now=now
        )
        assert tariff is not None  # checked above, and held by FOR SHARE
        rental = await _start_rental(conn, contract_id=contract_id, device=device, tariff=tariff, now=now)
        rental_id = rental["id"]
        event = DeviceActivated(
            contract_id=contract_id,
            account_id=contract["account_id"],
            domain_id=device["domain_id"],
            rental_id=rental_id,
            device=_rented_device(rental),
            rate_per_day=tariff["rate_per_day"],
        )
        summary = f"{device['hwid']} ({device['product']}) rented at {_per_day(tariff['rate_per_day'])}"
        changed = await _rental_changed(conn, contract=contract, status=ContractStatus(contract["status"]))
        await _publish_all(conn, contract=contract, facts=[(event, summary), changed], now=now)
        result = _rental_read(rental)
        if idempotency_key is not None:
            await store_idempotent_response(
                conn, scope=scope, key=idempotency_key, status_code=201, response=result.model_dump(mode="json")
            )
        log.info("contracts.rental.activated", contract_id=str(contract_id), rental_id=str(rental_id))
        return result


async def deactivate_rental(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    rental_id: UUID,
    reason: str,
    idempotency_key: str | None,
    now: datetime,
) -> RentalRead:
    async with transaction(pool) as conn:
        scope = f"contracts:{rental_id}:deactivation"
        if idempotency_key is not None:
            replay = await claim_idempotency_key(conn, scope=scope, key=idempotency_key, request={"reason": reason})
            if replay is not None:
                return RentalRead.model_validate(replay.response)
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id, lock=True)
        rental = await repository.get_rental(conn, contract_id=contract_id, rental_id=rental_id)
        if rental is None:
            raise NotFound("rental not found", code="rental_not_found")
        domain.check_rental_is_active(RentalStatus(rental["status"]))
        ended = await repository.end_rental(
            conn, rental_id=rental_id, status=RentalStatus.DEACTIVATED, reason=reason, now=now
        )
        if ended is None:
            raise Conflict("the rental has already ended", code="rental_not_active")
        changed = await _rental_changed(conn, contract=contract, status=ContractStatus(contract["status"]))
        facts = [_device_deactivated(contract=contract, rental=rental, reason=reason), changed]
        await _publish_all(conn, contract=contract, facts=facts, now=now)
        result = _rental_read(ended)
        if idempotency_key is not None:
            await store_idempotent_response(
                conn, scope=scope, key=idempotency_key, status_code=200, response=result.model_dump(mode="json")
            )
        log.info("contracts.rental.deactivated", contract_id=str(contract_id), rental_id=str(rental_id))
        return result


async def replace_device(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    rental_id: UUID,
    device_id: UUID,
    idempotency_key: str | None,
    now: datetime,
) -> RentalRead:
    """RMA in one transaction: the old rental ends as `replaced` at the very instant the new one starts, so
    the burn rate never counts both (no double charge) and never neither (no gap)."""
    async with transaction(pool) as conn:
        scope = f"contracts:{rental_id}:replacement"
        if idempotency_key is not None:
            replay = await claim_idempotency_key(
                conn, scope=scope, key=idempotency_key, request={"device_id": str(device_id)}
            )
            if replay is not None:
                return RentalRead.model_validate(replay.response)
        visible = await _visible_contract(conn, principal=principal, contract_id=contract_id)
        device = await _owned_device(conn, device_id=device_id, account_id=visible["account_id"])
        await repository.share_lock_tariff(conn, device["product"])
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id, lock=True)
        old = await repository.get_rental(conn, contract_id=contract_id, rental_id=rental_id)
        if old is None:
            raise NotFound("rental not found", code="rental_not_found")
        facts, tariff = await _device_facts(conn, device=device, contract_id=contract_id)
        domain.check_replacement(
            contract_status=ContractStatus(contract["status"]),
            rental_status=RentalStatus(old["status"]),
            old_device_id=old["device_id"],
            new_device=facts,
        )
        assert tariff is not None  # checked above, and held by FOR SHARE
        new = await _start_rental(conn, contract_id=contract_id, device=device, tariff=tariff, now=now)
        new_id = new["id"]
        if (
            await repository.end_rental(
                conn, rental_id=rental_id, status=RentalStatus.REPLACED, reason="replaced", now=now, replaced_by=new_id
            )
            is None
        ):
            raise Conflict("the rental has already ended", code="rental_not_active")
        event = DeviceReplaced(
            contract_id=contract_id,
            account_id=contract["account_id"],
            domain_id=device["domain_id"],
            old_rental_id=rental_id,
            new_rental_id=new_id,
            old_device=_rented_device(old),
            new_device=_rented_device(new),
            rate_per_day=tariff["rate_per_day"],
        )
        summary = f"{old['hwid']} replaced by {device['hwid']} (RMA), rental carries on"
        changed = await _rental_changed(conn, contract=contract, status=ContractStatus(contract["status"]))
        await _publish_all(conn, contract=contract, facts=[(event, summary), changed], now=now)
        # Inserted before the old rental pointed at it: the row read back could not name what it replaces yet.
        result = _rental_read(new).model_copy(update={"replaces": rental_id})
        if idempotency_key is not None:
            await store_idempotent_response(
                conn, scope=scope, key=idempotency_key, status_code=201, response=result.model_dump(mode="json")
            )
        log.info("contracts.rental.replaced", contract_id=str(contract_id), old=str(rental_id), new=str(new_id))
        return result


async def get_rental(pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, rental_id: UUID) -> RentalRead:
    async with pool.acquire() as conn:
        await _visible_contract(conn, principal=principal, contract_id=contract_id)
        row = await repository.get_rental(conn, contract_id=contract_id, rental_id=rental_id)
    if row is None:
        raise NotFound("rental not found", code="rental_not_found")
    return _rental_read(row)


async def list_rentals(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    contract_id: UUID,
    status: RentalStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[RentalRead]:
    after = _after_instant(cursor)
    async with pool.acquire() as conn:
        await _visible_contract(conn, principal=principal, contract_id=contract_id)
        rows = await repository.list_rentals(conn, contract_id=contract_id, status=status, after=after, limit=limit + 1)
    items = [_rental_read(r) for r in rows[:limit]]
    next_cursor = (
        encode_cursor({"at": items[-1].activated_at.isoformat(), "id": str(items[-1].id)})
        if len(rows) > limit
        else None
    )
    return Page[RentalRead](items=items, next_cursor=next_cursor)


# --- tariffs -------------------------------------------------------------------------------------------------


async def set_tariff(
    pool: asyncpg.Pool, *, product: str, rate_per_day: int, licences: list[LicenceSpec], now: datetime
) -> TariffRead:
    """A tariff change applies to the active rentals from now on: each contract renting the product gets a new
    RentalChanged. The tariff row lock makes a concurrent activation either wait for the new rate or be seen."""
    async with transaction(pool) as conn:
        row = await repository.upsert_tariff(
            conn,
            product=product,
            rate_per_day=rate_per_day,
            licences=[grant.model_dump() for grant in licences],
            now=now,
        )
        affected = await repository.contracts_renting_product(conn, product)
        contracts = await repository.lock_contracts(conn, affected)
        await repository.reprice_active_rentals(
            conn, product=product, rate_per_day=rate_per_day, contract_ids=[c["id"] for c in contracts]
        )
        tariff = _tariff_read(row)
        for contract in contracts:
            await _record(
                conn,
                contract=contract,
                now=now,
                type="TariffChanged",
                summary=f"tariff of {product} now {_per_day(rate_per_day)}",
                data=tariff.model_dump(mode="json"),
            )
            await _publish_rental_changed(conn, contract=contract, status=ContractStatus(contract["status"]), now=now)
        log.info("contracts.tariff.set", product=product, rate_per_day=rate_per_day, contracts=len(contracts))
        return tariff


async def get_tariff(pool: asyncpg.Pool, *, product: str) -> TariffRead:
    async with pool.acquire() as conn:
        row = await repository.get_tariff(conn, product)
    if row is None:
        raise NotFound(f"no tariff for {product}: it is not rentable", code="tariff_not_found")
    return _tariff_read(row)


async def list_tariffs(pool: asyncpg.Pool) -> Page[TariffRead]:
    async with pool.acquire() as conn:
        rows = await repository.list_tariffs(conn)
    return Page[TariffRead](items=[_tariff_read(r) for r in rows], next_cursor=None)


# --- history ------------------------------------------------------------------------------------------------


async def history(
    pool: asyncpg.Pool, *, principal: Principal, contract_id: UUID, cursor: str | None, limit: int
) -> Page[HistoryEntryRead]:
    values = _keyset(cursor, "at", "id")
    try:
        after = (datetime.fromisoformat(values[0]), int(values[1])) if values else None
    except ValueError as exc:
        raise BadRequest("the cursor is not one this service issued", code="invalid_cursor") from exc
    async with pool.acquire() as conn:
        contract = await _visible_contract(conn, principal=principal, contract_id=contract_id)
        rows = await repository.list_history(
            conn, account_id=contract["account_id"], contract_id=contract_id, after=after, limit=limit + 1
        )
    items = [HistoryEntryRead(at=r["at"], type=r["type"], summary=r["summary"], data=r["data"]) for r in rows[:limit]]
    next_cursor = (
        encode_cursor({"at": rows[limit - 1]["at"].isoformat(), "id": rows[limit - 1]["id"]})
        if len(rows) > limit
        else None
    )
    return Page[HistoryEntryRead](items=items, next_cursor=next_cursor)


# --- driven by other services' events (inside the inbox transaction) ----------------------------------------


async def apply_funding(conn: asyncpg.Connection, *, account_id: UUID, funding: Funding, now: datetime) -> None:
    """Hold the account's newest funding; suspend its active contracts at zero, resume suspended ones above.

    Older or repeated wallet events change nothing, so any order and any replay end in the same state."""
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
        action = domain.reconcile(ContractStatus(contract["status"]), funding)
        if action is None:
            continue
        status = await _change_status(conn, contract=contract, action=action, now=now)
        event: Event
        if action is Transition.SUSPEND:
            event = ContractSuspended(contract_id=contract["id"], account_id=account_id, reason="balance_depleted")
            summary = "suspended: the balance is depleted; rentals are kept"
        else:
            event = ContractResumed(contract_id=contract["id"], account_id=account_id, reason="balance_restored")
            summary = "resumed: the balance is positive again"
        await _publish(conn, contract=contract, event=event, summary=summary, now=now)
        await _publish_rental_changed(conn, contract=contract, status=status, now=now)


async def record_account_event(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    at: datetime,
    type: str,
    summary: str,
    data: dict[str, object],
    source_key: str,
) -> None:
    """A wallet event in the history of every contract of the account; a replay of it adds nothing."""
    await repository.insert_history(
        conn,
        account_id=account_id,
        contract_id=None,
        at=at,
        type=type,
        summary=summary,
        data=data,
        source_key=source_key,
    )


async def end_rental_of_removed_device(conn: asyncpg.Connection, *, device_id: UUID, now: datetime) -> None:
    """A device removed from its domain can no longer run: its rental ends. The caller locked the device."""
    rental = await repository.active_rental_of_device(conn, device_id)
    if rental is None:
        return
    contract = await repository.lock_contract(conn, rental["contract_id"])
    assert contract is not None
    if (
        await repository.end_rental(
            conn, rental_id=rental["id"], status=RentalStatus.DEACTIVATED, reason="device_removed", now=now
        )
        is None
    ):
        return
    await _publish_device_deactivated(conn, contract=contract, rental=rental, reason="device_removed", now=now)
    await _publish_rental_changed(conn, contract=contract, status=ContractStatus(contract["status"]), now=now)
    log.info("contracts.rental.ended_by_device_removal", rental_id=str(rental["id"]), device_id=str(device_id))
