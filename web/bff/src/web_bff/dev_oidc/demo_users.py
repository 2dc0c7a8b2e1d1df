"""The demo users the picker offers: one per staff role, the demo tenant's customers by name (as seeded by
`make run`, `scripts/demo_seed.py`), and a customer of any account typed in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID


@dataclass(frozen=True)
class DemoUser:
    subject: str
    name: str
    roles: tuple[str, ...]
    account_id: UUID | None = None


STAFF = {
    "operator": DemoUser(subject="demo-operator", name="Olivia Operator", roles=("operator",)),
    "partner": DemoUser(subject="demo-partner", name="Paul Partner", roles=("partner",)),
}


def customer_of(account_id: UUID, account_name: str | None = None) -> DemoUser:
    # One demo customer per account, with a stable subject so a second login is the same person.
    return DemoUser(
        subject=f"demo-customer-{account_id}",
        name=f"Customer of {account_name or str(account_id)[:8]}",
        roles=("customer",),
        account_id=account_id,
    )


@dataclass(frozen=True)
class DemoAccount:
    name: str
    account_id: UUID
    blurb: str = ""


def demo_accounts(path: Path) -> list[DemoAccount]:
    """The demo tenant's accounts as the seeding wrote them; none when it has not run (or wrote nonsense)."""
    try:
        entries = json.loads(path.read_text())
        return [
            DemoAccount(name=str(e["name"]), account_id=UUID(str(e["account_id"])), blurb=str(e.get("blurb", "")))
            for e in entries
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return []
