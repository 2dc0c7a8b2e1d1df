"""Found by the fuzzer: `{"max_uses": true}` made a provisioning code (pydantic's lax mode reads `true` as 1).
A JSON boolean or string where the schema says integer is refused, as the OpenAPI document promises."""

from __future__ import annotations

import pytest

from tests.security.conftest import PRODUCT, SeededPlatform


@pytest.mark.parametrize("body", [{"max_uses": True}, {"max_uses": "2"}, {"valid_for_s": True}, {"valid_for_s": "600"}])
async def test_a_provisioning_code_request_with_a_non_integer_number_is_refused(
    seeded: SeededPlatform, body: dict[str, object]
) -> None:
    response = await seeded.served["provisioning"].client.post(
        f"/v1/domains/{seeded.owner.domain_id}/provisioning-codes", json=body, headers=seeded.owner.customer
    )
    assert response.status_code == 422, response.text


async def test_a_tariff_with_a_boolean_licence_count_is_refused(seeded: SeededPlatform) -> None:
    response = await seeded.served["contracts"].client.put(
        f"/v1/tariffs/{PRODUCT}",
        json={"rate_per_day": "1", "licences": [{"type": "PORT", "count": True}]},
        headers=seeded.seeder.operator,
    )
    assert response.status_code == 422, response.text
