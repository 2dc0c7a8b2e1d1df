"""One distributor process holding N simulated gateways: memory per connection, activation-to-ack latency,
and a reconnect storm, next to a bare `websockets` server holding the same number of connections.

Run: `uv run python -m bench.distributor_connections --gateways 2000`. The distributor runs as its own
process (`python -m license_distributor`) on a scratch database and broker prefix of the local Postgres and
RabbitMQ; the gateways (the project's simulator, verifying every bundle) run in this process. Not part of
`make test`. `BENCH_DISTRIBUTOR_LOG_LEVEL=INFO` shows the distributor's timeline (issued, sent, acknowledged).

1. Baseline: a bare `websockets` server process; RSS before and after N idle connections.
2. The distributor: RSS before and after N gateways connected and holding their first bundle.
3. Activation: a RentalChanged adds a phone to the domain; per gateway, the time until it verified and
   acknowledged the new bundle (p50, p99, all).
4. Reconnect storm: every gateway drops its connection at once while the rental changes again; the time
   until all of them hold the new bundle.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aio_pika
import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

from gateway_simulator.fleet import Fleet
from gateway_simulator.gateway import SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from scripts.bootstrap_db import bootstrap
from shared.events.base import Event
from shared.events.contracts import DomainRental, Licence, RentalChanged, RentedDevice
from shared.events.provisioning import DomainCreated, GatewayRegistered
from shared.events.wallet import RunwayChanged
from shared.messaging.envelope import CONTENT_TYPE, Envelope
from shared.messaging.topology import Topology

ADMIN_URL = os.environ.get("RENTAL_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("RENTAL_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ROOT = Path(__file__).resolve().parents[1]
WAVE = 250  # gateways powered up together while connecting


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def wait_until(condition: object, *, within: float, what: str) -> float:
    """Poll an async predicate; returns the seconds it took."""
    started = time.perf_counter()
    while not await condition():  # type: ignore[operator]
        if time.perf_counter() - started > within:
            raise TimeoutError(f"{what}: not within {within}s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


# ---- the baseline: a bare websockets server ---------------------------------------------------------------


def serve_bare(port: int) -> None:
    """The baseline server process: accepts WebSockets and holds them, nothing else."""
    from websockets.asyncio.server import ServerConnection, serve

    async def hold(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async def main() -> None:
        async with serve(hold, "127.0.0.1", port, ping_interval=20, ping_timeout=20):
            await asyncio.Future()

    asyncio.run(main())


async def bare_baseline(count: int) -> float:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.distributor_connections", "--bare-server", str(port), cwd=ROOT
    )
    clients: list[ClientConnection] = []
    try:
        await _wait_for_port(port)
        await asyncio.sleep(0.5)
        before = rss_bytes(server.pid)
        for offset in range(0, count, 200):
            batch = min(200, count - offset)
            clients += await asyncio.gather(*(connect(f"ws://127.0.0.1:{port}/") for _ in range(batch)))
        await asyncio.sleep(1.0)
        after = rss_bytes(server.pid)
        return (after - before) / count
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)


async def _wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise TimeoutError(f"nothing listens on {port}")


# ---- the distributor -------------------------------------------------------------------------------------


class Publisher:
    def __init__(self, channel: aio_pika.abc.AbstractChannel, exchange: aio_pika.abc.AbstractExchange) -> None:
        self.channel = channel
        self.exchange = exchange

    async def publish(self, event: Event) -> None:
        envelope = Envelope.of(
            id=uuid.uuid4(),
            source=f"/{event.publisher}",
            type=event.routing_key(),
            time=datetime.now(UTC),
            subject=event.subject(),
            data=event.model_dump(mode="json"),
            traceparent=None,
        )
        await self.exchange.publish(
            aio_pika.Message(envelope.to_bytes(), content_type=CONTENT_TYPE, message_id=envelope.id),
            routing_key=event.routing_key(),
        )


async def start_distributor(*, database: str, prefix: str, port: int) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "LICENSING_DATABASE_URL": f"postgresql://licensing:licensing@127.0.0.1:5432/{database}",
        "LICENSING_BROKER_PREFIX": prefix,
        "LICENSING_HTTP_PORT": str(port),
        "LICENSING_LOG_LEVEL": os.environ.get("BENCH_DISTRIBUTOR_LOG_LEVEL", "WARNING"),
        "LICENSING_DATABASE_POOL_MAX": "20",
        # On two shared cores a storm of thousands of handshakes is slow: give each one time rather than
        # have it time out and come back, which only adds load.
        "LICENSING_IDENTIFY_TIMEOUT_S": "60",
    }
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "license_distributor", cwd=ROOT, env=env)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def distributor_run(count: int, database: str, prefix: str) -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = await asyncpg.connect(ADMIN_URL.rsplit("/", 1)[0] + f"/{database}")
    process = await start_distributor(database=database, prefix=prefix, port=port)
    connection = await aio_pika.connect_robust(AMQP_URL)
    fleet: Fleet | None = None
    try:
        async with httpx.AsyncClient(timeout=10) as http:

            async def ready() -> bool:
                try:
                    return (await http.get(f"{url}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(ready, within=60, what="distributor ready")
            channel = await connection.channel()
            publisher = Publisher(channel, await Topology(prefix=prefix).declare_exchanges(channel))
            account_id, domain_id, contract_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            await publisher.publish(DomainCreated(domain_id=domain_id, account_id=account_id, name="bench"))
            states = [GatewayState.generate(phones=1) for _ in range(count)]
            started = time.perf_counter()
            for state in states:
                await publisher.publish(
                    GatewayRegistered(
                        gateway_id=uuid.uuid4(),
                        domain_id=domain_id,
                        account_id=account_id,
                        hwid=state.hwid,
                        product=state.product,
                        public_key=state.public_key,
                    )
                )

            async def registered() -> bool:
                n = await db.fetchval("SELECT count(*) FROM licensing.gateway WHERE current_seq >= 1")
                return bool(n == count)

            await wait_until(registered, within=600, what="gateways registered")
            registration_s = time.perf_counter() - started
            await asyncio.sleep(1.0)
            rss_before = rss_bytes(process.pid)

            fleet = Fleet(
                states=states,
                store=MemoryStore(),
                distributor_url=url,
                client=http,
                backoff_base_s=0.5,
                backoff_cap_s=5.0,
                handshake_timeout_s=60.0,
            )
            started = time.perf_counter()
            # A site powers up in waves, not all in one millisecond (the storm below is the all-at-once case).
            for offset in range(0, count, WAVE):
                wave = fleet.gateways[offset : offset + WAVE]
                fleet.start(wave)

                async def wave_holds(wave: list[SimulatedGateway] = wave) -> bool:
                    return all(g.state.highest_seq >= 1 for g in wave)

                await wait_until(wave_holds, within=600, what=f"wave at {offset} connected")

            async def all_hold(seq: int) -> bool:
                assert fleet is not None
                return all(g.state.highest_seq >= seq for g in fleet.gateways)

            async def all_acked(seq: int) -> bool:
                n = await db.fetchval("SELECT count(*) FROM licensing.gateway WHERE acked_seq >= $1", seq)
                return bool(n == count)

            await wait_until(lambda: all_hold(1), within=600, what="all connected with their first bundle")
            connect_s = time.perf_counter() - started
            await asyncio.sleep(2.0)
            rss_after = rss_bytes(process.pid)

            # Activation: the runway first (no rental yet: no bundle changes), then the rental.
            await publisher.publish(
                RunwayChanged(
                    account_id=account_id,
                    balance=10**12,
                    burn_rate_per_day=86_400_000_000,
                    depletes_at=datetime.now(UTC) + timedelta(days=100),
                    version=1,
                    at=datetime.now(UTC),
                )
            )

            async def runway_known() -> bool:
                return bool(await db.fetchval("SELECT count(*) FROM licensing.account_runway"))

            await wait_until(runway_known, within=30, what="runway known")
            phones = ["0000000000a1", "0000000000a2"]

            async def rent(version: int, phone: str) -> None:
                await publisher.publish(
                    RentalChanged(
                        contract_id=contract_id,
                        account_id=account_id,
                        burn_rate_per_day=86_400_000_000,
                        domains=[
                            DomainRental(
                                domain_id=domain_id,
                                devices=[RentedDevice(device_id=uuid.uuid4(), hwid=phone, product="PHONE")],
                                licences=[Licence(type="PORT", count=1)],
                            )
                        ],
                        version=version,
                        active=True,
                    )
                )

            activated = time.monotonic()
            await rent(1, phones[0])
            await wait_until(lambda: all_hold(2), within=600, what="all hold the activation bundle")
            latencies = [g.stats.accepted_at[2] - activated for g in fleet.gateways]
            await wait_until(lambda: all_acked(2), within=600, what="all acks recorded")
            all_acked_s = time.monotonic() - activated

            # Reconnect storm: everyone drops at once while the rental changes again.
            storm = time.monotonic()
            await asyncio.gather(fleet.drop_all(), rent(2, phones[1]))
            await wait_until(lambda: all_hold(3), within=600, what="all hold the bundle after the storm")
            storm_s = time.monotonic() - storm
            rejected = sum(len(g.stats.rejected) for g in fleet.gateways)
        return {
            "registration_s": registration_s,
            "connect_s": connect_s,
            "rss_before": rss_before,
            "rss_after": rss_after,
            "per_connection": (rss_after - rss_before) / count,
            "p50": percentile(latencies, 0.50),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies),
            "all_acked": all_acked_s,
            "storm": storm_s,
            "rejected": rejected,
        }
    finally:
        if fleet is not None:
            await fleet.stop()
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)
        await db.close()
        await _delete_queues(connection, prefix)
        await connection.close()


async def _delete_queues(connection: aio_pika.abc.AbstractConnection, prefix: str) -> None:
    names = ["license-distributor.events", "license-distributor.events.dead", "rental.unrouted"]
    names += [f"license-distributor.events.retry.{ms}ms" for ms in (200, 1000, 5000, 30000)]
    for name in names:
        channel = await connection.channel()
        try:
            await channel.queue_delete(prefix + name)
        except aio_pika.exceptions.AMQPError:
            pass  # never declared
        finally:
            if not channel.is_closed:
                await channel.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateways", type=int, default=2000)
    parser.add_argument("--bare-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    database, prefix = f"rental_bench_{run}", f"bench-{run}."
    await bootstrap(admin_url=ADMIN_URL, database=database)
    try:
        bare = await bare_baseline(args.gateways)
        figures = await distributor_run(args.gateways, database, prefix)
    finally:
        admin = await asyncpg.connect(ADMIN_URL)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    n = args.gateways
    print(f"gateways: {n} (one distributor process; simulator in the bench process; {os.cpu_count()} CPUs)")
    print(f"bare websockets server, memory per idle connection : {bare / 1024:8.1f} KiB  (baseline)")
    print(
        f"distributor, memory per gateway session            : {figures['per_connection'] / 1024:8.1f} KiB  "
        f"({figures['per_connection'] / bare:.1f} x bare; RSS {figures['rss_before'] / 2**20:.0f} -> "
        f"{figures['rss_after'] / 2**20:.0f} MiB)"
    )
    print(f"registration of {n} gateways (events → first bundles): {figures['registration_s']:8.2f} s")
    print(f"all {n} connected (waves of {WAVE}), first bundle verified: {figures['connect_s']:8.2f} s")
    print(
        f"activation → gateway verified and acked, p50 / p99 / all: {figures['p50'] * 1000:.0f} / "
        f"{figures['p99'] * 1000:.0f} / {figures['max'] * 1000:.0f} ms; all acks recorded: "
        f"{figures['all_acked'] * 1000:.0f} ms"
    )
    print(f"reconnect storm (all drop + a change) → all hold it  : {figures['storm']:8.2f} s")
    print(f"bundles rejected by the gateways                     : {int(figures['rejected'])}")


if __name__ == "__main__":
    if "--bare-server" in sys.argv:
        serve_bare(int(sys.argv[sys.argv.index("--bare-server") + 1]))
    else:
        asyncio.run(main())
