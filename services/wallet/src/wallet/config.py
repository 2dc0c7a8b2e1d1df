"""Settings of the wallet service (environment prefix `WALLET_`, shared values under `RENTAL_`)."""

from __future__ import annotations

import base64

from pydantic import Field, PositiveInt, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings
from shared.sealing import KeyEncryptionKey, SealingError
from wallet.domain import DEFAULT_LOW_BALANCE_THRESHOLDS_S

# Development only: every real deployment sets its own (`WALLET_KEY_BATCH_CODES_KEY`).
DEV_KEY_BATCH_CODES_KEY = base64.b64encode(b"rental-platform-dev-batch-codes!").decode()


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WALLET_", extra="ignore")

    service_name: str = "wallet"
    database_url: str = "postgresql://wallet:wallet@127.0.0.1:5432/rental"
    database_schema: str = "wallet"
    http_port: int = 8001

    # Wrong activation codes tolerated per window, per account and per client (token subject).
    redeem_failures_per_account: PositiveInt = 10
    redeem_failures_per_client: PositiveInt = 20
    redeem_failure_window_s: PositiveInt = 900
    # Time left (seconds) at which BalanceLow is announced: weekly from 7 weeks, then 3 days and 1 day.
    low_balance_thresholds_s: list[PositiveInt] = Field(default_factory=lambda: list(DEFAULT_LOW_BALANCE_THRESHOLDS_S))
    # What an account's own ladder (PUT /v1/accounts/{id}/warning-thresholds) may be: each threshold within
    # these seconds, at most this many thresholds.
    warning_threshold_min_s: PositiveInt = 1
    warning_threshold_max_s: PositiveInt = 366 * 86_400
    warning_thresholds_max_count: PositiveInt = 20
    # The scheduler sleeps until the next run-out, warning or settlement, but never longer than this.
    scheduler_max_sleep_s: float = Field(default=0.5, gt=0, le=60)
    # Usage is settled into the ledger at least this often while an account burns.
    settle_every_s: PositiveInt = 86_400
    # The services that follow test clocks (by the name they publish under): a clock is ready, and moves on to
    # its next step, only once each of them caught up (`wallet.clocks`). Empty: the wallet alone (its own tests).
    test_clock_followers: list[str] = Field(default_factory=lambda: ["contracts", "licensing"])
    # The AES-256-GCM key (32 bytes, base64) that seals the answers shown once (a key batch's codes, a webhook
    # endpoint's secret) for 24 hours, so a retry by whoever got them first gets them again. A development default,
    # like the database password: set WALLET_KEY_BATCH_CODES_KEY in every real deployment (a new key only makes the
    # answers sealed under the old one unshowable: their retries are told 409 as after the 24 hours).
    key_batch_codes_key: SecretStr = SecretStr(DEV_KEY_BATCH_CODES_KEY)

    # E-mail notices (`notices.py`) over SMTP; `make run` starts a sink on 127.0.0.1:1025 (docs/operations.md).
    notices_enabled: bool = True
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # STARTTLS after connecting (port 587), or TLS from the first byte (port 465); neither for a local sink.
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=120)
    notice_from: str = "iSC Wallet <wallet@rental.invalid>"
    # Webhooks (`webhooks.py`): each attempt's timeout, and how long an endpoint may fail every attempt before
    # it is disabled (and its account told by e-mail).
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_disable_after_s: PositiveInt = 3 * 86_400
    webhook_concurrency: PositiveInt = 16
    # Loopback, private and link-local targets are refused unless allowed (a local run and the tests allow them).
    webhook_allow_private_targets: bool = False
    # The senders sleep until the next due notice or delivery, but never longer than this.
    outbound_max_sleep_s: float = Field(default=0.5, gt=0, le=60)
    # Retention (`retention.run_outbound_retention`, every `outbound_retention_interval_s`): finished webhook
    # deliveries with their attempts and messages, and sent or given-up e-mail notices, are deleted this many days
    # after they were made. Never under the inbox's 30 days (`shared.housekeeping`): a redelivered event must still
    # find its message or notice, so it is told once.
    webhook_retention_days: int = Field(default=30, ge=30, le=3650)
    notice_retention_days: int = Field(default=90, ge=30, le=3650)
    outbound_retention_interval_s: float = Field(default=3600.0, gt=0)

    @field_validator("key_batch_codes_key")
    @classmethod
    def _a_256_bit_key(cls, value: SecretStr) -> SecretStr:
        sealing_key(value)
        return value

    @property
    def sealing_key(self) -> KeyEncryptionKey:
        return sealing_key(self.key_batch_codes_key)


def sealing_key(value: SecretStr) -> KeyEncryptionKey:
    """WALLET_KEY_BATCH_CODES_KEY as the key `shared.sealing` seals with: 32 bytes (AES-256), base64-encoded."""
    try:
        return KeyEncryptionKey.from_base64(value.get_secret_value())
    except SealingError as exc:
        raise ValueError(f"WALLET_KEY_BATCH_CODES_KEY: {exc}") from exc
