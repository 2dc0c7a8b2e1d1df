"""Pure rules of the wallet's webhooks: event types, the Standard Webhooks signature, retries, target URLs.

Standard Webhooks (https://www.standardwebhooks.com): every delivery carries `webhook-id` (the message's id,
the same in every attempt, so a receiver deduplicates on it), `webhook-timestamp` (integer seconds) and
`webhook-signature` (`v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed with the base64-decoded
part of the endpoint's `whsec_` secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from shared.refusals import Unprocessable

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 24
# What the document promises of a target URL (the private-address rule below cannot be said in a pattern).
URL_PATTERN = r"^https?://[^/?#@\x00-\x20\x7f]+([/?#][^\x00-\x20\x7f]*)?$"
URL = re.compile(URL_PATTERN)


class WebhookEventType(StrEnum):
    """What an endpoint may subscribe to. Each is delivered from one event the wallet handles (`webhooks.EVENTS`)."""

    CREDITS_LOADED = "credits.loaded"
    BALANCE_LOW = "balance.low"
    BALANCE_DEPLETED = "balance.depleted"
    BALANCE_RESTORED = "balance.restored"
    RENTAL_CHANGED = "rental.changed"
    LICENCE_DELIVERY_FAILED = "licence.delivery_failed"
    AUTO_RELOAD_TRIGGERED = "auto_reload.triggered"
    AUTO_RELOAD_FAILED = "auto_reload.failed"


# The retry schedule after a failed attempt (Standard Webhooks' recommendation, stretched to three days): the
# n-th failure waits RETRY_DELAYS[n - 1]; after the last one the delivery is given up (`failed`).
RETRY_DELAYS: Sequence[timedelta] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
# Attempts in all: the first and one per retry (10, spread over 3 days 3 hours).
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX) :])


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header's value for one delivery."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, *, message_id: str, at: datetime, body: bytes) -> dict[str, str]:
    timestamp = int(at.timestamp())
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id=message_id, timestamp=timestamp, body=body),
    }


def next_attempt_after(attempts: int, *, at: datetime) -> datetime | None:
    """When to try again after the `attempts`-th attempt failed at `at`; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return at + RETRY_DELAYS[attempts - 1]


def should_disable(failing_since: datetime, *, now: datetime, disable_after: timedelta) -> bool:
    """An endpoint failing every attempt since `failing_since` is disabled once that lasted `disable_after`."""
    return now - failing_since >= disable_after


def check_event_types(event_types: Sequence[str]) -> list[str]:
    known = {t.value for t in WebhookEventType}
    unknown = sorted(set(event_types) - known)
    if unknown:
        raise Unprocessable(f"unknown event types: {', '.join(unknown)}", code="unknown_event_type")
    return sorted(set(event_types))


def subscribed(event_types: Sequence[str], event_type: str) -> bool:
    return not event_types or event_type in event_types


def check_target_url(url: str, *, allow_private: bool) -> str:
    """An http(s) URL with a host; unless allowed, not a loopback, private or link-local address.

    The literal check here refuses the obvious at registration; the sender checks the resolved addresses again
    before each attempt (`is_private_address`), so a name that resolves inward is refused too.
    """
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise Unprocessable("a webhook URL is http(s)://host/...", code="invalid_webhook_url") from exc
    if not URL.fullmatch(url) or parts.scheme not in ("http", "https") or not hostname:
        raise Unprocessable("a webhook URL is http(s)://host/...", code="invalid_webhook_url")
    if parts.username or parts.password:
        raise Unprocessable("a webhook URL carries no credentials", code="invalid_webhook_url")
    if not allow_private and (hostname == "localhost" or is_private_address(hostname)):
        raise Unprocessable("a webhook URL must reach a public address", code="invalid_webhook_url")
    return url


def is_private_address(host: str) -> bool:
    """A literal IP address that is not on the public internet; a name is not an address (False)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global
