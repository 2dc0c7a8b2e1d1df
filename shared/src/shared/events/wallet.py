"""Events published by the wallet. Amounts are integer micro-iSC; rates are micro-iSC per day."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

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
