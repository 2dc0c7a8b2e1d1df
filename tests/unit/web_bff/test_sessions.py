"""Server-side sessions and the login's return path, without a server."""

from __future__ import annotations

import time

import pytest

from web_bff.login import safe_return_path
from web_bff.sessions import SessionStore


def test_signing_in_rotates_the_session_id_so_an_earlier_id_is_worthless() -> None:
    store = SessionStore(ttl_s=60)
    session = store.create()
    before = session.id
    store.rotate(session)
    assert session.id != before
    assert store.get(before) is None
    assert store.get(session.id) is session


def test_an_expired_session_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    store = SessionStore(ttl_s=60)
    session = store.create()
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert store.get(session.id) is None


def test_a_session_without_a_live_access_token_is_not_signed_in() -> None:
    session = SessionStore(ttl_s=60).create()
    assert not session.signed_in
    session.access_token = "t"
    session.access_expires_at = time.time() - 1
    assert not session.signed_in
    session.access_expires_at = time.time() + 60
    assert session.signed_in


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        ("/rental?tab=history", "/rental?tab=history"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_the_return_path_after_login_stays_on_this_site(asked: str | None, kept: str) -> None:
    assert safe_return_path(asked) == kept
