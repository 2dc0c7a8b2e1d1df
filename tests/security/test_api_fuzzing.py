"""Schemathesis against each running service, with real tokens (an operator's, then the tenant's own
customer's) and a seeded tenant's real ids.

All of schemathesis's default checks are on: no 5xx, status codes, content types and bodies matching the
OpenAPI document, bad input refused, good input accepted. `make test` runs a few examples per operation;
`RENTAL_FUZZ_MAX_EXAMPLES=200 uv run pytest tests/security/test_api_fuzzing.py` (docs/reliability.md) runs
the long form. The path ids are pinned to the seeded tenant so the fuzzer reaches past the 404s into the
handlers; a tenant of its own per run, since the fuzzer may terminate its contract. Gateway and device ids
are not pinned: the fuzzer reaches those objects through the links from the POSTs that create them (a pinned
id would override the linked one, and once the fuzzer removed the pinned object, every "read what was just
created" would look like a lost object).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import PRODUCT, SERVICES, SeededPlatform

ROLES = ("operator", "customer")

MAX_EXAMPLES = int(os.environ.get("RENTAL_FUZZ_MAX_EXAMPLES", "5"))
SEED = int(os.environ.get("RENTAL_FUZZ_SEED", "20261128"))
# Known documentation gaps, recorded one by one (docs/reliability.md explains any that remain; today there
# are none). Any finding beyond the committed baseline fails the test. `RENTAL_FUZZ_UPDATE_BASELINE=1` merges
# what a run found into the committed baseline, for review. One baseline per service and token.
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


# What `positive_data_acceptance` takes for granted: any answer but 400, 410 and 422 to a request the document
# calls valid (schemathesis's default).
POSITIVE_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# Refusals of valid requests that no document can rule out, each for a reason of the API's own:
# - 400 `invalid_cursor`: a cursor of the documented form that this service did not issue;
# - 422 `idempotency_key_reused`: an Idempotency-Key already used with another body (the fuzzer draws few keys);
# - 422 `invalid_public_key`: 43 base64url symbols that are no usable Ed25519 point (about half of them);
# - 422 `code_mistyped`, `unknown_key`: an activation code of the documented form whose check symbol is wrong,
#   or that was never issued;
# - 410 `provisioning_code_used_up`: a provisioning code is used up by the enrolment it allows;
# - 422 `invalid_webhook_url`: a webhook URL of the documented form whose host is a private address (covered by
#   the Idempotency-Key header's 422 of that operation).
# Derived from the document (a `cursor` parameter, an Idempotency-Key header) where it can be, else named.
POSITIVE_REFUSALS_BY_OPERATION = {
    "POST /v1/domains/{domain_id}/gateways": ["422"],
    "POST /v1/accounts/{account_id}/redemptions": ["422"],
    "POST /v1/provisioning": ["410"],
}


def positive_refusals(document: dict[str, Any]) -> dict[str, list[str]]:
    """Per operation, the statuses a valid request may also get (see POSITIVE_REFUSALS_BY_OPERATION)."""
    refusals: dict[str, list[str]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            parameters = {(p["in"], p["name"].lower()) for p in operation.get("parameters", [])}
            statuses = set(POSITIVE_REFUSALS_BY_OPERATION.get(name, []))
            if ("query", "cursor") in parameters:
                statuses.add("400")
            if ("header", "idempotency-key") in parameters:
                statuses.add("422")
            if statuses:
                refusals[name] = sorted(statuses)
    return refusals


def toml_value(value: str | int | list[str]) -> str:
    return json.dumps(value)  # a JSON string, integer or list of strings is a valid TOML one


def config_text(
    *,
    base_url: str,
    token: str,
    parameters: dict[str, str],
    baseline: Path,
    refusals: dict[str, list[str]],
) -> str:
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
    for name, statuses in sorted(refusals.items()):
        lines += [
            "[[operations]]",
            f"include-name = {toml_value(name)}",
            "[operations.checks.positive_data_acceptance]",
            f"expected-statuses = {toml_value(POSITIVE_DEFAULT + statuses)}",
        ]
    return "\n".join(lines) + "\n"


def baseline_path(service: str, role: str) -> Path:
    return BASELINES / (f"{service}.json" if role == "operator" else f"{service}.{role}.json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", list(SERVICES))
async def test_the_fuzzer_finds_no_server_error_and_no_answer_outside_the_schema(
    seeded: SeededPlatform, service: str, role: str, tmp_path: Path
) -> None:
    seeder = seeded.seeder
    tenant = await seeder.tenant(f"Fuzzed {service} {role}")
    key = await seeder.key("1")
    parameters = {
        "path.account_id": tenant.account_id,
        "path.contract_id": tenant.contract_id,
        "path.domain_id": tenant.domain_id,
        "path.rental_id": tenant.rental_id,
        "path.code_id": tenant.code_id,
        "path.key_id": key["id"],
        "path.product": PRODUCT,
        "path.hwid": tenant.gateway_hwid,
    }
    token = (
        seeded.platform.token("operator")
        if role == "operator"
        else seeded.platform.token("customer", account_id=tenant.account_id)
    )
    served = seeded.served[service]
    document = (await served.client.get("/openapi.json")).json()
    committed = baseline_path(service, role)
    # The run records into a copy: what it found beyond the committed baseline is then known entry by entry.
    working = tmp_path / "baseline.json"
    shutil.copy(committed, working)
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        config_text(
            base_url=served.url,
            token=token,
            parameters=parameters,
            baseline=working,
            refusals=positive_refusals(document),
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
    new = sorted(entries(working) - entries(committed))
    if UPDATE_BASELINE:
        shutil.copy(working, committed)
    # Every finding not in the committed baseline fails: a 5xx, a body outside its schema, bad input let
    # through, and also an answer the document does not declare (the baselines are empty).
    assert new == [], f"{service} ({role}): {len(new)} finding(s) beyond the baseline: {new}\n{report}"


def entries(path: Path) -> set[tuple[str, str, str, str]]:
    document = json.loads(path.read_text())
    return {(e["operation"], e["check"], e["failure"], e["signature"]) for e in document["entries"]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("service", list(SERVICES))
def test_the_fuzzing_baseline_accepts_only_documentation_gaps(service: str, role: str) -> None:
    baseline = json.loads(baseline_path(service, role).read_text())
    checks = {entry["check"] for entry in baseline["entries"]}
    assert checks <= ACCEPTABLE_CHECKS, f"{service} ({role}): the baseline hides {checks - ACCEPTABLE_CHECKS}"
