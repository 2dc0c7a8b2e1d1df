"""Events published by the wallet. Amounts are integer micro-iSC; rates are micro-iSC per day."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel

from shared.events.base import Event


class WalletEvent(Event):
    publisher: ClassVar[str] = "wallet"
    subject_field: ClassVar[str | None] = "account_id"
    account_id: UUID


class AccountOpened(WalletEvent):
    name: str
    # The partner that opened it (the token's subject): it sees and acts on the account (shared.partner_scope).
    opened_by: str | None = None
    # The test clock it lives on for its whole life, and that clock's time at the opening; None: a live account.
    # Every service runs such an account, and what hangs off it, on the clock's time (`TestClockAdvanced`).
    test_clock_id: UUID | None = None
    test_clock_time: datetime | None = None


class AccountAssigned(WalletEvent):
    """An operator assigned the account to a partner: that partner too sees and acts on it, and fulfils its Auto-iSC
    reloads from now on."""

    partner: str


class CreditsLoaded(WalletEvent):
    amount: int
    # The redeemed key's id; None for an Auto-iSC reload (then `order_id` names the reload's order).
    key_id: UUID | None = None
    balance_after: int
    # Where the credit came from; older publishers sent only key loads (hence the default).
    source: Literal["activation_key", "auto_reload"] = "activation_key"
    order_id: UUID | None = None


class AutoReloadChanged(WalletEvent):
    """The account's Auto-iSC setting as it is now (set, ended, suspended or allowed again by the partner), for a
    read model elsewhere (a forecast: `shared.auto_reload.planned_reloads`). `changed_at` orders them: keep the
    newest. Not set: `enabled` false and the setting's fields null. After a run-out nothing reloads until the
    customer loads credit, whatever this says (`BalanceDepleted`, `BalanceRestored`)."""

    enabled: bool
    suspended_by_partner: bool
    threshold_s: int | None
    amount: int | None
    monthly_cap: int | None
    changed_at: datetime


class AutoReloadTriggered(WalletEvent):
    """Auto-iSC reloaded the account: the time left fell to the threshold, an order went to the account's partner,
    and the credit is loaded (`CreditsLoaded` with `source: auto_reload`, in the same transaction)."""

    order_id: UUID
    partner: str
    amount: int
    threshold_s: int
    # Paid time left when the reload was due (seconds, before the credit).
    time_left_s: int
    # The account's crossings handled so far, this one included: the reload's idempotency key with the account.
    crossing: int
    depletes_at: datetime | None


class AutoReloadFailed(WalletEvent):
    """A due Auto-iSC reload was refused: `monthly_cap_reached` or `suspended_by_partner`. Nothing is loaded; the
    customer is warned. No further attempt until the runway changes (a load, a rate change)."""

    reason: Literal["monthly_cap_reached", "suspended_by_partner"]
    amount: int
    threshold_s: int
    time_left_s: int
    crossing: int
    monthly_cap: int
    reloaded_this_month: int


class BurnStep(BaseModel):
    effective_at: datetime
    rate_per_day: int


class BurnState(BaseModel):
    """The account's burn exactly as the wallet holds it (`shared.burn.Burn`): enough to compute its balance at any
    instant and the run-out after a change with the wallet's own code (contracts' forecast)."""

    balance: int
    settled_at: datetime
    rate_per_day: int
    segment_start: datetime
    segment_used: int
    depleted: bool
    schedule: list[BurnStep] = []


class RunwayChanged(WalletEvent):
    balance: int
    burn_rate_per_day: int
    depletes_at: datetime | None
    # Monotonic per account: a consumer ignores a version older than what it has applied.
    version: int
    at: datetime
    # The account's warning ladder as instants (depletes_at minus each threshold), ascending; empty when
    # nothing burns. The wallet's thresholds are the only ladder: bundles sign these in, gateways raise them.
    warnings_at: list[datetime] = []
    # The burn state this runway was computed from (None from older publishers).
    burn: BurnState | None = None


class BalanceLow(WalletEvent):
    time_left_s: int
    threshold_s: int
    depletes_at: datetime


class BalanceDepleted(WalletEvent):
    at: datetime
    version: int


class BalanceRestored(WalletEvent):
    balance: int
    depletes_at: datetime | None
    version: int


class TestClockAdvanced(Event):
    """A test clock (`wallet.clocks`) moved to `frozen_time`: the wallet did everything its accounts had due up to
    then. Every follower of clocks (contracts, the licence distributor) does its own due work for the clock's
    accounts up to that instant and says so (`CaughtUpWithTestClock`); the wallet moves the clock on only then,
    and never past the next instant a follower said it has work due. `advancing_to` is where the advance ends."""

    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name
    publisher: ClassVar[str] = "wallet"
    subject_field: ClassVar[str | None] = "clock_id"
    clock_id: UUID
    frozen_time: datetime
    advancing_to: datetime | None = None
    # The announcement's number on its clock: a follower's report names it (an announcement made again keeps it).
    step: int = 0


class TestClockReady(Event):
    """A test clock reached the instant it was advanced to and every service caught up with it: it is `ready`."""

    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name
    publisher: ClassVar[str] = "wallet"
    subject_field: ClassVar[str | None] = "clock_id"
    clock_id: UUID
    frozen_time: datetime
