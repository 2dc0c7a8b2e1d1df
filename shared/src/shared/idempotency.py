"""`Idempotency-Key` for money-moving requests: a retry returns the first answer; the same key with another
body is refused.

Used inside the use case's own transaction, so the stored answer commits with the effect or not at all:

    async with transaction(pool) as conn:
        replay = await claim_idempotency_key(conn, scope=..., key=key, request=body)
        if replay is not None:
            return replay.response
        ...the work...
        await store_idempotent_response(conn, scope=..., key=key, status_code=201, response=result)

A concurrent request with the same key waits on the row lock until the first commits, then replays it;
if the first failed (rolled back), the second runs as if it were first.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request

from shared.errors import BadRequest, Unprocessable
from shared.openapi import document_dependency

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
        """INSERT INTO idempotency_record (scope, key, request_hash) VALUES ($1, $2, $3)
           ON CONFLICT (scope, key) DO NOTHING RETURNING true""",
        scope,
        key,
        fingerprint,
    )
    if claimed:
        return None
    return await replay_of_claimed(conn, scope=scope, key=key, fingerprint=fingerprint)


async def replay_of_claimed(conn: asyncpg.Connection, *, scope: str, key: str, fingerprint: str) -> Replay:
    """The first answer to `key`, which an earlier request claimed (for a use case that tried the claim, the
    `INSERT ... ON CONFLICT DO NOTHING` of `claim_idempotency_key`, inside a query of its own); refused if that
    request had another body (`fingerprint`, from `request_fingerprint`)."""
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
    await conn.execute(
        "UPDATE idempotency_record SET status_code = $3, response = $4 WHERE scope = $1 AND key = $2",
        scope,
        key,
        status_code,
        response,
    )


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
