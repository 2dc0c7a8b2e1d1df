"""Settings of the wallet service (environment prefix `WALLET_`, shared values under `RENTAL_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WALLET_", extra="ignore")

    service_name: str = "wallet"
    database_url: str = "postgresql://wallet:wallet@127.0.0.1:5432/rental"
    database_schema: str = "wallet"
    http_port: int = 8001
