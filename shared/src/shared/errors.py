"""Errors as `application/problem+json` (RFC 9457) with a machine-readable `code`, mapped in one place."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger()


class Problem(Exception):
    """A refusal the client can act on. Subclasses fix status and code; `detail` says what happened."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class BadRequest(Problem):
    pass


class Unauthorized(Problem):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(Problem):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(Problem):
    status, code, title = 404, "not_found", "Not found"


class Conflict(Problem):
    status, code, title = 409, "conflict", "Conflict"


class NotYetKnown(Conflict):
    """A reference to another service's object whose introducing event has not arrived yet: retry later."""

    code, title = "not_yet_known", "Not yet known"


class Unprocessable(Problem):
    status, code, title = 422, "unprocessable", "Cannot be processed"


class TooManyRequests(Problem):
    status, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(Problem):
    status, code, title = 503, "unavailable", "Service unavailable"


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


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(
            status=exc.status, code=exc.code, title=exc.title, detail=exc.detail, headers=headers, **exc.extra
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
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

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(
            status=exc.status_code,
            code=_STATUS_CODES.get(exc.status_code, "http_error"),
            title=str(exc.detail) if exc.detail else "Error",
            detail=str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("http.unhandled_error", path=request.url.path, exc_info=exc)
        return problem_response(
            status=500, code="internal_error", title="Internal error", detail="An unexpected error occurred."
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
