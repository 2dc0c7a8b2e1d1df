from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.key_revocation_read import KeyRevocationRead
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from typing import cast



def _get_kwargs(
    kid: str,
    *,
    idempotency_key: str,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/signing-keys/{kid}/revocation".format(kid=quote(str(kid), safe=""),),
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> KeyRevocationRead | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = KeyRevocationRead.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[KeyRevocationRead | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    kid: str,
    *,
    client: AuthenticatedClient,
    idempotency_key: str,

) -> Response[KeyRevocationRead | Problem | ValidationProblem]:
    """ Operator: unpublish a signing key at once and re-sign every bundle it signed with the current key

     If the key is the one signing now, a new key is made first (a rotation). The key is never published
    or used again. Needs an Idempotency-Key: a retry answers the first revocation.

    **Roles:** `operator`.

    Args:
        kid (str):
        idempotency_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[KeyRevocationRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        kid=kid,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    kid: str,
    *,
    client: AuthenticatedClient,
    idempotency_key: str,

) -> KeyRevocationRead | Problem | ValidationProblem | None:
    """ Operator: unpublish a signing key at once and re-sign every bundle it signed with the current key

     If the key is the one signing now, a new key is made first (a rotation). The key is never published
    or used again. Needs an Idempotency-Key: a retry answers the first revocation.

    **Roles:** `operator`.

    Args:
        kid (str):
        idempotency_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        KeyRevocationRead | Problem | ValidationProblem
     """


    return sync_detailed(
        kid=kid,
client=client,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    kid: str,
    *,
    client: AuthenticatedClient,
    idempotency_key: str,

) -> Response[KeyRevocationRead | Problem | ValidationProblem]:
    """ Operator: unpublish a signing key at once and re-sign every bundle it signed with the current key

     If the key is the one signing now, a new key is made first (a rotation). The key is never published
    or used again. Needs an Idempotency-Key: a retry answers the first revocation.

    **Roles:** `operator`.

    Args:
        kid (str):
        idempotency_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[KeyRevocationRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        kid=kid,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    kid: str,
    *,
    client: AuthenticatedClient,
    idempotency_key: str,

) -> KeyRevocationRead | Problem | ValidationProblem | None:
    """ Operator: unpublish a signing key at once and re-sign every bundle it signed with the current key

     If the key is the one signing now, a new key is made first (a rotation). The key is never published
    or used again. Needs an Idempotency-Key: a retry answers the first revocation.

    **Roles:** `operator`.

    Args:
        kid (str):
        idempotency_key (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        KeyRevocationRead | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        kid=kid,
client=client,
idempotency_key=idempotency_key,

    )).parsed
