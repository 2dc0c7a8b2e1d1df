"""Found by the fuzzer: Postgres refuses a NUL character in text, so free text carrying one must be a 422
refusal at the edge, never a 500 from the database."""

from __future__ import annotations

import uuid

import pytest

from tests.security.conftest import SeededPlatform

NUL = "name\u0000with a nul"


@pytest.mark.parametrize(
    ("service", "path", "body"),
    [
        ("wallet", "/v1/accounts", {"name": NUL}),
        ("provisioning", "/v1/domains", {"account_id": "{account_id}", "name": NUL}),
        ("wallet", "/v1/accounts/{account_id}/adjustments", {"direction": "credit", "amount": "1", "reason": NUL}),
        ("contracts", "/v1/contracts/{contract_id}/rentals/{rental_id}/deactivation", {"reason": NUL}),
        ("contracts", "/v1/contracts/{contract_id}/termination", {"reason": NUL}),
    ],
)
async def test_free_text_with_a_nul_character_is_refused_as_invalid_not_a_server_error(
    seeded: SeededPlatform, service: str, path: str, body: dict[str, str]
) -> None:
    owner = seeded.owner
    names = vars(owner)
    response = await seeded.served[service].client.post(
        path.format(**names),
        json={k: v.format(**names) if "{" in v else v for k, v in body.items()},
        headers={**seeded.seeder.operator, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_failed"
