"""`shared.sealing`: AES-256-GCM under a key from the environment, what it sealed bound as associated data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.sealing import NONCE_BYTES, KeyEncryptionKey, SealingError


@given(plaintext=st.binary(max_size=512), associated=st.binary(max_size=64))
def test_a_sealed_value_opens_to_what_was_sealed_with_its_key_and_associated_data(
    plaintext: bytes, associated: bytes
) -> None:
    key = KeyEncryptionKey(bytes(range(32)))
    sealed = key.seal(plaintext, associated=associated)
    assert key.open(sealed, associated=associated) == plaintext
    assert len(sealed) == NONCE_BYTES + len(plaintext) + 16  # the nonce, the ciphertext and its tag


@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_another_key_or_other_associated_data_is_refused(position: int, flip: int) -> None:
    key = KeyEncryptionKey(bytes(range(32)))
    sealed = bytearray(key.seal(b"whsec_secret", associated=b"row-1"))
    sealed[position % len(sealed)] ^= flip
    with pytest.raises(SealingError, match="does not open"):
        key.open(bytes(sealed), associated=b"row-1")
    intact = key.seal(b"whsec_secret", associated=b"row-1")
    with pytest.raises(SealingError, match="does not open"):
        key.open(intact, associated=b"row-2")
    with pytest.raises(SealingError, match="does not open"):
        KeyEncryptionKey.generate().open(intact, associated=b"row-1")
    with pytest.raises(SealingError, match="truncated"):
        key.open(intact[:NONCE_BYTES], associated=b"row-1")


def test_every_seal_has_its_own_nonce_and_the_key_never_shows_in_its_repr() -> None:
    key = KeyEncryptionKey.generate()
    assert len({key.seal(b"x", associated=b"")[:NONCE_BYTES] for _ in range(100)}) == 100
    assert key.to_base64() not in repr(key)
    assert KeyEncryptionKey.from_base64(key.to_base64()) == key
