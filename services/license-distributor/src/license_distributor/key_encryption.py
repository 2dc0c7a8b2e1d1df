"""Private signing keys at rest: sealed with AES-256-GCM under a key-encryption key (KEK) from the environment.

A stored key is `nonce (12 bytes) || ciphertext and tag` of its private JWK (JSON), with associated data that binds
the kid: a sealed key copied into another key's row does not open. The KEK is 32 random bytes, given base64-encoded
in `LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY`. Without it, a development run reads (or makes, once) the file
`LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY_FILE` (default `.dev/license-distributor-kek`, mode 0600), the way the
development issuer's key is kept; an installation sets the variable from a secret (docs/operations.md), and a
process that has neither a key nor a writable file refuses to start.

The composition root installs the process's KEK (`installed`); the use cases open and seal with it
(`current_kek`). One process has one KEK: installing a different one while another is in use is refused. The
AES-GCM itself is `shared.sealing`, the wallet's too; the stored format is unchanged by that move.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.sealing import KeyEncryptionKey, SealingError, load_or_create_key_file

__all__ = [
    "DEV_KEK_FILE",
    "KeyEncryptionError",
    "KeyEncryptionKey",
    "current_kek",
    "installed",
    "load_or_create_kek_file",
    "open_private_jwk",
    "resolve_kek",
    "seal_private_jwk",
]

# The development KEK's file name in the development directory (.dev/).
DEV_KEK_FILE = "license-distributor-kek"
AAD_PREFIX = b"licensing.signing_key:"
VARIABLE = "LICENSE_DISTRIBUTOR_KEY_ENCRYPTION_KEY"
# The sealing's own error (shared.sealing), under the name the distributor's callers know.
KeyEncryptionError = SealingError


def seal_private_jwk(kek: KeyEncryptionKey, *, kid: str, private_jwk: dict[str, str]) -> bytes:
    plaintext = json.dumps(private_jwk, sort_keys=True, separators=(",", ":")).encode()
    return kek.seal(plaintext, associated=AAD_PREFIX + kid.encode())


def open_private_jwk(kek: KeyEncryptionKey, *, kid: str, sealed: bytes) -> dict[str, str]:
    plaintext = kek.open(sealed, associated=AAD_PREFIX + kid.encode(), what=f"the signing key {kid!r}")
    opened = json.loads(plaintext)
    assert isinstance(opened, dict)
    return {str(k): str(v) for k, v in opened.items()}


def load_or_create_kek_file(path: Path) -> KeyEncryptionKey:
    """The development KEK in `path`, made on first use (mode 0600, never overwritten)."""
    return load_or_create_key_file(path, variable=VARIABLE)


def resolve_kek(*, value: str | None, file: Path | None) -> KeyEncryptionKey:
    """The KEK from the environment's value, else from the development file; neither: refuse."""
    if value:
        return KeyEncryptionKey.from_base64(value)
    if file is None:
        raise KeyEncryptionError(f"{VARIABLE} is required (base64 of 32 random bytes, docs/operations.md)")
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
