"""The event catalogue: every event type by routing key. The AsyncAPI document is generated from it."""

from __future__ import annotations

from shared.events import contracts, licensing, provisioning, wallet
from shared.events.base import Event

CATALOGUE: dict[str, type[Event]] = {
    model.routing_key(): model
    for model in (
        wallet.AccountOpened,
        wallet.AccountAssigned,
        wallet.CreditsLoaded,
        wallet.RunwayChanged,
        wallet.BalanceLow,
        wallet.BalanceDepleted,
        wallet.BalanceRestored,
        wallet.AutoReloadChanged,
        wallet.AutoReloadTriggered,
        wallet.AutoReloadFailed,
        wallet.TestClockAdvanced,
        wallet.TestClockReady,
        contracts.ContractActivated,
        contracts.ContractSuspended,
        contracts.ContractResumed,
        contracts.ContractTerminated,
        contracts.DeviceActivated,
        contracts.DeviceDeactivated,
        contracts.DeviceReplaced,
        contracts.RentalChanged,
        contracts.TariffsCaughtUp,
        provisioning.DomainCreated,
        provisioning.GatewayRegistered,
        provisioning.GatewayRemoved,
        provisioning.DeviceProvisioned,
        provisioning.DeviceRemoved,
        licensing.GatewayReconnected,
        licensing.GatewayRebootOrdered,
        licensing.LicenceDeliveryFailed,
        licensing.BundlesChanged,
        licensing.BundlesCaughtUp,
    )
}

__all__ = ["CATALOGUE", "Event"]
