from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.test_clock_create import TestClockCreate
from ...models.test_clock_read import TestClockRead
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    *,
    body: TestClockCreate,
    idempotency_key: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/test-clocks",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TestClockRead | ValidationProblem | None:
    if response.status_code == 201:
        response_201 = TestClockRead.from_dict(response.json())



        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())



        return response_403

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | TestClockRead | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: TestClockCreate,
    idempotency_key: str | Unset = UNSET,

) -> Response[Problem | TestClockRead | ValidationProblem]:
    """ Create Test Clock

     A clock standing at `frozen_time`. Accounts opened with its id (`POST /accounts`, `test_clock_id`)
    live on
    its time; it moves only when advanced.

    **Roles:** `partner`, `operator`.

    Args:
        idempotency_key (str | Unset):
        body (TestClockCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TestClockRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: TestClockCreate,
    idempotency_key: str | Unset = UNSET,

) -> Problem | TestClockRead | ValidationProblem | None:
    """ Create Test Clock

     A clock standing at `frozen_time`. Accounts opened with its id (`POST /accounts`, `test_clock_id`)
    live on
    its time; it moves only when advanced.

    **Roles:** `partner`, `operator`.

    Args:
        idempotency_key (str | Unset):
        body (TestClockCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TestClockRead | ValidationProblem
     """


    return sync_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: TestClockCreate,
    idempotency_key: str | Unset = UNSET,

) -> Response[Problem | TestClockRead | ValidationProblem]:
    """ Create Test Clock

     A clock standing at `frozen_time`. Accounts opened with its id (`POST /accounts`, `test_clock_id`)
    live on
    its time; it moves only when advanced.

    **Roles:** `partner`, `operator`.

    Args:
        idempotency_key (str | Unset):
        body (TestClockCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TestClockRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: TestClockCreate,
    idempotency_key: str | Unset = UNSET,

) -> Problem | TestClockRead | ValidationProblem | None:
    """ Create Test Clock

     A clock standing at `frozen_time`. Accounts opened with its id (`POST /accounts`, `test_clock_id`)
    live on
    its time; it moves only when advanced.

    **Roles:** `partner`, `operator`.

    Args:
        idempotency_key (str | Unset):
        body (TestClockCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TestClockRead | ValidationProblem
     """


    return (await asyncio_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
