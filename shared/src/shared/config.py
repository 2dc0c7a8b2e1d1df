"""Settings read from the environment: one class per service on this common base."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]
DEV_DIR = REPO_ROOT / ".dev"
DEV_ISSUER = "http://127.0.0.1:8000/dev-issuer"
DEFAULT_AUDIENCE = "rental-platform"


class ServiceSettings(BaseSettings):
    """What every service needs. A subclass sets the env prefix (e.g. `WALLET_`) and its own defaults.

    Values shared by all services may also be given once without prefix under `RENTAL_` (see `load`).
    """

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    # The service's own login role; it owns only its schema. Several hosts of one primary/standby set may be
    # named, with `target_session_attrs=read-write` so that every connection goes to whichever is the primary
    # now: `postgresql://wallet:pw@db1:5432,db2:5432/rental?target_session_attrs=read-write` (a connection
    # lost in a fail-over is replaced by one to the promoted standby; docs/operations.md).
    database_url: str = "postgresql://postgres@127.0.0.1:5432/rental"
    database_schema: str = "public"
    database_pool_min: int = 1
    database_pool_max: int = 10
    # One URL, or the nodes of one RabbitMQ cluster comma-separated (`amqp://u:p@mq1:5672/,amqp://u:p@mq2:5672/`):
    # the process connects to any live node and, when its node is lost, reconnects to the next
    # (shared.messaging.broker). `?heartbeat=<s>` bounds how long a node that stopped answering goes unnoticed.
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefixes every exchange and queue name, so test runs never see each other's messages.
    broker_prefix: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    log_json: bool = True

    auth_issuer: str = DEV_ISSUER
    auth_audience: str = DEFAULT_AUDIENCE
    # Either a JWKS URL (a real OpenID Connect issuer) or a file (the development issuer).
    auth_jwks_url: str | None = None
    auth_jwks_path: Path | None = DEV_DIR / "jwks.json"

    # The relay is woken in-process after each commit that wrote outbox rows; the poll only finds rows a
    # crashed replica left behind.
    outbox_poll_interval_s: float = 1.0
    outbox_batch_size: int = 200
    consumer_prefetch: int = 64
    # Deliveries handled in one inbox transaction (at most the prefetch).
    consumer_batch_size: int = 32
    # Attempts by our retry queues before a message goes to the dead-letter queue.
    consumer_max_attempts: int = 5
    # Back-off steps (seconds) between attempts; the last one repeats.
    consumer_retry_delays_s: list[float] = Field(default_factory=lambda: [0.2, 1.0, 5.0, 30.0])
    # Redeliveries tolerated by the broker (crashes mid-handling) before it dead-letters.
    queue_delivery_limit: int = 20
    migrate_on_start: bool = True
    # How long start-up waits for the database and the broker to answer (both may be restarting) before the
    # process gives up and exits.
    startup_wait_s: float = 120.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        # pydantic-settings passes every source by keyword: the name stays although no .env file is read.
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The service's own prefix wins; `RENTAL_<NAME>` sets a value for every service at once.
        shared_env = EnvSettingsSource(settings_cls, env_prefix="RENTAL_")
        return init_settings, env_settings, shared_env, file_secret_settings
