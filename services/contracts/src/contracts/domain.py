"""Contract rules, free of I/O: the life cycle, what may be rented, the rental snapshot, the account's funding.

Every function here is pure and takes `now` where time matters; the service layer loads the facts, asks
these rules, and writes the outcome. A refusal is a `Conflict` (`shared.refusals`) with its own machine-readable code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from uuid import UUID

from shared.events.provisioning import DeviceType
from shared.refusals import Conflict, Unprocessable


class ContractStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class Transition(StrEnum):
    ACCEPT = "accept"
    APPROVE = "approve"
    SUSPEND = "suspend"
    RESUME = "resume"
    TERMINATE = "terminate"


# The whole life cycle; anything not in this table is refused.
TRANSITIONS: dict[tuple[ContractStatus, Transition], ContractStatus] = {
    (ContractStatus.DRAFT, Transition.ACCEPT): ContractStatus.PENDING_APPROVAL,
    (ContractStatus.PENDING_APPROVAL, Transition.APPROVE): ContractStatus.ACTIVE,
    (ContractStatus.ACTIVE, Transition.SUSPEND): ContractStatus.SUSPENDED,
    (ContractStatus.SUSPENDED, Transition.RESUME): ContractStatus.ACTIVE,
    (ContractStatus.DRAFT, Transition.TERMINATE): ContractStatus.TERMINATED,
    (ContractStatus.PENDING_APPROVAL, Transition.TERMINATE): ContractStatus.TERMINATED,
    (ContractStatus.ACTIVE, Transition.TERMINATE): ContractStatus.TERMINATED,
    (ContractStatus.SUSPENDED, Transition.TERMINATE): ContractStatus.TERMINATED,
}

_REFUSAL_CODES: dict[Transition, str] = {
    Transition.ACCEPT: "contract_not_draft",
    Transition.APPROVE: "contract_not_pending_approval",
    Transition.SUSPEND: "contract_not_active",
    Transition.RESUME: "contract_not_suspended",
    Transition.TERMINATE: "contract_already_terminated",
}


def transition(status: ContractStatus, action: Transition) -> ContractStatus:
    """The status after `action`, or a `Conflict` if the life cycle does not allow it from `status`."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        raise Conflict(f"a {status} contract cannot {action}", code=_REFUSAL_CODES[action])
    return target


def allows_domain_changes(status: ContractStatus) -> bool:
    return status is not ContractStatus.TERMINATED


# --- the account's funding, as told by the wallet's events -------------------------------------------------


class WalletFact(IntEnum):
    """At one account version, a depletion outranks a restoration, which outranks a plain runway update.

    Events arrive in any order and possibly twice: only a newer (version, rank) replaces the funding held. That
    rule is one SQL statement (`repository.apply_funding`), so two events handled at once cannot both win."""

    RUNWAY_CHANGED = 0
    BALANCE_RESTORED = 1
    BALANCE_DEPLETED = 2


@dataclass(frozen=True)
class Funding:
    balance: int
    depletes_at: datetime | None
    version: int
    rank: WalletFact


def has_credit(funding: Funding | None, *, now: datetime) -> bool:
    """Credit left right now: a positive balance that has not run out yet (BalanceDepleted may be on its way)."""
    if funding is None or funding.balance <= 0:
        return False
    return funding.depletes_at is None or funding.depletes_at > now


def reconcile(status: ContractStatus, funding: Funding) -> Transition | None:
    """The transition the account's funding asks of a contract: suspend at zero, resume once funded again."""
    if status is ContractStatus.ACTIVE and funding.balance <= 0:
        return Transition.SUSPEND
    if status is ContractStatus.SUSPENDED and funding.balance > 0:
        return Transition.RESUME
    return None


# --- what may be rented ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceFacts:
    """What contracts knows of a device that belongs to the contract's account."""

    device_id: UUID
    removed: bool
    domain_linked: bool
    rentable: bool
    rented: bool


# A provisioned device of a domain linked to the contract, as the Hardware tab lists it. (A comment, not a
# docstring: the HTTP document shows this type, and a docstring would become its description.)
@dataclass(frozen=True)
class HardwareItem:
    device_id: UUID
    hwid: str
    product: str
    type: DeviceType
    domain_id: UUID
    # The product has a tariff; rented or not.
    rentable: bool
    rental_id: UUID | None


def check_rentable_device(device: DeviceFacts) -> None:
    if device.removed:
        raise Conflict("the device was removed from its domain", code="device_removed")
    if not device.domain_linked:
        raise Conflict("the device's domain is not linked to this contract", code="domain_not_linked")
    if not device.rentable:
        raise Conflict("the device's product has no tariff and cannot be rented", code="product_not_rentable")
    if device.rented:
        raise Conflict("the device is already rented", code="device_already_rented")


def check_activation(
    *, contract_status: ContractStatus, funding: Funding | None, device: DeviceFacts, now: datetime
) -> None:
    """Activate only on an active contract whose account has credit, for a rentable device nobody rents."""
    if contract_status is not ContractStatus.ACTIVE:
        raise Conflict(
            f"rentals start only on an active contract; this one is {contract_status}", code="contract_not_active"
        )
    if not has_credit(funding, now=now):
        raise Conflict("the account has no credit; load an activation key first", code="no_credit")
    check_rentable_device(device)


def check_replacement(
    *, contract_status: ContractStatus, rental_status: RentalStatus, old_device_id: UUID, new_device: DeviceFacts
) -> None:
    """RMA: the rental carries over to a new device. No new charge starts, so it is allowed while suspended."""
    if contract_status not in (ContractStatus.ACTIVE, ContractStatus.SUSPENDED):
        raise Conflict(f"a {contract_status} contract has no rentals to replace", code="contract_not_active")
    check_rental_is_active(rental_status)
    if new_device.device_id == old_device_id:
        raise Conflict("a device cannot replace itself", code="replacement_is_same_device")
    check_rentable_device(new_device)


def check_software_rental(
    *, contract_status: ContractStatus, funding: Funding | None, domain_linked: bool, rentable: bool, now: datetime
) -> None:
    """Software is rented like hardware: on an active contract with credit, into a linked domain, at a tariff."""
    if contract_status is not ContractStatus.ACTIVE:
        raise Conflict(
            f"rentals start only on an active contract; this one is {contract_status}", code="contract_not_active"
        )
    if not has_credit(funding, now=now):
        raise Conflict("the account has no credit; load an activation key first", code="no_credit")
    if not domain_linked:
        raise Conflict("the domain is not linked to this contract", code="domain_not_linked")
    if not rentable:
        raise Conflict("the licence type has no software tariff and cannot be rented", code="licence_type_not_rentable")


def check_software_count_change(
    *, contract_status: ContractStatus, funding: Funding | None, more: bool, now: datetime
) -> None:
    """More or fewer licences change what burns: only on an active contract; more of them only with credit (fewer
    never needs any)."""
    if contract_status is not ContractStatus.ACTIVE:
        raise Conflict(f"a {contract_status} contract's rentals cannot change", code="contract_not_active")
    if more and not has_credit(funding, now=now):
        raise Conflict("the account has no credit; load an activation key first", code="no_credit")


class HistoryEntryType(StrEnum):
    """What a history line reports: an event this service published, a wallet event of the account, or a change
    that is no event. `tests/unit/contracts/test_history_entry_types.py` checks that the set is complete."""

    CONTRACT_OPENED = "ContractOpened"
    CONTRACT_ACCEPTED = "ContractAccepted"
    CONTRACT_ACTIVATED = "ContractActivated"
    CONTRACT_SUSPENDED = "ContractSuspended"
    CONTRACT_RESUMED = "ContractResumed"
    CONTRACT_TERMINATED = "ContractTerminated"
    DOMAIN_LINKED = "DomainLinked"
    DOMAIN_UNLINKED = "DomainUnlinked"
    DEVICE_ACTIVATED = "DeviceActivated"
    DEVICE_DEACTIVATED = "DeviceDeactivated"
    DEVICE_REPLACED = "DeviceReplaced"
    RENTAL_CHANGED = "RentalChanged"
    TARIFF_CHANGE_SCHEDULED = "TariffChangeScheduled"
    TARIFF_CHANGED = "TariffChanged"
    CREDITS_LOADED = "CreditsLoaded"
    BALANCE_LOW = "BalanceLow"
    BALANCE_DEPLETED = "BalanceDepleted"
    BALANCE_RESTORED = "BalanceRestored"
    AUTO_RELOAD_TRIGGERED = "AutoReloadTriggered"
    AUTO_RELOAD_FAILED = "AutoReloadFailed"
    SOFTWARE_RENTAL_STARTED = "SoftwareRentalStarted"
    SOFTWARE_RENTAL_CHANGED = "SoftwareRentalChanged"
    SOFTWARE_RENTAL_ENDED = "SoftwareRentalEnded"


class RentalStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    REPLACED = "replaced"


class SoftwareRentalStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


def check_rental_is_active(status: RentalStatus) -> None:
    if status is not RentalStatus.ACTIVE:
        raise Conflict(f"the rental is already {status}", code="rental_not_active")


# --- the rental snapshot (RentalChanged) -----------------------------------------------------------------


@dataclass(frozen=True)
class LicenceGrant:
    type: str
    count: int


@dataclass(frozen=True)
class RentedUnit:
    domain_id: UUID
    device_id: UUID
    hwid: str
    product: str
    rate_per_day: int
    licences: tuple[LicenceGrant, ...]


@dataclass(frozen=True)
class SoftwareUnit:
    """A software rental: `count` licences of `type` in a domain, each at `rate_per_day`."""

    domain_id: UUID
    rental_id: UUID
    type: str
    count: int
    rate_per_day: int

    @property
    def product(self) -> str:
        return software_product(self.type)

    @property
    def burn_per_day(self) -> int:
        return self.count * self.rate_per_day


SOFTWARE_PREFIX = "licence:"


def software_product(licence_type: str) -> str:
    """The tariff key of a licence type. A hardware product never holds a colon (`schemas.PRODUCT_PATTERN`), so
    software tariffs share the tariff table, its scheduled changes and its job without meeting a hardware one."""
    return SOFTWARE_PREFIX + licence_type


@dataclass(frozen=True)
class DomainSnapshot:
    domain_id: UUID
    units: tuple[RentedUnit, ...]
    licences: tuple[LicenceGrant, ...]


@dataclass(frozen=True)
class RentalSnapshot:
    # What burns now: the sum of the active rentals' rates while the contract is active, else zero.
    burn_rate_per_day: int
    active: bool
    domains: tuple[DomainSnapshot, ...]


def rented_rate_per_day(units: Iterable[RentedUnit]) -> int:
    return sum(unit.rate_per_day for unit in units)


def contract_rate_per_day(units: Iterable[RentedUnit], software: Iterable[SoftwareUnit] = ()) -> int:
    """What the contract's rentals burn together: each device at its rate, each software rental count * rate."""
    return rented_rate_per_day(units) + sum(s.burn_per_day for s in software)


def rental_snapshot(
    *,
    status: ContractStatus,
    linked_domain_ids: Iterable[UUID],
    units: Iterable[RentedUnit],
    software: Iterable[SoftwareUnit] = (),
) -> RentalSnapshot:
    """The whole current rental. Every linked domain appears (possibly empty), so a consumer replacing what it
    holds also learns of a domain that no longer has anything rented. A domain's licences are those its rented
    hardware includes plus its rented software licences."""
    units = sorted(units, key=lambda u: (str(u.domain_id), u.hwid, str(u.device_id)))
    software = list(software)
    domain_ids = sorted({*linked_domain_ids, *(u.domain_id for u in units), *(s.domain_id for s in software)}, key=str)
    domains = []
    for domain_id in domain_ids:
        in_domain = tuple(u for u in units if u.domain_id == domain_id)
        totals: dict[str, int] = {}
        for unit in in_domain:
            for grant in unit.licences:
                totals[grant.type] = totals.get(grant.type, 0) + grant.count
        for rented in software:
            if rented.domain_id == domain_id:
                totals[rented.type] = totals.get(rented.type, 0) + rented.count
        licences = tuple(LicenceGrant(type=t, count=c) for t, c in sorted(totals.items()))
        domains.append(DomainSnapshot(domain_id=domain_id, units=in_domain, licences=licences))
    active = status is ContractStatus.ACTIVE
    return RentalSnapshot(
        burn_rate_per_day=contract_rate_per_day(units, software) if active else 0,
        active=active,
        domains=tuple(domains),
    )


# --- scheduled tariff changes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateChange:
    """A rate from `effective_at` on: a product's scheduled tariff, or a contract's whole rate."""

    effective_at: datetime
    rate_per_day: int


class TariffIncreaseTooSoon(Conflict):
    """A price rise that would take effect before one lease has passed while the product is rented (a conflict
    with that state, so 409): a gateway offline now holds a bundle whose expiry was computed at the old price,
    and would run on credit the rise has used up."""

    code, title = "tariff_increase_too_soon", "Tariff increase too soon"


class FirstTariffTakesEffectAtOnce(Unprocessable):
    """A product without a tariff gets its first one at once: nothing rents it, so there is nothing to schedule."""

    code, title = "first_tariff_takes_effect_at_once", "A first tariff takes effect at once"


def rate_at(rate_per_day: int, changes: Iterable[RateChange], at: datetime) -> int:
    """The rate at `at` of `rate_per_day` followed by `changes` (ascending)."""
    for change in changes:
        if change.effective_at > at:
            break
        rate_per_day = change.rate_per_day
    return rate_per_day


def check_tariff_change(
    *,
    rate_per_day: int,
    pending: Sequence[RateChange],
    new_rate_per_day: int,
    effective_at: datetime,
    rented: bool,
    now: datetime,
    lease: timedelta,
) -> None:
    """Refuse a change that raises the price announced for any instant before `now + lease`, while the product is
    rented. Bundles already signed carry expiries computed over the announced prices, and live at most one lease:
    a change that never raises the price before that instant cannot make any of them outrun paid time. So a
    decrease takes effect at once, an increase no earlier than one lease after it is set. (`pending` are the changes
    already scheduled; the new one supersedes those at or after `effective_at`.)"""
    if not rented:
        return
    earliest = now + lease
    before = [c for c in pending if c.effective_at < effective_at]
    if effective_at <= now:
        new_rate, new_changes = new_rate_per_day, []
    else:
        new_rate, new_changes = rate_per_day, [*before, RateChange(effective_at, new_rate_per_day)]
    instants = {now, *(c.effective_at for c in (*pending, *new_changes) if now < c.effective_at < earliest)}
    for instant in sorted(instants):
        if rate_at(new_rate, new_changes, instant) > rate_at(rate_per_day, pending, instant):
            raise TariffIncreaseTooSoon(
                f"a tariff increase takes effect no earlier than one lease ({int(lease.total_seconds())} s) after it "
                f"is set: from {earliest.isoformat()} on",
                earliest_effective_at=earliest.isoformat(),
                lease_s=int(lease.total_seconds()),
            )


def scheduled_contract_rates(
    units: Iterable[RentedUnit],
    pending: Mapping[str, Sequence[RateChange]],
    *,
    active: bool,
    software: Iterable[SoftwareUnit] = (),
) -> list[RateChange]:
    """The contract's whole rate from each scheduled tariff change of its rented products (and licence types) on,
    ascending; only real changes. Empty while the contract is not active (it burns nothing, whatever the tariffs
    do)."""
    if not active:
        return []
    units, software = list(units), list(software)
    products = {unit.product for unit in units} | {s.product for s in software}
    instants = sorted({c.effective_at for product in products for c in pending.get(product, ())})
    rates, current = [], contract_rate_per_day(units, software)
    for instant in instants:
        rate = sum(rate_at(unit.rate_per_day, pending.get(unit.product, ()), instant) for unit in units) + sum(
            s.count * rate_at(s.rate_per_day, pending.get(s.product, ()), instant) for s in software
        )
        if rate != current:
            rates.append(RateChange(effective_at=instant, rate_per_day=rate))
            current = rate
    return rates


# --- words for a customer ------------------------------------------------------------------------------------


def time_left_words(seconds: int) -> str:
    """Time left in honest units: weeks and days from two weeks, days and hours from a day, hours and minutes from an
    hour, minutes (and seconds) under it. Never "about 0 days" when hours are left."""
    seconds = max(0, seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)

    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    if days >= 14:
        return f"{plural(days // 7, 'week')} {plural(days % 7, 'day')}"
    if days >= 1:
        return f"{plural(days, 'day')} {plural(hours, 'hour')}"
    if hours >= 1:
        return f"{plural(hours, 'hour')} {plural(minutes, 'minute')}"
    if minutes >= 1:
        return plural(minutes, "minute")
    return plural(secs, "second")
