"""The one type a use case or a domain rule refuses with: a `code` the client acts on, a status, a detail.

Pure: no FastAPI or HTTP here, so domain modules can raise it. `shared.errors` maps every `Refusal` to an
`application/problem+json` answer with its status, in one place. The subclasses only fix the status and a
default code; a rule gives its own code (`Conflict("the device is already rented", code="device_already_rented")`).
Extra keyword arguments become members of the problem (`retry_after_s`).
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
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


class BadRequest(Refusal):
    pass


class Unauthorized(Refusal):
    status, code, title = 401, "unauthorized", "Authentication required"


class Forbidden(Refusal):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(Refusal):
    status, code, title = 404, "not_found", "Not found"


class Conflict(Refusal):
    status, code, title = 409, "conflict", "Conflict"


class NotYetKnown(Conflict):
    """A reference to another service's object whose introducing event has not arrived yet: retry later."""

    code, title = "not_yet_known", "Not yet known"


class Unprocessable(Refusal):
    status, code, title = 422, "unprocessable", "Cannot be processed"


class TooManyRequests(Refusal):
    status, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(Refusal):
    status, code, title = 503, "unavailable", "Service unavailable"
