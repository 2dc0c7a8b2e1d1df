from enum import StrEnum

class AutoReloadReadState(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    NOT_SET = "not_set"
    PAUSED_AFTER_RUN_OUT = "paused_after_run_out"
    SUSPENDED_BY_PARTNER = "suspended_by_partner"

    def __str__(self) -> str:
        return str(self.value)
