"""Pure pieces of messaging: envelopes, routing keys, trace context, cursors, the AsyncAPI document."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripts.generate_asyncapi import TARGET, render
from shared.events import CATALOGUE
from shared.events.wallet import BalanceDepleted
from shared.messaging.broker import this_task_is_cancelled
from shared.messaging.envelope import Envelope
from shared.pagination import decode_cursor, encode_cursor
from shared.refusals import BadRequest
from shared.tracing import child_traceparent


def test_routing_keys_are_publisher_dot_snake_case_event_name() -> None:
    assert BalanceDepleted.routing_key() == "wallet.balance_depleted"
    assert all(key == model.routing_key() for key, model in CATALOGUE.items())


def test_an_envelope_survives_the_wire_unchanged() -> None:
    envelope = Envelope.of(
        id=uuid.uuid4(),
        source="/wallet",
        type="wallet.balance_depleted",
        time=datetime.now(UTC),
        subject="acct",
        data={"account_id": str(uuid.uuid4())},
        traceparent=child_traceparent(None),
    )
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope
    wire = json.loads(envelope.to_bytes())
    assert {"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data"} <= set(wire)


def test_a_child_trace_context_keeps_the_trace_and_makes_a_new_span() -> None:
    parent = child_traceparent(None)
    child = child_traceparent(parent)
    assert child[3:35] == parent[3:35]
    assert child[36:52] != parent[36:52]
    assert child_traceparent("garbage")[3:35] != parent[3:35]


def test_cursors_round_trip_and_foreign_cursors_are_refused() -> None:
    assert decode_cursor(encode_cursor({"at": "2026-01-01", "id": 7})) == {"at": "2026-01-01", "id": 7}
    with pytest.raises(BadRequest):
        decode_cursor("%%%")
    with pytest.raises(BadRequest):
        decode_cursor(encode_cursor([1, 2]))  # type: ignore[arg-type]


def test_the_asyncapi_document_in_docs_matches_the_event_models() -> None:
    assert Path(TARGET).read_text() == render(), "run `make asyncapi` and commit docs/asyncapi.json"
    document = json.loads(render())
    assert set(document["channels"]) == set(CATALOGUE)


async def test_a_cancelled_error_from_a_lost_connection_is_told_apart_from_the_task_s_own_cancellation() -> None:
    seen: list[bool] = []
    started = asyncio.Event()

    async def loop_that_outlives_the_broker() -> None:
        try:
            raise asyncio.CancelledError  # what aiormq raises for work in flight on a lost connection
        except asyncio.CancelledError:
            seen.append(this_task_is_cancelled())
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            seen.append(this_task_is_cancelled())
            raise

    task = asyncio.create_task(loop_that_outlives_the_broker())
    await started.wait()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert seen == [False, True]
