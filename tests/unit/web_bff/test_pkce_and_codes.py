"""The development provider's PKCE check and its authorization codes, without a server."""

from __future__ import annotations

import time
import uuid

import pytest

from web_bff.dev_oidc.authorization_codes import AuthorizationCodes, s256_challenge, verifier_matches
from web_bff.dev_oidc.demo_users import STAFF, customer_of


def test_the_s256_challenge_is_the_one_of_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert verifier_matches(verifier=verifier, challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not verifier_matches(verifier=verifier + "x", challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")


def issue(codes: AuthorizationCodes) -> str:
    return codes.issue(
        user=STAFF["operator"], client_id="c", redirect_uri="http://x/cb", code_challenge="ch", nonce=None
    )


def test_a_code_is_redeemed_at_most_once() -> None:
    codes = AuthorizationCodes(ttl_s=60)
    code = issue(codes)
    first = codes.redeem(code)
    assert first is not None
    assert first.user == STAFF["operator"]
    assert codes.redeem(code) is None


def test_an_expired_code_is_worthless(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = AuthorizationCodes(ttl_s=60)
    code = issue(codes)
    later = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert codes.redeem(code) is None


def test_a_customer_of_an_account_is_always_the_same_person() -> None:
    account = uuid.uuid4()
    assert customer_of(account) == customer_of(account)
    assert customer_of(account).roles == ("customer",)
    assert customer_of(account).account_id == account
