"""Keyset pagination: lists are `{"items": [...], "next_cursor": ...}`; the cursor is opaque to clients."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, WithJsonSchema

from shared.refusals import BadRequest

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


# --- Keyset paging -------------------------------------------------------------------------------------

Key = tuple[Any, ...]
_PARSERS: dict[type, Callable[[Any], Any]] = {datetime: datetime.fromisoformat, UUID: UUID, int: int, str: str}


@dataclass(frozen=True)
class PageRequest:
    """Where a page starts (`after`: the key of the previous page's last item) and how many items it shows."""

    after: Key | None
    limit: int

    @property
    def fetch(self) -> int:
        """How many rows to read: one more than shown tells whether another page follows."""
        return self.limit + 1


class Keyset:
    """The sort key a list is paged by, e.g. `Keyset(("at", datetime), ("id", UUID))`, and its opaque cursor.

    Every list use case is `request = KEYS.request(cursor, limit)`, a repository read of `request.fetch` rows
    after `request.after`, and `KEYS.page(items, request, key=...)`. A cursor that does not decode to this key is
    400 `invalid_cursor`, never a 500.
    """

    def __init__(self, *fields: tuple[str, type]) -> None:
        unknown = [kind for _, kind in fields if kind not in _PARSERS]
        if not fields or unknown:
            raise TypeError(f"a keyset is made of {sorted(t.__name__ for t in _PARSERS)} fields")
        self.fields = fields

    def request(self, cursor: str | None, limit: int) -> PageRequest:
        return PageRequest(after=self.decode(cursor), limit=limit)

    def page(self, items: Sequence[T], request: PageRequest, *, key: Callable[[T], Key]) -> Page[T]:
        shown = list(items[: request.limit])
        more = len(items) > request.limit
        return Page[T](items=shown, next_cursor=self.encode(key(shown[-1])) if more else None)

    def encode(self, key: Key) -> str:
        return encode_cursor(
            {
                name: value.isoformat() if isinstance(value, datetime) else value
                for (name, _), value in zip(self.fields, key, strict=True)
            }
        )

    def decode(self, cursor: str | None) -> Key | None:
        values = decode_cursor(cursor)
        if values is None:
            return None
        try:
            return tuple(_parse(kind, values[name]) for name, kind in self.fields)
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest("the cursor is not one this service issued", code="invalid_cursor") from exc


def _parse(kind: type, raw: Any) -> Any:
    # Only what `encode` writes: a JSON string or number of the field's kind, never a bool, list or object.
    if isinstance(raw, bool) or not isinstance(raw, str | int) or (kind is int and not isinstance(raw, int)):
        raise TypeError(f"not a {kind.__name__}")
    return _PARSERS[kind](raw if kind is int else str(raw))
