"""Bearer JWT validation against an OpenID Connect issuer's JWKS, and the role checks used by endpoints.

Roles: `customer` (scoped to the account in the `account_id` claim), `partner`, `operator`.
A customer asking for another account's object gets 404, so ids of others are never confirmed.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import httpx
from fastapi import Depends, Request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from shared.refusals import Forbidden, NotFound, ServiceUnavailable, Unauthorized

ALLOWED_ALGORITHMS = ["EdDSA", "Ed25519", "RS256", "ES256"]
VERIFIED_TOKENS_KEPT = 10_000
TOKEN_LEEWAY_S = 30


class Role(StrEnum):
    CUSTOMER = "customer"
    PARTNER = "partner"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[Role]
    account_id: UUID | None

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    def can_access_account(self, account_id: UUID) -> bool:
        """Operators see every account; a customer only their own. A partner sees only the accounts it opened or was
        assigned, which takes the service's read model: `shared.partner_scope.ensure_account_access`."""
        if self.has_any(Role.OPERATOR):
            return True
        return Role.CUSTOMER in self.roles and self.account_id == account_id


class TokenVerifier:
    """Validates signature (JWKS), `iss`, `aud`, `exp`/`nbf`; refreshes the JWKS on an unknown `kid`."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks_path: Path | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not jwks_url and not jwks_path:
            raise ValueError("either a JWKS URL or a JWKS file is required")
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.jwks_path = jwks_path
        self._keys: KeySet | None = None
        self._loaded_at = 0.0
        # Tokens carry wall-clock times (a service's test clock does not move them).
        self._wall_clock = wall_clock
        # Tokens whose signature and claims verified, newest last: a client sends the same token with every
        # request, and checking an Ed25519 or RSA signature and every claim each time is a good part of the cost
        # of a request.
        self._verified: OrderedDict[str, _VerifiedToken] = OrderedDict()
        self._claims = jwt.JWTClaimsRegistry(
            now=lambda: int(wall_clock()),
            leeway=TOKEN_LEEWAY_S,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    async def _key_set(self, *, refresh: bool = False) -> KeySet:
        # Refresh at most every 30 s, so a stream of bad tokens cannot hammer the issuer.
        if self._keys is not None and not (refresh and time.monotonic() - self._loaded_at > 30):
            return self._keys
        try:
            if self.jwks_url:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get(self.jwks_url)
                    response.raise_for_status()
                    data = response.json()
            else:
                assert self.jwks_path is not None
                data = json.loads(self.jwks_path.read_text())
        except (OSError, httpx.HTTPError, ValueError) as exc:
            if self._keys is not None:
                return self._keys
            raise ServiceUnavailable(
                f"the token issuer's keys cannot be loaded: {exc}", code="issuer_unavailable"
            ) from exc
        self._keys = KeySet.import_key_set(data)
        self._loaded_at = time.monotonic()
        self._verified.clear()  # checked against keys that may have gone
        return self._keys

    async def verify(self, token: str) -> Principal:
        verified = self._verified.get(token)
        if verified is not None:
            # The signature of these exact bytes was checked against the keys still loaded, and every claim
            # with it. Once expired, the token takes the full check again, which says why it is refused.
            if verified.valid_at(self._wall_clock()):
                self._verified.move_to_end(token)
                return verified.principal
            del self._verified[token]
        keys = await self._key_set()
        try:
            try:
                decoded = jwt.decode(token, keys, algorithms=ALLOWED_ALGORITHMS)
            except (JoseError, ValueError) as first:
                if "kid" not in str(first).lower() and "key" not in str(first).lower():
                    raise
                decoded = jwt.decode(token, await self._key_set(refresh=True), algorithms=ALLOWED_ALGORITHMS)
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise Unauthorized(f"invalid token: {exc}", code="invalid_token") from exc
        principal = principal_from_claims(decoded.claims)
        self._verified[token] = _VerifiedToken.of(principal, decoded.claims)
        if len(self._verified) > VERIFIED_TOKENS_KEPT:
            self._verified.popitem(last=False)
        return principal


@dataclass(frozen=True)
class _VerifiedToken:
    """A token whose every claim held when its signature was checked. Time only moves on, so `nbf` and `iat`
    still hold: only `exp` can have passed."""

    principal: Principal
    expires_at: float

    @classmethod
    def of(cls, principal: Principal, claims: dict[str, Any]) -> _VerifiedToken:
        return cls(principal, float(claims["exp"]))

    def valid_at(self, now: float) -> bool:
        # As `JWTClaimsRegistry` checks `exp`, with the same leeway.
        return self.expires_at > now - TOKEN_LEEWAY_S


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    raw_roles = claims.get("roles") or claims.get("realm_access", {}).get("roles") or []
    roles = frozenset(Role(r) for r in raw_roles if r in Role._value2member_map_)
    if not roles:
        raise Forbidden("the token carries none of the platform's roles", code="no_role")
    account: UUID | None = None
    if claims.get("account_id"):
        try:
            account = UUID(str(claims["account_id"]))
        except ValueError as exc:
            raise Unauthorized("the token's account_id is not a UUID", code="invalid_token") from exc
    if roles == {Role.CUSTOMER} and account is None:
        raise Forbidden("a customer token must name its account", code="no_account")
    return Principal(subject=str(claims["sub"]), roles=roles, account_id=account)


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required", code="missing_token")
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(token.strip())


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


# Each dependency `require_roles` made, with the roles it allows: the OpenAPI documents state them per operation.
ROLES_REQUIRED: dict[Callable[..., Any], frozenset[Role]] = {}


def require_roles(*roles: Role) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
    """Dependency: the caller has any of `roles`, else 403."""

    async def dependency(request: Request) -> Principal:
        # `current_principal` called, not declared: every dependency FastAPI resolves costs each request about
        # as much as checking the cached token (profiled on the wallet's redemption).
        principal = await current_principal(request)
        if not principal.has_any(*roles):
            allowed = ", ".join(sorted(roles))
            raise Forbidden(f"this operation needs one of the roles: {allowed}", code="role_required")
        return principal

    ROLES_REQUIRED[dependency] = frozenset(roles)
    return dependency


def ensure_account_access(principal: Principal, account_id: UUID, *, what: str = "account") -> None:
    """This account's customer or an operator; anyone else learns nothing (404). Where partners may act too, use
    `shared.partner_scope.ensure_account_access` (it reads which accounts are the partner's)."""
    if not principal.can_access_account(account_id):
        raise NotFound(f"{what} not found")


OperatorPrincipal = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]
PartnerPrincipal = Annotated[Principal, Depends(require_roles(Role.PARTNER, Role.OPERATOR))]
AnyRolePrincipal = Annotated[Principal, Depends(require_roles(Role.CUSTOMER, Role.PARTNER, Role.OPERATOR))]
