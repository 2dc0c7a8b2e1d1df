"""The expiry sweep: a bundle whose `exp` has passed is replaced by one with no devices, at once; and the
lease renewals: a domain whose lease ends within half a lease is re-signed with a new one (pushed to its
connected gateways), so a connected gateway never reaches the end of its lease.

Gateways reboot at `exp` by themselves; this makes the distributor's own view (and any gateway that
connects later) agree without waiting for the wallet's `BalanceDepleted`. Safe with replicas: the rows
are claimed with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import asyncio

import structlog

from license_distributor import service
from license_distributor.config import Settings
from shared.db import is_database_away
from shared.runtime import Runtime

log = structlog.get_logger()


async def sweep_expired_bundles(runtime: Runtime[Settings]) -> None:
    settings = runtime.settings
    while True:
        try:
            reissued = await service.reissue_expired(
                runtime.pool, now=runtime.clock.now(), issuer=settings.bundle_issuer, lease=settings.lease
            )
            renewed = await service.renew_leases(
                runtime.pool, now=runtime.clock.now(), issuer=settings.bundle_issuer, lease=settings.lease
            )
            if renewed:
                log.info("license_distributor.leases.renewed", count=renewed)
            reissued += renewed
        except Exception as exc:
            # The sweep outlives any failure: the database away is expected now and then, anything else is a bug.
            if is_database_away(exc):
                log.warning("license_distributor.expiry_sweep.failed", error=repr(exc))
            else:
                log.error("license_distributor.expiry_sweep.failed", exc_info=exc)
            reissued = 0
        if reissued:
            log.info("license_distributor.expiry_sweep.reissued", count=reissued)
            continue
        await asyncio.sleep(settings.expiry_sweep_interval_s)
