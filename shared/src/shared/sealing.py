"""Secrets at rest, sealed with AES-256-GCM under a key from the environment: one implementation for every service.

A sealed text is `nonce (12 random bytes) || ciphertext and tag`; the associated data names what was sealed (a
signing key's kid, a key batch and its partner, a webhook endpoint and who registered it), so a sealed value moved
to another row does not open. Used by the distributor for its private signing keys
(`LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY`) and by the wallet for the answers it shows once and keeps for a retry
(`WALLET_KEY_BATCH_CODES_KEY`: key batch codes, webhook secrets). A fresh random nonce per seal: 96 random bits,
never reused under one key in any volume these seal.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class SealingError(Exception):
    """The key is missing or malformed, or a sealed value does not open with it."""


class KeyEncryptionKey:
    """An AES-256-GCM key that seals other secrets; its repr never shows it."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise SealingError(f"the key-encryption key must be {KEY_BYTES} bytes, not {len(raw)}")
        self._aead = AESGCM(raw)
        self._raw = raw

    @classmethod
    def from_base64(cls, text: str) -> KeyEncryptionKey:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SealingError("the key-encryption key is not valid base64") from exc
        return cls(raw)

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    def to_base64(self) -> str:
        return base64.b64encode(self._raw).decode()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyEncryptionKey) and secrets.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return "KeyEncryptionKey(***)"

    def seal(self, plaintext: bytes, *, associated: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, *, associated: bytes, what: str = "the sealed value") -> bytes:
        """The plaintext; SealingError if it is truncated or does not open (another key, another row, tampered)."""
        if len(sealed) <= NONCE_BYTES:
            raise SealingError(f"{what} is truncated")
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)
        except InvalidTag as exc:
            raise SealingError(
                f"{what} does not open with this key-encryption key (another key, or another row)"
            ) from exc


def load_or_create_key_file(path: Path, *, variable: str) -> KeyEncryptionKey:
    """The development key in `path`, made on first use (mode 0600, never overwritten); `variable` is the setting
    an installation gives instead (named in the error)."""
    try:
        if not path.exists():
            _create_once(path, KeyEncryptionKey.generate().to_base64() + "\n")
        text = path.read_text()
    except OSError as exc:
        raise SealingError(
            f"no {variable} is set and {path} cannot be read or made ({exc}); "
            "set it to the base64 of 32 random bytes (docs/operations.md)"
        ) from exc
    return KeyEncryptionKey.from_base64(text)


def _create_once(path: Path, text: str) -> None:
    """`path` with `text` (mode 0600), unless it exists: written aside, then linked in whole, so replicas starting
    together never read a file another one has only begun to write, and all end with the same key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        # Another process may have made it just now: theirs is the key.
        with contextlib.suppress(FileExistsError):
            os.link(aside, path)
    finally:
        aside.unlink()
