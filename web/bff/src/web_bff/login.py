"""Sign-in and sign-out: `/auth/login` → the provider → `/auth/callback`; `/auth/me`; `/auth/logout`."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from web_bff.config import BffSettings
from web_bff.oidc_client import LoginFailed, OidcClient
from web_bff.problems import not_signed_in, problem
from web_bff.sessions import Session, SessionStore

log = structlog.get_logger()
router = APIRouter(prefix="/auth")


def _settings(request: Request) -> BffSettings:
    settings: BffSettings = request.app.state.settings
    return settings


def _store(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def current_session(request: Request) -> Session | None:
    return _store(request).get(request.cookies.get(_settings(request).session_cookie))


def set_session_cookie(response: Response, *, settings: BffSettings, session: Session) -> None:
    # httpOnly: no script can read it. SameSite=Lax: sent on the provider's top-level redirect back to
    # /auth/callback, never on a cross-site POST or a cross-site fetch.
    response.set_cookie(
        settings.session_cookie,
        session.id,
        max_age=settings.session_ttl_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def safe_return_path(value: str | None) -> str:
    """Only a path on this site: `return_to` must never send the user to another host."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/login")
async def login(request: Request, return_to: str | None = None) -> Response:
    settings = _settings(request)
    oidc: OidcClient = request.app.state.oidc
    try:
        url, pending = await oidc.start_login(return_to=safe_return_path(return_to))
    except (httpx.HTTPError, LoginFailed) as exc:
        log.warning("bff.login.provider_unreachable", error=str(exc))
        return problem(
            status=503,
            code="identity_provider_unavailable",
            title="Sign-in unavailable",
            detail="The sign-in service cannot be reached right now. Try again in a moment.",
        )
    session = current_session(request) or _store(request).create()
    session.pending = pending
    response = RedirectResponse(url, status_code=302)
    set_session_cookie(response, settings=settings, session=session)
    return response


@router.get("/callback")
async def callback(
    request: Request, code: str | None = None, state: str | None = None, error: str | None = None
) -> Response:
    settings = _settings(request)
    session = current_session(request)
    if error or not code or not state or session is None or session.pending is None:
        log.info("bff.login.callback_refused", error=error, has_session=session is not None)
        return RedirectResponse("/?" + urlencode({"login_error": error or "login_not_started"}), status_code=302)
    pending = session.pending
    oidc: OidcClient = request.app.state.oidc
    try:
        signed_in = await oidc.finish_login(pending=pending, code=code, state=state)
    except (LoginFailed, httpx.HTTPError) as exc:
        log.warning("bff.login.failed", error=str(exc))
        session.pending = None
        return RedirectResponse("/?" + urlencode({"login_error": "login_failed"}), status_code=302)
    session = _store(request).rotate(session)
    session.pending = None
    session.access_token = signed_in.access_token
    session.access_expires_at = signed_in.access_expires_at
    session.user = {
        "subject": signed_in.claims.get("sub"),
        "name": signed_in.claims.get("name") or signed_in.claims.get("sub"),
        "roles": signed_in.claims.get("roles") or [],
        "account_id": signed_in.claims.get("account_id"),
    }
    log.info("bff.login.succeeded", subject=session.user["subject"], roles=session.user["roles"])
    response = RedirectResponse(pending.return_to, status_code=302)
    set_session_cookie(response, settings=settings, session=session)
    return response


@router.get("/me")
async def me(request: Request) -> Response:
    session = current_session(request)
    if session is None or not session.signed_in:
        return not_signed_in()
    return JSONResponse(session.user, headers={"Cache-Control": "no-store"})


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = current_session(request)
    if session is not None:
        _store(request).delete(session.id)
    response = Response(status_code=204)
    response.delete_cookie(_settings(request).session_cookie, path="/")
    return response
