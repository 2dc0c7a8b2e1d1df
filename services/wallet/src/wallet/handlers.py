"""Events the wallet consumes. `RentalChanged` (burn rates) arrives with the burn-down."""

from __future__ import annotations

from collections.abc import Mapping

from shared.events.base import Event
from shared.messaging.consumer import Handler

SUBSCRIPTIONS: Mapping[type[Event], Handler] = {}
