"""Events published by the licence distributor (routing keys `licensing.<event>`)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.events.base import CaughtUpWithTestClock, Event


class LicensingEvent(Event):
    publisher: ClassVar[str] = "licensing"
    subject_field: ClassVar[str | None] = "gateway_id"
    gateway_id: UUID


class GatewayReconnected(LicensingEvent):
    """A gateway opened a session (every connect), reporting the highest seq it held."""

    domain_id: UUID
    seq_held: int
    hwid: str = ""


class GatewayRebootOrdered(LicensingEvent):
    """The rental of a gateway's domain stopped: a connected gateway is told to reboot."""

    reason: str
    domain_id: UUID | None = None
    hwid: str = ""


class LicenceDeliveryFailed(LicensingEvent):
    """A bundle pushed to a connected gateway did not take: the gateway refused it (`reason` is the gateway's
    refusal, e.g. `wrong_issuer`) or never acknowledged it within the delivery deadline (`ack_timeout`).

    Told once per (gateway, seq), whichever replica saw it and however often the gateway reconnects; the wallet
    tells the account's webhook endpoints (`licence.delivery_failed`).
    """

    account_id: UUID
    # The contract renting in the domain, when the distributor knows of one.
    contract_id: UUID | None = None
    domain_id: UUID
    hwid: str
    seq: int
    reason: str
    at: datetime


class ChangedBundle(BaseModel):
    """A new bundle signed and stored for a gateway: the fact, and for the replicas which session to push."""

    model_config = ConfigDict(frozen=True)

    gateway_id: UUID
    seq: int
    domain_id: UUID | None = None
    hwid: str = ""
    expires_at: datetime | None = None
    # The hardware ids the bundle lets run (empty: nothing may run).
    devices: list[str] = []


class OrderedReboot(BaseModel):
    model_config = ConfigDict(frozen=True)

    gateway_id: UUID
    reason: str


class BundlesChanged(Event):
    """One change's pushes, for the replicas: the bundles it stored and the reboots it ordered, by gateway.

    One message per change (a rental, a runway, a batch of a key rotation), however many gateways it
    touches: each replica pushes to the sessions it holds, and it is the public record of every bundle issued
    (gateway, domain, seq, expiry, devices). A message per bundle cost the distributor a broker publish per
    gateway, a third of its CPU during a change of a 500-gateway domain, competing with the pushes. The
    per-gateway `GatewayRebootOrdered` facts are written beside it.
    """

    publisher: ClassVar[str] = "licensing"
    subject_field: ClassVar[str | None] = "change_id"
    change_id: UUID
    bundles: list[ChangedBundle] = []
    reboots: list[OrderedReboot] = []


class BundlesCaughtUp(CaughtUpWithTestClock):
    """The distributor renewed every lease and stopped every bundle due on a test clock up to its `frozen_time`;
    `next_due_at` is the next lease renewal or expiry. Every replica tells the connected gateways of `domain_ids`
    the clock's new time (after the bundles this catch-up pushed: one queue, in order)."""

    publisher: ClassVar[str] = "licensing"
    domain_ids: list[UUID] = []
