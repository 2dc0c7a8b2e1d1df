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

    # Enrolment needs no token, so it is limited per client address. Refused codes (unknown, expired,
    # used up, revoked) are what a guesser produces: few are allowed. Every attempt counts towards a far
    # larger budget, because a whole site's phones enrol at once from behind one NAT address.
    enrolment_window_s: int = 600
    enrolment_failures_per_window: int = 20
    enrolment_attempts_per_window: int = 2000
