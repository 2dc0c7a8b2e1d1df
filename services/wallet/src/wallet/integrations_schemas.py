"""HTTP shapes of the wallet's integrations: contact addresses, e-mail notices, webhook endpoints and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.validation import NO_NUL
from wallet.notices_domain import EMAIL_PATTERN, MAX_CONTACTS, NoticeKind
from wallet.webhooks_domain import URL_PATTERN, WebhookEventType

Email = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]


class ContactsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Every e-mail notice of the account goes to each of these (none: no notices).
    emails: list[Email] = Field(max_length=MAX_CONTACTS)


class ContactsRead(BaseModel):
    account_id: UUID
    emails: list[str]
    updated_at: datetime | None


class EmailNoticeRead(BaseModel):
    id: UUID
    kind: NoticeKind
    recipients: list[str]
    subject: str
    status: Literal["pending", "sent", "failed"]
    attempts: int
    created_at: datetime
    sent_at: datetime | None


class EmailNoticeList(BaseModel):
    items: list[EmailNoticeRead]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # http(s); a loopback, private or link-local address is refused (422 `invalid_webhook_url`) unless the
    # wallet allows them (`WALLET_WEBHOOK_ALLOW_PRIVATE_TARGETS`).
    url: str = Field(min_length=1, max_length=2000, pattern=URL_PATTERN)
    description: str = Field(default="", max_length=200, pattern=NO_NUL)
    # The event types delivered to this endpoint; empty (the default): all of them.
    event_types: list[WebhookEventType] = Field(default_factory=list, max_length=len(WebhookEventType))


class WebhookEndpointRead(BaseModel):
    id: UUID
    account_id: UUID
    url: str
    description: str
    event_types: list[WebhookEventType]
    # `disabled`: it failed every attempt for too long (`disabled_reason`); re-enable it with `/reactivation`.
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    created_at: datetime


class WebhookEndpointCreated(WebhookEndpointRead):
    # The signing secret, `whsec_` + base64: shown here once, never again.
    secret: str


class WebhookEndpointReceipt(BaseModel):
    """What a retried registration learns: the endpoint, without its secret (shown once)."""

    endpoint_id: UUID


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpointRead]


class WebhookAttemptRead(BaseModel):
    attempt: int
    at: datetime
    # The receiver's HTTP status; null when no answer came (refused, timed out: see `error`).
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookDeliveryRead(BaseModel):
    id: UUID
    # The `webhook-id` header: the same in every attempt and replay of this event.
    message_id: str
    endpoint_id: UUID
    event_type: WebhookEventType
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    # When the next attempt is due while pending; null once delivered or given up.
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[WebhookAttemptRead]
