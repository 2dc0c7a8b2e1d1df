from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from typing import cast
from uuid import UUID



def _get_kwargs(
    clock_id: UUID,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/v1/test-clocks/{clock_id}".format(clock_id=quote(str(clock_id), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | Problem | ValidationProblem | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    clock_id: UUID,
    *,
    client: AuthenticatedClient,

) -> Response[Any | Problem | ValidationProblem]:
    """ Delete Test Clock

     The clock stops for good: nothing is due on it again, its accounts stay readable at its last time.
    No live
    account is affected.

    **Roles:** `partner`, `operator`.

    Args:
        clock_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        clock_id=clock_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    clock_id: UUID,
    *,
    client: AuthenticatedClient,

) -> Any | Problem | ValidationProblem | None:
    """ Delete Test Clock

     The clock stops for good: nothing is due on it again, its accounts stay readable at its last time.
    No live
    account is affected.

    **Roles:** `partner`, `operator`.

    Args:
        clock_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem | ValidationProblem
     """


    return sync_detailed(
        clock_id=clock_id,
client=client,

    ).parsed

async def asyncio_detailed(
    clock_id: UUID,
    *,
    client: AuthenticatedClient,

) -> Response[Any | Problem | ValidationProblem]:
    """ Delete Test Clock

     The clock stops for good: nothing is due on it again, its accounts stay readable at its last time.
    No live
    account is affected.

    **Roles:** `partner`, `operator`.

    Args:
        clock_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        clock_id=clock_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    clock_id: UUID,
    *,
    client: AuthenticatedClient,

) -> Any | Problem | ValidationProblem | None:
    """ Delete Test Clock

     The clock stops for good: nothing is due on it again, its accounts stay readable at its last time.
    No live
    account is affected.

    **Roles:** `partner`, `operator`.

    Args:
        clock_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        clock_id=clock_id,
client=client,

    )).parsed
