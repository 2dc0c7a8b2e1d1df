"""Webhooks: endpoints an account's customer (or a partner, an operator) registers, a message per event written in
the event's inbox transaction with a delivery row per subscribed endpoint of that account, and the sender job.

- **Tenant isolation**: a message is written for the account the event names, and delivered only to that
  account's endpoints; every read and change is filtered by the account the caller may see.
- **At least once**: a delivery stays `pending` until an attempt gets a 2xx answer. A sender claims due
  deliveries with `FOR UPDATE SKIP LOCKED` and a lease (its `next_attempt_at` moved ahead), so replicas never
  send the same delivery at the same time, and a sender that dies mid-attempt leaves it due again.
- **Retries** follow `webhooks_domain.RETRY_DELAYS` (5 s up to 24 h, ten attempts over three days), on the
  service's clock. An endpoint failing every attempt for `webhook_disable_after_s` (3 days) is disabled and its
  account gets a `webhook_endpoint_disabled` e-mail; re-enabling it makes what waited for it due again.
- **Replay** sends a delivery again at once, with the same `webhook-id`, so a receiver that deduplicates on it
  never handles an event twice.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import structlog

from shared.auth import Principal
from shared.db import is_database_away, transaction
from shared.events.base import Event
from shared.events.contracts import RentalChanged
from shared.events.licensing import LicenceDeliveryFailed
from shared.events.wallet import (
    AutoReloadFailed,
    AutoReloadTriggered,
    BalanceDepleted,
    BalanceLow,
    BalanceRestored,
    CreditsLoaded,
)
from shared.idempotency import claim
from shared.money import format_isc
from shared.pagination import Keyset, Page
from shared.partner_scope import ensure_account_access
from shared.refusals import Conflict, NotFound
from shared.runtime import Runtime, until_reachable
from shared.sealing import KeyEncryptionKey
from wallet import notices, notices_repository
from wallet import webhooks_repository as repository
from wallet.config import Settings
from wallet.domain import SHOWN_ANSWER_KEPT, open_answer, seal_answer, webhook_secret_associated
from wallet.integrations_schemas import (
    WebhookAttemptRead,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointList,
    WebhookEndpointRead,
    WebhookEndpointReceipt,
)
from wallet.notices_domain import NoticeKind, instant_text
from wallet.outbound import send_forever
from wallet.webhooks_domain import (
    WebhookEventType,
    check_event_types,
    check_target_url,
    headers,
    is_private_address,
    new_secret,
    next_attempt_after,
    should_disable,
    subscribed,
)

log = structlog.get_logger()
DELIVERY_PAGES = Keyset(("created_at", datetime), ("id", uuid.UUID))


# --- What each handled event becomes ------------------------------------------------------------------


def _credits_loaded(e: CreditsLoaded) -> dict[str, Any]:
    return {"account_id": e.account_id, "key_id": e.key_id, "amount": format_isc(e.amount),
            "balance": format_isc(e.balance_after), "source": e.source, "order_id": e.order_id}  # fmt: skip


def _auto_reload_triggered(e: AutoReloadTriggered) -> dict[str, Any]:
    return {"account_id": e.account_id, "order_id": e.order_id, "amount": format_isc(e.amount),
            "threshold_s": e.threshold_s, "time_left_s": e.time_left_s, "depletes_at": e.depletes_at}  # fmt: skip


def _auto_reload_failed(e: AutoReloadFailed) -> dict[str, Any]:
    return {"account_id": e.account_id, "reason": e.reason, "amount": format_isc(e.amount),
            "threshold_s": e.threshold_s, "time_left_s": e.time_left_s, "monthly_cap": format_isc(e.monthly_cap),
            "reloaded_this_month": format_isc(e.reloaded_this_month)}  # fmt: skip


def _balance_low(e: BalanceLow) -> dict[str, Any]:
    return {"account_id": e.account_id, "time_left_s": e.time_left_s, "threshold_s": e.threshold_s,
            "depletes_at": e.depletes_at}  # fmt: skip


def _balance_depleted(e: BalanceDepleted) -> dict[str, Any]:
    return {"account_id": e.account_id, "at": e.at}


def _balance_restored(e: BalanceRestored) -> dict[str, Any]:
    return {"account_id": e.account_id, "balance": format_isc(e.balance), "depletes_at": e.depletes_at}


def _rental_changed(e: RentalChanged) -> dict[str, Any]:
    return {
        "account_id": e.account_id,
        "contract_id": e.contract_id,
        "active": e.active,
        "burn_rate_per_day": format_isc(e.burn_rate_per_day),
        "version": e.version,
        "domains": [
            {
                "domain_id": d.domain_id,
                "devices": [{"device_id": v.device_id, "hwid": v.hwid, "product": v.product} for v in d.devices],
                "licences": [{"type": lic.type, "count": lic.count} for lic in d.licences],
            }
            for d in e.domains
        ],
    }


def _licence_delivery_failed(e: LicenceDeliveryFailed) -> dict[str, Any]:
    return {"account_id": e.account_id, "contract_id": e.contract_id, "domain_id": e.domain_id,
            "gateway_id": e.gateway_id, "hwid": e.hwid, "seq": e.seq, "reason": e.reason, "at": e.at}  # fmt: skip


# The events delivered as webhooks, each with its type and its public payload (amounts as iSC decimal strings,
# like the HTTP API). A new webhook type is a line here and a member of `WebhookEventType`.
EVENTS: Mapping[type[Event], tuple[WebhookEventType, Callable[[Any], dict[str, Any]]]] = {
    CreditsLoaded: (WebhookEventType.CREDITS_LOADED, _credits_loaded),
    BalanceLow: (WebhookEventType.BALANCE_LOW, _balance_low),
    BalanceDepleted: (WebhookEventType.BALANCE_DEPLETED, _balance_depleted),
    BalanceRestored: (WebhookEventType.BALANCE_RESTORED, _balance_restored),
    RentalChanged: (WebhookEventType.RENTAL_CHANGED, _rental_changed),
    LicenceDeliveryFailed: (WebhookEventType.LICENCE_DELIVERY_FAILED, _licence_delivery_failed),
    AutoReloadTriggered: (WebhookEventType.AUTO_RELOAD_TRIGGERED, _auto_reload_triggered),
    AutoReloadFailed: (WebhookEventType.AUTO_RELOAD_FAILED, _auto_reload_failed),
}


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not part of a webhook payload")


def message_id_of(envelope_id: str) -> str:
    """The `webhook-id` of an event: from its envelope id (the publisher's outbox row), so it never changes."""
    return f"msg_{envelope_id.replace('-', '')}"


async def record_event(
    conn: asyncpg.Connection,
    *,
    envelope_id: str,
    account_id: uuid.UUID,
    event: Event,
    occurred_at: datetime,
    now: datetime,
) -> int:
    """Inside the event's inbox transaction: its message and a delivery per subscribed endpoint of its account.
    How many deliveries were written (none for an event handled before, or an account without endpoints)."""
    mapped = EVENTS.get(type(event))
    if mapped is None:
        return 0
    event_type, payload = mapped
    endpoints = [
        e
        for e in await repository.enabled_endpoints(conn, account_id=account_id)
        if subscribed(e.event_types, event_type)
    ]
    if not endpoints:
        return 0
    message_id = message_id_of(envelope_id)
    body = json.dumps(
        {"type": event_type.value, "timestamp": occurred_at.isoformat(), "data": payload(event)},
        default=_json_value,
        separators=(",", ":"),
    )
    await repository.insert_message(
        conn,
        message_id=message_id,
        account_id=account_id,
        event_type=event_type.value,
        body=body,
        occurred_at=occurred_at,
        at=now,
    )
    await repository.insert_deliveries(
        conn,
        message_id=message_id,
        account_id=account_id,
        endpoint_ids=[e.id for e in endpoints],
        delivery_ids=[uuid.uuid4() for _ in endpoints],
        at=now,
    )
    return len(endpoints)


# --- Endpoints ----------------------------------------------------------------------------------------


def _endpoint_read(endpoint: repository.Endpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(
        {
            "id": endpoint.id,
            "account_id": endpoint.account_id,
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
            "status": endpoint.status,
            "disabled_reason": endpoint.disabled_reason,
            "created_at": endpoint.created_at,
        }
    )


async def register_endpoint(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    account_id: uuid.UUID,
    body: WebhookEndpointCreate,
    allow_private: bool,
    idempotency_key: str | None,
    sealing_key: KeyEncryptionKey,
    now: datetime,
) -> WebhookEndpointCreated:
    """A new endpoint of the account, with its signing secret. The answer is kept for 24 hours, sealed under
    `sealing_key` for the principal that registered it, so its retry with the same Idempotency-Key and body gets
    the first answer again, secret included (as a key batch's retry does). After that, for another principal of the
    account, or once the endpoint is deleted, a retry gets 409 `webhook_secret_already_shown` with the endpoint's
    id, never the secret."""
    await ensure_account_access(pool, principal, account_id)
    url = check_target_url(body.url, allow_private=allow_private)
    event_types = check_event_types([t.value for t in body.event_types])
    async with transaction(pool) as conn:
        once = await claim(
            conn,
            operation="webhook-endpoint",
            owner=account_id,
            key=idempotency_key,
            request=body.model_dump(mode="json"),
        )
        if (first := once.replayed(WebhookEndpointReceipt)) is not None:
            return await _registered_again(conn, first, registered_by=principal.subject, key=sealing_key, now=now)
        if await notices_repository.account_name(conn, account_id) is None:
            raise NotFound("account not found")
        await repository.delete_shown_endpoints(conn, now=now)
        secret = new_secret()
        endpoint = await repository.insert_endpoint(
            conn,
            endpoint_id=uuid.uuid4(),
            account_id=account_id,
            url=url,
            description=body.description,
            event_types=event_types,
            secret=secret,
            created_by=principal.subject,
            at=now,
        )
        created = WebhookEndpointCreated(**_endpoint_read(endpoint).model_dump(), secret=secret)
        associated = webhook_secret_associated(endpoint.id, principal.subject)
        await repository.insert_shown_endpoint(
            conn,
            endpoint_id=endpoint.id,
            registered_by=principal.subject,
            answer=seal_answer(sealing_key, created.model_dump_json().encode(), associated=associated),
            expires_at=now + SHOWN_ANSWER_KEPT,
        )
        await once.answer(WebhookEndpointReceipt(endpoint_id=endpoint.id), status_code=201)
    log.info("wallet.webhook_endpoint.registered", account_id=str(account_id), endpoint_id=str(endpoint.id))
    return created


async def _registered_again(
    conn: asyncpg.Connection,
    first: WebhookEndpointReceipt,
    *,
    registered_by: str,
    key: KeyEncryptionKey,
    now: datetime,
) -> WebhookEndpointCreated:
    """A retried registration: its first answer while it is kept (and opens under the current key), else 409."""
    sealed = await repository.shown_endpoint(conn, endpoint_id=first.endpoint_id, registered_by=registered_by, now=now)
    answer = None
    if sealed is not None:
        answer = open_answer(key, sealed, associated=webhook_secret_associated(first.endpoint_id, registered_by))
    if answer is None:
        raise Conflict(
            "this endpoint was registered more than 24 hours ago (or by someone else, or deleted since) and its "
            "secret is no longer kept; delete it and register again if the answer was lost",
            code="webhook_secret_already_shown",
            **first.model_dump(mode="json"),
        )
    log.info("wallet.webhook_endpoint.shown_again", endpoint_id=str(first.endpoint_id))
    return WebhookEndpointCreated.model_validate_json(answer)


async def list_endpoints(pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID) -> WebhookEndpointList:
    await ensure_account_access(pool, principal, account_id)
    if await notices_repository.account_name(pool, account_id) is None:
        raise NotFound("account not found")
    return WebhookEndpointList(
        items=[_endpoint_read(e) for e in await repository.list_endpoints(pool, account_id=account_id)]
    )


async def _existing_endpoint(
    db: asyncpg.Connection | asyncpg.Pool,
    *,
    principal: Principal,
    account_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    for_update: bool = False,
) -> repository.Endpoint:
    await ensure_account_access(db, principal, account_id, what="webhook endpoint")
    endpoint = await repository.get_endpoint(db, account_id=account_id, endpoint_id=endpoint_id, for_update=for_update)
    if endpoint is None:
        raise NotFound("webhook endpoint not found")
    return endpoint


async def read_endpoint(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpointRead:
    endpoint = await _existing_endpoint(pool, principal=principal, account_id=account_id, endpoint_id=endpoint_id)
    return _endpoint_read(endpoint)


async def delete_endpoint(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, endpoint_id: uuid.UUID, now: datetime
) -> None:
    """Nothing more is sent to it; its delivery log goes with it (404 from then on)."""
    async with transaction(pool) as conn:
        await _existing_endpoint(
            conn, principal=principal, account_id=account_id, endpoint_id=endpoint_id, for_update=True
        )
        await repository.set_endpoint_status(conn, endpoint_id=endpoint_id, status="deleted", reason=None, at=now)
        await repository.delete_shown_endpoints(conn, now=now, endpoint_id=endpoint_id)
    log.info("wallet.webhook_endpoint.deleted", account_id=str(account_id), endpoint_id=str(endpoint_id))


async def reactivate_endpoint(
    pool: asyncpg.Pool, *, principal: Principal, account_id: uuid.UUID, endpoint_id: uuid.UUID, now: datetime
) -> WebhookEndpointRead:
    """A disabled endpoint enabled again: every delivery still pending for it is due now. Enabled: unchanged."""
    async with transaction(pool) as conn:
        endpoint = await _existing_endpoint(
            conn, principal=principal, account_id=account_id, endpoint_id=endpoint_id, for_update=True
        )
        if endpoint.status == "disabled":
            await repository.set_endpoint_status(conn, endpoint_id=endpoint_id, status="enabled", reason=None, at=now)
            await repository.requeue_pending_of(conn, endpoint_id=endpoint_id, at=now)
            log.info("wallet.webhook_endpoint.reactivated", account_id=str(account_id), endpoint_id=str(endpoint_id))
        endpoint = await _existing_endpoint(conn, principal=principal, account_id=account_id, endpoint_id=endpoint_id)
    return _endpoint_read(endpoint)


# --- Deliveries ---------------------------------------------------------------------------------------


def _delivery_read(delivery: repository.Delivery, attempts: list[repository.Attempt]) -> WebhookDeliveryRead:
    return WebhookDeliveryRead.model_validate(
        {
            "id": delivery.id,
            "message_id": delivery.message_id,
            "endpoint_id": delivery.endpoint_id,
            "event_type": delivery.event_type,
            "status": delivery.status,
            "attempts": delivery.attempts,
            "next_attempt_at": delivery.next_attempt_at if delivery.status == "pending" else None,
            "created_at": delivery.created_at,
            "delivered_at": delivery.delivered_at,
            "log": [WebhookAttemptRead.model_validate(vars(a)) for a in attempts],
        }
    )


async def list_deliveries(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    account_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    cursor: str | None,
    limit: int,
) -> Page[WebhookDeliveryRead]:
    """The endpoint's delivery log, newest first, each delivery with its attempts."""
    await _existing_endpoint(pool, principal=principal, account_id=account_id, endpoint_id=endpoint_id)
    request = DELIVERY_PAGES.request(cursor, limit)
    after = None if request.after is None else (request.after[0], request.after[1])
    found = await repository.list_deliveries(pool, endpoint_id=endpoint_id, after=after, limit=request.fetch)
    page = DELIVERY_PAGES.page(found, request, key=lambda d: (d.created_at, d.id))
    attempts = await repository.attempts_of(pool, [d.id for d in page.items])
    return Page[WebhookDeliveryRead](
        items=[_delivery_read(d, attempts.get(d.id, [])) for d in page.items], next_cursor=page.next_cursor
    )


async def replay_delivery(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    account_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    delivery_id: uuid.UUID,
    now: datetime,
) -> WebhookDeliveryRead:
    """Send the delivery again at once (same `webhook-id`); a failed replay goes on with the retry schedule where
    the delivery left it (a given-up delivery is tried once more)."""
    async with transaction(pool) as conn:
        endpoint = await _existing_endpoint(conn, principal=principal, account_id=account_id, endpoint_id=endpoint_id)
        if endpoint.status != "enabled":
            raise Conflict("the endpoint is disabled: re-enable it first", code="webhook_endpoint_disabled")
        delivery = await repository.get_delivery(
            conn, endpoint_id=endpoint_id, delivery_id=delivery_id, for_update=True
        )
        if delivery is None:
            raise NotFound("webhook delivery not found")
        await repository.requeue_delivery(conn, delivery_id=delivery_id, at=now)
        replayed = await repository.get_delivery(conn, endpoint_id=endpoint_id, delivery_id=delivery_id)
        assert replayed is not None
        attempts = await repository.attempts_of(conn, [delivery_id])
    log.info("wallet.webhook_delivery.replayed", endpoint_id=str(endpoint_id), delivery_id=str(delivery_id))
    return _delivery_read(replayed, attempts.get(delivery_id, []))


# --- Retention ---------------------------------------------------------------------------------------


async def delete_old_rows(pool: asyncpg.Pool, *, before: datetime, batch: int = 1000) -> int:
    """Finished deliveries made before `before` (and those of deleted endpoints) with their attempts, then the
    messages left without a delivery, in batches of `batch` rows, each its own statement. How many rows went."""
    deleted = 0
    for delete in (repository.delete_old_deliveries, repository.delete_old_messages):
        while (n := await delete(pool, before=before, limit=batch)) > 0:
            deleted += n
            if n < batch:
                break
    return deleted


# --- The sender ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    delivery: repository.DueDelivery
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def _resolves_inward(url: str, *, timeout_s: float) -> bool:
    """Whether the URL's host resolves to an address that is not public (checked before every attempt)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or is_private_address(host):
        return True
    try:
        infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(host, None), timeout=timeout_s)
    except (OSError, TimeoutError):
        return False  # the attempt itself then fails to connect, and says so
    return any(is_private_address(str(info[4][0])) for info in infos)


async def _attempt(
    client: httpx.AsyncClient, delivery: repository.DueDelivery, *, at: datetime, allow_private: bool, timeout_s: float
) -> Outcome:
    body = delivery.body.encode()
    started = time.monotonic()
    status_code: int | None = None
    error: str | None = None
    try:
        if not allow_private and await _resolves_inward(delivery.url, timeout_s=timeout_s):
            error = "refused: the URL resolves to a private address"
        else:
            sent = headers(delivery.secret, message_id=delivery.message_id, at=at, body=body)
            # The answer's body is never read: a receiver cannot make the sender hold or store anything.
            async with client.stream("POST", delivery.url, content=body, headers=sent) as response:
                status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.monotonic() - started) * 1000)
    return Outcome(delivery=delivery, at=at, status_code=status_code, error=error, duration_ms=duration_ms)


async def _record(pool: asyncpg.Pool, outcome: Outcome, *, settings: Settings) -> None:
    delivery = outcome.delivery
    async with transaction(pool) as conn:
        await repository.record_attempt(
            conn,
            delivery_id=delivery.id,
            attempt=delivery.attempts,
            at=outcome.at,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
        if outcome.succeeded:
            await repository.finish_delivery(
                conn, delivery_id=delivery.id, status="delivered", next_attempt_at=outcome.at, delivered_at=outcome.at
            )
            await repository.mark_endpoint_healthy(conn, endpoint_id=delivery.endpoint_id)
            return
        retry_at = next_attempt_after(delivery.attempts, at=outcome.at)
        await repository.finish_delivery(
            conn,
            delivery_id=delivery.id,
            status="pending" if retry_at is not None else "failed",
            next_attempt_at=retry_at or outcome.at,
            delivered_at=None,
        )
        endpoint = await repository.mark_endpoint_failing(conn, endpoint_id=delivery.endpoint_id, at=outcome.at)
        disable_after = timedelta(seconds=settings.webhook_disable_after_s)
        if endpoint is None or endpoint.failing_since is None:
            return
        if should_disable(endpoint.failing_since, now=outcome.at, disable_after=disable_after):
            await _disable(conn, endpoint, settings=settings, at=outcome.at)


async def _disable(
    conn: asyncpg.Connection, endpoint: repository.Endpoint, *, settings: Settings, at: datetime
) -> None:
    assert endpoint.failing_since is not None
    reason = f"every delivery failed since {endpoint.failing_since.isoformat()}"
    await repository.set_endpoint_status(conn, endpoint_id=endpoint.id, status="disabled", reason=reason, at=at)
    await notices.enqueue(
        conn,
        settings=settings,
        account_id=endpoint.account_id,
        kind=NoticeKind.WEBHOOK_ENDPOINT_DISABLED,
        dedupe_key=f"webhook_endpoint_disabled:{endpoint.id}:{at.isoformat()}",
        values={
            "url": endpoint.url,
            "endpoint_id": str(endpoint.id),
            "failing_since": instant_text(endpoint.failing_since),
            "at": instant_text(at),
        },
        now=at,
    )
    log.warning("wallet.webhook_endpoint.disabled", account_id=str(endpoint.account_id), endpoint_id=str(endpoint.id))


async def deliver_due(pool: asyncpg.Pool, client: httpx.AsyncClient, *, settings: Settings, now: datetime) -> int:
    """Claim the deliveries due at `now`, attempt them together, record each outcome; how many were claimed."""
    lease = timedelta(seconds=settings.webhook_timeout_s * 2 + 30)
    claimed = await repository.claim_due_deliveries(
        pool, now=now, lease_until=now + lease, limit=settings.webhook_concurrency
    )
    if not claimed:
        return 0
    outcomes = await asyncio.gather(
        *(
            _attempt(
                client,
                d,
                at=now,
                allow_private=settings.webhook_allow_private_targets,
                timeout_s=settings.webhook_timeout_s,
            )
            for d in claimed
        )
    )
    for outcome in outcomes:
        # Recorded even across a database restart (within the lease): a delivered message is not sent again.
        await until_reachable(
            "database",
            functools.partial(_record, pool, outcome, settings=settings),
            away=is_database_away,
            within_s=lease.total_seconds(),
        )
        log.info(
            "wallet.webhook.attempted",
            delivery_id=str(outcome.delivery.id),
            attempt=outcome.delivery.attempts,
            status_code=outcome.status_code,
            error=outcome.error,
        )
    return len(claimed)


async def run_webhook_sender(runtime: Runtime[Settings]) -> None:
    """The background job on every replica: attempts what is due, then sleeps until the next due delivery on the
    service's clock (woken when the clock moves), at most `outbound_max_sleep_s`."""
    settings, pool = runtime.settings, runtime.pool
    timeout = httpx.Timeout(settings.webhook_timeout_s)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False) as client:

        async def send_due(now: datetime) -> bool:
            return await deliver_due(pool, client, settings=settings, now=now) == settings.webhook_concurrency

        await send_forever(
            what="webhooks",
            send_due=send_due,
            next_due=functools.partial(repository.next_due_instant, pool),
            clock=runtime.clock,
            max_sleep_s=settings.outbound_max_sleep_s,
        )
