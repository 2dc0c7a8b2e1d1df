"""The provider's endpoints, all under the issuer URL's path: discovery, authorize, token, userinfo, JWKS."""

from __future__ import annotations

import time
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
from web_bff.dev_oidc.demo_users import STAFF, DemoUser, customer_of, demo_accounts
from web_bff.dev_oidc.picker_page import error_page, picker_page

log = structlog.get_logger()
SIGNING_ALG = "Ed25519"


def _oauth_error(error: str, description: str, *, status: int = 400) -> JSONResponse:
    # RFC 6749 section 5.2: the token endpoint answers errors as JSON with `error`.
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def create_app(settings: DevProviderSettings) -> FastAPI:
    configure_logging(service="dev-oidc", level=settings.log_level, json=settings.log_json)
    key: OKPKey = load_or_create_key(settings.key_dir)
    codes = AuthorizationCodes(ttl_s=settings.code_ttl_s)
    issuer = settings.issuer.rstrip("/")
    base_path = urlsplit(issuer).path
    router = APIRouter(prefix=base_path)

    def authorize_problem(params: dict[str, str]) -> str | None:
        """What makes this authorization request unacceptable, or None. Never redirects to an unknown URI."""
        if params.get("client_id") != settings.client_id:
            return "unknown client_id"
        if params.get("redirect_uri") not in settings.redirect_uris:
            return "the redirect_uri is not registered for this client"
        if params.get("response_type") != "code":
            return "only the authorization code flow (response_type=code) is supported"
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            return "PKCE with code_challenge_method=S256 is required"
        if "openid" not in params.get("scope", "").split():
            return "the openid scope is required"
        return None

    @router.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, object]:
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

    @router.get("/jwks.json")
    async def jwks() -> dict[str, object]:
        return {"keys": [key.as_dict(private=False)]}

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

    @router.get("/authorize", response_model=None)
    async def authorize_page(request: Request) -> HTMLResponse:
        params = {name: request.query_params[name] for name in _AUTHORIZE_PARAMS if name in request.query_params}
        problem = authorize_problem(params)
        if problem:
            log.info("dev_oidc.authorize.refused", reason=problem)
            return HTMLResponse(error_page(message=problem), status_code=400)
        page = picker_page(
            action=f"{base_path}/authorize",
            params=params,
            client_id=params["client_id"],
            demo=demo_accounts(settings.demo_accounts_path),
        )
        return HTMLResponse(page)

    @router.post("/authorize", response_model=None)
    async def authorize_decision(request: Request) -> HTMLResponse | RedirectResponse:
        form = await request.form()
        params = {name: str(form[name]) for name in _AUTHORIZE_PARAMS if name in form}
        problem = authorize_problem(params)
        if problem:
            return HTMLResponse(error_page(message=problem), status_code=400)
        choice = str(form.get("user", ""))
        user: DemoUser
        if choice in STAFF:
            user = STAFF[choice]
        elif choice.startswith("customer:"):
            # A demo customer by name: the account as the seeding recorded it.
            names = {str(a.account_id): a.name for a in demo_accounts(settings.demo_accounts_path)}
            picked = choice.removeprefix("customer:")
            if picked not in names:
                return HTMLResponse(error_page(message="that demo customer is not there any more"), status_code=400)
            user = customer_of(UUID(picked), names[picked])
        elif choice == "customer":
            try:
                user = customer_of(UUID(str(form.get("account_id", "")).strip()))
            except ValueError:
                return HTMLResponse(error_page(message="the account id is not a UUID"), status_code=400)
        else:
            return HTMLResponse(error_page(message="pick one of the demo users"), status_code=400)
        code = codes.issue(
            user=user,
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            code_challenge=params["code_challenge"],
            nonce=params.get("nonce"),
        )
        log.info("dev_oidc.authorize.granted", subject=user.subject, roles=list(user.roles))
        query = {"code": code, "iss": issuer}
        if "state" in params:
            query["state"] = params["state"]
        # 303: the browser follows with a GET, as the redirect after a form POST should be.
        return RedirectResponse(f"{params['redirect_uri']}?{urlencode(query)}", status_code=303)

    @router.post("/token")
    async def token(
        grant_type: Annotated[str, Form()],
        code: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        client_id: Annotated[str, Form()],
        code_verifier: Annotated[str, Form()] = "",
    ) -> JSONResponse:
        if grant_type != "authorization_code":
            return _oauth_error("unsupported_grant_type", "only authorization_code is supported")
        pending = codes.redeem(code)
        if pending is None:
            return _oauth_error("invalid_grant", "the code is unknown, expired or already used")
        if pending.client_id != client_id or pending.redirect_uri != redirect_uri:
            return _oauth_error("invalid_grant", "the code was issued to another client or redirect_uri")
        if not code_verifier or not verifier_matches(verifier=code_verifier, challenge=pending.code_challenge):
            log.info("dev_oidc.token.pkce_failed", client_id=client_id)
            return _oauth_error("invalid_grant", "the code_verifier does not match the code_challenge")
        user = pending.user
        account = str(user.account_id) if user.account_id else None
        access_token = issue_token(
            key,
            roles=list(user.roles),
            account_id=account,
            subject=user.subject,
            issuer=issuer,
            audience=settings.audience,
            ttl_s=settings.access_token_ttl_s,
        )
        now = int(time.time())
        id_claims: dict[str, object] = {
            "iss": issuer,
            "aud": client_id,
            "sub": user.subject,
            "iat": now,
            "exp": now + settings.access_token_ttl_s,
            "name": user.name,
            "roles": list(user.roles),
        }
        if account:
            id_claims["account_id"] = account
        if pending.nonce:
            id_claims["nonce"] = pending.nonce
        id_token = jwt.encode({"alg": SIGNING_ALG, "kid": key.kid, "typ": "JWT"}, id_claims, key, [SIGNING_ALG])
        log.info("dev_oidc.token.issued", subject=user.subject)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": settings.access_token_ttl_s,
                "id_token": id_token,
                "scope": "openid profile",
            },
            headers={"Cache-Control": "no-store"},
        )

    @router.get("/userinfo")
    async def userinfo(request: Request) -> JSONResponse:
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return _oauth_error("invalid_token", "a bearer token is required", status=401)
        try:
            decoded = jwt.decode(bearer.strip(), KeySet([key]), algorithms=[SIGNING_ALG])
        except (JoseError, ValueError):
            return _oauth_error("invalid_token", "the token is not one of ours", status=401)
        claims = decoded.claims
        return JSONResponse({name: claims[name] for name in ("sub", "roles", "account_id") if name in claims})

    app = FastAPI(title="Development OpenID provider", version="0.1.0")
    app.include_router(router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
