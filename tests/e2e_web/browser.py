"""What the browser tests share: the built SPA, Chromium, the web stack they run against, and playing a story.

A story is a node script (`browser_story.mjs`, `demo_story.mjs`, both built on `common.mjs`) that drives
Chromium with playwright-core through one scenario and saves screenshots under artifacts/web/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.harness import TestPlatform, eventually
from tests.integration.web_bff.web_stack import WebStack, bearer, running_web_stack

ROOT = Path(__file__).resolve().parents[2]
SPA_DIR = ROOT / "web" / "spa"
ARTIFACTS = ROOT / "artifacts" / "web"
CHROMIUM = os.environ.get("RENTAL_TEST_CHROMIUM", "/usr/bin/chromium")
SERVICES = ("wallet", "contracts", "provisioning", "licensing")


def missing_prerequisites() -> list[str]:
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


@asynccontextmanager
async def browser_stack(
    platform: TestPlatform,
    *,
    stale_failures: str,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
    bff_overrides: Mapping[str, object] | None = None,
) -> AsyncIterator[WebStack]:
    """The four services (settings `overrides` by name), the provider and the BFF serving the built SPA (settings
    `bff_overrides`), once the browser's prerequisites are there; screenshots of failures from an earlier run
    (`stale_failures`, a glob in ARTIFACTS) removed first."""
    missing = missing_prerequisites()
    # A browser test that quietly skips would pass on a machine that never ran it: fail and say why.
    assert not missing, "browser tests need: " + "; ".join(missing)
    # A fresh checkout has no artifacts/web/ yet; fixtures write logs there before the first screenshot does.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Screenshots of failures from an earlier run would mislead whoever looks at artifacts/web/.
    for stale in ARTIFACTS.glob(stale_failures):
        stale.unlink()
    async with running_web_stack(
        platform, services=SERVICES, spa_dist=SPA_DIR / "dist", overrides=overrides, bff_overrides=bff_overrides
    ) as web:
        yield web


async def play(stack: WebStack, story: Path, scenario: str, *, within: float, **extra: str) -> str:
    """Run one scenario of `story` in Chromium (settings and `extra` in its environment); its output, after
    asserting it passed within `within` seconds."""
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
        str(story),
        scenario,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output_bytes, _ = await asyncio.wait_for(node.communicate(), timeout=within)
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()
    output = output_bytes.decode(errors="replace")
    assert node.returncode == 0, output
    assert f"SCENARIO passed {scenario}" in output, output
    return output


async def renting_a_phone(
    stack: WebStack, platform: TestPlatform, account_id: uuid.UUID, *, amount: str, product: str
) -> None:
    """Through the services' APIs: `amount` iSC loaded, a contract accepted and approved, and a phone of `product`
    enrolled in a linked domain and rented at 1 iSC a day, so the balance burns (what a story starts from)."""
    partner, operator = bearer(platform, stack, role="partner"), bearer(platform, stack, role="operator")
    customer = bearer(platform, stack, role="customer", account_id=account_id)
    urls = stack.service_urls
    async with httpx.AsyncClient(timeout=20) as http:

        async def created(service: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
            # A service learns of another's object by event: 409 (not_yet_known, no_credit) until it has.
            async def attempt() -> httpx.Response:
                return await http.post(f"{urls[service]}/v1{path}", json=body, headers=headers)

            response = await eventually(attempt, until=lambda r: r.status_code != 409, within=30, every=0.2)
            assert response.status_code == 201, response.text
            answer: dict[str, Any] = response.json()
            return answer

        batch = await created(
            "wallet",
            "/activation-keys",
            {"amount": amount, "count": 1},
            {**partner, "Idempotency-Key": uuid.uuid4().hex},
        )
        redemption = {"code": batch["keys"][0]["code"]}
        await created(
            "wallet",
            f"/accounts/{account_id}/redemptions",
            redemption,
            {**customer, "Idempotency-Key": uuid.uuid4().hex},
        )
        contract = await created("contracts", "/contracts", {"account_id": str(account_id)}, partner)
        accepted = await http.post(f"{urls['contracts']}/v1/contracts/{contract['id']}/acceptance", headers=customer)
        assert accepted.status_code == 200, accepted.text
        approved = await http.post(f"{urls['contracts']}/v1/contracts/{contract['id']}/approval", headers=operator)
        assert approved.status_code == 200, approved.text
        tariff = await http.put(
            f"{urls['contracts']}/v1/tariffs/{product}",
            json={"rate_per_day": "1", "licences": [{"type": "PORT", "count": 1}]},
            headers=operator,
        )
        assert tariff.status_code == 200, tariff.text
        domain = await created(
            "provisioning", "/domains", {"account_id": str(account_id), "name": f"pbx-{account_id.hex[:6]}"}, partner
        )
        await created("contracts", f"/contracts/{contract['id']}/domains", {"domain_id": domain["id"]}, partner)
        provisioning = await created("provisioning", f"/domains/{domain['id']}/provisioning-codes", {}, partner)
        enrolled = await http.post(
            f"{urls['provisioning']}/v1/provisioning",
            json={"code": provisioning["code"], "hwid": uuid.uuid4().hex[:12], "product": product, "type": "PHONE"},
        )
        assert enrolled.status_code == 201, enrolled.text
        await created(
            "contracts",
            f"/contracts/{contract['id']}/rentals",
            {"device_id": enrolled.json()["id"]},
            {**partner, "Idempotency-Key": uuid.uuid4().hex},
        )
