"""A real distributor on a uvicorn server (free port), fed by events we publish to the real broker ourselves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest

from gateway_simulator.identity import GatewayState
from license_distributor.config import Settings
from license_distributor.main import SPEC
from shared.clock import Clock
from shared.events.contracts import DomainRental, Licence, RentalChanged, RentedDevice
from shared.events.provisioning import DomainCreated, GatewayRegistered, GatewayRemoved
from shared.events.wallet import AccountOpened, RunwayChanged
from tests.harness import (
    EventPublisher,
    Tenant,
    TestPlatform,
    event_publisher,
    eventually,
    free_port,
    serving_service,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Distributor:
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/v1/gateways/connect"


@asynccontextmanager
async def serving_distributor(
    platform: TestPlatform, *, clock: Clock | None = None, **overrides: object
) -> AsyncIterator[Distributor]:
    """The distributor's real app on a real port: WebSockets need a real server, not ASGI transport. A given
    `http_port` serves it where a stopped one was (its gateways come back to it); a given `clock` is its time."""
    defaults: dict[str, object] = {
        "http_port": free_port(),
        "expiry_sweep_interval_s": 0.2,
        "heartbeat_interval_s": 1.0,
        "identify_timeout_s": 3.0,
    }
    settings = platform.settings(Settings, **{**defaults, **overrides})
    async with serving_service(SPEC, settings, clock=clock) as url:
        yield Distributor(url=url)


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(kw_only=True)
class TenantFeed(Tenant):
    """A tenant the distributor learns of by events only: we publish them for it, as the other services would."""

    publisher: EventPublisher
    account_id: str = field(default_factory=_new_id)
    domain_id: str = field(default_factory=_new_id)
    contract_id: str = field(default_factory=_new_id)
    rental_version: int = 0
    runway_version: int = 0

    async def create_domain(self) -> None:
        # Opened by the test tokens' partner, as the wallet would tell it: partners see only their accounts.
        await self.publisher.publish(AccountOpened(account_id=self.account_id, name="feed", opened_by="dev-partner"))
        await self.publisher.publish(
            DomainCreated(domain_id=self.domain_id, account_id=self.account_id, name=f"d-{self.domain_id[:6]}")
        )

    async def register(self, state: GatewayState) -> uuid.UUID:
        gateway_id = uuid.uuid4()
        await self.publisher.publish(GatewayRegistered(public_key=state.public_key, **self._gateway(gateway_id, state)))
        return gateway_id

    async def remove(self, gateway_id: uuid.UUID, state: GatewayState) -> None:
        await self.publisher.publish(GatewayRemoved(**self._gateway(gateway_id, state)))

    def _gateway(self, gateway_id: uuid.UUID, state: GatewayState) -> dict[str, Any]:
        return {
            "gateway_id": gateway_id,
            "domain_id": self.domain_id,
            "account_id": self.account_id,
            "hwid": state.hwid,
            "product": state.product,
        }

    async def rent(self, *phones: str, active: bool = True, version: int | None = None) -> None:
        if version is None:
            self.rental_version += 1
            version = self.rental_version
        await self.publisher.publish(
            RentalChanged(
                contract_id=self.contract_id,
                account_id=self.account_id,
                # Far below the runway's rate: these tests take the wallet's run-out as it is announced.
                burn_rate_per_day=1_000_000 * len(phones),
                domains=[
                    DomainRental(
                        domain_id=self.domain_id,
                        devices=[RentedDevice(device_id=uuid.uuid4(), hwid=p, product="PHONE-1") for p in phones],
                        licences=[Licence(type="PORT", count=len(phones))] if phones else [],
                    )
                ],
                version=version,
                active=active,
            )
        )

    async def runway(
        self,
        *,
        depletes_in: timedelta | None,
        balance: int = 5_000_000,
        warnings_at: list[datetime] | None = None,
    ) -> datetime | None:
        self.runway_version += 1
        depletes_at = datetime.now(UTC) + depletes_in if depletes_in is not None else None
        await self.publisher.publish(
            RunwayChanged(
                account_id=self.account_id,
                balance=balance,
                burn_rate_per_day=86_400_000_000,
                depletes_at=depletes_at,
                version=self.runway_version,
                at=datetime.now(UTC),
                warnings_at=warnings_at or [],
            )
        )
        return depletes_at


@pytest.fixture(scope="module")
async def distributor(platform: TestPlatform) -> AsyncIterator[Distributor]:
    async with serving_distributor(platform) as running:
        yield running


@pytest.fixture(scope="module")
async def publisher(platform: TestPlatform) -> AsyncIterator[EventPublisher]:
    async with event_publisher(platform) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
def tenant(publisher: EventPublisher) -> TenantFeed:
    return TenantFeed(publisher=publisher)


async def gateway_row(platform: TestPlatform, hwid: str) -> asyncpg.Record | None:
    conn = await asyncpg.connect(platform.admin_database_url)
    try:
        return await conn.fetchrow(
            "SELECT id, current_seq, acked_seq FROM licensing.gateway WHERE hwid = $1 AND removed_at IS NULL", hwid
        )
    finally:
        await conn.close()


async def wait_registered(platform: TestPlatform, hwid: str) -> asyncpg.Record:
    row = await eventually(lambda: gateway_row(platform, hwid), until=lambda r: r is not None and r["current_seq"] > 0)
    assert row is not None
    return row


async def registered_gateways(tenant: TenantFeed, platform: TestPlatform, count: int) -> list[GatewayState]:
    """The tenant's domain announced and `count` gateways without phones registered in it, each holding its first
    bundle."""
    await tenant.create_domain()
    states = [GatewayState.generate(phones=0) for _ in range(count)]
    for state in states:
        await tenant.register(state)
    for state in states:
        await wait_registered(platform, state.hwid)
    return states


async def enrolled(tenant: TenantFeed, platform: TestPlatform, state: GatewayState) -> uuid.UUID:
    """The tenant's domain announced and this gateway registered in it, holding its first bundle: its id."""
    await tenant.create_domain()
    gateway_id = await tenant.register(state)
    await wait_registered(platform, state.hwid)
    return gateway_id


async def value_of(value: T) -> T:
    """A value as a probe of `eventually` (which awaits its probe)."""
    return value


async def current_seq(platform: TestPlatform, hwid: str) -> int:
    """The seq of the gateway's current bundle, as the distributor holds it."""
    row = await gateway_row(platform, hwid)
    assert row is not None
    return int(row["current_seq"])


async def renting(
    tenant: TenantFeed, platform: TestPlatform, *, phones: int = 2, depletes_in: timedelta = timedelta(hours=1)
) -> GatewayState:
    """A gateway enrolled in the tenant's domain, which rents its first phone."""
    state = GatewayState.generate(phones=phones)
    await enrolled(tenant, platform, state)
    await tenant.runway(depletes_in=depletes_in)
    await tenant.rent(state.phones[0].hwid)
    return state
