"""Provisioning use cases: one function, one transaction, events into the outbox inside it.

Domains are reached only through `_accessible_domain`: a caller who may not see the domain's account
learns nothing about it (404), on every route below a domain.

Every creating request but enrolment accepts an `Idempotency-Key`, claimed for the account the domain belongs
to: a retry gets the first answer and creates nothing new. Enrolment takes none: a device has no account to
scope a key to, and enrolling the same hardware id again already gives its device back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg
import structlog
from pydantic import BaseModel

from provisioning import domain, repository
from provisioning.repository import Device, Domain, Gateway, ProvisioningCode, Unit
from provisioning.schemas import (
    DeviceRead,
    DomainRead,
    Enrolment,
    GatewayCreate,
    GatewayRead,
    ProvisioningCodeAlreadyShown,
    ProvisioningCodeIssued,
    ProvisioningCodeRead,
)
from shared.auth import Principal, Role
from shared.db import transaction
from shared.events.provisioning import (
    DeviceProvisioned,
    DeviceRemoved,
    DomainCreated,
    GatewayRegistered,
    GatewayRemoved,
)
from shared.idempotency import Claim, claim
from shared.messaging.outbox import add_to_outbox
from shared.pagination import Keyset, Page
from shared.partner_scope import ensure_account_access, partner_filter
from shared.rate_limit import ensure_below_limit, record_hit
from shared.refusals import Conflict, NotFound, NotYetKnown

log = structlog.get_logger()
M = TypeVar("M", bound=BaseModel)

CREATED, UNCHANGED = 201, 200
DOMAINS_BY_NAME = Keyset(("name", str), ("id", UUID))
# Gateways, codes and devices are listed in the order they arrived: (that instant, id).
BY_ARRIVAL = Keyset(("at", datetime), ("id", UUID))

# --- accounts -----------------------------------------------------------------------------------


async def note_account_opened(conn: asyncpg.Connection, *, account_id: UUID, name: str) -> None:
    """The wallet's account, kept as the read model new domains are checked against."""
    await repository.upsert_known_account(conn, account_id=account_id, name=name)


# --- domains ------------------------------------------------------------------------------------


async def create_domain(
    pool: asyncpg.Pool, *, principal: Principal, account_id: UUID, name: str, idempotency_key: str | None
) -> DomainRead:
    await ensure_account_access(pool, principal, account_id, retry_if_unknown=True)
    created = DomainRead(id=uuid4(), account_id=account_id, name=name)
    async with transaction(pool) as conn:
        once = await claim(
            conn,
            operation="domain_creation",
            owner=account_id,
            key=idempotency_key,
            request={"account_id": account_id, "name": name},
        )
        if (first := once.replayed(DomainRead)) is not None:
            return first
        if not await repository.account_is_known(conn, account_id):
            raise NotYetKnown(f"account {account_id} is not known here yet; retry shortly")
        if not await repository.insert_domain(conn, domain_id=created.id, account_id=account_id, name=name):
            raise Conflict(f"the account already has a domain named {name!r}", code="domain_name_taken")
        await add_to_outbox(conn, DomainCreated(domain_id=created.id, account_id=account_id, name=name))
        await once.answer(created, status_code=CREATED)
    log.info("provisioning.domain.created", domain_id=str(created.id), account_id=str(account_id))
    return created


async def read_domain(pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID) -> DomainRead:
    return _shown(DomainRead, await _accessible_domain(pool, principal=principal, domain_id=domain_id))


async def list_domains(
    pool: asyncpg.Pool, *, principal: Principal, account_id: UUID | None, cursor: str | None, limit: int
) -> Page[DomainRead]:
    """A customer sees their own account's domains; partners and operators one account's, or all."""
    if account_id is None and not principal.has_any(Role.PARTNER, Role.OPERATOR):
        account_id = principal.account_id
    if account_id is not None:
        await ensure_account_access(pool, principal, account_id)
    page = DOMAINS_BY_NAME.request(cursor, limit)
    domains = await repository.list_domains(
        pool, account_id=account_id, partner=partner_filter(principal), after=page.after, limit=page.fetch
    )
    return DOMAINS_BY_NAME.page([_shown(DomainRead, d) for d in domains], page, key=lambda d: (d.name, d.id))


async def _accessible_domain(
    conn: asyncpg.Connection | asyncpg.Pool, *, principal: Principal, domain_id: UUID
) -> Domain:
    found = await repository.get_domain(conn, domain_id)
    if found is None:
        raise NotFound("domain not found")
    await ensure_account_access(conn, principal, found.account_id, what="domain")
    return found


@asynccontextmanager
async def _in_domain(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID
) -> AsyncIterator[tuple[asyncpg.Connection, Domain]]:
    """One transaction of work on a domain the caller may see (else 404), with the domain it belongs to."""
    async with transaction(pool) as conn:
        yield conn, await _accessible_domain(conn, principal=principal, domain_id=domain_id)


# --- gateways -----------------------------------------------------------------------------------


async def register_gateway(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    domain_id: UUID,
    gateway: GatewayCreate,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[GatewayRead, bool]:
    """The gateway and whether it is new. Registering the very same gateway again changes nothing."""
    async with _in_domain(pool, principal=principal, domain_id=domain_id) as (conn, owner):
        request = {"domain_id": domain_id, **gateway.model_dump()}
        once = await claim(
            conn, operation="gateway_registration", owner=owner.account_id, key=idempotency_key, request=request
        )
        if (first := _first_answer(once, GatewayRead)) is not None:
            return first
        details = domain.parse_gateway(hwid=gateway.hwid, product=gateway.product, public_key=gateway.public_key)
        await repository.lock_hwid(conn, details.hwid)
        if (existing := await repository.find_present_gateway_by_hwid(conn, details.hwid)) is not None:
            _ensure_registered_alike(existing, domain_id=domain_id, details=details)
            return await _answer(once, _shown(GatewayRead, existing), created=False)
        registered = await _register(conn, owner=owner, details=details, now=now)
        answer = await _answer(once, _shown(GatewayRead, registered), created=True)
    log.info(
        "provisioning.gateway.registered", gateway_id=str(registered.id), domain_id=str(domain_id), hwid=details.hwid
    )
    return answer


def _ensure_registered_alike(existing: Gateway, *, domain_id: UUID, details: domain.GatewayDetails) -> None:
    """Registering a present gateway again changes nothing only if it is this very registration."""
    if (existing.domain_id, existing.product, existing.public_key) != (domain_id, details.product, details.public_key):
        raise Conflict(
            f"a gateway with hardware id {details.hwid} is already registered; remove it first to register it anew",
            code="gateway_hwid_taken",
        )


async def _register(
    conn: asyncpg.Connection, *, owner: Domain, details: domain.GatewayDetails, now: datetime
) -> Gateway:
    device = await repository.find_present_device_by_hwid(conn, details.hwid)
    domain.ensure_not_in_other_domain(details.hwid, here=owner.id, found_in=_domain_of(device))
    gateway = await repository.insert_gateway(conn, gateway_id=uuid4(), domain_id=owner.id, details=details, now=now)
    registered = GatewayRegistered(gateway_id=gateway.id, public_key=gateway.public_key, **_unit_facts(owner, gateway))
    await add_to_outbox(conn, registered)
    return gateway


async def read_gateway(pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID, gateway_id: UUID) -> GatewayRead:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    gateway = await repository.get_present_gateway(pool, domain_id=domain_id, gateway_id=gateway_id)
    return _shown(GatewayRead, _present("gateway", gateway))


async def list_gateways(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID, cursor: str | None, limit: int
) -> Page[GatewayRead]:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    page = BY_ARRIVAL.request(cursor, limit)
    gateways = await repository.list_present_gateways(pool, domain_id=domain_id, after=page.after, limit=page.fetch)
    return BY_ARRIVAL.page([_shown(GatewayRead, g) for g in gateways], page, key=lambda g: (g.registered_at, g.id))


async def remove_gateway(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID, gateway_id: UUID, now: datetime
) -> None:
    """The distributor ends the gateway's sessions when `GatewayRemoved` reaches it."""
    async with _in_domain(pool, principal=principal, domain_id=domain_id) as (conn, owner):
        removed = await repository.mark_gateway_removed(conn, domain_id=domain_id, gateway_id=gateway_id, now=now)
        gateway = _present("gateway", removed)
        await add_to_outbox(conn, GatewayRemoved(gateway_id=gateway.id, **_unit_facts(owner, gateway)))
    log.info("provisioning.gateway.removed", gateway_id=str(gateway_id), domain_id=str(domain_id))


# --- provisioning codes -------------------------------------------------------------------------


async def issue_provisioning_code(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    domain_id: UUID,
    max_uses: int,
    valid_for: timedelta | None,
    idempotency_key: str | None,
    now: datetime,
) -> ProvisioningCodeIssued:
    """The code exists in this answer only: it is stored as a hash, and not kept for a retry either."""
    expires_at = domain.code_expiry(now=now, valid_for=valid_for)
    issued = ProvisioningCodeIssued(
        id=uuid4(), domain_id=domain_id, code=domain.generate_code(), expires_at=expires_at, max_uses=max_uses
    )
    async with _in_domain(pool, principal=principal, domain_id=domain_id) as (conn, owner):
        request = {"domain_id": domain_id, "max_uses": max_uses, "valid_for": valid_for and valid_for.total_seconds()}
        once = await claim(
            conn, operation="provisioning_code_issue", owner=owner.account_id, key=idempotency_key, request=request
        )
        _refuse_to_show_again(once)
        await _store_code(conn, issued, now=now)
        await once.answer(
            ProvisioningCodeAlreadyShown(code_id=issued.id, domain_id=domain_id, expires_at=expires_at),
            status_code=CREATED,
        )
    log.info("provisioning.code.issued", code_id=str(issued.id), domain_id=str(domain_id), max_uses=max_uses)
    return issued


def _refuse_to_show_again(once: Claim) -> None:
    """A retry of an answered issue learns which code it was, so a lost code can be revoked; never the code."""
    if (first := once.replayed(ProvisioningCodeAlreadyShown)) is not None:
        raise Conflict(
            "this provisioning code was already issued and is shown only once; revoke it if its answer was lost",
            code="provisioning_code_already_shown",
            **first.model_dump(mode="json"),
        )


async def _store_code(conn: asyncpg.Connection, issued: ProvisioningCodeIssued, *, now: datetime) -> None:
    symbols = domain.normalise_code(issued.code)
    assert symbols is not None  # a generated code is always one of ours
    await repository.insert_provisioning_code(
        conn,
        code_id=issued.id,
        domain_id=issued.domain_id,
        code_hash=domain.hash_code(symbols),
        code_hint=domain.code_hint(symbols),
        max_uses=issued.max_uses,
        expires_at=issued.expires_at,
        now=now,
    )


async def list_provisioning_codes(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID, cursor: str | None, limit: int
) -> Page[ProvisioningCodeRead]:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    page = BY_ARRIVAL.request(cursor, limit)
    codes = await repository.list_provisioning_codes(pool, domain_id=domain_id, after=page.after, limit=page.fetch)
    return BY_ARRIVAL.page([_code_read(c) for c in codes], page, key=lambda c: (c.created_at, c.id))


async def revoke_provisioning_code(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID, code_id: UUID, now: datetime
) -> ProvisioningCodeRead:
    async with _in_domain(pool, principal=principal, domain_id=domain_id) as (conn, _):
        revoked = await repository.revoke_provisioning_code(conn, domain_id=domain_id, code_id=code_id, now=now)
        code = _present("provisioning code", revoked)
    log.info("provisioning.code.revoked", code_id=str(code_id), domain_id=str(domain_id))
    return _code_read(code)


def _code_read(code: ProvisioningCode) -> ProvisioningCodeRead:
    return ProvisioningCodeRead(
        id=code.id,
        domain_id=code.domain_id,
        hint=code.code_hint,
        expires_at=code.expires_at,
        max_uses=code.max_uses,
        uses=code.uses,
        revoked_at=code.revoked_at,
        created_at=code.created_at,
    )


# --- enrolment ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrolmentLimits:
    window_s: int
    failures: int
    attempts: int


async def enrol_device(
    pool: asyncpg.Pool, *, enrolment: Enrolment, client: str, limits: EnrolmentLimits, now: datetime
) -> tuple[DeviceRead, bool]:
    """A device joins the domain its code belongs to; the device and whether it is new.

    No token: the code is the credential, so refused codes are counted per client address (in their own
    transaction, which the refused request's rollback cannot undo) and stop the address for a while.
    The same hardware id enrolling again into the same domain gets its device back, with no second event.
    """
    failures = f"provisioning.enrolment.refused:{client}"
    attempts = f"provisioning.enrolment.attempts:{client}"
    what = "enrolment attempts from this address"
    await ensure_below_limit(pool, bucket=failures, limit=limits.failures, window_s=limits.window_s, now=now, what=what)
    await ensure_below_limit(pool, bucket=attempts, limit=limits.attempts, window_s=limits.window_s, now=now, what=what)
    await record_hit(pool, bucket=attempts, window_s=limits.window_s, now=now)
    details = domain.parse_device(hwid=enrolment.hwid, product=enrolment.product, device_type=enrolment.type)
    try:
        return await _enrol(pool, code=enrolment.code, details=details, now=now)
    except domain.CodeRefused as refused:
        await record_hit(pool, bucket=failures, window_s=limits.window_s, now=now)
        log.info("provisioning.enrolment.refused", reason=refused.code, client=client, hwid=details.hwid)
        raise


async def _enrol(
    pool: asyncpg.Pool, *, code: str, details: domain.DeviceDetails, now: datetime
) -> tuple[DeviceRead, bool]:
    code_hash = _hash_of_presented(code)
    async with transaction(pool) as conn:
        # Lock order everywhere: hardware id first, then the code row.
        await repository.lock_hwid(conn, details.hwid)
        presented = await repository.lock_provisioning_code_by_hash(conn, code_hash)
        if presented is None:
            raise domain.CodeUnknown("no such provisioning code")
        if (enrolled := await repository.find_present_device_by_hwid(conn, details.hwid)) is not None:
            _ensure_enrolled_alike(enrolled, domain_id=presented.domain_id, details=details)
            # A retry (or a phone reset): the code's state no longer matters, nothing new is granted.
            return _shown(DeviceRead, enrolled), False
        gateway = await repository.find_present_gateway_by_hwid(conn, details.hwid)
        domain.ensure_not_in_other_domain(details.hwid, here=presented.domain_id, found_in=_domain_of(gateway))
        domain.ensure_code_usable(presented, now=now)
        device = await _admit(conn, presented, details=details, now=now)
    log.info(
        "provisioning.device.provisioned", device_id=str(device.id), domain_id=str(device.domain_id), hwid=device.hwid
    )
    return _shown(DeviceRead, device), True


def _hash_of_presented(code: str) -> bytes:
    symbols = domain.normalise_code(code)
    if symbols is None:
        raise domain.CodeUnknown("no such provisioning code")
    return domain.hash_code(symbols)


def _ensure_enrolled_alike(existing: Device, *, domain_id: UUID, details: domain.DeviceDetails) -> None:
    """Enrolling a present device again gives it back only in its own domain, as the same hardware."""
    domain.ensure_not_in_other_domain(details.hwid, here=domain_id, found_in=existing.domain_id)
    if (existing.product, existing.type) != (details.product, details.type.value):
        raise Conflict(
            f"hardware id {details.hwid} is enrolled here as {existing.type} {existing.product}",
            code="device_details_differ",
        )


async def _admit(
    conn: asyncpg.Connection, code: ProvisioningCode, *, details: domain.DeviceDetails, now: datetime
) -> Device:
    """The device joins the code's domain and takes one of the code's uses."""
    owner = await repository.get_domain(conn, code.domain_id)
    assert owner is not None  # the code references it
    device = await repository.insert_device(
        conn, device_id=uuid4(), domain_id=owner.id, details=details, code_id=code.id, now=now
    )
    await repository.count_code_use(conn, code.id)
    await add_to_outbox(conn, DeviceProvisioned(device_id=device.id, type=device.type, **_unit_facts(owner, device)))
    return device


# --- devices ------------------------------------------------------------------------------------


async def list_devices(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    domain_id: UUID,
    device_type: domain.DeviceType | None,
    product: str | None,
    cursor: str | None,
    limit: int,
) -> Page[DeviceRead]:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    page = BY_ARRIVAL.request(cursor, limit)
    devices = await repository.list_present_devices(
        pool,
        domain_id=domain_id,
        device_type=device_type.value if device_type else None,
        product=product,
        after=page.after,
        limit=page.fetch,
    )
    return BY_ARRIVAL.page([_shown(DeviceRead, d) for d in devices], page, key=lambda d: (d.provisioned_at, d.id))


async def read_device(pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID, device_id: UUID) -> DeviceRead:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    device = await repository.get_present_device(pool, domain_id=domain_id, device_id=device_id)
    return _shown(DeviceRead, _present("device", device))


async def remove_device(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID, device_id: UUID, now: datetime
) -> None:
    async with _in_domain(pool, principal=principal, domain_id=domain_id) as (conn, owner):
        removed = await repository.mark_device_removed(conn, domain_id=domain_id, device_id=device_id, now=now)
        device = _present("device", removed)
        await add_to_outbox(conn, DeviceRemoved(device_id=device.id, type=device.type, **_unit_facts(owner, device)))
    log.info("provisioning.device.removed", device_id=str(device_id), domain_id=str(domain_id))


# --- answers ------------------------------------------------------------------------------------

P = TypeVar("P")


def _present(what: str, found: P | None) -> P:
    """What was asked for, or 404 `not_found`: absent, removed, or under another domain are all the same."""
    if found is None:
        raise NotFound(f"{what} not found")
    return found


def _shown(model: type[M], stored: Domain | Unit) -> M:
    """A stored object as the API shows it: the read models carry the stored fields under the same names."""
    return model.model_validate(stored, from_attributes=True)


def _domain_of(present: Unit | None) -> UUID | None:
    return None if present is None else present.domain_id


def _unit_facts(owner: Domain, unit: Unit) -> dict[str, Any]:
    """What every event about a gateway or a device carries: where the unit is, and which unit it is."""
    return {"domain_id": owner.id, "account_id": owner.account_id, "hwid": unit.hwid, "product": unit.product}


def _first_answer(once: Claim, model: type[M]) -> tuple[M, bool] | None:
    """A retry's first answer, and whether that answer created the object (201) or found it already (200)."""
    first = once.replayed(model)
    if first is None or once.replay is None:
        return None
    return first, once.replay.status_code == CREATED


async def _answer(once: Claim, result: M, *, created: bool) -> tuple[M, bool]:
    return await once.answer(result, status_code=CREATED if created else UNCHANGED), created
