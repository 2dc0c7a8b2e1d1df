"""A request that meets the database away gets 503 with Retry-After, not a 500: the client should retry."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from shared.db import is_database_away
from shared.errors import PROBLEM_JSON, install_problem_handlers


def app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/thing")
    async def thing() -> None:
        raise exc

    return app


async def answer(exc: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_raising(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await client.get("/v1/thing")


def lost_mid_transaction(error: Exception) -> Exception:
    """What asyncpg raises when the connection is lost mid-transaction: the rollback fails too, in the context
    of the loss."""
    try:
        try:
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        except asyncpg.ConnectionDoesNotExistError:
            raise error  # noqa: B904 - the implicit context is the point
    except Exception as raised:  # noqa: BLE001
        return raised


@pytest.mark.parametrize(
    "exc",
    [
        lost_mid_transaction(asyncpg.InternalClientError("cannot switch to state 15; another operation in progress")),
        asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the underlying connection is closed"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        ConnectionRefusedError(111, "Connect call failed"),
    ],
    ids=["rollback-after-loss", "closed", "connection-lost", "starting-up", "admin-shutdown", "refused"],
)
async def test_the_database_away_is_503_database_unavailable_with_retry_after(exc: Exception) -> None:
    response = await answer(exc)
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert (body["code"], body["retry_after_s"]) == ("database_unavailable", 1)


async def test_other_failures_stay_500_internal_error() -> None:
    for exc in (asyncpg.InterfaceError("another operation is in progress"), RuntimeError("bug")):
        response = await answer(exc)
        assert response.status_code == 500
        assert response.json()["code"] == "internal_error"


def test_is_database_away_follows_the_chain_and_nothing_else() -> None:
    assert is_database_away(lost_mid_transaction(RuntimeError("rollback failed")))
    assert not is_database_away(asyncpg.UniqueViolationError("duplicate key"))
    assert not is_database_away(asyncpg.InternalClientError("cannot switch to state 15"))
    assert is_database_away(asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is busy"))
