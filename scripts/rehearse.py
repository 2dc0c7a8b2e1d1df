"""`python -m scripts.rehearse`: seven weeks of a rental on a test clock, in about a minute (issue 18).

Against the running platform (`make run`), through the public HTTP APIs only, as a vendor would rehearse what its
customers will live through:

- a test clock at the next midnight, and an account opened on it with the deployment's warning ladder (weekly from
  7 weeks, then 3 days and 1 day) and Auto-iSC off, an approved contract and a domain;
- a simulated gateway (a sandbox one: it follows the clock) registered there, its phone enrolled and rented at
  24 iSC a day on enough credit for 45 days;
- the clock advanced day by day (a progress bar shows how far), printing each warning as the gateway raises it,
  the reboot at the run-out, and, after a top-up, the restoration: the phone running again.

Every wait is on a condition (the clock's `ready`, the gateway's state), never on time.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gateway_simulator.fleet import enrol_phones, register_gateways
from gateway_simulator.gateway import JwksCache, SimulatedGateway
from gateway_simulator.identity import GatewayState, MemoryStore
from scripts.demo_seed import DEFAULT_URLS, Api, SeedError, wait_until_ready
from shared.config import DEV_DIR, DEV_ISSUER
from shared.dev_issuer import load_or_create_key
from shared.logging import configure_logging
from tests.harness import eventually

PRODUCT = "PHONE-REHEARSAL"
RATE_PER_DAY_ISC = 24
CREDIT_DAYS = 45
DAYS = 49
TOP_UP_ISC = 240
T = TypeVar("T")


class RehearsalError(RuntimeError):
    pass


@dataclass
class Rehearsal:
    """What the run saw: each line it printed, and the instants on the clock that matter."""

    clock_id: str = ""
    account_id: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    warnings: list[tuple[datetime, int]] = field(default_factory=list)  # (raised on the clock, time left in s)
    rebooted_at: datetime | None = None
    restored_at: datetime | None = None
    depletes_at: datetime | None = None
    lines: list[str] = field(default_factory=list)


def next_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


async def until(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool], *, what: str, within_s: float = 30) -> T:
    """Poll `probe` until `ok` (the project's `eventually`), or fail after `within_s` saying what was awaited."""
    try:
        return await eventually(probe, until=ok, within=within_s, every=0.05, what=what)
    except AssertionError as late:
        raise RehearsalError(str(late)) from late


async def _tenant_on_a_clock(api: Api, *, start: datetime) -> tuple[str, str, str, str]:
    """The clock, and an account on it with an approved contract and a linked domain."""
    await api.call(
        "PUT",
        "contracts",
        f"/tariffs/{PRODUCT}",
        body={"rate_per_day": str(RATE_PER_DAY_ISC), "licences": [{"type": "PORT", "count": 1}]},
    )
    tag = uuid.uuid4().hex[:6]
    clock = await api.call(
        "POST",
        "wallet",
        "/test-clocks",
        role="partner",
        body={"name": f"Rehearsal {tag}", "frozen_time": start.isoformat()},
        idempotency_key=uuid.uuid4().hex,
    )
    clock_id = str(clock.json()["id"])
    account = await api.call(
        "POST", "wallet", "/accounts", role="partner", body={"name": f"Rehearsal {tag}", "test_clock_id": clock_id}
    )
    account_id = str(account.json()["id"])
    domain = await api.call(
        "POST", "provisioning", "/domains", role="partner", body={"account_id": account_id, "name": f"rehearsal-{tag}"}
    )
    domain_id = str(domain.json()["id"])
    contract = await api.call("POST", "contracts", "/contracts", role="partner", body={"account_id": account_id})
    contract_id = str(contract.json()["id"])
    await api.call(
        "POST",
        "contracts",
        f"/contracts/{contract_id}/domains",
        role="customer",
        account_id=account_id,
        body={"domain_id": domain_id},
    )
    await api.call("POST", "contracts", f"/contracts/{contract_id}/acceptance", role="customer", account_id=account_id)
    await api.call("POST", "contracts", f"/contracts/{contract_id}/approval")
    return clock_id, account_id, domain_id, contract_id


async def _rent_the_phone(
    api: Api, gateway: GatewayState, *, account_id: str, domain_id: str, contract_id: str
) -> None:
    code = await api.call(
        "POST",
        "provisioning",
        f"/domains/{domain_id}/provisioning-codes",
        role="customer",
        account_id=account_id,
        body={},
    )
    [device] = await enrol_phones(
        gateway.phones, code=code.json()["code"], provisioning_url=api.urls["provisioning"], client=api.client
    )
    await api.call(
        "POST",
        "contracts",
        f"/contracts/{contract_id}/rentals",
        role="customer",
        account_id=account_id,
        body={"device_id": str(device["device_id"])},
        idempotency_key=uuid.uuid4().hex,
    )


async def _advance(api: Api, clock_id: str, *, to: datetime) -> None:
    """One advance, waited for on the clock's status."""
    await api.call(
        "POST",
        "wallet",
        f"/test-clocks/{clock_id}/advance",
        role="partner",
        body={"to": to.isoformat()},
        ok=(202,),
        idempotency_key=uuid.uuid4().hex,
    )

    async def read() -> dict[str, object]:
        clock: dict[str, object] = (await api.call("GET", "wallet", f"/test-clocks/{clock_id}", role="partner")).json()
        return clock

    await until(read, lambda c: c["status"] == "ready", what=f"the clock to reach {to.isoformat()}")


def _time_left(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    count, unit = (days, "day") if days >= 1 else (rest // 3600, "hour")
    return f"{count} {unit}{'' if count == 1 else 's'}"


async def rehearse(
    api: Api, *, console: Console, distributor_url: str, start: datetime | None = None, days: int = DAYS
) -> Rehearsal:
    """The whole rehearsal against the platform `api` talks to; the gateway connects to `distributor_url`."""
    seen = Rehearsal()

    def say(line: str) -> None:
        seen.lines.append(line)
        console.print(line)

    start = start or next_midnight(datetime.now(UTC))
    seen.clock_id, seen.account_id, domain_id, contract_id = await _tenant_on_a_clock(api, start=start)
    say(f"Test clock {seen.clock_id} at {start:%Y-%m-%d %H:%M} UTC; account {seen.account_id} on it.")
    state = GatewayState.generate(phones=1, phone_product=PRODUCT)
    await register_gateways(
        [state],
        provisioning_url=api.urls["provisioning"],
        domain_id=domain_id,
        token=api.token("partner"),
        client=api.client,
    )
    async with AsyncExitStack() as stack:
        gateway = SimulatedGateway(
            state=state,
            store=MemoryStore(),
            distributor_url=distributor_url,
            jwks=JwksCache(url=f"{distributor_url}/.well-known/jwks.json", client=api.client),
            follow_test_clock=True,
            backoff_base_s=0.05,
            backoff_cap_s=0.5,
        )
        running = asyncio.create_task(gateway.run())
        stack.callback(gateway.shut_down)
        stack.push_async_callback(_stopped, running)
        await until(lambda: _ready(gateway.connected), bool, what="the gateway's session")
        await api.load_credits(seen.account_id, str(RATE_PER_DAY_ISC * CREDIT_DAYS))
        await _rent_the_phone(api, state, account_id=seen.account_id, domain_id=domain_id, contract_id=contract_id)
        phone = state.phones[0].hwid
        await until(lambda: _ready(gateway.phones_running()), lambda p: p == [phone], what="the phone to run")
        account = (
            await api.call("GET", "wallet", f"/accounts/{seen.account_id}", role="customer", account_id=seen.account_id)
        ).json()
        seen.depletes_at = datetime.fromisoformat(account["depletes_at"])
        say(
            f"Phone {phone} rented at {RATE_PER_DAY_ISC} iSC a day on {Decimal(account['balance']):,.0f} iSC:"
            f" runs out {seen.depletes_at:%Y-%m-%d %H:%M}."
        )
        await _day_by_day(api, gateway, seen, start=start, days=days, say=say, console=console)
        if seen.rebooted_at is None:
            say(f"The credit lasts past the {days} days rehearsed: no run-out, nothing to top up.")
        else:
            await running_after_top_up(api, gateway, seen, say=say)
    return seen


async def _day_by_day(
    api: Api,
    gateway: SimulatedGateway,
    seen: Rehearsal,
    *,
    start: datetime,
    days: int,
    say: Callable[[str], None],
    console: Console,
) -> None:
    columns = (TextColumn("[bold]Day"), MofNCompleteColumn(), BarColumn(), TextColumn("{task.description}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("", total=days)
        for day in range(1, days + 1):
            to = start + timedelta(days=day)
            await _advance(api, seen.clock_id, to=to)
            # The gateway is told the clock's time after the step's bundles: wait until it runs on it.
            await until(
                lambda: _ready(gateway.test_clock_time),
                lambda t, to=to: t is not None and t >= to,  # type: ignore[misc]
                what="the gateway on the clock's time",
            )
            for warning in gateway.stats.warnings[len(seen.warnings) :]:
                seen.warnings.append((warning.raised_at, warning.time_left_s))
                say(f"  {warning.raised_at:%Y-%m-%d %H:%M}  the phone warns: {_time_left(warning.time_left_s)} left")
            if seen.rebooted_at is None and gateway.stats.reboot_reasons:
                run = gateway.stats.runs[-1]
                seen.rebooted_at = run.end
                say(f"  {run.end:%Y-%m-%d %H:%M:%S}  run-out: the gateway reboots, the phone stops")
            progress.update(task, advance=1, description=f"{to:%Y-%m-%d}")


async def running_after_top_up(
    api: Api, gateway: SimulatedGateway, seen: Rehearsal, *, say: Callable[[str], None]
) -> None:
    await api.load_credits(seen.account_id, str(TOP_UP_ISC))
    phone = gateway.state.phones[0].hwid
    await until(lambda: _ready(gateway.phones_running()), lambda p: p == [phone], what="the phone to run again")
    seen.restored_at = gateway.test_clock_time
    say(f"  {seen.restored_at:%Y-%m-%d %H:%M}  topped up with {TOP_UP_ISC} iSC: the phone runs again")


async def _ready(value: T) -> T:
    return value


async def _stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _main(args: argparse.Namespace) -> None:
    # The simulated gateway's own log lines would interleave with the story (its first connect, refused until the
    # distributor hears of its registration, among them): only errors show.
    configure_logging(service="rehearse", level="ERROR", json=False)
    urls = {name: getattr(args, name) for name in DEFAULT_URLS}
    console = Console()
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=20) as client:
        await wait_until_ready(client, urls)
        api = Api(client, urls, load_or_create_key(args.dev_dir), args.issuer)
        await rehearse(api, console=console, distributor_url=urls["licensing"], days=args.days)
    console.print(f"Rehearsed {args.days} days in {time.monotonic() - started:.1f} s.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, url in DEFAULT_URLS.items():
        parser.add_argument(f"--{name}", default=url, help=f"{name} service URL")
    parser.add_argument("--dev-dir", type=Path, default=DEV_DIR, help="the development issuer's key directory")
    parser.add_argument("--issuer", default=DEV_ISSUER)
    parser.add_argument("--days", type=int, default=DAYS, help="days to advance, one at a time")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    try:
        asyncio.run(_main(args))
    except (RehearsalError, SeedError) as failed:
        raise SystemExit(f"rehearsal failed: {failed}") from failed


if __name__ == "__main__":
    main()
