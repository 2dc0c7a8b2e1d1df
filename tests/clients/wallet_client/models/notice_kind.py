from enum import StrEnum

class NoticeKind(StrEnum):
    AUTO_RELOAD_FAILED = "auto_reload_failed"
    AUTO_RELOAD_TRIGGERED = "auto_reload_triggered"
    BALANCE_DEPLETED = "balance_depleted"
    BALANCE_LOW = "balance_low"
    BALANCE_RESTORED = "balance_restored"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"

    def __str__(self) -> str:
        return str(self.value)
