"""HTTP request and response shapes of the wallet. Amounts and rates are decimal strings in iSC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from annotated_types import Interval
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

from shared.money import MICRO_PER_ISC, IscAmount, IscAmountText
from shared.validation import NO_NUL, InstantText, WholeNumber, whole_number

MAX_KEY_AMOUNT = 1_000_000 * MICRO_PER_ISC
MAX_BATCH_SIZE = 1000


def _positive_key_amount(value: int) -> int:
    if not 0 < value <= MAX_KEY_AMOUNT:
        raise ValueError(f"a key is worth more than 0 and at most {MAX_KEY_AMOUNT // MICRO_PER_ISC} iSC")
    return value


# What _positive_key_amount allows, as the document's pattern: more than 0 and at most 1,000,000 iSC, with at
# most 6 decimals.
_KEY_AMOUNT_PATTERN = (
    r"^(0\.([1-9][0-9]{0,5}|0[1-9][0-9]{0,4}|00[1-9][0-9]{0,3}|000[1-9][0-9]{0,2}|0000[1-9][0-9]?|00000[1-9])"
    r"|[1-9][0-9]{0,5}(\.[0-9]{1,6})?|1000000(\.0{1,6})?)$"
)
KeyAmount = Annotated[
    IscAmountText,
    AfterValidator(_positive_key_amount),
    WithJsonSchema({"type": "string", "pattern": _KEY_AMOUNT_PATTERN, "examples": ["12.5"]}),
]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    # A test clock of the caller's (POST /test-clocks): the account lives on its time for its whole life. Absent:
    # a live account.
    test_clock_id: UUID | None = None


class PartnerAssignmentWrite(BaseModel):
    """The partner (its token's subject) the account is assigned to."""

    model_config = ConfigDict(extra="forbid")
    partner: str = Field(min_length=1, max_length=200, pattern=NO_NUL)


class AccountPartnerRead(BaseModel):
    account_id: UUID
    # The partner that fulfils the account's Auto-iSC reloads: the one assigned last, else the one that opened it.
    partner: str


class AccountRead(BaseModel):
    id: UUID
    name: str
    # The balance exactly now, from the last settlement and the current rate.
    balance: IscAmount
    burn_rate_per_day: IscAmount
    # Null while nothing burns (no rate, or the balance is empty).
    depletes_at: datetime | None
    status: Literal["funded", "depleted"]
    version: int
    # The account's whole burn rate from each instant on (tariff changes already scheduled), ascending.
    scheduled_rates: list[ScheduledRateRead] = Field(default_factory=list)
    # The one warning ladder: seconds of time left at which the account is warned, largest first. The web app
    # shows these levels, `BalanceLow` warns at them, and `RunwayChanged.warnings_at` carries them as instants.
    warning_thresholds_s: list[int] = Field(default_factory=list)
    # `account`: its own ladder (PUT /accounts/{id}/warning-thresholds); `default`: the deployment's.
    warning_thresholds_source: Literal["default", "account"] = "default"
    # The test clock whose time the account lives by (every instant above is on it), and that time: what the
    # balance and status are read at. Null for a live account.
    test_clock_id: UUID | None = None
    test_clock_time: datetime | None = None


class ScheduledRateRead(BaseModel):
    effective_at: datetime
    burn_rate_per_day: IscAmount


# A threshold in whole seconds (a JSON integer, never a boolean): the bounds before the whole-number rule, so the
# document states them as minimum and maximum.
Threshold = Annotated[int, Strict(), Interval(ge=1, le=366 * 86_400), BeforeValidator(whole_number)]


class WarningThresholdsWrite(BaseModel):
    """An account's own warning ladder, in seconds of time left; null returns to the deployment's ladder. The
    bounds are the deployment's (`warning_thresholds_out_of_bounds` otherwise)."""

    model_config = ConfigDict(extra="forbid")
    # The document states the default bounds (Settings.warning_threshold_*); a deployment that narrows them
    # refuses more with 422 `warning_thresholds_out_of_bounds`.
    thresholds_s: list[Threshold] | None = Field(min_length=1, max_length=20)


class KeyBatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: KeyAmount
    # A whole number: a JSON `true` is not a count of keys; 5.0 is 5.
    count: WholeNumber = Field(ge=1, le=MAX_BATCH_SIZE)


class IssuedKey(BaseModel):
    id: UUID
    # Shown in this response only; the wallet keeps a hash.
    code: str


class KeyBatchRead(BaseModel):
    batch_id: UUID
    amount: IscAmount
    keys: list[IssuedKey]


class KeyBatchReceipt(BaseModel):
    """What is kept as the answer to a retried batch (never its codes): told in the 409 `codes_already_shown`,
    so the partner can revoke keys whose codes were lost."""

    batch_id: UUID
    key_ids: list[UUID]


class ActivationKeyRead(BaseModel):
    id: UUID
    batch_id: UUID
    amount: IscAmount
    status: Literal["issued", "redeemed", "revoked"]
    revoked_at: datetime | None


class AdjustmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Literal["credit", "debit"]
    amount: KeyAmount
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)

    @property
    def signed_amount(self) -> int:
        """The change of the balance: positive for a credit, negative for a debit."""
        return self.amount if self.direction == "credit" else -self.amount


class AdjustmentRead(BaseModel):
    entry_id: UUID
    # Signed change of the balance, e.g. "-2" for a debit.
    amount: str
    balance: IscAmount
    depletes_at: datetime | None


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=100)


class RedemptionRead(BaseModel):
    key_id: UUID
    amount: IscAmount
    balance: IscAmount
    depletes_at: datetime | None


class LedgerEntryRead(BaseModel):
    id: UUID
    at: datetime
    kind: Literal["redemption", "usage", "adjustment", "auto_reload"]
    # Signed change of the balance, e.g. "-0.5" for usage.
    amount: str
    balance_after: IscAmount
    key_id: UUID | None
    period_start: datetime | None
    period_end: datetime | None
    note: str | None


# --- Auto-iSC ---------------------------------------------------------------------------------------------------

# Whole days (84.0 is 84; a JSON `true` is not a number of days), the bounds stated in the document.
ThresholdDays = Annotated[int, Strict(), Interval(ge=1, le=365), BeforeValidator(whole_number)]


class AutoReloadWrite(BaseModel):
    """Auto-iSC: when the paid time left falls to `threshold_days`, `amount` iSC is loaded at once (and again while
    the time left is still under it), at most `monthly_cap` iSC per calendar month (UTC)."""

    model_config = ConfigDict(extra="forbid")
    threshold_days: ThresholdDays
    amount: KeyAmount
    monthly_cap: KeyAmount
    enabled: Annotated[bool, Strict()] = True


class AutoReloadSuspensionWrite(BaseModel):
    """A partner stops (or allows again) the account's reloads; a due reload then fails with `AutoReloadFailed`."""

    model_config = ConfigDict(extra="forbid")
    suspended: Annotated[bool, Strict()]


class ReloadOrderRead(BaseModel):
    """A reload the partner fulfils and invoices; `ledger_entry_id` is the entry that credited it."""

    id: UUID
    account_id: UUID
    partner: str
    amount: IscAmount
    ordered_at: datetime
    crossing: int
    ledger_entry_id: UUID


class AutoReloadRead(BaseModel):
    """The account's Auto-iSC; while it is not set (`state: not_set`) the setting's fields are null."""

    account_id: UUID
    threshold_days: int | None
    amount: IscAmount | None
    monthly_cap: IscAmount | None
    enabled: bool
    # `active`: reloads when due; `disabled`: set but switched off; `suspended_by_partner`; `paused_after_run_out`:
    # the balance ran out, nothing reloads until the customer loads credit or sets Auto-iSC again.
    state: Literal["not_set", "active", "disabled", "suspended_by_partner", "paused_after_run_out"]
    suspended_by_partner: bool
    reloaded_this_month: IscAmount
    last_reload: ReloadOrderRead | None
    last_failure_at: datetime | None
    last_failure_reason: Literal["monthly_cap_reached", "suspended_by_partner"] | None
    # When the next reload is expected at the current rates (null: none expected, e.g. nothing burns or the cap).
    next_reload_at: datetime | None
    set_at: datetime | None


# --- Test clocks ------------------------------------------------------------------------------------------

_EARLIEST_CLOCK_TIME = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST_CLOCK_TIME = datetime(2200, 1, 1, tzinfo=UTC)


def _clock_time(value: datetime) -> datetime:
    if not _EARLIEST_CLOCK_TIME <= value < _LATEST_CLOCK_TIME:
        raise ValueError("a test clock's time lies between 1970 and 2200")
    return value.astimezone(UTC)


ClockTime = Annotated[InstantText, AfterValidator(_clock_time)]


class TestClockCreate(BaseModel):
    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    # Where the clock starts: the time its accounts are opened at.
    frozen_time: ClockTime


class TestClockAdvance(BaseModel):
    __test__: ClassVar[bool] = False
    model_config = ConfigDict(extra="forbid")
    # Later than the clock's time, by at most two years (731 days).
    to: ClockTime


class TestClockRead(BaseModel):
    __test__: ClassVar[bool] = False
    id: UUID
    name: str
    # The clock's time: while it advances, how far its accounts' work has got.
    frozen_time: datetime
    # `advancing` until everything due up to `advancing_to` is done, then `ready` (and `TestClockReady`).
    status: Literal["ready", "advancing"]
    advancing_to: datetime | None
    created_at: datetime
