"""`/api/mail/messages`: the development SMTP sink's messages, for the operator screen.

`make run` starts the sink (`scripts/smtp_sink.py`) and points `WEB_MAIL_SINK_URL` at it, so an operator sees in
the web app the notices the wallet mailed to customers. A deployment without a sink leaves the setting unset, and
the screen says there is none. Operators only: the sink holds every tenant's mail.
"""

from __future__ import annotations

import httpx
import structlog
from fastapi import APIRouter, Request, Response

from web_bff.config import BffSettings
from web_bff.login import current_session
from web_bff.problems import not_signed_in, problem

log = structlog.get_logger()
router = APIRouter(prefix="/api/mail")


@router.get("/messages")
async def messages(request: Request) -> Response:
    settings: BffSettings = request.app.state.settings
    session = current_session(request)
    if session is None or not session.signed_in:
        return not_signed_in()
    roles = session.user.get("roles")
    if not isinstance(roles, list) or "operator" not in roles:
        return problem(status=403, code="forbidden", title="Not allowed", detail="Only an operator reads the mail.")
    if settings.mail_sink_url is None:
        return problem(
            status=404,
            code="mail_sink_not_configured",
            title="No mail sink",
            detail="This installation sends its e-mail to a real SMTP server, so there is no mail to show here.",
        )
    http: httpx.AsyncClient = request.app.state.http
    try:
        upstream = await http.get(f"{settings.mail_sink_url.rstrip('/')}/messages")
        upstream.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("bff.mail.unreachable", error=str(exc))
        return problem(
            status=502,
            code="service_unavailable",
            title="Mail sink unavailable",
            detail="The SMTP sink cannot be reached right now. Try again in a moment.",
        )
    return Response(content=upstream.content, media_type="application/json", headers={"cache-control": "no-store"})
