"""docs/events.md is what the code declares: regenerate it with `python -m scripts.generate_event_map`."""

from __future__ import annotations

from scripts.generate_event_map import TARGET, render


def test_the_event_map_in_docs_matches_the_catalogue_and_the_subscriptions() -> None:
    assert TARGET.read_text() == render(), "docs/events.md is stale: run `python -m scripts.generate_event_map`"


def test_an_event_two_services_subscribe_to_lists_both() -> None:
    text = render()
    assert "| `RentalChanged` | `contracts.rental_changed` | contracts | wallet, license-distributor |" in text
