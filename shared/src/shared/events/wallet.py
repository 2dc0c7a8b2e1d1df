"""Events published by the wallet. Amounts are integer micro-iSC; rates are micro-iSC per day."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel

from shared.events.base import Event


class WalletEvent(Event):
    publisher: ClassVar[str] = "wallet"
    subject_field: ClassVar[str | None] = "account_id"
    account_id: UUID


class AccountOpened(WalletEvent):
    name: str


class CreditsLoaded(WalletEvent):
    amount: int
    key_id: UUID
    balance_after: int


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
