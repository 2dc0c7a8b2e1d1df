from enum import StrEnum

class RentalStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    REPLACED = "replaced"

    def __str__(self) -> str:
        return str(self.value)
