"""Amount parsing and formatting: exact, integer, and refusing anything ambiguous."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import MICRO_PER_ISC, format_isc, parse_isc


@given(st.integers(min_value=0, max_value=10**17))
def test_formatting_then_parsing_gives_back_the_same_micro_amount(micro: int) -> None:
    assert parse_isc(format_isc(micro)) == micro


@pytest.mark.parametrize(
    ("text", "micro"),
    [("0", 0), ("1", MICRO_PER_ISC), ("12.5", 12_500_000), ("0.000001", 1), ("100.250000", 100_250_000)],
)
def test_decimal_strings_parse_to_exact_micro_isc(text: str, micro: int) -> None:
    assert parse_isc(text) == micro


@pytest.mark.parametrize(
    "text",
    ["-1", "+1", "1e3", "1.0000001", "", " 1", "1,5", "NaN", "Infinity", "01", ".5", "1.", "9" * 13, "12\n"],
)
def test_ambiguous_or_negative_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="decimal string"):
        parse_isc(text)


def test_formatting_drops_trailing_zeros() -> None:
    assert format_isc(12_500_000) == "12.5"
    assert format_isc(5 * MICRO_PER_ISC) == "5"
    assert format_isc(1) == "0.000001"
