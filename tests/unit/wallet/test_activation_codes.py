"""Activation codes: long, grouped, with a check symbol that tells a typo from a wrong key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallet import domain


def test_a_new_code_has_120_random_bits_in_five_groups_and_validates() -> None:
    code = domain.new_activation_code()
    groups = code.split("-")
    assert [len(g) for g in groups] == [5, 5, 5, 5, 5]
    assert domain.canonical_code(code) == code.replace("-", "")


def test_codes_are_read_forgivingly_lowercase_spaces_and_look_alike_letters() -> None:
    code = domain.new_activation_code()
    canonical = code.replace("-", "")
    sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert domain.canonical_code(sloppy) == canonical


@settings(max_examples=500, deadline=None)
@given(position=st.integers(min_value=0, max_value=domain.CODE_LENGTH - 1), data=st.data())
def test_every_single_symbol_typo_is_told_apart_from_a_wrong_key(position: int, data: st.DataObject) -> None:
    canonical = domain.canonical_code(domain.new_activation_code())
    replacement = data.draw(st.sampled_from([s for s in domain.CODE_ALPHABET if s != canonical[position]]))
    typo = canonical[:position] + replacement + canonical[position + 1 :]
    with pytest.raises(domain.MistypedCode):
        domain.canonical_code(typo)


@pytest.mark.parametrize("text", ["", "ABC", "U" * 25, "!" * 25, "0" * 26])
def test_what_is_not_a_code_at_all_is_malformed(text: str) -> None:
    with pytest.raises(domain.MalformedCode):
        domain.canonical_code(text)


def test_only_a_hash_of_the_code_is_kept_and_it_differs_per_code() -> None:
    a, b = (domain.canonical_code(domain.new_activation_code()) for _ in range(2))
    assert len(domain.code_hash(a)) == 32
    assert domain.code_hash(a) != domain.code_hash(b)
    assert a.encode() not in domain.code_hash(a)
