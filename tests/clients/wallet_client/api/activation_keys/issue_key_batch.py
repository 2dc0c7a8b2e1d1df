from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.key_batch_create import KeyBatchCreate
from ...models.key_batch_read import KeyBatchRead
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from typing import cast



def _get_kwargs(
    *,
    body: KeyBatchCreate,
    idempotency_key: str,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/activation-keys",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> KeyBatchRead | Problem | ValidationProblem | None:
    if response.status_code == 201:
        response_201 = KeyBatchRead.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[KeyBatchRead | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: KeyBatchCreate,
    idempotency_key: str,

) -> Response[KeyBatchRead | Problem | ValidationProblem]:
    """ Issue Key Batch

     Issue a batch of activation keys; the answer shows their codes. A retry by the same partner with the
    same
    Idempotency-Key and body within 24 hours gets the same answer (the codes are kept sealed, AES-GCM,
    for that
    long); later it is 409 `codes_already_shown` with the batch's id and key ids.

    **Roles:** `partner`, `operator`.

    Args:
        idempotency_key (str):
        body (KeyBatchCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[KeyBatchRead | Problem | ValidationProblem]
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
    body: KeyBatchCreate,
    idempotency_key: str,

) -> KeyBatchRead | Problem | ValidationProblem | None:
    """ Issue Key Batch

     Issue a batch of activation keys; the answer shows their codes. A retry by the same partner with the
    same
    Idempotency-Key and body within 24 hours gets the same answer (the codes are kept sealed, AES-GCM,
    for that
    long); later it is 409 `codes_already_shown` with the batch's id and key ids.

    **Roles:** `partner`, `operator`.

    Args:
        idempotency_key (str):
        body (KeyBatchCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        KeyBatchRead | Problem | ValidationProblem
     """


    return sync_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: KeyBatchCreate,
    idempotency_key: str,

) -> Response[KeyBatchRead | Problem | ValidationProblem]:
    """ Issue Key Batch

     Issue a batch of activation keys; the answer shows their codes. A retry by the same partner with the
    same
    Idempotency-Key and body within 24 hours gets the same answer (the codes are kept sealed, AES-GCM,
    for that
    long); later it is 409 `codes_already_shown` with the batch's id and key ids.

    **Roles:** `partner`, `operator`.

    Args:
        idempotency_key (str):
        body (KeyBatchCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[KeyBatchRead | Problem | ValidationProblem]
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
    body: KeyBatchCreate,
    idempotency_key: str,

) -> KeyBatchRead | Problem | ValidationProblem | None:
    """ Issue Key Batch

     Issue a batch of activation keys; the answer shows their codes. A retry by the same partner with the
    same
    Idempotency-Key and body within 24 hours gets the same answer (the codes are kept sealed, AES-GCM,
    for that
    long); later it is 409 `codes_already_shown` with the batch's id and key ids.

    **Roles:** `partner`, `operator`.

    Args:
        idempotency_key (str):
        body (KeyBatchCreate):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        KeyBatchRead | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
