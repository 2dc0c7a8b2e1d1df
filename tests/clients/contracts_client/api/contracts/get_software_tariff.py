from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.software_tariff_read import SoftwareTariffRead
from ...models.validation_problem import ValidationProblem
from typing import cast



def _get_kwargs(
    licence_type: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/software-tariffs/{licence_type}".format(licence_type=quote(str(licence_type), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SoftwareTariffRead | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = SoftwareTariffRead.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | SoftwareTariffRead | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    licence_type: str,
    *,
    client: AuthenticatedClient,

) -> Response[Problem | SoftwareTariffRead | ValidationProblem]:
    """ A licence type's tariff

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        licence_type (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SoftwareTariffRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        licence_type=licence_type,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    licence_type: str,
    *,
    client: AuthenticatedClient,

) -> Problem | SoftwareTariffRead | ValidationProblem | None:
    """ A licence type's tariff

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        licence_type (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SoftwareTariffRead | ValidationProblem
     """


    return sync_detailed(
        licence_type=licence_type,
client=client,

    ).parsed

async def asyncio_detailed(
    licence_type: str,
    *,
    client: AuthenticatedClient,

) -> Response[Problem | SoftwareTariffRead | ValidationProblem]:
    """ A licence type's tariff

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        licence_type (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SoftwareTariffRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        licence_type=licence_type,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    licence_type: str,
    *,
    client: AuthenticatedClient,

) -> Problem | SoftwareTariffRead | ValidationProblem | None:
    """ A licence type's tariff

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        licence_type (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SoftwareTariffRead | ValidationProblem
     """


    return (await asyncio_detailed(
        licence_type=licence_type,
client=client,

    )).parsed
