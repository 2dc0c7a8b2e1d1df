"""Provisioning rules, free of I/O: hardware ids, products, device types, gateway keys, provisioning codes.

Every refusal here is a `Refusal` with its own `code`, so the HTTP layer only has to let it through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

# What kind of hardware enrols: defined with the events, since contracts lists devices by it too.
from shared.events.provisioning import DeviceType as DeviceType
from shared.refusals import Conflict, NotFound, Refusal, Unprocessable

# --- hardware ids -------------------------------------------------------------------------------

_HWID_PLAIN = re.compile(r"[0-9a-fA-F]{12}")
# The MAC notations people copy from a label: pairs joined by one consistent separator.
_HWID_MAC = re.compile(r"[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}")


class InvalidHardwareId(Unprocessable):
    code = "invalid_hwid"


def parse_hwid(raw: str) -> str:
    """The canonical hardware id: 12 lower-case hex digits. Also takes `AA:BB:CC:DD:EE:FF` and `AA-BB-...`."""
    if _HWID_PLAIN.fullmatch(raw):
        return raw.lower()
    if _HWID_MAC.fullmatch(raw):
        return raw.replace(raw[2], "").lower()
    raise InvalidHardwareId(f"a hardware id is 12 hexadecimal digits (e.g. 0004f2a1b2c3), not {raw[:40]!r}")


def ensure_not_in_other_domain(hwid: str, *, here: UUID, found_in: UUID | None) -> None:
    """A unit sits in one domain at most, as a gateway, a device or both: `found_in` is where it is present."""
    if found_in is not None and found_in != here:
        raise Conflict(
            f"hardware id {hwid} belongs to another domain; remove it there first", code="hwid_in_other_domain"
        )


# --- products and device types ------------------------------------------------------------------

# Products are tariff keys in contracts (`PUT /tariffs/{product}`): keep them path-safe.
_PRODUCT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class InvalidProduct(Unprocessable):
    code = "invalid_product"


def parse_product(raw: str) -> str:
    if not _PRODUCT.fullmatch(raw):
        raise InvalidProduct("a product is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return raw


@dataclass(frozen=True)
class Hardware:
    """A unit as it names itself, in canonical form: its hardware id and its product."""

    hwid: str
    product: str


@dataclass(frozen=True)
class DeviceDetails(Hardware):
    """What a device says it is when it enrols: the same details again are the same device."""

    type: DeviceType


def parse_device(*, hwid: str, product: str, device_type: DeviceType) -> DeviceDetails:
    return DeviceDetails(hwid=parse_hwid(hwid), product=parse_product(product), type=device_type)


# --- gateway public keys ------------------------------------------------------------------------

_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


class InvalidPublicKey(Unprocessable):
    code = "invalid_public_key"


def _decode_point(raw: bytes) -> tuple[int, int] | None:
    """RFC 8032 5.1.3: the curve point a 32-byte encoding names, or None if it names none."""
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= _P:
        return None
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P != 0:
        if (v * x * x + u) % _P != 0:
            return None
        x = (x * _SQRT_M1) % _P
    if x == 0 and sign == 1:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _double(point: tuple[int, int]) -> tuple[int, int]:
    # Twisted Edwards addition with a = -1 (complete, since d is not a square), of the point with itself.
    x, y = point
    t = (_D * x * x * y * y) % _P
    x2 = (2 * x * y * pow(1 + t, _P - 2, _P)) % _P
    y2 = ((y * y + x * x) * pow(1 - t, _P - 2, _P)) % _P
    return x2, y2


def _has_small_order(point: tuple[int, int]) -> bool:
    # The curve's cofactor is 8: a point of order 1, 2, 4 or 8 becomes the identity (0, 1) after 3 doublings.
    for _ in range(3):
        point = _double(point)
    return point == (0, 1)


def parse_gateway_public_key(encoded: str) -> str:
    """The canonical (unpadded base64url) form of a gateway's raw 32-byte Ed25519 public key.

    Refuses anything else: other lengths, PEM/DER wrappers, non-canonical encodings, 32 bytes that are no
    curve point, and the small-order points (a signature by such a "key" proves nothing about its holder).
    """
    stripped = encoded.rstrip("=")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", stripped):
        raise InvalidPublicKey("public_key must be base64url (A-Z, a-z, 0-9, '-', '_') of the raw 32-byte key")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidPublicKey("public_key is not valid base64url") from exc
    if len(raw) != 32:
        raise InvalidPublicKey(f"public_key must be the raw 32-byte Ed25519 key; this one is {len(raw)} bytes")
    canonical = encode_public_key(raw)
    if canonical != stripped:
        raise InvalidPublicKey("public_key is not in canonical base64url (its unused trailing bits are set)")
    point = _decode_point(raw)
    if point is None:
        raise InvalidPublicKey("public_key is 32 bytes but not a point of the Ed25519 curve")
    if _has_small_order(point):
        raise InvalidPublicKey("public_key is a small-order point, not a usable Ed25519 key")
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise InvalidPublicKey(f"public_key does not load as an Ed25519 key: {exc}") from exc
    return canonical


def encode_public_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class GatewayDetails(Hardware):
    """What identifies a gateway registration: the same details again are the same gateway."""

    public_key: str


def parse_gateway(*, hwid: str, product: str, public_key: str) -> GatewayDetails:
    return GatewayDetails(
        hwid=parse_hwid(hwid), product=parse_product(product), public_key=parse_gateway_public_key(public_key)
    )


# --- provisioning codes -------------------------------------------------------------------------

# Crockford's base 32: digits and upper-case letters without I, L, O and U, so nothing reads as something
# else; typing is forgiving (case, spaces, hyphens, I/L for 1, O for 0).
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 bits: an offline guess at a leaked hash cannot finish within a code's lifetime
CODE_GROUP = 4
_TYPING_FIXES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_TYPING_NOISE = re.compile(r"[\s-]")

DEFAULT_CODE_VALIDITY = timedelta(hours=24)
MAX_CODE_VALIDITY = timedelta(days=30)
MAX_CODE_USES = 10_000


def generate_code() -> str:
    """A fresh code as shown to a person: `XXXX-XXXX-XXXX`."""
    symbols = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(symbols[i : i + CODE_GROUP] for i in range(0, CODE_LENGTH, CODE_GROUP))


def normalise_code(typed: str) -> str | None:
    """The 12 symbols a typed code stands for, or None if it cannot be one of ours."""
    symbols = _TYPING_NOISE.sub("", typed).upper().translate(_TYPING_FIXES)
    if len(symbols) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in symbols):
        return None
    return symbols


def hash_code(symbols: str) -> bytes:
    """Codes are stored only as this hash: a database dump does not hand out entry to anyone's domain.

    60 random bits need no salt or slow hash to outlast the code's lifetime (30 days at most).
    """
    return hashlib.sha256(f"provisioning-code:{symbols}".encode()).digest()


def code_hint(symbols: str) -> str:
    """The last 4 symbols, so a person can tell their codes apart in a list without the code being shown."""
    return symbols[-CODE_GROUP:]


class CodeRefused(Refusal):
    """Any refusal of a presented code; these count as failed attempts for the per-address rate limit."""


class CodeUnknown(CodeRefused, NotFound):
    code = "provisioning_code_unknown"


class CodeGone(CodeRefused):
    status, title = 410, "Provisioning code no longer valid"


class CodeExpired(CodeGone):
    code = "provisioning_code_expired"


class CodeUsedUp(CodeGone):
    code = "provisioning_code_used_up"


class CodeRevoked(CodeGone):
    code = "provisioning_code_revoked"


@dataclass(frozen=True)
class CodeState:
    expires_at: datetime
    max_uses: int
    uses: int
    revoked_at: datetime | None


def ensure_code_usable(code: CodeState, *, now: datetime) -> None:
    """A code admits one more device while it is not revoked, not expired and has uses left."""
    if code.revoked_at is not None and code.revoked_at <= now:
        raise CodeRevoked("this provisioning code was revoked; ask for a new one")
    if now >= code.expires_at:
        raise CodeExpired(f"this provisioning code expired at {code.expires_at.isoformat()}; ask for a new one")
    if code.uses >= code.max_uses:
        raise CodeUsedUp("this provisioning code has been used as often as it allows; ask for a new one")


def code_expiry(*, now: datetime, valid_for: timedelta | None) -> datetime:
    validity = DEFAULT_CODE_VALIDITY if valid_for is None else valid_for
    if not timedelta(minutes=1) <= validity <= MAX_CODE_VALIDITY:
        raise Unprocessable(
            f"a provisioning code is valid for 60 s to {int(MAX_CODE_VALIDITY.total_seconds())} s",
            code="invalid_code_validity",
        )
    return now + validity
