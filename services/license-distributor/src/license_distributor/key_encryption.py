"""Private signing keys at rest: sealed with AES-256-GCM under a key-encryption key (KEK) from the environment.

A stored key is `nonce (12 bytes) || ciphertext and tag` of its private JWK (JSON), with associated data that binds
the kid: a sealed key copied into another key's row does not open. The KEK is 32 random bytes, given base64-encoded
in `LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY`. Without it, a development run reads (or makes, once) the file
`LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY_FILE` (default `.dev/license-distributor-kek`, mode 0600), the way the
development issuer's key is kept; an installation sets the variable from a secret (docs/operations.md), and a
process that has neither a key nor a writable file refuses to start.

The composition root installs the process's KEK (`installed`); the use cases open and seal with it
(`current_kek`). One process has one KEK: installing a different one while another is in use is refused.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEK_BYTES = 32
# The development KEK's file name in the development directory (.dev/).
DEV_KEK_FILE = "license-distributor-kek"
NONCE_BYTES = 12
AAD_PREFIX = b"licensing.signing_key:"


class KeyEncryptionError(Exception):
    """The KEK is missing or malformed, or a sealed key does not open with it."""


class KeyEncryptionKey:
    """An AES-256-GCM key; `fingerprint` names it in logs without revealing it."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEK_BYTES:
            raise KeyEncryptionError(f"the key-encryption key must be {KEK_BYTES} bytes, not {len(raw)}")
        self._aead = AESGCM(raw)
        self._raw = raw

    @classmethod
    def from_base64(cls, text: str) -> KeyEncryptionKey:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KeyEncryptionError("the key-encryption key is not valid base64") from exc
        return cls(raw)

    @classmethod
    def generate(cls) -> KeyEncryptionKey:
        return cls(secrets.token_bytes(KEK_BYTES))

    def to_base64(self) -> str:
        return base64.b64encode(self._raw).decode()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyEncryptionKey) and secrets.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return "KeyEncryptionKey(***)"

    def seal(self, *, kid: str, private_jwk: dict[str, str]) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        plaintext = json.dumps(private_jwk, sort_keys=True, separators=(",", ":")).encode()
        return nonce + self._aead.encrypt(nonce, plaintext, AAD_PREFIX + kid.encode())

    def open(self, *, kid: str, sealed: bytes) -> dict[str, str]:
        if len(sealed) <= NONCE_BYTES:
            raise KeyEncryptionError(f"the sealed key {kid!r} is truncated")
        try:
            plaintext = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], AAD_PREFIX + kid.encode())
        except InvalidTag as exc:
            raise KeyEncryptionError(
                f"the signing key {kid!r} does not open with this key-encryption key (another KEK, or another row)"
            ) from exc
        opened = json.loads(plaintext)
        assert isinstance(opened, dict)
        return {str(k): str(v) for k, v in opened.items()}


def load_or_create_kek_file(path: Path) -> KeyEncryptionKey:
    """The development KEK in `path`, made on first use (mode 0600, never overwritten)."""
    try:
        if not path.exists():
            _create_once(path, KeyEncryptionKey.generate().to_base64() + "\n")
        text = path.read_text()
    except OSError as exc:
        raise KeyEncryptionError(
            f"no LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY is set and {path} cannot be read or made ({exc}); "
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


def resolve_kek(*, value: str | None, file: Path | None) -> KeyEncryptionKey:
    """The KEK from the environment's value, else from the development file; neither: refuse."""
    if value:
        return KeyEncryptionKey.from_base64(value)
    if file is None:
        raise KeyEncryptionError(
            "LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY is required (base64 of 32 random bytes, docs/operations.md)"
        )
    return load_or_create_kek_file(file)


_installed: list[KeyEncryptionKey] = []


@contextmanager
def installed(kek: KeyEncryptionKey) -> Iterator[KeyEncryptionKey]:
    """The process's KEK while the block runs (nested installs of the same key are counted)."""
    if _installed and _installed[0] != kek:
        raise KeyEncryptionError("another key-encryption key is in use in this process; one process has one KEK")
    _installed.append(kek)
    try:
        yield kek
    finally:
        _installed.pop()


def current_kek() -> KeyEncryptionKey:
    if not _installed:
        raise KeyEncryptionError("no key-encryption key is installed (the distributor's lifespan installs it)")
    return _installed[0]
