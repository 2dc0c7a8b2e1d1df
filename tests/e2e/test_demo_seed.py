"""`make run`'s demo tenant (scripts/demo_seed.py) against the four real services on a fresh database.

The seeding goes through the public HTTP APIs only; a second seeding finds everything there and changes no
row in any service's schema; with DEMO=0 nothing is seeded at all. The browser test
(tests/e2e_web/test_demo_onboarding.py) shows the seeded tenant burning with its gateways online.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from scripts import demo_seed
from tests.harness import TestPlatform, admin_fetch, eventually, fresh_platform
from tests.integration.web_bff.web_stack import WebStack, running_web_stack

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ("wallet", "contracts", "provisioning", "licensing")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
async def platform(
    infrastructure: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TestPlatform]:
    """A database of this module's own: the demo is seeded from a fresh database, whatever else ran before."""
    async with fresh_platform(*infrastructure, tmp_path_factory.mktemp("demo-dev")) as fresh:
        yield fresh


@pytest.fixture(scope="module")
async def stack(platform: TestPlatform) -> AsyncIterator[WebStack]:
    async with running_web_stack(platform, services=SCHEMAS) as web:
        yield web


async def row_counts(platform: TestPlatform) -> dict[str, int]:
    """Rows of every table of the four services' schemas (outboxes and inboxes too: no event, no row)."""
    tables = await admin_fetch(
        platform,
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema = ANY($1::text[]) AND table_type = 'BASE TABLE'",
        list(SCHEMAS),
    )
    counts = {}
    for table in tables:
        name = f'"{table["table_schema"]}"."{table["table_name"]}"'
        (row,) = await admin_fetch(platform, f"SELECT count(*) AS n FROM {name}")
        counts[name] = int(row["n"])
    return counts


async def settled_counts(platform: TestPlatform) -> dict[str, int]:
    """Row counts once the events in flight have landed: every outbox row published, the near-run-out account's
    low-balance warning emitted (the wallet's scheduler does that after the seeding), two reads alike."""
    last: dict[str, int] = {}

    async def probe() -> bool:
        nonlocal last
        unsent = 0
        for schema in SCHEMAS:
            rows = await admin_fetch(
                platform, f'SELECT count(*) AS n FROM "{schema}".outbox_message WHERE sent_at IS NULL'
            )
            unsent += int(rows[0]["n"])
        warned = await admin_fetch(
            platform, "SELECT count(*) AS n FROM wallet.outbox_message WHERE event_type = 'BalanceLow'"
        )
        counts = await row_counts(platform)
        alike, last = counts == last, counts
        return unsent == 0 and int(warned[0]["n"]) > 0 and alike

    await eventually(probe, within=60, every=0.5)
    return last


async def run(
    command: list[str], *, extra: list[str] | None = None, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """A command's exit code and output (stdout; stderr too on failure), without blocking the services here."""
    process = await asyncio.create_subprocess_exec(
        *command,
        *(extra or []),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await asyncio.wait_for(process.communicate(), timeout=60)
    code = process.returncode or 0
    return code, output.decode() + (errors.decode() if code else "")


async def seed(stack: WebStack, platform: TestPlatform, state_dir: Path) -> list[demo_seed.SeededTenant]:
    return await demo_seed.seed(stack.service_urls, dev_dir=platform.dev_dir, issuer=stack.issuer, state_dir=state_dir)


async def test_demo_0_seeds_nothing_through_the_entry_point_and_make_passes_it_on(
    stack: WebStack, platform: TestPlatform, tmp_path: Path
) -> None:
    before = await row_counts(platform)
    args = [f"--{name}={url}" for name, url in stack.service_urls.items()]
    args += [f"--dev-dir={tmp_path}", f"--issuer={stack.issuer}", f"--state-dir={tmp_path / 'gateways'}"]
    code, output = await run([sys.executable, "-m", "scripts.demo_seed", *args], env={"RENTAL_DEMO": "0"})
    assert code == 0, output
    assert "no demo tenant seeded" in output
    assert await row_counts(platform) == before
    assert not (tmp_path / demo_seed.DEMO_ACCOUNTS_FILE).exists()
    assert not (tmp_path / "gateways").exists()
    # `make run DEMO=0` hands the choice to run_local, which seeds only when demo_enabled() says so.
    code, dry_run = await run(["make", "-n", "run", "DEMO=0"])
    assert code == 0, dry_run
    assert "RENTAL_DEMO=0 " in dry_run
    assert "scripts.run_local" in dry_run
    assert not demo_seed.demo_enabled({"RENTAL_DEMO": "0"})
    assert demo_seed.demo_enabled({})


async def test_the_demo_tenant_is_seeded_through_the_apis_and_seeding_twice_changes_nothing(
    stack: WebStack, platform: TestPlatform, tmp_path: Path
) -> None:
    state_dir = tmp_path / "gateways"
    first = await seed(stack, platform, state_dir)

    demo, near = first
    assert demo.plan.name == "Demo GmbH"
    assert (len(demo.gateways), len(demo.phones), len(demo.rented)) == (3, 4, 2)
    assert (len(near.gateways), len(near.rented)) == (1, 1)
    assert not set(demo.gateways) & set(near.gateways)
    rented_models = {h["product"] for h in await _hardware(stack, platform, demo) if h["rental_id"]}
    assert len(rented_models) == 2, rented_models  # two phone models burn
    picker = json.loads((platform.dev_dir / demo_seed.DEMO_ACCOUNTS_FILE).read_text())
    assert [a["name"] for a in picker] == ["Demo GmbH", "Kurz & Knapp KG"]
    after_first = await settled_counts(platform)

    second = await seed(stack, platform, state_dir)

    assert [t.created for t in second] == [[], []]
    assert [(t.account_id, t.contract_id, t.domain_id, t.gateways, sorted(t.rented)) for t in second] == [
        (t.account_id, t.contract_id, t.domain_id, t.gateways, sorted(t.rented)) for t in first
    ]
    assert await settled_counts(platform) == after_first
    assert "nothing changed" in demo_seed.summary(second)


async def _hardware(stack: WebStack, platform: TestPlatform, tenant: demo_seed.SeededTenant) -> list[dict[str, object]]:
    import httpx

    from tests.integration.web_bff.web_stack import bearer

    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(
            f"{stack.service_urls['contracts']}/v1/contracts/{tenant.contract_id}/hardware",
            headers=bearer(platform, stack, role="operator"),
        )
    response.raise_for_status()
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_the_simulator_registers_with_a_domain_named_as_created_in_the_web_app(
    stack: WebStack, platform: TestPlatform, tmp_path: Path
) -> None:
    import httpx

    from shared.dev_issuer import issue_token, load_or_create_key
    from tests.integration.web_bff.web_stack import bearer

    async with httpx.AsyncClient(timeout=10) as client:
        opened = await client.post(
            f"{stack.service_urls['wallet']}/v1/accounts",
            json={"name": "Register By Name AG"},
            headers=bearer(platform, stack, role="partner"),
        )
        account_id = opened.json()["id"]
        customer = bearer(platform, stack, role="customer", account_id=uuid.UUID(account_id))
        # As the web app's "Create domain" does, as the account's customer.
        created = await eventually(
            lambda: client.post(
                f"{stack.service_urls['provisioning']}/v1/domains",
                json={"account_id": account_id, "name": "pbx.by-name.example"},
                headers=customer,
            ),
            until=lambda r: r.status_code != 409,
            within=30,
        )
    assert created.status_code == 201, created.text
    state_dir = tmp_path / "gateways"
    code, added = await run(simulator(state_dir, "init", "--add", "1"))
    assert code == 0, added
    token = issue_token(
        load_or_create_key(platform.dev_dir), roles=["customer"], account_id=account_id, issuer=stack.issuer
    )

    code, output = await run(
        simulator(state_dir, "register", "--provisioning", stack.service_urls["provisioning"]),
        extra=["--domain", "pbx.by-name.example"],
        env={"RENTAL_TOKEN": token},
    )

    assert code == 0, output
    registered = json.loads(output.splitlines()[-1])
    assert registered == {"domain_id": created.json()["id"], "registered": [json.loads(added)["hwid"]]}


def simulator(state_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "gateway_simulator", "--state-dir", str(state_dir), *args]
