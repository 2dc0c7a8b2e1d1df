"""Settings of the provisioning service (environment prefix `PROVISIONING_`, shared values under `RENTAL_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROVISIONING_", extra="ignore")

    service_name: str = "provisioning"
    database_url: str = "postgresql://provisioning:provisioning@127.0.0.1:5432/rental"
    database_schema: str = "provisioning"
    http_port: int = 8003
