"""The relying party: the authorization-code flow with PKCE (authlib), and the ID token's checks (joserfc)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

import httpx
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from web_bff.config import BffSettings
from web_bff.sessions import PendingLogin

ID_TOKEN_ALGORITHMS = ["EdDSA", "Ed25519", "RS256", "ES256"]


class LoginFailed(Exception):
    """The provider's answer cannot be trusted or used; the user should simply sign in again."""


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    access_expires_at: float
    claims: dict[str, object]


class OidcClient:
    def __init__(self, *, settings: BffSettings) -> None:
        self._settings = settings
        self._metadata: dict[str, object] | None = None
        self._keys: KeySet | None = None

    def _server_side(self, url: str) -> str:
        """The URL the BFF itself uses: the issuer's base swapped for `oidc_discovery_url` when they differ."""
        internal = self._settings.oidc_discovery_url
        issuer = self._settings.oidc_issuer.rstrip("/")
        if internal and url.startswith(issuer):
            return internal.rstrip("/") + url[len(issuer) :]
        return url

    async def metadata(self) -> dict[str, object]:
        if self._metadata is None:
            url = self._server_side(f"{self._settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration")
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(url)
                response.raise_for_status()
                data = cast(dict[str, object], response.json())
            if str(data.get("issuer", "")).rstrip("/") != self._settings.oidc_issuer.rstrip("/"):
                raise LoginFailed("the provider's discovery names another issuer")
            self._metadata = data
        return self._metadata

    def _client(self) -> AsyncOAuth2Client:
        secret = self._settings.oidc_client_secret
        return AsyncOAuth2Client(
            client_id=self._settings.oidc_client_id,
            client_secret=secret,
            scope=self._settings.oidc_scope,
            redirect_uri=self._settings.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if secret else "none",
            timeout=10,
        )

    async def start_login(self, *, return_to: str) -> tuple[str, PendingLogin]:
        """The provider's authorize URL to send the browser to, and what the callback must check."""
        metadata = await self.metadata()
        pending = PendingLogin(
            state=generate_token(32), nonce=generate_token(32), code_verifier=generate_token(64), return_to=return_to
        )
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                str(metadata["authorization_endpoint"]),
                state=pending.state,
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
            )
        return str(url), pending

    async def finish_login(self, *, pending: PendingLogin, code: str, state: str) -> SignedIn:
        if state != pending.state:
            raise LoginFailed("the state does not match the login that was started")
        metadata = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    self._server_side(str(metadata["token_endpoint"])),
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                )
            except (OAuthError, httpx.HTTPError) as exc:
                raise LoginFailed(f"the code exchange failed: {exc}") from exc
        claims = await self._verified_id_token(str(token.get("id_token", "")), nonce=pending.nonce)
        expires_in = float(token.get("expires_in") or 300)
        return SignedIn(
            access_token=str(token["access_token"]), access_expires_at=time.time() + expires_in, claims=claims
        )

    async def _verified_id_token(self, id_token: str, *, nonce: str) -> dict[str, object]:
        if not id_token:
            raise LoginFailed("the provider returned no ID token")
        registry = jwt.JWTClaimsRegistry(
            leeway=30,
            iss={"essential": True, "value": self._settings.oidc_issuer.rstrip("/")},
            aud={"essential": True, "value": self._settings.oidc_client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            decoded = jwt.decode(id_token, await self._key_set(refresh=False), algorithms=ID_TOKEN_ALGORITHMS)
        except (JoseError, ValueError):
            # Perhaps a key rotation at the provider: fetch its JWKS once more before refusing.
            try:
                decoded = jwt.decode(id_token, await self._key_set(refresh=True), algorithms=ID_TOKEN_ALGORITHMS)
            except (JoseError, ValueError) as exc:
                raise LoginFailed(f"the ID token's signature is not valid: {exc}") from exc
        try:
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise LoginFailed(f"the ID token's claims are not valid: {exc}") from exc
        return dict(decoded.claims)

    async def _key_set(self, *, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self.metadata()
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.get(self._server_side(str(metadata["jwks_uri"])))
                response.raise_for_status()
                self._keys = KeySet.import_key_set(response.json())
        return self._keys
