"""Many simulated gateways in one process, their registration with provisioning, and their report."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

import httpx
import structlog

from gateway_simulator.gateway import KEY_REFRESH_S, Clock, JwksCache, RaisedWarning, SimulatedGateway, utc_now
from gateway_simulator.identity import GatewayState, Phone, StateStore

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
    # The bundle it enforces (0: none), and the warnings raised for it so far (the latest is on the phones).
    held_seq: int = 0
    warnings: tuple[RaisedWarning, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "hwid": self.hwid,
            "connected": self.connected,
            "seq": self.seq,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "phones_running": self.phones_running,
            "phones_stopped": self.phones_stopped,
            "reboots": self.reboots,
            "held_seq": self.held_seq,
            "warnings": [w.as_json() for w in self.warnings],
            "warning": self.warnings[-1].as_json() if self.warnings else None,
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
        jwks_file: Path | None = None,
        key_refresh_s: float = KEY_REFRESH_S,
        follow_test_clock: bool = False,
    ) -> None:
        self.jwks = JwksCache(
            url=f"{distributor_url.rstrip('/')}/.well-known/jwks.json", client=client, keep_at=jwks_file
        )
        self.clock = clock
        self._store = store
        self._distributor_url = distributor_url
        self._backoff = (backoff_base_s, backoff_cap_s)
        self._handshake_timeout_s = handshake_timeout_s
        self._key_refresh_s = key_refresh_s
        self._follow_test_clock = follow_test_clock
        self.gateways = [self._gateway(state) for state in states]
        self._tasks: list[asyncio.Task[None]] = []

    def _gateway(self, state: GatewayState) -> SimulatedGateway:
        return SimulatedGateway(
            state=state,
            store=self._store,
            distributor_url=self._distributor_url,
            jwks=self.jwks,
            clock=self.clock,
            backoff_base_s=self._backoff[0],
            backoff_cap_s=self._backoff[1],
            handshake_timeout_s=self._handshake_timeout_s,
            key_refresh_s=self._key_refresh_s,
            follow_test_clock=self._follow_test_clock,
        )

    def add(self, states: Sequence[GatewayState]) -> list[SimulatedGateway]:
        """Start gateways created while the fleet runs (`init` in another shell); known hwids are skipped."""
        known = {g.hwid for g in self.gateways}
        added = [self._gateway(state) for state in states if state.hwid not in known]
        self.gateways.extend(added)
        self.start(added)
        return added

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
                    held_seq=g.held_seq,
                    warnings=tuple(w for w in g.stats.warnings if g.current is not None and w.seq == g.current.seq),
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


async def resolve_domain(domain: str, *, provisioning_url: str, token: str, client: httpx.AsyncClient) -> str:
    """A domain id as it is, or the id of the domain of that name (as created in the web app)."""
    try:
        return str(UUID(domain))
    except ValueError:
        pass
    cursor: str | None = None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            f"{provisioning_url.rstrip('/')}/v1/domains", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        response.raise_for_status()
        page = response.json()
        for item in page["items"]:
            if item["name"] == domain:
                return str(item["id"])
        cursor = page.get("next_cursor")
        if not cursor:
            raise LookupError(f"no domain named {domain!r} is visible with this token")


def phones_of(states: Sequence[GatewayState], *, gateway: str | None = None, count: int | None = None) -> list[Phone]:
    """The phones to enrol: every gateway's, or one gateway's; the first `count` of them."""
    chosen = [s for s in states if gateway is None or s.hwid == gateway]
    if gateway is not None and not chosen:
        raise LookupError(f"no gateway {gateway} in the state directory")
    phones = [p for s in chosen for p in s.phones]
    return phones[:count] if count is not None else phones


async def enrol_phones(
    phones: Sequence[Phone], *, code: str, provisioning_url: str, client: httpx.AsyncClient
) -> list[dict[str, object]]:
    """Each phone enrols itself with the provisioning code (POST /v1/provisioning, no token), as a phone would."""
    enrolled = []
    for phone in phones:
        response = await client.post(
            f"{provisioning_url.rstrip('/')}/v1/provisioning",
            json={"code": code, "hwid": phone.hwid, "product": phone.product, "type": "PHONE"},
        )
        if response.status_code not in (200, 201):
            raise RuntimeError(f"phone {phone.hwid} was refused: {response.status_code} {response.text[:300]}")
        device = response.json()
        enrolled.append({"hwid": phone.hwid, "product": phone.product, "device_id": device["id"]})
        log.info("simulator.phone.enrolled", hwid=phone.hwid, domain_id=device["domain_id"])
    return enrolled
