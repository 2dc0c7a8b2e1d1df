"""A key batch's codes sealed with AES-GCM open only with the key, for the batch and the partner they were
sealed for."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from shared.sealing import KeyEncryptionKey
from wallet import domain
from wallet.config import Settings, sealing_key


@given(answer=st.binary(max_size=2000), issued_by=st.text(max_size=40))
def test_sealed_codes_open_to_the_first_answer(answer: bytes, issued_by: str) -> None:
    key, batch_id = KeyEncryptionKey.generate(), uuid.uuid4()
    sealed = domain.seal_codes(key, batch_id=batch_id, issued_by=issued_by, answer=answer)
    assert domain.open_codes(key, batch_id=batch_id, issued_by=issued_by, codes=sealed) == answer
    # A short answer may turn up in random bytes by chance; a code-sized one never does.
    assert len(answer) < 16 or answer not in sealed.sealed
    assert len(sealed.sealed) == len(answer) + 16  # the ciphertext and its tag


def test_they_do_not_open_with_another_key_batch_or_partner_or_when_tampered() -> None:
    key, batch_id, answer = KeyEncryptionKey.generate(), uuid.uuid4(), b'{"keys": ["ABCD-EFGH"]}'
    sealed = domain.seal_codes(key, batch_id=batch_id, issued_by="partner-a", answer=answer)
    flipped = bytes([sealed.sealed[0] ^ 1]) + sealed.sealed[1:]
    assert (
        domain.open_codes(KeyEncryptionKey.generate(), batch_id=batch_id, issued_by="partner-a", codes=sealed) is None
    )
    assert domain.open_codes(key, batch_id=uuid.uuid4(), issued_by="partner-a", codes=sealed) is None
    assert domain.open_codes(key, batch_id=batch_id, issued_by="partner-b", codes=sealed) is None
    tampered = domain.SealedAnswer(nonce=sealed.nonce, sealed=flipped)
    assert domain.open_codes(key, batch_id=batch_id, issued_by="partner-a", codes=tampered) is None


def test_every_seal_has_its_own_nonce() -> None:
    key, batch_id = KeyEncryptionKey.generate(), uuid.uuid4()
    nonces = {domain.seal_codes(key, batch_id=batch_id, issued_by="p", answer=b"x").nonce for _ in range(100)}
    assert len(nonces) == 100


@pytest.mark.parametrize("value", ["", "not base64!", "AAAA", "A" * 44])
def test_the_key_must_be_32_bytes_of_base64(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(key_batch_codes_key=SecretStr(value))


def test_the_development_default_is_a_256_bit_key() -> None:
    assert len(base64.b64decode(sealing_key(Settings().key_batch_codes_key).to_base64())) == 32


def test_codes_sealed_before_shared_sealing_still_open() -> None:
    """The at-rest format is unchanged: a row sealed by the wallet's own AES-GCM code of before opens."""
    raw, batch_id, answer = os.urandom(32), uuid.uuid4(), b'{"keys": ["ABCD-EFGH"]}'
    nonce = os.urandom(12)
    legacy = AESGCM(raw).encrypt(nonce, answer, f"{batch_id}\npartner-a".encode())
    row = domain.SealedAnswer(nonce=nonce, sealed=legacy)
    assert domain.open_codes(KeyEncryptionKey(raw), batch_id=batch_id, issued_by="partner-a", codes=row) == answer


def test_a_webhook_secret_sealed_for_its_endpoint_does_not_open_as_a_key_batch() -> None:
    key, endpoint_id = KeyEncryptionKey.generate(), uuid.uuid4()
    sealed = domain.seal_answer(key, b"whsec_x", associated=domain.webhook_secret_associated(endpoint_id, "p"))
    assert domain.open_answer(key, sealed, associated=domain.webhook_secret_associated(endpoint_id, "p")) == b"whsec_x"
    assert domain.open_answer(key, sealed, associated=domain.webhook_secret_associated(endpoint_id, "q")) is None
    assert domain.open_codes(key, batch_id=endpoint_id, issued_by="p", codes=sealed) is None
