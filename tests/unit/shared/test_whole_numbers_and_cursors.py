"""Request integers are whole JSON numbers (`5.0` is 5, `true` is no number); a cursor has one form."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from shared.pagination import decode_cursor, encode_cursor
from shared.refusals import BadRequest
from shared.validation import WholeNumber


class Counted(BaseModel):
    count: WholeNumber = Field(ge=1, le=10)


@pytest.mark.parametrize(("value", "read"), [(5, 5), (5.0, 5), (1e1, 10)])
def test_an_integral_json_number_is_a_whole_number(value: object, read: int) -> None:
    assert Counted.model_validate({"count": value}).count == read
    assert Counted.model_validate_json(f'{{"count": {value}}}').count == read


@pytest.mark.parametrize("value", [True, False, "5", 5.5, 0, 11.0, None])
def test_a_boolean_a_string_or_a_fraction_is_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        Counted.model_validate({"count": value})


def test_the_document_says_integer_with_its_bounds() -> None:
    assert Counted.model_json_schema()["properties"]["count"] == {
        "maximum": 10,
        "minimum": 1,
        "title": "Count",
        "type": "integer",
    }


@pytest.mark.parametrize("cursor", ["%%%", "a b", "abc=", "", "bm9wZQ"])
def test_a_cursor_of_another_form_or_not_issued_is_invalid(cursor: str) -> None:
    with pytest.raises(BadRequest) as refused:
        decode_cursor(cursor)
    assert refused.value.code == "invalid_cursor"


def test_an_issued_cursor_reads_back() -> None:
    assert decode_cursor(encode_cursor({"at": "2026-11-28", "id": "x"})) == {"at": "2026-11-28", "id": "x"}
