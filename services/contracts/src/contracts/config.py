"""Settings of the contracts service (environment prefix `CONTRACTS_`, shared values under `RENTAL_`)."""

from __future__ import annotations

from pydantic import Field, PositiveInt
from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTRACTS_", extra="ignore")

    service_name: str = "contracts"
    database_url: str = "postgresql://contracts:contracts@127.0.0.1:5432/rental"
    database_schema: str = "contracts"
    http_port: int = 8002

    # The bundle lease: it must equal the distributor's (LICENSE_DISTRIBUTOR_*lease*), since an increase of a rented
    # product's tariff takes effect no earlier than one lease after it is set, so no bundle signed at the old price
    # outlives it. Default 7 days.
    lease_s: PositiveInt = 7 * 86_400
    # The tariff job sleeps until the next scheduled change (woken early when the clock is moved), at most this.
    tariff_scheduler_max_sleep_s: float = Field(default=0.5, gt=0, le=60)
