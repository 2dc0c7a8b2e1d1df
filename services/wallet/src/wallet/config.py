"""Settings of the wallet service (environment prefix `WALLET_`, shared values under `RENTAL_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings
from wallet.domain import DEFAULT_LOW_BALANCE_THRESHOLDS_S


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WALLET_", extra="ignore")

    service_name: str = "wallet"
    database_url: str = "postgresql://wallet:wallet@127.0.0.1:5432/rental"
    database_schema: str = "wallet"
    http_port: int = 8001

    # Wrong activation codes tolerated per window, per account and per client (token subject).
    redeem_failures_per_account: int = 10
    redeem_failures_per_client: int = 20
    redeem_failure_window_s: int = 900
    # Time left (seconds) at which BalanceLow is announced: weekly from 7 weeks, then 3 days and 1 day.
    low_balance_thresholds_s: list[int] = Field(default_factory=lambda: list(DEFAULT_LOW_BALANCE_THRESHOLDS_S))
    # The scheduler sleeps until the next run-out, warning or settlement, but never longer than this.
    scheduler_max_sleep_s: float = 0.5
    # Usage is settled into the ledger at least this often while an account burns.
    settle_every_s: int = 86_400
