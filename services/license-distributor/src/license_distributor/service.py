"""Licence distributor use cases: one function, one transaction, events into the outbox inside it.

Every bundle is stored (and its `BundleIssued` written to the outbox) in the transaction that decides it;
replicas push it to connected gateways only when that event reaches them, so nothing is sent unstored.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import structlog

from license_distributor import domain, repository
from license_distributor.domain import BundleContent, Claims, ContractRental, Runway
from license_distributor.signing import SigningKey, gateway_signature_valid, generate_signing_key, sign_bundle
from shared.auth import Principal, ensure_account_access
from shared.db import transaction
from shared.errors import NotFound, Unauthorized
from shared.events.base import Event
from shared.events.licensing import BundleIssued, GatewayRebootOrdered, GatewayReconnected
from shared.messaging.outbox import add_to_outbox

log = structlog.get_logger()
GATEWAY_REMOVED_REASON = "gateway_removed"


class UnknownGateway(Unauthorized):
    code, title = "unknown_gateway", "Unknown gateway"


class BadSignature(Unauthorized):
    code, title = "bad_signature", "Bad signature"


class InvalidChallenge(Unauthorized):
    code, title = "invalid_challenge", "Invalid challenge"


@dataclass(frozen=True)
class IssuedBundle:
    gateway_id: UUID
    hwid: str
    seq: int


@dataclass(frozen=True)
class Delivery:
    seq: int
    jws: str


@dataclass(frozen=True)
class GatewaySession:
    gateway_id: UUID
    domain_id: UUID
    hwid: str


# ---- bundles ------------------------------------------------------------------------------------------


async def current_signing_key(conn: asyncpg.Connection) -> SigningKey:
    """The newest key; the first one is created on first use (under a lock, so replicas agree on it)."""
    row = await repository.newest_signing_key(conn)
    if row is None:
        await repository.lock_signing_keys(conn)
        row = await repository.newest_signing_key(conn)
    if row is None:
        key = generate_signing_key()
        await repository.insert_signing_key(conn, kid=key.kid, private_jwk=key.private_jwk, public_jwk=key.public_jwk)
        log.info("licensing.signing_key.created", kid=key.kid)
        return key
    return SigningKey(kid=row["kid"], private_jwk=row["private_jwk"], public_jwk=row["public_jwk"])


async def domain_content(conn: asyncpg.Connection | asyncpg.Pool, *, domain_id: UUID, now: datetime) -> BundleContent:
    rows = await repository.rentals_of_domain(conn, domain_id=domain_id)
    rentals = [
        ContractRental(
            contract_id=row["contract_id"],
            active=row["active"],
            ends_at=row["ends_at"],
            devices=domain.parse_devices(row["devices"]),
            licences=domain.parse_licences(row["licences"]),
            runway=None
            if row["runway_depleted"] is None
            else Runway(
                depleted=row["runway_depleted"],
                depletes_at=row["runway_depletes_at"],
                balance=row["runway_balance"],
                burn_rate_per_day=row["runway_rate"],
                at=row["runway_at"],
            ),
            account_rate_per_day=int(row["account_rate"]),
        )
        for row in rows
    ]
    return domain.bundle_content(domain_id=domain_id, rentals=rentals, now=now)


async def reissue_bundles(
    conn: asyncpg.Connection,
    *,
    domain_ids: Iterable[UUID],
    now: datetime,
    issuer: str,
    gateway_ids: Iterable[UUID] | None = None,
) -> list[IssuedBundle]:
    """Rebuild the bundle of every live gateway of these domains (or only of `gateway_ids`); sign and store
    those whose content changed."""
    wanted = sorted(set(domain_ids))
    if not wanted:
        return []
    only = sorted(set(gateway_ids)) if gateway_ids is not None else None
    gateways = await repository.lock_gateways_of_domains(conn, domain_ids=wanted, gateway_ids=only)
    if not gateways:
        return []
    key = await current_signing_key(conn)
    contents: dict[UUID, BundleContent] = {}
    issued: list[IssuedBundle] = []
    rows: list[tuple[object, ...]] = []
    events: list[Event] = []
    for gateway in gateways:
        domain_id = gateway["domain_id"]
        if domain_id not in contents:
            contents[domain_id] = await domain_content(conn, domain_id=domain_id, now=now)
        content = contents[domain_id]
        previous = gateway["content"]
        if not domain.rebuild_changes(previous, content, kid=key.kid):
            continue
        seq = gateway["current_seq"] + 1
        claims = Claims(issuer=issuer, hwid=gateway["hwid"], seq=seq, issued_at=now, content=content)
        jws = sign_bundle(key, claims.as_dict())
        document = dict(content.document(kid=key.kid))
        rows.append((gateway["hwid"], seq, gateway["id"], domain_id, key.kid, document, content.expires_at, jws))
        events.append(
            BundleIssued(
                gateway_id=gateway["id"],
                domain_id=domain_id,
                seq=seq,
                expires_at=content.expires_at,
                hwid=gateway["hwid"],
                devices=[d.hwid for d in content.devices],
                jws=jws,
            )
        )
        if domain.orders_reboot(previous, content):
            events.append(
                GatewayRebootOrdered(
                    gateway_id=gateway["id"], reason=domain.REBOOT_REASON, domain_id=domain_id, hwid=gateway["hwid"]
                )
            )
        issued.append(IssuedBundle(gateway_id=gateway["id"], hwid=gateway["hwid"], seq=seq))
    if rows:
        # Stored first; the notifications that make replicas send them commit in the same transaction.
        await repository.insert_bundles(conn, bundles=rows)
        await repository.set_current_seqs(conn, seqs=[(b.gateway_id, b.seq) for b in issued])
    for event in events:
        await add_to_outbox(conn, event)
    if issued:
        log.info(
            "licensing.bundles.issued",
            domains=[str(d) for d in wanted],
            count=len(issued),
            kid=key.kid,
            stop_reason=next(iter(contents.values())).stop_reason,
        )
    return issued


async def reissue_expired(pool: asyncpg.Pool, *, now: datetime, issuer: str, limit: int = 100) -> int:
    """Bundles past their expiry become bundles with no devices (and the gateways are told to reboot)."""
    async with transaction(pool) as conn:
        domain_ids = await repository.domains_with_expired_running_bundles(conn, now=now, limit=limit)
        issued = await reissue_bundles(conn, domain_ids=domain_ids, now=now, issuer=issuer)
    return len(issued)


async def rotate_signing_key(pool: asyncpg.Pool, *, now: datetime, issuer: str) -> tuple[str, int]:
    """A new key signs from now on; every live gateway gets its bundle re-signed with it (seq + 1)."""
    key = generate_signing_key()
    async with transaction(pool) as conn:
        await repository.lock_signing_keys(conn)
        await repository.insert_signing_key(conn, kid=key.kid, private_jwk=key.private_jwk, public_jwk=key.public_jwk)
        domain_ids = await repository.domains_with_live_gateways(conn)
        issued = await reissue_bundles(conn, domain_ids=domain_ids, now=now, issuer=issuer)
    log.info("licensing.signing_key.rotated", kid=key.kid, reissued=len(issued))
    return key.kid, len(issued)


async def published_jwks(pool: asyncpg.Pool) -> dict[str, list[dict[str, str]]]:
    keys = await repository.published_public_keys(pool)
    if not keys:
        async with transaction(pool) as conn:
            await current_signing_key(conn)
        keys = await repository.published_public_keys(pool)
    return {"keys": keys}


# ---- read-model changes (called by the handlers, inside the inbox transaction) -------------------------


async def register_gateway(
    conn: asyncpg.Connection,
    *,
    gateway_id: UUID,
    domain_id: UUID,
    account_id: UUID,
    hwid: str,
    product: str,
    public_key: str,
    now: datetime,
    issuer: str,
) -> None:
    await repository.retire_other_live_gateways(conn, hwid=hwid, gateway_id=gateway_id, at=now)
    await repository.upsert_gateway(
        conn,
        gateway_id=gateway_id,
        domain_id=domain_id,
        account_id=account_id,
        hwid=hwid,
        product=product,
        public_key=public_key,
    )
    # Only the new gateway needs a bundle; its domain's others are unchanged.
    await reissue_bundles(conn, domain_ids=[domain_id], gateway_ids=[gateway_id], now=now, issuer=issuer)


async def remove_gateway(
    conn: asyncpg.Connection,
    *,
    gateway_id: UUID,
    domain_id: UUID,
    account_id: UUID,
    hwid: str,
    product: str,
    now: datetime,
) -> None:
    was_live = await repository.remove_gateway(
        conn, gateway_id=gateway_id, domain_id=domain_id, account_id=account_id, hwid=hwid, product=product, at=now
    )
    if was_live:
        # Its session (on whichever replica) is told to reboot and closed: it is no longer ours to serve.
        await add_to_outbox(
            conn,
            GatewayRebootOrdered(gateway_id=gateway_id, reason=GATEWAY_REMOVED_REASON, domain_id=domain_id, hwid=hwid),
        )


async def apply_rental_snapshot(
    conn: asyncpg.Connection,
    *,
    contract_id: UUID,
    account_id: UUID,
    version: int,
    active: bool,
    ends_at: datetime | None,
    burn_rate_per_day: int,
    domains: list[tuple[UUID, list[dict[str, str]], list[dict[str, object]]]],
    now: datetime,
    issuer: str,
) -> None:
    applied = await repository.apply_contract_rental(
        conn,
        contract_id=contract_id,
        account_id=account_id,
        version=version,
        active=active,
        ends_at=ends_at,
        burn_rate_per_day=burn_rate_per_day,
    )
    if not applied:
        log.info("licensing.rental.stale_version_ignored", contract_id=str(contract_id), version=version)
        return
    affected = set(await repository.delete_rental_domains(conn, contract_id=contract_id))
    for domain_id, devices, licences in domains:
        await repository.insert_rental_domain(
            conn, contract_id=contract_id, domain_id=domain_id, devices=devices, licences=licences
        )
        affected.add(domain_id)
    await reissue_bundles(conn, domain_ids=affected, now=now, issuer=issuer)


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
    now: datetime,
    issuer: str,
) -> None:
    applied = await repository.apply_runway(
        conn,
        account_id=account_id,
        version=version,
        depleted=depleted,
        depletes_at=depletes_at,
        balance=balance,
        burn_rate_per_day=burn_rate_per_day,
        at=at,
    )
    if not applied:
        log.info("licensing.runway.stale_version_ignored", account_id=str(account_id), version=version)
        return
    domain_ids = await repository.rented_domains_of_account(conn, account_id=account_id)
    await reissue_bundles(conn, domain_ids=domain_ids, now=now, issuer=issuer)


# ---- gateway sessions and pulls -------------------------------------------------------------------------


async def _fresh_bundle(
    conn: asyncpg.Connection, *, gateway_id: UUID, domain_id: UUID, now: datetime, issuer: str
) -> asyncpg.Record | None:
    """The current bundle, rebuilt first if it has expired since (a gateway never receives an expired one)."""
    bundle = await repository.current_bundle(conn, gateway_id=gateway_id)
    if bundle is None or (bundle["expires_at"] is not None and bundle["expires_at"] <= now):
        await reissue_bundles(conn, domain_ids=[domain_id], gateway_ids=[gateway_id], now=now, issuer=issuer)
        bundle = await repository.current_bundle(conn, gateway_id=gateway_id)
    return bundle


def _authenticate(gateway: asyncpg.Record | None, *, hwid: str, nonce: str, signature: str) -> asyncpg.Record:
    if gateway is None:
        raise UnknownGateway(f"no gateway with hardware id {hwid!r} is registered")
    if not gateway_signature_valid(public_key=gateway["public_key"], nonce=nonce, hwid=hwid, signature=signature):
        raise BadSignature("the signature does not verify with the gateway's registered key")
    return gateway


async def open_session(
    pool: asyncpg.Pool,
    *,
    hwid: str,
    nonce: str,
    signature: str,
    seq_held: int,
    replica: str,
    now: datetime,
    issuer: str,
) -> tuple[GatewaySession, Delivery | None]:
    """Identify: the gateway proves its key; we record the session and hand back what it lacks."""
    async with transaction(pool) as conn:
        gateway = _authenticate(
            await repository.live_gateway_by_hwid(conn, hwid=hwid), hwid=hwid, nonce=nonce, signature=signature
        )
        # Rebuild (locks the domain's gateways) before touching this gateway's row: one lock order.
        bundle = await _fresh_bundle(
            conn, gateway_id=gateway["id"], domain_id=gateway["domain_id"], now=now, issuer=issuer
        )
        await repository.record_connect(conn, gateway_id=gateway["id"], replica=replica, seq_held=seq_held, now=now)
        await add_to_outbox(
            conn,
            GatewayReconnected(gateway_id=gateway["id"], domain_id=gateway["domain_id"], seq_held=seq_held, hwid=hwid),
        )
    session = GatewaySession(gateway_id=gateway["id"], domain_id=gateway["domain_id"], hwid=hwid)
    if bundle is None or bundle["seq"] <= seq_held:
        return session, None
    return session, Delivery(seq=bundle["seq"], jws=bundle["jws"])


async def latest_delivery(pool: asyncpg.Pool, *, gateway_id: UUID, above: int) -> Delivery | None:
    bundle = await repository.current_bundle(pool, gateway_id=gateway_id)
    if bundle is None or bundle["seq"] <= above:
        return None
    return Delivery(seq=bundle["seq"], jws=bundle["jws"])


async def acknowledge(pool: asyncpg.Pool, *, gateway_id: UUID, seq: int, now: datetime) -> None:
    await repository.record_ack(pool, gateway_id=gateway_id, seq=seq, now=now)


async def close_session(pool: asyncpg.Pool, *, gateway_id: UUID, replica: str, now: datetime) -> None:
    await repository.record_disconnect(pool, gateway_id=gateway_id, replica=replica, now=now)


async def issue_pull_challenge(pool: asyncpg.Pool, *, hwid: str, now: datetime, ttl: timedelta) -> tuple[str, datetime]:
    """A one-time nonce for a pull. Issued for any hwid, so it says nothing about which ones exist."""
    nonce = secrets.token_urlsafe(24)
    expires_at = now + ttl
    await repository.delete_expired_pull_challenges(pool, before=now - ttl)
    await repository.insert_pull_challenge(pool, nonce=nonce, hwid=hwid, expires_at=expires_at)
    return nonce, expires_at


async def pull_bundle(
    pool: asyncpg.Pool, *, hwid: str, nonce: str, signature: str, seq_held: int, now: datetime, issuer: str
) -> Delivery | None:
    """The HTTP fallback: same proof as the WebSocket over a one-time nonce; the seq held counts as an ack."""
    async with transaction(pool) as conn:
        if not await repository.consume_pull_challenge(conn, nonce=nonce, hwid=hwid, now=now):
            raise InvalidChallenge("the nonce is unknown, used or expired; ask for a new challenge")
        gateway = _authenticate(
            await repository.live_gateway_by_hwid(conn, hwid=hwid), hwid=hwid, nonce=nonce, signature=signature
        )
        bundle = await _fresh_bundle(
            conn, gateway_id=gateway["id"], domain_id=gateway["domain_id"], now=now, issuer=issuer
        )
        await repository.record_ack(conn, gateway_id=gateway["id"], seq=seq_held, now=now)
    if bundle is None or bundle["seq"] <= seq_held:
        return None
    return Delivery(seq=bundle["seq"], jws=bundle["jws"])


# ---- the customer's view -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GatewayState:
    gateway_id: UUID
    hwid: str
    product: str
    online: bool
    current_seq: int
    acknowledged_seq: int
    last_seen_at: datetime | None


@dataclass(frozen=True)
class DomainLicences:
    domain_id: UUID
    account_id: UUID
    content: BundleContent
    gateways: list[GatewayState]


async def domain_licences(
    pool: asyncpg.Pool, *, principal: Principal, domain_id: UUID, now: datetime, heartbeat_interval_s: float
) -> DomainLicences:
    known = await repository.known_domain(pool, domain_id=domain_id)
    if known is None:
        raise NotFound("domain not found")
    ensure_account_access(principal, known["account_id"], what="domain")
    content = await domain_content(pool, domain_id=domain_id, now=now)
    # A replica that missed three heartbeats is presumed gone, with its sessions.
    alive_after = now - timedelta(seconds=3 * heartbeat_interval_s)
    rows = await repository.gateway_states(pool, domain_id=domain_id, alive_after=alive_after)
    gateways = [
        GatewayState(
            gateway_id=r["id"],
            hwid=r["hwid"],
            product=r["product"],
            online=bool(r["online"]),
            current_seq=r["current_seq"],
            acknowledged_seq=r["acked_seq"],
            last_seen_at=now if r["online"] else r["last_seen_at"],
        )
        for r in rows
    ]
    return DomainLicences(domain_id=domain_id, account_id=known["account_id"], content=content, gateways=gateways)
