"""HTTP endpoints of the wallet's test clocks (`wallet.clocks`): thin like `api.py`. A partner creates clocks for
its own sandbox and sees only those; an operator sees all."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from shared.auth import PartnerPrincipal
from shared.errors import problem_responses
from shared.idempotency import OptionalIdempotencyKey, RequiredIdempotencyKey
from shared.pagination import Cursor, Page
from shared.runtime import DbPool, Now
from wallet import clocks
from wallet.schemas import TestClockAdvance, TestClockCreate, TestClockRead

router = APIRouter()

_NO_CLOCK = (404, "`not_found`: no such test clock (or not yours)")


@router.post("/test-clocks", operation_id="createTestClock", status_code=status.HTTP_201_CREATED, tags=["test clocks"])
async def create_test_clock(
    body: TestClockCreate, principal: PartnerPrincipal, pool: DbPool, idempotency_key: OptionalIdempotencyKey, now: Now
) -> TestClockRead:
    """A clock standing at `frozen_time`. Accounts opened with its id (`POST /accounts`, `test_clock_id`) live on
    its time; it moves only when advanced."""
    return await clocks.create_clock(
        pool,
        principal=principal,
        name=body.name,
        frozen_time=body.frozen_time,
        idempotency_key=idempotency_key,
        now=now,
    )


@router.get(
    "/test-clocks",
    operation_id="listTestClocks",
    tags=["test clocks"],
    responses=problem_responses((400, "`invalid_cursor`")),
)
async def list_test_clocks(
    principal: PartnerPrincipal,
    pool: DbPool,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[TestClockRead]:
    """The caller's clocks (an operator: everyone's), oldest first."""
    return await clocks.list_clocks(pool, principal=principal, cursor=cursor, limit=limit)


@router.get(
    "/test-clocks/{clock_id}", operation_id="getTestClock", tags=["test clocks"], responses=problem_responses(_NO_CLOCK)
)
async def read_test_clock(clock_id: UUID, principal: PartnerPrincipal, pool: DbPool) -> TestClockRead:
    """Its time and status: `advancing` until every account on it has caught up with an advance, then `ready`."""
    return await clocks.read_clock(pool, principal=principal, clock_id=clock_id)


@router.post(
    "/test-clocks/{clock_id}/advance",
    operation_id="advanceTestClock",
    status_code=status.HTTP_202_ACCEPTED,
    tags=["test clocks"],
    responses=problem_responses(
        _NO_CLOCK,
        (409, "`test_clock_advancing`: the previous advance is not done yet"),
        (
            422,
            "`test_clock_not_forward`: `to` is not later than the clock's time; `test_clock_advance_too_far`: "
            "more than two years",
        ),
    ),
)
async def advance_test_clock(
    clock_id: UUID,
    body: TestClockAdvance,
    principal: PartnerPrincipal,
    pool: DbPool,
    idempotency_key: RequiredIdempotencyKey,
) -> TestClockRead:
    """Move the clock forward to `to`. Answered at once (`advancing`); every run-out, Auto-iSC reload, warning and
    daily settlement its accounts have due until then is done in the background, in time order, each at its
    instant. Poll `GET /test-clocks/{id}` until `ready` (or wait for `TestClockReady`)."""
    return await clocks.advance_clock(
        pool, principal=principal, clock_id=clock_id, to=body.to, idempotency_key=idempotency_key
    )


@router.delete(
    "/test-clocks/{clock_id}",
    operation_id="deleteTestClock",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["test clocks"],
    responses=problem_responses(_NO_CLOCK),
)
async def delete_test_clock(clock_id: UUID, principal: PartnerPrincipal, pool: DbPool, now: Now) -> Response:
    """The clock stops for good: nothing is due on it again, its accounts stay readable at its last time. No live
    account is affected."""
    await clocks.delete_clock(pool, principal=principal, clock_id=clock_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
