"""SQL of the licence distributor, one function per query. Never commits."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg

# ---- read models: domains, gateways, rentals, runways -------------------------------------------------


async def upsert_known_domain(conn: asyncpg.Connection, *, domain_id: UUID, account_id: UUID, name: str) -> None:
    await conn.execute(
        """INSERT INTO known_domain (id, account_id, name) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = $3""",
        domain_id,
        account_id,
        name,
    )


async def known_domain(conn: asyncpg.Connection | asyncpg.Pool, *, domain_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, account_id, name FROM known_domain WHERE id = $1", domain_id)


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


async def upsert_gateway(
    conn: asyncpg.Connection,
    *,
    gateway_id: UUID,
    domain_id: UUID,
    account_id: UUID,
    hwid: str,
    product: str,
    public_key: str,
) -> None:
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
        gateway_id,
        domain_id,
        account_id,
        hwid,
        product,
        public_key,
    )


async def remove_gateway(
    conn: asyncpg.Connection,
    *,
    gateway_id: UUID,
    domain_id: UUID,
    account_id: UUID,
    hwid: str,
    product: str,
    at: datetime,
) -> bool:
    """Mark it removed; True if it was live. A removal that overtakes its registration leaves a tombstone."""
    was_live = await conn.fetchval(
        """WITH before AS (SELECT removed_at FROM gateway WHERE id = $1)
           INSERT INTO gateway (id, domain_id, account_id, hwid, product, public_key, removed_at)
           VALUES ($1, $2, $3, $4, $5, '', $6)
           ON CONFLICT (id) DO UPDATE
           SET removed_at = COALESCE(gateway.removed_at, $6), connected_replica = NULL
           RETURNING (SELECT removed_at IS NULL FROM before)""",
        gateway_id,
        domain_id,
        account_id,
        hwid,
        product,
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


async def delete_rental_domains(conn: asyncpg.Connection, *, contract_id: UUID) -> list[UUID]:
    rows = await conn.fetch("DELETE FROM rental_domain WHERE contract_id = $1 RETURNING domain_id", contract_id)
    return [r["domain_id"] for r in rows]


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


async def apply_runway(
    conn: asyncpg.Connection,
    *,
    account_id: UUID,
    version: int,
    depleted: bool,
    depletes_at: datetime | None,
    balance: int | None,
    burn_rate_per_day: int | None,
    at: datetime,
) -> bool:
    """Newest version wins. An event that does not carry the rate keeps the one held."""
    applied = await conn.fetchval(
        """INSERT INTO account_runway (account_id, version, depleted, depletes_at, balance, burn_rate_per_day, at)
           VALUES ($1, $2, $3, $4, $5, COALESCE($6::bigint, 0), $7)
           ON CONFLICT (account_id) DO UPDATE
           SET version = $2, depleted = $3, depletes_at = $4, balance = $5,
               burn_rate_per_day = COALESCE($6::bigint, account_runway.burn_rate_per_day), at = $7
           WHERE account_runway.version < $2
           RETURNING true""",
        account_id,
        version,
        depleted,
        depletes_at,
        balance,
        burn_rate_per_day,
        at,
    )
    return bool(applied)


async def rented_domains_of_account(conn: asyncpg.Connection, *, account_id: UUID) -> list[UUID]:
    rows = await conn.fetch(
        """SELECT DISTINCT rd.domain_id FROM rental_domain rd
           JOIN contract_rental c ON c.contract_id = rd.contract_id WHERE c.account_id = $1""",
        account_id,
    )
    return [r["domain_id"] for r in rows]


async def rentals_of_domain(conn: asyncpg.Connection | asyncpg.Pool, *, domain_id: UUID) -> list[asyncpg.Record]:
    """Every contract's share of the domain with its account's runway (NULLs when not known yet)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT c.contract_id, c.active, c.ends_at, rd.devices, rd.licences,
                  r.depleted AS runway_depleted, r.depletes_at AS runway_depletes_at,
                  r.balance AS runway_balance, r.burn_rate_per_day AS runway_rate, r.at AS runway_at,
                  (SELECT COALESCE(sum(a.burn_rate_per_day), 0) FROM contract_rental a
                   WHERE a.account_id = c.account_id AND a.active) AS account_rate
           FROM rental_domain rd
           JOIN contract_rental c ON c.contract_id = rd.contract_id
           LEFT JOIN account_runway r ON r.account_id = c.account_id
           WHERE rd.domain_id = $1
           ORDER BY c.contract_id""",
        domain_id,
    )
    return rows


# ---- gateways and their bundles -------------------------------------------------------------------------


async def lock_gateways_of_domains(
    conn: asyncpg.Connection, *, domain_ids: list[UUID], gateway_ids: list[UUID] | None = None
) -> list[asyncpg.Record]:
    """The live gateways (all, or only `gateway_ids`) with their current bundle's content, locked in hwid
    order (so concurrent rebuilds never deadlock).

    Two statements on purpose: lock first, then read the bundles. With the join inside the locking SELECT, a
    rebuild that waited for the lock gets the new `current_seq` re-checked against the old bundle row, so the
    content comes back NULL and an identical bundle would be issued again.
    """
    locked = await conn.fetch(
        """SELECT g.id FROM gateway g
           WHERE g.domain_id = ANY($1::uuid[]) AND g.removed_at IS NULL
             AND ($2::uuid[] IS NULL OR g.id = ANY($2::uuid[]))
           ORDER BY g.hwid
           FOR UPDATE OF g""",
        domain_ids,
        gateway_ids,
    )
    # Only the rows locked above (a gateway registered meanwhile gets its bundle from its own registration).
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT g.id, g.hwid, g.domain_id, g.current_seq, b.content
           FROM gateway g
           LEFT JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           WHERE g.id = ANY($1::uuid[])
           ORDER BY g.hwid""",
        [r["id"] for r in locked],
    )
    return rows


async def live_gateway_by_hwid(conn: asyncpg.Connection | asyncpg.Pool, *, hwid: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, domain_id, account_id, hwid, product, public_key, current_seq, acked_seq
           FROM gateway WHERE hwid = $1 AND removed_at IS NULL""",
        hwid,
    )


async def insert_bundles(conn: asyncpg.Connection, *, bundles: list[tuple[object, ...]]) -> None:
    """Rows of (hwid, seq, gateway_id, domain_id, kid, content, expires_at, jws), in one round trip."""
    await conn.executemany(
        """INSERT INTO bundle (hwid, seq, gateway_id, domain_id, kid, content, expires_at, jws)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        bundles,
    )


async def set_current_seqs(conn: asyncpg.Connection, *, seqs: list[tuple[UUID, int]]) -> None:
    await conn.executemany("UPDATE gateway SET current_seq = $2 WHERE id = $1", seqs)


async def current_bundle(conn: asyncpg.Connection | asyncpg.Pool, *, gateway_id: UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT b.seq, b.jws, b.expires_at, b.content, b.kid
           FROM gateway g JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           WHERE g.id = $1""",
        gateway_id,
    )


async def current_seqs(conn: asyncpg.Connection | asyncpg.Pool, *, gateway_ids: list[UUID]) -> dict[UUID, int]:
    rows = await conn.fetch("SELECT id, current_seq FROM gateway WHERE id = ANY($1::uuid[])", gateway_ids)
    return {r["id"]: r["current_seq"] for r in rows}


async def domains_with_expired_running_bundles(conn: asyncpg.Connection, *, now: datetime, limit: int) -> list[UUID]:
    """Domains whose gateways hold a bundle past its expiry; locked so replicas share the sweep."""
    rows = await conn.fetch(
        """SELECT g.domain_id FROM gateway g
           JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.current_seq
           WHERE g.removed_at IS NULL AND b.expires_at <= $1
           ORDER BY b.expires_at LIMIT $2
           FOR UPDATE OF g SKIP LOCKED""",
        now,
        limit,
    )
    return sorted({r["domain_id"] for r in rows})


async def domains_with_live_gateways(conn: asyncpg.Connection) -> list[UUID]:
    rows = await conn.fetch("SELECT DISTINCT domain_id FROM gateway WHERE removed_at IS NULL ORDER BY domain_id")
    return [r["domain_id"] for r in rows]


# ---- signing keys -----------------------------------------------------------------------------------------


async def lock_signing_keys(conn: asyncpg.Connection) -> None:
    # Serialises key creation and rotation across replicas (transaction-scoped).
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('licensing.signing_key'))")


async def newest_signing_key(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT kid, private_jwk, public_jwk FROM signing_key ORDER BY created_at DESC, kid DESC LIMIT 1"
    )


async def insert_signing_key(
    conn: asyncpg.Connection, *, kid: str, private_jwk: dict[str, str], public_jwk: dict[str, str]
) -> None:
    await conn.execute(
        "INSERT INTO signing_key (kid, private_jwk, public_jwk) VALUES ($1, $2, $3)", kid, private_jwk, public_jwk
    )


async def published_public_keys(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, str]]:
    """The newest key, and every key that signed a bundle some live gateway still holds (its acked seq)."""
    rows = await conn.fetch(
        """WITH newest AS (
               SELECT kid FROM signing_key ORDER BY created_at DESC, kid DESC LIMIT 1
           ), held AS (
               SELECT DISTINCT b.kid FROM gateway g
               JOIN bundle b ON b.hwid = g.hwid AND b.seq = g.acked_seq
               WHERE g.removed_at IS NULL
           )
           SELECT public_jwk FROM signing_key
           WHERE kid IN (SELECT kid FROM newest) OR kid IN (SELECT kid FROM held)
           ORDER BY created_at DESC""",
    )
    return [r["public_jwk"] for r in rows]


# ---- sessions -----------------------------------------------------------------------------------------------


async def record_connect(
    conn: asyncpg.Connection, *, gateway_id: UUID, replica: str, seq_held: int, now: datetime
) -> None:
    # The seq the gateway reports is the highest it verified and applied: as good as an ack.
    await conn.execute(
        """UPDATE gateway SET connected_replica = $2, connected_at = $4, last_seen_at = $4,
                              acked_seq = GREATEST(acked_seq, LEAST($3, current_seq))
           WHERE id = $1""",
        gateway_id,
        replica,
        seq_held,
        now,
    )


async def record_ack(conn: asyncpg.Connection | asyncpg.Pool, *, gateway_id: UUID, seq: int, now: datetime) -> None:
    await conn.execute(
        """UPDATE gateway SET acked_seq = GREATEST(acked_seq, LEAST($2, current_seq)), last_seen_at = $3
           WHERE id = $1""",
        gateway_id,
        seq,
        now,
    )


async def record_disconnect(
    conn: asyncpg.Connection | asyncpg.Pool, *, gateway_id: UUID, replica: str, now: datetime
) -> None:
    await conn.execute(
        """UPDATE gateway SET connected_replica = NULL, last_seen_at = $3
           WHERE id = $1 AND connected_replica = $2""",
        gateway_id,
        replica,
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
) -> list[asyncpg.Record]:
    """Per live gateway of the domain: online (its replica's heartbeat is fresh), seqs and last seen."""
    rows: list[asyncpg.Record] = await conn.fetch(
        """SELECT g.id, g.hwid, g.product, g.current_seq, g.acked_seq, g.last_seen_at, g.connected_at,
                  (g.connected_replica IS NOT NULL AND h.beat_at > $2) AS online
           FROM gateway g LEFT JOIN replica_heartbeat h ON h.replica = g.connected_replica
           WHERE g.domain_id = $1 AND g.removed_at IS NULL
           ORDER BY g.hwid""",
        domain_id,
        alive_after,
    )
    return rows


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
