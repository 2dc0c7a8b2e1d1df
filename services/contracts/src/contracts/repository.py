"""SQL of contracts, one function per query. Never commits.

Lock order, so concurrent use cases never deadlock: device row, tariff row, contract rows (by id), rentals.
Reads return frozen dataclasses (their fields named as the columns), never rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self
from uuid import UUID

import asyncpg

from contracts.domain import (
    ContractStatus,
    Funding,
    HardwareItem,
    LicenceGrant,
    RateChange,
    RentalStatus,
    WalletFact,
)
from shared.events.provisioning import DeviceType


@dataclass(frozen=True)
class KnownDomain:
    id: UUID
    account_id: UUID
    name: str


@dataclass(frozen=True)
class KnownDevice:
    id: UUID
    domain_id: UUID
    account_id: UUID
    hwid: str
    product: str
    type: str
    removed: bool


@dataclass(frozen=True)
class AutoReload:
    """An account's Auto-iSC as the wallet last announced it; not set: `enabled` false, the rest None."""

    enabled: bool
    suspended_by_partner: bool
    threshold_s: int | None
    amount: int | None
    monthly_cap: int | None


@dataclass(frozen=True)
class LockedContract:
    """The contract row as a change of it holds it (FOR UPDATE)."""

    id: UUID
    account_id: UUID
    status: ContractStatus
    rental_version: int

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**dict(row), "status": ContractStatus(row["status"])})


@dataclass(frozen=True)
class Contract(LockedContract):
    """The contract as it is read: its live domain links and what its active rentals add up to."""

    created_at: datetime
    updated_at: datetime
    domain_ids: list[UUID]
    rented_rate_per_day: int


@dataclass(frozen=True)
class Tariff:
    product: str
    rate_per_day: int
    licences: tuple[LicenceGrant, ...]
    updated_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**dict(row), "licences": _grants(row["licences"])})


@dataclass(frozen=True)
class Rental:
    id: UUID
    contract_id: UUID
    domain_id: UUID
    device_id: UUID
    hwid: str
    product: str
    status: RentalStatus
    rate_per_day: int
    activated_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    replaced_by: UUID | None
    # The rental this one carries on after an RMA.
    replaces: UUID | None

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**dict(row), "status": RentalStatus(row["status"])})


@dataclass(frozen=True)
class ActiveRental(Rental):
    """An active rental with the licences its product's tariff grants (none if the tariff is gone)."""

    licences: tuple[LicenceGrant, ...]

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**dict(row), "status": RentalStatus(row["status"]), "licences": _grants(row["licences"])})


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: datetime
    type: str
    summary: str
    data: dict[str, object]


def _grants(licences: list[dict[str, Any]]) -> tuple[LicenceGrant, ...]:
    return tuple(LicenceGrant(type=grant["type"], count=grant["count"]) for grant in licences)


# --- read models of other services' objects ----------------------------------------------------------------


async def upsert_known_account(
    conn: asyncpg.Connection, *, account_id: UUID, name: str, test_clock_id: UUID | None = None
) -> None:
    """An account (its clock is set when it opens and never changes)."""
    await conn.execute(
        """INSERT INTO known_account (id, name, test_clock_id) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = $2, test_clock_id = coalesce(known_account.test_clock_id, $3)""",
        account_id,
        name,
        test_clock_id,
    )


# --- test clocks ---------------------------------------------------------------------------------------------


async def know_test_clock(conn: asyncpg.Connection, *, clock_id: UUID, time: datetime) -> None:
    """A clock first heard of at `time`: nothing before it is due on it here."""
    await conn.execute(
        """INSERT INTO test_clock (id, frozen_time, caught_up_to) VALUES ($1, $2, $2) ON CONFLICT (id) DO NOTHING""",
        clock_id,
        time,
    )


async def lock_test_clock(conn: asyncpg.Connection, clock_id: UUID) -> datetime:
    """How far contracts caught up with the clock, the row locked."""
    caught_up_to: datetime = await conn.fetchval(
        "SELECT caught_up_to FROM test_clock WHERE id = $1 FOR UPDATE", clock_id
    )
    return caught_up_to


async def move_test_clock(conn: asyncpg.Connection, *, clock_id: UUID, to: datetime) -> None:
    await conn.execute(
        "UPDATE test_clock SET frozen_time = greatest(frozen_time, $2), caught_up_to = greatest(caught_up_to, $2) "
        "WHERE id = $1",
        clock_id,
        to,
    )


async def test_clock_time_of_account(conn: asyncpg.Connection, account_id: UUID) -> datetime | None:
    """The time of the test clock the account lives on; None for a live account."""
    value: datetime | None = await conn.fetchval(
        """SELECT c.frozen_time FROM known_account a JOIN test_clock c ON c.id = a.test_clock_id
           WHERE a.id = $1""",
        account_id,
    )
    return value


async def test_clock_time_of_contract(conn: asyncpg.Connection | asyncpg.Pool, contract_id: UUID) -> datetime | None:
    """The time of the test clock the contract's account lives on; None for a live one."""
    value: datetime | None = await conn.fetchval(
        """SELECT c.frozen_time FROM contract k JOIN known_account a ON a.id = k.account_id
           JOIN test_clock c ON c.id = a.test_clock_id WHERE k.id = $1""",
        contract_id,
    )
    return value


async def tariff_changes_due_on_clock(
    conn: asyncpg.Connection, *, after: datetime, up_to: datetime
) -> list[TariffChange]:
    """The tariff changes a clock passes moving from `after` to `up_to`, in time order: those scheduled or applied
    (live) that fall in between; a superseded one never took effect."""
    rows = await conn.fetch(
        """SELECT id, product, rate_per_day, licences, effective_at, scheduled_at FROM tariff_change
           WHERE status <> 'superseded' AND effective_at > $1 AND effective_at <= $2
           ORDER BY effective_at, id""",
        after,
        up_to,
    )
    return [TariffChange.of(row) for row in rows]


async def next_tariff_change_on_clock_after(conn: asyncpg.Connection, at: datetime) -> datetime | None:
    value: datetime | None = await conn.fetchval(
        "SELECT min(effective_at) FROM tariff_change WHERE status <> 'superseded' AND effective_at > $1", at
    )
    return value


async def upsert_known_domain(conn: asyncpg.Connection, *, domain_id: UUID, account_id: UUID, name: str) -> None:
    await conn.execute(
        """INSERT INTO known_domain (id, account_id, name) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = $3""",
        domain_id,
        account_id,
        name,
    )


async def account_is_known(conn: asyncpg.Connection, account_id: UUID) -> bool:
    return bool(await conn.fetchval("SELECT true FROM known_account WHERE id = $1", account_id))


async def get_known_domain(conn: asyncpg.Connection, domain_id: UUID) -> KnownDomain | None:
    row = await conn.fetchrow("SELECT id, account_id, name FROM known_domain WHERE id = $1", domain_id)
    return None if row is None else KnownDomain(**dict(row))


async def upsert_provisioned_device(
    conn: asyncpg.Connection,
    *,
    device_id: UUID,
    domain_id: UUID,
    account_id: UUID,
    hwid: str,
    product: str,
    type: str,
) -> None:
    # removed_at is left alone: a late DeviceProvisioned never brings a removed device back.
    await conn.execute(
        """INSERT INTO known_device (id, domain_id, account_id, hwid, product, type)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET domain_id = $2, account_id = $3, hwid = $4, product = $5, type = $6""",
        device_id,
        domain_id,
        account_id,
        hwid,
        product,
        type,
    )


async def mark_device_removed(
    conn: asyncpg.Connection,
    *,
    device_id: UUID,
    domain_id: UUID,
    account_id: UUID,
    hwid: str,
    product: str,
    type: str,
    now: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO known_device (id, domain_id, account_id, hwid, product, type, removed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (id) DO UPDATE SET removed_at = coalesce(known_device.removed_at, $7)""",
        device_id,
        domain_id,
        account_id,
        hwid,
        product,
        type,
        now,
    )


async def get_known_device(conn: asyncpg.Connection, device_id: UUID) -> KnownDevice | None:
    """The device, not locked (a forecast changes nothing)."""
    row = await conn.fetchrow(
        """SELECT id, domain_id, account_id, hwid, product, type, removed_at IS NOT NULL AS removed
           FROM known_device WHERE id = $1""",
        device_id,
    )
    return None if row is None else KnownDevice(**dict(row))


async def share_lock_device(conn: asyncpg.Connection, device_id: UUID) -> KnownDevice | None:
    """Held by an activation, so a concurrent DeviceRemoved waits and then ends the new rental."""
    row = await conn.fetchrow(
        """SELECT id, domain_id, account_id, hwid, product, type, removed_at IS NOT NULL AS removed
           FROM known_device WHERE id = $1 FOR SHARE""",
        device_id,
    )
    return None if row is None else KnownDevice(**dict(row))


# --- account funding (from the wallet) ---------------------------------------------------------------------


async def apply_funding(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    balance: int,
    depletes_at: datetime | None,
    version: int,
    rank: int,
    now: datetime,
) -> bool:
    """Store the account's funding if (version, rank) is newer than what is held; True if it was applied.

    Atomic (one statement), so two wallet events for one account handled at once cannot both win."""
    applied = await conn.fetchval(
        """INSERT INTO account_funding (account_id, balance, depletes_at, version, rank, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (account_id) DO UPDATE
               SET balance = $2, depletes_at = $3, version = $4, rank = $5, updated_at = $6
               WHERE (account_funding.version, account_funding.rank) < ($4, $5)
           RETURNING true""",
        account_id,
        balance,
        depletes_at,
        version,
        rank,
        now,
    )
    return bool(applied)


async def apply_account_burn(
    conn: asyncpg.Connection, *, account_id: UUID, version: int, state: dict[str, Any], now: datetime
) -> None:
    """Hold the newest burn state the wallet announced; an older version changes nothing."""
    await conn.execute(
        """INSERT INTO account_burn (account_id, version, state, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (account_id) DO UPDATE SET version = $2, state = $3, updated_at = $4
           WHERE account_burn.version < $2""",
        account_id,
        version,
        state,
        now,
    )


async def get_account_burn(conn: asyncpg.Connection, account_id: UUID) -> dict[str, Any] | None:
    state: dict[str, Any] | None = await conn.fetchval(
        "SELECT state FROM account_burn WHERE account_id = $1", account_id
    )
    return state


async def apply_auto_reload(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    enabled: bool,
    suspended_by_partner: bool,
    threshold_s: int | None,
    amount: int | None,
    monthly_cap: int | None,
    changed_at: datetime,
) -> None:
    """Hold the newest Auto-iSC setting the wallet announced; an older or repeated one changes nothing."""
    await conn.execute(
        """INSERT INTO account_auto_reload
               (account_id, enabled, suspended_by_partner, threshold_s, amount, monthly_cap, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (account_id) DO UPDATE SET enabled = $2, suspended_by_partner = $3, threshold_s = $4,
               amount = $5, monthly_cap = $6, changed_at = $7
           WHERE account_auto_reload.changed_at < $7""",
        account_id,
        enabled,
        suspended_by_partner,
        threshold_s,
        amount,
        monthly_cap,
        changed_at,
    )


async def get_auto_reload(conn: asyncpg.Connection, account_id: UUID) -> AutoReload | None:
    row = await conn.fetchrow(
        """SELECT enabled, suspended_by_partner, threshold_s, amount, monthly_cap
           FROM account_auto_reload WHERE account_id = $1""",
        account_id,
    )
    return None if row is None else AutoReload(**dict(row))


async def record_auto_reload_done(
    conn: asyncpg.Connection, *, account_id: UUID, crossing: int, amount: int, at: datetime
) -> None:
    """A reload the wallet made, once per crossing (a redelivery changes nothing)."""
    await conn.execute(
        """INSERT INTO account_auto_reload_done (account_id, crossing, amount, at) VALUES ($1, $2, $3, $4)
           ON CONFLICT DO NOTHING""",
        account_id,
        crossing,
        amount,
        at,
    )


async def auto_reloaded_since(conn: asyncpg.Connection, *, account_id: UUID, since: datetime) -> int:
    total = await conn.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM account_auto_reload_done WHERE account_id = $1 AND at >= $2",
        account_id,
        since,
    )
    return int(total)


async def get_funding(conn: asyncpg.Connection, account_id: UUID) -> Funding | None:
    row = await conn.fetchrow(
        "SELECT balance, depletes_at, version, rank FROM account_funding WHERE account_id = $1", account_id
    )
    return None if row is None else Funding(**{**dict(row), "rank": WalletFact(row["rank"])})


# --- contracts -----------------------------------------------------------------------------------------------

_CONTRACT_COLUMNS = """
    c.id, c.account_id, c.status, c.rental_version, c.created_at, c.updated_at,
    ARRAY(SELECT l.domain_id FROM contract_domain l
          WHERE l.contract_id = c.id AND l.unlinked_at IS NULL ORDER BY l.linked_at, l.domain_id) AS domain_ids,
    (coalesce((SELECT sum(r.rate_per_day) FROM rental r
               WHERE r.contract_id = c.id AND r.status = 'active'), 0)
     + coalesce((SELECT sum(s.count * s.rate_per_day) FROM software_rental s
                 WHERE s.contract_id = c.id AND s.status = 'active'), 0))::bigint AS rented_rate_per_day
"""


async def insert_contract(
    conn: asyncpg.Connection, *, contract_id: UUID, account_id: UUID, status: str, now: datetime
) -> None:
    await conn.execute(
        """INSERT INTO contract (id, account_id, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)""",
        contract_id,
        account_id,
        status,
        now,
    )


async def get_contract(conn: asyncpg.Connection, contract_id: UUID) -> Contract | None:
    row = await conn.fetchrow(f"SELECT {_CONTRACT_COLUMNS} FROM contract c WHERE c.id = $1", contract_id)  # noqa: S608 - fixed column list
    return None if row is None else Contract.of(row)


async def lock_contract(conn: asyncpg.Connection, contract_id: UUID) -> LockedContract | None:
    """Every change of a contract's rental holds this lock, so snapshots and versions follow commit order."""
    row = await conn.fetchrow(
        "SELECT id, account_id, status, rental_version FROM contract WHERE id = $1 FOR UPDATE", contract_id
    )
    return None if row is None else LockedContract.of(row)


async def lock_contracts_of_account(conn: asyncpg.Connection, account_id: UUID) -> list[LockedContract]:
    rows = await conn.fetch(
        """SELECT id, account_id, status, rental_version FROM contract
           WHERE account_id = $1 ORDER BY id FOR UPDATE""",
        account_id,
    )
    return [LockedContract.of(row) for row in rows]


async def contracts_of_account(conn: asyncpg.Connection, account_id: UUID) -> list[LockedContract]:
    """The account's contracts, not locked (a forecast changes nothing)."""
    rows = await conn.fetch(
        "SELECT id, account_id, status, rental_version FROM contract WHERE account_id = $1 ORDER BY id", account_id
    )
    return [LockedContract.of(row) for row in rows]


async def lock_contracts(conn: asyncpg.Connection, contract_ids: list[UUID]) -> list[LockedContract]:
    rows = await conn.fetch(
        """SELECT id, account_id, status, rental_version FROM contract
           WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE""",
        contract_ids,
    )
    return [LockedContract.of(row) for row in rows]


async def set_contract_status(conn: asyncpg.Connection, *, contract_id: UUID, status: str, now: datetime) -> None:
    await conn.execute("UPDATE contract SET status = $2, updated_at = $3 WHERE id = $1", contract_id, status, now)


async def next_rental_version(conn: asyncpg.Connection, contract_id: UUID) -> int:
    version: int = await conn.fetchval(
        "UPDATE contract SET rental_version = rental_version + 1 WHERE id = $1 RETURNING rental_version",
        contract_id,
    )
    return version


async def list_contracts(
    conn: asyncpg.Connection,
    *,
    account_id: UUID | None,
    after: tuple[Any, ...] | None,
    limit: int,
    partner: str | None = None,
) -> list[Contract]:
    """Newest first; `partner`: only the contracts of that partner's accounts."""
    rows = await conn.fetch(
        f"""SELECT {_CONTRACT_COLUMNS} FROM contract c
            WHERE ($1::uuid IS NULL OR c.account_id = $1)
              AND ($2::timestamptz IS NULL OR (c.created_at, c.id) < ($2, $3::uuid))
              AND ($5::text IS NULL OR c.account_id IN (SELECT account_id FROM partner_account WHERE partner = $5))
            ORDER BY c.created_at DESC, c.id DESC LIMIT $4""",  # noqa: S608 - fixed column list
        account_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        partner,
    )
    return [Contract.of(row) for row in rows]


# --- domain links ------------------------------------------------------------------------------------------


async def live_link_of_domain(conn: asyncpg.Connection, domain_id: UUID) -> UUID | None:
    contract_id: UUID | None = await conn.fetchval(
        "SELECT contract_id FROM contract_domain WHERE domain_id = $1 AND unlinked_at IS NULL", domain_id
    )
    return contract_id


async def insert_link(conn: asyncpg.Connection, *, contract_id: UUID, domain_id: UUID, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO contract_domain (contract_id, domain_id, linked_at) VALUES ($1, $2, $3)",
        contract_id,
        domain_id,
        now,
    )


async def end_link(conn: asyncpg.Connection, *, contract_id: UUID, domain_id: UUID, now: datetime) -> bool:
    result: str = await conn.execute(
        """UPDATE contract_domain SET unlinked_at = $3
           WHERE contract_id = $1 AND domain_id = $2 AND unlinked_at IS NULL""",
        contract_id,
        domain_id,
        now,
    )
    return result.endswith(" 1")


async def end_all_links(conn: asyncpg.Connection, *, contract_id: UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE contract_domain SET unlinked_at = $2 WHERE contract_id = $1 AND unlinked_at IS NULL", contract_id, now
    )


async def linked_domain_ids(conn: asyncpg.Connection, contract_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        "SELECT domain_id FROM contract_domain WHERE contract_id = $1 AND unlinked_at IS NULL", contract_id
    )
    return [r["domain_id"] for r in rows]


async def count_active_rentals_in_domain(conn: asyncpg.Connection, *, contract_id: UUID, domain_id: UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM rental WHERE contract_id = $1 AND domain_id = $2 AND status = 'active'",
        contract_id,
        domain_id,
    )
    return count


# --- tariffs -------------------------------------------------------------------------------------------------


async def upsert_tariff(
    conn: asyncpg.Connection, *, product: str, rate_per_day: int, licences: list[dict[str, object]], now: datetime
) -> Tariff:
    row = await conn.fetchrow(
        """INSERT INTO tariff (product, rate_per_day, licences, updated_at) VALUES ($1, $2, $3, $4)
           ON CONFLICT (product) DO UPDATE SET rate_per_day = $2, licences = $3, updated_at = $4
           RETURNING product, rate_per_day, licences, updated_at""",
        product,
        rate_per_day,
        licences,
        now,
    )
    return Tariff.of(row)


async def get_tariff(conn: asyncpg.Connection, product: str) -> Tariff | None:
    row = await conn.fetchrow(
        "SELECT product, rate_per_day, licences, updated_at FROM tariff WHERE product = $1", product
    )
    return None if row is None else Tariff.of(row)


async def share_lock_tariff(conn: asyncpg.Connection, product: str) -> Tariff | None:
    """An activation holds the tariff steady: a concurrent tariff change waits, then reprices the new rental."""
    row = await conn.fetchrow(
        "SELECT product, rate_per_day, licences, updated_at FROM tariff WHERE product = $1 FOR SHARE", product
    )
    return None if row is None else Tariff.of(row)


async def list_tariffs(conn: asyncpg.Connection, *, software: bool = False) -> list[Tariff]:
    """The hardware tariffs, or the software ones (their product key starts with `licence:`)."""
    rows = await conn.fetch(
        """SELECT product, rate_per_day, licences, updated_at FROM tariff
           WHERE (product LIKE 'licence:%') = $1 ORDER BY product""",
        software,
    )
    return [Tariff.of(row) for row in rows]


async def contracts_renting_product(conn: asyncpg.Connection, product: str) -> list[UUID]:
    """The contracts renting a product: a hardware model, or a licence type under its `licence:` key."""
    rows = await conn.fetch(
        """SELECT contract_id FROM rental WHERE product = $1 AND status = 'active'
           UNION SELECT contract_id FROM software_rental WHERE product = $1 AND status = 'active'
           ORDER BY contract_id""",
        product,
    )
    return [r["contract_id"] for r in rows]


async def contracts_renting_product_on(
    conn: asyncpg.Connection, product: str, *, test_clock_id: UUID | None
) -> list[UUID]:
    """The contracts renting a product of the live accounts (`test_clock_id` None), or of one test clock's."""
    rows = await conn.fetch(
        """SELECT r.contract_id FROM (
               SELECT contract_id FROM rental WHERE product = $1 AND status = 'active'
               UNION SELECT contract_id FROM software_rental WHERE product = $1 AND status = 'active') AS r
           JOIN contract c ON c.id = r.contract_id
           LEFT JOIN known_account a ON a.id = c.account_id
           WHERE a.test_clock_id IS NOT DISTINCT FROM $2
           ORDER BY r.contract_id""",
        product,
        test_clock_id,
    )
    return [r["contract_id"] for r in rows]


async def reprice_active_rentals(
    conn: asyncpg.Connection, *, product: str, rate_per_day: int, contract_ids: list[UUID]
) -> None:
    await conn.execute(
        """UPDATE rental SET rate_per_day = $2
           WHERE product = $1 AND status = 'active' AND contract_id = ANY($3::uuid[])""",
        product,
        rate_per_day,
        contract_ids,
    )
    await conn.execute(
        """UPDATE software_rental SET rate_per_day = $2
           WHERE product = $1 AND status = 'active' AND contract_id = ANY($3::uuid[])""",
        product,
        rate_per_day,
        contract_ids,
    )


async def lock_tariff(conn: asyncpg.Connection, product: str) -> Tariff | None:
    """The tariff row, locked for a change of it (lock order: after the device, before the contracts)."""
    row = await conn.fetchrow(
        "SELECT product, rate_per_day, licences, updated_at FROM tariff WHERE product = $1 FOR UPDATE", product
    )
    return None if row is None else Tariff.of(row)


@dataclass(frozen=True)
class TariffChange:
    """A tariff change still scheduled (or, once due, being applied)."""

    id: UUID
    product: str
    rate_per_day: int
    licences: tuple[LicenceGrant, ...]
    effective_at: datetime
    scheduled_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> Self:
        return cls(**{**dict(row), "licences": _grants(row["licences"])})

    @property
    def rate_change(self) -> RateChange:
        return RateChange(effective_at=self.effective_at, rate_per_day=self.rate_per_day)


async def insert_tariff_change(
    conn: asyncpg.Connection,
    *,
    change_id: UUID,
    product: str,
    rate_per_day: int,
    licences: list[dict[str, object]],
    effective_at: datetime,
    now: datetime,
    applied: bool,
) -> None:
    await conn.execute(
        """INSERT INTO tariff_change (id, product, rate_per_day, licences, effective_at, scheduled_at, status,
                                      closed_at)
           VALUES ($1, $2, $3, $4, $5, $6::timestamptz, CASE WHEN $7::boolean THEN 'applied' ELSE 'scheduled' END,
                   CASE WHEN $7::boolean THEN $6::timestamptz END)""",
        change_id,
        product,
        rate_per_day,
        licences,
        effective_at,
        now,
        applied,
    )


async def pending_tariff_changes(conn: asyncpg.Connection, products: list[str]) -> dict[str, list[TariffChange]]:
    """The scheduled changes of each product, ascending by when they take effect."""
    rows = await conn.fetch(
        """SELECT id, product, rate_per_day, licences, effective_at, scheduled_at FROM tariff_change
           WHERE status = 'scheduled' AND product = ANY($1::text[]) ORDER BY product, effective_at""",
        products,
    )
    changes: dict[str, list[TariffChange]] = {}
    for row in rows:
        changes.setdefault(row["product"], []).append(TariffChange.of(row))
    return changes


async def supersede_tariff_changes(
    conn: asyncpg.Connection, *, product: str, from_effective_at: datetime | None, now: datetime
) -> int:
    """Close the product's scheduled changes taking effect at or after `from_effective_at` (None: all of them)."""
    result = await conn.execute(
        """UPDATE tariff_change SET status = 'superseded', closed_at = $3
           WHERE product = $1 AND status = 'scheduled' AND ($2::timestamptz IS NULL OR effective_at >= $2)""",
        product,
        from_effective_at,
        now,
    )
    return int(result.split()[-1])


async def next_due_tariff_change(conn: asyncpg.Connection, *, now: datetime) -> TariffChange | None:
    """The earliest scheduled change due at `now` (not locked: the caller locks its tariff row, then the change)."""
    row = await conn.fetchrow(
        """SELECT id, product, rate_per_day, licences, effective_at, scheduled_at FROM tariff_change
           WHERE status = 'scheduled' AND effective_at <= $1 ORDER BY effective_at, id LIMIT 1""",
        now,
    )
    return None if row is None else TariffChange.of(row)


async def lock_scheduled_tariff_change(conn: asyncpg.Connection, change_id: UUID) -> TariffChange | None:
    """The change if it is still scheduled, locked (another replica that applied it meanwhile leaves None)."""
    row = await conn.fetchrow(
        """SELECT id, product, rate_per_day, licences, effective_at, scheduled_at FROM tariff_change
           WHERE id = $1 AND status = 'scheduled' FOR UPDATE""",
        change_id,
    )
    return None if row is None else TariffChange.of(row)


async def mark_tariff_change_applied(conn: asyncpg.Connection, *, change_id: UUID, now: datetime) -> None:
    await conn.execute("UPDATE tariff_change SET status = 'applied', closed_at = $2 WHERE id = $1", change_id, now)


async def next_tariff_change_at(conn: asyncpg.Connection | asyncpg.Pool) -> datetime | None:
    value: datetime | None = await conn.fetchval(
        "SELECT min(effective_at) FROM tariff_change WHERE status = 'scheduled'"
    )
    return value


# --- rentals -------------------------------------------------------------------------------------------------

_RENTAL_COLUMNS = """
    r.id, r.contract_id, r.domain_id, r.device_id, r.hwid, r.product, r.status, r.rate_per_day,
    r.activated_at, r.ended_at, r.end_reason, r.replaced_by,
    (SELECT o.id FROM rental o WHERE o.replaced_by = r.id) AS replaces
"""


async def active_rental_of_device(conn: asyncpg.Connection, device_id: UUID) -> Rental | None:
    row = await conn.fetchrow(
        f"SELECT {_RENTAL_COLUMNS} FROM rental r WHERE r.device_id = $1 AND r.status = 'active'",  # noqa: S608 - fixed column list
        device_id,
    )
    return None if row is None else Rental.of(row)


async def insert_rental(
    conn: asyncpg.Connection,
    *,
    rental_id: UUID,
    contract_id: UUID,
    domain_id: UUID,
    device_id: UUID,
    hwid: str,
    product: str,
    rate_per_day: int,
    now: datetime,
) -> Rental | None:
    """The new active rental, or None if the device is already rented (the partial unique index decides)."""
    row = await conn.fetchrow(
        f"""INSERT INTO rental AS r (id, contract_id, domain_id, device_id, hwid, product, status, rate_per_day,
                                     activated_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8)
            ON CONFLICT (device_id) WHERE status = 'active' DO NOTHING
            RETURNING {_RENTAL_COLUMNS}""",  # noqa: S608 - fixed column list
        rental_id,
        contract_id,
        domain_id,
        device_id,
        hwid,
        product,
        rate_per_day,
        now,
    )
    return None if row is None else Rental.of(row)


async def get_rental(conn: asyncpg.Connection, *, contract_id: UUID, rental_id: UUID) -> Rental | None:
    row = await conn.fetchrow(
        f"SELECT {_RENTAL_COLUMNS} FROM rental r WHERE r.id = $1 AND r.contract_id = $2",  # noqa: S608 - fixed column list
        rental_id,
        contract_id,
    )
    return None if row is None else Rental.of(row)


async def end_rental(
    conn: asyncpg.Connection,
    *,
    rental_id: UUID,
    status: str,
    reason: str,
    now: datetime,
    replaced_by: UUID | None = None,
) -> Rental | None:
    """End an active rental; the ended rental, or None if it had already ended (the loser of a race)."""
    ended = await conn.fetchrow(
        f"""UPDATE rental AS r SET status = $2, end_reason = $3, ended_at = $4, replaced_by = $5
            WHERE r.id = $1 AND r.status = 'active' RETURNING {_RENTAL_COLUMNS}""",  # noqa: S608 - fixed column list
        rental_id,
        status,
        reason,
        now,
        replaced_by,
    )
    return None if ended is None else Rental.of(ended)


async def active_rentals_of_contract(conn: asyncpg.Connection, contract_id: UUID) -> list[ActiveRental]:
    rows = await conn.fetch(
        f"""SELECT {_RENTAL_COLUMNS}, coalesce(t.licences, '[]'::jsonb) AS licences
            FROM rental r LEFT JOIN tariff t ON t.product = r.product
            WHERE r.contract_id = $1 AND r.status = 'active'""",  # noqa: S608 - fixed column list
        contract_id,
    )
    return [ActiveRental.of(row) for row in rows]


async def list_rentals(
    conn: asyncpg.Connection,
    *,
    contract_id: UUID,
    status: str | None,
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[Rental]:
    rows = await conn.fetch(
        f"""SELECT {_RENTAL_COLUMNS} FROM rental r
            WHERE r.contract_id = $1 AND ($2::text IS NULL OR r.status = $2)
              AND ($3::timestamptz IS NULL OR (r.activated_at, r.id) < ($3, $4::uuid))
            ORDER BY r.activated_at DESC, r.id DESC LIMIT $5""",  # noqa: S608 - fixed column list
        contract_id,
        status,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [Rental.of(row) for row in rows]


async def list_hardware(
    conn: asyncpg.Connection, *, contract_id: UUID, after: tuple[Any, ...] | None, limit: int
) -> list[HardwareItem]:
    """The provisioned devices of the contract's linked domains, whether their product has a tariff, their rental."""
    rows = await conn.fetch(
        """SELECT d.id AS device_id, d.hwid, d.product, d.type, d.domain_id,
                  t.product IS NOT NULL AS rentable, r.id AS rental_id
           FROM known_device d
           JOIN contract_domain l ON l.domain_id = d.domain_id AND l.contract_id = $1 AND l.unlinked_at IS NULL
           LEFT JOIN tariff t ON t.product = d.product
           LEFT JOIN rental r ON r.device_id = d.id AND r.status = 'active'
           WHERE d.removed_at IS NULL AND ($2::uuid IS NULL OR d.id > $2)
           ORDER BY d.id LIMIT $3""",
        contract_id,
        after[0] if after else None,
        limit,
    )
    return [HardwareItem(**{**dict(row), "type": DeviceType(row["type"])}) for row in rows]


# --- software rentals ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoftwareRental:
    id: UUID
    contract_id: UUID
    domain_id: UUID
    type: str
    count: int
    rate_per_day: int
    status: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    end_reason: str | None


_SOFTWARE_COLUMNS = """
    id, contract_id, domain_id, type, count, rate_per_day, status, started_at, updated_at, ended_at, end_reason
"""


async def insert_software_rental(
    conn: asyncpg.Connection,
    *,
    rental_id: UUID,
    contract_id: UUID,
    domain_id: UUID,
    licence_type: str,
    count: int,
    rate_per_day: int,
    now: datetime,
) -> SoftwareRental | None:
    """The new rental, or None if the domain already rents this type (the partial unique index decides)."""
    row = await conn.fetchrow(
        f"""INSERT INTO software_rental (id, contract_id, domain_id, type, count, rate_per_day, status, started_at,
                                         updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7)
            ON CONFLICT (domain_id, type) WHERE status = 'active' DO NOTHING
            RETURNING {_SOFTWARE_COLUMNS}""",  # noqa: S608 - fixed column list
        rental_id,
        contract_id,
        domain_id,
        licence_type,
        count,
        rate_per_day,
        now,
    )
    return None if row is None else SoftwareRental(**dict(row))


async def get_software_rental(conn: asyncpg.Connection, *, contract_id: UUID, rental_id: UUID) -> SoftwareRental | None:
    row = await conn.fetchrow(
        f"SELECT {_SOFTWARE_COLUMNS} FROM software_rental WHERE id = $1 AND contract_id = $2",  # noqa: S608 - fixed column list
        rental_id,
        contract_id,
    )
    return None if row is None else SoftwareRental(**dict(row))


async def set_software_count(
    conn: asyncpg.Connection, *, rental_id: UUID, count: int, now: datetime
) -> SoftwareRental | None:
    row = await conn.fetchrow(
        f"""UPDATE software_rental SET count = $2, updated_at = $3 WHERE id = $1 AND status = 'active'
            RETURNING {_SOFTWARE_COLUMNS}""",  # noqa: S608 - fixed column list
        rental_id,
        count,
        now,
    )
    return None if row is None else SoftwareRental(**dict(row))


async def end_software_rental(
    conn: asyncpg.Connection, *, rental_id: UUID, reason: str, now: datetime
) -> SoftwareRental | None:
    """End an active software rental; None if it had already ended."""
    row = await conn.fetchrow(
        f"""UPDATE software_rental SET status = 'ended', ended_at = $3, end_reason = $2, updated_at = $3
            WHERE id = $1 AND status = 'active' RETURNING {_SOFTWARE_COLUMNS}""",  # noqa: S608 - fixed column list
        rental_id,
        reason,
        now,
    )
    return None if row is None else SoftwareRental(**dict(row))


async def active_software_of_contract(conn: asyncpg.Connection, contract_id: UUID) -> list[SoftwareRental]:
    rows = await conn.fetch(
        f"""SELECT {_SOFTWARE_COLUMNS} FROM software_rental
            WHERE contract_id = $1 AND status = 'active' ORDER BY domain_id, type""",  # noqa: S608 - fixed column list
        contract_id,
    )
    return [SoftwareRental(**dict(row)) for row in rows]


async def count_active_software_in_domain(conn: asyncpg.Connection, *, contract_id: UUID, domain_id: UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM software_rental WHERE contract_id = $1 AND domain_id = $2 AND status = 'active'",
        contract_id,
        domain_id,
    )
    return count


async def list_software_rentals(
    conn: asyncpg.Connection, *, contract_id: UUID, active_only: bool, after: tuple[Any, ...] | None, limit: int
) -> list[SoftwareRental]:
    rows = await conn.fetch(
        f"""SELECT {_SOFTWARE_COLUMNS} FROM software_rental
            WHERE contract_id = $1 AND (NOT $2 OR status = 'active')
              AND ($3::timestamptz IS NULL OR (started_at, id) < ($3, $4::uuid))
            ORDER BY started_at DESC, id DESC LIMIT $5""",  # noqa: S608 - fixed column list
        contract_id,
        active_only,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [SoftwareRental(**dict(row)) for row in rows]


# --- history -------------------------------------------------------------------------------------------------


async def insert_history(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    contract_id: UUID | None,
    at: datetime,
    type: str,
    summary: str,
    data: dict[str, object],
    source_key: str | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO history_entry (account_id, contract_id, at, type, summary, data, source_key)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source_key) DO NOTHING""",
        account_id,
        contract_id,
        at,
        type,
        summary,
        data,
        source_key,
    )


async def insert_history_entries(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    contract_id: UUID,
    at: datetime,
    entries: list[tuple[str, str, dict[str, object]]],
) -> None:
    """Several entries (type, summary, data) of one contract at one instant, in one round trip."""
    await conn.executemany(
        """INSERT INTO history_entry (account_id, contract_id, at, type, summary, data)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        [(account_id, contract_id, at, type_, summary, data) for type_, summary, data in entries],
    )


async def list_history(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    contract_id: UUID,
    after: tuple[Any, ...] | None,
    limit: int,
) -> list[HistoryEntry]:
    """The contract's own entries and the account's wallet entries (contract_id null), newest first."""
    rows = await conn.fetch(
        """SELECT id, at, type, summary, data FROM history_entry
           WHERE account_id = $1 AND (contract_id = $2 OR contract_id IS NULL)
             AND ($3::timestamptz IS NULL OR (at, id) < ($3, $4::bigint))
           ORDER BY at DESC, id DESC LIMIT $5""",
        account_id,
        contract_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [HistoryEntry(**dict(row)) for row in rows]
