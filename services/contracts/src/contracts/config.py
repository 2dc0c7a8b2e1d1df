"""Settings of the contracts service (environment prefix `CONTRACTS_`, shared values under `RENTAL_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTRACTS_", extra="ignore")

    service_name: str = "contracts"
    database_url: str = "postgresql://contracts:contracts@127.0.0.1:5432/rental"
    database_schema: str = "contracts"
    http_port: int = 8002
