"""A simulated gateway's enforcement history in the checker's terms (`checker.SignedBundle`, `checker.DeviceRun`).

The gateway knows each bundle's `exp` (the paid expiry bounded by the lease) but not the paid expiry alone: that
is the distributor's, as it knew it when it signed (`licensing.bundle.content ->> 'exp'`, by seq), handed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from gateway_simulator.gateway import SimulatedGateway
from reliability.checker import DeviceRun, Gateway, SignedBundle


@dataclass(frozen=True)
class EnforcementHistory:
    bundles: tuple[SignedBundle, ...]
    runs: tuple[DeviceRun, ...]
    observed_until: float

    def of(self, gateway: Gateway) -> Gateway:
        """The checker's gateway with this history."""
        return replace(gateway, bundles=self.bundles, runs=self.runs, observed_until=self.observed_until)


def enforcement_history(
    gateway: SimulatedGateway, *, paid_until: Mapping[int, float | None], until: datetime
) -> EnforcementHistory:
    """Every bundle the gateway accepted (with the paid expiry known when it was signed) and every stretch its
    phones ran, up to `until`, as epoch seconds."""
    bundles = tuple(
        SignedBundle(
            seq=b.seq,
            exp=b.expires_at.timestamp() if b.expires_at is not None else None,
            paid_until=paid_until.get(b.seq),
            lists_devices=b.lists_devices,
            accepted_at=b.accepted_at.timestamp(),
        )
        for b in gateway.stats.bundles
    )
    runs = tuple(
        DeviceRun(seq=r.seq, start=r.start.timestamp(), end=r.end.timestamp() if r.end is not None else None)
        for r in gateway.stats.runs
    )
    return EnforcementHistory(bundles=bundles, runs=runs, observed_until=until.timestamp())
