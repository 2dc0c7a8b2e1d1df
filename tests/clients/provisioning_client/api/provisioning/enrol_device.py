from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.device_read import DeviceRead
from ...models.enrolment import Enrolment
from ...models.problem import Problem
from ...models.validation_problem import ValidationProblem
from typing import cast



def _get_kwargs(
    *,
    body: Enrolment,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/provisioning",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DeviceRead | Problem | ValidationProblem | None:
    if response.status_code == 200:
        response_200 = DeviceRead.from_dict(response.json())



        return response_200

    if response.status_code == 201:
        response_201 = DeviceRead.from_dict(response.json())



        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())



        return response_400

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())



        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())



        return response_409

    if response.status_code == 410:
        response_410 = Problem.from_dict(response.json())



        return response_410

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())



        return response_413

    if response.status_code == 422:
        response_422 = ValidationProblem.from_dict(response.json())



        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())



        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[DeviceRead | Problem | ValidationProblem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Enrolment,

) -> Response[DeviceRead | Problem | ValidationProblem]:
    """ A device enrols itself with a provisioning code (no token; rate-limited per client address)

     Idempotent by hardware id, so it takes no `Idempotency-Key`: the same device enrolling again into
    the code's domain gets its device back (200), whatever the code's state now, with no second event;
    nothing new is granted. With another product or type it is 409 `device_details_differ`.

    Args:
        body (Enrolment):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeviceRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient | Client,
    body: Enrolment,

) -> DeviceRead | Problem | ValidationProblem | None:
    """ A device enrols itself with a provisioning code (no token; rate-limited per client address)

     Idempotent by hardware id, so it takes no `Idempotency-Key`: the same device enrolling again into
    the code's domain gets its device back (200), whatever the code's state now, with no second event;
    nothing new is granted. With another product or type it is 409 `device_details_differ`.

    Args:
        body (Enrolment):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeviceRead | Problem | ValidationProblem
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Enrolment,

) -> Response[DeviceRead | Problem | ValidationProblem]:
    """ A device enrols itself with a provisioning code (no token; rate-limited per client address)

     Idempotent by hardware id, so it takes no `Idempotency-Key`: the same device enrolling again into
    the code's domain gets its device back (200), whatever the code's state now, with no second event;
    nothing new is granted. With another product or type it is 409 `device_details_differ`.

    Args:
        body (Enrolment):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeviceRead | Problem | ValidationProblem]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: Enrolment,

) -> DeviceRead | Problem | ValidationProblem | None:
    """ A device enrols itself with a provisioning code (no token; rate-limited per client address)

     Idempotent by hardware id, so it takes no `Idempotency-Key`: the same device enrolling again into
    the code's domain gets its device back (200), whatever the code's state now, with no second event;
    nothing new is granted. With another product or type it is 409 `device_details_differ`.

    Args:
        body (Enrolment):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeviceRead | Problem | ValidationProblem
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
