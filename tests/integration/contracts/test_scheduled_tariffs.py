"""Scheduled tariff changes in contracts: the increase rule, the schedule in every affected RentalChanged, the
history of the scheduling and of the taking effect, and the tariff job applying a change at its own instant."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.harness import clock_of
from tests.integration.contracts.conftest import ISC, ContractsRig, product_name
from tests.integration.contracts.test_life_cycle_and_links import assert_problem

LEASE = timedelta(days=7)  # the contracts default, CONTRACTS_LEASE_S


async def test_an_increase_sooner_than_one_lease_is_refused_and_a_decrease_takes_effect_at_once(
    rig: ContractsRig,
) -> None:
    product = product_name()
    account_id, contract_id, _, (device,) = await rig.renting_story(products=[product], rate="2")
    assert (await rig.activate(contract_id, device, account_id)).status_code == 201
    now = clock_of(rig.client).now()
    operator = rig.auth("operator")
    for body in (
        {"rate_per_day": "3"},
        {"rate_per_day": "3", "effective_at": (now + timedelta(days=6)).isoformat()},
    ):
        refused = await rig.client.put(f"/v1/tariffs/{product}", json=body, headers=operator)
        assert_problem(refused, 409, "tariff_increase_too_soon")
        assert datetime.fromisoformat(refused.json()["earliest_effective_at"]) >= now + LEASE
    # Nothing changed: neither the rate nor the schedule.
    tariff = (await rig.client.get(f"/v1/tariffs/{product}", headers=operator)).json()
    assert (tariff["rate_per_day"], tariff["scheduled"]) == ("2", [])

    lowered = await rig.client.put(f"/v1/tariffs/{product}", json={"rate_per_day": "1.5"}, headers=operator)
    assert lowered.status_code == 200, lowered.text
    assert (lowered.json()["rate_per_day"], lowered.json()["scheduled"]) == ("1.5", [])
    last = await rig.latest_rental(contract_id, version=4)  # approval, link, activation, decrease
    assert (last.burn_rate_per_day, last.scheduled_rates) == (1_500_000, [])
    assert last.changed_at is not None


async def test_a_scheduled_rise_is_announced_at_once_recorded_and_taken_into_effect_at_its_instant(
    rig: ContractsRig,
) -> None:
    product, other = product_name(), product_name()
    account_id, contract_id, _, (device, second) = await rig.renting_story(products=[product, other], rate="2")
    assert (await rig.activate(contract_id, device, account_id)).status_code == 201
    assert (await rig.activate(contract_id, second, account_id)).status_code == 201
    clock = clock_of(rig.client)
    operator = rig.auth("operator")
    set_at = clock.now()
    rise_at = set_at + LEASE + timedelta(hours=1)
    with clock.held_at(set_at):
        scheduled = await rig.client.put(
            f"/v1/tariffs/{product}",
            json={"rate_per_day": "5", "licences": [{"type": "PORT", "count": 2}], "effective_at": rise_at.isoformat()},
            headers=operator,
        )
    assert scheduled.status_code == 200, scheduled.text
    body = scheduled.json()
    assert body["rate_per_day"] == "2"
    assert [(datetime.fromisoformat(s["effective_at"]), s["rate_per_day"]) for s in body["scheduled"]] == [
        (rise_at, "5")
    ]
    # The contract's whole rate from the rise on: 5 + 2 (the other product stays), announced at once.
    announced = await rig.latest_rental(contract_id, version=5)  # approval, link, two activations, scheduling
    assert announced.burn_rate_per_day == 4 * ISC
    assert [(s.effective_at, s.burn_rate_per_day) for s in announced.scheduled_rates] == [(rise_at, 7 * ISC)]
    assert announced.changed_at == set_at

    # A later PUT at an earlier instant supersedes it: only the new one is scheduled.
    earlier = rise_at - timedelta(minutes=30)
    with clock.held_at(set_at + timedelta(seconds=1)):
        replaced = await rig.client.put(
            f"/v1/tariffs/{product}",
            json={"rate_per_day": "4", "licences": [{"type": "PORT", "count": 1}], "effective_at": earlier.isoformat()},
            headers=operator,
        )
    assert replaced.status_code == 200, replaced.text
    assert [s["rate_per_day"] for s in replaced.json()["scheduled"]] == ["4"]
    rescheduled = await rig.latest_rental(contract_id, version=6)
    assert [(s.effective_at, s.burn_rate_per_day) for s in rescheduled.scheduled_rates] == [(earlier, 6 * ISC)]

    # The tariff job applies it at its own instant, however late it gets to it.
    clock.advance(earlier - clock.now() + timedelta(minutes=5))
    took_effect = await rig.latest_rental(contract_id, version=7)
    assert (took_effect.burn_rate_per_day, took_effect.scheduled_rates) == (6 * ISC, [])
    assert took_effect.changed_at == earlier
    tariff = (await rig.client.get(f"/v1/tariffs/{product}", headers=operator)).json()
    assert (tariff["rate_per_day"], tariff["scheduled"], tariff["licences"]) == (
        "4",
        [],
        [{"type": "PORT", "count": 1}],
    )
    history = await rig.client.get(
        f"/v1/contracts/{contract_id}/history?limit=100", headers=rig.auth("customer", account_id)
    )
    entries = [(e["type"], datetime.fromisoformat(e["at"])) for e in history.json()["items"]]
    assert ("TariffChangeScheduled", set_at) in entries
    assert ("TariffChangeScheduled", set_at + timedelta(seconds=1)) in entries
    assert ("TariffChanged", earlier) in entries
    rentals = await rig.client.get(f"/v1/contracts/{contract_id}/rentals", headers=rig.auth("customer", account_id))
    assert sorted(r["rate_per_day"] for r in rentals.json()["items"]) == ["2", "4"]
