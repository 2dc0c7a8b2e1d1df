from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.page_software_rental_read import PageSoftwareRentalRead
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    contract_id: UUID,
    *,
    active: bool | Unset = False,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["active"] = active

    params["cursor"] = cursor

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/contracts/{contract_id}/software-rentals".format(contract_id=quote(str(contract_id), safe=""),),
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PageSoftwareRentalRead | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = PageSoftwareRentalRead.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PageSoftwareRentalRead | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    contract_id: UUID,
    *,
    client: AuthenticatedClient,
    active: bool | Unset = False,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> Response[PageSoftwareRentalRead | Problem | ValidationProblem]:
    """ Software rentals of the contract, newest first

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        contract_id (UUID):
        active (bool | Unset):  Default: False.
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageSoftwareRentalRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        contract_id=contract_id,
active=active,
cursor=cursor,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    contract_id: UUID,
    *,
    client: AuthenticatedClient,
    active: bool | Unset = False,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> PageSoftwareRentalRead | Problem | ValidationProblem | None:
    """ Software rentals of the contract, newest first

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        contract_id (UUID):
        active (bool | Unset):  Default: False.
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageSoftwareRentalRead | Problem | ValidationProblem
     """


    return sync_detailed(
        contract_id=contract_id,
client=client,
active=active,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    contract_id: UUID,
    *,
    client: AuthenticatedClient,
    active: bool | Unset = False,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> Response[PageSoftwareRentalRead | Problem | ValidationProblem]:
    """ Software rentals of the contract, newest first

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        contract_id (UUID):
        active (bool | Unset):  Default: False.
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageSoftwareRentalRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        contract_id=contract_id,
active=active,
cursor=cursor,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    contract_id: UUID,
    *,
    client: AuthenticatedClient,
    active: bool | Unset = False,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> PageSoftwareRentalRead | Problem | ValidationProblem | None:
    """ Software rentals of the contract, newest first

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        contract_id (UUID):
        active (bool | Unset):  Default: False.
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageSoftwareRentalRead | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        contract_id=contract_id,
client=client,
active=active,
cursor=cursor,
limit=limit,

    )).parsed
