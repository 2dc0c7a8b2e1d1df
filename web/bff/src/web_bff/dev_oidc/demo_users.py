"""The demo users the picker offers: one per staff role, and a customer of any account typed in."""

from __future__ import annotations

from dataclasses import dataclass
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


def customer_of(account_id: UUID) -> DemoUser:
    # One demo customer per account, with a stable subject so a second login is the same person.
    return DemoUser(
        subject=f"demo-customer-{account_id}",
        name=f"Customer of {str(account_id)[:8]}",
        roles=("customer",),
        account_id=account_id,
    )
