"""Pure rules of the wallet's e-mail notices: which kinds exist, their subjects, their templates, the retry rule.

Templates live beside this module (`templates/<kind>.txt` and `.html`), in `string.Template` syntax; every value
is escaped for the HTML part. A notice is rendered when its event is handled, so what it says is what was true then.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from string import Template

from shared.refusals import Unprocessable

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_CONTACTS = 10
# Deliberately plain: one @, no spaces, a dot in the domain. The SMTP server is the judge of the rest.
# Written without `\s` (which Python and the document's regex engine read differently): no control character, no
# space, none of @ < > , ; " ' in either part.
EMAIL_PATTERN = r"^[^@<>,;\"'\x00-\x20\x7f]{1,64}@[^@<>,;\"'\x00-\x20\x7f]+\.[^@<>,;\"'\x00-\x20\x7f.]{2,}$"
_EMAIL = re.compile(EMAIL_PATTERN)


class NoticeKind(StrEnum):
    BALANCE_LOW = "balance_low"
    BALANCE_DEPLETED = "balance_depleted"
    BALANCE_RESTORED = "balance_restored"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
    AUTO_RELOAD_TRIGGERED = "auto_reload_triggered"
    AUTO_RELOAD_FAILED = "auto_reload_failed"


_SUBJECTS = {
    NoticeKind.BALANCE_LOW: "Your credit runs out in $time_left",
    NoticeKind.BALANCE_DEPLETED: "Your credit ran out: rental stopped",
    NoticeKind.BALANCE_RESTORED: "Your credit is back: rental runs again",
    NoticeKind.WEBHOOK_ENDPOINT_DISABLED: "Webhook endpoint disabled after failing deliveries",
    NoticeKind.AUTO_RELOAD_TRIGGERED: "Auto-iSC loaded $amount iSC",
    NoticeKind.AUTO_RELOAD_FAILED: "Auto-iSC could not reload: your credit runs out in $time_left",
}

# After the n-th failed send the notice waits min(FIRST * 2**(n-1), LONGEST); after MAX_SEND_ATTEMPTS it is
# given up (`failed`), so a wrong address or a dead relay cannot keep a sender busy for ever.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
MAX_SEND_ATTEMPTS = 12


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(kind: NoticeKind, values: dict[str, str]) -> Rendered:
    escaped = {key: html.escape(value) for key, value in values.items()}
    return Rendered(
        subject=Template(_SUBJECTS[kind]).substitute(values),
        text=_template(f"{kind.value}.txt").substitute(values),
        html=_template(f"{kind.value}.html").substitute(escaped),
    )


def duration_text(seconds: int) -> str:
    """`3 days`, `1 day 4 hours`, `5 hours`, `12 minutes`: how long, as a person says it."""
    days, rest = divmod(max(0, seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60

    def unit(n: int, name: str) -> str:
        return f"{n} {name}{'' if n == 1 else 's'}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "")
    if hours:
        return unit(hours, "hour")
    return unit(max(minutes, 1), "minute")


def instant_text(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def next_send_after(attempts: int, *, at: datetime) -> datetime | None:
    if attempts >= MAX_SEND_ATTEMPTS:
        return None
    return at + min(FIRST_RETRY * (1 << (attempts - 1)), LONGEST_RETRY)


def check_contacts(emails: list[str]) -> list[str]:
    cleaned: list[str] = []
    for email in emails:
        # No stripping: the pattern (the document's too) already refuses every space and control character.
        value = email
        if not _EMAIL.fullmatch(value):
            raise Unprocessable(f"not an e-mail address: {email!r}", code="invalid_email")
        if value.lower() not in {e.lower() for e in cleaned}:
            cleaned.append(value)
    if len(cleaned) > MAX_CONTACTS:
        raise Unprocessable(f"at most {MAX_CONTACTS} contact addresses", code="too_many_contacts")
    return cleaned
