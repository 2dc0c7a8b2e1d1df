"""The expiry sweep: a bundle whose `exp` has passed is replaced by one with no devices, at once.

Gateways reboot at `exp` by themselves; this makes the distributor's own view (and any gateway that
connects later) agree without waiting for the wallet's `BalanceDepleted`. Safe with replicas: the rows
are claimed with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import structlog

from license_distributor import service
from license_distributor.config import Settings
from shared.runtime import Runtime

log = structlog.get_logger()


async def sweep_expired_bundles(runtime: Runtime) -> None:
    settings = runtime.settings
    assert isinstance(settings, Settings)
    while True:
        try:
            reissued = await service.reissue_expired(runtime.pool, now=datetime.now(UTC), issuer=settings.bundle_issuer)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("licensing.expiry_sweep.failed", error=repr(exc))
            reissued = 0
        if reissued:
            log.info("licensing.expiry_sweep.reissued", count=reissued)
            continue
        await asyncio.sleep(settings.expiry_sweep_interval_s)
