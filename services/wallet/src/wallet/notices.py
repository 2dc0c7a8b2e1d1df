"""E-mail notices: the account's contact addresses, a notice per event written in its inbox transaction, and the
sender job that hands each to the SMTP server (`aiosmtplib`).

Once per event, even with replicas: a notice row is unique per event and kind (`dedupe_key`), and a sender claims it
(`FOR UPDATE SKIP LOCKED`, then a lease in `next_attempt_at`) before it talks to the SMTP server, and marks it sent
after the server accepted it. Only a sender that dies between the server's acceptance and that mark sends it again
when the lease ends; the `Message-ID` is the notice's own, so mail clients show such a copy once.
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import asyncpg
import structlog

from shared.auth import Principal
from shared.db import is_database_away, transaction
from shared.events.base import Event
from shared.events.wallet import AutoReloadFailed, AutoReloadTriggered, BalanceDepleted, BalanceLow, BalanceRestored
from shared.money import format_isc
from shared.partner_scope import ensure_account_access
from shared.refusals import NotFound
from shared.runtime import Runtime, until_reachable
from wallet import notices_repository as repository
from wallet.config import Settings
from wallet.integrations_schemas import ContactsRead, EmailNoticeList, EmailNoticeRead
from wallet.notices_domain import NoticeKind, check_contacts, duration_text, instant_text, next_send_after, render
from wallet.outbound import send_forever

log = structlog.get_logger()
_BATCH = 20


# --- Contacts -----------------------------------------------------------------------------------------


async def read_contacts(pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID) -> ContactsRead:
    await ensure_account_access(pool, principal, account_id)
    await _existing_account(pool, account_id)
    contacts = await repository.get_contacts(pool, account_id)
    return ContactsRead(account_id=account_id, emails=contacts.emails, updated_at=contacts.updated_at)


async def put_contacts(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, emails: list[str], now: datetime
) -> ContactsRead:
    await ensure_account_access(pool, principal, account_id)
    cleaned = check_contacts(emails)
    async with transaction(pool) as conn:
        await _existing_account(conn, account_id)
        contacts = await repository.put_contacts(conn, account_id=account_id, emails=cleaned, at=now)
    log.info("wallet.contacts.updated", account_id=str(account_id), count=len(cleaned))
    return ContactsRead(account_id=account_id, emails=contacts.emails, updated_at=contacts.updated_at)


async def list_notices(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, limit: int
) -> EmailNoticeList:
    await ensure_account_access(pool, principal, account_id)
    await _existing_account(pool, account_id)
    notices = await repository.list_notices(pool, account_id=account_id, limit=limit)
    return EmailNoticeList(
        items=[
            EmailNoticeRead.model_validate(
                {
                    "id": n.id,
                    "kind": n.kind,
                    "recipients": n.recipients,
                    "subject": n.subject,
                    "status": n.status,
                    "attempts": n.attempts,
                    "created_at": n.created_at,
                    "sent_at": n.sent_at,
                }
            )
            for n in notices
        ]
    )


async def _existing_account(db: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID) -> str:
    name = await repository.account_name(db, account_id)
    if name is None:
        raise NotFound("account not found")
    return name


# --- Notices written by the events --------------------------------------------------------------------


def _values_of(event: Event) -> tuple[NoticeKind, dict[str, str]] | None:
    if isinstance(event, BalanceLow):
        return NoticeKind.BALANCE_LOW, {
            "time_left": duration_text(event.time_left_s),
            "depletes_at": instant_text(event.depletes_at),
        }
    if isinstance(event, BalanceDepleted):
        return NoticeKind.BALANCE_DEPLETED, {"at": instant_text(event.at)}
    if isinstance(event, BalanceRestored):
        runway = (
            "Nothing draws on it at the moment."
            if event.depletes_at is None
            else f"At the current rate it lasts until {instant_text(event.depletes_at)} (UTC)."
        )
        return NoticeKind.BALANCE_RESTORED, {"balance": format_isc(event.balance), "runway": runway}
    if isinstance(event, AutoReloadTriggered):
        runway = (
            "Nothing draws on it at the moment."
            if event.depletes_at is None
            else f"At the current rate it lasts until {instant_text(event.depletes_at)} (UTC)."
        )
        return NoticeKind.AUTO_RELOAD_TRIGGERED, {
            "amount": format_isc(event.amount),
            "threshold": duration_text(event.threshold_s),
            "runway": runway,
        }
    if isinstance(event, AutoReloadFailed):
        return NoticeKind.AUTO_RELOAD_FAILED, {
            "amount": format_isc(event.amount),
            "time_left": duration_text(event.time_left_s),
            "why": _FAILURE_REASONS[event.reason],
        }
    return None


# Why a reload did not happen, as the customer's warning says it.
_FAILURE_REASONS = {
    "monthly_cap_reached": "this month's Auto-iSC limit is reached",
    "suspended_by_partner": "your partner has suspended Auto-iSC for this account",
}


async def record_event(
    conn: asyncpg.Connection, *, settings: Settings, message_id: str, account_id: uuid.UUID, event: Event, now: datetime
) -> bool:
    """The notice an event of the wallet calls for, inside its inbox transaction; True if one was written."""
    found = _values_of(event)
    if found is None:
        return False
    kind, values = found
    return await enqueue(
        conn,
        settings=settings,
        account_id=account_id,
        kind=kind,
        dedupe_key=f"{kind}:{message_id}",
        values=values,
        now=now,
    )


async def enqueue(
    conn: asyncpg.Connection,
    *,
    settings: Settings,
    account_id: uuid.UUID,
    kind: NoticeKind,
    dedupe_key: str,
    values: dict[str, str],
    now: datetime,
) -> bool:
    """A notice to the account's contact addresses, rendered now; nothing when it has none (or notices are off)."""
    if not settings.notices_enabled:
        return False
    contacts = await repository.get_contacts(conn, account_id)
    name = await repository.account_name(conn, account_id)
    if not contacts.emails or name is None:
        return False
    rendered = render(kind, {**values, "account_name": name, "account_id": str(account_id)})
    written = await repository.insert_notice(
        conn,
        notice_id=uuid.uuid4(),
        dedupe_key=dedupe_key,
        account_id=account_id,
        kind=kind.value,
        recipients=contacts.emails,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        at=now,
    )
    if written:
        log.info("wallet.notice.queued", account_id=str(account_id), kind=kind.value)
    return written


# --- The sender ---------------------------------------------------------------------------------------


def _message(notice: repository.Notice, *, settings: Settings, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.notice_from
    message["To"] = ", ".join(notice.recipients)
    message["Subject"] = notice.subject
    message["Date"] = format_datetime(now)
    # The notice's own id: a copy sent again after a crash is the same message to every mail client.
    message["Message-ID"] = f"<{notice.id}@wallet.rental.invalid>"
    message["X-Rental-Notice"] = notice.kind
    message.set_content(notice.text_body)
    message.add_alternative(notice.html_body, subtype="html")
    return message


async def _send(message: EmailMessage, *, settings: Settings) -> None:
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_starttls,
        use_tls=settings.smtp_tls,
        timeout=settings.smtp_timeout_s,
    )


async def send_due_notices(pool: asyncpg.Pool, *, settings: Settings, now: datetime) -> int:
    """Claim and send the notices due at `now`; how many were claimed."""
    lease = timedelta(seconds=settings.smtp_timeout_s * 3 + 60)
    claimed = await repository.claim_due_notices(pool, now=now, lease_until=now + lease, limit=_BATCH)
    for notice in claimed:
        try:
            await _send(_message(notice, settings=settings, now=now), settings=settings)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            retry_at = next_send_after(notice.attempts, at=now)
            await repository.mark_failed_attempt(pool, notice_id=notice.id, error=repr(exc), next_attempt_at=retry_at)
            log.warning(
                "wallet.notice.send_failed",
                notice_id=str(notice.id),
                attempts=notice.attempts,
                retry_at=retry_at.isoformat() if retry_at else None,
                error=repr(exc),
            )
            continue
        # Sent: recorded even across a database restart (within the lease), or the notice would go out again.
        await until_reachable(
            "database",
            functools.partial(repository.mark_sent, pool, notice_id=notice.id, at=now),
            away=is_database_away,
            within_s=lease.total_seconds(),
        )
        log.info("wallet.notice.sent", notice_id=str(notice.id), kind=notice.kind, recipients=len(notice.recipients))
    return len(claimed)


async def delete_old_notices(pool: asyncpg.Pool, *, before: datetime, batch: int = 1000) -> int:
    """Sent or given-up notices made before `before`, in batches of `batch` rows; how many went."""
    deleted = 0
    while (n := await repository.delete_old_notices(pool, before=before, limit=batch)) > 0:
        deleted += n
        if n < batch:
            break
    return deleted


async def run_notice_sender(runtime: Runtime[Settings]) -> None:
    """The background job: sends what is due, then sleeps until the next due notice (woken when the clock moves)."""
    settings, pool = runtime.settings, runtime.pool

    async def send_due(now: datetime) -> bool:
        return await send_due_notices(pool, settings=settings, now=now) == _BATCH

    await send_forever(
        what="notices",
        send_due=send_due,
        next_due=functools.partial(repository.next_due_instant, pool),
        clock=runtime.clock,
        max_sleep_s=settings.outbound_max_sleep_s,
    )
