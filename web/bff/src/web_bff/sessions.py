"""Server-side sessions: the browser holds only a random id in an httpOnly cookie; tokens never leave here."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field


@dataclass
class PendingLogin:
    """Between the redirect to the provider and the callback: what the callback must check."""

    state: str
    nonce: str
    code_verifier: str
    return_to: str


@dataclass
class Session:
    id: str
    expires_at: float
    pending: PendingLogin | None = None
    access_token: str | None = None
    access_expires_at: float = 0.0
    user: dict[str, object] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return self.access_token is not None and self.access_expires_at > time.time()


class SessionStore:
    """In memory, so one BFF process; a restart signs everyone out, which costs only a new login.

    Several replicas would need a shared store (Postgres or Redis) behind this same interface.
    """

    def __init__(self, *, ttl_s: int) -> None:
        self._ttl_s = ttl_s
        self._sessions: dict[str, Session] = {}

    def create(self) -> Session:
        self._drop_expired()
        session = Session(id=secrets.token_urlsafe(32), expires_at=time.time() + self._ttl_s)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None or session.expires_at < time.time():
            self._sessions.pop(session_id, None)
            return None
        return session

    def rotate(self, session: Session) -> Session:
        """A new id for the same session at sign-in, so an id seen before login is worthless after it."""
        self._sessions.pop(session.id, None)
        session.id = secrets.token_urlsafe(32)
        session.expires_at = time.time() + self._ttl_s
        self._sessions[session.id] = session
        return session

    def delete(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _drop_expired(self) -> None:
        now = time.time()
        for sid in [s for s, v in self._sessions.items() if v.expires_at < now]:
            del self._sessions[sid]
