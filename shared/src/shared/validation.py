"""Input rules that every service's request schemas share."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BeforeValidator, Strict

# Postgres refuses NUL in text: free text carrying one is refused at the edge (422), not by the database (500).
NO_NUL = r"^[^\x00]*$"


def whole_number(value: object) -> object:
    # JSON has one number type: `506.0` is the integer 506 (JSON Schema says so too), but `true` is no number
    # and `"506"` no integer. Strict int validation after this refuses both.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(whole_number), Strict()]
"""A request integer: any integral JSON number (`5`, `5.0`); never a boolean or a string."""


def instant_text(value: object) -> object:
    # An instant is an RFC 3339 string on the wire; a JSON number would otherwise be taken for seconds since 1970.
    if not isinstance(value, str):
        raise ValueError("an instant is an RFC 3339 string")
    return value


InstantText = Annotated[AwareDatetime, BeforeValidator(instant_text)]
"""A request instant: an RFC 3339 string with its offset; never a number."""
