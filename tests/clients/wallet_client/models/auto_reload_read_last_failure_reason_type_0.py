from enum import StrEnum

class AutoReloadReadLastFailureReasonType0(StrEnum):
    MONTHLY_CAP_REACHED = "monthly_cap_reached"
    SUSPENDED_BY_PARTNER = "suspended_by_partner"

    def __str__(self) -> str:
        return str(self.value)
