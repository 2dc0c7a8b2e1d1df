"""The BFF's own refusals, in the same problem+json shape the services use, so the SPA reads one format."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from shared.errors import PROBLEM_JSON


def problem(*, status: int, code: str, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "status": status, "code": code, "title": title, "detail": detail},
        status_code=status,
        media_type=PROBLEM_JSON,
    )


def not_signed_in() -> JSONResponse:
    return problem(status=401, code="not_signed_in", title="Not signed in", detail="Sign in to continue.")
