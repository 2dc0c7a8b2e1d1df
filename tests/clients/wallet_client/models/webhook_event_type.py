from enum import StrEnum

class WebhookEventType(StrEnum):
    AUTO_RELOAD_FAILED = "auto_reload.failed"
    AUTO_RELOAD_TRIGGERED = "auto_reload.triggered"
    BALANCE_DEPLETED = "balance.depleted"
    BALANCE_LOW = "balance.low"
    BALANCE_RESTORED = "balance.restored"
    CREDITS_LOADED = "credits.loaded"
    LICENCE_DELIVERY_FAILED = "licence.delivery_failed"
    RENTAL_CHANGED = "rental.changed"

    def __str__(self) -> str:
        return str(self.value)
