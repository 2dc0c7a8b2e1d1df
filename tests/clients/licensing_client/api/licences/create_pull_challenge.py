from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.pull_challenge_read import PullChallengeRead
from ...models.validation_problem import ValidationProblem
from typing import cast



def _get_kwargs(
    hwid: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/gateways/{hwid}/challenge".format(hwid=quote(str(hwid), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | PullChallengeRead | ValidationProblem | None:
    if response.status_code == 201:
        response_201 = PullChallengeRead.from_dict(response.json())



        return response_201

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | PullChallengeRead | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    hwid: str,
    *,
    client: AuthenticatedClient | Client,

) -> Response[Problem | PullChallengeRead | ValidationProblem]:
    """ A one-time nonce for pulling a bundle over HTTP

     Not idempotent, by nature: each call issues a new nonce, which answers one pull only.

    Args:
        hwid (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | PullChallengeRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        hwid=hwid,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    hwid: str,
    *,
    client: AuthenticatedClient | Client,

) -> Problem | PullChallengeRead | ValidationProblem | None:
    """ A one-time nonce for pulling a bundle over HTTP

     Not idempotent, by nature: each call issues a new nonce, which answers one pull only.

    Args:
        hwid (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | PullChallengeRead | ValidationProblem
     """


    return sync_detailed(
        hwid=hwid,
client=client,

    ).parsed

async def asyncio_detailed(
    hwid: str,
    *,
    client: AuthenticatedClient | Client,

) -> Response[Problem | PullChallengeRead | ValidationProblem]:
    """ A one-time nonce for pulling a bundle over HTTP

     Not idempotent, by nature: each call issues a new nonce, which answers one pull only.

    Args:
        hwid (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | PullChallengeRead | ValidationProblem]
     """


    kwargs = _get_kwargs(
        hwid=hwid,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    hwid: str,
    *,
    client: AuthenticatedClient | Client,

) -> Problem | PullChallengeRead | ValidationProblem | None:
    """ A one-time nonce for pulling a bundle over HTTP

     Not idempotent, by nature: each call issues a new nonce, which answers one pull only.

    Args:
        hwid (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | PullChallengeRead | ValidationProblem
     """


    return (await asyncio_detailed(
        hwid=hwid,
client=client,

    )).parsed
