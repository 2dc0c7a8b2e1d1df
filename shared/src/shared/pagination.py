"""Keyset pagination: lists are `{"items": [...], "next_cursor": ...}`; the cursor is opaque to clients."""

from __future__ import annotations

import base64
import json
import re
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, WithJsonSchema

from shared.errors import BadRequest

T = TypeVar("T")
# A cursor is unpadded base64url; one of that form that this service did not issue is refused with 400
# `invalid_cursor` (the document cannot say which ones were issued).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
MAX_CURSOR_LENGTH = 500
_CURSOR = re.compile(CURSOR_PATTERN)

Cursor = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR_LENGTH,
        description="`next_cursor` of the previous page; one this service did not issue is refused (400 "
        "`invalid_cursor`)",
    ),
    # The format, for the document only: decode_cursor refuses another with 400 `invalid_cursor`, not 422.
    WithJsonSchema({"type": "string", "maxLength": MAX_CURSOR_LENGTH, "pattern": CURSOR_PATTERN}),
]
"""The `cursor` query parameter of a list."""


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if cursor is None:
        return None
    if not _CURSOR.fullmatch(cursor):
        raise BadRequest("the cursor is not one this service issued", code="invalid_cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("the cursor is not one this service issued", code="invalid_cursor") from exc
    if not isinstance(value, dict):
        raise BadRequest("the cursor is not one this service issued", code="invalid_cursor")
    return value
