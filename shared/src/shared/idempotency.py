"""`Idempotency-Key`: a retry returns the first answer; the same key with another body is refused.

Required on every request that moves money, accepted on every request that creates something. One rule for
the scope a key is unique in, everywhere: the operation and the account it acts for (or, for what is created
outside any account, the caller), so two tenants' keys never meet. Used inside the use case's own transaction,
so the stored answer commits with the effect or not at all:

    async with transaction(pool) as conn:
        once = await claim(conn, operation="redemption", owner=account_id, key=key, request=body)
        if (replay := once.replayed(RedemptionRead)) is not None:
            return replay
        ...the work...
        return await once.answer(result, status_code=201)

A concurrent request with the same key waits on the row lock until the first commits, then replays it;
if the first failed (rolled back), the second runs as if it were first. A refusal is not stored under its key:
it rolls back with the transaction, so the same request may be sent again once the cause is gone.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Depends, Request
from pydantic import BaseModel

from shared.db import Write, send_writes
from shared.events.base import Event
from shared.messaging.outbox import outbox_write
from shared.openapi import document_dependency
from shared.refusals import BadRequest, Unprocessable

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# Printable ASCII, no space at either end (HTTP would strip it): what survives every proxy unchanged.
KEY_PATTERN = rf"^[!-~]([ -~]{{0,{MAX_KEY_LENGTH - 2}}}[!-~])?$"
_KEY = re.compile(KEY_PATTERN)


@dataclass(frozen=True)
class Replay:
    status_code: int
    response: Any


def request_fingerprint(request: Any) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


async def claim_idempotency_key(conn: asyncpg.Connection, *, scope: str, key: str, request: Any) -> Replay | None:
    """Claim `key` within `scope` (e.g. the route and account) for this request; a replay if already answered."""
    if not conn.is_in_transaction():
        raise RuntimeError("claim_idempotency_key must run inside the use case's transaction")
    fingerprint = request_fingerprint(request)
    claimed = await conn.fetchval(
        f"WITH {CLAIM_CTE} SELECT first FROM claimed",  # noqa: S608 - fixed SQL
        scope,
        key,
        fingerprint,
    )
    return None if claimed else await _first_answer(conn, scope=scope, key=key, fingerprint=fingerprint)


# The claim as a CTE named `claimed` (one row, `first`, when this request is the first with its key), for a use
# case that sends its first write in the same statement (`claim_with`). Parameters: $1 scope, $2 key, $3 hash.
CLAIM_CTE = """claimed AS (
    INSERT INTO idempotency_record (scope, key, request_hash) VALUES ($1, $2, $3)
    ON CONFLICT (scope, key) DO NOTHING RETURNING true AS first
)"""


async def _first_answer(conn: asyncpg.Connection, *, scope: str, key: str, fingerprint: str) -> Replay:
    row = await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM idempotency_record WHERE scope = $1 AND key = $2",
        scope,
        key,
    )
    assert row is not None  # a committed claim is never deleted while it is young
    if row["request_hash"] != fingerprint:
        raise Unprocessable(
            "this Idempotency-Key was already used with a different request body", code="idempotency_key_reused"
        )
    return Replay(status_code=row["status_code"], response=row["response"])


async def store_idempotent_response(
    conn: asyncpg.Connection, *, scope: str, key: str, status_code: int, response: Any
) -> None:
    statement, args = _store_answer(scope=scope, key=key, status_code=status_code, response=response)
    await conn.execute(statement, *args)


def _store_answer(*, scope: str, key: str, status_code: int, response: Any) -> tuple[str, list[Any]]:
    return (
        "UPDATE idempotency_record SET status_code = $3, response = $4 WHERE scope = $1 AND key = $2",
        [scope, key, status_code, response],
    )


M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Claim:
    """A request's Idempotency-Key, claimed in the use case's transaction; without a key it does nothing."""

    conn: asyncpg.Connection
    scope: str
    key: str | None
    replay: Replay | None

    def replayed(self, model: type[M]) -> M | None:
        """The first answer, if this is a retry of an answered request."""
        return None if self.replay is None else model.model_validate(self.replay.response)

    async def answer(
        self, result: M, *, status_code: int, announcing: Sequence[Event] = (), along: Sequence[Write] = ()
    ) -> M:
        """Keep `result` as the answer to every retry with this key; returns it.

        `announcing`: the use case's events, written to the outbox; `along`: writes it has decided and not sent
        yet (`shared.db.Write`). All go in the same statement as the answer: one round trip for the whole
        commit-side of a use case (without a key, the same statement without the answer)."""
        writes = list(along)
        if self.key is not None:
            store, store_args = _store_answer(
                scope=self.scope, key=self.key, status_code=status_code, response=result.model_dump(mode="json")
            )
            writes.append(Write(ctes=(f"{{w}}answer AS ({store})",), args=tuple(store_args)))
        if announcing:
            writes.append(outbox_write(announcing))
        await send_writes(self.conn, writes)
        return result


async def claim(conn: asyncpg.Connection, *, operation: str, owner: object, key: str | None, request: Any) -> Claim:
    """Claim `key` for `operation` on behalf of `owner` (the account acted for, or the creating caller)."""
    scope = f"{operation}:{owner}"
    replay = None if key is None else await claim_idempotency_key(conn, scope=scope, key=key, request=request)
    return Claim(conn=conn, scope=scope, key=key, replay=replay)


async def claim_with(
    conn: asyncpg.Connection,
    *,
    operation: str,
    owner: object,
    key: str,
    request: Any,
    statement: str,
    args: Sequence[Any],
    lead: str | None = None,
) -> tuple[Claim, asyncpg.Record | None]:
    """`claim`, with the use case's first write sent in the same statement: one round trip fewer on the hot path.

    `statement` is a data-modifying statement returning at most one row, numbering its parameters from $4; its
    WHERE includes `EXISTS (SELECT FROM claimed)`, so it takes effect only for the first request with the key
    (a replay changes nothing). `lead`, if given, is a SELECT of at most one row that the write needs first
    (say, the account locked `FOR UPDATE`), as the CTE `lead`: the write's WHERE then includes
    `EXISTS (SELECT FROM lead)`, which runs it before the write touches a row, so the locks are taken in the
    same order by every request.

    Returns the claim and, for the first request with the key, one row: `matched` (whether the write took
    effect), the lead's columns (NULL if it found no row) and the write's (NULL unless matched); None for a
    replay (`Claim.replayed` gives its answer).
    """
    if not conn.is_in_transaction():
        raise RuntimeError("claim_with must run inside the use case's transaction")
    scope, fingerprint = f"{operation}:{owner}", request_fingerprint(request)
    lead_cte, lead_columns, lead_join = (
        ("", "", "") if lead is None else (f", lead AS ({lead})", ", lead.*", " LEFT JOIN lead ON true")
    )
    row = await conn.fetchrow(
        f"""WITH {CLAIM_CTE}{lead_cte}, work AS ({statement})
            SELECT (SELECT first FROM claimed) AS first_with_key, EXISTS (SELECT FROM work) AS matched
                   {lead_columns}, work.*
            FROM (SELECT 1) AS one{lead_join} LEFT JOIN work ON true""",  # noqa: S608 - the caller's fixed SQL
        scope,
        key,
        fingerprint,
        *args,
    )
    assert row is not None  # the outer joins always give one row
    if row["first_with_key"]:
        return Claim(conn=conn, scope=scope, key=key, replay=None), row
    replay = await _first_answer(conn, scope=scope, key=key, fingerprint=fingerprint)
    return Claim(conn=conn, scope=scope, key=key, replay=replay), None


async def delete_expired_idempotency_records(pool: asyncpg.Pool, *, older_than_hours: int = 72) -> int:
    result = await pool.execute(
        "DELETE FROM idempotency_record WHERE created_at < now() - make_interval(hours => $1)", older_than_hours
    )
    return int(result.split()[-1])


async def optional_idempotency_key(request: Request) -> str | None:
    idempotency_key = request.headers.get(HEADER)
    if idempotency_key is not None and not _KEY.fullmatch(idempotency_key):
        raise BadRequest(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters", code="invalid_idempotency_key"
        )
    return idempotency_key


async def required_idempotency_key(request: Request) -> str:
    key = await optional_idempotency_key(request)
    if key is None:
        raise BadRequest(f"this request moves money and needs an {HEADER} header", code="idempotency_key_required")
    return key


def _header(*, required: bool) -> dict[str, Any]:
    return {
        "name": HEADER,
        "in": "header",
        "required": required,
        "description": "A retry with the same key returns the first answer; the same key with another body is "
        "refused (422 `idempotency_key_reused`).",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
    }


# The header is read from the request (to refuse it with the platform's own codes), so FastAPI does not see it:
# the document declares it here.
document_dependency(
    optional_idempotency_key,
    parameters=[_header(required=False)],
    responses={400: "`invalid_idempotency_key`", 422: "`idempotency_key_reused`"},
)
document_dependency(
    required_idempotency_key,
    parameters=[_header(required=True)],
    responses={400: "`idempotency_key_required`, `invalid_idempotency_key`", 422: "`idempotency_key_reused`"},
)

OptionalIdempotencyKey = Annotated[str | None, Depends(optional_idempotency_key)]
RequiredIdempotencyKey = Annotated[str, Depends(required_idempotency_key)]
