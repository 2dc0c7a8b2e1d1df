from enum import StrEnum

class ActivationKeyReadStatus(StrEnum):
    ISSUED = "issued"
    REDEEMED = "redeemed"
    REVOKED = "revoked"

    def __str__(self) -> str:
        return str(self.value)
