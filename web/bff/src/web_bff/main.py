"""The BFF's composition root: settings, session store, OIDC client, HTTP client, routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from shared.logging import configure_logging
from web_bff import login, mail, proxy, spa
from web_bff.config import BffSettings
from web_bff.oidc_client import OidcClient
from web_bff.sessions import SessionStore


def create_app(settings: BffSettings) -> FastAPI:
    configure_logging(service="web-bff", level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=settings.proxy_timeout_s) as http:
            app.state.http = http
            yield

    app = FastAPI(title="Rental web app (backend-for-frontend)", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.sessions = SessionStore(ttl_s=settings.session_ttl_s)
    app.state.oidc = OidcClient(settings=settings)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(login.router)
    app.include_router(mail.router)  # before the proxy, whose `/api/{service}/...` would take it
    app.include_router(proxy.router)
    app.include_router(spa.router)  # last: it answers every other path with the SPA
    return app
