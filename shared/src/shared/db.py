"""Postgres access: one asyncpg pool per service, connected as the service's own role, in its own schema."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import structlog

T = TypeVar("T")
log = structlog.get_logger()

# The database is away (restarting, shutting down, unreachable, the connection cut): what failed may well
# succeed a moment later. Anything else (a constraint, a bug) is not the database being away.
# (Not all of OperatorInterventionError: a cancelled query or an idle-session timeout is not the server away.)
DATABASE_AWAY = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    # A multi-host URL (`target_session_attrs=read-write`) found only standbys: a fail-over is under way.
    asyncpg.TargetServerAttributeNotMatched,
    ConnectionError,
)


def is_database_away(exc: BaseException) -> bool:
    """Whether `exc` comes from the database being away rather than from the work itself.

    When the connection is lost mid-transaction, asyncpg also fails the rollback or the reset for the pool, with
    an `InterfaceError` ("the underlying connection is closed") or an `InternalClientError` ("another operation
    is in progress"); the loss is then that error's cause or context, when there is one, so the chain is
    followed.
    """
    current: BaseException | None = exc
    for _ in range(10):  # a chain is short; the bound only guards against a cycle
        if current is None:
            return False
        if isinstance(current, DATABASE_AWAY):
            return True
        if isinstance(current, asyncpg.InterfaceError) and "connection is closed" in str(current):
            return True
        # Raised when a connection whose operation was cut short is reset for the pool (seen in the fault run
        # during Postgres restarts, with no cause attached): the client's view of a lost connection.
        if isinstance(current, asyncpg.InternalClientError) and "another operation" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb columns come and go as Python objects, not strings.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a connection needs before it goes back to the pool: nothing beyond asyncpg's own rollback of an open
    transaction. The services change no session state on pooled connections (no LISTEN, no session advisory
    lock, no SET), so asyncpg's default reset query would cost a round trip per use for nothing."""


async def create_pool(*, dsn: str, schema: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        # The role may touch only its schema; naming it here keeps every query unqualified.
        server_settings={"search_path": schema, "application_name": schema},
    )
    assert pool is not None
    return pool


async def connect(*, dsn: str, schema: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema, "application_name": schema})
    await _init_connection(conn)
    return conn


# What to do once the innermost `transaction()` block of this task has committed (and only then).
_after_commit: ContextVar[list[Callable[[], None]] | None] = ContextVar("after_commit", default=None)


def after_commit(callback: Callable[[], None]) -> bool:
    """Run `callback` once the current `transaction()` commits; never if it rolls back.

    False when no `transaction()` block is open in this task: the caller then relies on its fallback (the
    outbox relay's poll).
    """
    callbacks = _after_commit.get()
    if callbacks is None:
        return False
    if callback not in callbacks:
        callbacks.append(callback)
    return True


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One use case, one transaction: commits when the block ends, rolls back on any error.

    Callbacks registered with `after_commit` inside the block run right after the commit.
    """
    callbacks: list[Callable[[], None]] = []
    token = _after_commit.set(callbacks)
    try:
        async with pool.acquire() as conn, conn.transaction():
            yield conn
    finally:
        _after_commit.reset(token)
    for callback in callbacks:
        callback()


@dataclass(frozen=True)
class Write:
    """A data-modifying statement that reads nothing back, written as common table expressions
    `{w}name AS (...)` numbering its parameters from $1, so that a use case can send several as one statement.

    `{w}` prefixes the names of its CTEs (unique per write once combined); a later CTE of the same write may read
    an earlier one's RETURNING. The writes of one statement all see the snapshot from before it, so none may
    depend on another's effect: a use case defers only writes it has already decided (ledger lines, the
    account's new state, the answer, the outbox rows).
    """

    ctes: tuple[str, ...]
    args: tuple[Any, ...]


_PARAMETER = re.compile(r"\$(\d+)")


def combined_writes(writes: Sequence[Write]) -> tuple[str, list[Any]]:
    """One statement doing every write (in order), and its arguments."""
    statement = _combined_statement(tuple((write.ctes, len(write.args)) for write in writes))
    return statement, [arg for write in writes for arg in write.args]


@functools.lru_cache(maxsize=1024)
def _combined_statement(shape: tuple[tuple[tuple[str, ...], int], ...]) -> str:
    # A use case sends the same few shapes again and again: the text is built once per shape (and asyncpg
    # prepares it once per connection).
    parts: list[str] = []
    offset = 0
    for index, (ctes, arg_count) in enumerate(shape):
        parts += [_shifted(cte, offset).replace("{w}", f"w{index}_") for cte in ctes]
        offset += arg_count
    return "WITH " + ",\n".join(parts) + "\nSELECT"


def _shifted(cte: str, offset: int) -> str:
    """The CTE with its parameters renumbered after the `offset` arguments of the writes before it."""
    return _PARAMETER.sub(lambda m: f"${int(m.group(1)) + offset}", cte)


async def send_writes(conn: asyncpg.Connection, writes: Sequence[Write]) -> None:
    """Every write in one round trip (none: nothing sent)."""
    if writes:
        statement, args = combined_writes(writes)
        await conn.execute(statement, *args)
