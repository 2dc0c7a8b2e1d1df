from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.tariff_read import TariffRead
from ...models.tariff_write import TariffWrite
from ...models.validation_problem import ValidationProblem
from typing import cast



def _get_kwargs(
    product: str,
    *,
    body: TariffWrite,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/tariffs/{product}".format(product=quote(str(product), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TariffRead | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = TariffRead.from_dict(response.json())



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

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

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
    body: TariffWrite,

) -> Response[Problem | TariffRead | ValidationProblem]:
    """ Set a product's tariff, at once or from `effective_at`; active rentals follow from then on

     **Roles:** `operator`.

    Args:
        product (str):
        body (TariffWrite):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TariffRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        product=product,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    product: str,
    *,
    client: AuthenticatedClient,
    body: TariffWrite,

) -> Problem | TariffRead | ValidationProblem | None:
    """ Set a product's tariff, at once or from `effective_at`; active rentals follow from then on

     **Roles:** `operator`.

    Args:
        product (str):
        body (TariffWrite):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TariffRead | ValidationProblem
     """


    return sync_detailed(
        product=product,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    product: str,
    *,
    client: AuthenticatedClient,
    body: TariffWrite,

) -> Response[Problem | TariffRead | ValidationProblem]:
    """ Set a product's tariff, at once or from `effective_at`; active rentals follow from then on

     **Roles:** `operator`.

    Args:
        product (str):
        body (TariffWrite):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TariffRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        product=product,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    product: str,
    *,
    client: AuthenticatedClient,
    body: TariffWrite,

) -> Problem | TariffRead | ValidationProblem | None:
    """ Set a product's tariff, at once or from `effective_at`; active rentals follow from then on

     **Roles:** `operator`.

    Args:
        product (str):
        body (TariffWrite):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TariffRead | ValidationProblem
     """


    return (await asyncio_detailed(
        product=product,
client=client,
body=body,

    )).parsed
