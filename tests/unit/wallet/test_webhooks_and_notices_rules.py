"""The pure rules of webhooks and e-mail notices: signatures, retries over three days, targets, templates."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.refusals import Unprocessable
from wallet.notices_domain import EMAIL_PATTERN, NoticeKind, check_contacts, duration_text, next_send_after, render
from wallet.webhooks_domain import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    check_event_types,
    check_target_url,
    headers,
    new_secret,
    next_attempt_after,
    should_disable,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def spec_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """Standard Webhooks, written from the specification: HMAC-SHA256 over `id.timestamp.body`, keyed with the
    base64-decoded secret after `whsec_`, sent as `v1,<base64>`."""
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@given(body=st.binary(max_size=2000), msg=st.text(alphabet="abcdef0123456789_", min_size=1, max_size=40))
def test_the_signature_is_the_standard_webhooks_one_and_names_id_timestamp_and_body(body: bytes, msg: str) -> None:
    secret = new_secret()
    sent = headers(secret, message_id=msg, at=T0, body=body)
    assert sent["webhook-id"] == msg
    assert sent["webhook-timestamp"] == str(int(T0.timestamp()))
    assert sent["webhook-signature"] == spec_signature(secret, msg, sent["webhook-timestamp"], body)
    # Any other body, id or secret gives another signature.
    assert sent["webhook-signature"] != spec_signature(secret, msg, sent["webhook-timestamp"], body + b" ")
    assert sent["webhook-signature"] != spec_signature(new_secret(), msg, sent["webhook-timestamp"], body)


def test_a_secret_is_whsec_and_base64_of_at_least_24_random_bytes_and_never_repeats() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24


def test_retries_spread_ten_attempts_over_three_days_then_give_up() -> None:
    at, attempts = T0, 1
    while (following := next_attempt_after(attempts, at=at)) is not None:
        assert following > at
        at, attempts = following, attempts + 1
    assert attempts == MAX_ATTEMPTS == 10
    assert timedelta(days=3) <= at - T0 <= timedelta(days=3, hours=6)
    assert list(RETRY_DELAYS) == sorted(RETRY_DELAYS)


def test_an_endpoint_is_disabled_only_after_failing_for_the_whole_period() -> None:
    three_days = timedelta(days=3)
    assert not should_disable(T0, now=T0 + three_days - timedelta(seconds=1), disable_after=three_days)
    assert should_disable(T0, now=T0 + three_days, disable_after=three_days)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "https:///nohost",
        "https://user:pw@example.com/",
        "http://127.0.0.1:9000/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
    ],
)
def test_a_target_must_be_a_public_http_url(url: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_target_url(url, allow_private=False)
    assert refused.value.code == "invalid_webhook_url"


def test_private_targets_are_allowed_only_when_configured() -> None:
    assert check_target_url("http://127.0.0.1:9000/x", allow_private=True) == "http://127.0.0.1:9000/x"
    assert check_target_url("https://hooks.example.com/in", allow_private=False) == "https://hooks.example.com/in"


def test_event_types_are_a_closed_set() -> None:
    assert check_event_types(["balance.low", "credits.loaded", "balance.low"]) == ["balance.low", "credits.loaded"]
    with pytest.raises(Unprocessable):
        check_event_types(["balance.exploded"])


def test_templates_render_both_parts_and_escape_the_html_one() -> None:
    rendered = render(
        NoticeKind.BALANCE_LOW,
        {"account_name": "<Acme & Co>", "account_id": "a1", "time_left": "3 days", "depletes_at": "2026-12-04 12:00"},
    )
    assert rendered.subject == "Your credit runs out in 3 days"
    assert '"<Acme & Co>"' in rendered.text
    assert "&lt;Acme &amp; Co&gt;" in rendered.html
    assert "<Acme" not in rendered.html


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (86_400 * 3, "3 days"),
        (86_400 + 4 * 3600, "1 day 4 hours"),
        (3600, "1 hour"),
        (120, "2 minutes"),
        (5, "1 minute"),
    ],
)
def test_durations_read_as_a_person_says_them(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text


@given(st.one_of(st.text(max_size=80), st.from_regex(EMAIL_PATTERN, fullmatch=True).filter(lambda t: len(t) <= 254)))
def test_the_contact_rule_is_exactly_the_documented_pattern(text: str) -> None:
    """The API refuses no address the document allows, and allows none it refuses (pydantic's engine vs re)."""
    from pydantic import ValidationError

    from wallet.integrations_schemas import ContactsUpdate

    try:
        ContactsUpdate(emails=[text])
    except ValidationError:
        documented = False
    else:
        documented = True
    try:
        check_contacts([text])
    except Unprocessable:
        checked = False
    else:
        checked = True
    assert documented == checked, repr(text)


def test_every_character_is_judged_alike_by_the_document_and_the_check() -> None:
    """Regex engines disagree on what `\\s` means (Python's takes \\x1c-\\x1f, the document's does not): each
    character of the first planes, inside an address, is allowed by both or by neither."""
    from pydantic import ValidationError

    from wallet.integrations_schemas import ContactsUpdate

    disagreements = []
    for code in [*range(0x3100), 0xFEFF]:
        address = f"a{chr(code)}b@c.example"
        try:
            ContactsUpdate(emails=[address])
            documented = True
        except ValidationError:
            documented = False
        try:
            check_contacts([address])
            checked = True
        except Unprocessable:
            checked = False
        if documented != checked:
            disagreements.append(hex(code))
    assert disagreements == []


def test_contacts_are_checked_and_deduplicated() -> None:
    assert check_contacts(["ops@acme.example", "OPS@acme.example", "b@acme.example"]) == [
        "ops@acme.example",
        "b@acme.example",
    ]
    for bad in (["not-an-address"], ["a@b"], ["x@y.example, z@w.example"], [" ops@acme.example"], ["a\x1cb@c.example"]):
        with pytest.raises(Unprocessable):
            check_contacts(bad)


def test_a_notice_is_retried_with_a_growing_pause_then_given_up() -> None:
    pauses = []
    attempts = 1
    while (at := next_send_after(attempts, at=T0)) is not None:
        pauses.append(at - T0)
        attempts += 1
    assert pauses == sorted(pauses)
    assert pauses[0] == timedelta(seconds=30)
    assert pauses[-1] == timedelta(hours=1)
