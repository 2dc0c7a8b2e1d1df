"""W3C trace context: the `traceparent` of the current request or message, carried into events."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
current_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def child_traceparent(parent: str | None) -> str:
    """Same trace, new span; a malformed or missing parent starts a new trace."""
    if parent is None or not _TRACEPARENT.match(parent):
        return new_traceparent()
    return f"00-{parent[3:35]}-{secrets.token_hex(8)}-{parent[-2:]}"
