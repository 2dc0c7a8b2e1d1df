"""SQL of provisioning, one function per query. Never commits.

Every read answers with a frozen dataclass named for what it holds, so the use cases never look a column up
by its name: a dataclass's fields are the columns its query selects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias, TypeVar
from uuid import UUID

import asyncpg

from provisioning.domain import CodeState, DeviceDetails, GatewayDetails

# Reads may run on the pool or inside a use case's transaction.
Db: TypeAlias = asyncpg.Connection | asyncpg.Pool


@dataclass(frozen=True)
class Domain:
    id: UUID
    account_id: UUID
    name: str


@dataclass(frozen=True)
class Unit:
    """A piece of hardware present in a domain, as a gateway or as a device."""

    id: UUID
    domain_id: UUID
    hwid: str
    product: str


@dataclass(frozen=True)
class Gateway(Unit):
    public_key: str
    registered_at: datetime


@dataclass(frozen=True)
class ProvisioningCode(CodeState):
    """A stored code: what `domain.ensure_code_usable` judges, and where it belongs. Never the code itself."""

    id: UUID
    domain_id: UUID
    code_hint: str
    created_at: datetime


@dataclass(frozen=True)
class Device(Unit):
    type: str
    provisioned_at: datetime


R = TypeVar("R")


def _one(kind: type[R], row: asyncpg.Record | None) -> R | None:
    return None if row is None else kind(**dict(row))


def _found(kind: type[R], row: asyncpg.Record | None) -> R:
    """For statements that always return their row (an INSERT ... RETURNING)."""
    assert row is not None
    return kind(**dict(row))


def _all(kind: type[R], rows: Iterable[asyncpg.Record]) -> list[R]:
    return [kind(**dict(row)) for row in rows]


def _after(key: tuple[Any, ...] | None) -> tuple[Any, Any]:
    """The two parts of a keyset position, or two NULLs for the first page."""
    return (key[0], key[1]) if key else (None, None)


# --- accounts and domains -----------------------------------------------------------------------


async def upsert_known_account(conn: asyncpg.Connection, *, account_id: UUID, name: str) -> None:
    await conn.execute(
        "INSERT INTO known_account (id, name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET name = $2",
        account_id,
        name,
    )


async def account_is_known(conn: asyncpg.Connection, account_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM known_account WHERE id = $1", account_id))


async def insert_domain(conn: asyncpg.Connection, *, domain_id: UUID, account_id: UUID, name: str) -> bool:
    """False when the account already has a domain of that name."""
    inserted = await conn.fetchval(
        """INSERT INTO domain (id, account_id, name) VALUES ($1, $2, $3)
           ON CONFLICT (account_id, name) DO NOTHING RETURNING true""",
        domain_id,
        account_id,
        name,
    )
    return bool(inserted)


async def get_domain(conn: Db, domain_id: UUID) -> Domain | None:
    return _one(Domain, await conn.fetchrow("SELECT id, account_id, name FROM domain WHERE id = $1", domain_id))


async def list_domains(
    conn: Db, *, account_id: UUID | None, after: tuple[Any, ...] | None, limit: int, partner: str | None = None
) -> list[Domain]:
    """By name (then id), of one account or of all when `account_id` is None; `partner`: only its accounts'."""
    rows = await conn.fetch(
        """SELECT id, account_id, name FROM domain
           WHERE ($1::uuid IS NULL OR account_id = $1)
             AND ($2::text IS NULL OR (name, id) > ($2, $3::uuid))
             AND ($5::text IS NULL OR account_id IN (SELECT account_id FROM partner_account WHERE partner = $5))
           ORDER BY name, id LIMIT $4""",
        account_id,
        *_after(after),
        limit,
        partner,
    )
    return _all(Domain, rows)


# --- hardware ids -------------------------------------------------------------------------------


async def lock_hwid(conn: asyncpg.Connection, hwid: str) -> None:
    """Serialise every change about one hardware id (gateway or device) until the transaction ends.

    Checks across both tables ("is this unit already somewhere else?") are then free of races, on any
    number of replicas.
    """
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('provisioning.hwid:' || $1, 0))", hwid)


# --- gateways -----------------------------------------------------------------------------------

_GATEWAY_COLUMNS = "id, domain_id, hwid, product, public_key, registered_at"


async def find_present_gateway_by_hwid(conn: asyncpg.Connection, hwid: str) -> Gateway | None:
    row = await conn.fetchrow(
        f"SELECT {_GATEWAY_COLUMNS} FROM gateway WHERE hwid = $1 AND removed_at IS NULL",  # noqa: S608 - constant columns
        hwid,
    )
    return _one(Gateway, row)


async def insert_gateway(
    conn: asyncpg.Connection,
    *,
    gateway_id: UUID,
    domain_id: UUID,
    details: GatewayDetails,
    now: datetime,
) -> Gateway:
    row = await conn.fetchrow(
        f"""INSERT INTO gateway (id, domain_id, hwid, product, public_key, registered_at)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_GATEWAY_COLUMNS}""",  # noqa: S608 - constant columns
        gateway_id,
        domain_id,
        details.hwid,
        details.product,
        details.public_key,
        now,
    )
    return _found(Gateway, row)


async def get_present_gateway(conn: Db, *, domain_id: UUID, gateway_id: UUID) -> Gateway | None:
    row = await conn.fetchrow(
        f"""SELECT {_GATEWAY_COLUMNS} FROM gateway
            WHERE id = $1 AND domain_id = $2 AND removed_at IS NULL""",  # noqa: S608 - constant columns
        gateway_id,
        domain_id,
    )
    return _one(Gateway, row)


async def mark_gateway_removed(
    conn: asyncpg.Connection, *, domain_id: UUID, gateway_id: UUID, now: datetime
) -> Gateway | None:
    """The gateway as it was, if it was present (the row lock makes a concurrent second removal see None)."""
    row = await conn.fetchrow(
        f"""UPDATE gateway SET removed_at = $3
            WHERE id = $1 AND domain_id = $2 AND removed_at IS NULL
            RETURNING {_GATEWAY_COLUMNS}""",  # noqa: S608 - constant columns
        gateway_id,
        domain_id,
        now,
    )
    return _one(Gateway, row)


async def list_present_gateways(
    conn: Db, *, domain_id: UUID, after: tuple[Any, ...] | None, limit: int
) -> list[Gateway]:
    rows = await conn.fetch(
        f"""SELECT {_GATEWAY_COLUMNS} FROM gateway
            WHERE domain_id = $1 AND removed_at IS NULL
              AND ($2::timestamptz IS NULL OR (registered_at, id) > ($2, $3::uuid))
            ORDER BY registered_at, id LIMIT $4""",  # noqa: S608 - constant columns
        domain_id,
        *_after(after),
        limit,
    )
    return _all(Gateway, rows)


# --- provisioning codes -------------------------------------------------------------------------

_CODE_COLUMNS = "id, domain_id, code_hint, max_uses, uses, expires_at, created_at, revoked_at"


async def insert_provisioning_code(
    conn: asyncpg.Connection,
    *,
    code_id: UUID,
    domain_id: UUID,
    code_hash: bytes,
    code_hint: str,
    max_uses: int,
    expires_at: datetime,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO provisioning_code (id, domain_id, code_hash, code_hint, max_uses, expires_at, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        code_id,
        domain_id,
        code_hash,
        code_hint,
        max_uses,
        expires_at,
        now,
    )


async def lock_provisioning_code_by_hash(conn: asyncpg.Connection, code_hash: bytes) -> ProvisioningCode | None:
    """The code row, locked: concurrent enrolments with one code take their turn, so uses never overshoot."""
    row = await conn.fetchrow(
        f"SELECT {_CODE_COLUMNS} FROM provisioning_code WHERE code_hash = $1 FOR UPDATE",  # noqa: S608 - constant columns
        code_hash,
    )
    return _one(ProvisioningCode, row)


async def count_code_use(conn: asyncpg.Connection, code_id: UUID) -> None:
    await conn.execute("UPDATE provisioning_code SET uses = uses + 1 WHERE id = $1", code_id)


async def list_provisioning_codes(
    conn: Db, *, domain_id: UUID, after: tuple[Any, ...] | None, limit: int
) -> list[ProvisioningCode]:
    rows = await conn.fetch(
        f"""SELECT {_CODE_COLUMNS} FROM provisioning_code
            WHERE domain_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3::uuid))
            ORDER BY created_at, id LIMIT $4""",  # noqa: S608 - constant columns
        domain_id,
        *_after(after),
        limit,
    )
    return _all(ProvisioningCode, rows)


async def revoke_provisioning_code(
    conn: asyncpg.Connection, *, domain_id: UUID, code_id: UUID, now: datetime
) -> ProvisioningCode | None:
    """The code after revocation; revoking twice keeps the first instant."""
    row = await conn.fetchrow(
        f"""UPDATE provisioning_code SET revoked_at = coalesce(revoked_at, $3)
            WHERE id = $1 AND domain_id = $2 RETURNING {_CODE_COLUMNS}""",  # noqa: S608 - constant columns
        code_id,
        domain_id,
        now,
    )
    return _one(ProvisioningCode, row)


# --- devices ------------------------------------------------------------------------------------

_DEVICE_COLUMNS = "id, domain_id, hwid, product, type, provisioned_at"


async def find_present_device_by_hwid(conn: asyncpg.Connection, hwid: str) -> Device | None:
    row = await conn.fetchrow(
        f"SELECT {_DEVICE_COLUMNS} FROM device WHERE hwid = $1 AND removed_at IS NULL",  # noqa: S608 - constant columns
        hwid,
    )
    return _one(Device, row)


async def insert_device(
    conn: asyncpg.Connection,
    *,
    device_id: UUID,
    domain_id: UUID,
    details: DeviceDetails,
    code_id: UUID,
    now: datetime,
) -> Device:
    row = await conn.fetchrow(
        f"""INSERT INTO device (id, domain_id, hwid, product, type, provisioning_code_id, provisioned_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_DEVICE_COLUMNS}""",  # noqa: S608 - constant columns
        device_id,
        domain_id,
        details.hwid,
        details.product,
        details.type.value,
        code_id,
        now,
    )
    return _found(Device, row)


async def get_present_device(conn: Db, *, domain_id: UUID, device_id: UUID) -> Device | None:
    row = await conn.fetchrow(
        f"""SELECT {_DEVICE_COLUMNS} FROM device
            WHERE id = $1 AND domain_id = $2 AND removed_at IS NULL""",  # noqa: S608 - constant columns
        device_id,
        domain_id,
    )
    return _one(Device, row)


async def mark_device_removed(
    conn: asyncpg.Connection, *, domain_id: UUID, device_id: UUID, now: datetime
) -> Device | None:
    row = await conn.fetchrow(
        f"""UPDATE device SET removed_at = $3
            WHERE id = $1 AND domain_id = $2 AND removed_at IS NULL
            RETURNING {_DEVICE_COLUMNS}""",  # noqa: S608 - constant columns
        device_id,
        domain_id,
        now,
    )
    return _one(Device, row)


async def list_present_devices(
    conn: Db,
    *,
    domain_id: UUID,
    device_type: str | None,
    product: str | None,
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[Device]:
    rows = await conn.fetch(
        f"""SELECT {_DEVICE_COLUMNS} FROM device
            WHERE domain_id = $1 AND removed_at IS NULL
              AND ($2::text IS NULL OR type = $2)
              AND ($3::text IS NULL OR product = $3)
              AND ($4::timestamptz IS NULL OR (provisioned_at, id) > ($4, $5::uuid))
            ORDER BY provisioned_at, id LIMIT $6""",  # noqa: S608 - constant columns
        domain_id,
        device_type,
        product,
        *_after(after),
        limit,
    )
    return _all(Device, rows)
