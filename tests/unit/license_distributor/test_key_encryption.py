"""Private signing keys sealed under the key-encryption key: AES-256-GCM, the kid bound as associated data."""

from __future__ import annotations

import base64
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from license_distributor import key_encryption
from license_distributor.key_encryption import (
    KeyEncryptionError,
    KeyEncryptionKey,
    current_kek,
    installed,
    load_or_create_kek_file,
    open_private_jwk,
    resolve_kek,
    seal_private_jwk,
)
from license_distributor.signing import generate_signing_key

KEY = generate_signing_key()


def test_a_sealed_key_opens_with_its_kek_and_kid_to_exactly_what_was_sealed() -> None:
    kek = KeyEncryptionKey.generate()
    sealed = seal_private_jwk(kek, kid=KEY.kid, private_jwk=KEY.private_jwk)
    assert open_private_jwk(kek, kid=KEY.kid, sealed=sealed) == KEY.private_jwk
    assert KEY.private_jwk["d"].encode() not in sealed
    # A fresh nonce every time: the same key sealed twice is two different texts.
    assert seal_private_jwk(kek, kid=KEY.kid, private_jwk=KEY.private_jwk) != sealed


def test_another_kek_another_kid_or_a_changed_byte_does_not_open() -> None:
    kek = KeyEncryptionKey.generate()
    sealed = seal_private_jwk(kek, kid=KEY.kid, private_jwk=KEY.private_jwk)
    with pytest.raises(KeyEncryptionError, match="does not open"):
        open_private_jwk(KeyEncryptionKey.generate(), kid=KEY.kid, sealed=sealed)
    with pytest.raises(KeyEncryptionError, match="does not open"):
        open_private_jwk(kek, kid="bundle-000000000000", sealed=sealed)
    with pytest.raises(KeyEncryptionError, match="truncated"):
        open_private_jwk(kek, kid=KEY.kid, sealed=sealed[:12])


@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_single_byte_changed_is_refused(position: int, flip: int) -> None:
    kek = KeyEncryptionKey(bytes(range(32)))
    sealed = bytearray(seal_private_jwk(kek, kid=KEY.kid, private_jwk=KEY.private_jwk))
    sealed[position % len(sealed)] ^= flip
    with pytest.raises(KeyEncryptionError):
        open_private_jwk(kek, kid=KEY.kid, sealed=bytes(sealed))


@pytest.mark.parametrize(
    ("text", "problem"),
    [("not base64!", "not valid base64"), (base64.b64encode(b"short").decode(), "must be 32 bytes")],
)
def test_a_malformed_kek_is_refused_with_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(KeyEncryptionError, match=problem):
        KeyEncryptionKey.from_base64(text)


def test_the_environment_value_wins_and_without_it_the_development_file_is_made_once_mode_0600(
    tmp_path: Path,
) -> None:
    given_kek = KeyEncryptionKey.generate()
    assert resolve_kek(value=given_kek.to_base64(), file=tmp_path / "kek") == given_kek
    assert not (tmp_path / "kek").exists()
    made = resolve_kek(value=None, file=tmp_path / "dev" / "kek")
    assert stat.S_IMODE((tmp_path / "dev" / "kek").stat().st_mode) == 0o600
    assert load_or_create_kek_file(tmp_path / "dev" / "kek") == made  # read again, never replaced
    with pytest.raises(KeyEncryptionError, match="is required"):
        resolve_kek(value=None, file=None)


def test_a_kek_file_that_cannot_be_made_says_which_setting_to_give(tmp_path: Path) -> None:
    # As in an image with a read-only file system and no KEK given. A file where the directory should be stands in
    # for it (a read-only directory would not stop root).
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    with pytest.raises(KeyEncryptionError, match="LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY"):
        resolve_kek(value=None, file=blocked / "kek")


def test_one_process_has_one_kek_installed_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # A registry of its own: a distributor of another suite may be running in this process with the real one.
    monkeypatch.setattr(key_encryption, "_installed", [])
    first, other = KeyEncryptionKey.generate(), KeyEncryptionKey.generate()
    with installed(first), installed(KeyEncryptionKey.from_base64(first.to_base64())):
        assert current_kek() == first
        with pytest.raises(KeyEncryptionError, match="another key-encryption key"), installed(other):
            pass
    with installed(other):
        assert current_kek() == other
    assert "***" in repr(first)
    assert first.to_base64() not in repr(first)


def test_replicas_making_the_development_file_together_all_read_the_one_key_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "kek"
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda _: load_or_create_kek_file(path), range(32)))
    assert all(k == keys[0] for k in keys)
    assert KeyEncryptionKey.from_base64(path.read_text()) == keys[0]
    assert sorted(p.name for p in path.parent.iterdir()) == ["kek"]  # nothing left aside
