"""Refusals and failures as `application/problem+json` (RFC 9457) with a machine-readable `code`, mapped here.

Use cases and domain modules raise a `shared.refusals.Refusal` (no HTTP in them); this module is the one place
that turns it, FastAPI's validation errors, Starlette's HTTP errors and a database that is away into a problem.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from shared.db import DATABASE_AWAY, is_database_away
from shared.problem_codes import ProblemCode
from shared.refusals import Refusal

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger()
# A request that met the database away may well succeed a moment later, so the client is told to retry
# (503 with Retry-After), not that something broke.
DATABASE_RETRY_AFTER_S = 1


class ProblemDocument(BaseModel):
    """The RFC 9457 body of every refusal, as `application/problem+json`; `code` is what a client acts on.

    Some refusals add members (`retry_after_s` with 429 and 503, `errors` with 422, `checks` with the
    readiness probe's 503).
    """

    model_config = ConfigDict(extra="allow", title="Problem")
    type: str = Field(examples=["about:blank"])
    title: str
    status: int
    detail: str
    code: ProblemCode = Field(examples=["not_found"])
    # With 429 (`rate_limited`) and 503 (`database_unavailable`): when to try again; absent otherwise.
    retry_after_s: int | None = Field(default=None, ge=0, description="Seconds to wait before retrying")


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblemDocument(ProblemDocument):
    """A 422: `validation_failed` (the request does not match the document, one issue per wrong field) or a
    refusal of the content by the service itself."""

    model_config = ConfigDict(extra="allow", title="ValidationProblem")
    # Absent when the service itself refused the content (e.g. `invalid_hwid`, `idempotency_key_reused`).
    errors: list[ValidationIssue] = Field(default_factory=list)


# What each refusal status means on this platform, for the OpenAPI documents; a route may say more.
PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request",
    401: "No valid bearer token (`missing_token`, `invalid_token`)",
    403: "The token's roles do not allow this (`role_required`, `no_role`, `no_account`)",
    404: "Not found (or not yours)",
    409: "Conflict with the current state",
    410: "Gone",
    413: "The request body is too large (`payload_too_large`)",
    422: "The request does not match the document (`validation_failed`) or cannot be processed",
    429: "Rate limited (`rate_limited`, with `retry_after_s`)",
    503: "Service unavailable: the database cannot be reached just now (`database_unavailable`, with"
    " `retry_after_s` and Retry-After)",
}


def problem_responses(*refusals: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the refusals it really gives, each a problem document.

    `problem_responses(404, (409, "`key_revoked`"))`: a bare status takes the platform's description, a pair
    names the codes this route answers with. The content (`application/problem+json`, the Problem schema) is
    filled in by `shared.openapi.describe_problems` for every status of 400 and above.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for refusal in refusals:
        status, description = refusal if isinstance(refusal, tuple) else (refusal, None)
        responses[status] = {"description": description or PROBLEM_DESCRIPTIONS.get(status, "Refused")}
    return responses


def problem_response(
    *, status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "code": code, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at this request's path."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        route_methods = getattr(route.original_route, "methods", None)
        # The context's path carries the include prefix (`/v1`); the route's own does not.
        if route_methods and route.path and compile_path(route.path)[0].match(request.url.path):
            methods |= set(route_methods)
    return sorted(methods)


async def _on_problem(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(
        status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, headers=headers, **exc.extra
    )


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]
    return problem_response(
        status=422,
        code="validation_failed",
        title="Invalid request",
        detail="; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors),
        errors=errors,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        # Starlette names only the methods of the first route matching the path; a path may have several.
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return problem_response(
        status=exc.status_code,
        code=_STATUS_CODES.get(exc.status_code, "http_error"),
        title=str(exc.detail) if exc.detail else "Error",
        detail=str(exc.detail),
        headers=headers,
    )


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("http.unhandled_error", path=request.url.path, exc_info=exc)
    return problem_response(
        status=500, code="internal_error", title="Internal error", detail="An unexpected error occurred."
    )


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    if not is_database_away(exc):
        return await _on_unexpected(request, exc)
    log.warning("http.database_unavailable", path=request.url.path, error=repr(exc))
    return problem_response(
        status=503,
        code="database_unavailable",
        title="Service unavailable",
        detail="The database cannot be reached just now; retry the request (with the same Idempotency-Key).",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        retry_after_s=DATABASE_RETRY_AFTER_S,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Every refusal, validation error, HTTP error and database outage answered as a problem, in one place."""
    app.add_exception_handler(Refusal, _on_problem)
    # asyncpg's client-side errors are the database being away when a lost connection caused them.
    for error in (*DATABASE_AWAY, asyncpg.InterfaceError, asyncpg.InternalClientError):
        app.add_exception_handler(error, _on_database_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
