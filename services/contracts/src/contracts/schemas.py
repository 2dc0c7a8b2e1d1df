"""HTTP request and response shapes of contracts. Rates are decimal strings in iSC per day on the wire."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.domain import ContractStatus, HistoryEntryType, RentalStatus, SoftwareRentalStatus
from contracts.domain import HardwareItem as HardwareItem  # the Hardware tab's item is the domain's own
from shared.money import IscAmount, IscAmountText
from shared.validation import NO_NUL, InstantText, WholeNumber

PRODUCT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContractCreate(_Request):
    account_id: UUID


class ContractRead(BaseModel):
    id: UUID
    account_id: UUID
    status: ContractStatus
    domain_ids: list[UUID]
    # What the contract burns now: its active rentals' rates while it is active, else zero.
    burn_rate_per_day: IscAmount
    # The version of the last RentalChanged published for it.
    rental_version: int
    created_at: datetime
    updated_at: datetime


class TerminationCreate(_Request):
    reason: str = Field(default="terminated", min_length=1, max_length=200, pattern=NO_NUL)


class DomainLinkCreate(_Request):
    domain_id: UUID


class LicenceSpec(_Request):
    type: str = Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9_]+$")
    # A whole number: a JSON `true` is not a count of licences; 5.0 is 5.
    count: WholeNumber = Field(ge=1, le=1_000_000)


class TariffWrite(_Request):
    rate_per_day: IscAmountText
    licences: list[LicenceSpec] = Field(default_factory=list, max_length=50)
    # When the new rate takes effect; absent (or past): at once. An increase of a rented product's tariff takes
    # effect no earlier than one lease after it is set (409 `tariff_increase_too_soon` otherwise).
    effective_at: InstantText | None = None


class ScheduledTariffRead(BaseModel):
    effective_at: datetime
    rate_per_day: IscAmount
    licences: list[LicenceSpec]
    scheduled_at: datetime


class TariffRead(BaseModel):
    product: str
    # The rate and licences in effect now.
    rate_per_day: IscAmount
    licences: list[LicenceSpec]
    updated_at: datetime
    # The changes still to take effect, ascending.
    scheduled: list[ScheduledTariffRead] = Field(default_factory=list)


LICENCE_TYPE_PATTERN = r"^[A-Z0-9_]{1,64}$"


class SoftwareTariffWrite(_Request):
    # Per licence per day.
    rate_per_day: IscAmountText
    # As for hardware: absent (or past) at once; a rise of a rented type no earlier than one lease after it is set.
    effective_at: InstantText | None = None


class ScheduledSoftwareTariffRead(BaseModel):
    effective_at: datetime
    rate_per_day: IscAmount
    scheduled_at: datetime


class SoftwareTariffRead(BaseModel):
    type: str
    # Per licence per day, in effect now.
    rate_per_day: IscAmount
    updated_at: datetime
    scheduled: list[ScheduledSoftwareTariffRead] = Field(default_factory=list)


class SoftwareRentalCreate(_Request):
    domain_id: UUID
    type: str = Field(pattern=LICENCE_TYPE_PATTERN, max_length=64)
    count: WholeNumber = Field(ge=1, le=100_000)


class SoftwareCountChange(_Request):
    count: WholeNumber = Field(ge=1, le=100_000)


class SoftwareRentalEnd(_Request):
    reason: str = Field(default="ended_by_customer", min_length=1, max_length=200, pattern=NO_NUL)


class SoftwareRentalRead(BaseModel):
    id: UUID
    contract_id: UUID
    domain_id: UUID
    type: str
    count: int
    # Per licence; the rental burns `count` times it.
    rate_per_day: IscAmount
    burn_rate_per_day: IscAmount
    status: SoftwareRentalStatus
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    end_reason: str | None


class ReplacementPlan(_Request):
    rental_id: UUID
    device_id: UUID


class SoftwarePlan(_Request):
    """The domain's licences of `type` become `count` (0: the rental ends; none yet: a new rental)."""

    domain_id: UUID
    type: str = Field(pattern=LICENCE_TYPE_PATTERN, max_length=64)
    count: WholeNumber = Field(ge=0, le=100_000)


class ForecastCreate(_Request):
    """A change not made: devices to activate, rentals to end, RMAs, software counts. Nothing is committed."""

    activate: list[UUID] = Field(default_factory=list, max_length=200)
    deactivate: list[UUID] = Field(default_factory=list, max_length=200)
    replace: list[ReplacementPlan] = Field(default_factory=list, max_length=200)
    software: list[SoftwarePlan] = Field(default_factory=list, max_length=50)


class RunwayForecast(BaseModel):
    # The account's whole burn rate at that instant (all its contracts).
    burn_rate_per_day: IscAmount
    # When the balance reaches zero over every scheduled rate change (null: nothing burns, or already depleted).
    depletes_at: datetime | None
    # Whole seconds from now to `depletes_at` (0: depleted; null: nothing burns).
    time_left_s: int | None


class ForecastRead(BaseModel):
    at: datetime
    now: RunwayForecast
    after: RunwayForecast


class RentalCreate(_Request):
    device_id: UUID


class ReplacementCreate(_Request):
    device_id: UUID


class DeactivationCreate(_Request):
    reason: str = Field(default="deactivated_by_customer", min_length=1, max_length=200, pattern=NO_NUL)


class RentalRead(BaseModel):
    id: UUID
    device_id: UUID
    hwid: str
    product: str
    domain_id: UUID
    status: RentalStatus
    rate_per_day: IscAmount
    activated_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    # After an RMA: the new rental (on the old one) and the rental it carries on (on the new one).
    replaced_by: UUID | None
    replaces: UUID | None


class HistoryData(BaseModel):
    """The facts of a history line: for an event's line the event's payload (`docs/asyncapi.json`, by `type`);
    for a domain link its `domain_id` and `name`; for a tariff change the new tariff. The members named here are
    those most lines carry; every other member of the payload is kept as it is."""

    model_config = ConfigDict(extra="allow")
    contract_id: UUID | None = None
    account_id: UUID | None = None
    domain_id: UUID | None = None
    rental_id: UUID | None = None
    reason: str | None = None
    version: int | None = None


class HistoryEntryRead(BaseModel):
    at: datetime
    type: HistoryEntryType
    summary: str
    data: HistoryData
