"""Amounts: integers in micro-iSC inside the platform, decimal strings in iSC on the HTTP API. No floats."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

MICRO_PER_ISC = 1_000_000
SECONDS_PER_DAY = 86_400
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,6})?$")


def parse_isc(text: str) -> int:
    """`"12.5"` → 12_500_000. Refuses signs, exponents, more than 6 decimals and absurd sizes."""
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise ValueError('an amount is a decimal string in iSC with at most 6 decimals, e.g. "12.5"')
    return int(Decimal(text) * MICRO_PER_ISC)


def format_isc(micro: int) -> str:
    """12_500_000 → `"12.5"`; exact, trailing zeros dropped."""
    sign = "-" if micro < 0 else ""
    whole, frac = divmod(abs(micro), MICRO_PER_ISC)
    return f"{sign}{whole}" + (f".{frac:06d}".rstrip("0") if frac else "")


def _parse_any(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # already micro-iSC (internal use)
    if isinstance(value, str):
        return parse_isc(value)
    raise ValueError('an amount is a decimal string in iSC, e.g. "12.5"')


IscAmount = Annotated[
    int,
    BeforeValidator(_parse_any),
    PlainSerializer(format_isc, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _DECIMAL.pattern, "examples": ["12.5"]}),
]
"""A pydantic field: micro-iSC in Python, a decimal iSC string on the wire."""


def _decimal_text_only(value: object) -> object:
    # On the HTTP API an amount is a decimal string in iSC; a bare JSON number would be read as micro-iSC.
    if not isinstance(value, str):
        raise ValueError('an amount is a decimal string in iSC, e.g. "12.5"')
    return value


IscAmountText = Annotated[IscAmount, BeforeValidator(_decimal_text_only)]
"""A request field: only a decimal iSC string is accepted (never a bare number)."""
