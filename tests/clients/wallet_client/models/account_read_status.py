from enum import StrEnum

class AccountReadStatus(StrEnum):
    DEPLETED = "depleted"
    FUNDED = "funded"

    def __str__(self) -> str:
        return str(self.value)
