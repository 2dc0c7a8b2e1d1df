"""Principals from token claims, and who may see which account."""

from __future__ import annotations

import uuid

import pytest

from shared.auth import Principal, Role, principal_from_claims
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
