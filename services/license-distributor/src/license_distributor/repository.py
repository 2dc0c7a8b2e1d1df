"""SQL of the licence distributor, one function per query. Never commits."""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass, fields
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import asyncpg

from license_distributor.domain import ContentDocument, ContractRental, Runway, parse_devices, parse_licences

# ---- what the queries return --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownDomain:
    id: UUID
    account_id: UUID
    name: str


@dataclass(frozen=True)
class FailedDelivery:
    """A delivery failure recorded for the first time, with what the event about it says of the gateway."""

    gateway_id: UUID
    account_id: UUID
    domain_id: UUID
    hwid: str
    contract_id: UUID | None


@dataclass(frozen=True)
class GatewayRecord:
    """A gateway as provisioning announced it (the order of its fields is the order of the SQL's parameters)."""

    gateway_id: UUID
    domain_id: UUID
    account_id: UUID
    hwid: str
    product: str


@dataclass(frozen=True)
class AccountRunway:
    """The wallet's news of an account (the order of its fields is the order of the SQL's parameters).

    `balance` (micro-iSC) at `at`, burning at `burn_rate_per_day` (None: the event did not say; the rate held
    stays); `depletes_at` is None when nothing burns.
    """

    account_id: UUID
    version: int
    depleted: bool
    depletes_at: datetime | None
    balance: int | None
    burn_rate_per_day: int | None
    at: datetime
    # The wallet's warning ladder (instants) for this run-out; empty: no warnings.
    warnings_at: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class DomainRental:
    """One contract's share of a domain, as the bundle rules read it."""

    domain_id: UUID
    rental: ContractRental


@dataclass(frozen=True)
class ContractTerms:
    """What a contract's snapshot last said, apart from its domains."""

    account_id: UUID
    active: bool
    ends_at: datetime | None
    burn_rate_per_day: int


@dataclass(frozen=True)
class RentalShare:
    """A contract's devices and licences in one domain, as announced (JSON as stored)."""

    domain_id: UUID
    devices: list[dict[str, str]]
    licences: list[dict[str, object]]


@dataclass(frozen=True)
class GatewayToIssue:
    id: UUID
    hwid: str
    domain_id: UUID
    current_seq: int
    # What its current bundle says (None: it has none yet).
    content: ContentDocument | None


@dataclass(frozen=True)
class LiveGateway:
    id: UUID
    domain_id: UUID
    account_id: UUID
    hwid: str
    product: str
    public_key: str
    current_seq: int
    acked_seq: int


@dataclass(frozen=True)
class IdentifyingGateway:
    """A live gateway's key and its current bundle (None where it has none yet)."""

    id: UUID
    domain_id: UUID
    hwid: str
    public_key: str
    seq: int | None
    jws: str | None
    expires_at: datetime | None
    # The time of the test clock its domain lives on (None: a live gateway).
    clock_time: datetime | None = None


@dataclass(frozen=True)
class StoredBundle:
    seq: int
    jws: str
    expires_at: datetime | None
    content: ContentDocument
    kid: str


@dataclass(frozen=True)
class PendingRotation:
    id: UUID
    kid: str


@dataclass(frozen=True)
class RotationProgress:
    """Live gateways when it was requested, bundles re-signed so far; over the live gateways now, how many hold
    a bundle signed with its key, and acknowledged it."""

    gateways_total: int
    bundles_reissued: int
    gateways_live: int
    gateways_resigned: int
    gateways_acknowledged: int


@dataclass(frozen=True)
class KeyRotation:
    id: UUID
    kid: str
    status: Literal["in_progress", "completed", "superseded"]
    requested_at: datetime
    completed_at: datetime | None
    progress: RotationProgress


@dataclass(frozen=True)
class GatewayState:
    gateway_id: UUID
    hwid: str
    product: str
    online: bool
    # The seq of its current bundle, and the highest it acknowledged.
    seq: int
    acknowledged_seq: int
    last_seen_at: datetime | None


# ---- read models: domains, gateways, rentals, runways -------------------------------------------------


async def upsert_known_domain(conn: asyncpg.Connection, *, domain_id: UUID, account_id: UUID, name: str) -> None:
    await conn.execute(
        """INSERT INTO known_domain (id, account_id, name) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = $3""",
        domain_id,
        account_id,
        name,
    )


async def known_domain(conn: asyncpg.Connection | asyncpg.Pool, *, domain_id: UUID) -> KnownDomain | None:
    row = await conn.fetchrow("SELECT id, account_id, name FROM known_domain WHERE id = $1", domain_id)
    return None if row is None else KnownDomain(id=row["id"], account_id=row["account_id"], name=row["name"])


async def retire_other_live_gateways(
    conn: asyncpg.Connection, *, hwid: str, gateway_id: UUID, at: datetime
) -> list[UUID]:
    """A hardware id registered again under a new gateway id replaces the old registration."""
    rows = await conn.fetch(
        """UPDATE gateway SET removed_at = $3, connected_replica = NULL
           WHERE hwid = $1 AND id <> $2 AND removed_at IS NULL RETURNING id""",
        hwid,
        gateway_id,
        at,
    )
    return [r["id"] for r in rows]


async def upsert_gateway(conn: asyncpg.Connection, *, gateway: GatewayRecord, public_key: str) -> None:
    # A new registration continues the hardware's seq, which the gateway keeps across its restarts.
    # A registration arriving after its own removal (events may overtake each other) stays removed.
    await conn.execute(
        """INSERT INTO gateway (id, domain_id, account_id, hwid, product, public_key, current_seq, acked_seq)
           VALUES ($1, $2, $3, $4, $5, $6,
                   COALESCE((SELECT max(seq) FROM bundle WHERE hwid = $4), 0),
                   COALESCE((SELECT max(acked_seq) FROM gateway WHERE hwid = $4), 0))
           ON CONFLICT (id) DO UPDATE
           SET domain_id = $2, account_id = $3, product = $5, public_key = $6
           WHERE gateway.removed_at IS NULL""",
        *astuple(gateway),
        public_key,
    )


async def remove_gateway(conn: asyncpg.Connection, *, gateway: GatewayRecord, at: datetime) -> bool:
    """Mark it removed; True if it was live. A removal that overtakes its registration leaves a tombstone."""
    was_live = await conn.fetchval(
        """WITH before AS (SELECT removed_at FROM gateway WHERE id = $1)
           INSERT INTO gateway (id, domain_id, account_id, hwid, product, public_key, removed_at)
           VALUES ($1, $2, $3, $4, $5, '', $6)
           ON CONFLICT (id) DO UPDATE
           SET removed_at = COALESCE(gateway.removed_at, $6), connected_replica = NULL
           RETURNING (SELECT removed_at IS NULL FROM before)""",
        *astuple(gateway),
        at,
    )
    return bool(was_live)


async def apply_contract_rental(
    conn: asyncpg.Connection,
    *,
    contract_id: UUID,
    account_id: UUID,
    version: int,
    active: bool,
    ends_at: datetime | None,
    burn_rate_per_day: int,
) -> bool:
    """Store the snapshot if it is newer than the one held; False if it is not (an old or repeated version)."""
    applied = await conn.fetchval(
        """INSERT INTO contract_rental (contract_id, account_id, version, active, ends_at, burn_rate_per_day)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (contract_id) DO UPDATE
           SET account_id = $2, version = $3, active = $4, ends_at = $5, burn_rate_per_day = $6
           WHERE contract_rental.version < $3
           RETURNING true""",
        contract_id,
        account_id,
        version,
        active,
        ends_at,
        burn_rate_per_day,
    )
    return bool(applied)


async def insert_rental_domain(
    conn: asyncpg.Connection,
    *,
    contract_id: UUID,
    domain_id: UUID,
    devices: list[dict[str, str]],
    licences: list[dict[str, object]],
) -> None:
    await conn.execute(
        """INSERT INTO rental_domain (contract_id, domain_id, devices, licences) VALUES ($1, $2, $3, $4)
           ON CONFLICT (contract_id, domain_id) DO UPDATE SET devices = $3, licences = $4""",
        contract_id,
        domain_id,
        devices,
        licences,
    )


async def apply_runway(conn: asyncpg.Connection, *, runway: AccountRunway) -> bool:
    """Newest version wins. An event that does not carry the rate keeps the one held."""
    applied = await conn.fetchval(
        """INSERT INTO account_runway
               (account_id, version, depleted, depletes_at, balance, burn_rate_per_day, at, warnings_at)
           VALUES ($1, $2, $3, $4, $5, COALESCE($6::bigint, 0), $7, $8::timestamptz[])
           ON CONFLICT (account_id) DO UPDATE
           SET version = $2, depleted = $3, depletes_at = $4, balance = $5,
               burn_rate_per_day = COALESCE($6::bigint, account_runway.burn_rate_per_day), at = $7,
               warnings_at = $8::timestamptz[]
           WHERE account_runway.version < $2
           RETURNING true""",
        *astuple(runway)[:-1],
        list(runway.warnings_at),
    )
    return bool(applied)


async def rented_domains_of_account(conn: asyncpg.Connection, *, account_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT DISTINCT rd.domain_id FROM rental_domain rd
           JOIN contract_rental c ON c.contract_id = rd.contract_id WHERE c.account_id = $1""",
        account_id,
    )
    return [r["domain_id"] for r in rows]


async def rentals_of_domains(conn: asyncpg.Connection | asyncpg.Pool, *, domain_ids: list[UUID]) -> list[DomainRental]:
    """Every contract's share of these domains with its account's runway (None when not known yet)."""
    rows = await conn.fetch(
        """SELECT rd.domain_id, c.contract_id, c.active, c.ends_at, rd.devices, rd.licences,
                  r.depleted AS runway_depleted, r.depletes_at AS runway_depletes_at,
                  r.balance AS runway_balance, r.burn_rate_per_day AS runway_rate, r.at AS runway_at,
                  r.warnings_at AS runway_warnings_at,
                  (SELECT COALESCE(sum(a.burn_rate_per_day), 0) FROM contract_rental a
                   WHERE a.account_id = c.account_id AND a.active) AS account_rate
           FROM rental_domain rd
           JOIN contract_rental c ON c.contract_id = rd.contract_id
           LEFT JOIN account_runway r ON r.account_id = c.account_id
           WHERE rd.domain_id = ANY($1::uuid[])
           ORDER BY rd.domain_id, c.contract_id""",
        domain_ids,
    )
    return [DomainRental(domain_id=r["domain_id"], rental=_contract_rental(r)) for r in rows]


def _contract_rental(row: asyncpg.Record) -> ContractRental:
    return ContractRental(
        contract_id=row["contract_id"],
        active=row["active"],
        ends_at=row["ends_at"],
        devices=parse_devices(row["devices"]),
        licences=parse_licences(row["licences"]),
        runway=None
        if row["runway_depleted"] is None
        else Runway(
            depleted=row["runway_depleted"],
            depletes_at=row["runway_depletes_at"],
            balance=row["runway_balance"],
            burn_rate_per_day=row["runway_rate"],
            at=row["runway_at"],
            warnings_at=tuple(row["runway_warnings_at"] or ()),
        ),
        account_rate_per_day=int(row["account_rate"]),
    )


async def contract_rental(conn: asyncpg.Connection, *, contract_id: UUID) -> ContractTerms | None:
    row = await conn.fetchrow(
        "SELECT account_id, active, ends_at, burn_rate_per_day FROM contract_rental WHERE contract_id = $1",
        contract_id,
    )
    if row is None:
        return None
    return ContractTerms(
        account_id=row["account_id"],
        active=row["active"],
        ends_at=row["ends_at"],
        burn_rate_per_day=row["burn_rate_per_day"],
    )


async def rental_domains_of_contract(conn: asyncpg.Connection, *, contract_id: UUID) -> list[RentalShare]:
    rows = await conn.fetch(
        "SELECT domain_id, devices, licences FROM rental_domain WHERE contract_id = $1", contract_id
    )
    return [RentalShare(domain_id=r["domain_id"], devices=r["devices"], licences=r["licences"]) for r in rows]


async def delete_rental_domains_of(conn: asyncpg.Connection, *, contract_id: UUID, domain_ids: list[UUID]) -> None:
    await conn.execute(
        "DELETE FROM rental_domain WHERE contract_id = $1 AND domain_id = ANY($2::uuid[])", contract_id, domain_ids
    )


# ---- gateways and their bundles -------------------------------------------------------------------------


@dataclass(frozen=True)
class LockedDomain:
    # What the domain's live gateways hold (None: nothing built yet).
    content: ContentDocument | None
    # The test clock its account lives on, and that clock's time (None: a live domain).
    test_clock_id: UUID | None
    clock_time: datetime | None


async def lock_domains(conn: asyncpg.Connection, *, domain_ids: list[UUID]) -> dict[UUID, LockedDomain]:
    """Lock the domains' rows (created on first use) in id order, so concurrent rebuilds never deadlock; what
    each domain's live gateways hold, and the test clock it lives on.

    Every rebuild of a domain's bundles holds this lock and reads the rental inputs only after it, so of two
    concurrent changes the later one always sees the earlier one's rows.
    """
    await conn.execute(
        """INSERT INTO domain_bundle (domain_id)
           SELECT d FROM unnest($1::uuid[]) AS d ORDER BY d
           ON CONFLICT (domain_id) DO NOTHING""",
        domain_ids,
    )
    rows = await conn.fetch(
        """SELECT b.domain_id, b.content, c.id AS test_clock_id, c.frozen_time AS clock_time
           FROM domain_bundle b
           LEFT JOIN known_domain d ON d.id = b.domain_id
           LEFT JOIN account_on_test_clock a ON a.account_id = d.account_id
           LEFT JOIN test_clock c ON c.id = a.test_clock_id
           WHERE b.domain_id = ANY($1::uuid[]) ORDER BY b.domain_id FOR UPDATE OF b""",
        domain_ids,
    )
    return {
        r["domain_id"]: LockedDomain(content=r["content"], test_clock_id=r["test_clock_id"], clock_time=r["clock_time"])
        for r in rows
    }


async def store_domain_contents(conn: asyncpg.Connection, *, contents: list[tuple[UUID, str, str]]) -> None:
    """Rows of (domain_id, kid, content document as JSON text): what every live gateway of the domain now holds
    (its lease's end kept in a column of its own, for the renewal job)."""
    await conn.execute(
        """UPDATE domain_bundle d SET kid = v.kid, content = v.content::jsonb, updated_at = clock_timestamp(),
                  lease_ends_at = to_timestamp((v.content::jsonb ->> 'lease')::bigint)
           FROM unnest($1::uuid[], $2::text[], $3::text[]) AS v(domain_id, kid, content)
           WHERE d.domain_id = v.domain_id""",
        [c[0] for c in contents],
        [c[1] for c in contents],
        [c[2] for c in contents],
    )


async def gateways_to_issue(
    conn: asyncpg.Connection, *, changed_domain_ids: list[UUID], gateway_ids: list[UUID], domain_ids: list[UUID]
) -> list[GatewayToIssue]:
    """The live gateways of the changed domains, and the named ones (of the locked domains), with the content
    of their current bundle. The domains are locked by the caller, so no other rebuild moves their seqs."""
    rows = await conn.fetch(
        """SELECT g.id, g.hwid, g.domain_id, g.current_seq, b.content::text AS content
           FROM gateway g
           LEFT JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           WHERE g.removed_at IS NULL
             AND (g.domain_id = ANY($1::uuid[]) OR (g.id = ANY($2::uuid[]) AND g.domain_id = ANY($3::uuid[])))
           ORDER BY g.hwid""",
        changed_domain_ids,
        gateway_ids,
        domain_ids,
    )
    # The gateways of a domain mostly hold the same content: each distinct document is decoded once (and the
    # decoded document shared, read only).
    decoded: dict[str, ContentDocument] = {}
    return [
        GatewayToIssue(
            id=r["id"],
            hwid=r["hwid"],
            domain_id=r["domain_id"],
            current_seq=r["current_seq"],
            content=None if r["content"] is None else _decoded_once(decoded, r["content"]),
        )
        for r in rows
    ]


def _decoded_once(decoded: dict[str, ContentDocument], text: str) -> ContentDocument:
    if (document := decoded.get(text)) is None:
        document = decoded[text] = json.loads(text)
    return document


async def live_gateway_by_hwid(conn: asyncpg.Connection | asyncpg.Pool, *, hwid: str) -> LiveGateway | None:
    row = await conn.fetchrow(
        """SELECT id, domain_id, account_id, hwid, product, public_key, current_seq, acked_seq
           FROM gateway WHERE hwid = $1 AND removed_at IS NULL""",
        hwid,
    )
    return None if row is None else LiveGateway(**dict(row))


async def insert_bundles(conn: asyncpg.Connection, *, bundles: list[tuple[object, ...]]) -> None:
    """Rows of (hwid, seq, gateway_id, domain_id, kid, content as JSON text, expires_at, jws), in one statement
    over arrays: cheaper for asyncpg than executemany's pipeline of binds, and the content, the same for every
    gateway of a domain, is encoded once by the caller rather than per row by the jsonb codec."""
    columns: list[list[object]] = [list(column) for column in zip(*bundles, strict=True)]
    await conn.execute(
        """INSERT INTO bundle (hwid, seq, gateway_id, domain_id, kid, content, expires_at, jws)
           SELECT hwid, seq, gateway_id, domain_id, kid, content::jsonb, expires_at, jws
           FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[], $6::text[],
                       $7::timestamptz[], $8::text[])
                AS v(hwid, seq, gateway_id, domain_id, kid, content, expires_at, jws)""",
        *columns,
    )


async def set_current_seqs(conn: asyncpg.Connection, *, seqs: list[tuple[UUID, int]]) -> None:
    await conn.execute(
        """UPDATE gateway g SET current_seq = v.seq
           FROM unnest($1::uuid[], $2::bigint[]) AS v(id, seq) WHERE g.id = v.id""",
        [gateway_id for gateway_id, _ in seqs],
        [seq for _, seq in seqs],
    )


async def current_bundle(conn: asyncpg.Connection | asyncpg.Pool, *, gateway_id: UUID) -> StoredBundle | None:
    row = await conn.fetchrow(
        """SELECT b.seq, b.jws, b.expires_at, b.content, b.kid
           FROM gateway g JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           WHERE g.id = $1""",
        gateway_id,
    )
    return None if row is None else StoredBundle(**dict(row))


async def current_bundles(
    conn: asyncpg.Connection | asyncpg.Pool, *, gateway_ids: list[UUID]
) -> dict[UUID, tuple[int, str]]:
    """The current bundle (seq, jws) of each of these gateways, in one round trip."""
    rows = await conn.fetch(
        """SELECT g.id, b.seq, b.jws
           FROM gateway g JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           WHERE g.id = ANY($1::uuid[])""",
        gateway_ids,
    )
    return {r["id"]: (r["seq"], r["jws"]) for r in rows}


async def current_seqs(conn: asyncpg.Connection | asyncpg.Pool, *, gateway_ids: list[UUID]) -> dict[UUID, int]:
    rows = await conn.fetch("SELECT id, current_seq FROM gateway WHERE id = ANY($1::uuid[])", gateway_ids)
    return {r["id"]: r["current_seq"] for r in rows}


# The test clock a domain lives on (NULL: a live domain), for a domain id column of the query.
def _clock_of_domain(domain_id_column: str) -> str:
    return f"""(SELECT a.test_clock_id FROM known_domain kd
                JOIN account_on_test_clock a ON a.account_id = kd.account_id
                WHERE kd.id = {domain_id_column})"""  # noqa: S608 - a column name of this module's queries


async def domains_with_expired_running_bundles(
    conn: asyncpg.Connection, *, now: datetime, limit: int, test_clock_id: UUID | None = None
) -> list[UUID]:
    """Domains whose gateways hold a bundle past its expiry (the live ones, or one test clock's, at its time);
    locked so replicas share the sweep."""
    rows = await conn.fetch(
        f"""SELECT g.domain_id FROM gateway g
            JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
            WHERE g.removed_at IS NULL AND b.expires_at <= $1
              AND {_clock_of_domain("g.domain_id")} IS NOT DISTINCT FROM $3
            ORDER BY b.expires_at LIMIT $2
            FOR UPDATE OF g SKIP LOCKED""",  # noqa: S608 - a fixed fragment
        now,
        limit,
        test_clock_id,
    )
    return sorted({r["domain_id"] for r in rows})


async def domains_with_leases_due(
    conn: asyncpg.Connection, *, before: datetime, limit: int, test_clock_id: UUID | None = None
) -> list[UUID]:
    """Domains whose bundles' lease ends before `before` (the live ones, or one test clock's), soonest first;
    locked so replicas share the renewals."""
    rows = await conn.fetch(
        f"""SELECT domain_id FROM domain_bundle WHERE lease_ends_at <= $1
              AND {_clock_of_domain("domain_bundle.domain_id")} IS NOT DISTINCT FROM $3
            ORDER BY lease_ends_at LIMIT $2 FOR UPDATE SKIP LOCKED""",  # noqa: S608 - a fixed fragment
        before,
        limit,
        test_clock_id,
    )
    return sorted(r["domain_id"] for r in rows)


# ---- test clocks -------------------------------------------------------------------------------------------


async def record_account_on_test_clock(
    conn: asyncpg.Connection, *, account_id: UUID, test_clock_id: UUID, time: datetime
) -> None:
    await conn.execute(
        "INSERT INTO test_clock (id, frozen_time) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", test_clock_id, time
    )
    await conn.execute(
        "INSERT INTO account_on_test_clock (account_id, test_clock_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        account_id,
        test_clock_id,
    )


async def move_test_clock(conn: asyncpg.Connection, *, clock_id: UUID, to: datetime) -> None:
    """The clock's time here, never moved back (a redelivered older step changes nothing)."""
    await conn.execute(
        """INSERT INTO test_clock (id, frozen_time) VALUES ($1, $2)
           ON CONFLICT (id) DO UPDATE SET frozen_time = greatest(test_clock.frozen_time, $2)""",
        clock_id,
        to,
    )


async def clock_reached(conn: asyncpg.Connection, *, account_id: UUID, at: datetime) -> None:
    """The test clock of this account (if it lives on one) got at least to `at`: the wallet said so by a fact."""
    await conn.execute(
        """UPDATE test_clock c SET frozen_time = greatest(c.frozen_time, $2)
           FROM account_on_test_clock a WHERE a.account_id = $1 AND c.id = a.test_clock_id""",
        account_id,
        at,
    )


async def domains_on_test_clock(conn: asyncpg.Connection, clock_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT d.id FROM known_domain d JOIN account_on_test_clock a ON a.account_id = d.account_id
           WHERE a.test_clock_id = $1 ORDER BY d.id""",
        clock_id,
    )
    return [r["id"] for r in rows]


async def next_bundle_work_on_test_clock(
    conn: asyncpg.Connection, *, clock_id: UUID, after: datetime, renew_before: timedelta
) -> datetime | None:
    """The next instant after `after` at which a bundle of the clock's domains expires or a lease is due for
    renewal (`renew_before` ahead of its end)."""
    value: datetime | None = await conn.fetchval(
        """WITH domains AS (
               SELECT d.id FROM known_domain d JOIN account_on_test_clock a ON a.account_id = d.account_id
               WHERE a.test_clock_id = $1)
           SELECT min(t) FROM (
               SELECT min(b.expires_at) AS t FROM gateway g JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
               WHERE g.removed_at IS NULL AND g.domain_id IN (SELECT id FROM domains) AND b.expires_at > $2
               UNION ALL
               SELECT min(lease_ends_at - $3::interval) FROM domain_bundle
               WHERE domain_id IN (SELECT id FROM domains) AND lease_ends_at - $3::interval > $2) AS due""",
        clock_id,
        after,
        renew_before,
    )
    return value


async def gateway_to_issue(conn: asyncpg.Connection, *, gateway_id: UUID) -> GatewayToIssue | None:
    """One live gateway with the content of its current bundle (its domain locked by the caller)."""
    row = await conn.fetchrow(
        """SELECT g.id, g.hwid, g.domain_id, g.current_seq, b.content
           FROM gateway g LEFT JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           WHERE g.id = $1 AND g.removed_at IS NULL""",
        gateway_id,
    )
    return None if row is None else GatewayToIssue(**dict(row))


# ---- signing keys -----------------------------------------------------------------------------------------


async def lock_signing_keys(conn: asyncpg.Connection) -> None:
    # Serialises key creation and rotation across replicas (transaction-scoped).
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('licensing.signing_key'))")


@dataclass(frozen=True)
class StoredSigningKey:
    """A signing key as stored: its private JWK sealed under the KEK (`sealed`), or, for a key stored before keys
    were encrypted and not sealed yet, in plaintext (`plaintext`)."""

    kid: str
    public_jwk: dict[str, str]
    sealed: bytes | None
    plaintext: dict[str, str] | None


@dataclass(frozen=True)
class KeyRecord:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    published_until: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class KeyRevocation:
    kid: str
    revoked_at: datetime
    revoked_by: str
    replaced_by: str
    rotated: bool
    bundles_resigned: int
    domains_resigned: int


def _stored_key(row: asyncpg.Record) -> StoredSigningKey:
    return StoredSigningKey(
        kid=row["kid"], public_jwk=row["public_jwk"], sealed=row["private_jwk_sealed"], plaintext=row["private_jwk"]
    )


async def newest_signing_key(conn: asyncpg.Connection) -> StoredSigningKey | None:
    """The key that signs: the newest one not revoked."""
    row = await conn.fetchrow(
        """SELECT kid, public_jwk, private_jwk_sealed, private_jwk FROM signing_key WHERE revoked_at IS NULL
           ORDER BY created_at DESC, kid DESC LIMIT 1"""
    )
    return None if row is None else _stored_key(row)


async def insert_signing_key(
    conn: asyncpg.Connection, *, kid: str, sealed_private_jwk: bytes, public_jwk: dict[str, str]
) -> None:
    await conn.execute(
        "INSERT INTO signing_key (kid, private_jwk_sealed, public_jwk) VALUES ($1, $2, $3)",
        kid,
        sealed_private_jwk,
        public_jwk,
    )


async def retire_signing_keys(conn: asyncpg.Connection, *, except_kid: str, at: datetime, until: datetime) -> None:
    """A newer key signs from `at`: every other key still in service is retired, published until `until`."""
    await conn.execute(
        """UPDATE signing_key SET retired_at = $2, published_until = $3
           WHERE kid <> $1 AND retired_at IS NULL AND revoked_at IS NULL""",
        except_kid,
        at,
        until,
    )


async def plaintext_signing_keys(conn: asyncpg.Connection) -> list[StoredSigningKey]:
    """Keys stored before keys were encrypted, locked until this transaction seals them."""
    rows = await conn.fetch(
        """SELECT kid, public_jwk, private_jwk_sealed, private_jwk FROM signing_key
           WHERE private_jwk IS NOT NULL ORDER BY kid FOR UPDATE"""
    )
    return [_stored_key(r) for r in rows]


async def seal_signing_key(conn: asyncpg.Connection, *, kid: str, sealed_private_jwk: bytes) -> None:
    await conn.execute(
        "UPDATE signing_key SET private_jwk_sealed = $2, private_jwk = NULL WHERE kid = $1", kid, sealed_private_jwk
    )


async def signing_key_record(conn: asyncpg.Connection, *, kid: str) -> KeyRecord | None:
    row = await conn.fetchrow(
        "SELECT kid, created_at, retired_at, published_until, revoked_at FROM signing_key WHERE kid = $1 FOR UPDATE",
        kid,
    )
    return None if row is None else KeyRecord(**dict(row))


async def mark_signing_key_revoked(conn: asyncpg.Connection, *, kid: str, at: datetime) -> None:
    await conn.execute(
        """UPDATE signing_key SET revoked_at = $2, retired_at = COALESCE(retired_at, $2),
                                  published_until = LEAST(COALESCE(published_until, $2), $2)
           WHERE kid = $1""",
        kid,
        at,
    )


async def insert_key_revocation(conn: asyncpg.Connection, *, revocation: KeyRevocation) -> None:
    await conn.execute(
        """INSERT INTO key_revocation
               (kid, revoked_at, revoked_by, replaced_by, rotated, bundles_resigned, domains_resigned)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        *astuple(revocation),
    )


async def key_revocation(conn: asyncpg.Connection | asyncpg.Pool, *, kid: str) -> KeyRevocation | None:
    row = await conn.fetchrow(
        """SELECT kid, revoked_at, revoked_by, replaced_by, rotated, bundles_resigned, domains_resigned
           FROM key_revocation WHERE kid = $1""",
        kid,
    )
    return None if row is None else KeyRevocation(**dict(row))


async def bundles_signed_by(conn: asyncpg.Connection, *, kid: str) -> tuple[list[UUID], list[UUID]]:
    """What this key signed that is still in use: the domains whose content carries it, with those of every live
    gateway whose current bundle it signed; and those gateways."""
    rows = await conn.fetch(
        """SELECT domain_id, NULL::uuid AS gateway_id FROM domain_bundle WHERE kid = $1
           UNION ALL
           SELECT g.domain_id, g.id FROM gateway g JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           WHERE g.removed_at IS NULL AND b.kid = $1""",
        kid,
    )
    domain_ids = sorted({r["domain_id"] for r in rows})
    gateway_ids = sorted({r["gateway_id"] for r in rows if r["gateway_id"] is not None})
    return domain_ids, gateway_ids


async def gateways_holding_withdrawn_keys(
    conn: asyncpg.Connection | asyncpg.Pool, *, gateway_ids: list[UUID], now: datetime
) -> set[UUID]:
    """Of these gateways, those whose current bundle was signed by a key withdrawn at `now` (see withdrawn_kids)."""
    rows = await conn.fetch(
        """SELECT g.id FROM gateway g
           JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           JOIN signing_key k ON k.kid = b.kid
           WHERE g.id = ANY($1::uuid[]) AND (k.revoked_at IS NOT NULL OR k.published_until <= $2)""",
        gateway_ids,
        now,
    )
    return {r["id"] for r in rows}


async def withdrawn_kids(conn: asyncpg.Connection | asyncpg.Pool, *, kids: list[str], now: datetime) -> set[str]:
    """Of these kids, those no bundle may be handed out signed by: revoked, or retired and past their grace."""
    rows = await conn.fetch(
        """SELECT kid FROM signing_key WHERE kid = ANY($1::text[])
           AND (revoked_at IS NOT NULL OR published_until <= $2)""",
        kids,
        now,
    )
    return {r["kid"] for r in rows}


async def published_public_keys(
    conn: asyncpg.Connection | asyncpg.Pool, *, now: datetime, alive_after: datetime
) -> list[dict[str, str]]:
    """The JWKS: never a revoked key; the newest key; a retired key during its grace (`published_until`), and after
    it only while a connected gateway (its replica's heartbeat after `alive_after`) still holds a bundle signed by
    it, acknowledged, and has not acknowledged a newer one. A gateway that is offline never keeps a key published
    past its grace: when it comes back, what it holds is not current, and it gets the current bundle."""
    rows = await conn.fetch(
        """WITH newest AS (
               SELECT kid FROM signing_key WHERE revoked_at IS NULL ORDER BY created_at DESC, kid DESC LIMIT 1
           ), held_by_connected AS (
               SELECT DISTINCT b.kid FROM gateway g
               JOIN replica_heartbeat h ON h.replica = g.connected_replica AND h.beat_at > $2
               JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.acked_seq
               WHERE g.removed_at IS NULL
           )
           SELECT public_jwk FROM signing_key
           WHERE revoked_at IS NULL
             AND (kid IN (SELECT kid FROM newest)
                  OR published_until IS NULL OR published_until > $1
                  OR kid IN (SELECT kid FROM held_by_connected))
           ORDER BY created_at DESC, kid DESC""",
        now,
        alive_after,
    )
    return [r["public_jwk"] for r in rows]


async def count_live_gateways(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM gateway WHERE removed_at IS NULL"))


# ---- key rotations ----------------------------------------------------------------------------------------


async def supersede_pending_rotations(conn: asyncpg.Connection, *, at: datetime) -> None:
    """A newer rotation takes over what an unfinished one had left (every domain is re-signed with the newest)."""
    await conn.execute(
        "UPDATE key_rotation SET completed_at = $1, outcome = 'superseded' WHERE completed_at IS NULL", at
    )


async def insert_key_rotation(
    conn: asyncpg.Connection, *, rotation_id: UUID, kid: str, requested_at: datetime, gateways_total: int
) -> None:
    await conn.execute(
        "INSERT INTO key_rotation (id, kid, requested_at, gateways_total) VALUES ($1, $2, $3, $4)",
        rotation_id,
        kid,
        requested_at,
        gateways_total,
    )


async def pending_rotation(conn: asyncpg.Connection | asyncpg.Pool) -> PendingRotation | None:
    row = await conn.fetchrow(
        """SELECT id, kid FROM key_rotation WHERE completed_at IS NULL
           ORDER BY requested_at DESC LIMIT 1"""
    )
    return None if row is None else PendingRotation(id=row["id"], kid=row["kid"])


async def claim_domains_signed_by_other_keys(conn: asyncpg.Connection, *, kid: str, limit: int) -> list[UUID]:
    """A batch of domains not yet re-signed with `kid`; rows another replica is working on are skipped."""
    rows = await conn.fetch(
        """SELECT domain_id FROM domain_bundle WHERE kid IS DISTINCT FROM $1
           ORDER BY domain_id LIMIT $2 FOR UPDATE SKIP LOCKED""",
        kid,
        limit,
    )
    return [r["domain_id"] for r in rows]


async def any_domain_signed_by_other_keys(conn: asyncpg.Connection, *, kid: str) -> bool:
    """Including the rows other replicas hold locked right now (their batch may still roll back)."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM domain_bundle WHERE kid IS DISTINCT FROM $1)", kid))


async def count_rotation_progress(conn: asyncpg.Connection, *, rotation_id: UUID, reissued: int) -> None:
    await conn.execute(
        "UPDATE key_rotation SET bundles_reissued = bundles_reissued + $2 WHERE id = $1", rotation_id, reissued
    )


async def complete_rotation(conn: asyncpg.Connection, *, rotation_id: UUID, at: datetime) -> None:
    await conn.execute(
        "UPDATE key_rotation SET completed_at = $2, outcome = 'completed' WHERE id = $1 AND completed_at IS NULL",
        rotation_id,
        at,
    )


async def key_rotation(conn: asyncpg.Connection | asyncpg.Pool, *, rotation_id: UUID) -> KeyRotation | None:
    """The rotation with, over the live gateways now, how many hold (and acknowledged) a bundle signed by it."""
    row = await conn.fetchrow(
        """SELECT r.id, r.kid, r.requested_at, r.completed_at, r.outcome, r.gateways_total, r.bundles_reissued,
                  (SELECT count(*) FROM gateway g WHERE g.removed_at IS NULL) AS gateways_live,
                  (SELECT count(*) FROM gateway g JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
                   WHERE g.removed_at IS NULL AND b.kid = r.kid) AS gateways_resigned,
                  (SELECT count(*) FROM gateway g JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.acked_seq
                   WHERE g.removed_at IS NULL AND b.kid = r.kid) AS gateways_acknowledged
           FROM key_rotation r WHERE r.id = $1""",
        rotation_id,
    )
    if row is None:
        return None
    return KeyRotation(
        id=row["id"],
        kid=row["kid"],
        status=row["outcome"] or "in_progress",
        requested_at=row["requested_at"],
        completed_at=row["completed_at"],
        progress=RotationProgress(**{f.name: row[f.name] for f in fields(RotationProgress)}),
    )


# ---- sessions -----------------------------------------------------------------------------------------------


async def live_gateways_by_hwids(
    conn: asyncpg.Connection | asyncpg.Pool, *, hwids: list[str]
) -> list[IdentifyingGateway]:
    """Identify, for a batch: each live gateway's key and its current bundle, in one round trip."""
    rows = await conn.fetch(
        f"""SELECT g.id, g.domain_id, g.hwid, g.public_key, b.seq, b.jws, b.expires_at,
                   (SELECT c.frozen_time FROM test_clock c WHERE c.id = {_clock_of_domain("g.domain_id")})
                       AS clock_time
            FROM gateway g LEFT JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
            WHERE g.hwid = ANY($1::text[]) AND g.removed_at IS NULL""",  # noqa: S608 - a fixed fragment
        hwids,
    )
    return [IdentifyingGateway(**dict(r)) for r in rows]


async def record_connects(
    conn: asyncpg.Connection, *, replica: str, connects: list[tuple[UUID, int]], now: datetime
) -> None:
    """Sessions opened on this replica at `now` (the session's mark), with the seq each gateway holds."""
    await conn.execute(
        """UPDATE gateway g SET connected_replica = $3, connected_at = $4, last_seen_at = $4,
                                acked_seq = GREATEST(g.acked_seq, LEAST(v.seq_held, g.current_seq))
           FROM unnest($1::uuid[], $2::bigint[]) AS v(id, seq_held) WHERE g.id = v.id""",
        [gateway_id for gateway_id, _ in connects],
        [seq for _, seq in connects],
        replica,
        now,
    )


async def record_acks(conn: asyncpg.Connection | asyncpg.Pool, *, acks: list[tuple[UUID, int, datetime]]) -> None:
    """Rows of (gateway_id, seq, at), one per gateway: the highest seq it confirmed."""
    await conn.execute(
        """UPDATE gateway g SET acked_seq = GREATEST(g.acked_seq, LEAST(v.seq, g.current_seq)),
                                last_seen_at = GREATEST(g.last_seen_at, v.at)
           FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[]) AS v(id, seq, at) WHERE g.id = v.id""",
        [a[0] for a in acks],
        [a[1] for a in acks],
        [a[2] for a in acks],
    )


async def insert_delivery_failure(
    conn: asyncpg.Connection, *, gateway_id: UUID, seq: int, reason: str, at: datetime
) -> FailedDelivery | None:
    """The failure of (gateway, seq), unless one was recorded before (None then); with the gateway's account,
    domain and the contract renting in its domain (the active one first, the newest version among them)."""
    row = await conn.fetchrow(
        """WITH inserted AS (
               INSERT INTO delivery_failure (gateway_id, seq, reason, failed_at) VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING RETURNING gateway_id
           )
           SELECT g.id, g.account_id, g.domain_id, g.hwid,
                  (SELECT rd.contract_id FROM rental_domain rd JOIN contract_rental cr USING (contract_id)
                   WHERE rd.domain_id = g.domain_id ORDER BY cr.active DESC, cr.version DESC LIMIT 1) AS contract_id
           FROM inserted i JOIN gateway g ON g.id = i.gateway_id""",
        gateway_id,
        seq,
        reason,
        at,
    )
    if row is None:
        return None
    return FailedDelivery(
        gateway_id=row["id"],
        account_id=row["account_id"],
        domain_id=row["domain_id"],
        hwid=row["hwid"],
        contract_id=row["contract_id"],
    )


async def record_disconnects(
    conn: asyncpg.Connection | asyncpg.Pool, *, replica: str, disconnects: list[tuple[UUID, datetime, datetime]]
) -> None:
    """Rows of (gateway_id, connected_at of the session that ended, at). A newer session (another mark) stays."""
    await conn.execute(
        """UPDATE gateway g SET connected_replica = NULL, last_seen_at = v.at
           FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS v(id, connected_at, at)
           WHERE g.id = v.id AND g.connected_replica = $4 AND g.connected_at = v.connected_at""",
        [d[0] for d in disconnects],
        [d[1] for d in disconnects],
        [d[2] for d in disconnects],
        replica,
    )


async def record_ack(conn: asyncpg.Connection | asyncpg.Pool, *, gateway_id: UUID, seq: int, now: datetime) -> None:
    await conn.execute(
        """UPDATE gateway SET acked_seq = GREATEST(acked_seq, LEAST($2, current_seq)), last_seen_at = $3
           WHERE id = $1""",
        gateway_id,
        seq,
        now,
    )


async def release_replica(conn: asyncpg.Connection | asyncpg.Pool, *, replica: str, now: datetime) -> None:
    await conn.execute(
        "UPDATE gateway SET connected_replica = NULL, last_seen_at = $2 WHERE connected_replica = $1", replica, now
    )
    await conn.execute("DELETE FROM replica_heartbeat WHERE replica = $1", replica)


async def beat(conn: asyncpg.Connection | asyncpg.Pool, *, replica: str, now: datetime) -> None:
    await conn.execute(
        """INSERT INTO replica_heartbeat (replica, beat_at) VALUES ($1, $2)
           ON CONFLICT (replica) DO UPDATE SET beat_at = $2""",
        replica,
        now,
    )


async def gateway_states(
    conn: asyncpg.Connection | asyncpg.Pool, *, domain_id: UUID, alive_after: datetime
) -> list[GatewayState]:
    """Per live gateway of the domain: online (its replica's heartbeat is fresh), seqs and last seen."""
    rows = await conn.fetch(
        """SELECT g.id, g.hwid, g.product, g.current_seq, g.acked_seq, g.last_seen_at, g.connected_at,
                  (g.connected_replica IS NOT NULL AND h.beat_at > $2) AS online
           FROM gateway g LEFT JOIN replica_heartbeat h ON h.replica = g.connected_replica
           WHERE g.domain_id = $1 AND g.removed_at IS NULL
           ORDER BY g.hwid""",
        domain_id,
        alive_after,
    )
    return [
        GatewayState(
            gateway_id=r["id"],
            hwid=r["hwid"],
            product=r["product"],
            online=bool(r["online"]),
            seq=r["current_seq"],
            acknowledged_seq=r["acked_seq"],
            last_seen_at=r["last_seen_at"],
        )
        for r in rows
    ]


async def insert_pull_challenge(
    conn: asyncpg.Connection | asyncpg.Pool, *, nonce: str, hwid: str, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO pull_challenge (nonce, hwid, expires_at) VALUES ($1, $2, $3)", nonce, hwid, expires_at
    )


async def consume_pull_challenge(conn: asyncpg.Connection, *, nonce: str, hwid: str, now: datetime) -> bool:
    """A nonce answers one pull only, and only before it expires."""
    used = await conn.fetchval(
        """UPDATE pull_challenge SET used_at = $3
           WHERE nonce = $1 AND hwid = $2 AND used_at IS NULL AND expires_at > $3 RETURNING true""",
        nonce,
        hwid,
        now,
    )
    return bool(used)


async def delete_expired_pull_challenges(conn: asyncpg.Connection | asyncpg.Pool, *, before: datetime) -> None:
    await conn.execute("DELETE FROM pull_challenge WHERE expires_at < $1", before)
