"""The gateway's verifier accepts exactly the distributor's bundles for itself, and refuses everything else."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway_simulator.verifier import (
    AcceptedBundle,
    BundleRejected,
    BundleWarning,
    Rejection,
    b64url_decode,
    verify_bundle,
)
from license_distributor.domain import CLOCK_SKEW, Claims, ContractRental, Device, Licence, Runway, bundle_content
from license_distributor.signing import SigningKey, generate_signing_key, sign_bundle

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
HWID = "a1b2c3d4e5f6"
PHONE = Device(hwid="00112233aabb", product="PHONE-1")
KEY = generate_signing_key()
JWKS = {"keys": [KEY.public_jwk]}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def bundle(
    *,
    seq: int = 5,
    key: SigningKey = KEY,
    hwid: str = HWID,
    expires_in: timedelta | None = None,
    test_clock_id: uuid.UUID | None = None,
    issued_at: datetime = NOW,
) -> str:
    runway = Runway(depleted=False, depletes_at=NOW + expires_in if expires_in is not None else None)
    rental = ContractRental(
        contract_id=uuid.uuid4(),
        active=True,
        ends_at=None,
        devices=(PHONE,),
        licences=(Licence("PORT", 1),),
        runway=runway,
    )
    content = bundle_content(domain_id=uuid.uuid4(), rentals=[rental], now=issued_at)
    claims = Claims(
        issuer="urn:test", hwid=hwid, seq=seq, issued_at=issued_at, content=content, test_clock_id=test_clock_id
    )
    return sign_bundle(key, claims.as_dict())


def verify(jws: str, *, highest_seq: int = 4, now: datetime = NOW, jwks: dict[str, object] | None = None) -> object:
    return verify_bundle(jws, jwks=jwks or JWKS, hwid=HWID, highest_seq=highest_seq, now=now, issuer="urn:test")


def rejection(jws: str, **kwargs: object) -> Rejection:
    with pytest.raises(BundleRejected) as caught:
        verify(jws, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


def resign(jws: str, *, header: dict[str, object] | None = None, claims: dict[str, object] | None = None) -> str:
    """A forged variant: header and/or claims replaced, signed by the real key (so only the change is wrong)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    h, p, _ = jws.split(".")
    new_h = b64url(json.dumps(header).encode()) if header is not None else h
    new_p = b64url(json.dumps(claims).encode()) if claims is not None else p
    private = Ed25519PrivateKey.from_private_bytes(b64url_decode(KEY.private_jwk["d"]))
    return f"{new_h}.{new_p}.{b64url(private.sign(f'{new_h}.{new_p}'.encode()))}"


def claims_of(jws: str) -> dict[str, object]:
    value = json.loads(b64url_decode(jws.split(".")[1]))
    assert isinstance(value, dict)
    return value


def test_a_bundle_signed_by_a_published_key_for_this_gateway_with_a_higher_seq_is_accepted() -> None:
    accepted = verify_bundle(
        bundle(expires_in=timedelta(seconds=5)), jwks=JWKS, hwid=HWID, highest_seq=4, now=NOW, issuer="urn:test"
    )
    assert accepted.seq == 5
    assert accepted.expires_at == NOW + timedelta(seconds=5)
    assert accepted.allows(PHONE.hwid, now=NOW)
    assert not accepted.allows(PHONE.hwid, now=NOW + timedelta(seconds=5))
    assert not accepted.allows("ffffffffffff", now=NOW)


def test_the_header_is_exactly_eddsa_with_the_key_id() -> None:
    header = json.loads(b64url_decode(bundle().split(".")[0]))
    assert header["alg"] == "EdDSA"
    assert header["kid"] == KEY.kid


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_byte_flipped_anywhere_is_rejected(data: st.DataObject) -> None:
    jws = bundle()
    position = data.draw(st.integers(min_value=0, max_value=len(jws) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != jws[position]))
    mutated = jws[:position] + replacement + jws[position + 1 :]
    with pytest.raises(BundleRejected):
        verify(mutated)


def test_a_bundle_signed_by_another_key_is_rejected_even_under_the_published_kid() -> None:
    other = generate_signing_key()
    impostor = SigningKey(kid=KEY.kid, private_jwk={**other.private_jwk, "kid": KEY.kid}, public_jwk=other.public_jwk)
    assert rejection(bundle(key=impostor)) == Rejection.BAD_SIGNATURE
    assert rejection(bundle(key=other)) == Rejection.UNKNOWN_KEY


@pytest.mark.parametrize("alg", ["none", "HS256", "Ed25519", "ES256", "eddsa"])
def test_any_alg_but_eddsa_is_rejected(alg: str) -> None:
    jws = bundle()
    header = json.loads(b64url_decode(jws.split(".")[0]))
    assert rejection(resign(jws, header={**header, "alg": alg})) == Rejection.ALG_NOT_ALLOWED


def test_an_unsigned_alg_none_token_is_rejected() -> None:
    h = b64url(json.dumps({"alg": "none", "kid": KEY.kid}).encode())
    p = bundle().split(".")[1]
    assert rejection(f"{h}.{p}.") == Rejection.ALG_NOT_ALLOWED


def test_an_hs256_token_keyed_with_the_public_key_is_rejected() -> None:
    import hashlib
    import hmac

    h = b64url(json.dumps({"alg": "HS256", "kid": KEY.kid}).encode())
    p = bundle().split(".")[1]
    mac = hmac.new(KEY.public_jwk["x"].encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    assert rejection(f"{h}.{p}.{b64url(mac)}") == Rejection.ALG_NOT_ALLOWED


def test_a_bundle_for_another_gateway_is_rejected() -> None:
    assert rejection(bundle(hwid="ffffffffffff")) == Rejection.WRONG_AUDIENCE
    jws = bundle()
    assert rejection(resign(jws, claims={**claims_of(jws), "aud": [HWID]})) == Rejection.WRONG_AUDIENCE


@pytest.mark.parametrize("held", [5, 6, 100])
def test_an_older_or_equal_seq_is_rejected(held: int) -> None:
    assert rejection(bundle(seq=5), highest_seq=held) == Rejection.STALE_SEQ


def test_an_expired_bundle_is_rejected_from_the_second_of_its_expiry() -> None:
    jws = bundle(expires_in=timedelta(seconds=5))
    verify(jws, now=NOW + timedelta(seconds=4, milliseconds=999))
    assert rejection(jws, now=NOW + timedelta(seconds=5)) == Rejection.EXPIRED


def test_a_not_yet_valid_bundle_is_rejected() -> None:
    jws = bundle()
    # nbf is iat minus the skew allowance; a moment before it the bundle is not valid yet.
    assert rejection(jws, now=NOW - CLOCK_SKEW - timedelta(seconds=1)) == Rejection.NOT_YET_VALID
    verify(jws, now=NOW - CLOCK_SKEW)


def test_a_bundle_without_a_key_id_or_from_an_empty_jwks_is_rejected() -> None:
    jws = bundle()
    header = json.loads(b64url_decode(jws.split(".")[0]))
    del header["kid"]
    assert rejection(resign(jws, header=header)) == Rejection.UNKNOWN_KEY
    assert rejection(jws, jwks={"keys": []}) == Rejection.UNKNOWN_KEY


def test_a_seq_that_is_not_an_integer_is_malformed() -> None:
    jws = bundle()
    assert rejection(resign(jws, claims={**claims_of(jws), "seq": "9"})) == Rejection.MALFORMED
    assert rejection(resign(jws, claims={**claims_of(jws), "seq": True})) == Rejection.MALFORMED


def test_a_critical_header_extension_is_refused() -> None:
    jws = bundle()
    header = json.loads(b64url_decode(jws.split(".")[0]))
    assert rejection(resign(jws, header={**header, "crit": ["x"]})) == Rejection.MALFORMED


def test_a_non_canonical_signature_encoding_is_refused() -> None:
    jws = bundle()
    h, p, s = jws.split(".")
    # The last character of a 64-byte signature carries 4 unused bits; setting one keeps the bytes the same.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    variant = alphabet[alphabet.index(s[-1]) ^ 1]
    assert rejection(f"{h}.{p}.{s[:-1]}{variant}") == Rejection.MALFORMED


def test_an_issuer_other_than_the_distributor_is_rejected() -> None:
    jws = bundle()
    assert rejection(resign(jws, claims={**claims_of(jws), "iss": "urn:evil"})) == Rejection.WRONG_ISSUER


def test_a_bundle_ends_at_its_lease_when_that_comes_before_its_exp() -> None:
    jws = bundle(expires_in=timedelta(days=30))
    claims = claims_of(jws)
    lease = int((NOW + timedelta(hours=1)).timestamp())
    leased = resign(jws, claims={**claims, "lease": lease})
    accepted = verify(leased)
    assert isinstance(accepted, AcceptedBundle)
    assert accepted.lease_ends_at == NOW + timedelta(hours=1)
    assert accepted.expires_at == NOW + timedelta(hours=1)
    assert rejection(leased, now=NOW + timedelta(hours=1)) == Rejection.EXPIRED
    # A lease alone (no exp) still ends the bundle.
    no_exp = {k: v for k, v in claims.items() if k != "exp"}
    assert rejection(resign(jws, claims={**no_exp, "lease": lease}), now=NOW + timedelta(hours=2)) == Rejection.EXPIRED


@pytest.mark.parametrize(
    "claim",
    [
        {"lease": "soon"},
        {"lease": True},
        {"warnings": "low"},
        {"warnings": [1]},
        {"warnings": [{"at": "now", "time_left_s": 1}]},
        {"warnings": [{"at": 1}]},
    ],
)
def test_a_lease_or_warnings_not_as_the_distributor_signs_them_are_malformed(claim: dict[str, object]) -> None:
    jws = bundle(expires_in=timedelta(days=1))
    assert rejection(resign(jws, claims={**claims_of(jws), **claim})) == Rejection.MALFORMED


def test_the_warnings_are_read_with_the_time_left_each_announces() -> None:
    jws = bundle(expires_in=timedelta(days=1))
    at = int((NOW + timedelta(hours=20)).timestamp())
    accepted = verify(resign(jws, claims={**claims_of(jws), "warnings": [{"at": at, "time_left_s": 14_400}]}))
    assert isinstance(accepted, AcceptedBundle)
    assert accepted.warnings == (BundleWarning(at=NOW + timedelta(hours=20), time_left_s=14_400),)


@settings(max_examples=50, deadline=None)
@given(
    clock_id=st.uuids(),
    offset=st.timedeltas(min_value=timedelta(days=-3650), max_value=timedelta(days=3650)),
    expires_in=st.one_of(st.none(), st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400))),
)
def test_a_production_gateway_refuses_every_bundle_signed_on_a_test_clock(
    clock_id: uuid.UUID, offset: timedelta, expires_in: timedelta | None
) -> None:
    """Whatever the clock's time and the bundle's end, and however valid it is otherwise: refused as simulated."""
    at = NOW + offset
    jws = bundle(test_clock_id=clock_id, issued_at=at, expires_in=None if expires_in is None else expires_in + offset)
    assert claims_of(jws)["test_clock"] == str(clock_id)
    for now in (NOW, at):
        assert rejection(jws, now=now) == Rejection.SIMULATED


def test_a_sandbox_gateway_accepts_a_simulated_bundle_on_the_clocks_time_and_production_ones_as_ever() -> None:
    clock_id = uuid.uuid4()
    ahead = NOW + timedelta(days=90)
    simulated = bundle(test_clock_id=clock_id, issued_at=ahead, expires_in=timedelta(days=100))
    # Told an earlier time than the bundle's (its step's `clock` message comes after it): the bundle's `iat` says
    # how far the clock got, so it is valid now.
    accepted = verify_bundle(
        simulated, jwks=JWKS, hwid=HWID, highest_seq=4, now=NOW, issuer="urn:test", accept_simulated=True
    )
    assert accepted.test_clock_id == str(clock_id)
    assert accepted.issued_at == ahead
    # Past its end on the clock, it is expired there too.
    assert rejection_sandbox(simulated, now=NOW + timedelta(days=100)) == Rejection.EXPIRED
    production = verify_bundle(
        bundle(expires_in=timedelta(seconds=5)),
        jwks=JWKS,
        hwid=HWID,
        highest_seq=4,
        now=NOW,
        issuer="urn:test",
        accept_simulated=True,
    )
    assert production.test_clock_id is None


def rejection_sandbox(jws: str, *, now: datetime) -> Rejection:
    with pytest.raises(BundleRejected) as caught:
        verify_bundle(jws, jwks=JWKS, hwid=HWID, highest_seq=4, now=now, issuer="urn:test", accept_simulated=True)
    return caught.value.reason
