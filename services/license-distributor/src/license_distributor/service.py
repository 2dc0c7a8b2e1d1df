"""Licence distributor use cases: one function, one transaction, events into the outbox inside it.

Every bundle is stored (and announced by its change's `BundlesChanged` in the outbox) in the transaction that
decides it; replicas push it to connected gateways only when their notification reaches them (the committing
replica's own hub hears of it right after the commit), so nothing is sent unstored.
"""

from __future__ import annotations

import functools
import json
import secrets
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol, TypeVar
from uuid import UUID, uuid4

import asyncpg
import structlog
from prometheus_client import Counter

from license_distributor import domain, repository
from license_distributor.domain import BundleContent, ContractRental
from license_distributor.key_encryption import KeyEncryptionKey, current_kek, open_private_jwk, seal_private_jwk
from license_distributor.repository import (
    AccountRunway,
    ContractTerms,
    GatewayRecord,
    GatewayState,
    GatewayToIssue,
    IdentifyingGateway,
    KeyRevocation,
    KeyRotation,
    RentalShare,
    StoredBundle,
    StoredSigningKey,
)
from license_distributor.schemas import KeyRevocationRead, KeyRotationRead
from license_distributor.signing import (
    DomainSigner,
    SigningKey,
    gateway_signature_valid,
    generate_signing_key,
)
from shared.auth import Principal
from shared.db import after_commit, transaction
from shared.events.base import Event
from shared.events.licensing import (
    BundlesCaughtUp,
    BundlesChanged,
    ChangedBundle,
    GatewayRebootOrdered,
    GatewayReconnected,
    LicenceDeliveryFailed,
    OrderedReboot,
)
from shared.idempotency import claim
from shared.messaging.outbox import add_all_to_outbox
from shared.partner_scope import ensure_account_access
from shared.refusals import Conflict, NotFound, Unauthorized

log = structlog.get_logger()
GATEWAY_REMOVED_REASON = "gateway_removed"
KEY_REVOCATIONS = Counter(
    "license_distributor_signing_key_revocations", "Signing keys revoked (POST /v1/signing-keys/{kid}/revocation)"
)
# The reason a delivery failed when the gateway said nothing: no ack within the delivery deadline.
ACK_TIMEOUT = "ack_timeout"
BUNDLES_RESIGNED_ON_REVOCATION = Counter(
    "license_distributor_bundles_resigned_on_revocation",
    "Bundles re-signed because the key that signed them was revoked",
)


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
    # The time of the test clock its domain lives on when it connected (None: a live gateway); told in the
    # welcome, and by a `clock` message whenever the clock moves.
    clock_time: datetime | None = None


# ---- bundles ------------------------------------------------------------------------------------------


async def current_signing_key(conn: asyncpg.Connection) -> SigningKey:
    """The newest key not revoked; the first one is created on first use (under a lock, so replicas agree on it)."""
    stored = await repository.newest_signing_key(conn)
    if stored is None:
        await repository.lock_signing_keys(conn)
        stored = await repository.newest_signing_key(conn)
    if stored is None:
        key = await _store_new_signing_key(conn)
        log.info("license_distributor.signing_key.created", kid=key.kid)
        return key
    return _opened(stored)


async def _store_new_signing_key(conn: asyncpg.Connection) -> SigningKey:
    """A new key, stored with its private half sealed under the process's key-encryption key."""
    key = generate_signing_key()
    sealed = seal_private_jwk(current_kek(), kid=key.kid, private_jwk=key.private_jwk)
    await repository.insert_signing_key(conn, kid=key.kid, sealed_private_jwk=sealed, public_jwk=key.public_jwk)
    return key


def _opened(stored: StoredSigningKey) -> SigningKey:
    if stored.sealed is None:
        # Stored before keys were encrypted, and not sealed yet (the distributor seals such rows at start).
        assert stored.plaintext is not None
        return SigningKey(kid=stored.kid, private_jwk=stored.plaintext, public_jwk=stored.public_jwk)
    public = json.dumps(stored.public_jwk, sort_keys=True)
    return _open_sealed(current_kek(), stored.kid, stored.sealed, public)


@lru_cache(maxsize=16)
def _open_sealed(kek: KeyEncryptionKey, kid: str, sealed: bytes, public_json: str) -> SigningKey:
    # Every rebuild reads the signing key: decrypt a stored key once per process, not once per change.
    return SigningKey(
        kid=kid, private_jwk=open_private_jwk(kek, kid=kid, sealed=sealed), public_jwk=json.loads(public_json)
    )


async def seal_plaintext_keys(pool: asyncpg.Pool, *, kek: KeyEncryptionKey) -> list[str]:
    """At start: keys stored in plaintext (before keys were encrypted) sealed under the KEK, plaintext cleared."""
    async with transaction(pool) as conn:
        stored = await repository.plaintext_signing_keys(conn)
        for key in stored:
            assert key.plaintext is not None
            sealed = seal_private_jwk(kek, kid=key.kid, private_jwk=key.plaintext)
            await repository.seal_signing_key(conn, kid=key.kid, sealed_private_jwk=sealed)
    kids = [key.kid for key in stored]
    if kids:
        log.info("license_distributor.signing_key.sealed_at_rest", kids=kids)
    return kids


async def domain_contents(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    domain_ids: list[UUID],
    now: datetime,
    lease: timedelta = domain.DEFAULT_LEASE,
    times: Mapping[UUID, datetime] | None = None,
) -> dict[UUID, BundleContent]:
    """The bundle content of each domain at `now` (a domain on a test clock: at its clock's time, in `times`), from
    one query over all of them."""
    rentals: dict[UUID, list[ContractRental]] = {d: [] for d in domain_ids}
    for share in await repository.rentals_of_domains(conn, domain_ids=domain_ids):
        rentals[share.domain_id].append(share.rental)
    times = times or {}
    return {
        d: domain.bundle_content(domain_id=d, rentals=r, now=times.get(d, now), lease=lease) for d, r in rentals.items()
    }


def _clock_times(locked: Mapping[UUID, repository.LockedDomain]) -> dict[UUID, datetime]:
    """The time each domain on a test clock lives by (a live domain is not in it)."""
    return {d: held.clock_time for d, held in locked.items() if held.clock_time is not None}


@dataclass
class _Rebuild:
    """The bundles one rebuild signed, not stored yet, with the events that announce them."""

    key: SigningKey
    issuer: str
    now: datetime
    # Each domain's content now, and the domains whose content differs from what their gateways hold.
    contents: dict[UUID, BundleContent]
    changed: list[UUID]
    lease: timedelta = domain.DEFAULT_LEASE
    # The domains on a test clock: the clock's id and time (their bundles are signed on it, marked simulated).
    clocks: Mapping[UUID, repository.LockedDomain] = field(default_factory=dict)
    rows: list[tuple[object, ...]] = field(default_factory=list)
    issued: list[IssuedBundle] = field(default_factory=list)
    deliveries: dict[UUID, Delivery] = field(default_factory=dict)
    changed_bundles: list[ChangedBundle] = field(default_factory=list)
    reboot_facts: list[Event] = field(default_factory=list)
    reboots: list[OrderedReboot] = field(default_factory=list)
    # Per domain, made for its first gateway and shared by the others: the signer holding the claims they share,
    # and the content document as stored beside each bundle (JSON text, encoded once).
    _signers: dict[UUID, DomainSigner] = field(default_factory=dict)
    _documents: dict[UUID, str] = field(default_factory=dict)

    def sign_if_changed(self, gateway: GatewayToIssue) -> None:
        """The gateway's next bundle (seq + 1), if what it holds differs from its domain's content now."""
        content = self.contents[gateway.domain_id]
        now = self.now_of(gateway.domain_id)
        if not domain.rebuild_changes(gateway.content, content, kid=self.key.kid, now=now, lease=self.lease):
            return
        self.sign(gateway, seq=gateway.current_seq + 1)

    def sign(self, gateway: GatewayToIssue, *, seq: int) -> None:
        """The gateway's bundle of its domain's content now, under `seq`."""
        content = self.contents[gateway.domain_id]
        jws = self._signer(gateway.domain_id).sign(aud=gateway.hwid, seq=seq)
        document = self._document(gateway.domain_id)
        expires_at = content.bundle_expires_at
        self.rows.append((gateway.hwid, seq, gateway.id, gateway.domain_id, self.key.kid, document, expires_at, jws))
        self.issued.append(IssuedBundle(gateway_id=gateway.id, hwid=gateway.hwid, seq=seq))
        self.deliveries[gateway.id] = Delivery(seq=seq, jws=jws)
        self.changed_bundles.append(
            ChangedBundle(
                gateway_id=gateway.id,
                seq=seq,
                domain_id=gateway.domain_id,
                hwid=gateway.hwid,
                expires_at=expires_at,
                devices=[d.hwid for d in content.devices],
            )
        )
        self._order_reboot_if_stopped(gateway, content)

    def _order_reboot_if_stopped(self, gateway: GatewayToIssue, content: BundleContent) -> None:
        if domain.orders_reboot(gateway.content, content):
            reason = domain.REBOOT_REASON
            self.reboot_facts.append(
                GatewayRebootOrdered(
                    gateway_id=gateway.id, reason=reason, domain_id=gateway.domain_id, hwid=gateway.hwid
                )
            )
            self.reboots.append(OrderedReboot(gateway_id=gateway.id, reason=reason))

    def now_of(self, domain_id: UUID) -> datetime:
        """The instant the domain's bundles are signed at: its test clock's time, or the distributor's."""
        held = self.clocks.get(domain_id)
        return held.clock_time if held is not None and held.clock_time is not None else self.now

    def _signer(self, domain_id: UUID) -> DomainSigner:
        if (signer := self._signers.get(domain_id)) is None:
            held = self.clocks.get(domain_id)
            shared = domain.shared_claims(
                issuer=self.issuer,
                issued_at=self.now_of(domain_id),
                content=self.contents[domain_id],
                test_clock_id=held.test_clock_id if held is not None else None,
            )
            signer = self._signers[domain_id] = DomainSigner(self.key, shared)
        return signer

    def _document(self, domain_id: UUID) -> str:
        if (document := self._documents.get(domain_id)) is None:
            document = self._documents[domain_id] = json.dumps(self.contents[domain_id].document(kid=self.key.kid))
        return document

    def domain_documents(self) -> list[tuple[UUID, str, str]]:
        return [(d, self.key.kid, self._document(d)) for d in self.changed]

    def notification(self) -> BundlesChanged:
        return BundlesChanged(
            change_id=uuid4(),
            bundles=self.changed_bundles,
            reboots=self.reboots,
        )


async def reissue_bundles(
    conn: asyncpg.Connection,
    *,
    domain_ids: Iterable[UUID],
    now: datetime,
    issuer: str,
    gateway_ids: Iterable[UUID] | None = None,
    lease: timedelta = domain.DEFAULT_LEASE,
) -> list[IssuedBundle]:
    """Rebuild these domains' bundles: sign and store them for the gateways whose content changed.

    Work is proportional to what changed: the domains are locked (one row each) and their content computed in
    one query; only a domain whose content differs from the one its gateways hold has its gateways re-signed,
    in one batch. `gateway_ids` names gateways that need their bundle even when their domain is unchanged (a new
    registration). One `BundlesChanged` tells every replica about the whole change. A domain whose lease is due
    (`domain.renew_before`) counts as changed: its running gateways get a renewed bundle.
    """
    wanted = sorted(set(domain_ids))
    if not wanted:
        return []
    only = sorted(set(gateway_ids)) if gateway_ids is not None else []
    held = await repository.lock_domains(conn, domain_ids=wanted)
    # Read after the lock: everything a concurrent rebuild of these domains committed is visible now.
    key = await current_signing_key(conn)
    times = _clock_times(held)
    contents = await domain_contents(conn, domain_ids=wanted, now=now, lease=lease, times=times)
    changed = [
        d
        for d in wanted
        if domain.rebuild_changes(held[d].content, contents[d], kid=key.kid, now=times.get(d, now), lease=lease)
    ]
    if not changed and not only:
        return []
    clocked = {d: held[d] for d in times}
    rebuild = _Rebuild(key=key, issuer=issuer, now=now, contents=contents, changed=changed, lease=lease, clocks=clocked)
    for gateway in await repository.gateways_to_issue(
        conn, changed_domain_ids=changed, gateway_ids=only, domain_ids=wanted
    ):
        rebuild.sign_if_changed(gateway)
    await _store_and_announce(conn, rebuild)
    return rebuild.issued


class ChangeListener(Protocol):
    def heard_locally(self, change: BundlesChanged, deliveries: Mapping[UUID, Delivery]) -> None:
        """A change this process committed, with the bundles it signed (by gateway); called right after the
        commit, so it must not block."""
        ...


# The hubs of this process (`GatewayHub.start`): told of a change as soon as it commits, so the gateways
# connected here get their bundles without waiting for the broker's copy of the notification. That copy still
# reaches every replica, this one included, which then finds nothing left to send.
_local_listeners: weakref.WeakSet[ChangeListener] = weakref.WeakSet()


def listen_to_local_changes(listener: ChangeListener) -> None:
    _local_listeners.add(listener)


def stop_listening_to_local_changes(listener: ChangeListener) -> None:
    _local_listeners.discard(listener)


def _tell_local_listeners(change: BundlesChanged, deliveries: Mapping[UUID, Delivery]) -> None:
    for listener in list(_local_listeners):
        listener.heard_locally(change, deliveries)


async def _store_and_announce(conn: asyncpg.Connection, rebuild: _Rebuild) -> None:
    if rebuild.changed:
        await repository.store_domain_contents(conn, contents=rebuild.domain_documents())
    if not rebuild.issued:
        return
    # Stored first; the notification that makes replicas send them commits in the same transaction.
    await repository.insert_bundles(conn, bundles=rebuild.rows)
    await repository.set_current_seqs(conn, seqs=[(b.gateway_id, b.seq) for b in rebuild.issued])
    # The notification first: the relay publishes in order, so the pushes start before the reboot facts are out.
    notification = rebuild.notification()
    await add_events(conn, [notification, *rebuild.reboot_facts])
    # The signed bundles go along in memory: the hubs here push them without reading them back.
    after_commit(functools.partial(_tell_local_listeners, notification, rebuild.deliveries))
    first = rebuild.contents[rebuild.changed[0]] if rebuild.changed else None
    log.info(
        "license_distributor.bundles.issued",
        domains=len(rebuild.changed),
        count=len(rebuild.issued),
        kid=rebuild.key.kid,
        stop_reason=first.stop_reason if first is not None else None,
    )


async def add_events(conn: asyncpg.Connection, events: list[Event]) -> None:
    """A change's events into the outbox in one round trip (one row, plus a reboot order per stopped gateway)."""
    await add_all_to_outbox(conn, events)


async def reissue_expired(
    pool: asyncpg.Pool, *, now: datetime, issuer: str, limit: int = 100, lease: timedelta = domain.DEFAULT_LEASE
) -> int:
    """Bundles past their expiry become bundles with no devices (and the gateways are told to reboot), or, when
    it was only their lease that ended and the rental goes on, renewed ones."""
    async with transaction(pool) as conn:
        domain_ids = await repository.domains_with_expired_running_bundles(conn, now=now, limit=limit)
        issued = await reissue_bundles(conn, domain_ids=domain_ids, now=now, issuer=issuer, lease=lease)
    return len(issued)


async def renew_leases(
    pool: asyncpg.Pool, *, now: datetime, issuer: str, lease: timedelta = domain.DEFAULT_LEASE, limit: int = 100
) -> int:
    """Re-sign, with a new lease, the domains whose lease ends within `domain.renew_before(lease)`: a connected
    gateway is pushed its renewal half a lease before its bundle would end. The domains are claimed with SKIP
    LOCKED, so replicas share the work. The number of bundles issued."""
    async with transaction(pool) as conn:
        due = await repository.domains_with_leases_due(conn, before=now + domain.renew_before(lease), limit=limit)
        issued = await reissue_bundles(conn, domain_ids=due, now=now, issuer=issuer, lease=lease)
    return len(issued)


# ---- test clocks -------------------------------------------------------------------------------------------

# Rounds of expiries, then of renewals, one catch-up does at most: each round takes up to 100 domains, so only a
# defect (work that stays due once done) needs more.
_CATCH_UP_ROUNDS = 1_000


async def catch_up_with_clock(
    conn: asyncpg.Connection,
    *,
    clock_id: UUID,
    to: datetime,
    issuer: str,
    lease: timedelta = domain.DEFAULT_LEASE,
    step: int = 0,
) -> None:
    """A test clock moved to `to`: its domains' bundles past their expiry are stopped and their leases due are
    renewed, on the clock's time, as the expiry sweep does for live domains on the distributor's. Then the
    distributor says it caught up, with its next instant of work due (`BundlesCaughtUp`), which also tells every
    replica to give the clock's new time to the gateways it holds. In the inbox transaction of the clock's
    `TestClockAdvanced`."""
    await repository.move_test_clock(conn, clock_id=clock_id, to=to)
    renew_before = domain.renew_before(lease)

    async def expired() -> list[UUID]:
        return await repository.domains_with_expired_running_bundles(conn, now=to, limit=100, test_clock_id=clock_id)

    async def leases_due() -> list[UUID]:
        return await repository.domains_with_leases_due(
            conn, before=to + renew_before, limit=100, test_clock_id=clock_id
        )

    for due_domains in (expired, leases_due):
        before: list[UUID] = []
        for _ in range(_CATCH_UP_ROUNDS):
            domain_ids = await due_domains()
            if not domain_ids or domain_ids == before:
                break
            await reissue_bundles(conn, domain_ids=domain_ids, now=to, issuer=issuer, lease=lease)
            before = domain_ids
    next_due_at = await repository.next_bundle_work_on_test_clock(
        conn, clock_id=clock_id, after=to, renew_before=renew_before
    )
    domain_ids = await repository.domains_on_test_clock(conn, clock_id)
    await add_events(
        conn,
        [BundlesCaughtUp(clock_id=clock_id, frozen_time=to, next_due_at=next_due_at, domain_ids=domain_ids, step=step)],
    )
    log.info("license_distributor.test_clock.caught_up", clock_id=str(clock_id), at=to.isoformat())


# ---- signing-key rotation -----------------------------------------------------------------------------------


async def request_key_rotation(
    pool: asyncpg.Pool, *, principal: Principal, idempotency_key: str | None, now: datetime, grace: timedelta
) -> KeyRotationRead:
    """A new key signs from now on; every gateway's bundle is re-signed with it in the background, in batches.

    The new key is stored (and so published in the JWKS) before any bundle it signs exists; the keys it replaces
    stay published for `grace` (see repository.published_public_keys). An unfinished earlier rotation is
    superseded: the newer one re-signs every domain not yet signed with the newest key. A retry with the same
    Idempotency-Key answers the rotation it started, and starts none.
    """
    async with transaction(pool) as conn:
        # Under the keys' lock, so a concurrent retry waits for the first and replays it.
        await repository.lock_signing_keys(conn)
        once = await claim(
            conn, operation="signing_key_rotation", owner=principal.subject, key=idempotency_key, request={}
        )
        if (replay := once.replayed(KeyRotationRead)) is not None:
            return replay
        rotation_id = await _start_rotation(conn, now=now, grace=grace)
        rotation = await repository.key_rotation(conn, rotation_id=rotation_id)
        assert rotation is not None  # inserted just now, in this transaction
        return await once.answer(_rotation_read(rotation), status_code=202)


async def _start_rotation(conn: asyncpg.Connection, *, now: datetime, grace: timedelta) -> UUID:
    key = await _store_new_signing_key(conn)
    await repository.retire_signing_keys(conn, except_kid=key.kid, at=now, until=now + grace)
    rotation_id = uuid4()
    await repository.supersede_pending_rotations(conn, at=now)
    await repository.insert_key_rotation(
        conn,
        rotation_id=rotation_id,
        kid=key.kid,
        requested_at=now,
        gateways_total=await repository.count_live_gateways(conn),
    )
    log.info("license_distributor.signing_key.rotation_requested", kid=key.kid, rotation_id=str(rotation_id))
    return rotation_id


async def revoke_signing_key(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    kid: str,
    idempotency_key: str,
    now: datetime,
    issuer: str,
    grace: timedelta,
    lease: timedelta = domain.DEFAULT_LEASE,
) -> KeyRevocationRead:
    """Unpublish a key at once and re-sign, in the same transaction, every bundle it signed with the key that signs
    from now on (a new one, by a rotation, when the revoked key was that key).

    One transaction: the JWKS stops listing the key and every gateway's replacement bundle is stored and announced
    together, or nothing happened (a retry then runs it). Gateways whose domains were still waiting for an earlier
    rotation on another key keep waiting for the rotation worker. A retry with the same Idempotency-Key answers
    the first revocation; another revocation of a revoked key is refused (409 `signing_key_already_revoked`).

    One narrow window remains when the revoked key is the signing key: a rebuild of a domain this revocation does
    not lock (one still on an older key) that read the signing key before this commit may store a bundle signed
    by the revoked key just after it. The rotation started here re-signs that domain (its kid is not the new key),
    and a gateway that identifies or pulls meanwhile is re-signed on the spot (its bundle's key is withdrawn).
    """
    async with transaction(pool) as conn:
        await repository.lock_signing_keys(conn)
        # The path names the key: one Idempotency-Key may serve the revocations of several keys.
        once = await claim(
            conn,
            operation="signing_key_revocation",
            owner=f"{principal.subject}:{kid}",
            key=idempotency_key,
            request={},
        )
        if (replay := once.replayed(KeyRevocationRead)) is not None:
            return replay
        record = await repository.signing_key_record(conn, kid=kid)
        if record is None:
            raise NotFound("signing key not found")
        if record.revoked_at is not None:
            raise Conflict(
                f"the signing key {kid!r} was already revoked",
                code="signing_key_already_revoked",
                revoked_at=record.revoked_at.isoformat(),
            )
        signing = await repository.newest_signing_key(conn)
        rotated = signing is not None and signing.kid == kid
        await repository.mark_signing_key_revoked(conn, kid=kid, at=now)
        rotation_id = await _start_rotation(conn, now=now, grace=grace) if rotated else None
        replacement = await current_signing_key(conn)
        domain_ids, gateway_ids = await repository.bundles_signed_by(conn, kid=kid)
        issued = await reissue_bundles(
            conn, domain_ids=domain_ids, gateway_ids=gateway_ids, now=now, issuer=issuer, lease=lease
        )
        if rotation_id is not None:
            await repository.count_rotation_progress(conn, rotation_id=rotation_id, reissued=len(issued))
        revocation = KeyRevocation(
            kid=kid,
            revoked_at=now,
            revoked_by=principal.subject,
            replaced_by=replacement.kid,
            rotated=rotated,
            bundles_resigned=len(issued),
            domains_resigned=len(domain_ids),
        )
        await repository.insert_key_revocation(conn, revocation=revocation)
        result = await once.answer(_revocation_read(revocation, rotation_id=rotation_id), status_code=200)
    KEY_REVOCATIONS.inc()
    BUNDLES_RESIGNED_ON_REVOCATION.inc(len(issued))
    log.warning(
        "license_distributor.signing_key.revoked",
        kid=kid,
        revoked_by=principal.subject,
        replaced_by=replacement.kid,
        rotated=rotated,
        bundles_resigned=revocation.bundles_resigned,
        domains_resigned=revocation.domains_resigned,
    )
    return result


def _revocation_read(revocation: KeyRevocation, *, rotation_id: UUID | None) -> KeyRevocationRead:
    return KeyRevocationRead(
        kid=revocation.kid,
        status="revoked",
        revoked_at=revocation.revoked_at,
        replaced_by=revocation.replaced_by,
        rotated=revocation.rotated,
        rotation_id=rotation_id,
        bundles_resigned=revocation.bundles_resigned,
        domains_resigned=revocation.domains_resigned,
    )


async def resign_next_batch(
    pool: asyncpg.Pool, *, now: datetime, issuer: str, max_domains: int, lease: timedelta = domain.DEFAULT_LEASE
) -> int | None:
    """Re-sign one batch of domains for the pending rotation: the number of domains it claimed (0 when none was
    free), None when no rotation is pending.

    The batch's domains are claimed with SKIP LOCKED, so replicas share the work; a crash mid-batch rolls it
    back for the next claim, so a rotation always finishes, and no gateway is re-signed twice for it.
    """
    async with transaction(pool) as conn:
        rotation = await repository.pending_rotation(conn)
        if rotation is None:
            return None
        domain_ids = await repository.claim_domains_signed_by_other_keys(conn, kid=rotation.kid, limit=max_domains)
        if not domain_ids:
            if not await repository.any_domain_signed_by_other_keys(conn, kid=rotation.kid):
                await repository.complete_rotation(conn, rotation_id=rotation.id, at=now)
                log.info("license_distributor.signing_key.rotated", kid=rotation.kid, rotation_id=str(rotation.id))
            return 0
        issued = await reissue_bundles(conn, domain_ids=domain_ids, now=now, issuer=issuer, lease=lease)
        await repository.count_rotation_progress(conn, rotation_id=rotation.id, reissued=len(issued))
    return len(domain_ids)


async def key_rotation(pool: asyncpg.Pool, *, rotation_id: UUID) -> KeyRotationRead:
    rotation = await repository.key_rotation(pool, rotation_id=rotation_id)
    if rotation is None:
        raise NotFound("rotation not found")
    return _rotation_read(rotation)


def _rotation_read(rotation: KeyRotation) -> KeyRotationRead:
    return KeyRotationRead(
        id=rotation.id,
        kid=rotation.kid,
        status=rotation.status,
        requested_at=rotation.requested_at,
        completed_at=rotation.completed_at,
        **asdict(rotation.progress),
    )


async def published_jwks(
    pool: asyncpg.Pool, *, now: datetime, alive_after: datetime
) -> dict[str, list[dict[str, str]]]:
    """The keys gateways may trust now (repository.published_public_keys); `alive_after`: a replica whose heartbeat
    is older is presumed gone, with its sessions."""
    keys = await repository.published_public_keys(pool, now=now, alive_after=alive_after)
    if not keys:
        async with transaction(pool) as conn:
            await current_signing_key(conn)
        keys = await repository.published_public_keys(pool, now=now, alive_after=alive_after)
    return {"keys": keys}


# ---- read-model changes (called by the handlers, inside the inbox transaction) -------------------------


async def record_known_domain(conn: asyncpg.Connection, *, domain_id: UUID, account_id: UUID, name: str) -> None:
    """A domain and its account, so a customer's view of its licences can be checked against its owner."""
    await repository.upsert_known_domain(conn, domain_id=domain_id, account_id=account_id, name=name)


async def register_gateway(
    conn: asyncpg.Connection,
    *,
    gateway: GatewayRecord,
    public_key: str,
    now: datetime,
    issuer: str,
    lease: timedelta = domain.DEFAULT_LEASE,
) -> None:
    # The domain's lock first (one lock order for every rebuild): no rebuild of it runs while we register.
    await repository.lock_domains(conn, domain_ids=[gateway.domain_id])
    await repository.retire_other_live_gateways(conn, hwid=gateway.hwid, gateway_id=gateway.gateway_id, at=now)
    await repository.upsert_gateway(conn, gateway=gateway, public_key=public_key)
    # Only the new gateway needs a bundle; its domain's others are unchanged.
    await reissue_bundles(
        conn, domain_ids=[gateway.domain_id], gateway_ids=[gateway.gateway_id], now=now, issuer=issuer, lease=lease
    )


async def remove_gateway(conn: asyncpg.Connection, *, gateway: GatewayRecord, now: datetime) -> None:
    await repository.lock_domains(conn, domain_ids=[gateway.domain_id])
    if await repository.remove_gateway(conn, gateway=gateway, at=now):
        await _order_removed_gateway_off(
            conn, gateway_id=gateway.gateway_id, domain_id=gateway.domain_id, hwid=gateway.hwid
        )


async def _order_removed_gateway_off(conn: asyncpg.Connection, *, gateway_id: UUID, domain_id: UUID, hwid: str) -> None:
    # Its session (on whichever replica) is told to reboot and closed: it is no longer ours to serve.
    reboot = OrderedReboot(gateway_id=gateway_id, reason=GATEWAY_REMOVED_REASON)
    ordered = GatewayRebootOrdered(gateway_id=gateway_id, reason=GATEWAY_REMOVED_REASON, domain_id=domain_id, hwid=hwid)
    await add_events(conn, [BundlesChanged(change_id=uuid4(), reboots=[reboot]), ordered])


async def apply_rental_snapshot(
    conn: asyncpg.Connection,
    *,
    contract_id: UUID,
    version: int,
    terms: ContractTerms,
    shares: list[RentalShare],
    now: datetime,
    issuer: str,
    lease: timedelta = domain.DEFAULT_LEASE,
) -> None:
    """A contract's rental as announced (its terms, its share of each domain): the domains it touches rebuilt."""
    previous = await repository.contract_rental(conn, contract_id=contract_id)
    if not await _store_terms(conn, contract_id=contract_id, version=version, terms=terms):
        log.info("license_distributor.rental.stale_version_ignored", contract_id=str(contract_id), version=version)
        return
    affected, linked = await _replace_shares(conn, contract_id=contract_id, announced=shares)
    if previous is None or _contract_of(previous) != _contract_of(terms):
        affected |= linked  # the contract itself changed: every domain it was or is in
    if previous is None or previous.burn_rate_per_day != terms.burn_rate_per_day:
        # The account's rate moves the projected run-out of every domain the account rents (and the old account's).
        accounts = {terms.account_id} if previous is None else {terms.account_id, previous.account_id}
        for account_id in sorted(accounts):
            affected |= set(await repository.rented_domains_of_account(conn, account_id=account_id))
    await reissue_bundles(conn, domain_ids=affected, now=now, issuer=issuer, lease=lease)


async def _store_terms(conn: asyncpg.Connection, *, contract_id: UUID, version: int, terms: ContractTerms) -> bool:
    return await repository.apply_contract_rental(
        conn,
        contract_id=contract_id,
        account_id=terms.account_id,
        version=version,
        active=terms.active,
        ends_at=terms.ends_at,
        burn_rate_per_day=terms.burn_rate_per_day,
    )


def _contract_of(terms: ContractTerms) -> tuple[bool, datetime | None, UUID]:
    """What decides whether the contract's devices may run, apart from the rate."""
    return terms.active, terms.ends_at, terms.account_id


async def _replace_shares(
    conn: asyncpg.Connection, *, contract_id: UUID, announced: list[RentalShare]
) -> tuple[set[UUID], set[UUID]]:
    """Store the contract's shares as announced: (the domains whose share changed, every domain it was or is in)."""
    held = {s.domain_id: s for s in await repository.rental_domains_of_contract(conn, contract_id=contract_id)}
    wanted = {s.domain_id: s for s in announced}
    gone = sorted(set(held) - set(wanted))
    moved = sorted(d for d, share in wanted.items() if held.get(d) != share)
    if gone:
        await repository.delete_rental_domains_of(conn, contract_id=contract_id, domain_ids=gone)
    for domain_id in moved:
        share = wanted[domain_id]
        await repository.insert_rental_domain(
            conn, contract_id=contract_id, domain_id=domain_id, devices=share.devices, licences=share.licences
        )
    return set(gone) | set(moved), set(held) | set(wanted)


async def apply_runway(
    conn: asyncpg.Connection,
    *,
    runway: AccountRunway,
    now: datetime,
    issuer: str,
    lease: timedelta = domain.DEFAULT_LEASE,
) -> None:
    """The wallet's news of an account: every domain the account rents is rebuilt, unless the news is stale."""
    if not await repository.apply_runway(conn, runway=runway):
        log.info(
            "license_distributor.runway.stale_version_ignored",
            account_id=str(runway.account_id),
            version=runway.version,
        )
        return
    domain_ids = await repository.rented_domains_of_account(conn, account_id=runway.account_id)
    await reissue_bundles(conn, domain_ids=domain_ids, now=now, issuer=issuer, lease=lease)


# ---- gateway sessions and pulls -------------------------------------------------------------------------


async def _fresh_bundle(
    conn: asyncpg.Connection,
    *,
    gateway_id: UUID,
    domain_id: UUID,
    now: datetime,
    issuer: str,
    lease: timedelta = domain.DEFAULT_LEASE,
    held: int | None = None,
    above: int = 0,
    clock_time: datetime | None = None,
) -> StoredBundle | None:
    """The current bundle, rebuilt first if it has expired since (a gateway never receives an expired one) or the
    key that signed it is withdrawn (revoked, or retired past its grace), and re-issued under a seq above `above`
    (the gateway's floor) when its own is not and it is not the one the gateway holds (`held`): the gateway would
    refuse it. A bundle on a test clock expires on the clock's time (`clock_time`)."""
    bundle = await repository.current_bundle(conn, gateway_id=gateway_id)
    if (
        bundle is None
        or _expired(bundle.expires_at, now=clock_time or now)
        or await repository.withdrawn_kids(conn, kids=[bundle.kid], now=now)
    ):
        await reissue_bundles(
            conn, domain_ids=[domain_id], gateway_ids=[gateway_id], now=now, issuer=issuer, lease=lease
        )
        bundle = await repository.current_bundle(conn, gateway_id=gateway_id)
    if bundle is not None and bundle.seq <= above and bundle.seq != held:
        await _reissue_above(
            conn, gateway_id=gateway_id, domain_id=domain_id, floor=above, now=now, issuer=issuer, lease=lease
        )
        bundle = await repository.current_bundle(conn, gateway_id=gateway_id)
    return bundle


async def _reissue_above(
    conn: asyncpg.Connection,
    *,
    gateway_id: UUID,
    domain_id: UUID,
    floor: int,
    now: datetime,
    issuer: str,
    lease: timedelta,
) -> None:
    """The gateway's current content signed again under `floor + 1`: it accepted that seq once (from a registration
    since replaced, or a distributor restored from an older backup) and refuses anything not above it."""
    # Under the domain's lock, after any pending change of the domain is built: the content signed is current.
    await reissue_bundles(conn, domain_ids=[domain_id], now=now, issuer=issuer, lease=lease)
    gateway = await repository.gateway_to_issue(conn, gateway_id=gateway_id)
    if gateway is None or gateway.current_seq > floor:
        return  # removed meanwhile, or a rebuild already went above the floor
    key = await current_signing_key(conn)
    held = await repository.lock_domains(conn, domain_ids=[domain_id])
    times = _clock_times(held)
    contents = await domain_contents(conn, domain_ids=[domain_id], now=now, lease=lease, times=times)
    clocked = {d: held[d] for d in times}
    rebuild = _Rebuild(key=key, issuer=issuer, now=now, contents=contents, changed=[], lease=lease, clocks=clocked)
    rebuild.sign(gateway, seq=floor + 1)
    await _store_and_announce(conn, rebuild)
    log.info("license_distributor.bundle.reissued_above_floor", hwid=gateway.hwid, floor=floor, seq=floor + 1)


def _expired(expires_at: datetime | None, *, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now


class _Keyed(Protocol):
    @property
    def public_key(self) -> str: ...


K = TypeVar("K", bound=_Keyed)


def _authenticate(gateway: K | None, *, hwid: str, nonce: str, signature: str) -> K:
    if gateway is None:
        raise UnknownGateway(f"no gateway with hardware id {hwid!r} is registered")
    if not gateway_signature_valid(public_key=gateway.public_key, nonce=nonce, hwid=hwid, signature=signature):
        raise BadSignature("the signature does not verify with the gateway's registered key")
    return gateway


@dataclass(frozen=True)
class Identify:
    """An identify as the gateway sent it, with the nonce its session challenged it with."""

    hwid: str
    nonce: str
    signature: str
    # The bundle the gateway holds and enforces (0: none).
    seq_held: int
    # The highest seq it ever accepted: it refuses any bundle not above it. An old gateway sends only its seq.
    floor: int | None = None

    @property
    def seq_floor(self) -> int:
        return max(self.seq_held, self.floor if self.floor is not None else self.seq_held)


@dataclass(frozen=True)
class Admitted:
    gateway: GatewaySession
    # What it lacks (None: it holds the current bundle already, so nothing is sent).
    delivery: Delivery | None
    # The session's mark in the gateway row: a late disconnect of an older session leaves a newer one alone.
    connected_at: datetime


async def open_sessions(
    pool: asyncpg.Pool,
    *,
    identifies: list[Identify],
    replica: str,
    now: datetime,
    issuer: str,
    lease: timedelta = domain.DEFAULT_LEASE,
) -> list[Admitted | Unauthorized]:
    """Identify a batch of gateways: each proves its key; we record the sessions and hand back what each lacks.

    A reconnect storm is admitted batch by batch: one query reads the batch's keys and bundles, one
    transaction records its sessions (and their `GatewayReconnected`), whatever the batch size.
    """
    known = {g.hwid: g for g in await repository.live_gateways_by_hwids(pool, hwids=[i.hwid for i in identifies])}
    verdicts = [_verify(known.get(identify.hwid), identify) for identify in identifies]
    # One session per gateway: of two identifies of one gateway in a batch, the later one's seq is recorded.
    connects = {
        gateway.id: (identify, gateway)
        for identify, gateway in zip(identifies, verdicts, strict=True)
        if not isinstance(gateway, Unauthorized)
    }
    # Bundles signed by a key no longer published are not current: those gateways get theirs re-signed.
    withdrawn = await repository.gateways_holding_withdrawn_keys(pool, gateway_ids=list(connects), now=now)
    deliveries = {
        gateway_id: await _delivery_on_connect(
            pool, gateway, identify, now=now, issuer=issuer, lease=lease, resign=gateway_id in withdrawn
        )
        for gateway_id, (identify, gateway) in connects.items()
    }
    if connects:
        await _record_connects(pool, connects=list(connects.values()), replica=replica, now=now)
    return [
        _admission(verdict, identify, deliveries, now=now)
        for verdict, identify in zip(verdicts, identifies, strict=True)
    ]


def _verify(gateway: IdentifyingGateway | None, identify: Identify) -> IdentifyingGateway | Unauthorized:
    try:
        return _authenticate(gateway, hwid=identify.hwid, nonce=identify.nonce, signature=identify.signature)
    except Unauthorized as refused:
        return refused


async def _delivery_on_connect(
    pool: asyncpg.Pool,
    gateway: IdentifyingGateway,
    identify: Identify,
    *,
    now: datetime,
    issuer: str,
    lease: timedelta = domain.DEFAULT_LEASE,
    resign: bool = False,
) -> Delivery | None:
    """What the gateway lacks: nothing if it holds the current bundle; else the current one, read with its key.

    Sent whenever the bundle held is not the current one (a gateway that dropped its bundle says 0). Rarely it
    must be built first: none yet, it expired since (a gateway never receives an expired one), the key that
    signed it is withdrawn (`resign`), or its seq is not above the gateway's floor (re-issued above it, since the
    gateway would refuse it).
    """
    floor = identify.seq_floor
    bundle_now = gateway.clock_time or now  # a bundle on a test clock expires on the clock's time
    if (
        not resign
        and gateway.seq is not None
        and gateway.jws is not None
        and not _expired(gateway.expires_at, now=bundle_now)
    ):
        if gateway.seq == identify.seq_held:
            return None
        if gateway.seq > floor:
            return Delivery(seq=gateway.seq, jws=gateway.jws)
    async with transaction(pool) as conn:
        bundle = await _fresh_bundle(
            conn,
            gateway_id=gateway.id,
            domain_id=gateway.domain_id,
            now=now,
            issuer=issuer,
            lease=lease,
            held=identify.seq_held,
            above=floor,
            clock_time=gateway.clock_time,
        )
    if bundle is None or bundle.seq == identify.seq_held:
        return None
    return Delivery(seq=bundle.seq, jws=bundle.jws)


async def _record_connects(
    pool: asyncpg.Pool, *, connects: list[tuple[Identify, IdentifyingGateway]], replica: str, now: datetime
) -> None:
    async with transaction(pool) as conn:
        await repository.record_connects(
            conn, replica=replica, connects=[(gateway.id, identify.seq_held) for identify, gateway in connects], now=now
        )
        await add_events(
            conn,
            [
                GatewayReconnected(
                    gateway_id=gateway.id, domain_id=gateway.domain_id, seq_held=identify.seq_held, hwid=identify.hwid
                )
                for identify, gateway in connects
            ],
        )


def _admission(
    verdict: IdentifyingGateway | Unauthorized,
    identify: Identify,
    deliveries: dict[UUID, Delivery | None],
    *,
    now: datetime,
) -> Admitted | Unauthorized:
    if isinstance(verdict, Unauthorized):
        return verdict
    delivery = deliveries[verdict.id]  # None: it holds the current bundle, nothing to send
    session = GatewaySession(
        gateway_id=verdict.id, domain_id=verdict.domain_id, hwid=identify.hwid, clock_time=verdict.clock_time
    )
    return Admitted(gateway=session, delivery=delivery, connected_at=now)


async def current_deliveries(pool: asyncpg.Pool, *, gateway_ids: list[UUID]) -> dict[UUID, Delivery]:
    bundles = await repository.current_bundles(pool, gateway_ids=gateway_ids)
    return {gateway_id: Delivery(seq=seq, jws=jws) for gateway_id, (seq, jws) in bundles.items()}


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


async def record_delivery_failure(
    pool: asyncpg.Pool, *, gateway_id: UUID, seq: int, reason: str, now: datetime
) -> bool:
    """A bundle that did not take (refused by the gateway, or not acknowledged in time): `LicenceDeliveryFailed`
    into the outbox, once per (gateway, seq). False when it was told before (another replica, an earlier session)."""
    async with transaction(pool) as conn:
        failed = await repository.insert_delivery_failure(conn, gateway_id=gateway_id, seq=seq, reason=reason, at=now)
        if failed is None:
            return False
        await add_events(
            conn,
            [
                LicenceDeliveryFailed(
                    gateway_id=failed.gateway_id,
                    account_id=failed.account_id,
                    contract_id=failed.contract_id,
                    domain_id=failed.domain_id,
                    hwid=failed.hwid,
                    seq=seq,
                    reason=reason,
                    at=now,
                )
            ],
        )
    log.warning("license_distributor.delivery.failed", hwid=failed.hwid, seq=seq, reason=reason)
    return True


async def issue_pull_challenge(pool: asyncpg.Pool, *, hwid: str, now: datetime, ttl: timedelta) -> tuple[str, datetime]:
    """A one-time nonce for a pull. Issued for any hwid, so it says nothing about which ones exist.

    Not idempotent, by nature: a nonce answers one pull only, so a retried request gets a new one (and the
    unused one expires).
    """
    nonce = secrets.token_urlsafe(24)
    expires_at = now + ttl
    await repository.delete_expired_pull_challenges(pool, before=now - ttl)
    await repository.insert_pull_challenge(pool, nonce=nonce, hwid=hwid, expires_at=expires_at)
    return nonce, expires_at


async def pull_bundle(
    pool: asyncpg.Pool, *, pull: Identify, now: datetime, issuer: str, lease: timedelta = domain.DEFAULT_LEASE
) -> Delivery | None:
    """The HTTP fallback: same proof as the WebSocket over a one-time nonce; the seq held counts as an ack. As on
    the WebSocket, the current bundle whenever the one held is not it, above the gateway's floor."""
    async with transaction(pool) as conn:
        if not await repository.consume_pull_challenge(conn, nonce=pull.nonce, hwid=pull.hwid, now=now):
            raise InvalidChallenge("the nonce is unknown, used or expired; ask for a new challenge")
        gateway = _authenticate(
            await repository.live_gateway_by_hwid(conn, hwid=pull.hwid),
            hwid=pull.hwid,
            nonce=pull.nonce,
            signature=pull.signature,
        )
        bundle = await _fresh_bundle(
            conn,
            gateway_id=gateway.id,
            domain_id=gateway.domain_id,
            now=now,
            issuer=issuer,
            lease=lease,
            held=pull.seq_held,
            above=pull.seq_floor,
        )
        await repository.record_ack(conn, gateway_id=gateway.id, seq=pull.seq_held, now=now)
    if bundle is None or bundle.seq == pull.seq_held:
        return None
    return Delivery(seq=bundle.seq, jws=bundle.jws)


# ---- the customer's view -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainLicences:
    domain_id: UUID
    account_id: UUID
    content: BundleContent
    gateways: list[GatewayState]


async def domain_licences(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    domain_id: UUID,
    now: datetime,
    heartbeat_interval_s: float,
    lease: timedelta = domain.DEFAULT_LEASE,
) -> DomainLicences:
    known = await repository.known_domain(pool, domain_id=domain_id)
    if known is None:
        raise NotFound("domain not found")
    await ensure_account_access(pool, principal, known.account_id, what="domain")
    content = (await domain_contents(pool, domain_ids=[domain_id], now=now, lease=lease))[domain_id]
    # A replica that missed three heartbeats is presumed gone, with its sessions.
    alive_after = now - timedelta(seconds=3 * heartbeat_interval_s)
    gateways = [
        # A gateway online now was last seen now.
        replace(g, last_seen_at=now) if g.online else g
        for g in await repository.gateway_states(pool, domain_id=domain_id, alive_after=alive_after)
    ]
    return DomainLicences(domain_id=domain_id, account_id=known.account_id, content=content, gateways=gateways)
