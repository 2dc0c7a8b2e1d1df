"""Settings of the development OpenID provider, from `DEV_OIDC_*` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config import DEFAULT_AUDIENCE, DEV_DIR, DEV_ISSUER


class DevProviderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEV_OIDC_", extra="ignore")

    # The issuer URL is also where the provider is served: its path is the mount point of every endpoint.
    issuer: str = DEV_ISSUER
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    key_dir: Path = DEV_DIR
    audience: str = DEFAULT_AUDIENCE
    client_id: str = "rental-web"
    # Exact redirect URIs of the one registered (public, PKCE) client.
    redirect_uris: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8080/auth/callback", "http://localhost:8080/auth/callback"]
    )
    access_token_ttl_s: int = 8 * 3600
    code_ttl_s: int = 60
    # The demo customers the picker offers by name (written by `make run`'s seeding); default: key_dir's.
    demo_accounts_file: Path | None = None
    log_level: str = "INFO"
    log_json: bool = True

    @property
    def demo_accounts_path(self) -> Path:
        return self.demo_accounts_file or self.key_dir / "demo-accounts.json"
