"""Schemathesis against each running service, with a real operator token and a seeded tenant's real ids.

All of schemathesis's default checks are on: no 5xx, status codes, content types and bodies matching the
OpenAPI document, bad input refused, good input accepted. `make test` runs a few examples per operation;
`RENTAL_FUZZ_MAX_EXAMPLES=200 uv run pytest tests/security/test_api_fuzzing.py` (docs/reliability.md) runs
the long form. The path ids are pinned to the seeded tenant so the fuzzer reaches past the 404s into the
handlers; a tenant of its own, since the fuzzer may terminate its contract or remove its devices.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.security.conftest import PRODUCT, SERVICES, SeededPlatform

MAX_EXAMPLES = int(os.environ.get("RENTAL_FUZZ_MAX_EXAMPLES", "5"))
SEED = int(os.environ.get("RENTAL_FUZZ_SEED", "20261128"))
# Known documentation gaps, recorded one by one (docs/reliability.md lists them as findings). A failure of
# any other kind fails the test; a new gap of an accepted kind is printed. `RENTAL_FUZZ_UPDATE_BASELINE=1`
# merges what a run found into the committed baseline, for review.
BASELINES = Path(__file__).parent / "fuzz_baseline"
UPDATE_BASELINE = os.environ.get("RENTAL_FUZZ_UPDATE_BASELINE") == "1"
# Only gaps between the document and the answers may be accepted; a 5xx, a body outside its schema or bad
# input let through never is.
ACCEPTABLE_CHECKS = {
    "status_code_conformance",
    "content_type_conformance",
    "allow_header_conformance",
    "positive_data_acceptance",
}


def toml_value(value: str | int) -> str:
    return json.dumps(value)  # a JSON string or integer is a valid TOML one


def config_text(*, base_url: str, token: str, parameters: dict[str, str], baseline: Path) -> str:
    lines = [
        f"baseline = {toml_value(str(baseline))}",
        f"base-url = {toml_value(base_url)}",
        f"seed = {SEED}",
        "workers = 1",
        "request-timeout = 20",
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        "database = 'none'",
        "[headers]",
        f"Authorization = {toml_value('Bearer ' + token)}",
        "[parameters]",
    ]
    lines += [f"{toml_value(name)} = {toml_value(value)}" for name, value in sorted(parameters.items())]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("service", list(SERVICES))
async def test_the_fuzzer_finds_no_server_error_and_no_answer_outside_the_schema(
    seeded: SeededPlatform, service: str, tmp_path: Path
) -> None:
    seeder = seeded.seeder
    tenant = await seeder.tenant(f"Fuzzed {service}")
    key = await seeder.key("1")
    parameters = {
        "path.account_id": tenant.account_id,
        "path.contract_id": tenant.contract_id,
        "path.domain_id": tenant.domain_id,
        "path.gateway_id": tenant.gateway_id,
        "path.device_id": tenant.device_id,
        "path.rental_id": tenant.rental_id,
        "path.code_id": tenant.code_id,
        "path.key_id": key["id"],
        "path.product": PRODUCT,
        "path.hwid": tenant.gateway_hwid,
    }
    served = seeded.served[service]
    committed = BASELINES / f"{service}.json"
    # The run records into a copy: what it found beyond the committed baseline is then known entry by entry.
    working = tmp_path / "baseline.json"
    shutil.copy(committed, working)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        config_text(
            base_url=served.url,
            token=seeded.platform.token("operator"),
            parameters=parameters,
            baseline=working,
        )
    )
    # The CLI in a subprocess: the services answer from this test's event loop, which must stay free.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{served.url}/openapi.json",
        "--baseline-update",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    (tmp_path / "schemathesis.log").write_text(text)
    report = f"the whole report: {tmp_path / 'schemathesis.log'}\n{text[-12000:]}"
    # Exit 1 is "failures found", which known documentation gaps are; anything else is a broken run.
    assert process.returncode in (0, 1), report
    assert "Test cases:" in text, report
    assert " ERRORS " not in text, report
    new = entries(working) - entries(committed)
    hidden = sorted(entry for entry in new if entry[1] not in ACCEPTABLE_CHECKS)
    assert hidden == [], f"{hidden}\n{report}"
    if new:
        # A documentation gap not seen before: acceptable in kind, shown so it gets into the baseline.
        print(f"{service}: {len(new)} new documentation gap(s): {sorted(new)}")
    if UPDATE_BASELINE:
        shutil.copy(working, committed)


def entries(path: Path) -> set[tuple[str, str, str, str]]:
    document = json.loads(path.read_text())
    return {(e["operation"], e["check"], e["failure"], e["signature"]) for e in document["entries"]}


@pytest.mark.parametrize("service", list(SERVICES))
def test_the_fuzzing_baseline_accepts_only_documentation_gaps(service: str) -> None:
    baseline = json.loads((BASELINES / f"{service}.json").read_text())
    checks = {entry["check"] for entry in baseline["entries"]}
    assert checks <= ACCEPTABLE_CHECKS, f"{service}: the baseline hides {checks - ACCEPTABLE_CHECKS}"
