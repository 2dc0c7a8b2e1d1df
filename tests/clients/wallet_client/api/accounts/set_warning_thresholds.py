from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.account_read import AccountRead
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...models.warning_thresholds_write import WarningThresholdsWrite
from typing import cast
from uuid import UUID



def _get_kwargs(
    account_id: UUID,
    *,
    body: WarningThresholdsWrite,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/accounts/{account_id}/warning-thresholds".format(account_id=quote(str(account_id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AccountRead | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = AccountRead.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AccountRead | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    account_id: UUID,
    *,
    client: AuthenticatedClient,
    body: WarningThresholdsWrite,

) -> Response[AccountRead | Problem | ValidationProblem]:
    """ Set Warning Thresholds

     The account's own warning ladder (seconds of time left); `null` returns to the deployment's ladder.

    **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        account_id (UUID):
        body (WarningThresholdsWrite): An account's own warning ladder, in seconds of time left;
            null returns to the deployment's ladder. The
            bounds are the deployment's (`warning_thresholds_out_of_bounds` otherwise).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccountRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        account_id=account_id,
body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    account_id: UUID,
    *,
    client: AuthenticatedClient,
    body: WarningThresholdsWrite,

) -> AccountRead | Problem | ValidationProblem | None:
    """ Set Warning Thresholds

     The account's own warning ladder (seconds of time left); `null` returns to the deployment's ladder.

    **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        account_id (UUID):
        body (WarningThresholdsWrite): An account's own warning ladder, in seconds of time left;
            null returns to the deployment's ladder. The
            bounds are the deployment's (`warning_thresholds_out_of_bounds` otherwise).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccountRead | Problem | ValidationProblem
     """


    return sync_detailed(
        account_id=account_id,
client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    account_id: UUID,
    *,
    client: AuthenticatedClient,
    body: WarningThresholdsWrite,

) -> Response[AccountRead | Problem | ValidationProblem]:
    """ Set Warning Thresholds

     The account's own warning ladder (seconds of time left); `null` returns to the deployment's ladder.

    **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        account_id (UUID):
        body (WarningThresholdsWrite): An account's own warning ladder, in seconds of time left;
            null returns to the deployment's ladder. The
            bounds are the deployment's (`warning_thresholds_out_of_bounds` otherwise).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccountRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        account_id=account_id,
body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    account_id: UUID,
    *,
    client: AuthenticatedClient,
    body: WarningThresholdsWrite,

) -> AccountRead | Problem | ValidationProblem | None:
    """ Set Warning Thresholds

     The account's own warning ladder (seconds of time left); `null` returns to the deployment's ladder.

    **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        account_id (UUID):
        body (WarningThresholdsWrite): An account's own warning ladder, in seconds of time left;
            null returns to the deployment's ladder. The
            bounds are the deployment's (`warning_thresholds_out_of_bounds` otherwise).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccountRead | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        account_id=account_id,
client=client,
body=body,

    )).parsed
