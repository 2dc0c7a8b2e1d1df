"""Settings of the backend-for-frontend, from `WEB_*` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config import DEV_ISSUER, REPO_ROOT


class BffSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Where the browser reaches this BFF; the OIDC redirect URI and the Origin check derive from it.
    public_url: str = "http://127.0.0.1:8080"
    oidc_issuer: str = DEV_ISSUER
    # Where the BFF itself fetches discovery from; defaults to the issuer (differs only behind NAT/compose).
    oidc_discovery_url: str | None = None
    oidc_client_id: str = "rental-web"
    # Empty for a public client (PKCE alone, as with the development provider); set for a confidential one.
    oidc_client_secret: str | None = None
    oidc_scope: str = "openid profile"
    # Base URLs of the services the proxy may reach, by the name used in `/api/<service>/...`.
    services: dict[str, str] = Field(
        default_factory=lambda: {
            "wallet": "http://127.0.0.1:8001",
            "contracts": "http://127.0.0.1:8002",
            "provisioning": "http://127.0.0.1:8003",
            "licensing": "http://127.0.0.1:8004",
        }
    )
    # The development SMTP sink's HTTP side (`scripts/smtp_sink.py`), whose messages the operator screen shows;
    # unset where mail goes to a real SMTP server (`make run` sets it).
    mail_sink_url: str | None = None
    session_cookie: str = "rental_session"
    session_ttl_s: int = 8 * 3600
    # Secure cookies need https; a local run is plain http on 127.0.0.1.
    cookie_secure: bool = False
    spa_dist: Path = REPO_ROOT / "web" / "spa" / "dist"
    proxy_timeout_s: float = 15.0
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url.rstrip('/')}/auth/callback"
