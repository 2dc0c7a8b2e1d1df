"""Bundle verification exactly as a gateway must do it (docs/design.md section 5). Pure: takes `now`, no I/O.

A bundle is accepted only if it is a well-formed compact JWS whose header says `alg: EdDSA` (nothing else,
no `crit`), whose signature verifies with the JWKS key named by `kid`, whose `aud` is this gateway, whose
`seq` is above the highest ever accepted, and whose `nbf..exp` contains now. Base64url must be canonical, so
that no two encodings of one signature exist and a flipped character is always a rejection. A bundle signed on a
test clock's time (its `test_clock` claim) is refused unless the gateway was told to follow test clocks: a
production gateway never runs on simulated time.

A bundle ends at the earlier of `exp` and `lease` (the end of its lease); `warnings` are the instants
(`at`, with the `time_left_s` each announces) at which the gateway warns its phones. Both are checked for
their shape: a bundle whose `lease` or `warnings` is not what the distributor signs is malformed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALLOWED_ALG = "EdDSA"
# Marks a bundle signed on a test clock's time (the distributor's `domain.TEST_CLOCK_CLAIM`).
TEST_CLOCK_CLAIM = "test_clock"
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")

JsonObject = Mapping[str, object]


class Rejection(StrEnum):
    MALFORMED = "malformed"
    ALG_NOT_ALLOWED = "alg_not_allowed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    STALE_SEQ = "stale_seq"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    SIMULATED = "simulated"


class BundleRejected(Exception):
    def __init__(self, reason: Rejection, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Device:
    hwid: str
    product: str


@dataclass(frozen=True, order=True)
class BundleWarning:
    """A warning the gateway raises on its phones at `at`: `time_left_s` of paid time left then."""

    at: datetime
    time_left_s: int


@dataclass(frozen=True)
class AcceptedBundle:
    jws: str
    kid: str
    seq: int
    domain: str
    issued_at: datetime
    not_before: datetime
    # When it stops letting anything run: the earlier of `exp` and `lease` (None: neither is set).
    expires_at: datetime | None
    devices: tuple[Device, ...]
    licences: tuple[tuple[str, int], ...]
    warnings: tuple[BundleWarning, ...] = ()
    # The end of its lease, as signed (None: the bundle has none, e.g. one that lets nothing run).
    lease_ends_at: datetime | None = None
    # The test clock it was signed on (None: a production bundle); only a gateway following clocks accepts one.
    test_clock_id: str | None = None

    @property
    def warnings_at(self) -> tuple[datetime, ...]:
        return tuple(w.at for w in self.warnings)

    def allows(self, hwid: str, *, now: datetime) -> bool:
        return (self.expires_at is None or now < self.expires_at) and any(d.hwid == hwid for d in self.devices)


def b64url_decode(part: str) -> bytes:
    """Strict: only the URL-safe alphabet, no padding, and the canonical encoding of what it decodes to."""
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise BundleRejected(Rejection.MALFORMED, "not base64url")
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BundleRejected(Rejection.MALFORMED, "not base64url") from exc
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != part:
        raise BundleRejected(Rejection.MALFORMED, "non-canonical base64url")
    return raw


def _json_object(raw: bytes, *, what: str) -> dict[str, object]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleRejected(Rejection.MALFORMED, f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise BundleRejected(Rejection.MALFORMED, f"{what} is not a JSON object")
    return value


def _find_key(jwks: JsonObject, kid: str) -> Ed25519PublicKey:
    keys = jwks.get("keys")
    if not isinstance(keys, Sequence):
        raise BundleRejected(Rejection.UNKNOWN_KEY, "the JWKS has no keys")
    for jwk in keys:
        if not isinstance(jwk, Mapping) or jwk.get("kid") != kid:
            continue
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
            raise BundleRejected(Rejection.UNKNOWN_KEY, f"key {kid!r} is not an Ed25519 key")
        return _public_key(kid, str(jwk["x"]))
    raise BundleRejected(Rejection.UNKNOWN_KEY, f"no key {kid!r} in the JWKS")


@functools.lru_cache(maxsize=64)
def _public_key(kid: str, x: str) -> Ed25519PublicKey:
    """A published key, parsed once: a gateway keeps the keys it trusts (the JWKS it fetched) ready to use, and
    thousands of simulated gateways in one process share them. Only the same `x` gives the same key."""
    raw = b64url_decode(x)
    if len(raw) != 32:
        raise BundleRejected(Rejection.UNKNOWN_KEY, f"key {kid!r} has the wrong length")
    return Ed25519PublicKey.from_public_bytes(raw)


def _int_claim(claims: Mapping[str, object], name: str) -> int:
    value = claims.get(name)
    # bool is an int in Python; a JSON `true` is not a number here.
    if not isinstance(value, int) or isinstance(value, bool):
        raise BundleRejected(Rejection.MALFORMED, f"claim {name!r} must be an integer")
    return value


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def signing_kid(jws: str) -> str | None:
    """The key id a bundle's header names, read without verifying anything (None if it names none): which key to
    look for before verifying, never a reason to trust it."""
    try:
        kid = _json_object(b64url_decode(jws.split(".", 1)[0]), what="header").get("kid")
    except BundleRejected:
        return None
    return kid if isinstance(kid, str) else None


def _verified_claims(jws: str, *, jwks: JsonObject) -> tuple[str, JsonObject]:
    """The key id and the claims of a compact JWS whose header we accept and whose signature verifies."""
    parts = jws.split(".")
    if len(parts) != 3:
        raise BundleRejected(Rejection.MALFORMED, "a compact JWS has three parts")
    header_b64, payload_b64, signature_b64 = parts
    header = _json_object(b64url_decode(header_b64), what="header")
    if header.get("alg") != ALLOWED_ALG:
        raise BundleRejected(Rejection.ALG_NOT_ALLOWED, f"alg {header.get('alg')!r} is not {ALLOWED_ALG}")
    if "crit" in header:
        raise BundleRejected(Rejection.MALFORMED, "critical header extensions are not understood")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise BundleRejected(Rejection.UNKNOWN_KEY, "the header names no key")
    key = _find_key(jwks, kid)
    payload = b64url_decode(payload_b64)
    signature = b64url_decode(signature_b64)
    try:
        key.verify(signature, f"{header_b64}.{payload_b64}".encode("ascii"))
    except InvalidSignature as exc:
        raise BundleRejected(Rejection.BAD_SIGNATURE, "the signature does not verify") from exc
    return kid, _json_object(payload, what="payload")


def verify_bundle(
    jws: str,
    *,
    jwks: JsonObject,
    hwid: str,
    highest_seq: int,
    now: datetime,
    issuer: str | None = None,
    accept_simulated: bool = False,
) -> AcceptedBundle:
    """Accept `jws` for gateway `hwid` or raise `BundleRejected` saying why."""
    kid, claims = _verified_claims(jws, jwks=jwks)
    test_clock = claims.get(TEST_CLOCK_CLAIM)
    if test_clock is not None and not accept_simulated:
        raise BundleRejected(Rejection.SIMULATED, f"signed on test clock {test_clock!r}: not for production")
    if issuer is not None and claims.get("iss") != issuer:
        raise BundleRejected(Rejection.WRONG_ISSUER, f"iss {claims.get('iss')!r}")
    if claims.get("aud") != hwid:
        raise BundleRejected(Rejection.WRONG_AUDIENCE, f"aud {claims.get('aud')!r} is not {hwid!r}")
    seq = _int_claim(claims, "seq")
    if seq <= highest_seq:
        raise BundleRejected(Rejection.STALE_SEQ, f"seq {seq} is not above {highest_seq}")
    nbf = _int_claim(claims, "nbf")
    iat = _int_claim(claims, "iat")
    if test_clock is not None:
        # Signed at the test clock's time, which a gateway following the clock may not have been told yet (the
        # bundles of a step come before the step's `clock` message): the bundle says how far the clock got.
        now = max(now, _instant(iat))
    if now < _instant(nbf):
        raise BundleRejected(Rejection.NOT_YET_VALID, f"valid from {_instant(nbf).isoformat()}")
    ends = [_instant(_int_claim(claims, name)) for name in ("exp", "lease") if name in claims]
    expires_at = min(ends) if ends else None
    if expires_at is not None and now >= expires_at:
        raise BundleRejected(Rejection.EXPIRED, f"expired at {expires_at.isoformat()}")
    return AcceptedBundle(
        jws=jws,
        kid=kid,
        seq=seq,
        domain=str(claims.get("sub", "")),
        issued_at=_instant(iat),
        not_before=_instant(nbf),
        expires_at=expires_at,
        devices=_devices(claims.get("devices")),
        licences=_licences(claims.get("licences")),
        warnings=_warnings(claims.get("warnings")),
        lease_ends_at=_instant(_int_claim(claims, "lease")) if "lease" in claims else None,
        test_clock_id=str(test_clock) if test_clock is not None else None,
    )


def _devices(raw: object) -> tuple[Device, ...]:
    if not isinstance(raw, list):
        raise BundleRejected(Rejection.MALFORMED, "devices must be a list")
    devices = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("hwid"), str):
            raise BundleRejected(Rejection.MALFORMED, "a device needs a hwid")
        devices.append(Device(hwid=item["hwid"], product=str(item.get("product", ""))))
    return tuple(devices)


def _licences(raw: object) -> tuple[tuple[str, int], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BundleRejected(Rejection.MALFORMED, "licences must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise BundleRejected(Rejection.MALFORMED, "a licence needs a type")
        out.append((item["type"], _int_claim(item, "count")))
    return tuple(out)


def _warnings(raw: object) -> tuple[BundleWarning, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BundleRejected(Rejection.MALFORMED, "warnings must be a list")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise BundleRejected(Rejection.MALFORMED, "a warning is an object")
        out.append(BundleWarning(at=_instant(_int_claim(item, "at")), time_left_s=_int_claim(item, "time_left_s")))
    return tuple(sorted(out))
