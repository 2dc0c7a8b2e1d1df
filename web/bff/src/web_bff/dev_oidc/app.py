"""The provider's endpoints, all under the issuer URL's path: discovery, authorize, token, userinfo, JWKS."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode, urlsplit
from uuid import UUID

import structlog
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

from shared.dev_issuer import issue_token, load_or_create_key
from shared.logging import configure_logging
from web_bff.dev_oidc.authorization_codes import AuthorizationCodes, verifier_matches
from web_bff.dev_oidc.config import DevProviderSettings
from web_bff.dev_oidc.demo_users import STAFF, DemoAccount, DemoUser, customer_of, demo_accounts
from web_bff.dev_oidc.picker_page import error_page, picker_page

log = structlog.get_logger()
SIGNING_ALG = "Ed25519"


def _oauth_error(error: str, description: str, *, status: int = 400) -> JSONResponse:
    # RFC 6749 section 5.2: the token endpoint answers errors as JSON with `error`.
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


_AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def _chosen_user(form: Mapping[str, object], *, demo: Sequence[DemoAccount]) -> DemoUser | str:
    """The demo user picked on the page, or why the pick is refused."""
    choice = str(form.get("user", ""))
    if choice in STAFF:
        return STAFF[choice]
    if choice.startswith("customer:"):
        # A demo customer by name: the account as the seeding recorded it.
        names = {str(a.account_id): a.name for a in demo}
        picked = choice.removeprefix("customer:")
        if picked not in names:
            return "that demo customer is not there any more"
        return customer_of(UUID(picked), names[picked])
    if choice != "customer":
        return "pick one of the demo users"
    try:
        return customer_of(UUID(str(form.get("account_id", "")).strip()))
    except ValueError:
        return "the account id is not a UUID"


@dataclass(frozen=True)
class Provider:
    """What the endpoints do, apart from HTTP routing: the client's checks, the codes, the tokens."""

    settings: DevProviderSettings
    key: OKPKey
    codes: AuthorizationCodes
    issuer: str  # without a trailing slash

    @property
    def base_path(self) -> str:
        return urlsplit(self.issuer).path

    def authorize_problem(self, params: Mapping[str, str]) -> str | None:
        """What makes this authorization request unacceptable, or None. Never redirects to an unknown URI."""
        if params.get("client_id") != self.settings.client_id:
            return "unknown client_id"
        if params.get("redirect_uri") not in self.settings.redirect_uris:
            return "the redirect_uri is not registered for this client"
        if params.get("response_type") != "code":
            return "only the authorization code flow (response_type=code) is supported"
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            return "PKCE with code_challenge_method=S256 is required"
        if "openid" not in params.get("scope", "").split():
            return "the openid scope is required"
        return None

    def discovery(self) -> dict[str, object]:
        issuer = self.issuer
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks.json",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALG, "EdDSA"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "name", "roles", "account_id"],
        }

    def decide(self, form: Mapping[str, object]) -> HTMLResponse | RedirectResponse:
        """The picked user, granted a code and sent back to the client; or a page saying what is wrong."""
        params = {name: str(form[name]) for name in _AUTHORIZE_PARAMS if name in form}
        problem = self.authorize_problem(params)
        if problem:
            return HTMLResponse(error_page(message=problem), status_code=400)
        user = _chosen_user(form, demo=demo_accounts(self.settings.demo_accounts_path))
        if isinstance(user, str):
            return HTMLResponse(error_page(message=user), status_code=400)
        code = self.codes.issue(
            user=user,
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            code_challenge=params["code_challenge"],
            nonce=params.get("nonce"),
        )
        log.info("dev_oidc.authorize.granted", subject=user.subject, roles=list(user.roles))
        query = {"code": code, "iss": self.issuer}
        if "state" in params:
            query["state"] = params["state"]
        # 303: the browser follows with a GET, as the redirect after a form POST should be.
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode(query)}", status_code=303)

    def exchange(
        self, *, grant_type: str, code: str, redirect_uri: str, client_id: str, code_verifier: str
    ) -> JSONResponse:
        """The token endpoint: a code (once, with its PKCE verifier) for an access token and an ID token."""
        if grant_type != "authorization_code":
            return _oauth_error("unsupported_grant_type", "only authorization_code is supported")
        pending = self.codes.redeem(code)
        if pending is None:
            return _oauth_error("invalid_grant", "the code is unknown, expired or already used")
        if pending.client_id != client_id or pending.redirect_uri != redirect_uri:
            return _oauth_error("invalid_grant", "the code was issued to another client or redirect_uri")
        if not code_verifier or not verifier_matches(verifier=code_verifier, challenge=pending.code_challenge):
            log.info("dev_oidc.token.pkce_failed", client_id=client_id)
            return _oauth_error("invalid_grant", "the code_verifier does not match the code_challenge")
        user = pending.user
        access_token = issue_token(
            self.key,
            roles=list(user.roles),
            account_id=str(user.account_id) if user.account_id else None,
            subject=user.subject,
            issuer=self.issuer,
            audience=self.settings.audience,
            ttl_s=self.settings.access_token_ttl_s,
        )
        id_token = self.id_token(user, client_id=client_id, nonce=pending.nonce)
        log.info("dev_oidc.token.issued", subject=user.subject)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": self.settings.access_token_ttl_s,
                "id_token": id_token,
                "scope": "openid profile",
            },
            headers={"Cache-Control": "no-store"},
        )

    def id_token(self, user: DemoUser, *, client_id: str, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": client_id,
            "sub": user.subject,
            "iat": now,
            "exp": now + self.settings.access_token_ttl_s,
            "name": user.name,
            "roles": list(user.roles),
        }
        if user.account_id:
            claims["account_id"] = str(user.account_id)
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": SIGNING_ALG, "kid": self.key.kid, "typ": "JWT"}, claims, self.key, [SIGNING_ALG])

    def userinfo(self, authorization: str) -> JSONResponse:
        scheme, _, bearer = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return _oauth_error("invalid_token", "a bearer token is required", status=401)
        try:
            decoded = jwt.decode(bearer.strip(), KeySet([self.key]), algorithms=[SIGNING_ALG])
        except (JoseError, ValueError):
            return _oauth_error("invalid_token", "the token is not one of ours", status=401)
        claims = decoded.claims
        return JSONResponse({name: claims[name] for name in ("sub", "roles", "account_id") if name in claims})


def create_app(settings: DevProviderSettings) -> FastAPI:
    configure_logging(service="dev-oidc", level=settings.log_level, json=settings.log_json)
    provider = Provider(
        settings=settings,
        key=load_or_create_key(settings.key_dir),
        codes=AuthorizationCodes(ttl_s=settings.code_ttl_s),
        issuer=settings.issuer.rstrip("/"),
    )
    router = APIRouter(prefix=provider.base_path)

    @router.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, object]:
        return provider.discovery()

    @router.get("/jwks.json")
    async def jwks() -> dict[str, object]:
        return {"keys": [provider.key.as_dict(private=False)]}

    @router.get("/authorize", response_model=None)
    async def authorize_page(request: Request) -> HTMLResponse:
        params = {name: request.query_params[name] for name in _AUTHORIZE_PARAMS if name in request.query_params}
        problem = provider.authorize_problem(params)
        if problem:
            log.info("dev_oidc.authorize.refused", reason=problem)
            return HTMLResponse(error_page(message=problem), status_code=400)
        action = f"{provider.base_path}/authorize"
        page = picker_page(
            action=action,
            params=params,
            client_id=params["client_id"],
            demo=demo_accounts(settings.demo_accounts_path),
        )
        return HTMLResponse(page)

    @router.post("/authorize", response_model=None)
    async def authorize_decision(request: Request) -> HTMLResponse | RedirectResponse:
        return provider.decide(await request.form())

    @router.post("/token")
    async def token(
        grant_type: Annotated[str, Form()],
        code: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        client_id: Annotated[str, Form()],
        code_verifier: Annotated[str, Form()] = "",
    ) -> JSONResponse:
        return provider.exchange(
            grant_type=grant_type,
            code=code,
            redirect_uri=redirect_uri,
            client_id=client_id,
            code_verifier=code_verifier,
        )

    @router.get("/userinfo")
    async def userinfo(request: Request) -> JSONResponse:
        return provider.userinfo(request.headers.get("authorization", ""))

    app = FastAPI(title="Development OpenID provider", version="0.1.0")
    app.include_router(router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
