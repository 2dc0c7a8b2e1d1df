"""Licence distributor use cases: one function, one transaction, events into the outbox inside it.

Every bundle is stored (and its `BundleIssued` written to the outbox) in the transaction that decides it;
replicas push it to connected gateways only when that event reaches them, so nothing is sent unstored.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import structlog

from license_distributor import domain, repository
from license_distributor.domain import BundleContent, Claims, ContractRental, Runway
from license_distributor.signing import SigningKey, gateway_signature_valid, generate_signing_key, sign_bundle
from shared.auth import Principal, ensure_account_access
from shared.db import transaction
from shared.errors import NotFound, Unauthorized
from shared.events.base import Event
from shared.events.licensing import (
    BundleIssued,
    BundlesChanged,
    ChangedBundle,
    GatewayRebootOrdered,
    GatewayReconnected,
    OrderedReboot,
)
from shared.messaging.outbox import add_all_to_outbox

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


@dataclass(frozen=True, slots=True)  # one per session held: ten thousand of them
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


def _rental(row: asyncpg.Record) -> ContractRental:
    return ContractRental(
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


async def domain_contents(
    conn: asyncpg.Connection | asyncpg.Pool, *, domain_ids: list[UUID], now: datetime
) -> dict[UUID, BundleContent]:
    """The bundle content of each domain at `now`, from one query over all of them."""
    rentals: dict[UUID, list[ContractRental]] = {d: [] for d in domain_ids}
    for row in await repository.rentals_of_domains(conn, domain_ids=domain_ids):
        rentals[row["domain_id"]].append(_rental(row))
    return {d: domain.bundle_content(domain_id=d, rentals=r, now=now) for d, r in rentals.items()}


async def domain_content(conn: asyncpg.Connection | asyncpg.Pool, *, domain_id: UUID, now: datetime) -> BundleContent:
    return (await domain_contents(conn, domain_ids=[domain_id], now=now))[domain_id]


async def reissue_bundles(
    conn: asyncpg.Connection,
    *,
    domain_ids: Iterable[UUID],
    now: datetime,
    issuer: str,
    gateway_ids: Iterable[UUID] | None = None,
) -> list[IssuedBundle]:
    """Rebuild these domains' bundles: sign and store them for the gateways whose content changed.

    Work is proportional to what changed: the domains are locked (one row each) and their content computed in
    one query; only a domain whose content differs from the one its gateways hold has its gateways re-signed,
    in one batch. `gateway_ids` names gateways that need their bundle even when their domain is unchanged (a new
    registration). One `BundlesChanged` tells every replica about the whole change.
    """
    wanted = sorted(set(domain_ids))
    if not wanted:
        return []
    only = sorted(set(gateway_ids)) if gateway_ids is not None else []
    stored = await repository.lock_domains(conn, domain_ids=wanted)
    # Read after the lock: everything a concurrent rebuild of these domains committed is visible now.
    key = await current_signing_key(conn)
    contents = await domain_contents(conn, domain_ids=wanted, now=now)
    changed = [d for d in wanted if domain.rebuild_changes(stored[d]["content"], contents[d], kid=key.kid)]
    if not changed and not only:
        return []
    gateways = await repository.gateways_to_issue(conn, changed_domain_ids=changed, gateway_ids=only, domain_ids=wanted)
    issued: list[IssuedBundle] = []
    rows: list[tuple[object, ...]] = []
    facts: list[Event] = []
    reboots: list[OrderedReboot] = []
    for gateway in gateways:
        domain_id = gateway["domain_id"]
        content = contents[domain_id]
        previous = gateway["content"]
        if not domain.rebuild_changes(previous, content, kid=key.kid):
            continue
        seq = gateway["current_seq"] + 1
        claims = Claims(issuer=issuer, hwid=gateway["hwid"], seq=seq, issued_at=now, content=content)
        jws = sign_bundle(key, claims.as_dict())
        document = dict(content.document(kid=key.kid))
        rows.append((gateway["hwid"], seq, gateway["id"], domain_id, key.kid, document, content.expires_at, jws))
        # The public fact; replicas learn of it from the one BundlesChanged below (and read the bundle stored).
        facts.append(
            BundleIssued(
                gateway_id=gateway["id"],
                domain_id=domain_id,
                seq=seq,
                expires_at=content.expires_at,
                hwid=gateway["hwid"],
                devices=[d.hwid for d in content.devices],
            )
        )
        if domain.orders_reboot(previous, content):
            facts.append(
                GatewayRebootOrdered(
                    gateway_id=gateway["id"], reason=domain.REBOOT_REASON, domain_id=domain_id, hwid=gateway["hwid"]
                )
            )
            reboots.append(OrderedReboot(gateway_id=gateway["id"], reason=domain.REBOOT_REASON))
        issued.append(IssuedBundle(gateway_id=gateway["id"], hwid=gateway["hwid"], seq=seq))
    if changed:
        await repository.store_domain_contents(
            conn, contents=[(d, key.kid, dict(contents[d].document(kid=key.kid))) for d in changed]
        )
    if rows:
        # Stored first; the notification that makes replicas send them commits in the same transaction.
        await repository.insert_bundles(conn, bundles=rows)
        await repository.set_current_seqs(conn, seqs=[(b.gateway_id, b.seq) for b in issued])
        notification = BundlesChanged(
            change_id=uuid4(),
            bundles=[ChangedBundle(gateway_id=b.gateway_id, seq=b.seq) for b in issued],
            reboots=reboots,
        )
        # The notification first: the relay publishes in order, so the pushes start before the facts are out.
        await add_events(conn, [notification, *facts])
        log.info(
            "licensing.bundles.issued",
            domains=len(changed),
            count=len(issued),
            kid=key.kid,
            stop_reason=contents[changed[0]].stop_reason if changed else None,
        )
    return issued


async def add_events(conn: asyncpg.Connection, events: list[Event]) -> None:
    """A change's events into the outbox in one round trip (a domain of 500 gateways writes 501 rows)."""
    await add_all_to_outbox(conn, events)


async def reissue_expired(pool: asyncpg.Pool, *, now: datetime, issuer: str, limit: int = 100) -> int:
    """Bundles past their expiry become bundles with no devices (and the gateways are told to reboot)."""
    async with transaction(pool) as conn:
        domain_ids = await repository.domains_with_expired_running_bundles(conn, now=now, limit=limit)
        issued = await reissue_bundles(conn, domain_ids=domain_ids, now=now, issuer=issuer)
    return len(issued)


# ---- signing-key rotation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRotation:
    rotation_id: UUID
    kid: str
    status: str
    requested_at: datetime
    completed_at: datetime | None
    gateways_total: int
    bundles_reissued: int
    gateways_live: int
    gateways_resigned: int
    gateways_acknowledged: int


async def request_key_rotation(pool: asyncpg.Pool, *, now: datetime) -> KeyRotation:
    """A new key signs from now on; every gateway's bundle is re-signed with it in the background, in batches.

    The new key is stored (and so published in the JWKS) before any bundle it signs exists. An unfinished
    earlier rotation is superseded: the newer one re-signs every domain not yet signed with the newest key.
    """
    key = generate_signing_key()
    rotation_id = uuid4()
    async with transaction(pool) as conn:
        await repository.lock_signing_keys(conn)
        await repository.insert_signing_key(conn, kid=key.kid, private_jwk=key.private_jwk, public_jwk=key.public_jwk)
        await repository.supersede_pending_rotations(conn, at=now)
        await repository.insert_key_rotation(
            conn,
            rotation_id=rotation_id,
            kid=key.kid,
            requested_at=now,
            gateways_total=await repository.count_live_gateways(conn),
        )
    log.info("licensing.signing_key.rotation_requested", kid=key.kid, rotation_id=str(rotation_id))
    rotation = await key_rotation(pool, rotation_id=rotation_id)
    assert rotation is not None
    return rotation


async def resign_next_batch(pool: asyncpg.Pool, *, now: datetime, issuer: str, max_domains: int) -> int | None:
    """Re-sign one batch of domains for the pending rotation: the number of domains it claimed (0 when none was
    free), None when no rotation is pending.

    The batch's domains are claimed with SKIP LOCKED, so replicas share the work; a crash mid-batch rolls it
    back for the next claim, so a rotation always finishes, and no gateway is re-signed twice for it.
    """
    async with transaction(pool) as conn:
        rotation = await repository.pending_rotation(conn)
        if rotation is None:
            return None
        domain_ids = await repository.claim_domains_signed_by_other_keys(conn, kid=rotation["kid"], limit=max_domains)
        if not domain_ids:
            if not await repository.any_domain_signed_by_other_keys(conn, kid=rotation["kid"]):
                await repository.complete_rotation(conn, rotation_id=rotation["id"], at=now)
                log.info("licensing.signing_key.rotated", kid=rotation["kid"], rotation_id=str(rotation["id"]))
            return 0
        issued = await reissue_bundles(conn, domain_ids=domain_ids, now=now, issuer=issuer)
        await repository.count_rotation_progress(conn, rotation_id=rotation["id"], reissued=len(issued))
    return len(domain_ids)


async def key_rotation(pool: asyncpg.Pool, *, rotation_id: UUID) -> KeyRotation | None:
    row = await repository.key_rotation(pool, rotation_id=rotation_id)
    if row is None:
        return None
    return KeyRotation(
        rotation_id=row["id"],
        kid=row["kid"],
        status=row["outcome"] or "in_progress",
        requested_at=row["requested_at"],
        completed_at=row["completed_at"],
        gateways_total=row["gateways_total"],
        bundles_reissued=row["bundles_reissued"],
        gateways_live=row["gateways_live"],
        gateways_resigned=row["gateways_resigned"],
        gateways_acknowledged=row["gateways_acknowledged"],
    )


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
    # The domain's lock first (one lock order for every rebuild): no rebuild of it runs while we register.
    await repository.lock_domains(conn, domain_ids=[domain_id])
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
    await repository.lock_domains(conn, domain_ids=[domain_id])
    was_live = await repository.remove_gateway(
        conn, gateway_id=gateway_id, domain_id=domain_id, account_id=account_id, hwid=hwid, product=product, at=now
    )
    if was_live:
        # Its session (on whichever replica) is told to reboot and closed: it is no longer ours to serve.
        await add_events(
            conn,
            [
                BundlesChanged(
                    change_id=uuid4(), reboots=[OrderedReboot(gateway_id=gateway_id, reason=GATEWAY_REMOVED_REASON)]
                ),
                GatewayRebootOrdered(
                    gateway_id=gateway_id, reason=GATEWAY_REMOVED_REASON, domain_id=domain_id, hwid=hwid
                ),
            ],
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
    previous = await repository.contract_rental(conn, contract_id=contract_id)
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
    held = {
        r["domain_id"]: (r["devices"], r["licences"])
        for r in await repository.rental_domains_of_contract(conn, contract_id=contract_id)
    }
    announced = {domain_id: (devices, licences) for domain_id, devices, licences in domains}
    gone = sorted(set(held) - set(announced))
    moved = sorted(d for d, share in announced.items() if held.get(d) != share)
    if gone:
        await repository.delete_rental_domains_of(conn, contract_id=contract_id, domain_ids=gone)
    for domain_id in moved:
        devices, licences = announced[domain_id]
        await repository.insert_rental_domain(
            conn, contract_id=contract_id, domain_id=domain_id, devices=devices, licences=licences
        )
    # Only the domains whose share changed, unless the contract itself changed (every domain of it) or its
    # rate did: the account's rate moves the projected run-out of every domain the account rents.
    affected = set(gone) | set(moved)
    if previous is None or (previous["active"], previous["ends_at"], previous["account_id"]) != (
        active,
        ends_at,
        account_id,
    ):
        affected |= set(held) | set(announced)
    if previous is None or previous["burn_rate_per_day"] != burn_rate_per_day:
        affected |= set(await repository.rented_domains_of_account(conn, account_id=account_id))
        if previous is not None and previous["account_id"] != account_id:
            affected |= set(await repository.rented_domains_of_account(conn, account_id=previous["account_id"]))
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


@dataclass(frozen=True)
class Identify:
    """An identify as the gateway sent it, with the nonce its session challenged it with."""

    hwid: str
    nonce: str
    signature: str
    seq_held: int


@dataclass(frozen=True)
class Admitted:
    gateway: GatewaySession
    # What it lacks (None: it holds the current bundle already, so nothing is sent).
    delivery: Delivery | None
    # The session's mark in the gateway row: a late disconnect of an older session leaves a newer one alone.
    connected_at: datetime


async def open_sessions(
    pool: asyncpg.Pool, *, identifies: list[Identify], replica: str, now: datetime, issuer: str
) -> list[Admitted | Unauthorized]:
    """Identify a batch of gateways: each proves its key; we record the sessions and hand back what each lacks.

    A reconnect storm is admitted batch by batch: one query reads the batch's keys and bundles, one
    transaction records its sessions (and their `GatewayReconnected`), whatever the batch size.
    """
    rows = {r["hwid"]: r for r in await repository.live_gateways_by_hwids(pool, hwids=[i.hwid for i in identifies])}
    results: list[Admitted | Unauthorized] = []
    connects: dict[UUID, tuple[Identify, asyncpg.Record]] = {}
    for identify in identifies:
        try:
            gateway = _authenticate(
                rows.get(identify.hwid), hwid=identify.hwid, nonce=identify.nonce, signature=identify.signature
            )
        except Unauthorized as refused:
            results.append(refused)
            continue
        connects[gateway["id"]] = (identify, gateway)
        results.append(
            Admitted(
                gateway=GatewaySession(gateway_id=gateway["id"], domain_id=gateway["domain_id"], hwid=identify.hwid),
                delivery=None,
                connected_at=now,
            )
        )
    deliveries: dict[UUID, Delivery | None] = {}
    for gateway_id, (_, gateway) in connects.items():
        if gateway["seq"] is None or (gateway["expires_at"] is not None and gateway["expires_at"] <= now):
            # Rare: no bundle yet, or it expired since (a gateway never receives an expired one).
            async with transaction(pool) as conn:
                bundle = await _fresh_bundle(
                    conn, gateway_id=gateway_id, domain_id=gateway["domain_id"], now=now, issuer=issuer
                )
            deliveries[gateway_id] = None if bundle is None else Delivery(seq=bundle["seq"], jws=bundle["jws"])
        else:
            deliveries[gateway_id] = Delivery(seq=gateway["seq"], jws=gateway["jws"])
    if connects:
        async with transaction(pool) as conn:
            await repository.record_connects(
                conn,
                replica=replica,
                connects=[(gateway_id, identify.seq_held) for gateway_id, (identify, _) in connects.items()],
                now=now,
            )
            await add_events(
                conn,
                [
                    GatewayReconnected(
                        gateway_id=gateway_id,
                        domain_id=gateway["domain_id"],
                        seq_held=identify.seq_held,
                        hwid=identify.hwid,
                    )
                    for gateway_id, (identify, gateway) in connects.items()
                ],
            )
    admitted: list[Admitted | Unauthorized] = []
    for result, identify in zip(results, identifies, strict=True):
        if isinstance(result, Admitted):
            delivery = deliveries[result.gateway.gateway_id]
            if delivery is not None and delivery.seq <= identify.seq_held:
                delivery = None  # it holds the current bundle: nothing to send
            result = Admitted(gateway=result.gateway, delivery=delivery, connected_at=now)
        admitted.append(result)
    return admitted


async def current_deliveries(pool: asyncpg.Pool, *, gateway_ids: list[UUID]) -> dict[UUID, Delivery]:
    bundles = await repository.current_bundles(pool, gateway_ids=gateway_ids)
    return {gateway_id: Delivery(seq=seq, jws=jws) for gateway_id, (seq, jws) in bundles.items()}


async def latest_delivery(pool: asyncpg.Pool, *, gateway_id: UUID, above: int) -> Delivery | None:
    bundle = await repository.current_bundle(pool, gateway_id=gateway_id)
    if bundle is None or bundle["seq"] <= above:
        return None
    return Delivery(seq=bundle["seq"], jws=bundle["jws"])


async def record_session_activity(
    pool: asyncpg.Pool,
    *,
    replica: str,
    acks: list[tuple[UUID, int, datetime]],
    disconnects: list[tuple[UUID, datetime, datetime]],
) -> None:
    """Acks and ended sessions, written in batches (a gateway re-reports its seq on its next identify)."""
    async with pool.acquire() as conn:
        if acks:
            await repository.record_acks(conn, acks=acks)
        if disconnects:
            await repository.record_disconnects(conn, replica=replica, disconnects=disconnects)


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
