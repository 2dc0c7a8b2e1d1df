"""HTTP endpoints of the wallet's integrations: contact addresses, e-mail notices, webhook endpoints, deliveries.

Thin like `api.py`: who may call at all is the route's (any role); which account they may see, the use case's
(its customer, a partner or an operator; anyone else gets 404).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from shared.auth import AnyRolePrincipal
from shared.errors import problem_responses
from shared.idempotency import OptionalIdempotencyKey
from shared.pagination import Cursor, Page
from shared.runtime import DbPool, Now
from wallet import notices, webhooks
from wallet.api import WalletSettings
from wallet.integrations_schemas import (
    ContactsRead,
    ContactsUpdate,
    EmailNoticeList,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointList,
    WebhookEndpointRead,
)

router = APIRouter()

_NO_ACCOUNT = (404, "`not_found`: no such account (or not yours)")
_NO_ENDPOINT = (404, "`not_found`: no such account or webhook endpoint (or not yours)")
_ENDPOINT = "/accounts/{account_id}/webhook-endpoints/{endpoint_id}"


@router.get(
    "/accounts/{account_id}/contacts",
    tags=["notices"],
    responses=problem_responses(_NO_ACCOUNT),
    operation_id="readContacts",
)
async def read_contacts(account_id: UUID, principal: AnyRolePrincipal, pool: DbPool) -> ContactsRead:
    return await notices.read_contacts(pool, principal=principal, account_id=account_id)


@router.put(
    "/accounts/{account_id}/contacts",
    tags=["notices"],
    responses=problem_responses(_NO_ACCOUNT, (422, "`invalid_email`, `too_many_contacts`")),
    operation_id="replaceContacts",
)
async def put_contacts(
    account_id: UUID, body: ContactsUpdate, principal: AnyRolePrincipal, pool: DbPool, now: Now
) -> ContactsRead:
    return await notices.put_contacts(pool, principal=principal, account_id=account_id, emails=body.emails, now=now)


@router.get(
    "/accounts/{account_id}/email-notices",
    tags=["notices"],
    responses=problem_responses(_NO_ACCOUNT),
    operation_id="listEmailNotices",
)
async def list_email_notices(
    account_id: UUID,
    principal: AnyRolePrincipal,
    pool: DbPool,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EmailNoticeList:
    return await notices.list_notices(pool, principal=principal, account_id=account_id, limit=limit)


@router.post(
    "/accounts/{account_id}/webhook-endpoints",
    status_code=status.HTTP_201_CREATED,
    tags=["webhooks"],
    responses=problem_responses(
        _NO_ACCOUNT,
        (
            409,
            "`webhook_secret_already_shown`: a retry of a registration after its answer's 24 hours (within them, by "
            "the same principal, the first answer again)",
        ),
        (422, "`invalid_webhook_url`, `unknown_event_type`"),
    ),
    operation_id="registerWebhookEndpoint",
)
async def register_webhook_endpoint(
    account_id: UUID,
    body: WebhookEndpointCreate,
    principal: AnyRolePrincipal,
    pool: DbPool,
    idempotency_key: OptionalIdempotencyKey,
    settings: WalletSettings,
    now: Now,
) -> WebhookEndpointCreated:
    return await webhooks.register_endpoint(
        pool,
        principal=principal,
        account_id=account_id,
        body=body,
        allow_private=settings.webhook_allow_private_targets,
        idempotency_key=idempotency_key,
        sealing_key=settings.sealing_key,
        now=now,
    )


@router.get(
    "/accounts/{account_id}/webhook-endpoints",
    tags=["webhooks"],
    responses=problem_responses(_NO_ACCOUNT),
    operation_id="listWebhookEndpoints",
)
async def list_webhook_endpoints(account_id: UUID, principal: AnyRolePrincipal, pool: DbPool) -> WebhookEndpointList:
    return await webhooks.list_endpoints(pool, principal=principal, account_id=account_id)


@router.get(_ENDPOINT, tags=["webhooks"], responses=problem_responses(_NO_ENDPOINT), operation_id="readWebhookEndpoint")
async def read_webhook_endpoint(
    account_id: UUID, endpoint_id: UUID, principal: AnyRolePrincipal, pool: DbPool
) -> WebhookEndpointRead:
    return await webhooks.read_endpoint(pool, principal=principal, account_id=account_id, endpoint_id=endpoint_id)


@router.delete(
    _ENDPOINT,
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["webhooks"],
    responses=problem_responses(_NO_ENDPOINT),
    operation_id="deleteWebhookEndpoint",
)
async def delete_webhook_endpoint(
    account_id: UUID, endpoint_id: UUID, principal: AnyRolePrincipal, pool: DbPool, now: Now
) -> Response:
    await webhooks.delete_endpoint(pool, principal=principal, account_id=account_id, endpoint_id=endpoint_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    f"{_ENDPOINT}/reactivation",
    tags=["webhooks"],
    responses=problem_responses(_NO_ENDPOINT),
    operation_id="reactivateWebhookEndpoint",
)
async def reactivate_webhook_endpoint(
    account_id: UUID, endpoint_id: UUID, principal: AnyRolePrincipal, pool: DbPool, now: Now
) -> WebhookEndpointRead:
    return await webhooks.reactivate_endpoint(
        pool, principal=principal, account_id=account_id, endpoint_id=endpoint_id, now=now
    )


@router.get(
    f"{_ENDPOINT}/deliveries",
    tags=["webhooks"],
    responses=problem_responses((400, "`invalid_cursor`"), _NO_ENDPOINT),
    operation_id="listWebhookDeliveries",
)
async def list_webhook_deliveries(
    account_id: UUID,
    endpoint_id: UUID,
    principal: AnyRolePrincipal,
    pool: DbPool,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[WebhookDeliveryRead]:
    return await webhooks.list_deliveries(
        pool, principal=principal, account_id=account_id, endpoint_id=endpoint_id, cursor=cursor, limit=limit
    )


@router.post(
    f"{_ENDPOINT}/deliveries/{{delivery_id}}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["webhooks"],
    responses=problem_responses(
        (404, "`not_found`: no such account, endpoint or delivery (or not yours)"),
        (409, "`webhook_endpoint_disabled`: re-enable the endpoint first"),
    ),
    operation_id="replayWebhookDelivery",
)
async def replay_webhook_delivery(
    account_id: UUID, endpoint_id: UUID, delivery_id: UUID, principal: AnyRolePrincipal, pool: DbPool, now: Now
) -> WebhookDeliveryRead:
    return await webhooks.replay_delivery(
        pool, principal=principal, account_id=account_id, endpoint_id=endpoint_id, delivery_id=delivery_id, now=now
    )
