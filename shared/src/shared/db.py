"""Postgres access: one asyncpg pool per service, connected as the service's own role, in its own schema."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, cast

import asyncpg

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


# --- Writes sent together ---------------------------------------------------------------------------------

_together: ContextVar[_Together | None] = ContextVar("writes_together", default=None)


class _Together:
    __slots__ = ("connection", "statements")

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.statements: list[tuple[str, tuple[Any, ...]]] = []


class Connection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg's class is untyped
    """The pool's connections: asyncpg's, plus `writes_together` (one round trip for a use case's last writes)."""

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> str:
        together = _together.get()
        if together is not None and together.connection is self:
            if args and not kwargs:
                together.statements.append((query, args))
                return "DEFERRED"
            await _flush(together)
        return cast(str, await super().execute(query, *args, **kwargs))

    async def executemany(self, command: str, args: Any, **kwargs: Any) -> None:
        await self._flush_together()
        await super().executemany(command, args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> list[asyncpg.Record]:
        await self._flush_together()
        return cast(list[asyncpg.Record], await super().fetch(query, *args, **kwargs))

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> asyncpg.Record | None:
        await self._flush_together()
        return cast(asyncpg.Record | None, await super().fetchrow(query, *args, **kwargs))

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        await self._flush_together()
        return await super().fetchval(query, *args, **kwargs)

    async def _flush_together(self) -> None:
        together = _together.get()
        if together is not None and together.connection is self and together.statements:
            await _flush(together)


@asynccontextmanager
async def writes_together(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Send the parameterised `execute` calls made on `conn` inside the block as one statement, in one round
    trip, when the block ends: for a use case's last writes, whose results it does not read.

    The statements run in order, as the parts of one statement (data-modifying CTEs): they see the database as
    it was before the block, not one another's effects, so each row may be changed by at most one of them,
    and an error in any of them is raised at the end of the block (the transaction then rolls back as usual).
    A query inside the block (`fetch*`, `executemany`, an `execute` without arguments or with keyword arguments) first
    sends what is pending, so nothing runs out of order. Outside a pool connection of `create_pool` the block
    changes nothing.
    """
    raw = getattr(conn, "_con", conn)  # a pool's proxy holds the connection itself
    if not isinstance(raw, Connection) or _together.get() is not None:
        yield
        return
    together = _Together(raw)
    token = _together.set(together)
    try:
        yield
    finally:
        _together.reset(token)
    if together.statements:
        await _flush(together)


async def _flush(together: _Together) -> None:
    statements, together.statements = together.statements, []
    if len(statements) == 1:
        query, args = statements[0]
        await asyncpg.Connection.execute(together.connection, query, *args)
        return
    combined = combine_statements(statements)
    if combined is None:  # a statement this cannot combine: one round trip each, in order
        for query, args in statements:
            await asyncpg.Connection.execute(together.connection, query, *args)
        return
    combined_query, combined_args = combined
    await asyncpg.Connection.execute(together.connection, combined_query, *combined_args)


_PARAMETER = re.compile(r"\$(\d+)")
_CTE_HEAD = re.compile(r"\s*(?:,\s*)?([a-z_][a-z0-9_]*)\s+AS\s*\(", re.IGNORECASE)
_WITH = re.compile(r"\s*WITH\s+", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\s", re.IGNORECASE)


def combine_statements(statements: list[tuple[str, tuple[Any, ...]]]) -> tuple[str, list[Any]] | None:
    """`WITH _w0 AS (<first>), _w1 AS (<second>), ... SELECT` each in turn, with the parameters renumbered, and its
    arguments;
    a statement's own leading WITH is lifted into the list (its names suffixed where they would clash). None
    when a statement is not a plain INSERT, UPDATE or DELETE (optionally after a WITH), or holds a quote, a
    comment or a `;`."""
    query = _combined_query(tuple(query for query, _ in statements), tuple(len(args) for _, args in statements))
    if query is None:
        return None
    return query, [value for _, args in statements for value in args]


@functools.lru_cache(maxsize=256)
def _combined_query(queries: tuple[str, ...], arg_counts: tuple[int, ...]) -> str | None:
    parts: list[str] = []
    names: set[str] = set()
    offset = 0
    for i, (query, count) in enumerate(zip(queries, arg_counts, strict=True)):
        if any(mark in query for mark in ("'", '"', "--", "/*", ";")):
            return None
        query = _renumber(query, offset)
        offset += count
        ctes, body = _split_with(query)
        if ctes is None or not _WRITE.match(body):
            return None
        for name, _ in ctes:
            if name.lower() in names:  # suffix the name throughout this statement
                query = re.sub(rf"\b{re.escape(name)}\b", f"{name}_{i}", query)
        ctes, body = _split_with(query)
        assert ctes is not None
        for name, definition in ctes:
            names.add(name.lower())
            parts.append(f"{name} AS ({definition})")
        body = body.strip()
        if not _RETURNING.search(body):
            body += " RETURNING 1"
        parts.append(f"_w{i} AS ({body})")
    # Each part read to its end in turn: they run in the order given (unread, Postgres runs them in any order).
    counts = ", ".join(f"(SELECT count(*) FROM _w{i})" for i in range(len(queries)))  # noqa: S608 - names made here
    return "WITH " + ",\n".join(parts) + f"\nSELECT {counts}"


def _renumber(query: str, offset: int) -> str:
    return _PARAMETER.sub(lambda match: f"${int(match.group(1)) + offset}", query)


def _split_with(query: str) -> tuple[list[tuple[str, str]] | None, str]:
    """A statement's leading `WITH a AS (...), b AS (...)` and the rest; (None, query) if it cannot tell."""
    head = _WITH.match(query)
    if head is None:
        return [], query
    ctes: list[tuple[str, str]] = []
    position = head.end()
    while True:
        match = _CTE_HEAD.match(query, position)
        if match is None:
            break
        depth, start = 1, match.end()
        end = start
        while depth and end < len(query):
            depth += {"(": 1, ")": -1}.get(query[end], 0)
            end += 1
        if depth:
            return None, query
        ctes.append((match.group(1), query[start : end - 1].strip()))
        position = end
    if not ctes:
        return None, query
    return ctes, query[position:]


async def create_pool(*, dsn: str, schema: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        connection_class=Connection,
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
