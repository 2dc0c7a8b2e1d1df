"""Events published by the contracts service. Rates are micro-iSC per day."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel

from shared.events.base import CaughtUpWithTestClock, Event


class ContractEvent(Event):
    publisher: ClassVar[str] = "contracts"
    subject_field: ClassVar[str | None] = "contract_id"
    contract_id: UUID
    account_id: UUID


class ContractActivated(ContractEvent):
    reason: str


class ContractSuspended(ContractEvent):
    reason: str


class ContractResumed(ContractEvent):
    reason: str


class ContractTerminated(ContractEvent):
    reason: str


class RentedDevice(BaseModel):
    device_id: UUID
    hwid: str
    product: str


class DeviceActivated(ContractEvent):
    domain_id: UUID
    rental_id: UUID
    device: RentedDevice
    rate_per_day: int


class DeviceDeactivated(ContractEvent):
    domain_id: UUID
    rental_id: UUID
    device: RentedDevice
    rate_per_day: int
    reason: str


class DeviceReplaced(ContractEvent):
    domain_id: UUID
    old_rental_id: UUID
    new_rental_id: UUID
    old_device: RentedDevice
    new_device: RentedDevice
    rate_per_day: int


class Licence(BaseModel):
    type: str
    count: int


class DomainRental(BaseModel):
    domain_id: UUID
    devices: list[RentedDevice]
    licences: list[Licence]


class ScheduledRate(BaseModel):
    """The contract's whole burn rate from `effective_at` on (a tariff change announced ahead)."""

    effective_at: datetime
    burn_rate_per_day: int


class RentalChanged(ContractEvent):
    """The whole current rental of a contract: consumers replace what they hold if `version` is newer."""

    burn_rate_per_day: int
    domains: list[DomainRental]
    # Monotonic per contract.
    version: int
    # False while the contract is not active (draft, suspended, terminated): nothing may run.
    active: bool
    # The contract's own end, if it has one; a bundle's expiry is the earlier of this and the run-out.
    ends_at: datetime | None = None
    # The instant of the change itself (an activation burns from this second on); None from older publishers,
    # which the wallet charges from when it handles the event.
    changed_at: datetime | None = None
    # Tariff changes already scheduled for this contract's rental, ascending by `effective_at`: the wallet's
    # run-out is piecewise over them, so a bundle signed before a price rise already carries the right expiry.
    scheduled_rates: list[ScheduledRate] = []


class TariffsCaughtUp(CaughtUpWithTestClock):
    """Contracts applied every tariff change due on a test clock up to its `frozen_time`, each at its own instant;
    `next_due_at` is the next one's `effective_at`; `rental_versions` the `RentalChanged` it published doing so."""

    publisher: ClassVar[str] = "contracts"
