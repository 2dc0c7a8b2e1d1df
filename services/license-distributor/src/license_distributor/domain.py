"""Bundle rules, free of I/O: what a gateway's bundle carries at `now`, its claims, and when it changed.

A bundle lets devices run only while their contract is active, not past its end, and the account has credit
left; its expiry (`exp`) is the earliest of the account's run-out, the contract's end and the end of its lease
(`now + lease`), so a gateway cut off from the distributor runs at most one lease past its last contact. When
nothing may run, the bundle carries no devices, no expiry and no lease, so a gateway never receives a bundle
that is already expired. The warnings are the wallet's ladder (instants), signed in as they were announced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypedDict
from uuid import UUID

from shared.burn import Burn

# A gateway clock that lags ours by up to this much still accepts a fresh bundle (nbf = iat - skew).
CLOCK_SKEW = timedelta(seconds=60)
# A running bundle is valid at most this long after it was signed (`LICENSE_DISTRIBUTOR_LEASE_S`).
DEFAULT_LEASE = timedelta(days=7)
REBOOT_REASON = "rental_expired"
# The claim that marks a bundle signed on a test clock's time (its value: the clock's id). A production gateway
# refuses any bundle carrying it; a simulator told to follow test clocks accepts it.
TEST_CLOCK_CLAIM = "test_clock"


class StopReason(StrEnum):
    """Why a bundle lets nothing run. Only some of them stop a rental that was running."""

    NOTHING_RENTED = "nothing_rented"
    CONTRACT_INACTIVE = "contract_inactive"
    CONTRACT_ENDED = "contract_ended"
    DEPLETED = "depleted"


# Stops that end a running rental at once: the gateway is told to reboot.
RENTAL_STOPS = frozenset({StopReason.CONTRACT_INACTIVE, StopReason.CONTRACT_ENDED, StopReason.DEPLETED})


@dataclass(frozen=True, order=True)
class Device:
    hwid: str
    product: str


@dataclass(frozen=True, order=True)
class Licence:
    type: str
    count: int


@dataclass(frozen=True)
class Runway:
    """The wallet's view of an account: `depletes_at` is None when nothing burns.

    `balance` (micro-iSC) was the balance at `at` while burning at `burn_rate_per_day` (micro-iSC per day).
    """

    depleted: bool
    depletes_at: datetime | None
    balance: int | None = None
    burn_rate_per_day: int = 0
    at: datetime | None = None
    # The wallet's warning ladder for this run-out, as instants (empty: no warnings).
    warnings_at: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class ContractRental:
    """One contract's share of a domain, with its account's runway (None: not known yet, so no credit)."""

    contract_id: UUID
    active: bool
    ends_at: datetime | None
    devices: tuple[Device, ...]
    licences: tuple[Licence, ...]
    runway: Runway | None
    # The sum of the rates of the account's active contracts, as the contracts announced them.
    account_rate_per_day: int = 0


class DeviceClaim(TypedDict):
    hwid: str
    product: str


class LicenceClaim(TypedDict):
    type: str
    count: int


class WarningClaim(TypedDict):
    at: int
    time_left_s: int


class ContentDocument(TypedDict, total=False):
    sub: str
    kid: str
    devices: list[DeviceClaim]
    licences: list[LicenceClaim]
    # The paid expiry (run-out or contract end), not bounded by the lease.
    exp: int | None
    # The lease's end (None when nothing runs): not compared, renewed when due (`rebuild_changes`).
    lease: int | None
    warnings: list[int]


@dataclass(frozen=True)
class BundleContent:
    """What a bundle says, apart from seq and issue time. Equal content means no new bundle."""

    domain_id: UUID
    devices: tuple[Device, ...] = ()
    licences: tuple[Licence, ...] = ()
    # The paid expiry: the earliest run-out and contract end (None: nothing burns and no end).
    expires_at: datetime | None = None
    stop_reason: StopReason | None = None
    warnings: tuple[datetime, ...] = ()
    # When the lease of a bundle signed now ends (None when nothing runs); it moves with `now`, so it is not
    # part of what makes two contents equal (a renewal is decided by `rebuild_changes`).
    lease_ends_at: datetime | None = field(default=None, compare=False)

    @property
    def running(self) -> bool:
        return bool(self.devices or self.licences)

    @property
    def bundle_expires_at(self) -> datetime | None:
        """The bundle's `exp`: the paid expiry, bounded by the lease."""
        candidates = [t for t in (self.expires_at, self.lease_ends_at) if t is not None]
        return min(candidates) if candidates else None

    def document(self, *, kid: str) -> ContentDocument:
        """The comparable form, stored beside the bundle. The signing key is part of it: a rotation re-issues."""
        return {
            "sub": str(self.domain_id),
            "kid": kid,
            "devices": [{"hwid": d.hwid, "product": d.product} for d in self.devices],
            "licences": [{"type": lic.type, "count": lic.count} for lic in self.licences],
            "exp": _epoch(self.expires_at) if self.expires_at is not None else None,
            "lease": _epoch(self.lease_ends_at) if self.lease_ends_at is not None else None,
            "warnings": [_epoch(at) for at in self.warnings],
        }


def _epoch(instant: datetime) -> int:
    # Claims are whole seconds; round an expiry down so a gateway never runs past the run-out.
    return int(instant.timestamp())


def _runs_past_now(instant: datetime, *, now: datetime) -> bool:
    """Whether a bundle expiring at `instant` is still valid at `now` for a gateway.

    The `exp` claim is `instant` in whole seconds, rounded down, and a gateway refuses a bundle from that
    second on. Under a second before a run-out the claim is already past, so the devices stop now: a gateway
    never receives a bundle that is already expired.
    """
    return _epoch(instant) > now.timestamp()


def contract_expiry(
    rental: ContractRental, *, run_out: datetime | None, now: datetime
) -> tuple[datetime | None, StopReason | None]:
    """When this contract's devices stop (None: nothing burns), or why they may not run at all; `run_out` is its
    account's `projected_run_out`."""
    if not rental.active:
        return None, StopReason.CONTRACT_INACTIVE
    if rental.ends_at is not None and not _runs_past_now(rental.ends_at, now=now):
        return None, StopReason.CONTRACT_ENDED
    runway = rental.runway
    if runway is None or runway.depleted:
        return None, StopReason.DEPLETED
    if run_out is not None and not _runs_past_now(run_out, now=now):
        return None, StopReason.DEPLETED
    candidates = [t for t in (run_out, rental.ends_at) if t is not None]
    return (min(candidates) if candidates else None), None


def projected_run_out(runway: Runway, *, account_rate_per_day: int, now: datetime) -> datetime | None:
    """The wallet's `depletes_at`, or earlier if the contracts already burn faster than the wallet knows.

    A RentalChanged reaches us before the wallet's RunwayChanged that follows from it. Until then the
    wallet's run-out is computed at the old (lower, maybe zero) rate; a bundle signed from it would let
    devices run too long, or forever if it had no expiry. So the balance is projected at the contracts'
    rate as well, and the earlier instant wins. The projection is the wallet's own arithmetic (`shared.burn`):
    the known rate until now, rounded up as the wallet charges it, then the contracts' rate. It charges at least
    what the wallet will (a usage rounded up on its own is never less than the same span rounded up within the
    wallet's longer segment), so it never runs later than the wallet's run-out.
    """
    candidates = [runway.depletes_at] if runway.depletes_at is not None else []
    if account_rate_per_day > runway.burn_rate_per_day and runway.balance is not None and runway.at is not None:
        known = Burn(
            balance=runway.balance,
            settled_at=runway.at,
            rate_per_day=runway.burn_rate_per_day,
            segment_start=runway.at,
        )
        faster, _ = known.change_rate(rate_per_day=account_rate_per_day, at=now)
        run_out = faster.depletes_at()
        if run_out is not None:
            candidates.append(run_out)
    return min(candidates) if candidates else None


def projected_ladder(runway: Runway, *, run_out: datetime | None) -> tuple[datetime, ...]:
    """The wallet's warning instants, moved with the run-out when `projected_run_out` brings it forward.

    The wallet's ladder is its run-out minus each threshold, so the ladder of the earlier run-out is the same
    thresholds before it: the instants the wallet's next RunwayChanged will carry. Kept as they were, they would
    warn against the old run-out; and once the wallet's news arrived, they would differ from its ladder and make
    every gateway of the account get a second bundle for the same change.
    """
    if runway.depletes_at is None or run_out is None or run_out >= runway.depletes_at:
        return runway.warnings_at
    earlier_by = runway.depletes_at - run_out
    return tuple(at - earlier_by for at in runway.warnings_at)


def bundle_content(
    *, domain_id: UUID, rentals: Iterable[ContractRental], now: datetime, lease: timedelta = DEFAULT_LEASE
) -> BundleContent:
    """The current bundle of a domain's gateways from the rentals of every contract linked to it."""
    devices: set[Device] = set()
    licence_counts: dict[str, int] = {}
    expiries: list[datetime] = []
    ladder: set[datetime] = set()
    stop: StopReason | None = None
    for rental in rentals:
        # Rented software licences run without a device of their own (issue 16): they count as a rental too.
        if not rental.devices and not rental.licences:
            continue
        runway = rental.runway
        # Computed once: the expiry and the ladder both follow it.
        run_out = (
            projected_run_out(runway, account_rate_per_day=rental.account_rate_per_day, now=now)
            if runway is not None and not runway.depleted
            else None
        )
        expiry, reason = contract_expiry(rental, run_out=run_out, now=now)
        if reason is not None:
            # The most telling reason a rented device may not run; any running contract overrides it.
            stop = stop or reason
            continue
        devices.update(rental.devices)
        for licence in rental.licences:
            licence_counts[licence.type] = licence_counts.get(licence.type, 0) + licence.count
        if expiry is not None:
            expiries.append(expiry)
        if runway is not None:
            ladder.update(projected_ladder(runway, run_out=run_out))
    if not devices and not licence_counts:
        return BundleContent(domain_id=domain_id, stop_reason=stop or StopReason.NOTHING_RENTED)
    expires_at = min(expiries) if expiries else None
    return BundleContent(
        domain_id=domain_id,
        devices=tuple(sorted(devices)),
        licences=tuple(sorted(Licence(type=t, count=c) for t, c in licence_counts.items())),
        expires_at=expires_at,
        warnings=warnings_before(ladder, expires_at=expires_at),
        lease_ends_at=now + lease,
    )


def warnings_before(ladder: Iterable[datetime], *, expires_at: datetime | None) -> tuple[datetime, ...]:
    """The wallet's warning instants that fall before the paid expiry, earliest first, in whole seconds.

    All of them, passed or not: the content must not change with time alone (a gateway raises a passed one at
    once, and knows it raised it). Whole seconds, as signed, so equal ladders compare equal.
    """
    instants = {at.replace(microsecond=0) for at in ladder}
    return tuple(sorted(at for at in instants if expires_at is None or at < expires_at))


def lease_renewal_due(previous: ContentDocument | None, *, now: datetime, renew_before: timedelta) -> bool:
    """The held bundle's lease ends within `renew_before` (half a lease: see `renew_before`)."""
    held = previous.get("lease") if previous is not None else None
    return held is not None and held <= (now + renew_before).timestamp()


def renew_before(lease: timedelta) -> timedelta:
    """A connected gateway gets a renewed bundle once half its lease is left: a gateway that misses one
    renewal (a short outage) still has half a lease to get the next."""
    return lease / 2


def rebuild_changes(
    previous: ContentDocument | None,
    content: BundleContent,
    *,
    kid: str,
    now: datetime | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> bool:
    """A new bundle (seq + 1) only when what it says or the key that signs it changed, or its lease is due.

    The lease end itself is not compared: it moves with every rebuild, and comparing it would re-sign every
    gateway of a domain at every change. With `now`, a held lease ending within `renew_before(lease)` is due.
    """
    document = content.document(kid=kid)
    if previous is None:
        return True
    if {k: v for k, v in previous.items() if k != "lease"} != {k: v for k, v in document.items() if k != "lease"}:
        return True
    return now is not None and lease_renewal_due(previous, now=now, renew_before=renew_before(lease))


def orders_reboot(previous: ContentDocument | None, content: BundleContent) -> bool:
    """The rental stopped: devices were allowed and now are not, because of depletion or the contract."""
    was_running = previous is not None and bool(previous["devices"] or previous["licences"])
    return was_running and not content.running and content.stop_reason in RENTAL_STOPS


@dataclass(frozen=True)
class Claims:
    issuer: str
    hwid: str
    seq: int
    issued_at: datetime
    content: BundleContent
    test_clock_id: UUID | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "aud": self.hwid,
            "seq": self.seq,
            **shared_claims(
                issuer=self.issuer, issued_at=self.issued_at, content=self.content, test_clock_id=self.test_clock_id
            ),
        }


def shared_claims(
    *, issuer: str, issued_at: datetime, content: BundleContent, test_clock_id: UUID | None = None
) -> dict[str, object]:
    """The claims every gateway of a domain gets from one rebuild: all but `aud` (the gateway) and `seq`. A domain
    on a test clock gets its bundles on the clock's time (`issued_at` is the clock's) and marked as simulated by the
    `test_clock` claim, which a production gateway refuses."""
    iat = _epoch(issued_at)
    claims: dict[str, object] = {
        "iss": issuer,
        "sub": str(content.domain_id),
        "iat": iat,
        "nbf": iat - int(CLOCK_SKEW.total_seconds()),
        "devices": [{"hwid": d.hwid, "product": d.product} for d in content.devices],
        "licences": [{"type": lic.type, "count": lic.count} for lic in content.licences],
        "warnings": [warning_claim(at, expires_at=content.expires_at) for at in content.warnings],
    }
    expires_at = content.bundle_expires_at
    if expires_at is not None:
        claims["exp"] = _epoch(expires_at)
    if content.lease_ends_at is not None:
        claims["lease"] = _epoch(content.lease_ends_at)
    if test_clock_id is not None:
        claims[TEST_CLOCK_CLAIM] = str(test_clock_id)
    return claims


def warning_claim(at: datetime, *, expires_at: datetime | None) -> WarningClaim:
    left = int((expires_at - at).total_seconds()) if expires_at is not None else 0
    return {"at": _epoch(at), "time_left_s": left}


def parse_devices(raw: Sequence[DeviceClaim]) -> tuple[Device, ...]:
    return tuple(Device(hwid=d["hwid"], product=d["product"]) for d in raw)


def parse_licences(raw: Sequence[LicenceClaim]) -> tuple[Licence, ...]:
    return tuple(Licence(type=lic["type"], count=int(lic["count"])) for lic in raw)
