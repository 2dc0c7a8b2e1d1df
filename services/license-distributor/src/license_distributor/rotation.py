"""Signing-key rotations, carried out in the background: every domain re-signed with the newest key, in batches.

`POST /v1/signing-keys/rotation` only stores the new key and a `key_rotation` row, and answers 202. Every
replica runs this worker: it claims a batch of domains not yet signed with the newest key (`SKIP LOCKED`, so
replicas share the work), re-signs their gateways' bundles in one transaction, and goes on until none is
left, then marks the rotation completed. The state is the database's, so a crash mid-batch only rolls that
batch back; whichever replica runs next resumes. Sessions stay served meanwhile: a batch locks only its own
domains, briefly, and the pushes go out as for any other change.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import asyncpg
import structlog

from license_distributor import service
from license_distributor.domain import DEFAULT_LEASE
from shared.clock import Clock
from shared.db import is_database_away

log = structlog.get_logger()
# The name of the worker among the runtime's components.
KEY_ROTATIONS = "key_rotations"


class KeyRotationWorker:
    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        issuer: str,
        clock: Clock,
        batch_domains: int,
        poll_interval_s: float,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.pool = pool
        self.lease = lease
        self.issuer = issuer
        self.clock = clock
        self.batch_domains = batch_domains
        self.poll_interval_s = poll_interval_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="license-distributor-key-rotation")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def wake(self) -> None:
        """A rotation was just requested here: start at once rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            claimed = await self.step()
            if claimed:
                continue  # more batches waiting
            with contextlib.suppress(TimeoutError):
                # Nothing pending, or what is left is held by another replica's batch: look again shortly.
                wait_s = self.poll_interval_s if claimed is None else min(0.2, self.poll_interval_s)
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
            self._wake.clear()

    async def step(self) -> int | None:
        """One batch: the domains it re-signed (0 when none was free), None when no rotation is pending."""
        try:
            return await service.resign_next_batch(
                self.pool, now=self.clock.now(), issuer=self.issuer, max_domains=self.batch_domains, lease=self.lease
            )
        except asyncpg.DeadlockDetectedError as exc:
            # A change's rebuild held some of the batch's domains in another order: its batch goes on, ours
            # was rolled back and is claimed again.
            log.info("license_distributor.key_rotation.batch_retried", error=repr(exc))
            return 0
        except Exception as exc:
            # The worker outlives any failure; the rotation's state is in the database.
            if is_database_away(exc):
                log.warning("license_distributor.key_rotation.batch_failed", error=repr(exc))
            else:
                log.error("license_distributor.key_rotation.batch_failed", exc_info=exc)
            return 0
