from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.gateway_read import GatewayRead
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from typing import cast
from uuid import UUID



def _get_kwargs(
    domain_id: UUID,
    gateway_id: UUID,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/domains/{domain_id}/gateways/{gateway_id}".format(domain_id=quote(str(domain_id), safe=""),gateway_id=quote(str(gateway_id), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> GatewayRead | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = GatewayRead.from_dict(response.json())



        return response_200

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[GatewayRead | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    domain_id: UUID,
    gateway_id: UUID,
    *,
    client: AuthenticatedClient,

) -> Response[GatewayRead | Problem | ValidationProblem]:
    """ Read Gateway

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        gateway_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GatewayRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        domain_id=domain_id,
gateway_id=gateway_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    domain_id: UUID,
    gateway_id: UUID,
    *,
    client: AuthenticatedClient,

) -> GatewayRead | Problem | ValidationProblem | None:
    """ Read Gateway

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        gateway_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GatewayRead | Problem | ValidationProblem
     """


    return sync_detailed(
        domain_id=domain_id,
gateway_id=gateway_id,
client=client,

    ).parsed

async def asyncio_detailed(
    domain_id: UUID,
    gateway_id: UUID,
    *,
    client: AuthenticatedClient,

) -> Response[GatewayRead | Problem | ValidationProblem]:
    """ Read Gateway

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        gateway_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GatewayRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        domain_id=domain_id,
gateway_id=gateway_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    domain_id: UUID,
    gateway_id: UUID,
    *,
    client: AuthenticatedClient,

) -> GatewayRead | Problem | ValidationProblem | None:
    """ Read Gateway

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        gateway_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GatewayRead | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        domain_id=domain_id,
gateway_id=gateway_id,
client=client,

    )).parsed
