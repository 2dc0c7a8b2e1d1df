"""The loop of the wallet's outbound senders (e-mail notices, webhook deliveries), on every replica (what they
finished long ago is deleted by `retention.py`).

Each round sends what is due at the service clock's now, then sleeps until the next due instant (woken early when
the clock is moved), at most `outbound_max_sleep_s`. A full round goes again at once. A failed round is logged
and the loop goes on: what it claimed is claimed again once its lease ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from shared.clock import Clock
from shared.db import is_database_away

log = structlog.get_logger()

# Never spin: even when something is due at once, a round waits this long after the last.
_MIN_SLEEP_S = 0.005


async def send_forever(
    *,
    what: str,
    send_due: Callable[[datetime], Awaitable[bool]],
    next_due: Callable[[], Awaitable[datetime | None]],
    clock: Clock,
    max_sleep_s: float,
) -> None:
    """`send_due(now)` says whether it sent a full batch (more may be waiting); `next_due()` is the next instant
    something falls due (None: nothing waits)."""
    while True:
        next_at: datetime | None = None
        full = False
        try:
            full = await send_due(clock.now())
            next_at = await next_due()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if is_database_away(exc):
                log.warning(f"wallet.{what}.database_failed", error=repr(exc))
            else:
                log.error(f"wallet.{what}.failed", exc_info=exc)
        if full:
            continue
        now = clock.now()
        wake_at = next_at if next_at is not None else now + timedelta(seconds=max_sleep_s)
        await clock.sleep_until(max(wake_at, now + timedelta(seconds=_MIN_SLEEP_S)), at_most_s=max_sleep_s)
