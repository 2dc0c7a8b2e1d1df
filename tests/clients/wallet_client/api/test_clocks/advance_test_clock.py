from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.test_clock_advance import TestClockAdvance
from ...models.test_clock_read import TestClockRead
from ...models.validation_problem import ValidationProblem
from typing import cast
from uuid import UUID



def _get_kwargs(
    clock_id: UUID,
    *,
    body: TestClockAdvance,
    idempotency_key: str,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/test-clocks/{clock_id}/advance".format(clock_id=quote(str(clock_id), safe=""),),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TestClockRead | ValidationProblem | None:
    if response.status_code == 202:
        response_202 = TestClockRead.from_dict(response.json())



        return response_202

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | TestClockRead | ValidationProblem]:
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
    body: TestClockAdvance,
    idempotency_key: str,

) -> Response[Problem | TestClockRead | ValidationProblem]:
    """ Advance Test Clock

     Move the clock forward to `to`. Answered at once (`advancing`); every run-out, Auto-iSC reload,
    warning and
    daily settlement its accounts have due until then is done in the background, in time order, each at
    its
    instant. Poll `GET /test-clocks/{id}` until `ready` (or wait for `TestClockReady`).

    **Roles:** `partner`, `operator`.

    Args:
        clock_id (UUID):
        idempotency_key (str):
        body (TestClockAdvance):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TestClockRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        clock_id=clock_id,
body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    clock_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TestClockAdvance,
    idempotency_key: str,

) -> Problem | TestClockRead | ValidationProblem | None:
    """ Advance Test Clock

     Move the clock forward to `to`. Answered at once (`advancing`); every run-out, Auto-iSC reload,
    warning and
    daily settlement its accounts have due until then is done in the background, in time order, each at
    its
    instant. Poll `GET /test-clocks/{id}` until `ready` (or wait for `TestClockReady`).

    **Roles:** `partner`, `operator`.

    Args:
        clock_id (UUID):
        idempotency_key (str):
        body (TestClockAdvance):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TestClockRead | ValidationProblem
     """


    return sync_detailed(
        clock_id=clock_id,
client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    clock_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TestClockAdvance,
    idempotency_key: str,

) -> Response[Problem | TestClockRead | ValidationProblem]:
    """ Advance Test Clock

     Move the clock forward to `to`. Answered at once (`advancing`); every run-out, Auto-iSC reload,
    warning and
    daily settlement its accounts have due until then is done in the background, in time order, each at
    its
    instant. Poll `GET /test-clocks/{id}` until `ready` (or wait for `TestClockReady`).

    **Roles:** `partner`, `operator`.

    Args:
        clock_id (UUID):
        idempotency_key (str):
        body (TestClockAdvance):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TestClockRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        clock_id=clock_id,
body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    clock_id: UUID,
    *,
    client: AuthenticatedClient,
    body: TestClockAdvance,
    idempotency_key: str,

) -> Problem | TestClockRead | ValidationProblem | None:
    """ Advance Test Clock

     Move the clock forward to `to`. Answered at once (`advancing`); every run-out, Auto-iSC reload,
    warning and
    daily settlement its accounts have due until then is done in the background, in time order, each at
    its
    instant. Poll `GET /test-clocks/{id}` until `ready` (or wait for `TestClockReady`).

    **Roles:** `partner`, `operator`.

    Args:
        clock_id (UUID):
        idempotency_key (str):
        body (TestClockAdvance):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TestClockRead | ValidationProblem
     """


    return (await asyncio_detailed(
        clock_id=clock_id,
client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
