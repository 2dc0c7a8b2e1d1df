"""The keyset page helper every list use case pages with: cursors round-trip, foreign ones are 400."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.pagination import Keyset, encode_cursor
from shared.refusals import BadRequest

AT_AND_ID = Keyset(("at", datetime), ("id", UUID))
SEQ = Keyset(("before", int))

instants = st.datetimes(timezones=st.just(UTC))


@given(at=instants, id_=st.uuids())
def test_a_cursor_gives_back_exactly_the_key_it_was_made_from(at: datetime, id_: UUID) -> None:
    assert AT_AND_ID.decode(AT_AND_ID.encode((at, id_))) == (at, id_)


@given(items=st.lists(st.integers(), max_size=30), limit=st.integers(min_value=1, max_value=10))
def test_a_page_shows_at_most_limit_items_and_a_cursor_only_when_more_follow(items: list[int], limit: int) -> None:
    request = SEQ.request(None, limit)
    fetched = items[: request.fetch]
    page = SEQ.page(fetched, request, key=lambda item: (item,))
    assert page.items == items[:limit]
    if len(items) > limit:
        assert page.next_cursor is not None
        assert SEQ.decode(page.next_cursor) == (items[limit - 1],)
    else:
        assert page.next_cursor is None


@pytest.mark.parametrize(
    "values",
    [
        {"at": "yesterday", "id": "00000000-0000-0000-0000-000000000000"},
        {"at": "2026-12-01T00:00:00+00:00"},
        {"at": "2026-12-01T00:00:00+00:00", "id": "not-a-uuid"},
        {"at": True, "id": "00000000-0000-0000-0000-000000000000"},
        {"at": ["2026"], "id": "00000000-0000-0000-0000-000000000000"},
    ],
)
def test_a_cursor_of_another_shape_is_refused_as_invalid(values: dict[str, object]) -> None:
    with pytest.raises(BadRequest) as refused:
        AT_AND_ID.decode(encode_cursor(values))
    assert refused.value.code == "invalid_cursor"


def test_a_number_key_refuses_a_string_that_looks_like_one() -> None:
    with pytest.raises(BadRequest):
        SEQ.decode(encode_cursor({"before": "12"}))
