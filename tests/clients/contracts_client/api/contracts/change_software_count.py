from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.software_count_change import SoftwareCountChange
from ...models.software_rental_read import SoftwareRentalRead
from ...models.validation_problem import ValidationProblem
from typing import cast
from uuid import UUID



def _get_kwargs(
    contract_id: UUID,
    rental_id: UUID,
    *,
    body: SoftwareCountChange,
    idempotency_key: str,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/contracts/{contract_id}/software-rentals/{rental_id}/count-change".format(contract_id=quote(str(contract_id), safe=""),rental_id=quote(str(rental_id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | SoftwareRentalRead | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = SoftwareRentalRead.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | SoftwareRentalRead | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    contract_id: UUID,
    rental_id: UUID,
    *,
    client: AuthenticatedClient,
    body: SoftwareCountChange,
    idempotency_key: str,

) -> Response[Problem | SoftwareRentalRead | ValidationProblem]:
    """ Change how many licences the rental holds

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        contract_id (UUID):
        rental_id (UUID):
        idempotency_key (str):
        body (SoftwareCountChange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SoftwareRentalRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        contract_id=contract_id,
rental_id=rental_id,
body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    contract_id: UUID,
    rental_id: UUID,
    *,
    client: AuthenticatedClient,
    body: SoftwareCountChange,
    idempotency_key: str,

) -> Problem | SoftwareRentalRead | ValidationProblem | None:
    """ Change how many licences the rental holds

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        contract_id (UUID):
        rental_id (UUID):
        idempotency_key (str):
        body (SoftwareCountChange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SoftwareRentalRead | ValidationProblem
     """


    return sync_detailed(
        contract_id=contract_id,
rental_id=rental_id,
client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    contract_id: UUID,
    rental_id: UUID,
    *,
    client: AuthenticatedClient,
    body: SoftwareCountChange,
    idempotency_key: str,

) -> Response[Problem | SoftwareRentalRead | ValidationProblem]:
    """ Change how many licences the rental holds

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        contract_id (UUID):
        rental_id (UUID):
        idempotency_key (str):
        body (SoftwareCountChange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SoftwareRentalRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        contract_id=contract_id,
rental_id=rental_id,
body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    contract_id: UUID,
    rental_id: UUID,
    *,
    client: AuthenticatedClient,
    body: SoftwareCountChange,
    idempotency_key: str,

) -> Problem | SoftwareRentalRead | ValidationProblem | None:
    """ Change how many licences the rental holds

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        contract_id (UUID):
        rental_id (UUID):
        idempotency_key (str):
        body (SoftwareCountChange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SoftwareRentalRead | ValidationProblem
     """


    return (await asyncio_detailed(
        contract_id=contract_id,
rental_id=rental_id,
client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
