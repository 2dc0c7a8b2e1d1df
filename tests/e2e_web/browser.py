"""What the browser tests share: the built SPA, Chromium, the web stack they run against, and playing a story.

A story is a node script (`browser_story.mjs`, `demo_story.mjs`, both built on `common.mjs`) that drives
Chromium with playwright-core through one scenario and saves screenshots under artifacts/web/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from tests.harness import TestPlatform
from tests.integration.web_bff.web_stack import WebStack, running_web_stack

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
    platform: TestPlatform, *, stale_failures: str, overrides: Mapping[str, Mapping[str, object]] | None = None
) -> AsyncIterator[WebStack]:
    """The four services (settings `overrides` by name), the provider and the BFF serving the built SPA, once the
    browser's prerequisites are there; screenshots of failures from an earlier run (`stale_failures`, a glob in
    ARTIFACTS) removed first."""
    missing = missing_prerequisites()
    # A browser test that quietly skips would pass on a machine that never ran it: fail and say why.
    assert not missing, "browser tests need: " + "; ".join(missing)
    # A fresh checkout has no artifacts/web/ yet; fixtures write logs there before the first screenshot does.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Screenshots of failures from an earlier run would mislead whoever looks at artifacts/web/.
    for stale in ARTIFACTS.glob(stale_failures):
        stale.unlink()
    async with running_web_stack(platform, services=SERVICES, spa_dist=SPA_DIR / "dist", overrides=overrides) as web:
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
