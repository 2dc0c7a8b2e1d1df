"""Settings of the license-distributor (environment prefix `LICENSE_DISTRIBUTOR_`, shared values under `RENTAL_`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from license_distributor.key_encryption import DEV_KEK_FILE
from shared.config import DEV_DIR, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="LICENSE_DISTRIBUTOR_", extra="ignore")

    service_name: str = "license-distributor"
    database_url: str = "postgresql://licensing:licensing@127.0.0.1:5432/rental"
    database_schema: str = "licensing"
    http_port: int = 8004

    # The `iss` of every bundle.
    bundle_issuer: str = "urn:rental:license-distributor"
    # How often expired bundles are looked for (a gateway reboots by itself at `exp`; this tells the rest), and
    # leases due for renewal.
    expiry_sweep_interval_s: float = 1.0
    # A running bundle's lease (`LICENSE_DISTRIBUTOR_LEASE_S`): its `exp` is at most this long after it was signed,
    # so a gateway offline runs at most one lease past its last contact. Renewed with half of it left.
    lease_s: float = Field(default=7 * 86_400.0, gt=0)
    # A replica proves it still holds its WebSockets this often; a gateway is online while it does.
    heartbeat_interval_s: float = 10.0
    # A gateway must identify within this many seconds of the challenge.
    identify_timeout_s: float = 10.0
    # How long a pull challenge (nonce) stays valid.
    pull_challenge_ttl_s: float = 60.0

    # Sessions open in batches of at most this many identifies (one query and one transaction per batch),
    # with this many batches in flight: a reconnect storm is admitted at the rate the database allows.
    admission_batch: int = 200
    admission_concurrency: int = 2
    # Connections between their upgrade and their welcome at most; beyond, 503 at once (the gateway backs off),
    # so the handshakes let in finish before the gateways' own timeouts even in a reconnect storm.
    handshake_limit: int = 1000
    # Pushes in flight at once; each waits at most `send_timeout_s` for a slow gateway's socket.
    push_concurrency: int = 256
    send_timeout_s: float = 10.0
    # A bundle pushed to a connected gateway and not acknowledged within this many seconds is a licence delivery
    # failure (`LicenceDeliveryFailed`, reason `ack_timeout`), as is a `reject` from the gateway.
    delivery_deadline_s: float = Field(default=60.0, gt=0)
    # Acks and disconnects are gathered this long and written in one statement each.
    session_write_interval_s: float = 0.05
    # A key rotation re-signs this many domains per transaction; replicas look for pending work this often.
    rotation_batch_domains: int = 64
    rotation_poll_interval_s: float = 1.0
    # A rotated-out signing key stays in the JWKS this long after the rotation (and after it only while a connected
    # gateway still holds an acknowledged bundle it signed); a gateway that comes back later gets a re-signed bundle.
    key_grace_s: float = 86_400.0
    # The key-encryption key that seals the private signing keys at rest: base64 of 32 random bytes. Required in an
    # installation (from a secret); without it, a development run reads or makes `key_encryption_key_file`.
    key_encryption_key: SecretStr | None = None
    key_encryption_key_file: Path | None = DEV_DIR / DEV_KEK_FILE
    # The cyclic collector's thresholds for this process (see limits.tune_garbage_collector).
    gc_thresholds: tuple[int, int, int] = (50_000, 20, 100)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_s)
