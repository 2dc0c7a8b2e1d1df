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

    # The `iss` of every bundle.
    bundle_issuer: str = "urn:rental:license-distributor"
    # How often expired bundles are looked for (a gateway reboots by itself at `exp`; this tells the rest).
    expiry_sweep_interval_s: float = 1.0
    # A replica proves it still holds its WebSockets this often; a gateway is online while it does.
    heartbeat_interval_s: float = 10.0
    # A gateway must identify within this many seconds of the challenge.
    identify_timeout_s: float = 10.0
    # How long a pull challenge (nonce) stays valid.
    pull_challenge_ttl_s: float = 60.0
