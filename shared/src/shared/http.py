"""HTTP plumbing every service shares: health, readiness, metrics, request ids, body size limit, and a request
run again when Postgres aborted its transaction to resolve a conflict."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import problem_response
from shared.tracing import child_traceparent, current_traceparent

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = structlog.get_logger()
REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
CONFLICTS_RETRIED = Counter(
    "http_transaction_conflicts_retried_total",
    "Requests run again after Postgres aborted their transaction",
    ["service"],
)
LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"])

probes = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@probes.get("/healthz", operation_id="getHealth", summary="Alive")
async def healthz() -> Health:
    return Health()


@probes.get(
    "/readyz",
    operation_id="getReadiness",
    summary="Database and broker reachable",
    responses={503: {"description": "Not ready"}},
)
async def readyz(request: Request) -> Response:
    runtime: Runtime[Any] = request.app.state.runtime
    checks = {"database": False, "broker": runtime.broker.is_connected()}
    try:
        async with asyncio.timeout(2):
            checks["database"] = await runtime.pool.fetchval("SELECT true") is True
    except (OSError, TimeoutError) as exc:
        log.warning("readyz.database_unreachable", error=repr(exc))
    except Exception as exc:  # noqa: BLE001 - any database error means not ready
        log.warning("readyz.database_error", error=repr(exc))
    if all(checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    failing = ", ".join(name for name, ok in checks.items() if not ok)
    return problem_response(
        status=503, code="not_ready", title="Not ready", detail=f"unreachable: {failing}", checks=checks
    )


@probes.get("/metrics", operation_id="getMetrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def install_request_context(app: FastAPI, *, service: str) -> None:
    app.add_middleware(RequestContext, service=service)


class RequestContext:
    """Request id and trace context for the logs, and the request metrics.

    A plain ASGI middleware: Starlette's `BaseHTTPMiddleware` runs every request through a task group and a
    streaming wrapper, which cost more than the wallet's whole redemption in Python time (profiled).
    """

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        request_id = headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex
        incoming = headers.get(b"traceparent")
        traceparent = child_traceparent(incoming.decode("latin-1") if incoming else None)
        status = 500

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        token = current_traceparent.set(traceparent)
        started = time.perf_counter()
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id, traceparent=traceparent):
                await self.app(scope, receive, send_with_request_id)
        finally:
            current_traceparent.reset(token)
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)
            REQUESTS.labels(self.service, method, route, str(status)).inc()


class BodySizeLimit:
    """Refuses request bodies above `max_bytes` with 413, whether or not Content-Length is sent.

    The body is read (up to the limit) before the app sees the request and then replayed to it: refusing from
    inside the app would let FastAPI's body parsing turn the refusal into a generic 400.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break  # the client went away; the app will see the disconnect
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replayed(buffered, receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            status=413,
            code="payload_too_large",
            title="Payload too large",
            detail=f"request bodies are limited to {self.max_bytes} bytes",
        )
        await response(scope, receive, send)


# Conflicts Postgres resolves by aborting one of the transactions: a deadlock's victim, a serialization failure.
# Everything the use case did was rolled back, its Idempotency-Key claim included, so running it again is safe.
TRANSACTION_CONFLICTS = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
REQUEST_ATTEMPTS = 3


class RetryOnTransactionConflict:
    """Runs a request again (up to `attempts` times) when its transaction lost a conflict, before any answer.

    One place for every use case: a request that only waited on a row another transaction held (locking two
    contracts in another order, an inbox batch holding several) is no client's error, and was answered 500. The
    body is kept to be replayed; a conflict after the answer has started is raised as before.
    """

    def __init__(self, app: ASGIApp, *, service: str, attempts: int = REQUEST_ATTEMPTS) -> None:
        self.app = app
        self.service = service
        self.attempts = attempts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        for attempt in range(1, self.attempts + 1):
            answered = False

            async def send_once_answered(message: Message) -> None:
                nonlocal answered
                answered = answered or message["type"] == "http.response.start"
                await send(message)

            try:
                await self.app(scope, _replayed(body, receive), send_once_answered)
                return
            except TRANSACTION_CONFLICTS as exc:
                if answered or attempt == self.attempts:
                    raise
                CONFLICTS_RETRIED.labels(self.service).inc()
                log.info("http.transaction_conflict_retried", path=scope["path"], attempt=attempt, error=repr(exc))


async def _read_body(receive: Receive) -> list[Message]:
    """The request's messages up to the end of its body (or the client's disconnect)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def _replayed(messages: list[Message], receive: Receive) -> Receive:
    pending = iter(messages)

    async def replay() -> Message:
        for message in pending:
            return message
        return await receive()

    return replay
