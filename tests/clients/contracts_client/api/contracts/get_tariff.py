from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.tariff_read import TariffRead
from ...models.validation_problem import ValidationProblem
from typing import cast



def _get_kwargs(
    product: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/tariffs/{product}".format(product=quote(str(product), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TariffRead | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = TariffRead.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | TariffRead | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    product: str,
    *,
    client: AuthenticatedClient,

) -> Response[Problem | TariffRead | ValidationProblem]:
    """ A product's tariff

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        product (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TariffRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        product=product,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    product: str,
    *,
    client: AuthenticatedClient,

) -> Problem | TariffRead | ValidationProblem | None:
    """ A product's tariff

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        product (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TariffRead | ValidationProblem
     """


    return sync_detailed(
        product=product,
client=client,

    ).parsed

async def asyncio_detailed(
    product: str,
    *,
    client: AuthenticatedClient,

) -> Response[Problem | TariffRead | ValidationProblem]:
    """ A product's tariff

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        product (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TariffRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        product=product,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    product: str,
    *,
    client: AuthenticatedClient,

) -> Problem | TariffRead | ValidationProblem | None:
    """ A product's tariff

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        product (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TariffRead | ValidationProblem
     """


    return (await asyncio_detailed(
        product=product,
client=client,

    )).parsed
