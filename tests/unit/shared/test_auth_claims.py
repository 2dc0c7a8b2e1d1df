"""Principals from token claims, and who may see which account."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.auth import TOKEN_LEEWAY_S, Principal, Role, TokenVerifier, principal_from_claims
from shared.clock import MovableClock
from shared.config import DEFAULT_AUDIENCE, DEV_ISSUER
from shared.dev_issuer import issue_token, load_or_create_key
from shared.refusals import Forbidden, Unauthorized

ACCOUNT = uuid.uuid4()


def test_a_customer_token_names_its_account() -> None:
    principal = principal_from_claims({"sub": "u1", "roles": ["customer"], "account_id": str(ACCOUNT)})
    assert principal == Principal(subject="u1", roles=frozenset({Role.CUSTOMER}), account_id=ACCOUNT)


def test_keycloak_style_realm_roles_are_understood() -> None:
    principal = principal_from_claims({"sub": "u1", "realm_access": {"roles": ["operator", "offline_access"]}})
    assert principal.roles == {Role.OPERATOR}


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"sub": "u1", "roles": []}, Forbidden),
        ({"sub": "u1", "roles": ["admin"]}, Forbidden),
        ({"sub": "u1", "roles": ["customer"]}, Forbidden),
        ({"sub": "u1", "roles": ["customer"], "account_id": "nope"}, Unauthorized),
    ],
)
def test_tokens_without_a_usable_role_or_account_are_refused(claims: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        principal_from_claims(claims)


def test_a_customer_sees_only_their_own_account_an_operator_all_and_a_partner_only_through_its_scope() -> None:
    customer = Principal(subject="c", roles=frozenset({Role.CUSTOMER}), account_id=ACCOUNT)
    assert customer.can_access_account(ACCOUNT)
    assert not customer.can_access_account(uuid.uuid4())
    assert Principal(subject="o", roles=frozenset({Role.OPERATOR}), account_id=None).can_access_account(uuid.uuid4())
    # A partner's accounts are the service's read model (shared.partner_scope), never every account.
    assert not Principal(subject="p", roles=frozenset({Role.PARTNER}), account_id=None).can_access_account(ACCOUNT)


async def test_a_token_verified_before_is_refused_once_it_expires(tmp_path: Path) -> None:
    # A verified token is kept so that the next request skips its signature check; its expiry still counts.
    key = load_or_create_key(tmp_path)
    clock = MovableClock()
    verifier = TokenVerifier(
        issuer=DEV_ISSUER,
        audience=DEFAULT_AUDIENCE,
        jwks_path=tmp_path / "jwks.json",
        wall_clock=lambda: clock.now().timestamp(),
    )
    issued_at = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    with clock.held_at(issued_at):
        token = issue_token(key, roles=["customer"], account_id=str(ACCOUNT), ttl_s=600, clock=clock)
        assert (await verifier.verify(token)).account_id == ACCOUNT
    with clock.held_at(issued_at + timedelta(seconds=600 + TOKEN_LEEWAY_S - 1)):
        assert (await verifier.verify(token)).account_id == ACCOUNT
    with clock.held_at(issued_at + timedelta(seconds=600 + TOKEN_LEEWAY_S)):
        for _ in range(2):  # the kept token is dropped, then checked in full again
            with pytest.raises(Unauthorized, match="expired"):
                await verifier.verify(token)
