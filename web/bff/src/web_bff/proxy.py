"""`/api/<service>/<path>`: the SPA's calls, forwarded to the service with the signed-in user's bearer token."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import structlog
from fastapi import APIRouter, Request, Response

from web_bff.config import BffSettings
from web_bff.login import current_session
from web_bff.problems import not_signed_in, problem

log = structlog.get_logger()
router = APIRouter(prefix="/api")

# Only what the services read or the browser needs; cookies and the browser's own auth never travel on.
FORWARDED_REQUEST_HEADERS = ("accept", "content-type", "idempotency-key", "x-request-id", "traceparent")
RETURNED_RESPONSE_HEADERS = ("content-type", "location", "retry-after", "x-request-id")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@router.api_route("/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def forward(service: str, path: str, request: Request) -> Response:
    settings: BffSettings = request.app.state.settings
    base = settings.services.get(service)
    if base is None:
        return problem(status=404, code="unknown_service", title="Not found", detail=f"No service named {service!r}.")
    session = current_session(request)
    if session is None or not session.signed_in or session.access_token is None:
        return not_signed_in()
    # SameSite=Lax already keeps the cookie off cross-site writes; a foreign Origin is refused outright too.
    origin = request.headers.get("origin")
    if request.method != "GET" and origin is not None and origin != _origin(settings.public_url):
        return problem(status=403, code="foreign_origin", title="Not allowed", detail="Cross-site request refused.")
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    headers["authorization"] = f"Bearer {session.access_token}"
    http: httpx.AsyncClient = request.app.state.http
    try:
        upstream = await http.request(
            request.method,
            f"{base.rstrip('/')}/{path}",
            params=list(request.query_params.multi_items()),
            content=await request.body(),
            headers=headers,
        )
    except httpx.HTTPError as exc:
        log.warning("bff.proxy.unreachable", service=service, error=str(exc))
        return problem(
            status=502,
            code="service_unavailable",
            title="Service unavailable",
            detail=f"The {service} service cannot be reached right now. Try again in a moment.",
        )
    returned = {name: upstream.headers[name] for name in RETURNED_RESPONSE_HEADERS if name in upstream.headers}
    returned["cache-control"] = "no-store"
    return Response(content=upstream.content, status_code=upstream.status_code, headers=returned)
