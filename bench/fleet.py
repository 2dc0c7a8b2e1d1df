"""The fleet benchmark: one distributor process holding a vendor-sized fleet of simulated gateways.

Run: `uv run python -m bench.fleet --gateways 10000 --domains 5000` (results in `bench/results/fleet.json`).
The four services run as their own processes (`python -m <service>`) on a scratch database and broker prefix
of the local Postgres and RabbitMQ; the gateways (the project's simulator, verifying every bundle it gets)
run in this process. Everything is set up through the public HTTP APIs, as a vendor would.

1. Baseline: a bare `websockets` server process (compression off); RSS before and after N idle connections.
2. Set-up through the APIs, `--concurrency` requests at a time: per domain an account, the domain, a contract
   (accepted, approved) linked to it, and its gateways; the domains that will change get credit and phones.
3. Connect: every gateway starts at once; the time until all are welcomed and hold a bundle. The
   distributor's RSS before and after: memory per connection, next to the bare server's.
4. One-domain changes (`--changes` of them, one after the other) while all stay connected: a phone activated
   through the contracts API; per gateway of that domain, the time until it verified, stored and acked the
   bundle listing the phone (p50 / p99 / max).
5. Key rotation: `POST /v1/signing-keys/rotation` (202) until every gateway holds and acked a bundle signed
   with the new key.
6. Storm: every gateway drops its connection at once while one more domain changes; the time until all are
   connected again and hold their current bundle; the bundles sent meanwhile (only the stale ones should be),
   handshakes that failed, and whether the distributor is still up.

Not part of `make test`. `BENCH_SERVICE_LOG_LEVEL=INFO` keeps the services' logs (paths printed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import structlog
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect

from bench.results import Row, cpu_seconds, limit_row, save
from bench.scratch import ADMIN_URL
from gateway_simulator.gateway import GatewayStats, JwksCache, SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from gateway_simulator.verifier import AcceptedBundle, BundleRejected
from scripts.bootstrap_db import bootstrap
from shared.dev_issuer import issue_token, load_or_create_key
from tests.harness import delete_prefixed_broker_objects, eventually, free_port

AMQP_URL = os.environ.get("RENTAL_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ROOT = Path(__file__).resolve().parents[1]
PHONE_PRODUCT = "PHONE-FLEET"
TARGETS = {
    "connect_s": 60.0,
    "memory_ratio": 2.0,
    "change_p99_ms": 250.0,
    "rotation_s": 60.0,
    "storm_s": 60.0,
}


@dataclass(frozen=True)
class Service:
    name: str
    package: str
    env_prefix: str
    schema: str


SERVICES = (
    Service("wallet", "wallet", "WALLET_", "wallet"),
    Service("contracts", "contracts", "CONTRACTS_", "contracts"),
    Service("provisioning", "provisioning", "PROVISIONING_", "provisioning"),
    Service("license-distributor", "license_distributor", "LICENSE_DISTRIBUTOR_", "licensing"),
)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def raise_own_file_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


# ---- the baseline: a bare websockets server ---------------------------------------------------------------


def serve_bare(port: int) -> None:
    """The baseline server process: accepts WebSockets (no compression) and holds them, nothing else."""
    from websockets.asyncio.server import ServerConnection, serve

    raise_own_file_limit()

    async def hold(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async def main() -> None:
        async with serve(hold, "127.0.0.1", port, compression=None, ping_interval=20, ping_timeout=20, backlog=4096):
            await asyncio.Future()

    asyncio.run(main())


async def bare_baseline(count: int) -> dict[str, float]:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fleet", "--bare-server", str(port), cwd=ROOT
    )
    clients: list[ClientConnection] = []
    try:
        await _wait_for_port(port)
        await asyncio.sleep(1.0)
        before = rss_bytes(server.pid)
        for offset in range(0, count, 500):
            batch = min(500, count - offset)
            clients += await asyncio.gather(
                *(connect(f"ws://127.0.0.1:{port}/", compression=None, open_timeout=60) for _ in range(batch))
            )
        await asyncio.sleep(2.0)
        after = rss_bytes(server.pid)
        return {"rss_before": before, "rss_after": after, "per_connection": (after - before) / count}
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)


async def _wait_for_port(port: int) -> None:
    # Up to 3 minutes: on a busy machine the bare server's start-up (its imports) alone has taken 35 s.
    for _ in range(3600):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise TimeoutError(f"nothing listens on {port}")


# ---- the platform ------------------------------------------------------------------------------------------


@dataclass
class Platform:
    database: str
    prefix: str
    dev_dir: Path
    log_dir: Path
    urls: dict[str, str] = field(default_factory=dict)
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    def token(self, role: str, account_id: str | None = None) -> str:
        # One partner for the fleet: partners are scoped to the accounts they open.
        subject = "bench-partner" if role == "partner" else None
        return issue_token(load_or_create_key(self.dev_dir), roles=[role], account_id=account_id, subject=subject)

    @property
    def distributor(self) -> asyncio.subprocess.Process:
        return self.processes["license-distributor"]

    @property
    def database_admin_url(self) -> str:
        return ADMIN_URL.rsplit("/", 1)[0] + f"/{self.database}"


async def start_platform(platform: Platform) -> None:
    for service in SERVICES:
        port = free_port()
        p = service.env_prefix
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RENTAL_", p))}
        env.update(
            {
                f"{p}HTTP_PORT": str(port),
                f"{p}HTTP_HOST": "127.0.0.1",
                f"{p}DATABASE_URL": f"postgresql://{service.schema}:{service.schema}@127.0.0.1:5432/{platform.database}",
                f"{p}AMQP_URL": AMQP_URL,
                f"{p}BROKER_PREFIX": platform.prefix,
                f"{p}AUTH_JWKS_PATH": str(platform.dev_dir / "jwks.json"),
                f"{p}LOG_LEVEL": os.environ.get("BENCH_SERVICE_LOG_LEVEL", "WARNING"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        log = (platform.log_dir / f"{service.name}.log").open("wb")
        platform.processes[service.name] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", service.package, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        platform.urls[service.name] = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(timeout=5) as http:
        for name, url in platform.urls.items():

            async def ready(url: str = url) -> bool:
                try:
                    return (await http.get(f"{url}/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(ready, within=180, what=f"{name} ready", every=0.2)


async def stop_platform(platform: Platform) -> None:
    for process in platform.processes.values():
        if process.returncode is None:
            process.terminate()
    for process in platform.processes.values():
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


# ---- set-up through the public APIs ---------------------------------------------------------------------------


@dataclass
class Site:
    """One domain: its account, contract, gateways and the phones its changes will activate."""

    index: int
    account_id: str = ""
    domain_id: str = ""
    contract_id: str = ""
    states: list[GatewayState] = field(default_factory=list)
    phones: list[tuple[str, str]] = field(default_factory=list)  # (hwid, device id), not yet rented


class Api:
    """The public HTTP APIs, retrying what only means "not arrived yet" (409 not_yet_known) as a client may."""

    def __init__(self, platform: Platform, http: httpx.AsyncClient) -> None:
        self.platform = platform
        self.http = http
        self.partner = {"Authorization": f"Bearer {platform.token('partner')}"}
        self.operator = {"Authorization": f"Bearer {platform.token('operator')}"}
        self.calls = 0

    def customer(self, account_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.platform.token('customer', account_id)}"}

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json: object = None,
        retry: tuple[str, ...] = ("not_yet_known",),
        ok: tuple[int, ...] = (200, 201),
    ) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while True:
            self.calls += 1
            try:
                response = await self.http.request(
                    method, f"{self.platform.urls[service]}{path}", json=json, headers=headers
                )
            except httpx.TransportError:
                # A kept-alive connection the server closed just then (or one it dropped under load): retry,
                # as any client would.
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
                continue
            if response.status_code in ok:
                body: dict[str, Any] = response.json() if response.content else {}
                return body
            retryable = response.status_code == 409 and response.json().get("code") in retry
            retryable = retryable or response.status_code in (429, 503)
            if not retryable or time.monotonic() > deadline:
                raise RuntimeError(f"{method} {service}{path}: {response.status_code} {response.text[:300]}")
            await asyncio.sleep(0.05)


async def set_up(api: Api, sites: list[Site], *, concurrency: int, keys: list[str]) -> None:
    await api.call(
        "contracts",
        "PUT",
        f"/v1/tariffs/{PHONE_PRODUCT}",
        json={"rate_per_day": "1", "licences": [{"type": "PORT", "count": 1}]},
        headers=api.operator,
    )
    limit = asyncio.Semaphore(concurrency)
    key_for = iter(keys)

    async def one(site: Site) -> None:
        async with limit:
            account = await api.call(
                "wallet", "POST", "/v1/accounts", json={"name": f"fleet {site.index}"}, headers=api.partner
            )
            site.account_id = str(account["id"])
            customer = api.customer(site.account_id)
            domain = await api.call(
                "provisioning",
                "POST",
                "/v1/domains",
                json={"account_id": site.account_id, "name": f"d{site.index}.fleet.example"},
                headers=api.partner,
            )
            site.domain_id = str(domain["id"])
            contract = await api.call(
                "contracts", "POST", "/v1/contracts", json={"account_id": site.account_id}, headers=api.partner
            )
            site.contract_id = str(contract["id"])
            await api.call(
                "contracts",
                "POST",
                f"/v1/contracts/{site.contract_id}/domains",
                json={"domain_id": site.domain_id},
                headers=customer,
            )
            await api.call("contracts", "POST", f"/v1/contracts/{site.contract_id}/acceptance", headers=customer)
            await api.call("contracts", "POST", f"/v1/contracts/{site.contract_id}/approval", headers=api.operator)
            await asyncio.gather(
                *(
                    api.call(
                        "provisioning",
                        "POST",
                        f"/v1/domains/{site.domain_id}/gateways",
                        json={"hwid": s.hwid, "product": s.product, "public_key": s.public_key},
                        headers=api.partner,
                    )
                    for s in site.states
                )
            )
            if site.phones:
                await api.call(
                    "wallet",
                    "POST",
                    f"/v1/accounts/{site.account_id}/redemptions",
                    json={"code": next(key_for)},
                    headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
                )
                enrolled = []
                for hwid, _ in site.phones:
                    code = await api.call(
                        "provisioning",
                        "POST",
                        f"/v1/domains/{site.domain_id}/provisioning-codes",
                        json={},
                        headers=customer,
                    )
                    device = await api.call(
                        "provisioning",
                        "POST",
                        "/v1/provisioning",
                        json={"code": code["code"], "hwid": hwid, "product": PHONE_PRODUCT, "type": "PHONE"},
                        headers={},
                    )
                    enrolled.append((hwid, str(device["id"])))
                site.phones = enrolled

    await asyncio.gather(*(one(site) for site in sites))


async def issue_keys(api: Api, count: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < count:
        batch = await api.call(
            "wallet",
            "POST",
            "/v1/activation-keys",
            json={"amount": "1000", "count": min(1000, count - len(codes))},
            headers={**api.partner, "Idempotency-Key": uuid.uuid4().hex},
        )
        codes += [str(k["code"]) for k in batch["keys"]]
    return codes


# ---- the gateways --------------------------------------------------------------------------------------------


class BenchGateway(SimulatedGateway):
    """The simulator's gateway, noting when it accepted each bundle (it acks right after) and failed handshakes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.accepted_log: list[tuple[float, AcceptedBundle]] = []
        self.failed_sessions = 0
        # (phone, after, callback): told once a bundle listing the phone was accepted at or after `after`.
        self.watch: tuple[str, float, Callable[[BenchGateway], None]] | None = None

    async def offer(self, jws: str) -> AcceptedBundle:
        bundle = await super().offer(jws)
        at = time.monotonic()
        self.accepted_log.append((at, bundle))
        if self.watch is not None:
            phone, after, callback = self.watch
            if at >= after and any(d.hwid == phone for d in bundle.devices):
                self.watch = None
                callback(self)
        return bundle

    async def session_once(self) -> bool:
        welcomed = await super().session_once()
        if not welcomed:
            self.failed_sessions += 1
        return welcomed

    def first_with(self, phone: str, *, after: float) -> float | None:
        for at, bundle in self.accepted_log:
            if at >= after and any(d.hwid == phone for d in bundle.devices):
                return at
        return None


# ---- the gateways in processes of their own (`--gateway-processes`) ------------------------------------------
#
# A real fleet verifies its bundles on as many devices as it has; one process simulating them all verifies them one
# after the other. With `--gateway-processes N` the gateways run in N worker processes (`--gateway-worker`), each
# the same simulator, reporting to this one over a pipe what the run reads of them: welcomed, dropped, a failed
# handshake, each bundle accepted (when, by the shared monotonic clock, and what it lists) or rejected.


@dataclass(frozen=True)
class _Listed:
    hwid: str


@dataclass(frozen=True)
class _Accepted:
    """What the run reads of a bundle a worker's gateway accepted."""

    kid: str
    seq: int
    devices: tuple[_Listed, ...]


class RemoteGateway:
    """A gateway simulated in a worker process, as the run sees it (the part of BenchGateway it reads)."""

    def __init__(self, state: GatewayState, worker: GatewayWorker) -> None:
        self.state = state
        self.worker = worker
        self.connected = False
        self.current: _Accepted | None = None
        self.stats = GatewayStats()
        self.failed_sessions = 0
        self.accepted_log: list[tuple[float, _Accepted]] = []
        self.watch: tuple[str, float, Callable[[Any], None]] | None = None

    @property
    def hwid(self) -> str:
        return self.state.hwid

    async def run(self) -> None:
        await asyncio.Future()  # the worker runs it; this waits to be cancelled with the other tasks

    async def disconnect(self) -> None:
        self.worker.command("drop", self.hwid)

    def first_with(self, phone: str, *, after: float) -> float | None:
        for at, bundle in self.accepted_log:
            if at >= after and any(d.hwid == phone for d in bundle.devices):
                return at
        return None

    def report(self, event: dict[str, Any]) -> None:
        kind = event["e"]
        if kind == "up":
            self.connected = True
            self.stats.connects += 1
        elif kind == "down":
            self.connected = False
        elif kind == "failed":
            self.failed_sessions += 1
        elif kind == "rejected":
            self.stats.rejected.append(event["reason"])
        elif kind == "accepted":
            bundle = _Accepted(kid=event["kid"], seq=event["seq"], devices=tuple(_Listed(h) for h in event["devices"]))
            self.state = self.state.accepted(seq=bundle.seq, jws=None)
            self.current = bundle
            at = float(event["at"])
            self.accepted_log.append((at, bundle))
            if self.watch is not None:
                phone, after, callback = self.watch
                if at >= after and phone in event["devices"]:
                    self.watch = None
                    callback(self)


class GatewayWorker:
    """One worker process and its gateways, started once it is ready; `go` sets them all going."""

    def __init__(self, process: asyncio.subprocess.Process, states: list[GatewayState]) -> None:
        self.process = process
        self.gateways = {state.hwid: RemoteGateway(state, self) for state in states}
        self.ready = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, states: list[GatewayState], *, distributor_url: str, work: Path, n: int) -> GatewayWorker:
        path = work / f"gateways-{n}.json"
        path.write_text(json.dumps([state.to_json() for state in states]))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.fleet",
            "--gateway-worker",
            str(path),
            distributor_url,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            limit=2**20,
        )
        worker = cls(process, states)
        # Its start-up (imports, the gateways' keys) is not part of any figure: wait for it to say so.
        await asyncio.wait_for(worker.ready.wait(), timeout=600)
        return worker

    def command(self, *words: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((" ".join(words) + "\n").encode())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            event = json.loads(line)
            if event["e"] == "ready":
                self.ready.set()
            else:
                self.gateways[event["h"]].report(event)

    async def stop(self) -> None:
        self.reader.cancel()
        if self.process.returncode is None:
            self.process.terminate()
        await self.process.wait()


class WorkerGateway(SimulatedGateway):
    """The simulator's gateway in a worker process, reporting what the run reads of it on stdout."""

    _connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    @connected.setter
    def connected(self, value: bool) -> None:
        if value != self._connected:
            _emit({"e": "up" if value else "down", "h": self.hwid})
        self._connected = value

    async def offer(self, jws: str) -> AcceptedBundle:
        try:
            bundle = await super().offer(jws)
        except BundleRejected as rejected:
            _emit({"e": "rejected", "h": self.hwid, "reason": str(rejected.reason)})
            raise
        devices = [d.hwid for d in bundle.devices]
        _emit(
            {
                "e": "accepted",
                "h": self.hwid,
                "at": time.monotonic(),
                "seq": bundle.seq,
                "kid": bundle.kid,
                "devices": devices,
            }
        )
        return bundle

    async def session_once(self) -> bool:
        welcomed = await super().session_once()
        if not welcomed:
            _emit({"e": "failed", "h": self.hwid})
        return welcomed


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def serve_gateways(path: str, distributor_url: str) -> None:
    """The worker process: its gateways, started on `go`, each dropped on `drop <hwid>` (the storm)."""
    raise_own_file_limit()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    states = [GatewayState.from_json(item) for item in json.loads(Path(path).read_text())]

    async def main() -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            jwks = JwksCache(url=f"{distributor_url}/.well-known/jwks.json", client=http)
            gateways = {
                state.hwid: WorkerGateway(
                    state=state, store=MemoryStore(), distributor_url=distributor_url, jwks=jwks, backoff_cap_s=30.0
                )
                for state in states
            }
            loop = asyncio.get_running_loop()
            commands = asyncio.StreamReader()
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
            tasks: list[asyncio.Task[None]] = []
            _emit({"e": "ready"})
            async for line in commands:
                words = line.decode().split()
                if words == ["go"]:
                    tasks = [asyncio.create_task(g.run()) for g in gateways.values()]
                elif words[:1] == ["drop"]:
                    asyncio.create_task(gateways[words[1]].disconnect())  # noqa: RUF006 - it finishes on its own
            for task in tasks:
                task.cancel()

    asyncio.run(main())


async def metric(http: httpx.AsyncClient, url: str, name: str, **labels: str) -> float:
    text = (await http.get(f"{url}/metrics")).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


# ---- the run ----------------------------------------------------------------------------------------------------


@dataclass
class Fleet:
    """What the measuring steps of one run share: the platform, its clients, the sites and their gateways."""

    platform: Platform
    api: Api
    db: asyncpg.Pool
    sites: list[Site]
    figures: dict[str, Any]
    # BenchGateway in this process, or RemoteGateway with --gateway-processes (the part of it the run reads).
    gateways: list[Any] = field(default_factory=list)
    by_hwid: dict[str, Any] = field(default_factory=dict)
    workers: list[GatewayWorker] = field(default_factory=list)

    @property
    def http(self) -> httpx.AsyncClient:
        return self.api.http

    @property
    def distributor_url(self) -> str:
        return self.platform.urls["license-distributor"]

    async def metric(self, name: str) -> float:
        return await metric(self.http, self.distributor_url, name)


async def run(
    *, gateways: int, domains: int, changes: int = 50, concurrency: int = 32, gateway_processes: int = 1
) -> dict[str, Any]:
    """The whole benchmark; returns the figures (also what `main` writes to bench/results/<name>.json)."""
    open_files = raise_own_file_limit()
    # Thousands of simulated gateways: their info lines (each refused or failed connect) would cost this process
    # more than the gateways themselves.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    run_id = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix=f"bench-fleet-{run_id}-"))
    platform = Platform(
        database=f"rental_bench_{run_id}", prefix=f"bench-{run_id}.", dev_dir=work / "dev", log_dir=work
    )
    load_or_create_key(platform.dev_dir)
    figures: dict[str, Any] = {
        "gateways": gateways,
        "domains": domains,
        "cpus": os.cpu_count(),
        "open_files": open_files,
        "gateway_processes": gateway_processes,
    }
    figures["bare"] = await bare_baseline(gateways)
    await bootstrap(admin_url=ADMIN_URL, database=platform.database)
    fleet: Fleet | None = None
    tasks: list[asyncio.Task[None]] = []
    profilers: list[asyncio.subprocess.Process] = []
    try:
        await start_platform(platform)
        sites = plan_sites(gateways=gateways, domains=domains, changes=changes)
        limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            # A pool: a connection lost while Postgres restarts (the machine is shared) is replaced on the next query.
            db = await asyncpg.create_pool(platform.database_admin_url, min_size=1, max_size=2)
            try:
                fleet = Fleet(platform=platform, api=Api(platform, http), db=db, sites=sites, figures=figures)
                await measure_set_up(fleet, concurrency=concurrency)
                await asyncio.sleep(2.0)
                rss_before = rss_bytes(platform.distributor.pid)
                await build_gateways(fleet, processes=gateway_processes, work=work)
                if os.environ.get("BENCH_PY_SPY"):
                    profilers = await start_profilers(os.environ["BENCH_PY_SPY"], platform, work)
                tasks = await measure_connect(fleet, rss_before=rss_before)
                await measure_changes(fleet, changes=changes)
                await measure_rotation(fleet)
                await measure_storm(fleet, changes=changes)
                figures["rejected_bundles"] = sum(len(g.stats.rejected) for g in fleet.gateways)
            finally:
                await db.close()
    finally:
        await tear_down(platform, tasks, profilers, workers=fleet.workers if fleet is not None else [])
        figures["logs"] = str(work)
    return figures


def plan_sites(*, gateways: int, domains: int, changes: int) -> list[Site]:
    """The gateways spread over the domains; change j activates a phone of site j mod domains (one more for
    the storm)."""
    per_domain = [gateways // domains + (1 if i < gateways % domains else 0) for i in range(domains)]
    sites = [
        Site(index=i, states=[GatewayState.generate(phones=0) for _ in range(n)]) for i, n in enumerate(per_domain)
    ]
    for j in range(changes + 1):
        sites[j % domains].phones.append((uuid.uuid4().hex[:12], ""))
    return sites


async def measure_set_up(fleet: Fleet, *, concurrency: int) -> None:
    """Every site made through the public APIs, until the distributor knows every gateway."""
    api, expected = fleet.api, sum(len(s.states) for s in fleet.sites)
    started = time.perf_counter()
    keys = await issue_keys(api, sum(1 for s in fleet.sites if s.phones))
    await set_up(api, fleet.sites, concurrency=concurrency, keys=keys)
    api_s = time.perf_counter() - started

    async def registered() -> bool:
        n = await fleet.db.fetchval(
            "SELECT count(*) FROM licensing.gateway WHERE removed_at IS NULL AND current_seq >= 1"
        )
        return bool(n == expected)

    await eventually(registered, within=1800, what="gateways known to the distributor", every=0.5)
    fleet.figures["setup"] = {
        "s": time.perf_counter() - started,
        "api_s": api_s,
        "api_calls": api.calls,
        "calls_per_s": api.calls / api_s,
        "concurrency": concurrency,
    }
    print(f"set-up: {fleet.figures['setup']}", flush=True)


async def build_gateways(fleet: Fleet, *, processes: int, work: Path) -> None:
    """The simulated gateways: in this process, or spread over `processes` worker processes."""
    if processes > 1:
        states = [state for site in fleet.sites for state in site.states]
        for n in range(processes):
            worker = await GatewayWorker.start(
                states[n::processes], distributor_url=fleet.distributor_url, work=work, n=n
            )
            fleet.workers.append(worker)
            fleet.gateways.extend(worker.gateways.values())
        fleet.by_hwid = {g.hwid: g for g in fleet.gateways}
        return
    jwks = JwksCache(url=f"{fleet.distributor_url}/.well-known/jwks.json", client=fleet.http)
    for site in fleet.sites:
        for state in site.states:
            gateway = BenchGateway(
                state=state,
                store=MemoryStore(),
                distributor_url=fleet.distributor_url,
                jwks=jwks,
                backoff_base_s=0.5,
                backoff_cap_s=30.0,
            )
            fleet.gateways.append(gateway)
            fleet.by_hwid[state.hwid] = gateway


async def start_profilers(py_spy: str, platform: Platform, work: Path) -> list[asyncio.subprocess.Process]:
    """Profile before optimising: collapsed stacks of the distributor and of this process (the
    simulated gateways) from the connect on."""
    profilers = []
    for label, pid in (("distributor", platform.distributor.pid), ("gateways", os.getpid())):
        profilers.append(
            await asyncio.create_subprocess_exec(
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "97",
                "--format",
                "raw",
                "--output",
                str(work / f"{label}.pyspy.txt"),
                "--nonblocking",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return profilers


async def measure_connect(fleet: Fleet, *, rss_before: int) -> list[asyncio.Task[None]]:
    """All gateways connect at once; returns their tasks (they run until the end of the run)."""
    started = time.perf_counter()
    tasks = [asyncio.create_task(g.run()) for g in fleet.gateways]
    for worker in fleet.workers:
        worker.command("go")

    async def all_hold_a_bundle() -> bool:
        return all(g.connected and g.state.highest_seq >= 1 for g in fleet.gateways)

    await eventually(all_hold_a_bundle, within=600, what="all connected", every=0.1)
    connect_s = time.perf_counter() - started
    await asyncio.sleep(3.0)
    rss_after = rss_bytes(fleet.platform.distributor.pid)
    figures = fleet.figures
    figures["connect"] = {
        "s": connect_s,
        "failed_handshakes": sum(g.failed_sessions for g in fleet.gateways),
        "sessions_gauge": await fleet.metric("license_distributor_gateway_sessions"),
        "deferred_503": await fleet.metric("license_distributor_handshakes_deferred_total"),
        "identify_timeouts": await fleet.metric("license_distributor_identify_timeouts_total"),
        "gc_pause_s": await fleet.metric("license_distributor_gc_pause_seconds_total"),
    }
    figures["memory"] = {
        "rss_before": rss_before,
        "rss_after": rss_after,
        "per_connection": (rss_after - rss_before) / len(fleet.gateways),
    }
    figures["memory"]["ratio"] = figures["memory"]["per_connection"] / figures["bare"]["per_connection"]
    print(f"connect: {figures['connect']} memory: {figures['memory']}", flush=True)
    return tasks


async def measure_changes(fleet: Fleet, *, changes: int) -> None:
    """One-domain changes, one after the other, while all gateways stay connected."""
    domains = len(fleet.sites)
    latencies: list[float] = []
    slowest: list[float] = []
    plan = [(fleet.sites[j % domains], j // domains) for j in range(changes)]
    distributor_cpu = cpu_seconds(fleet.platform.distributor.pid)
    for site, k in plan:
        took, change_started_at = await activate(fleet.api, site, k, [fleet.by_hwid[s.hwid] for s in site.states])
        latencies += took
        slowest.append(max(took))
    distributor_cpu = cpu_seconds(fleet.platform.distributor.pid) - distributor_cpu
    fleet.figures["change"] = {
        "timeline_ms": await timeline(fleet.db, plan[-1][0], since=change_started_at),
        "changes": changes,
        "samples": len(latencies),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        # Each change's slowest gateway, in order: tells one slow change from a uniformly slow run.
        "slowest_per_change_ms": [round(s * 1000) for s in slowest],
        # The distributor's CPU per change (its rental and runway rebuilds, the pushes, the acks, publishing).
        "distributor_cpu_ms_per_change": distributor_cpu / changes * 1000,
        "all_connected": sum(g.connected for g in fleet.gateways),
    }
    print(f"changes: {fleet.figures['change']}", flush=True)


async def measure_rotation(fleet: Fleet) -> None:
    """A key rotation, until every gateway holds and has acknowledged a bundle signed with the new key."""
    operator = fleet.api.operator
    started = time.perf_counter()
    rotated = await fleet.http.post(f"{fleet.distributor_url}/v1/signing-keys/rotation", headers=operator)
    answered_s = time.perf_counter() - started
    assert rotated.status_code == 202, rotated.text
    new_kid = rotated.json()["kid"]

    async def all_on_the_new_key() -> bool:
        return all(g.current is not None and g.current.kid == new_kid for g in fleet.gateways)

    await eventually(all_on_the_new_key, within=600, what="all hold the new key's bundle", every=0.1)
    held_s = time.perf_counter() - started

    async def all_acked_the_new_key() -> bool:
        status = await fleet.http.get(f"{fleet.distributor_url}{rotated.headers['Location']}", headers=operator)
        body = status.json()
        return bool(body["status"] == "completed" and body["gateways_acknowledged"] == len(fleet.gateways))

    await eventually(all_acked_the_new_key, within=600, what="all acks of the new key recorded", every=0.2)
    fleet.figures["rotation"] = {
        "answered_ms": answered_s * 1000,
        "all_hold_s": held_s,
        "all_acked_s": time.perf_counter() - started,
    }
    print(f"rotation: {fleet.figures['rotation']}", flush=True)


async def measure_storm(fleet: Fleet, *, changes: int) -> None:
    """Everyone drops at once while one more domain changes, until all are back and current."""
    counters = (
        "license_distributor_bundles_pushed_total",
        "license_distributor_handshakes_deferred_total",
        "license_distributor_identify_timeouts_total",
        "license_distributor_gc_pause_seconds_total",
    )
    before = {name: await fleet.metric(name) for name in counters}
    failed_before = sum(g.failed_sessions for g in fleet.gateways)
    connects_before = {g.hwid: g.stats.connects for g in fleet.gateways}
    storm_site, storm_k = fleet.sites[changes % len(fleet.sites)], changes // len(fleet.sites)
    started = time.perf_counter()
    await asyncio.gather(*(g.disconnect() for g in fleet.gateways))
    stale = [fleet.by_hwid[s.hwid] for s in storm_site.states]
    change = asyncio.create_task(activate(fleet.api, storm_site, storm_k, stale, within=600))

    async def all_back() -> bool:
        return all(g.connected and g.stats.connects > connects_before[g.hwid] for g in fleet.gateways)

    await eventually(all_back, within=600, what="all reconnected", every=0.1)
    await change

    async def all_current() -> bool:
        rows = await fleet.db.fetch("SELECT hwid, current_seq FROM licensing.gateway WHERE removed_at IS NULL")
        return all(fleet.by_hwid[r["hwid"]].state.highest_seq == r["current_seq"] for r in rows)

    await eventually(all_current, within=600, what="all current", every=0.2)
    elapsed_s = time.perf_counter() - started
    since = {name: await fleet.metric(name) - before[name] for name in counters}
    fleet.figures["storm"] = {
        "s": elapsed_s,
        "bundles_pushed": since["license_distributor_bundles_pushed_total"],
        "stale_gateways": len(storm_site.states),
        "failed_handshakes": sum(g.failed_sessions for g in fleet.gateways) - failed_before,
        "distributor_alive": fleet.platform.distributor.returncode is None,
        "deferred_503": since["license_distributor_handshakes_deferred_total"],
        "identify_timeouts": since["license_distributor_identify_timeouts_total"],
        "gc_pause_s": since["license_distributor_gc_pause_seconds_total"],
        "sessions_gauge": await fleet.metric("license_distributor_gateway_sessions"),
    }
    print(f"storm: {fleet.figures['storm']}", flush=True)


async def tear_down(
    platform: Platform,
    tasks: list[asyncio.Task[None]],
    profilers: list[asyncio.subprocess.Process],
    *,
    workers: list[GatewayWorker],
) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for worker in workers:
        await worker.stop()
    for profiler in profilers:
        profiler.send_signal(2)
        await asyncio.wait_for(profiler.wait(), timeout=60)
    await stop_platform(platform)
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{platform.database}" WITH (FORCE)')
    finally:
        await admin.close()
    await delete_prefixed_broker_objects(AMQP_URL, platform.prefix)


async def activate(
    api: Api, site: Site, k: int, gateways: list[BenchGateway], *, within: float = 30
) -> tuple[list[float], datetime]:
    """Activate the site's k-th phone; per gateway, the seconds until it accepted (and acked) a bundle with it,
    and when the activation was asked for."""
    hwid, device_id = site.phones[k]
    customer = api.customer(site.account_id)

    async def rentable() -> bool:
        response = await api.http.get(
            f"{api.platform.urls['contracts']}/v1/contracts/{site.contract_id}/hardware", headers=customer
        )
        return any(i["device_id"] == device_id and i["rentable"] for i in response.json()["items"])

    await eventually(rentable, within=60, what="phone rentable", every=0.05)
    # Each gateway says when it accepted the bundle with the phone, rather than this process polling all of
    # them every few milliseconds (which took CPU from the very gateways whose verification is measured).
    waiting = set(gateways)
    everyone = asyncio.Event()

    def arrived(gateway: BenchGateway) -> None:
        waiting.discard(gateway)
        if not waiting:
            everyone.set()

    asked_at = datetime.now(UTC)
    started = time.monotonic()
    for gateway in gateways:
        gateway.watch = (hwid, started, arrived)
    await api.call(
        "contracts",
        "POST",
        f"/v1/contracts/{site.contract_id}/rentals",
        json={"device_id": device_id},
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
        retry=("not_yet_known", "no_credit"),
    )

    try:
        await asyncio.wait_for(everyone.wait(), timeout=within)
    except TimeoutError:
        raise TimeoutError(f"phone {hwid} in every bundle of its domain: not within {within}s") from None
    finally:
        for gateway in gateways:
            gateway.watch = None
    return [(g.first_with(hwid, after=started) or 0.0) - started for g in gateways], asked_at


async def timeline(db: asyncpg.Pool, site: Site, *, since: datetime) -> dict[str, float]:
    """Where the time of a change went, from the rows each step left (ms after the activation was asked for)."""
    rental = await db.fetchrow(
        """SELECT id, created_at, sent_at FROM contracts.outbox_message
           WHERE event_type = 'RentalChanged' AND subject = $1 AND created_at >= $2 ORDER BY created_at LIMIT 1""",
        site.contract_id,
        since,
    )
    if rental is None:
        return {}
    handled = await db.fetchval(
        "SELECT received_at FROM licensing.inbox_message WHERE message_id = $1", str(rental["id"])
    )
    gateway_id = await db.fetchval(
        "SELECT id FROM licensing.gateway WHERE hwid = $1 AND removed_at IS NULL", site.states[0].hwid
    )
    notified = await db.fetchrow(
        """SELECT created_at, sent_at FROM licensing.outbox_message
           WHERE event_type = 'BundlesChanged' AND created_at >= $1 AND payload -> 'bundles' @> $2::jsonb
           ORDER BY created_at LIMIT 1""",
        since,
        json.dumps([{"gateway_id": str(gateway_id)}]),
    )

    # How many times the change re-signed the domain's bundles: once is the work the change needs; each round
    # more (a later event about the same change) costs the distributor and every gateway as much again. Counted
    # once the distributor has handled the wallet's RunwayChanged that follows the change (the second round
    # there was, before the distributor moved the warning ladder with the run-out it projects).
    async def runway_handled() -> bool:
        return bool(
            await db.fetchval(
                """SELECT EXISTS (SELECT 1 FROM wallet.outbox_message o
                                  JOIN licensing.inbox_message i ON i.message_id = o.id::text
                                  WHERE o.event_type = 'RunwayChanged' AND o.subject = $1 AND o.created_at >= $2)""",
                site.account_id,
                since,
            )
        )

    await eventually(runway_handled, within=30, what="the change's RunwayChanged handled by the distributor")
    signed = await db.fetchval(
        "SELECT count(*) FROM licensing.bundle WHERE domain_id = $1 AND issued_at >= $2", site.domain_id, since
    )

    def ms(at: datetime | None) -> float:
        return (at - since).total_seconds() * 1000 if at is not None else float("nan")

    return {
        "rental_changed_written": ms(rental["created_at"]),
        "rental_changed_published": ms(rental["sent_at"]),
        "distributor_handled": ms(handled),
        "bundles_changed_written": ms(notified["created_at"] if notified else None),
        "bundles_changed_published": ms(notified["sent_at"] if notified else None),
        "bundles_signed_per_gateway": signed / len(site.states) if site.states else float("nan"),
    }


def verdict(figures: dict[str, Any]) -> dict[str, bool]:
    return {
        "connect_s": figures["connect"]["s"] <= TARGETS["connect_s"],
        "memory_ratio": figures["memory"]["ratio"] <= TARGETS["memory_ratio"],
        "change_p99_ms": figures["change"]["p99_ms"] <= TARGETS["change_p99_ms"],
        "rotation_s": figures["rotation"]["all_acked_s"] <= TARGETS["rotation_s"],
        "storm_s": figures["storm"]["s"] <= TARGETS["storm_s"] and figures["storm"]["distributor_alive"],
    }


def report(figures: dict[str, Any]) -> str:
    n, f = figures["gateways"], figures
    lines = [
        f"fleet: {n} gateways over {f['domains']} domains, one distributor process ({f['cpus']} CPUs)",
        f"  set-up through the APIs      : {f['setup']['s']:8.1f} s ({f['setup']['api_calls']} calls, "
        f"{f['setup']['calls_per_s']:.0f}/s at {f['setup']['concurrency']} concurrent)",
        f"  all welcomed, holding bundle : {f['connect']['s']:8.1f} s (target <= {TARGETS['connect_s']:.0f} s; "
        f"{f['connect']['failed_handshakes']} failed handshakes)",
        f"  memory per connection        : {f['memory']['per_connection'] / 1024:8.1f} KiB vs bare websockets "
        f"{f['bare']['per_connection'] / 1024:.1f} KiB = {f['memory']['ratio']:.2f}x (target <= 2x)",
        f"  one-domain change -> acked   : p50 {f['change']['p50_ms']:.0f} ms, p99 {f['change']['p99_ms']:.0f} ms, "
        f"max {f['change']['max_ms']:.0f} ms over {f['change']['samples']} gateways (target p99 <= 250 ms); "
        f"distributor CPU {f['change']['distributor_cpu_ms_per_change']:.0f} ms per change",
        f"  rotation -> all acked        : {f['rotation']['all_acked_s']:8.1f} s (answered in "
        f"{f['rotation']['answered_ms']:.0f} ms; all held the new key after {f['rotation']['all_hold_s']:.1f} s)",
        f"  storm -> all current         : {f['storm']['s']:8.1f} s ({f['storm']['bundles_pushed']:.0f} bundles "
        f"pushed for {f['storm']['stale_gateways']} stale gateways; {f['storm']['failed_handshakes']} failed "
        f"handshakes; distributor alive: {f['storm']['distributor_alive']})",
        f"  bundles rejected by gateways : {f['rejected_bundles']}",
    ]
    return "\n".join(lines)


def rows_of(figures: dict[str, Any]) -> list[Row]:
    """The figures as rows of `bench.report`'s table, each beside its baseline or target."""
    f = figures
    memory_kib, bare_kib = f["memory"]["per_connection"] / 1024, f["bare"]["per_connection"] / 1024
    storm = f["storm"]
    return [
        Row(f"set-up through the APIs ({f['setup']['api_calls']} calls)", f["setup"]["s"], "s"),
        limit_row(f"{f['gateways']} gateways welcomed, holding a bundle", f["connect"]["s"], "s", at_most=60),
        Row(
            "memory per connection (raw: bare websockets server)",
            memory_kib,
            "KiB",
            bare_kib,
            "<= 2.00 x raw",
            memory_kib / bare_kib <= TARGETS["memory_ratio"],
        ),
        Row("one-domain change -> acked, p50", f["change"]["p50_ms"], "ms"),
        limit_row("one-domain change -> acked, p99 (all connected)", f["change"]["p99_ms"], "ms", at_most=250),
        Row(
            "distributor CPU per one-domain change",
            f["change"].get("distributor_cpu_ms_per_change", float("nan")),
            "ms",
        ),
        limit_row("key rotation -> all acked", f["rotation"]["all_acked_s"], "s", at_most=60),
        Row(
            "storm: all dropped -> all current",
            storm["s"],
            "s",
            None,
            "<= 60 s, alive",
            storm["s"] <= TARGETS["storm_s"] and storm["distributor_alive"],
        ),
        Row("storm: bundles sent (raw: stale gateways)", storm["bundles_pushed"], "", storm["stale_gateways"]),
    ]


def write_result(name: str, figures: dict[str, Any], command: str) -> Path:
    """`bench/results/<name>.json` in `bench.results`' format, with every figure of the run beside the rows."""
    parameters = {k: figures[k] for k in ("gateways", "domains")} | {"changes": figures["change"]["changes"]}
    path = save(name, rows_of(figures), parameters=parameters)
    document = json.loads(path.read_text())
    document["command"] = command
    document["figures"] = figures
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateways", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=5_000)
    parser.add_argument("--changes", type=int, default=50, help="one-domain changes measured, one after the other")
    parser.add_argument("--concurrency", type=int, default=32, help="API requests in flight during set-up")
    parser.add_argument("--name", default="fleet", help="results go to bench/results/<name>.json")
    parser.add_argument(
        "--gateway-processes", type=int, default=1, help="worker processes the simulated gateways run in"
    )
    parser.add_argument("--bare-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    figures = asyncio.run(
        run(
            gateways=args.gateways,
            domains=args.domains,
            changes=args.changes,
            concurrency=args.concurrency,
            gateway_processes=args.gateway_processes,
        )
    )
    print(report(figures))
    command = f"python -m bench.fleet --gateways {args.gateways} --domains {args.domains} --changes {args.changes}"
    if args.gateway_processes > 1:
        command += f" --gateway-processes {args.gateway_processes}"
    if args.name != "fleet":
        command += f" --name {args.name}"
    print(f"written: {write_result(args.name, figures, command)} (service logs in {figures['logs']})")


if __name__ == "__main__":
    if "--bare-server" in sys.argv:
        serve_bare(int(sys.argv[sys.argv.index("--bare-server") + 1]))
    elif "--gateway-worker" in sys.argv:
        at = sys.argv.index("--gateway-worker")
        serve_gateways(sys.argv[at + 1], sys.argv[at + 2])
    else:
        main()
