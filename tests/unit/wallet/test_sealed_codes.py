"""A key batch's codes sealed with AES-GCM open only with the key, for the batch and the partner they were
sealed for."""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from wallet import domain
from wallet.config import Settings, key_bytes


@given(answer=st.binary(max_size=2000), issued_by=st.text(max_size=40))
def test_sealed_codes_open_to_the_first_answer(answer: bytes, issued_by: str) -> None:
    key, batch_id = os.urandom(32), uuid.uuid4()
    sealed = domain.seal_codes(key, batch_id=batch_id, issued_by=issued_by, answer=answer)
    assert domain.open_codes(key, batch_id=batch_id, issued_by=issued_by, codes=sealed) == answer
    # A short answer may turn up in random bytes by chance; a code-sized one never does.
    assert len(answer) < 16 or answer not in sealed.sealed
    assert len(sealed.sealed) == len(answer) + 16  # the ciphertext and its tag


def test_they_do_not_open_with_another_key_batch_or_partner_or_when_tampered() -> None:
    key, batch_id, answer = os.urandom(32), uuid.uuid4(), b'{"keys": ["ABCD-EFGH"]}'
    sealed = domain.seal_codes(key, batch_id=batch_id, issued_by="partner-a", answer=answer)
    flipped = bytes([sealed.sealed[0] ^ 1]) + sealed.sealed[1:]
    assert domain.open_codes(os.urandom(32), batch_id=batch_id, issued_by="partner-a", codes=sealed) is None
    assert domain.open_codes(key, batch_id=uuid.uuid4(), issued_by="partner-a", codes=sealed) is None
    assert domain.open_codes(key, batch_id=batch_id, issued_by="partner-b", codes=sealed) is None
    tampered = domain.SealedCodes(nonce=sealed.nonce, sealed=flipped)
    assert domain.open_codes(key, batch_id=batch_id, issued_by="partner-a", codes=tampered) is None


def test_every_seal_has_its_own_nonce() -> None:
    key, batch_id = os.urandom(32), uuid.uuid4()
    nonces = {domain.seal_codes(key, batch_id=batch_id, issued_by="p", answer=b"x").nonce for _ in range(100)}
    assert len(nonces) == 100


@pytest.mark.parametrize("value", ["", "not base64!", "AAAA", "A" * 44])
def test_the_key_must_be_32_bytes_of_base64(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(key_batch_codes_key=SecretStr(value))


def test_the_development_default_is_a_256_bit_key() -> None:
    assert len(key_bytes(Settings().key_batch_codes_key)) == 32
