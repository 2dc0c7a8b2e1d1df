"""A corpus of valid bundles and at least 10,000 mutants of them, drawn from a seed, against the simulator's verifier.

Every valid bundle must be accepted and every mutant refused: byte flips, truncations, another signing key
under the trusted `kid`, an unknown `kid`, `alg` none and HS256 (keyed with the public key, the classic
confusion), another gateway's `aud`, a lower or equal `seq`, an expired and a not-yet-valid bundle; and for the
claims of issue 14: a `lease` pushed out or `warnings` dropped under the original signature, a lease already
over (whatever `exp` says), a `lease` or `warnings` not in the shape the distributor signs, and a bundle validly
signed by a revoked key (one the gateway trusted before, which its JWKS no longer lists). The keys
are derived from the seed too, and Ed25519 signatures are deterministic, so one seed is one byte-identical
corpus. `RENTAL_BUNDLE_CORPUS_SEED` and `RENTAL_BUNDLE_CORPUS_BASES` pick another or a larger one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gateway_simulator.verifier import AcceptedBundle, BundleRejected, JsonObject, Rejection, verify_bundle

SEED = int(os.environ.get("RENTAL_BUNDLE_CORPUS_SEED", "8"))
# Each valid base bundle yields one mutant per kind below: 1,000 bases are 17,000 mutants.
BASES = int(os.environ.get("RENTAL_BUNDLE_CORPUS_BASES", "1000"))
TRUSTED_KID = "bundle-trusted"
REVOKED_KID = "bundle-revoked"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def compact(header: dict[str, object], claims: dict[str, object]) -> tuple[str, bytes]:
    """The JWS signing input, and its bytes; the distributor's header shape (`alg`, `kid`, `typ`)."""
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    text = f"{head}.{body}"
    return text, text.encode("ascii")


def ed25519_jws(key: Ed25519PrivateKey, claims: dict[str, object], *, kid: str = TRUSTED_KID) -> str:
    text, signing_input = compact({"alg": "EdDSA", "kid": kid, "typ": "licence-bundle+jwt"}, claims)
    return f"{text}.{b64url(key.sign(signing_input))}"


@dataclass(frozen=True)
class Keys:
    trusted: Ed25519PrivateKey
    other: Ed25519PrivateKey
    revoked: Ed25519PrivateKey  # published under REVOKED_KID until its revocation, no longer

    @classmethod
    def from_seed(cls, rng: random.Random) -> Keys:
        return cls(
            trusted=Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)),
            other=Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)),
            revoked=Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)),
        )

    def trusted_public(self) -> bytes:
        return self.trusted.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def jwks(self) -> JsonObject:
        """What the gateway trusts now: the revoked key is no longer published."""
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": TRUSTED_KID, "x": b64url(self.trusted_public())}]}

    def jwks_before_revocation(self) -> JsonObject:
        """What it trusted before the revocation: the revoked key listed beside the trusted one."""
        revoked = self.revoked.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {
            "keys": [
                {"kty": "OKP", "crv": "Ed25519", "kid": TRUSTED_KID, "x": b64url(self.trusted_public())},
                {"kty": "OKP", "crv": "Ed25519", "kid": REVOKED_KID, "x": b64url(revoked)},
            ]
        }


@dataclass(frozen=True)
class Case:
    """One bundle offered to gateway `hwid` holding `highest_seq`: `expected` None means it must be accepted."""

    kind: str
    jws: str
    hwid: str
    highest_seq: int
    expected: frozenset[Rejection] | None


ANY_REJECTION = frozenset(Rejection)


@dataclass(frozen=True)
class Base:
    hwid: str
    highest_seq: int
    claims: dict[str, object]


def base_bundle(rng: random.Random) -> Base:
    """A bundle this gateway must accept at NOW: seq above what it holds, NOW within nbf..exp (or no exp)."""
    hwid = rng.randbytes(6).hex()
    highest = rng.choice([0, rng.randrange(1, 1_000_000)])
    now = int(NOW.timestamp())
    nbf = now - rng.randrange(0, 3_600)
    devices = [{"hwid": rng.randbytes(6).hex(), "product": "PHONE-1"} for _ in range(rng.randrange(0, 4))]
    claims: dict[str, object] = {
        "iss": "license-distributor",
        "aud": hwid,
        "sub": str(rng.randbytes(16).hex()),
        "seq": highest + rng.randrange(1, 5),
        "iat": nbf,
        "nbf": nbf,
        "devices": devices,
        "licences": [{"type": "PORT", "count": len(devices)}] if devices else [],
        "warnings": [],
    }
    if devices:
        # The distributor's shape: exp is the earlier of the paid expiry and the lease's end.
        paid = now + rng.randrange(1, 90 * 86_400)
        lease = now + rng.randrange(1, 30 * 86_400)
        claims["exp"] = min(paid, lease)
        claims["lease"] = lease
        claims["warnings"] = [
            {"at": at, "time_left_s": paid - at}
            for at in sorted(rng.sample(range(now - 86_400, paid), k=min(rng.randrange(0, 4), paid - now + 86_400)))
        ]
    return Base(hwid=hwid, highest_seq=highest, claims=claims)


def resigned_under(valid: str, claims: dict[str, object]) -> str:
    """Other claims under the valid bundle's own header and signature: what a tamperer can produce."""
    text, _ = compact({"alg": "EdDSA", "kid": TRUSTED_KID, "typ": "licence-bundle+jwt"}, claims)
    return f"{text}.{valid.rsplit('.', 1)[1]}"


def flip(rng: random.Random, jws: str) -> str:
    """One bit of one character flipped (the low seven bits, so the text stays ASCII)."""
    data = bytearray(jws.encode("ascii"))
    at = rng.randrange(len(data))
    data[at] ^= 1 << rng.randrange(7)
    return data.decode("ascii")


def mutants(rng: random.Random, keys: Keys, base: Base, valid: str) -> Iterator[Case]:
    claims, hwid, held = base.claims, base.hwid, base.highest_seq
    now = int(NOW.timestamp())

    def case(kind: str, jws: str, expected: frozenset[Rejection] = ANY_REJECTION) -> Case:
        return Case(kind=kind, jws=jws, hwid=hwid, highest_seq=held, expected=expected)

    yield case("byte_flip", flip(rng, valid))
    yield case("truncated", valid[: rng.randrange(len(valid))])
    yield case("other_key", ed25519_jws(keys.other, claims), frozenset({Rejection.BAD_SIGNATURE}))
    unknown = f"bundle-{rng.randbytes(4).hex()}"
    yield case("unknown_kid", ed25519_jws(keys.other, claims, kid=unknown), frozenset({Rejection.UNKNOWN_KEY}))
    text, _ = compact({"alg": rng.choice(["none", "None", "NONE"]), "kid": TRUSTED_KID}, claims)
    signature = rng.choice(["", valid.rsplit(".", 1)[1]])
    yield case("alg_none", f"{text}.{signature}", frozenset({Rejection.ALG_NOT_ALLOWED}))
    text, signing_input = compact({"alg": "HS256", "kid": TRUSTED_KID, "typ": "licence-bundle+jwt"}, claims)
    # Keyed with what an attacker knows: the public key, raw or as its JWKS text.
    secret = rng.choice([keys.trusted_public(), b64url(keys.trusted_public()).encode()])
    mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
    yield case("alg_hs256", f"{text}.{b64url(mac)}", frozenset({Rejection.ALG_NOT_ALLOWED}))
    other_aud = rng.choice([rng.randbytes(6).hex(), hwid.upper(), hwid[:-1], "", None])
    yield case(
        "other_aud", ed25519_jws(keys.trusted, {**claims, "aud": other_aud}), frozenset({Rejection.WRONG_AUDIENCE})
    )
    lower = rng.randrange(0, held + 1)  # equal included: a replay of the held bundle
    yield case("stale_seq", ed25519_jws(keys.trusted, {**claims, "seq": lower}), frozenset({Rejection.STALE_SEQ}))
    expired = {**claims, "exp": now - rng.randrange(0, 30 * 86_400)}  # exp == now is already over
    yield case("expired", ed25519_jws(keys.trusted, expired), frozenset({Rejection.EXPIRED}))
    early = {**claims, "nbf": now + rng.randrange(1, 30 * 86_400)}
    yield case("not_yet_valid", ed25519_jws(keys.trusted, early), frozenset({Rejection.NOT_YET_VALID}))
    # Signed by the trusted key over a header naming an algorithm the gateway does not allow.
    text, signing_input = compact(
        {"alg": rng.choice(["ES256", "RS256", "EdDSA ", "eddsa"]), "kid": TRUSTED_KID}, claims
    )
    yield case(
        "alg_other",
        f"{text}.{b64url(keys.trusted.sign(signing_input))}",
        frozenset({Rejection.ALG_NOT_ALLOWED}),
    )
    # The claims of issue 14. Pushed out or dropped without the key: the signature no longer verifies.
    lease = claims.get("lease")
    later = (lease if isinstance(lease, int) else now) + rng.randrange(1, 365 * 86_400)
    yield case(
        "lease_extended",
        resigned_under(valid, {**claims, "lease": later, "exp": later}),
        frozenset({Rejection.BAD_SIGNATURE}),
    )
    dropped = rng.choice([[], [{"at": now - 1, "time_left_s": 0}]])
    yield case(
        "warnings_dropped",
        resigned_under(
            valid, {**claims, "warnings": dropped if dropped != claims["warnings"] else [{"at": 0, "time_left_s": 0}]}
        ),
        frozenset({Rejection.BAD_SIGNATURE}),
    )
    # Signed by the trusted key, but the lease is over: refused however far `exp` is.
    over = {**claims, "lease": now - rng.randrange(0, 30 * 86_400), "exp": now + rng.randrange(1, 30 * 86_400)}
    yield case("lease_expired", ed25519_jws(keys.trusted, over), frozenset({Rejection.EXPIRED}))
    odd_lease = rng.choice([str(now + 60), float(now + 60), True, None, [now + 60]])
    yield case(
        "lease_malformed", ed25519_jws(keys.trusted, {**claims, "lease": odd_lease}), frozenset({Rejection.MALFORMED})
    )
    odd_warnings = rng.choice(
        ["soon", {"at": now}, [now + 60], [{"at": str(now), "time_left_s": 1}], [{"at": now + 60}], [None]]
    )
    yield case(
        "warnings_malformed",
        ed25519_jws(keys.trusted, {**claims, "warnings": odd_warnings}),
        frozenset({Rejection.MALFORMED}),
    )
    # Validly signed by a key the gateway trusted until it was revoked: no longer published, so unknown.
    yield case("revoked_kid", ed25519_jws(keys.revoked, claims, kid=REVOKED_KID), frozenset({Rejection.UNKNOWN_KEY}))


def corpus(*, seed: int, bases: int) -> tuple[JsonObject, list[Case]]:
    rng = random.Random(seed)
    keys = Keys.from_seed(rng)
    cases: list[Case] = []
    for _ in range(bases):
        base = base_bundle(rng)
        valid = ed25519_jws(keys.trusted, base.claims)
        cases.append(Case(kind="valid", jws=valid, hwid=base.hwid, highest_seq=base.highest_seq, expected=None))
        cases.extend(mutants(rng, keys, base, valid))
    return keys.jwks(), cases


Verify = Callable[..., AcceptedBundle]


def wrong_answers(jwks: JsonObject, cases: list[Case], *, verify: Verify = verify_bundle) -> list[str]:
    """Each case the verifier answered wrongly: a valid one refused, a mutant accepted or refused for another reason."""
    wrong = []
    for case in cases:
        try:
            verify(case.jws, jwks=jwks, hwid=case.hwid, highest_seq=case.highest_seq, now=NOW)
        except BundleRejected as rejected:
            if case.expected is None:
                wrong.append(f"{case.kind}: a valid bundle refused ({rejected}): {case.jws}")
            elif rejected.reason not in case.expected:
                wrong.append(f"{case.kind}: refused as {rejected.reason}, expected {sorted(case.expected)}: {case.jws}")
            continue
        if case.expected is not None:
            wrong.append(f"{case.kind}: a mutant accepted: {case.jws}")
    return wrong


def test_the_corpus_has_ten_thousand_mutants_of_every_kind_and_is_the_same_for_the_same_seed() -> None:
    _, cases = corpus(seed=SEED, bases=BASES)
    kinds = Counter(case.kind for case in cases)
    assert sum(n for kind, n in kinds.items() if kind != "valid") >= 10_000, kinds
    assert kinds["valid"] == BASES
    assert len({kind for kind in kinds if kind != "valid"}) == 17
    _, again = corpus(seed=SEED, bases=BASES)
    assert again == cases
    _, other = corpus(seed=SEED + 1, bases=BASES)
    assert other != cases


def test_the_verifier_accepts_every_valid_bundle_and_refuses_every_mutant_for_its_reason() -> None:
    jwks, cases = corpus(seed=SEED, bases=BASES)
    wrong = wrong_answers(jwks, cases)
    assert wrong == [], f"{len(wrong)} wrong answers, first ones:\n" + "\n".join(wrong[:20])


def test_a_revoked_kid_mutant_is_a_valid_bundle_under_the_keys_trusted_before_the_revocation() -> None:
    """The revoked-`kid` mutants differ from valid bundles only in that their key is no longer published: under
    the JWKS of before the revocation every one is accepted, under the current one every one is `unknown_key`."""
    rng = random.Random(SEED)
    keys = Keys.from_seed(rng)
    _, cases = corpus(seed=SEED, bases=200)
    revoked = [case for case in cases if case.kind == "revoked_kid"]
    assert len(revoked) == 200
    before = [replace(case, expected=None) for case in revoked]
    assert wrong_answers(keys.jwks_before_revocation(), before) == []
    assert wrong_answers(keys.jwks(), revoked) == []
    assert _kids(keys.jwks()) == {TRUSTED_KID}
    assert _kids(keys.jwks_before_revocation()) == {TRUSTED_KID, REVOKED_KID}


def _kids(jwks: JsonObject) -> set[str]:
    listed = jwks["keys"]
    assert isinstance(listed, list)
    return {str(key["kid"]) for key in listed if isinstance(key, dict)}


def test_the_corpus_catches_a_verifier_that_lets_stale_seqs_through() -> None:
    """The check itself can fail: a verifier weakened in one place is caught by that kind of mutant alone."""
    jwks, cases = corpus(seed=SEED, bases=50)

    def forgetful(jws: str, **kwargs: object) -> AcceptedBundle:
        return verify_bundle(jws, **{**kwargs, "highest_seq": -1})  # type: ignore[arg-type]

    caught = wrong_answers(jwks, cases, verify=forgetful)
    assert len(caught) == 50
    assert all(line.startswith("stale_seq: a mutant accepted") for line in caught), caught[:5]


def test_the_corpus_catches_a_verifier_that_accepts_anything() -> None:
    jwks, cases = corpus(seed=SEED, bases=50)
    valid = {case.jws: case for case in cases if case.expected is None}

    def credulous(_jws: str, **_checks: object) -> AcceptedBundle:  # verify_bundle's signature
        base = next(iter(valid.values()))
        return verify_bundle(base.jws, jwks=jwks, hwid=base.hwid, highest_seq=base.highest_seq, now=NOW)

    caught = wrong_answers(jwks, cases, verify=credulous)
    assert len(caught) == len(cases) - len(valid)
