"""The first five minutes, in a real browser against the real platform on a fresh database.

`make run`'s seeding (scripts/demo_seed.py, through the public APIs) and the gateway simulator as `make run`
starts it (a real process, `python -m gateway_simulator run`) leave Demo GmbH's rental view burning with its
gateways online and the bundle current. Then a second customer goes from an empty account to a rented phone that
a simulated gateway lets run by clicks only: the partner, the operator and the customer click through the web
app; the only other actor is the simulator doing what hardware does (`init` prints the identity that is pasted,
`run` keeps the session, `enrol` types the provisioning code the page shows); the test calls no API itself.
Screenshots of every step: artifacts/web/demo-*.png.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts import demo_seed
from tests.e2e_web import browser
from tests.e2e_web.browser import ARTIFACTS, ROOT, browser_stack
from tests.harness import TestPlatform, eventually, fresh_platform
from tests.integration.web_bff.web_stack import WebStack

STORY = Path(__file__).with_name("demo_story.mjs")
NEW_PHONE_PRODUCT = "PHONE-NEW-1"
pytestmark = pytest.mark.timeout(420)


@pytest.fixture(scope="module")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    """A fresh database of this module's own, as `make run` on a new machine has."""
    async with fresh_platform(*infrastructure, tmp_path_factory.mktemp("demo-web-dev")) as fresh:
        yield fresh


@pytest.fixture(scope="module")
async def stack(platform: TestPlatform) -> AsyncIterator[WebStack]:
    async with browser_stack(platform, stale_failures="FAILED-demo-*.png") as web:
        yield web


def simulator(state_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "gateway_simulator", "--state-dir", str(state_dir), *args]


async def output_of(command: list[str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


@contextlib.asynccontextmanager
async def running_simulator(stack: WebStack, state_dir: Path, log: Path) -> AsyncIterator[None]:
    """`python -m gateway_simulator run`, as `make run` starts it, for as long as the block runs."""
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *simulator(state_dir, "run", "--distributor", stack.service_urls["licensing"], "--gateways", "0"),
            "--report-every",
            "2",
            cwd=ROOT,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            yield
        finally:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def phones_running(state_dir: Path) -> set[str]:
    """What `status` says the gateways' stored bundles let run now (verified with the keys `run` kept)."""
    lines = (await output_of(simulator(state_dir, "status"))).splitlines()
    return {phone for line in lines for phone in json.loads(line)["phones_running"]}


async def play(stack: WebStack, scenario: str, **extra: str) -> str:
    return await browser.play(stack, STORY, scenario, within=300, **extra)


@dataclass
class Demo:
    tenants: list[demo_seed.SeededTenant]
    state_dir: Path


@pytest.fixture(scope="module")
async def demo(
    stack: WebStack, platform: TestPlatform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Demo]:
    """What `make run` does: the demo's gateway identities, the simulator running them, the seeding."""
    state_dir = tmp_path_factory.mktemp("demo-gateways")
    demo_seed.prepare_gateways(state_dir)
    async with running_simulator(stack, state_dir, ARTIFACTS / "demo-simulator.log"):
        tenants = await demo_seed.seed(
            stack.service_urls, dev_dir=platform.dev_dir, issuer=stack.issuer, state_dir=state_dir
        )
        yield Demo(tenants=tenants, state_dir=state_dir)


async def test_the_seeded_demo_customer_s_rental_view_burns_with_gateways_online_and_the_bundle_current(
    stack: WebStack, demo: Demo
) -> None:
    demo_gmbh = demo.tenants[0]

    output = await play(
        stack,
        "demo_tenant_burning",
        DEMO_NAMES=",".join(t.plan.name for t in demo.tenants),
        DEMO_GATEWAYS=",".join(demo_gmbh.gateways),
    )

    for step in (
        "the sign-in picker offers the demo customers by name",
        "Demo GmbH's rental view burns",
        "its gateways are online and hold the current licence bundle",
        "the near-run-out account shows its warning",
    ):
        assert f"STEP ok {step}" in output
    # The simulated gateways enforce it: exactly the two rented phones may run (`status`, from their state).
    rented = set(demo_gmbh.rented) | set(demo.tenants[1].rented)
    await eventually(lambda: phones_running(demo.state_dir), until=lambda running: running == rented, within=30)
    for screen in ("01-sign-in-picker", "02-demo-gmbh-burning", "03-demo-gmbh-licences", "04-kurz-knapp-near-run-out"):
        assert (ARTIFACTS / f"demo-{screen}.png").is_file()


# Beside the seeded demo tenant, as on a platform `make run` started: the new customer must not disturb it.
@pytest.mark.usefixtures("demo")
async def test_a_second_customer_goes_from_an_empty_account_to_a_rented_phone_by_clicks_only(
    stack: WebStack, tmp_path: Path
) -> None:
    new_site = tmp_path / "new-site"
    new_site.mkdir()
    async with running_simulator(stack, new_site, ARTIFACTS / "demo-new-site-simulator.log"):
        # Started before the gateway exists: `run` picks up what `init` creates, and connects once registered.
        init = await output_of(
            simulator(new_site, "init", "--gateways", "1", "--phones", "1", "--phone-product", NEW_PHONE_PRODUCT)
        )
        identity = json.loads(init.splitlines()[0])
        suffix = uuid.uuid4().hex[:6]

        output = await play(
            stack,
            "new_customer_by_clicks",
            CUSTOMER_NAME=f"Neu {suffix} AG",
            DOMAIN_NAME=f"pbx.neu-{suffix}.example",
            GATEWAY_INIT_OUTPUT=init,
            GATEWAY_HWID=identity["hwid"],
            PHONE_HWID=identity["phones"][0],
            PHONE_PRODUCT=NEW_PHONE_PRODUCT,
            SIMULATOR_PYTHON=sys.executable,
            NEW_STATE_DIR=str(new_site),
            PROVISIONING_URL=stack.service_urls["provisioning"],
        )

        # The simulated gateway lets the rented phone run.
        await eventually(
            lambda: phones_running(new_site), until=lambda running: running == {identity["phones"][0]}, within=30
        )
    for step in (
        "partner opens the account and its contract",
        "partner sells a key",
        "partner sees the new customer among its customers",
        "the new customer's empty account shows the first step instead of empty tables",
        "operator sets the new phone model's tariff",
        "operator approves the contract from the list",
        "customer registers the gateway by pasting the simulator's init output as it is",
        "the running simulator picks the gateway up: it shows online, with no restart",
        "customer creates a provisioning code, copies it, and sees its expiry",
        "the phone appears as it enrols",
        "customer rents the phone",
        "the gateway holds the new bundle with the rented phone",
    ):
        assert f"STEP ok {step}" in output
    assert len(list(ARTIFACTS.glob("demo-1*.png"))) + len(list(ARTIFACTS.glob("demo-2*.png"))) >= 14
