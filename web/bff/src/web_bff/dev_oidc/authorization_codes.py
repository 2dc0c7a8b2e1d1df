"""Authorization codes waiting to be exchanged: single use, short-lived, bound to client, redirect and PKCE."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from web_bff.dev_oidc.demo_users import DemoUser


@dataclass(frozen=True)
class PendingCode:
    user: DemoUser
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    expires_at: float


def s256_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_matches(*, verifier: str, challenge: str) -> bool:
    return hmac.compare_digest(s256_challenge(verifier), challenge)


class AuthorizationCodes:
    """In memory: the provider is one development process; a restart only means signing in again."""

    def __init__(self, *, ttl_s: int) -> None:
        self._ttl_s = ttl_s
        self._pending: dict[str, PendingCode] = {}

    def issue(
        self, *, user: DemoUser, client_id: str, redirect_uri: str, code_challenge: str, nonce: str | None
    ) -> str:
        self._drop_expired()
        code = secrets.token_urlsafe(32)
        self._pending[code] = PendingCode(
            user=user,
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            nonce=nonce,
            expires_at=time.monotonic() + self._ttl_s,
        )
        return code

    def redeem(self, code: str) -> PendingCode | None:
        """The code's grant, at most once: a second attempt (a replay) finds nothing."""
        pending = self._pending.pop(code, None)
        if pending is None or pending.expires_at < time.monotonic():
            return None
        return pending

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for code in [c for c, p in self._pending.items() if p.expires_at < now]:
            del self._pending[code]
