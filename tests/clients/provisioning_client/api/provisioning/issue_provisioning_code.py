from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.problem import Problem
from ...models.provisioning_code_create import ProvisioningCodeCreate
from ...models.provisioning_code_issued import ProvisioningCodeIssued
from ...models.validation_problem import ValidationProblem
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    domain_id: UUID,
    *,
    body: ProvisioningCodeCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/domains/{domain_id}/provisioning-codes".format(domain_id=quote(str(domain_id), safe=""),),
    }

    
    if not isinstance(body, Unset):
        _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | ProvisioningCodeIssued | ValidationProblem | None:
    if response.status_code == 201:
        response_201 = ProvisioningCodeIssued.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Problem | ProvisioningCodeIssued | ValidationProblem]:
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
    body: ProvisioningCodeCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,

) -> Response[Problem | ProvisioningCodeIssued | ValidationProblem]:
    """ Issue Provisioning Code

     The code is shown in this answer only. A retry with the same `Idempotency-Key` is told which code
    was issued (409 `provisioning_code_already_shown`, with `code_id`), never the code itself: revoke it
    if its answer was lost.

    **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        idempotency_key (str | Unset):
        body (ProvisioningCodeCreate | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ProvisioningCodeIssued | ValidationProblem]
     """


    kwargs = _get_kwargs(
        domain_id=domain_id,
body=body,
idempotency_key=idempotency_key,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ProvisioningCodeCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,

) -> Problem | ProvisioningCodeIssued | ValidationProblem | None:
    """ Issue Provisioning Code

     The code is shown in this answer only. A retry with the same `Idempotency-Key` is told which code
    was issued (409 `provisioning_code_already_shown`, with `code_id`), never the code itself: revoke it
    if its answer was lost.

    **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        idempotency_key (str | Unset):
        body (ProvisioningCodeCreate | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ProvisioningCodeIssued | ValidationProblem
     """


    return sync_detailed(
        domain_id=domain_id,
client=client,
body=body,
idempotency_key=idempotency_key,

    ).parsed

async def asyncio_detailed(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ProvisioningCodeCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,

) -> Response[Problem | ProvisioningCodeIssued | ValidationProblem]:
    """ Issue Provisioning Code

     The code is shown in this answer only. A retry with the same `Idempotency-Key` is told which code
    was issued (409 `provisioning_code_already_shown`, with `code_id`), never the code itself: revoke it
    if its answer was lost.

    **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        idempotency_key (str | Unset):
        body (ProvisioningCodeCreate | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ProvisioningCodeIssued | ValidationProblem]
     """


    kwargs = _get_kwargs(
        domain_id=domain_id,
body=body,
idempotency_key=idempotency_key,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    domain_id: UUID,
    *,
    client: AuthenticatedClient,
    body: ProvisioningCodeCreate | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,

) -> Problem | ProvisioningCodeIssued | ValidationProblem | None:
    """ Issue Provisioning Code

     The code is shown in this answer only. A retry with the same `Idempotency-Key` is told which code
    was issued (409 `provisioning_code_already_shown`, with `code_id`), never the code itself: revoke it
    if its answer was lost.

    **Roles:** `customer` (their own account's objects only; another account's are 404), `partner`,
    `operator`.

    Args:
        domain_id (UUID):
        idempotency_key (str | Unset):
        body (ProvisioningCodeCreate | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ProvisioningCodeIssued | ValidationProblem
     """


    return (await asyncio_detailed(
        domain_id=domain_id,
client=client,
body=body,
idempotency_key=idempotency_key,

    )).parsed
