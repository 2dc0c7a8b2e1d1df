from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.bundle_read import BundleRead
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    hwid: str,
    *,
    x_gateway_nonce: str,
    x_gateway_signature: str,
    x_gateway_seq: int | Unset = 0,
    x_gateway_floor: int | Unset = 0,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["X-Gateway-Nonce"] = x_gateway_nonce

    headers["X-Gateway-Signature"] = x_gateway_signature

    if not isinstance(x_gateway_seq, Unset):
        headers["X-Gateway-Seq"] = str(x_gateway_seq)


    if not isinstance(x_gateway_floor, Unset):
        headers["X-Gateway-Floor"] = str(x_gateway_floor)




    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/gateways/{hwid}/bundle".format(hwid=quote(str(hwid), safe=""),),
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Any | BundleRead | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = BundleRead.from_dict(response.json())



        return response_200

    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())



        return response_401

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Any | BundleRead | Problem | ValidationProblem]:
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
    x_gateway_nonce: str,
    x_gateway_signature: str,
    x_gateway_seq: int | Unset = 0,
    x_gateway_floor: int | Unset = 0,

) -> Response[Any | BundleRead | Problem | ValidationProblem]:
    """ Pull the current bundle (204 when the gateway already holds it)

     `X-Gateway-Seq`: the bundle held (0: none); `X-Gateway-Floor`: the highest seq ever accepted
    (default: the seq held). The current bundle is sent whenever it is not the one held, above the
    floor.

    Args:
        hwid (str):
        x_gateway_nonce (str):
        x_gateway_signature (str):
        x_gateway_seq (int | Unset):  Default: 0.
        x_gateway_floor (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | BundleRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        hwid=hwid,
x_gateway_nonce=x_gateway_nonce,
x_gateway_signature=x_gateway_signature,
x_gateway_seq=x_gateway_seq,
x_gateway_floor=x_gateway_floor,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    hwid: str,
    *,
    client: AuthenticatedClient | Client,
    x_gateway_nonce: str,
    x_gateway_signature: str,
    x_gateway_seq: int | Unset = 0,
    x_gateway_floor: int | Unset = 0,

) -> Any | BundleRead | Problem | ValidationProblem | None:
    """ Pull the current bundle (204 when the gateway already holds it)

     `X-Gateway-Seq`: the bundle held (0: none); `X-Gateway-Floor`: the highest seq ever accepted
    (default: the seq held). The current bundle is sent whenever it is not the one held, above the
    floor.

    Args:
        hwid (str):
        x_gateway_nonce (str):
        x_gateway_signature (str):
        x_gateway_seq (int | Unset):  Default: 0.
        x_gateway_floor (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | BundleRead | Problem | ValidationProblem
     """


    return sync_detailed(
        hwid=hwid,
client=client,
x_gateway_nonce=x_gateway_nonce,
x_gateway_signature=x_gateway_signature,
x_gateway_seq=x_gateway_seq,
x_gateway_floor=x_gateway_floor,

    ).parsed

async def asyncio_detailed(
    hwid: str,
    *,
    client: AuthenticatedClient | Client,
    x_gateway_nonce: str,
    x_gateway_signature: str,
    x_gateway_seq: int | Unset = 0,
    x_gateway_floor: int | Unset = 0,

) -> Response[Any | BundleRead | Problem | ValidationProblem]:
    """ Pull the current bundle (204 when the gateway already holds it)

     `X-Gateway-Seq`: the bundle held (0: none); `X-Gateway-Floor`: the highest seq ever accepted
    (default: the seq held). The current bundle is sent whenever it is not the one held, above the
    floor.

    Args:
        hwid (str):
        x_gateway_nonce (str):
        x_gateway_signature (str):
        x_gateway_seq (int | Unset):  Default: 0.
        x_gateway_floor (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | BundleRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        hwid=hwid,
x_gateway_nonce=x_gateway_nonce,
x_gateway_signature=x_gateway_signature,
x_gateway_seq=x_gateway_seq,
x_gateway_floor=x_gateway_floor,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    hwid: str,
    *,
    client: AuthenticatedClient | Client,
    x_gateway_nonce: str,
    x_gateway_signature: str,
    x_gateway_seq: int | Unset = 0,
    x_gateway_floor: int | Unset = 0,

) -> Any | BundleRead | Problem | ValidationProblem | None:
    """ Pull the current bundle (204 when the gateway already holds it)

     `X-Gateway-Seq`: the bundle held (0: none); `X-Gateway-Floor`: the highest seq ever accepted
    (default: the seq held). The current bundle is sent whenever it is not the one held, above the
    floor.

    Args:
        hwid (str):
        x_gateway_nonce (str):
        x_gateway_signature (str):
        x_gateway_seq (int | Unset):  Default: 0.
        x_gateway_floor (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | BundleRead | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        hwid=hwid,
client=client,
x_gateway_nonce=x_gateway_nonce,
x_gateway_signature=x_gateway_signature,
x_gateway_seq=x_gateway_seq,
x_gateway_floor=x_gateway_floor,

    )).parsed
