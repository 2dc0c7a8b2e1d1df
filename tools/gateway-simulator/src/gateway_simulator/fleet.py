"""Many simulated gateways in one process, their registration with provisioning, and their report."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
import structlog

from gateway_simulator.gateway import Clock, JwksCache, SimulatedGateway, utc_now
from gateway_simulator.identity import GatewayState, StateStore

log = structlog.get_logger()


@dataclass(frozen=True)
class GatewayReport:
    hwid: str
    connected: bool
    seq: int
    expires_at: datetime | None
    phones_running: list[str]
    phones_stopped: list[str]
    reboots: int

    def as_json(self) -> dict[str, object]:
        return {
            "hwid": self.hwid,
            "connected": self.connected,
            "seq": self.seq,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "phones_running": self.phones_running,
            "phones_stopped": self.phones_stopped,
            "reboots": self.reboots,
        }


class Fleet:
    def __init__(
        self,
        *,
        states: Sequence[GatewayState],
        store: StateStore,
        distributor_url: str,
        client: httpx.AsyncClient,
        clock: Clock = utc_now,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        handshake_timeout_s: float = 10.0,
    ) -> None:
        self.jwks = JwksCache(url=f"{distributor_url.rstrip('/')}/.well-known/jwks.json", client=client)
        self.clock = clock
        self.gateways = [
            SimulatedGateway(
                state=state,
                store=store,
                distributor_url=distributor_url,
                jwks=self.jwks,
                clock=clock,
                backoff_base_s=backoff_base_s,
                backoff_cap_s=backoff_cap_s,
                handshake_timeout_s=handshake_timeout_s,
            )
            for state in states
        ]
        self._tasks: list[asyncio.Task[None]] = []

    def by_hwid(self, hwid: str) -> SimulatedGateway:
        return next(g for g in self.gateways if g.hwid == hwid)

    def start(self, gateways: Sequence[SimulatedGateway] | None = None) -> None:
        """Start all gateways (or some: a benchmark powers a site up in waves)."""
        for g in gateways if gateways is not None else self.gateways:
            self._tasks.append(asyncio.create_task(g.run(), name=f"gateway-{g.hwid}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def drop_all(self) -> None:
        await asyncio.gather(*(g.disconnect() for g in self.gateways))

    def report(self) -> list[GatewayReport]:
        now = self.clock()
        reports = []
        for g in self.gateways:
            running = g.phones_running(now)
            reports.append(
                GatewayReport(
                    hwid=g.hwid,
                    connected=g.connected,
                    seq=g.state.highest_seq,
                    expires_at=g.current.expires_at if g.current else None,
                    phones_running=running,
                    phones_stopped=[p.hwid for p in g.state.phones if p.hwid not in running],
                    reboots=g.state.reboots,
                )
            )
        return reports


async def register_gateways(
    states: Sequence[GatewayState], *, provisioning_url: str, domain_id: str, token: str, client: httpx.AsyncClient
) -> list[str]:
    """POST /v1/domains/{id}/gateways for each; returns the hwids registered (an existing one is skipped)."""
    registered = []
    for state in states:
        response = await client.post(
            f"{provisioning_url.rstrip('/')}/v1/domains/{domain_id}/gateways",
            json={"hwid": state.hwid, "product": state.product, "public_key": state.public_key},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code == 409:
            log.info("simulator.gateway.already_registered", hwid=state.hwid, body=response.text[:200])
            continue
        response.raise_for_status()
        registered.append(state.hwid)
        log.info("simulator.gateway.registered", hwid=state.hwid, domain_id=domain_id)
    return registered
