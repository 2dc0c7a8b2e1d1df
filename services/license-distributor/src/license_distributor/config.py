"""Settings of the license-distributor service (environment prefix `LICENSING_`, shared values under `RENTAL_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LICENSING_", extra="ignore")

    service_name: str = "license-distributor"
    database_url: str = "postgresql://licensing:licensing@127.0.0.1:5432/rental"
    database_schema: str = "licensing"
    http_port: int = 8004
