"""A rebuild signs a domain's bundles from claims encoded once: the JWS must be byte for byte the one
`sign_bundle` makes of the full claims (itself checked against joserfc), for any claims a bundle can carry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway_simulator.verifier import verify_bundle
from license_distributor.domain import BundleContent, Claims, Device, Licence, shared_claims
from license_distributor.signing import DomainSigner, generate_signing_key, sign_bundle

KEY = generate_signing_key()
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
# Claim names a bundle has, and others around `seq` in sort order (the splice point).
claim_names = st.sampled_from(
    ["iss", "sub", "iat", "nbf", "exp", "lease", "devices", "licences", "warnings", "sa", "sz"]
)


@given(
    shared=st.dictionaries(claim_names, json_values, max_size=11),
    aud=st.text(min_size=1, max_size=16),
    seq=st.integers(min_value=1, max_value=2**53),
)
def test_a_spliced_bundle_is_byte_for_byte_the_one_signed_from_the_whole_claims(
    shared: dict[str, object], aud: str, seq: int
) -> None:
    assert DomainSigner(KEY, shared).sign(aud=aud, seq=seq) == sign_bundle(KEY, {**shared, "aud": aud, "seq": seq})


def test_the_gateway_accepts_a_spliced_bundle_of_a_real_domain() -> None:
    content = BundleContent(
        domain_id=uuid.uuid4(),
        devices=(Device(hwid="00aa11bb22cc", product="PHONE-1"),),
        licences=(Licence(type="PORT", count=1),),
        expires_at=NOW + timedelta(days=3),
        warnings=(NOW + timedelta(days=1),),
    )
    signer = DomainSigner(KEY, shared_claims(issuer="urn:test", issued_at=NOW, content=content))
    for hwid, seq in (("a1b2c3d4e5f6", 7), ("ffeeddccbbaa", 1)):
        claims = Claims(issuer="urn:test", hwid=hwid, seq=seq, issued_at=NOW, content=content).as_dict()
        jws = signer.sign(aud=hwid, seq=seq)
        assert jws == sign_bundle(KEY, claims)
        accepted = verify_bundle(jws, jwks={"keys": [KEY.public_jwk]}, hwid=hwid, highest_seq=seq - 1, now=NOW)
        assert (accepted.seq, accepted.kid, [d.hwid for d in accepted.devices]) == (seq, KEY.kid, ["00aa11bb22cc"])


@pytest.mark.parametrize("shared", [{"aud": "x"}, {"seq": 1}, {"alg": "none"}])
def test_claims_that_would_break_the_splice_are_refused(shared: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="shared claims"):
        DomainSigner(KEY, shared)
