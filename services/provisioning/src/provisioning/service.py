"""Provisioning use cases: one function, one transaction, events into the outbox inside it.

Domains are reached only through `_accessible_domain`: a caller who may not see the domain's account
learns nothing about it (404), on every route below a domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import asyncpg
import structlog

from provisioning import domain, repository
from provisioning.schemas import (
    DeviceRead,
    DomainRead,
    Enrolment,
    GatewayCreate,
    GatewayRead,
    ProvisioningCodeIssued,
    ProvisioningCodeRead,
)
from shared.auth import Principal, Role, ensure_account_access
from shared.db import transaction
from shared.events.provisioning import (
    DeviceProvisioned,
    DeviceRemoved,
    DomainCreated,
    GatewayRegistered,
    GatewayRemoved,
)
from shared.messaging.outbox import add_to_outbox
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.rate_limit import ensure_below_limit, record_hit
from shared.refusals import BadRequest, Conflict, NotFound, NotYetKnown

log = structlog.get_logger()
T = TypeVar("T")

# --- domains ------------------------------------------------------------------------------------


async def create_domain(pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, name: str) -> DomainRead:
    ensure_account_access(principal, account_id)
    domain_id = uuid.uuid4()
    async with transaction(pool) as conn:
        if not await repository.account_is_known(conn, account_id):
            raise NotYetKnown(f"account {account_id} is not known here yet; retry shortly")
        if not await repository.insert_domain(conn, domain_id=domain_id, account_id=account_id, name=name):
            raise Conflict(f"the account already has a domain named {name!r}", code="domain_name_taken")
        await add_to_outbox(conn, DomainCreated(domain_id=domain_id, account_id=account_id, name=name))
    log.info("provisioning.domain.created", domain_id=str(domain_id), account_id=str(account_id))
    return DomainRead(id=domain_id, account_id=account_id, name=name)


async def read_domain(pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID) -> DomainRead:
    row = await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    return DomainRead(id=row["id"], account_id=row["account_id"], name=row["name"])


async def list_domains(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID | None, cursor: str | None, limit: int
) -> Page[DomainRead]:
    """A customer sees their own account's domains; partners and operators one account's, or all."""
    if account_id is None and not principal.has_any(Role.PARTNER, Role.OPERATOR):
        account_id = principal.account_id
    if account_id is not None:
        ensure_account_access(principal, account_id)
    after = None
    if (values := decode_cursor(cursor)) is not None:
        try:
            after = str(values["name"]), uuid.UUID(str(values["id"]))
        except (KeyError, ValueError) as exc:
            raise BadRequest("the cursor is not one this service issued", code="invalid_cursor") from exc
    rows = await repository.list_domains(pool, account_id=account_id, after=after, limit=limit + 1)
    items = [DomainRead(id=r["id"], account_id=r["account_id"], name=r["name"]) for r in rows]
    if len(items) <= limit:
        return Page[DomainRead](items=items, next_cursor=None)
    last = items[limit - 1]
    return Page[DomainRead](items=items[:limit], next_cursor=encode_cursor({"name": last.name, "id": str(last.id)}))


async def _accessible_domain(
    conn: asyncpg.Connection | asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID
) -> asyncpg.Record:
    row = await repository.get_domain(conn, domain_id)
    if row is None or not principal.can_access_account(row["account_id"]):
        raise NotFound("domain not found")
    return row


# --- gateways -----------------------------------------------------------------------------------


async def register_gateway(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID, gateway: GatewayCreate, now: datetime
) -> tuple[GatewayRead, bool]:
    """The gateway and whether it is new. Registering the very same gateway again changes nothing."""
    async with transaction(pool) as conn:
        owner = await _accessible_domain(conn, principal=principal, domain_id=domain_id)
        hwid = domain.parse_hwid(gateway.hwid)
        product = domain.parse_product(gateway.product)
        public_key = domain.parse_gateway_public_key(gateway.public_key)
        await repository.lock_hwid(conn, hwid)
        existing = await repository.find_present_gateway_by_hwid(conn, hwid)
        if existing is not None:
            same = (existing["domain_id"], existing["product"], existing["public_key"]) == (
                domain_id,
                product,
                public_key,
            )
            if same:
                return _gateway_read(existing), False
            raise Conflict(
                f"a gateway with hardware id {hwid} is already registered; remove it first to register it anew",
                code="gateway_hwid_taken",
            )
        device = await repository.find_present_device_by_hwid(conn, hwid)
        if device is not None and device["domain_id"] != domain_id:
            raise _in_other_domain(hwid)
        row = await repository.insert_gateway(
            conn,
            gateway_id=uuid.uuid4(),
            domain_id=domain_id,
            hwid=hwid,
            product=product,
            public_key=public_key,
            now=now,
        )
        await add_to_outbox(
            conn,
            GatewayRegistered(
                gateway_id=row["id"],
                domain_id=domain_id,
                account_id=owner["account_id"],
                hwid=hwid,
                product=product,
                public_key=public_key,
            ),
        )
    log.info("provisioning.gateway.registered", gateway_id=str(row["id"]), domain_id=str(domain_id), hwid=hwid)
    return _gateway_read(row), True


async def read_gateway(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID, gateway_id: uuid.UUID
) -> GatewayRead:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    row = await repository.get_present_gateway(pool, domain_id=domain_id, gateway_id=gateway_id)
    if row is None:
        raise NotFound("gateway not found")
    return _gateway_read(row)


async def list_gateways(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[GatewayRead]:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    rows = await repository.list_present_gateways(pool, domain_id=domain_id, after=_position(cursor), limit=limit + 1)
    return _page([_gateway_read(r) for r in rows], limit=limit, key=lambda g: (g.registered_at, g.id))


async def remove_gateway(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID, gateway_id: uuid.UUID, now: datetime
) -> None:
    """The distributor ends the gateway's sessions when `GatewayRemoved` reaches it."""
    async with transaction(pool) as conn:
        owner = await _accessible_domain(conn, principal=principal, domain_id=domain_id)
        row = await repository.mark_gateway_removed(conn, domain_id=domain_id, gateway_id=gateway_id, now=now)
        if row is None:
            raise NotFound("gateway not found")
        await add_to_outbox(
            conn,
            GatewayRemoved(
                gateway_id=gateway_id,
                domain_id=domain_id,
                account_id=owner["account_id"],
                hwid=row["hwid"],
                product=row["product"],
            ),
        )
    log.info("provisioning.gateway.removed", gateway_id=str(gateway_id), domain_id=str(domain_id))


def _gateway_read(row: asyncpg.Record) -> GatewayRead:
    return GatewayRead(
        id=row["id"],
        domain_id=row["domain_id"],
        hwid=row["hwid"],
        product=row["product"],
        public_key=row["public_key"],
        registered_at=row["registered_at"],
    )


# --- provisioning codes -------------------------------------------------------------------------


async def issue_provisioning_code(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    domain_id: uuid.UUID,
    max_uses: int,
    valid_for: timedelta | None,
    now: datetime,
) -> ProvisioningCodeIssued:
    expires_at = domain.code_expiry(now=now, valid_for=valid_for)
    code = domain.generate_code()
    symbols = domain.normalise_code(code)
    assert symbols is not None
    code_id = uuid.uuid4()
    async with transaction(pool) as conn:
        await _accessible_domain(conn, principal=principal, domain_id=domain_id)
        await repository.insert_provisioning_code(
            conn,
            code_id=code_id,
            domain_id=domain_id,
            code_hash=domain.hash_code(symbols),
            code_hint=domain.code_hint(symbols),
            max_uses=max_uses,
            expires_at=expires_at,
            now=now,
        )
    log.info("provisioning.code.issued", code_id=str(code_id), domain_id=str(domain_id), max_uses=max_uses)
    return ProvisioningCodeIssued(id=code_id, domain_id=domain_id, code=code, expires_at=expires_at, max_uses=max_uses)


async def list_provisioning_codes(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[ProvisioningCodeRead]:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    rows = await repository.list_provisioning_codes(pool, domain_id=domain_id, after=_position(cursor), limit=limit + 1)
    return _page([_code_read(r) for r in rows], limit=limit, key=lambda c: (c.created_at, c.id))


async def revoke_provisioning_code(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID, code_id: uuid.UUID, now: datetime
) -> ProvisioningCodeRead:
    async with transaction(pool) as conn:
        await _accessible_domain(conn, principal=principal, domain_id=domain_id)
        row = await repository.revoke_provisioning_code(conn, domain_id=domain_id, code_id=code_id, now=now)
        if row is None:
            raise NotFound("provisioning code not found")
    log.info("provisioning.code.revoked", code_id=str(code_id), domain_id=str(domain_id))
    return _code_read(row)


def _code_read(row: asyncpg.Record) -> ProvisioningCodeRead:
    return ProvisioningCodeRead(
        id=row["id"],
        domain_id=row["domain_id"],
        hint=row["code_hint"],
        expires_at=row["expires_at"],
        max_uses=row["max_uses"],
        uses=row["uses"],
        revoked_at=row["revoked_at"],
        created_at=row["created_at"],
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
    hwid = domain.parse_hwid(enrolment.hwid)
    product = domain.parse_product(enrolment.product)
    try:
        return await _enrol(pool, enrolment=enrolment, hwid=hwid, product=product, now=now)
    except domain.CodeRefused as refused:
        await record_hit(pool, bucket=failures, window_s=limits.window_s, now=now)
        log.info("provisioning.enrolment.refused", reason=refused.code, client=client, hwid=hwid)
        raise


async def _enrol(
    pool: asyncpg.Pool, *, enrolment: Enrolment, hwid: str, product: str, now: datetime
) -> tuple[DeviceRead, bool]:
    symbols = domain.normalise_code(enrolment.code)
    if symbols is None:
        raise domain.CodeUnknown("no such provisioning code")
    async with transaction(pool) as conn:
        # Lock order everywhere: hardware id first, then the code row.
        await repository.lock_hwid(conn, hwid)
        code = await repository.lock_provisioning_code_by_hash(conn, domain.hash_code(symbols))
        if code is None:
            raise domain.CodeUnknown("no such provisioning code")
        domain_id: uuid.UUID = code["domain_id"]
        existing = await repository.find_present_device_by_hwid(conn, hwid)
        if existing is not None:
            if existing["domain_id"] != domain_id:
                raise _in_other_domain(hwid)
            if (existing["product"], existing["type"]) != (product, enrolment.type.value):
                raise Conflict(
                    f"hardware id {hwid} is enrolled here as {existing['type']} {existing['product']}",
                    code="device_details_differ",
                )
            # A retry (or a phone reset): the code's state no longer matters, nothing new is granted.
            return _device_read(existing), False
        gateway = await repository.find_present_gateway_by_hwid(conn, hwid)
        if gateway is not None and gateway["domain_id"] != domain_id:
            raise _in_other_domain(hwid)
        domain.ensure_code_usable(
            domain.CodeState(
                expires_at=code["expires_at"],
                max_uses=code["max_uses"],
                uses=code["uses"],
                revoked_at=code["revoked_at"],
            ),
            now=now,
        )
        owner = await repository.get_domain(conn, domain_id)
        assert owner is not None  # the code references it
        row = await repository.insert_device(
            conn,
            device_id=uuid.uuid4(),
            domain_id=domain_id,
            hwid=hwid,
            product=product,
            device_type=enrolment.type.value,
            code_id=code["id"],
            now=now,
        )
        await repository.count_code_use(conn, code["id"])
        await add_to_outbox(
            conn,
            DeviceProvisioned(
                device_id=row["id"],
                domain_id=domain_id,
                account_id=owner["account_id"],
                hwid=hwid,
                product=product,
                type=enrolment.type.value,
            ),
        )
    log.info("provisioning.device.provisioned", device_id=str(row["id"]), domain_id=str(domain_id), hwid=hwid)
    return _device_read(row), True


def _in_other_domain(hwid: str) -> Conflict:
    return Conflict(f"hardware id {hwid} belongs to another domain; remove it there first", code="hwid_in_other_domain")


# --- devices ------------------------------------------------------------------------------------


async def list_devices(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    domain_id: uuid.UUID,
    device_type: domain.DeviceType | None,
    product: str | None,
    cursor: str | None,
    limit: int,
) -> Page[DeviceRead]:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    rows = await repository.list_present_devices(
        pool,
        domain_id=domain_id,
        device_type=device_type.value if device_type else None,
        product=product,
        after=_position(cursor),
        limit=limit + 1,
    )
    return _page([_device_read(r) for r in rows], limit=limit, key=lambda d: (d.provisioned_at, d.id))


async def read_device(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID, device_id: uuid.UUID
) -> DeviceRead:
    await _accessible_domain(pool, principal=principal, domain_id=domain_id)
    row = await repository.get_present_device(pool, domain_id=domain_id, device_id=device_id)
    if row is None:
        raise NotFound("device not found")
    return _device_read(row)


async def remove_device(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: uuid.UUID, device_id: uuid.UUID, now: datetime
) -> None:
    async with transaction(pool) as conn:
        owner = await _accessible_domain(conn, principal=principal, domain_id=domain_id)
        row = await repository.mark_device_removed(conn, domain_id=domain_id, device_id=device_id, now=now)
        if row is None:
            raise NotFound("device not found")
        await add_to_outbox(
            conn,
            DeviceRemoved(
                device_id=device_id,
                domain_id=domain_id,
                account_id=owner["account_id"],
                hwid=row["hwid"],
                product=row["product"],
                type=row["type"],
            ),
        )
    log.info("provisioning.device.removed", device_id=str(device_id), domain_id=str(domain_id))


def _device_read(row: asyncpg.Record) -> DeviceRead:
    return DeviceRead(
        id=row["id"],
        domain_id=row["domain_id"],
        hwid=row["hwid"],
        product=row["product"],
        type=domain.DeviceType(row["type"]),
        provisioned_at=row["provisioned_at"],
    )


# --- paging -------------------------------------------------------------------------------------


def _position(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """Where the previous page ended: (instant, id), the key every list here is ordered by."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        return datetime.fromisoformat(str(values["at"])), uuid.UUID(str(values["id"]))
    except (KeyError, ValueError) as exc:
        raise BadRequest("the cursor is not one this service issued", code="invalid_cursor") from exc


def _page(items: list[T], *, limit: int, key: Callable[[T], tuple[datetime, uuid.UUID]]) -> Page[T]:
    """`items` holds up to `limit + 1` rows: one more than shown tells that another page follows."""
    if len(items) <= limit:
        return Page[T](items=items, next_cursor=None)
    at, last_id = key(items[limit - 1])
    return Page[T](items=items[:limit], next_cursor=encode_cursor({"at": at.isoformat(), "id": str(last_id)}))
