"""The web app in a real browser (Debian's Chromium, driven by playwright-core) against the real platform.

The four services, the development OpenID provider and the BFF serving the built SPA run as real HTTP
servers on free ports; `browser_story.mjs` plays one scenario per test and saves screenshots of every main
screen under artifacts/web/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness import TestPlatform
from tests.integration.web_bff.web_stack import WebStack, bearer, running_web_stack

ROOT = Path(__file__).resolve().parents[2]
SPA_DIR = ROOT / "web" / "spa"
STORY = Path(__file__).with_name("browser_story.mjs")
ARTIFACTS = ROOT / "artifacts" / "web"
CHROMIUM = os.environ.get("RENTAL_TEST_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.timeout(300)


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    name: str


def _missing_prerequisites() -> list[str]:
    missing = []
    if not (SPA_DIR / "dist" / "index.html").is_file():
        missing.append("the SPA is not built (make web)")
    if not (SPA_DIR / "node_modules" / "playwright-core").is_dir():
        missing.append("web/spa/node_modules lacks playwright-core (make web)")
    if shutil.which("node") is None:
        missing.append("node is not installed")
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} is missing (make chromium)")
    return missing


@pytest.fixture(scope="module")
async def stack(platform: TestPlatform) -> AsyncIterator[WebStack]:
    missing = _missing_prerequisites()
    # A browser test that quietly skips would pass on a machine that never ran it: fail and say why.
    assert not missing, "browser tests need: " + "; ".join(missing)
    services = ("wallet", "contracts", "provisioning", "licensing")
    async with running_web_stack(platform, services=services, spa_dist=SPA_DIR / "dist") as web:
        yield web


async def open_account(stack: WebStack, platform: TestPlatform, name: str) -> Account:
    async with httpx.AsyncClient(timeout=20) as client:
        response = await client.post(
            f"{stack.service_urls['wallet']}/v1/accounts",
            json={"name": name},
            headers=bearer(platform, stack, role="partner"),
        )
    assert response.status_code == 201, response.text
    return Account(id=uuid.UUID(response.json()["id"]), name=name)


async def play(stack: WebStack, scenario: str, **extra: str) -> str:
    """Run one scenario of the story in Chromium; its output, after asserting it passed."""
    env = {
        **os.environ,
        "BFF_URL": stack.bff_url,
        "SPA_DIR": str(SPA_DIR),
        "ARTIFACTS": str(ARTIFACTS),
        "CHROMIUM": CHROMIUM,
        **extra,
    }
    node = await asyncio.create_subprocess_exec(
        "node",
        str(STORY),
        scenario,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output_bytes, _ = await asyncio.wait_for(node.communicate(), timeout=240)
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()
    output = output_bytes.decode(errors="replace")
    assert node.returncode == 0, output
    assert f"SCENARIO passed {scenario}" in output, output
    return output


async def test_a_partner_signs_in_opens_an_account_and_issues_keys_shown_once(stack: WebStack) -> None:
    output = await play(stack, "partner_issues_keys")

    assert "STEP ok partner opens a customer account" in output
    assert "STEP ok partner issues a key batch whose codes are shown once" in output
    assert (ARTIFACTS / "partner-keys-issued.png").is_file()


async def test_a_customer_signs_in_and_sees_their_own_account_at_phone_width(
    stack: WebStack, platform: TestPlatform
) -> None:
    own = await open_account(stack, platform, f"Phone Width {uuid.uuid4().hex[:6]} AG")

    output = await play(stack, "customer_sees_own_account", OWN_ACCOUNT_ID=str(own.id), OWN_ACCOUNT_NAME=own.name)

    assert "STEP ok the page fits a phone's width" in output
    assert "STEP ok the session cookie cannot be read by scripts" in output
    assert (ARTIFACTS / "customer-rental-overview-phone.png").is_file()


async def test_a_customer_cannot_reach_another_accounts_screens_or_data(
    stack: WebStack, platform: TestPlatform
) -> None:
    own = await open_account(stack, platform, f"Own {uuid.uuid4().hex[:6]} Ltd")
    other = await open_account(stack, platform, f"Other {uuid.uuid4().hex[:6]} Ltd")

    output = await play(
        stack,
        "customer_cannot_reach_another_account",
        OWN_ACCOUNT_ID=str(own.id),
        OWN_ACCOUNT_NAME=own.name,
        OTHER_ACCOUNT_ID=str(other.id),
        OTHER_ACCOUNT_NAME=other.name,
    )

    assert "STEP ok another account's data answers 404 through the app's own API" in output
