from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.device_type import DeviceType
from ...models.page_device_read import PageDeviceRead
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    domain_id: UUID,
    *,
    type_: DeviceType | None | Unset = UNSET,
    product: None | str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_type_: None | str | Unset
    if isinstance(type_, Unset):
        json_type_ = UNSET
    elif isinstance(type_, DeviceType):
        json_type_ = type_.value
    else:
        json_type_ = type_
    params["type"] = json_type_

    json_product: None | str | Unset
    if isinstance(product, Unset):
        json_product = UNSET
    else:
        json_product = product
    params["product"] = json_product

    params["cursor"] = cursor

    params["limit"] = limit


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/domains/{domain_id}/devices".format(domain_id=quote(str(domain_id), safe=""),),
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> PageDeviceRead | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = PageDeviceRead.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[PageDeviceRead | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    type_: DeviceType | None | Unset = UNSET,
    product: None | str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> Response[PageDeviceRead | Problem | ValidationProblem]:
    """ List Devices

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        type_ (DeviceType | None | Unset):
        product (None | str | Unset):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageDeviceRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        domain_id=domain_id,
type_=type_,
product=product,
cursor=cursor,
limit=limit,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    type_: DeviceType | None | Unset = UNSET,
    product: None | str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> PageDeviceRead | Problem | ValidationProblem | None:
    """ List Devices

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        type_ (DeviceType | None | Unset):
        product (None | str | Unset):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageDeviceRead | Problem | ValidationProblem
     """


    return sync_detailed(
        domain_id=domain_id,
client=client,
type_=type_,
product=product,
cursor=cursor,
limit=limit,

    ).parsed

async def asyncio_detailed(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    type_: DeviceType | None | Unset = UNSET,
    product: None | str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> Response[PageDeviceRead | Problem | ValidationProblem]:
    """ List Devices

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        type_ (DeviceType | None | Unset):
        product (None | str | Unset):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PageDeviceRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        domain_id=domain_id,
type_=type_,
product=product,
cursor=cursor,
limit=limit,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    type_: DeviceType | None | Unset = UNSET,
    product: None | str | Unset = UNSET,
    cursor: str | Unset = UNSET,
    limit: int | Unset = 50,

) -> PageDeviceRead | Problem | ValidationProblem | None:
    """ List Devices

     **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        type_ (DeviceType | None | Unset):
        product (None | str | Unset):
        cursor (str | Unset):
        limit (int | Unset):  Default: 50.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PageDeviceRead | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        domain_id=domain_id,
client=client,
type_=type_,
product=product,
cursor=cursor,
limit=limit,

    )).parsed
