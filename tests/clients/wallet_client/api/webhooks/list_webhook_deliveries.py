from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.page_webhook_delivery_read import PageWebhookDeliveryRead
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    account_id: UUID,
    endpoint_id: UUID,
    *,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["cursor"] = cursor

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/accounts/{account_id}/webhook-endpoints/{endpoint_id}/deliveries".format(account_id=quote(str(account_id), safe=""),endpoint_id=quote(str(endpoint_id), safe=""),),
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PageWebhookDeliveryRead | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = PageWebhookDeliveryRead.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if response.status_code == 422:
        response_422 = ValidationProblem.from_dict(response.json())



        return response_422

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PageWebhookDeliveryRead | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    account_id: UUID,
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> Response[PageWebhookDeliveryRead | Problem | ValidationProblem]:
    """ List Webhook Deliveries

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        account_id (UUID):
        endpoint_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageWebhookDeliveryRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        account_id=account_id,
endpoint_id=endpoint_id,
cursor=cursor,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    account_id: UUID,
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> PageWebhookDeliveryRead | Problem | ValidationProblem | None:
    """ List Webhook Deliveries

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        account_id (UUID):
        endpoint_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageWebhookDeliveryRead | Problem | ValidationProblem
     """


    return sync_detailed(
        account_id=account_id,
endpoint_id=endpoint_id,
client=client,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    account_id: UUID,
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> Response[PageWebhookDeliveryRead | Problem | ValidationProblem]:
    """ List Webhook Deliveries

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        account_id (UUID):
        endpoint_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageWebhookDeliveryRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        account_id=account_id,
endpoint_id=endpoint_id,
cursor=cursor,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    account_id: UUID,
    endpoint_id: UUID,
    *,
    client: AuthenticatedClient,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> PageWebhookDeliveryRead | Problem | ValidationProblem | None:
    """ List Webhook Deliveries

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        account_id (UUID):
        endpoint_id (UUID):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageWebhookDeliveryRead | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        account_id=account_id,
endpoint_id=endpoint_id,
client=client,
cursor=cursor,
limit=limit,

    )).parsed
